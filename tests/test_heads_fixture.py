"""Every head against numbers measured with the original TF 2.15 heads.

tests/fixtures/heads/make_heads.py (run under TF 2.15 + tensorflow-estimator)
recorded the original's loss, metrics and predictions for fixed logits,
labels, weights and regularization losses; here the same heads are rebuilt
from kerasbridge in one TF1 graph and evaluated in one session.
"""

import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from kerasbridge import heads

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "heads" / "heads.json"
CASES = json.loads(FIXTURE.read_text())


def _head(case):
    kwargs = dict(case["kwargs"])
    if kwargs.get("inverse_link_fn") == "exp":
        kwargs["inverse_link_fn"] = tf.math.exp
    return getattr(heads, case["head"])(**kwargs)


def _build(case):
    head = _head(case)
    logits = tf.constant(np.array(case["logits"], np.float32))
    labels = tf.constant(np.array(case["labels"]))
    features = {"x": logits}
    if "weights" in case:
        features["w"] = tf.constant(np.array(case["weights"], np.float32))
    reg = case.get("regularization_losses")
    reg = [tf.constant(r, tf.float32) for r in reg] if reg else None
    loss = head.loss(labels, logits, features=features,
                     regularization_losses=reg)
    metrics = head.update_metrics(head.metrics(regularization_losses=reg),
                                  features, logits, labels,
                                  regularization_losses=reg)
    return {
        "loss": loss,
        "metrics": {k: m.as_tuple() for k, m in metrics.items()},
        "predictions": head.predictions(logits),
    }


def _build_multi_head(record):
    inputs = record["inputs"]
    a = heads.BinaryClassHead(name="a", weight_column="w")
    b = heads.MultiClassHead(n_classes=3, name="b")
    head = heads.MultiHead([a, b], head_weights=[1.0, 0.5])
    logits = tf.constant(np.array(inputs["logits"], np.float32))
    labels = {"a": tf.constant(np.array(inputs["labels_a"])),
              "b": tf.constant(np.array(inputs["labels_b"]))}
    features = {"w": tf.constant(np.array(inputs["weights"], np.float32))}
    reg = [tf.constant(0.3)]
    loss = head.loss(labels, logits, features=features,
                     regularization_losses=reg)
    metrics = head.update_metrics(head.metrics(regularization_losses=reg),
                                  features, logits, labels,
                                  regularization_losses=reg)
    return {
        "loss": loss,
        "metrics": {k: m.as_tuple() for k, m in metrics.items()},
        "predictions": {"/".join(k): v
                        for k, v in head.predictions(logits).items()},
    }


@pytest.fixture(scope="module")
def measured():
    """Runs every case in one graph and session."""
    with tf.Graph().as_default():
        built = {name: _build(case) for name, case in CASES["cases"].items()}
        built["multi_head"] = _build_multi_head(CASES["multi_head"])
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.local_variables_initializer(),
                      tf.compat.v1.tables_initializer()])
            sess.run({n: {k: op for k, (_, op) in b["metrics"].items()}
                      for n, b in built.items()})
            return sess.run({
                n: {"loss": b["loss"],
                    "metrics": {k: v for k, (v, _) in b["metrics"].items()},
                    "predictions": b["predictions"]}
                for n, b in built.items()
            })


def _expected(name):
    if name == "multi_head":
        return CASES["multi_head"]
    return CASES["cases"][name]


NAMES = sorted(CASES["cases"]) + ["multi_head"]


@pytest.mark.parametrize("name", NAMES)
def test_loss_matches_original(measured, name):
    np.testing.assert_allclose(
        measured[name]["loss"], _expected(name)["loss"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_metrics_match_original(measured, name):
    expected = _expected(name)["metrics"]
    got = measured[name]["metrics"]
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}: {key}")


@pytest.mark.parametrize("name", NAMES)
def test_predictions_match_original(measured, name):
    expected = _expected(name)["predictions"]
    got = measured[name]["predictions"]
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        rows = np.asarray(got[key])[:len(value)]
        if rows.dtype.kind in "SO":
            assert rows.astype(str).tolist() == value, f"{name}: {key}"
        else:
            np.testing.assert_allclose(rows, value, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name}: {key}")
