"""`create_estimator_spec`: modes, train ops, export outputs, validation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasbridge as kb
from kerasbridge import heads
from kerasbridge.export import ClassificationOutput
from kerasbridge.export import PredictOutput
from kerasbridge.export import RegressionOutput


def _spec(head, mode, logits_dim=None, labels=None, **kwargs):
    """Builds a spec in a fresh graph over one trainable variable."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.train.create_global_step()
        dim = logits_dim or head.logits_dimension
        var = tf.compat.v1.get_variable("w", initializer=tf.ones([2, dim]))
        logits = tf.matmul(tf.constant([[1.0, 2.0], [3.0, -4.0]]), var)
        spec = head.create_estimator_spec(
            features={}, mode=mode, logits=logits,
            labels=None if labels is None else tf.constant(labels), **kwargs)
    return graph, spec, var


BINARY_LABELS = np.array([[1], [0]])


@pytest.mark.parametrize("head, expected", [
    (heads.BinaryClassHead(), {
        "serving_default": ClassificationOutput,
        "classification": ClassificationOutput,
        "regression": RegressionOutput, "predict": PredictOutput}),
    (heads.MultiClassHead(3), {
        "serving_default": ClassificationOutput,
        "classification": ClassificationOutput, "predict": PredictOutput}),
    (heads.MultiLabelHead(2), {
        "serving_default": ClassificationOutput,
        "classification": ClassificationOutput, "predict": PredictOutput}),
    (heads.RegressionHead(), {
        "serving_default": RegressionOutput,
        "regression": RegressionOutput, "predict": PredictOutput}),
    (heads.PoissonRegressionHead(), {
        "serving_default": RegressionOutput,
        "regression": RegressionOutput, "predict": PredictOutput}),
])
def test_predict_export_outputs_per_head(head, expected):
    _, spec, _ = _spec(head, kb.ModeKeys.PREDICT)
    assert spec.loss is None and spec.train_op is None
    got = {k: type(v) for k, v in spec.export_outputs.items()}
    assert got == expected


def test_multi_head_predict_keys_and_export_outputs():
    head = heads.MultiHead([heads.BinaryClassHead(name="a"),
                            heads.RegressionHead(name="r")])
    _, spec, _ = _spec(head, kb.ModeKeys.PREDICT)
    assert ("a", "logistic") in spec.predictions
    assert ("r", "predictions") in spec.predictions
    assert sorted(spec.export_outputs) == sorted([
        "serving_default", "a", "a/classification", "a/regression",
        "a/predict", "r", "r/regression", "r/predict", "predict"])
    assert isinstance(spec.export_outputs["serving_default"],
                      ClassificationOutput)
    assert "r/predictions" in spec.export_outputs["predict"].outputs
    assert "a/probabilities" in spec.export_outputs["predict"].outputs


def test_eval_spec_metric_keys_and_loss():
    graph, spec, _ = _spec(heads.BinaryClassHead(name="h"), kb.ModeKeys.EVAL,
                           labels=BINARY_LABELS)
    assert spec.train_op is None
    assert sorted(spec.eval_metric_ops) == sorted(
        f"{k}/h" for k in ["accuracy", "accuracy_baseline", "auc",
                           "auc_precision_recall", "average_loss",
                           "label/mean", "precision", "prediction/mean",
                           "recall"])
    with graph.as_default():
        # Metric state is local: never saved in checkpoints.
        assert not any("metrics" in v.name
                       for v in tf.compat.v1.global_variables())
        assert tf.compat.v1.local_variables()


def _train(head, labels, **kwargs):
    graph = tf.Graph()
    with graph.as_default():
        step = tf.compat.v1.train.create_global_step()
        var = tf.compat.v1.get_variable("w", initializer=tf.ones([2, 1]))
        logits = tf.matmul(tf.constant([[1.0, 2.0], [3.0, -4.0]]), var)
        if callable(kwargs.get("trainable_variables")):
            kwargs["trainable_variables"] = kwargs["trainable_variables"](var)
        if callable(kwargs.get("update_ops")):
            kwargs["update_ops"] = kwargs["update_ops"]()
        spec = head.create_estimator_spec(
            features={}, mode=kb.ModeKeys.TRAIN, logits=logits,
            labels=tf.constant(labels), **kwargs)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            before = sess.run(var)
            sess.run(spec.train_op)
            values = {v.op.name: sess.run(v)
                      for v in tf.compat.v1.global_variables()}
            return spec, sess.run(step), before, values, graph


def test_train_with_v1_optimizer():
    spec, step, before, after, graph = _train(
        heads.BinaryClassHead(), BINARY_LABELS,
        optimizer=tf.compat.v1.train.GradientDescentOptimizer(0.1),
        trainable_variables=lambda v: [v])
    assert step == 1
    assert not np.allclose(before, after["w"])
    summaries = [op.name for op in graph.get_collection(
        tf.compat.v1.GraphKeys.SUMMARIES)]
    assert any(name.startswith("loss") for name in summaries)


def test_train_with_train_op_fn_and_update_ops():
    seen = []

    def train_op_fn(loss):
        seen.append(loss)
        return tf.compat.v1.assign_add(
            tf.compat.v1.train.get_global_step(), 5)

    def update_ops():
        counter = tf.compat.v1.get_variable(
            "counter", initializer=0.0, trainable=False)
        return [counter.assign_add(1.0)]

    spec, step, before, after, graph = _train(
        heads.RegressionHead(), np.array([[1.0], [2.0]], np.float32),
        train_op_fn=train_op_fn, update_ops=update_ops)
    assert step == 5
    assert seen == [spec.loss]
    assert after["counter"] == 1.0  # the update op ran with the train op
    np.testing.assert_array_equal(before, after["w"])


def test_train_with_keras2_style_get_updates_optimizer():
    class Keras2Style:
        def get_updates(self, loss, params):
            grads = tf.gradients(loss, params)
            return [tf.group(*[p.assign_sub(0.5 * g)
                               for p, g in zip(params, grads)])]

    _, step, before, after, _ = _train(
        heads.BinaryClassHead(), BINARY_LABELS, optimizer=Keras2Style(),
        trainable_variables=lambda v: (v,))
    assert step == 0  # as in the original, the optimizer owns the step
    assert not np.allclose(before, after["w"])


@pytest.mark.parametrize("kwargs, message", [
    ({}, "train_op_fn and optimizer cannot both be None."),
    ({"optimizer": tf.compat.v1.train.GradientDescentOptimizer(0.1),
      "train_op_fn": lambda loss: tf.no_op(),
      "trainable_variables": lambda v: [v]},
     "train_op_fn and optimizer cannot both be set."),
    ({"optimizer": tf.compat.v1.train.GradientDescentOptimizer(0.1)},
     "trainable_variables cannot be None"),
    ({"optimizer": tf.compat.v1.train.GradientDescentOptimizer(0.1),
      "trainable_variables": lambda v: {"w": v}},
     "trainable_variables should be a list or a tuple"),
    ({"optimizer": keras.optimizers.SGD(0.1),
      "trainable_variables": lambda v: [v]},
     "A Keras 3 optimizer cannot train inside the Estimator's TF1 graph"),
    ({"optimizer": "Adagrad", "trainable_variables": lambda v: [v]},
     "The given optimizer is not a tf.compat.v1.train.Optimizer"),
    ({"train_op_fn": lambda loss: tf.no_op(), "update_ops": lambda: {}},
     "update_ops should be a list or a tuple"),
])
def test_train_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        _train(heads.BinaryClassHead(), BINARY_LABELS, **kwargs)


@pytest.mark.parametrize("make, message", [
    (lambda: heads.BinaryClassHead(thresholds=[0.5, 1.0]),
     r"thresholds not in \(0, 1\)"),
    (lambda: heads.BinaryClassHead(label_vocabulary="ab"),
     "label_vocabulary should be a list or a tuple"),
    (lambda: heads.BinaryClassHead(loss_reduction="none"),
     "Invalid loss_reduction: none"),
    (lambda: heads.BinaryClassHead(loss_reduction="weighted_sum"),
     "Invalid loss_reduction: weighted_sum"),
    (lambda: heads.BinaryClassHead(loss_fn=lambda labels: labels),
     "loss_fn must contain argument: logits"),
    (lambda: heads.RegressionHead(loss_fn=lambda labels, logits, mode: 0),
     r"loss_fn has unexpected args: \['mode'\]"),
    (lambda: heads.MultiClassHead(2), "n_classes must be > 2: 2."),
    (lambda: heads.MultiClassHead(None), "n_classes cannot be None"),
    (lambda: heads.MultiClassHead(3, label_vocabulary=["a", "b"]),
     '"label_vocabulary" does not have "n_classes" items'),
    (lambda: heads.MultiLabelHead(1), "n_classes must be > 1"),
    (lambda: heads.MultiLabelHead(2, classes_for_class_based_metrics=[2]),
     r"must be in range \[0, 1\]. Given: 2"),
    (lambda: heads.MultiLabelHead(2, classes_for_class_based_metrics=["a"]),
     "label_vocabulary must be provided"),
    (lambda: heads.RegressionHead(label_dimension=0),
     "Invalid label_dimension 0."),
    (lambda: heads.MultiHead([]), "Must specify heads"),
    (lambda: heads.MultiHead([heads.RegressionHead()]),
     "All given heads must have name specified"),
    (lambda: heads.MultiHead([heads.RegressionHead(name="a")], [1.0, 2.0]),
     "heads and head_weights must have the same size"),
])
def test_constructor_validation(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_multi_head_split_and_label_errors():
    head = heads.MultiHead([heads.BinaryClassHead(name="a"),
                            heads.MultiClassHead(3, name="b")])
    assert head.logits_dimension == 4 and head.name == "a_b"
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Could not split logits"):
            head.predictions(tf.zeros([2, 3]))
        with pytest.raises(ValueError, match="labels must be a dict"):
            head.loss(tf.zeros([2, 1]), tf.zeros([2, 4]))
        with pytest.raises(ValueError,
                           match=r"labels has missing values for head\(s\)"):
            head.loss({"a": tf.zeros([2, 1])}, tf.zeros([2, 4]))
        with pytest.raises(ValueError,
                           match=r"logits has missing values for head\(s\)"):
            head.predictions({"a": tf.zeros([2, 1])})
    mixed = heads.MultiHead([heads.BinaryClassHead(name="a"),
                             heads.RegressionHead(name="r",
                                                  loss_reduction="sum")])
    with pytest.raises(ValueError, match="loss_reduction must be the same"):
        mixed.loss_reduction


@pytest.mark.parametrize("name", [
    "Head", "BinaryClassHead", "MultiClassHead", "MultiLabelHead",
    "RegressionHead", "PoissonRegressionHead", "LogisticRegressionHead",
    "MultiHead"])
def test_heads_are_exported_from_kerasbridge(name):
    assert getattr(kb, name) is getattr(heads, name)
    assert issubclass(getattr(kb, name), kb.Head)
