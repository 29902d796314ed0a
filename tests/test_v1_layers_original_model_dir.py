"""What the ORIGINAL (TF 2.15 tf.estimator + `tf.layers`) wrote, read back here.

`tests/fixtures/tf1_layers_v215/make_tf1_layers_v215.py` trained it on TF
2.15 and stored its evaluation in `expected.json`; the same file's model_fn,
run here after `kb.install()`, must evaluate it to those numbers and keep
training it. `mixed_names.json` holds the variable names TF 2.15 gave a graph
mixing Keras and TF1 dense layers; ours must be the same.
"""

import importlib.util
import json
import os
import shutil

import numpy as np
import pytest

import kerasbridge as kb

FIXTURE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "fixtures", "tf1_layers_v215"
)


@pytest.fixture(scope="module")
def original():
    kb.install()
    spec = importlib.util.spec_from_file_location(
        "make_tf1_layers_v215", os.path.join(FIXTURE, "make_tf1_layers_v215.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(os.path.join(FIXTURE, "expected.json")) as f:
        return module, json.load(f)


@pytest.fixture
def model_dir(tmp_path):
    path = tmp_path / "model_dir"
    shutil.copytree(os.path.join(FIXTURE, "model_dir"), path)
    return str(path)


def test_evaluates_and_predicts_to_the_originals_numbers(original, model_dir):
    module, expected = original
    est = module.make_estimator(model_dir)
    assert sorted(est.get_variable_names()) == expected["variables"]
    test_x, test_y = module.make_data(30, seed=1)
    result = est.evaluate(lambda: module.input_fn(test_x, test_y, repeat=False))
    assert result["global_step"] == expected["global_step"]
    np.testing.assert_allclose(result["loss"], expected["loss"], rtol=1e-4)
    np.testing.assert_allclose(result["accuracy"], expected["accuracy"], atol=1e-4)
    preds = est.predict(
        lambda: module.input_fn({"x": test_x["x"][:3]}, None, repeat=False)
    )
    np.testing.assert_allclose(
        [p["logits"] for p in preds], expected["logits"], rtol=1e-4, atol=1e-5
    )


def test_keeps_training_the_originals_model_dir(original, model_dir):
    module, expected = original
    est = module.make_estimator(model_dir)
    train_x, train_y = module.make_data(96, seed=0)
    est.train(lambda: module.input_fn(train_x, train_y), steps=10)
    assert est.get_variable_value("global_step") == expected["global_step"] + 10
    # Training ran the batch-norm UPDATE_OPS on the original's statistics.
    moved = est.get_variable_value("batch_normalization/moving_mean")
    assert not np.allclose(moved, expected["moving_mean"])
    assert sorted(est.get_variable_names()) == expected["variables"]


def test_mixed_keras_and_tf1_layers_get_the_originals_names():
    """`tf.keras.layers.Dense` and `tf.layers.dense` in one model_fn graph."""
    import tensorflow as tf  # noqa: PLC0415

    from kerasbridge._keras_naming import keras_naming_scope  # noqa: PLC0415

    kb.install()
    spec = importlib.util.spec_from_file_location(
        "make_mixed_names", os.path.join(FIXTURE, "make_mixed_names.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(os.path.join(FIXTURE, "mixed_names.json")) as f:
        expected = json.load(f)["names"]
    for order in module.ORDERS:
        # The Estimator runs every model_fn inside this scope.
        with tf.Graph().as_default(), keras_naming_scope():
            assert module.kernel_names(order) == expected[order], order
