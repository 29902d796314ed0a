"""`experimental.dnn_logit_fn_builder` / `linear_logit_fn_builder` in a custom model_fn.

The original's v1 builders let a custom `model_fn` reuse a canned network; the
variables keep the canned names (`dnn/hiddenlayer_<i>/kernel`,
`linear_model/<column>/weights`), and the linear logits equal TF's own
`tf.compat.v1.feature_column.linear_model` given the same weights.
"""
import numpy as np
import pytest
import tensorflow as tf

import kerasbridge as kb

v1 = tf.compat.v1


def _columns():
    return [
        tf.feature_column.numeric_column("x", shape=[2]),
        tf.feature_column.categorical_column_with_vocabulary_list("c", ["a", "b", "c"]),
    ]


def _features():
    return {
        "x": np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], np.float32),
        "c": np.array([["a"], ["c"], ["b"]]),
    }


def test_linear_logit_fn_equals_tf_linear_model_with_the_same_weights():
    with tf.Graph().as_default():
        feats = {k: tf.constant(v) for k, v in _features().items()}
        with v1.variable_scope("ours"):
            logits = kb.experimental.linear_logit_fn_builder(
                units=2, feature_columns=_columns(), sparse_combiner="sum")(feats)
        with v1.variable_scope("theirs"):
            reference = v1.feature_column.linear_model(feats, _columns(), units=2)
        ours_vars = {v.op.name[len("ours/"):]: v for v in v1.global_variables()
                     if v.op.name.startswith("ours/")}
        theirs_vars = {v.op.name[len("theirs/"):]: v for v in v1.global_variables()
                       if v.op.name.startswith("theirs/")}
        assert sorted(ours_vars) == sorted(theirs_vars) == [
            "linear_model/bias_weights", "linear_model/c/weights", "linear_model/x/weights"]
        rng = np.random.RandomState(0)
        assigns = []
        for name, var in ours_vars.items():
            value = rng.normal(size=var.shape).astype(np.float32)
            assigns += [var.assign(value), theirs_vars[name].assign(value)]
        with v1.Session() as sess:
            sess.run([v1.global_variables_initializer(), v1.tables_initializer()])
            sess.run(assigns)
            got, want = sess.run([logits, reference])
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_dnn_logit_fn_builds_the_canned_names_and_batch_norm_updates():
    fn = kb.experimental.dnn_logit_fn_builder(
        units=3, hidden_units=[4, 5], feature_columns=_columns()[:1],
        activation_fn=tf.nn.relu, dropout=None, input_layer_partitioner=None,
        batch_norm=True)
    with tf.Graph().as_default():
        logits = fn({"x": tf.constant(_features()["x"])}, kb.ModeKeys.TRAIN)
        names = sorted(v.op.name for v in v1.global_variables())
        updates = v1.get_collection(v1.GraphKeys.UPDATE_OPS)
    assert logits.shape.as_list() == [3, 3]
    assert "dnn/hiddenlayer_0/kernel" in names
    assert "dnn/hiddenlayer_1/batchnorm_1/moving_mean" in names
    assert "dnn/logits/bias" in names
    assert len(updates) == 4   # moving mean and variance of both hidden layers


def test_a_custom_model_fn_trains_on_the_dnn_logit_fn_and_a_head(tmp_path):
    logit_fn = kb.experimental.dnn_logit_fn_builder(
        units=1, hidden_units=[8], feature_columns=_columns()[:1],
        activation_fn=tf.nn.relu, dropout=None, input_layer_partitioner=None,
        batch_norm=False)
    head = kb.BinaryClassHead()

    def model_fn(features, labels, mode, config):
        logits = kb.experimental.call_logit_fn(logit_fn, features, mode, None, config)
        return head.create_estimator_spec(
            features=features, mode=mode, logits=logits, labels=labels,
            optimizer=v1.train.AdagradOptimizer(0.3),
            trainable_variables=v1.trainable_variables())

    rng = np.random.RandomState(1)
    x = rng.normal(size=(256, 2)).astype(np.float32)
    y = (x[:, :1] + x[:, 1:] > 0).astype(np.int64)

    def input_fn():
        return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(64)

    est = kb.Estimator(model_fn, model_dir=str(tmp_path))
    est.train(input_fn, steps=60)
    metrics = est.evaluate(lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(256),
                           steps=1)
    assert metrics["accuracy"] > 0.9
    assert "dnn/hiddenlayer_0/kernel" in est.get_variable_names()


def test_bad_arguments_raise_the_originals_errors():
    with pytest.raises(ValueError, match="units must be an int"):
        kb.experimental.linear_logit_fn_builder(units=2.0, feature_columns=_columns())
    with pytest.raises(ValueError, match="sparse_combiner"):
        kb.experimental.linear_logit_fn_builder(1, _columns(), sparse_combiner="max")
    with pytest.raises(ValueError, match="input_layer_partitioner"):
        kb.experimental.dnn_logit_fn_builder(
            1, [2], _columns()[:1], tf.nn.relu, None,
            v1.min_max_variable_partitioner(max_partitions=2), False)
