"""TF1 `tf.layers` model_fns through the Estimator, after `kb.install()`.

The DNN tutorial on `tf.layers.dense`, the class form `tf.layers.Dense(...)`
and a conv/batch-norm/pool/dropout CNN train, evaluate and predict, with the
original's checkpoint names in every call and in another process.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import kerasbridge as kb

kb.install()

import _tf1_model_fns as fns  # noqa: E402  (TF1 code: tf.layers needs install)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DNN_NAMES = [
    "dense/bias", "dense/bias/Adagrad", "dense/kernel", "dense/kernel/Adagrad",
    "dense_1/bias", "dense_1/bias/Adagrad", "dense_1/kernel",
    "dense_1/kernel/Adagrad", "dense_2/bias", "dense_2/bias/Adagrad",
    "dense_2/kernel", "dense_2/kernel/Adagrad", "global_step",
]


def _dnn(model_dir):
    columns = [tf.feature_column.numeric_column("x", shape=[4])]
    return kb.Estimator(
        fns.dnn_model_fn, model_dir=model_dir,
        config=kb.RunConfig(tf_random_seed=0, save_summary_steps=10**6),
        params={"feature_columns": columns, "hidden_units": [10, 10], "n_classes": 3},
    )


@pytest.fixture(scope="module")
def dnn(tmp_path_factory):
    """A DNN trained 60 steps; its evaluation and three predictions."""
    model_dir = str(tmp_path_factory.mktemp("tf1_dnn"))
    est = _dnn(model_dir)
    x, y = fns.clusters(96, 4, seed=0)
    est.train(lambda: fns.input_fn(x, y), steps=60)
    tx, ty = fns.clusters(30, 4, seed=1)
    result = est.evaluate(lambda: fns.input_fn(tx, ty, repeat=False))
    preds = list(est.predict(lambda: fns.input_fn({"x": tx["x"][:3]}, repeat=False)))
    return est, model_dir, result, preds


def test_dnn_checkpoint_has_the_original_names(dnn):
    est, _, result, preds = dnn
    assert sorted(est.get_variable_names()) == DNN_NAMES
    assert est.get_variable_value("dense/kernel").shape == (4, 10)
    assert est.get_variable_value("dense_2/kernel").shape == (10, 3)
    assert result["global_step"] == 60
    assert result["accuracy"] > 0.8
    assert len(preds) == 3 and all(p["probabilities"].shape == (3,) for p in preds)


def test_dnn_restores_and_keeps_training(dnn, tmp_path):
    est, model_dir, result, _ = dnn
    shutil.copytree(model_dir, tmp_path / "copy")
    again = _dnn(str(tmp_path / "copy"))
    tx, ty = fns.clusters(30, 4, seed=1)
    assert again.evaluate(lambda: fns.input_fn(tx, ty, repeat=False)) == result
    x, y = fns.clusters(96, 4, seed=0)
    again.train(lambda: fns.input_fn(x, y), steps=5)
    assert again.get_variable_value("global_step") == 65
    assert sorted(again.get_variable_names()) == DNN_NAMES


def test_dnn_evaluates_and_predicts_in_another_process(dnn):
    _, model_dir, result, preds = dnn
    script = textwrap.dedent(f"""
        import json, sys
        sys.path[:0] = [{HERE!r}, {ROOT!r}]
        import kerasbridge as kb
        kb.install()
        import test_v1_layers_estimator as t
        import _tf1_model_fns as fns
        est = t._dnn({model_dir!r})
        tx, ty = fns.clusters(30, 4, seed=1)
        r = est.evaluate(lambda: fns.input_fn(tx, ty, repeat=False))
        p = est.predict(lambda: fns.input_fn({{"x": tx["x"][:3]}}, repeat=False))
        print(json.dumps({{"loss": float(r["loss"]), "accuracy": float(r["accuracy"]),
                          "probs": [q["probabilities"].tolist() for q in p]}}))
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), cwd=ROOT,
    ).stdout
    other = json.loads(out.strip().splitlines()[-1])
    np.testing.assert_allclose(other["loss"], result["loss"], rtol=1e-6)
    assert other["accuracy"] == pytest.approx(result["accuracy"])
    np.testing.assert_allclose(
        other["probs"], [p["probabilities"] for p in preds], rtol=1e-6
    )


def test_class_form_dense_layers(tmp_path):
    est = kb.Estimator(
        fns.class_model_fn, model_dir=str(tmp_path),
        config=kb.RunConfig(tf_random_seed=0, save_summary_steps=10**6),
        params={"n_classes": 3},
    )
    x, y = fns.clusters(96, 4, seed=2)
    est.train(lambda: fns.input_fn(x, y), steps=40)
    names = [n for n in est.get_variable_names() if "Adagrad" not in n]
    # The shared layer owns one set of variables (`dense`), used twice.
    assert sorted(names) == [
        "dense/bias", "dense/kernel", "dense_1/bias", "dense_1/kernel", "global_step"
    ]
    result = est.evaluate(lambda: fns.input_fn(x, y, repeat=False))
    assert result["accuracy"] > 0.7
    assert est.evaluate(lambda: fns.input_fn(x, y, repeat=False)) == result


def test_cnn_batch_norm_statistics_move_and_inference_is_deterministic(tmp_path):
    est = kb.Estimator(
        fns.cnn_model_fn, model_dir=str(tmp_path),
        config=kb.RunConfig(tf_random_seed=0, save_summary_steps=10**6),
        params={"n_classes": 3},
    )
    x, y = fns.clusters(96, 36, seed=3)
    est.train(lambda: fns.input_fn(x, y), steps=30)
    names = set(est.get_variable_names())
    for name in ["conv2d/kernel", "conv2d/bias", "batch_normalization/gamma",
                 "batch_normalization/beta", "batch_normalization/moving_mean",
                 "batch_normalization/moving_variance", "dense/kernel",
                 "dense_1/kernel"]:
        assert name in names
    # Only trainable variables get optimizer slots.
    assert "batch_normalization/moving_mean/Adagrad" not in names
    assert "batch_normalization/gamma/Adagrad" in names
    # The UPDATE_OPS ran with the train op: the moving statistics moved.
    assert np.abs(est.get_variable_value("batch_normalization/moving_mean")).max() > 1e-3
    assert np.abs(
        est.get_variable_value("batch_normalization/moving_variance") - 1
    ).max() > 1e-3
    # Outside TRAIN, dropout is off and batch norm uses the moving statistics.
    def probs():
        return np.stack([p["probabilities"] for p in est.predict(
            lambda: fns.input_fn({"x": x["x"][:8]}, batch_size=3, repeat=False))])

    first = probs()
    np.testing.assert_array_equal(first, probs())
    # Batch-independent: the same rows in other batch sizes give the same answer.
    single = np.stack([p["probabilities"] for p in est.predict(
        lambda: fns.input_fn({"x": x["x"][:8]}, batch_size=8, repeat=False))])
    np.testing.assert_allclose(single, first, rtol=1e-5, atol=1e-6)
    result = est.evaluate(lambda: fns.input_fn(x, y, repeat=False))
    assert est.evaluate(lambda: fns.input_fn(x, y, repeat=False)) == result
