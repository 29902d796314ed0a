"""Classic TF1 `model_fn`s, written as TF1 tutorials wrote them.

Only the imports differ from TF 1.x code: `import tensorflow.compat.v1 as tf`
and, before any of these run, `kerasbridge.install()` (which provides
`tf.estimator` and `tf.layers`).
"""

import numpy as np
import tensorflow.compat.v1 as tf


def _spec(mode, logits, labels, learning_rate=0.1):
    predicted = tf.argmax(logits, 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(
            mode,
            predictions={"class_ids": predicted, "probabilities": tf.nn.softmax(logits)},
        )
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    accuracy = tf.metrics.accuracy(labels=labels, predictions=predicted, name="acc_op")
    tf.summary.scalar("accuracy", accuracy[1])
    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(
            mode, loss=loss, eval_metric_ops={"accuracy": accuracy}
        )
    optimizer = tf.train.AdagradOptimizer(learning_rate=learning_rate)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def dnn_model_fn(features, labels, mode, params):
    """The premade-to-custom tutorial's DNN on `tf.layers.dense`."""
    net = tf.feature_column.input_layer(features, params["feature_columns"])
    for units in params["hidden_units"]:
        net = tf.layers.dense(net, units=units, activation=tf.nn.relu)
    logits = tf.layers.dense(net, params["n_classes"], activation=None)
    return _spec(mode, logits, labels)


def class_model_fn(features, labels, mode, params):
    """The class form, `tf.layers.Dense(10)(x)`, with one layer used twice."""
    shared = tf.layers.Dense(8, activation=tf.nn.relu)
    net = shared(features["x"]) + shared(2.0 * features["x"][:, ::-1])
    logits = tf.layers.Dense(params["n_classes"])(net)
    return _spec(mode, logits, labels)


def cnn_model_fn(features, labels, mode, params):
    """The layers-tutorial CNN, small: conv -> bn -> pool -> flatten -> dropout."""
    training = mode == tf.estimator.ModeKeys.TRAIN
    images = tf.reshape(features["x"], [-1, 6, 6, 1])
    conv = tf.layers.conv2d(images, filters=4, kernel_size=[3, 3], padding="same",
                            activation=tf.nn.relu)
    norm = tf.layers.batch_normalization(conv, training=training)
    pool = tf.layers.max_pooling2d(norm, pool_size=[2, 2], strides=2)
    flat = tf.layers.flatten(pool)
    hidden = tf.layers.dense(flat, units=16, activation=tf.nn.relu)
    dropped = tf.layers.dropout(hidden, rate=0.4, training=training)
    logits = tf.layers.dense(dropped, units=params["n_classes"])
    return _spec(mode, logits, labels, learning_rate=0.05)


def clusters(n, dims, seed):
    """Three Gaussian clusters: ({'x': float32 [n, dims]}, int32 labels).

    The cluster centres depend on `dims` only; `seed` draws the points.
    """
    centers = np.random.default_rng(dims).normal(scale=2.0, size=(3, dims))
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    x = centers[labels] + rng.normal(size=(n, dims))
    return {"x": x.astype(np.float32)}, labels.astype(np.int32)


def input_fn(features, labels=None, batch_size=16, repeat=True):
    data = tf.data.Dataset.from_tensor_slices(
        features if labels is None else (features, labels)
    )
    return data.repeat().batch(batch_size) if repeat else data.batch(batch_size)
