"""A head-built `model_fn` through `kb.Estimator`: train, evaluate, predict,
export, and the `classification` signature answering serialized Examples."""

import numpy as np
import pytest
import tensorflow as tf

import kerasbridge as kb
from kerasbridge import heads

RNG = np.random.RandomState(7)
X = RNG.randn(96, 2).astype(np.float32)
LABELS = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no").reshape(-1, 1)
WEIGHTS = np.where(LABELS[:, 0] == "yes", 2.0, 1.0).astype(np.float32)
HEAD = heads.BinaryClassHead(weight_column="w", label_vocabulary=["no", "yes"],
                             thresholds=[0.4])


def _features(x, w):
    return {"x": x, "w": w}


def _input_fn(repeat):
    def input_fn():
        ds = tf.compat.v1.data.Dataset.from_tensor_slices(
            (_features(X, WEIGHTS), LABELS))
        return (ds.repeat() if repeat else ds).batch(32)
    return input_fn


def model_fn(features, labels, mode):
    kernel = tf.compat.v1.get_variable("linear/kernel", [2, 1])
    bias = tf.compat.v1.get_variable("linear/bias", [1],
                                     initializer=tf.zeros_initializer())
    logits = tf.matmul(features["x"], kernel) + bias
    return HEAD.create_estimator_spec(
        features=features, mode=mode, logits=logits, labels=labels,
        optimizer=tf.compat.v1.train.AdagradOptimizer(0.5),
        trainable_variables=[kernel, bias])


@pytest.fixture(scope="module")
def estimator(tmp_path_factory):
    est = kb.Estimator(model_fn, model_dir=str(tmp_path_factory.mktemp("m")))
    est.train(_input_fn(True), steps=60)
    return est


def test_evaluate_reports_the_heads_metrics(estimator):
    result = estimator.evaluate(_input_fn(False))
    assert sorted(result) == sorted([
        "accuracy", "accuracy_baseline", "auc", "auc_precision_recall",
        "average_loss", "label/mean", "loss", "precision", "prediction/mean",
        "recall", "accuracy/positive_threshold_0.4",
        "precision/positive_threshold_0.4", "recall/positive_threshold_0.4",
        "global_step"])
    assert result["global_step"] == 60
    positives = WEIGHTS[LABELS[:, 0] == "yes"].sum()
    assert result["label/mean"] == pytest.approx(positives / WEIGHTS.sum())
    assert result["accuracy"] > 0.9 and result["auc"] > 0.95
    # Metric variables are local: the checkpoint holds the model only.
    assert not [n for n in estimator.get_variable_names() if "metrics" in n]


def test_predict_yields_class_names(estimator):
    predictions = list(estimator.predict(_input_fn(False)))
    assert len(predictions) == len(X)
    first = predictions[0]
    assert sorted(first) == sorted([
        "logits", "logistic", "probabilities", "class_ids", "classes",
        "all_class_ids", "all_classes"])
    classes = np.array([p["classes"][0] for p in predictions]).astype(str)
    assert np.mean(classes == LABELS[:, 0]) > 0.9
    assert first["all_classes"].tolist() == [b"no", b"yes"]


def test_exported_classification_signature_answers_examples(
        estimator, tmp_path):
    spec = {"x": tf.io.FixedLenFeature([2], tf.float32),
            "w": tf.io.FixedLenFeature([1], tf.float32, default_value=[1.0])}
    path = estimator.export_saved_model(
        str(tmp_path), kb.export.build_parsing_serving_input_receiver_fn(spec))
    loaded = tf.saved_model.load(path.decode())
    assert {"serving_default", "classification", "regression",
            "predict"} <= set(loaded.signatures)
    rows = X[:4]
    serialized = [tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=row))
    })).SerializeToString() for row in rows]
    out = loaded.signatures["classification"](
        inputs=tf.constant(serialized))
    assert out["classes"].numpy().tolist() == [[b"no", b"yes"]] * 4
    expected = [p["probabilities"] for p in estimator.predict(
        lambda: tf.compat.v1.data.Dataset.from_tensor_slices(
            _features(rows, np.ones(4, np.float32))).batch(4))]
    np.testing.assert_allclose(out["scores"].numpy(), expected, rtol=1e-5)


def test_multi_head_trains_evaluates_and_predicts(tmp_path):
    head = heads.MultiHead([heads.BinaryClassHead(name="a"),
                            heads.RegressionHead(name="r")],
                           head_weights=[1.0, 0.5])
    targets = {"a": (X[:, :1] > 0).astype(np.int64), "r": X[:, 1:] * 2.0}

    def input_fn():
        return tf.compat.v1.data.Dataset.from_tensor_slices(
            ({"x": X}, targets)).batch(48)

    def multi_model_fn(features, labels, mode):
        kernel = tf.compat.v1.get_variable("kernel", [2, 2])
        return head.create_estimator_spec(
            features=features, mode=mode, labels=labels,
            logits=tf.matmul(features["x"], kernel),
            optimizer=tf.compat.v1.train.GradientDescentOptimizer(0.5),
            trainable_variables=[kernel])

    est = kb.Estimator(multi_model_fn, model_dir=str(tmp_path))
    est.train(lambda: input_fn().repeat(), steps=40)
    result = est.evaluate(input_fn)
    assert {"loss/a", "loss/r", "accuracy/a", "auc/a", "average_loss/r",
            "label/mean/r", "loss", "global_step"} <= set(result)
    assert result["loss"] == pytest.approx(
        result["loss/a"] + 0.5 * result["loss/r"], rel=1e-5)
    assert result["accuracy/a"] > 0.9 and result["average_loss/r"] < 0.1
    first = next(est.predict(input_fn))
    assert ("a", "classes") in first and ("r", "predictions") in first
