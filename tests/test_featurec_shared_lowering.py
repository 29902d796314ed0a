"""`_lower_tf.shared`: input_layer and linear_model reading the same columns
build each categorical column's ids once, with unchanged outputs."""

import numpy as np
import tensorflow as tf

import featurec
from featurec import _lower_tf

fc = tf.feature_column
VOCAB = ["a", "b", "c"]


def _columns():
    word = fc.categorical_column_with_vocabulary_list("word", VOCAB)
    city = fc.categorical_column_with_hash_bucket("city", 16)
    age = fc.numeric_column("age")
    linear = [word, city, fc.bucketized_column(age, [20.0, 40.0]),
              fc.crossed_column(["word", "city"], 10)]
    dnn = [fc.embedding_column(word, 3), fc.embedding_column(city, 2), age]
    return linear, dnn


def _features():
    return {
        "word": tf.constant([["a"], ["z"], [""], ["c"]]),
        "city": tf.constant([["x"], ["y"], ["x"], [""]]),
        "age": tf.constant([[10.0], [30.0], [50.0], [41.0]]),
    }


def _build(share):
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(1)
        features = _features()
        linear, dnn = _columns()
        if share:
            with _lower_tf.shared(features):
                outs = _both(features, linear, dnn)
        else:
            outs = _both(features, linear, dnn)
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(),
                      tf.compat.v1.tables_initializer()])
            # Non-zero linear weights so the linear output depends on the ids.
            for v in tf.compat.v1.global_variables():
                if v.name.endswith("/weights:0"):
                    n = int(np.prod(v.shape))
                    sess.run(v.assign(np.arange(1, n + 1, dtype=np.float32).reshape(v.shape)))
            values = sess.run(outs)
        ops = [op.type for op in graph.get_operations()]
    return values, ops


def _both(features, linear, dnn):
    with tf.compat.v1.variable_scope("dnn"):
        dense = featurec.input_layer(features, dnn)
    with tf.compat.v1.variable_scope("linear"):
        logits = featurec.linear_model(features, linear)
    return dense, logits


def test_shared_ids_give_the_same_outputs_with_fewer_ops():
    (dense_a, logits_a), ops_a = _build(share=False)
    (dense_b, logits_b), ops_b = _build(share=True)
    np.testing.assert_array_equal(dense_a, dense_b)
    np.testing.assert_array_equal(logits_a, logits_b)
    # One vocabulary table and one hash-bucket op per column instead of one per part.
    assert ops_a.count("HashTableV2") == 2 and ops_b.count("HashTableV2") == 1
    assert ops_b.count("StringToHashBucketFast") == ops_a.count("StringToHashBucketFast") - 1
    assert len(ops_b) < len(ops_a)
