"""Class-id and class-name tensors shared by the classification heads."""

import tensorflow as tf

from kerasbridge.export import ClassificationOutput


def class_id_table(label_vocabulary):
    """String label -> id; labels outside the vocabulary map to -1."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(label_vocabulary), tf.string),
            tf.range(len(label_vocabulary), dtype=tf.int64),
        ),
        default_value=-1,
        name="class_id_lookup",
    )


def class_string_table(label_vocabulary):
    """Id -> string label."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.range(len(label_vocabulary), dtype=tf.int64),
            tf.constant(list(label_vocabulary), tf.string),
        ),
        default_value="UNK",
        name="class_string_lookup",
    )


def all_class_ids(logits, n_classes):
    """`[batch, n_classes]` int32: every class id on every row."""
    batch_size = tf.shape(logits)[0]
    return tf.tile(tf.expand_dims(tf.range(n_classes), 0), [batch_size, 1])


def all_classes(logits, n_classes, label_vocabulary=None):
    """`[batch, n_classes]` strings: every class name on every row."""
    batch_size = tf.shape(logits)[0]
    if label_vocabulary:
        classes = tf.convert_to_tensor([list(label_vocabulary)])
    else:
        classes = tf.strings.as_string(tf.expand_dims(tf.range(n_classes), 0))
    return tf.tile(classes, [batch_size, 1])


def classification_output(scores, n_classes, label_vocabulary=None):
    return ClassificationOutput(
        scores=scores, classes=all_classes(scores, n_classes, label_vocabulary)
    )
