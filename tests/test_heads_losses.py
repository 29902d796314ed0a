"""Heads against hand-computed losses, metrics and predictions.

Weights, label vocabularies, reductions, regularization, custom loss_fn,
inverse link functions, thresholds and name suffixes.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from kerasbridge import heads
from tests._heads_session import GraphSession


@pytest.fixture(scope="module")
def gs():
    session = GraphSession()
    yield session
    session.close()


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def _bce(label, logit):
    return max(logit, 0) - logit * label + math.log1p(math.exp(-abs(logit)))


def _reg(regularization_losses):
    if regularization_losses is None:
        return None
    return [tf.constant(r, tf.float32) for r in regularization_losses]


def _loss(gs, head, labels, logits, features=None, regularization_losses=None):
    return gs.evaluate(lambda: head.loss(
        tf.constant(labels), tf.constant(np.array(logits, np.float32)),
        features=features() if callable(features) else (features or {}),
        regularization_losses=_reg(regularization_losses)))


def _metrics(gs, head, labels, logits, features=None,
             regularization_losses=None):
    def build():
        feats = features() if callable(features) else (features or {})
        reg = _reg(regularization_losses)
        return head.update_metrics(
            head.metrics(regularization_losses=reg), feats,
            tf.constant(np.array(logits, np.float32)), tf.constant(labels),
            regularization_losses=reg)
    return gs.evaluate(build)


# The original's docstring example: labels 1, 1; logits 45, -41.
DOC_LOGITS = [[45.0], [-41.0]]
DOC_LABELS = np.array([[1], [1]])


def test_binary_loss_docstring_example(gs):
    head = heads.BinaryClassHead()
    assert _loss(gs, head, DOC_LABELS, DOC_LOGITS) == pytest.approx(20.5)


def test_binary_metrics_docstring_example(gs):
    got = _metrics(gs, heads.BinaryClassHead(), DOC_LABELS, DOC_LOGITS)
    expected = {
        "accuracy": 0.5, "accuracy_baseline": 1.0, "auc": 0.0,
        "auc_precision_recall": 1.0, "average_loss": 20.5, "label/mean": 1.0,
        "precision": 1.0, "prediction/mean": 0.5, "recall": 0.5,
    }
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-6), key


@pytest.mark.parametrize("reduction, expected", [
    ("sum_over_batch_size", 82.0 / 2),
    ("auto", 82.0 / 2),
    ("sum", 82.0),
])
def test_binary_weighted_loss_reductions(gs, reduction, expected):
    head = heads.BinaryClassHead(weight_column="w", loss_reduction=reduction)
    features = lambda: {"w": tf.constant([[1.0], [2.0]])}  # noqa: E731
    got = _loss(gs, head, DOC_LABELS, DOC_LOGITS, features=features)
    assert got == pytest.approx(expected, rel=1e-6)


def test_tf_losses_reduction_constants_are_accepted(gs):
    head = heads.BinaryClassHead(loss_reduction=tf.losses.Reduction.SUM)
    assert head.loss_reduction == "sum"
    assert _loss(gs, head, DOC_LABELS, DOC_LOGITS) == pytest.approx(41.0)


def test_regularization_losses_are_added_and_reported(gs):
    head = heads.BinaryClassHead()
    got = _loss(gs, head, DOC_LABELS, DOC_LOGITS,
                regularization_losses=[0.5, 0.25])
    assert got == pytest.approx(20.5 + 0.75)
    metrics = _metrics(gs, head, DOC_LABELS, DOC_LOGITS,
                       regularization_losses=[0.75])
    assert metrics["regularization_loss"] == pytest.approx(0.75)
    assert metrics["average_loss"] == pytest.approx(20.5)


def test_binary_weighted_metrics_by_hand(gs):
    logits = [[-1.0], [1.0], [2.0], [-2.0]]
    labels = np.array([[0], [1], [0], [1]])
    weights = [1.0, 2.0, 3.0, 4.0]
    head = heads.BinaryClassHead(weight_column="w", thresholds=[0.25])
    got = _metrics(gs, head, labels, logits,
                   features=lambda: {"w": tf.constant(weights)})
    p = _sigmoid(np.ravel(logits))
    w = np.array(weights)
    losses = [_bce(y, x) for y, x in zip(np.ravel(labels), np.ravel(logits))]
    # class ids 0, 1, 1, 0: right on rows 1 and 2 (weights 1, 2).
    assert got["accuracy"] == pytest.approx(3.0 / 10)
    assert got["precision"] == pytest.approx(2.0 / 5)  # tp 2, fp 3
    assert got["recall"] == pytest.approx(2.0 / 6)  # tp 2, fn 4
    assert got["label/mean"] == pytest.approx(6.0 / 10)
    assert got["accuracy_baseline"] == pytest.approx(6.0 / 10)
    assert got["prediction/mean"] == pytest.approx(np.dot(w, p) / 10, rel=1e-6)
    assert got["average_loss"] == pytest.approx(np.dot(w, losses) / 10,
                                                rel=1e-6)
    # One positive/negative pair ranked right: (0.73, w2) over (0.27, w1).
    assert got["auc"] == pytest.approx(2.0 / 24, abs=1e-6)
    # Threshold 0.25 on the logistic: rows 1, 2, 3 positive (0.27, .73, .88).
    assert got["accuracy/positive_threshold_0.25"] == pytest.approx(2.0 / 10)
    assert got["precision/positive_threshold_0.25"] == pytest.approx(2.0 / 6)
    assert got["recall/positive_threshold_0.25"] == pytest.approx(2.0 / 6)


def test_binary_label_vocabulary(gs):
    head = heads.BinaryClassHead(label_vocabulary=["no", "yes"])
    labels = np.array([[b"yes"], [b"yes"]])
    assert _loss(gs, head, labels, DOC_LOGITS) == pytest.approx(20.5)
    preds = gs.evaluate(lambda: head.predictions(tf.constant(DOC_LOGITS)))
    assert preds["classes"].tolist() == [[b"yes"], [b"no"]]
    assert preds["all_classes"].tolist() == [[b"no", b"yes"]] * 2
    assert preds["class_ids"].tolist() == [[1], [0]]


def test_binary_predictions_by_hand(gs):
    head = heads.BinaryClassHead()
    preds = gs.evaluate(lambda: head.predictions(tf.constant([[0.5], [-2.0]])))
    p = _sigmoid([0.5, -2.0])
    np.testing.assert_allclose(preds["logistic"].ravel(), p, rtol=1e-6)
    np.testing.assert_allclose(preds["probabilities"],
                               np.stack([1 - p, p], 1), rtol=1e-6)
    assert preds["classes"].tolist() == [[b"1"], [b"0"]]
    assert preds["all_class_ids"].tolist() == [[0, 1], [0, 1]]
    only = gs.evaluate(lambda: head.predictions(tf.constant([[0.5]]),
                                                keys=["logistic"]))
    assert list(only) == ["logistic"]
    with pytest.raises(ValueError, match="Prediction key must be in"):
        head.predictions(tf.constant([[0.5]]), keys=["predictions"])


def test_multi_class_loss_and_accuracy_by_hand(gs):
    logits = [[10.0, 0.0, 0.0], [0.0, 10.0, 0.0]]
    labels = np.array([[0], [2]])
    ce = [math.log(1 + 2 * math.exp(-10)), math.log(math.exp(10) + 2)]
    head = heads.MultiClassHead(3)
    assert _loss(gs, head, labels, logits) == pytest.approx(sum(ce) / 2,
                                                            rel=1e-5)
    weighted = heads.MultiClassHead(3, weight_column="w", loss_reduction="sum")
    feats = lambda: {"w": tf.constant([1.0, 3.0])}  # noqa: E731
    assert _loss(gs, weighted, labels, logits, features=feats) == (
        pytest.approx(ce[0] + 3 * ce[1], rel=1e-5))
    got = _metrics(gs, weighted, labels, logits, features=feats)
    assert got == pytest.approx({
        "accuracy": 0.25, "average_loss": (ce[0] + 3 * ce[1]) / 4}, rel=1e-5)


def test_multi_class_vocabulary_predictions(gs):
    head = heads.MultiClassHead(3, label_vocabulary=("a", "b", "c"))
    logits = [[0.0, 1.0, 3.0], [2.0, 1.0, 0.0]]
    labels = np.array([[b"c"], [b"a"]])
    assert _metrics(gs, head, labels, logits)["accuracy"] == 1.0
    preds = gs.evaluate(lambda: head.predictions(tf.constant(logits)))
    assert preds["classes"].tolist() == [[b"c"], [b"a"]]
    assert preds["all_classes"].tolist() == [[b"a", b"b", b"c"]] * 2
    e = np.exp(logits)
    np.testing.assert_allclose(preds["probabilities"],
                               e / e.sum(1, keepdims=True), rtol=1e-6)


def test_regression_per_logit_weights_by_hand(gs):
    logits = [[1.0, 2.0], [3.0, 4.0]]
    labels = np.array([[1.0, 1.0], [1.0, 1.0]], np.float32)
    head = heads.RegressionHead(label_dimension=2, weight_column="w")
    feats = lambda: {"w": tf.constant([[1.0, 0.0], [2.0, 1.0]])}  # noqa: E731
    # squared errors [[0, 1], [4, 9]] weighted [[0, 0], [8, 9]].
    assert _loss(gs, head, labels, logits, features=feats) == pytest.approx(
        17.0 / 4)
    got = _metrics(gs, head, labels, logits, features=feats)
    assert got == pytest.approx({"average_loss": 17.0 / 4,
                                 "label/mean": 1.0,
                                 "prediction/mean": 11.0 / 4})
    unweighted = heads.RegressionHead(label_dimension=2, loss_reduction="sum")
    assert _loss(gs, unweighted, labels, logits) == pytest.approx(14.0)


def test_regression_integer_labels_and_rank1_labels(gs):
    head = heads.RegressionHead()
    assert _loss(gs, head, np.array([1, 3]), [[2.0], [1.0]]) == (
        pytest.approx(2.5))


def test_inverse_link_fn_and_poisson_loss(gs):
    logits, labels = [[0.0], [1.0]], np.array([[1.0], [0.0]], np.float32)
    head = heads.PoissonRegressionHead(compute_full_loss=False)
    # log_poisson_loss = exp(x) - y * x.
    assert _loss(gs, head, labels, logits) == pytest.approx(
        (1.0 + math.e) / 2, rel=1e-6)
    preds = gs.evaluate(lambda: head.predictions(tf.constant(logits)))
    np.testing.assert_allclose(preds["predictions"], np.exp(logits), rtol=1e-6)
    np.testing.assert_allclose(preds["logits"], logits)
    linked = heads.RegressionHead(inverse_link_fn=tf.math.exp)
    got = _metrics(gs, linked, labels, logits)
    assert got["prediction/mean"] == pytest.approx((1.0 + math.e) / 2)
    # The squared error is taken on the logits, not the linked predictions.
    assert got["average_loss"] == pytest.approx(1.0)


def test_logistic_regression_head(gs):
    head = heads.LogisticRegressionHead()
    labels = np.array([[0.25]], np.float32)
    assert _loss(gs, head, labels, [[0.0]]) == pytest.approx(math.log(2))
    preds = gs.evaluate(lambda: head.predictions(tf.constant([[0.0]])))
    assert preds["predictions"].tolist() == [[0.5]]


def test_multi_label_loss_dense_and_sparse_labels(gs):
    logits = [[0.0, 2.0, -1.0], [1.0, 0.0, 0.0]]
    dense = np.array([[1, 0, 0], [0, 0, 1]])
    expected = np.mean([
        np.mean([_bce(y, x) for y, x in zip(row_y, row_x)])
        for row_y, row_x in zip(dense, logits)])
    head = heads.MultiLabelHead(3)
    assert _loss(gs, head, dense, logits) == pytest.approx(expected, rel=1e-6)

    def sparse_loss(values, vocab=None):
        h = heads.MultiLabelHead(3, label_vocabulary=vocab)
        return gs.evaluate(lambda: h.loss(
            tf.SparseTensor([[0, 0], [1, 0]], tf.constant(values), [2, 1]),
            tf.constant(logits)))

    assert sparse_loss(np.array([0, 2], np.int64)) == pytest.approx(
        expected, rel=1e-6)
    assert sparse_loss(np.array([b"x", b"z"]), ["x", "y", "z"]) == (
        pytest.approx(expected, rel=1e-6))


def test_multi_label_class_metrics_keys_and_values(gs):
    logits = [[3.0, -3.0], [-3.0, 3.0], [3.0, 3.0]]
    labels = np.array([[1, 0], [0, 1], [1, 0]])
    head = heads.MultiLabelHead(2, thresholds=[0.5], label_vocabulary=["p", "q"],
                                classes_for_class_based_metrics=["q"])
    got = _metrics(gs, head, labels, logits)
    assert sorted(got) == sorted([
        "average_loss", "auc", "auc_precision_recall",
        "accuracy/positive_threshold_0.5", "precision/positive_threshold_0.5",
        "recall/positive_threshold_0.5", "probability_mean/q", "auc/q",
        "auc_precision_recall/q"])
    # Predicted positive: (0,0) (1,1) (2,0) (2,1); wrong only at (2,1).
    assert got["accuracy/positive_threshold_0.5"] == pytest.approx(5.0 / 6)
    assert got["precision/positive_threshold_0.5"] == pytest.approx(3.0 / 4)
    assert got["recall/positive_threshold_0.5"] == pytest.approx(1.0)
    assert got["probability_mean/q"] == pytest.approx(
        float(np.mean(_sigmoid([-3.0, 3.0, 3.0]))), rel=1e-6)
    assert got["auc/q"] == pytest.approx(0.75)
    preds = gs.evaluate(lambda: head.predictions(tf.constant(logits)))
    assert sorted(preds) == ["classes", "logits", "probabilities"]
    assert preds["classes"].tolist() == [[b"p", b"q"]] * 3


def test_custom_loss_fn_with_features(gs):
    def loss_fn(labels, logits, features):
        return tf.abs(labels - logits) * features["scale"]

    head = heads.RegressionHead(loss_fn=loss_fn)
    labels = np.array([[1.0], [2.0]], np.float32)
    got = _loss(gs, head, labels, [[3.0], [2.5]],
                features=lambda: {"scale": tf.constant([[1.0], [10.0]])})
    assert got == pytest.approx((2.0 + 5.0) / 2)


def test_loss_fn_returning_a_wrong_shape_fails_at_run_time(gs):
    head = heads.BinaryClassHead(
        loss_fn=lambda labels, logits: tf.reduce_sum(logits, axis=-1))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"loss_fn must return Tensor of shape"):
        _loss(gs, head, DOC_LABELS, DOC_LOGITS)


def test_weight_column_as_numeric_column_with_normalizer(gs):
    column = tf.feature_column.numeric_column(
        "w", normalizer_fn=lambda w: w * 2.0)
    head = heads.BinaryClassHead(weight_column=column, loss_reduction="sum")
    got = _loss(gs, head, DOC_LABELS, DOC_LOGITS,
                features=lambda: {"w": tf.constant([[1.0], [0.5]])})
    assert got == pytest.approx(41.0 * 1.0)


def test_bad_weights(gs):
    head = heads.BinaryClassHead(weight_column="w")
    with pytest.raises(ValueError, match="Weight column should be castable"):
        _loss(gs, head, DOC_LABELS, DOC_LOGITS,
              features=lambda: {"w": tf.constant([["a"], ["b"]])})
    with pytest.raises(TypeError, match="Weight column must be either"):
        heads.BinaryClassHead(weight_column=3).loss(
            DOC_LABELS, tf.constant(DOC_LOGITS), features={"w": [1.0, 1.0]})
    dynamic = lambda: {"w": tf.compat.v1.placeholder_with_default(  # noqa: E731
        [[1.0, 1.0], [1.0, 1.0]], shape=[None, 2])}
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"weights shape must be \[D0, D1, \.\.\. DN\]"):
        _loss(gs, head, DOC_LABELS, DOC_LOGITS, features=dynamic)


def test_regression_prediction_keys(gs):
    head = heads.RegressionHead(inverse_link_fn=tf.math.exp)
    only = gs.evaluate(lambda: head.predictions(tf.constant([[0.0]]),
                                                keys=["logits"]))
    assert only == {"logits": [[0.0]]}
    with pytest.raises(ValueError, match="Prediction key must be in"):
        heads.RegressionHead().predictions(tf.constant([[0.0]]),
                                           keys=["logits"])


def test_original_docstring_example_runs_eagerly():
    # The original's BinaryClassHead docstring, outside any graph.
    head = heads.BinaryClassHead()
    logits = np.array(((45,), (-41,)), dtype=np.float32)
    labels = np.array(((1,), (1,)), dtype=np.int32)
    features = {"x": np.array(((42,),), dtype=np.float32)}
    assert float(head.loss(labels, logits, features=features)) == 20.5
    updated = head.update_metrics(head.metrics(), features, logits, labels)
    assert {k: round(float(m.result()), 2) for k, m in updated.items()} == {
        "accuracy": 0.5, "accuracy_baseline": 1.0, "auc": 0.0,
        "auc_precision_recall": 1.0, "average_loss": 20.5,
        "label/mean": 1.0, "precision": 1.0, "prediction/mean": 0.5,
        "recall": 0.5}
    np.testing.assert_array_equal(head.predictions(logits)["logits"], logits)
