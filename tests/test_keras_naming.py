"""Keras 3 layers in a model_fn get the original, stable variable names."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from _kb_models import X
from _kb_models import dnn_model_fn
from _kb_models import eval_input_fn
from _kb_models import numpy_logits
from _kb_models import train_input_fn
from kerasbridge._keras_naming import keras_naming_scope
from kerasbridge.estimator import Estimator

v1 = tf.compat.v1
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

EXPECTED = {
    "global_step",
    "dense/kernel",
    "dense/bias",
    "dense_1/kernel",
    "dense_1/bias",
    "dense_2/kernel",
    "dense_2/bias",
}


def _model_variables(estimator):
    return {
        n for n in estimator.get_variable_names() if not n.endswith("/Adagrad")
    }


@pytest.fixture(scope="module")
def two_estimators(tmp_path_factory):
    # Layers made earlier in the process must not shift the names.
    keras.layers.Dense(2)
    keras.layers.Dense(2)
    estimators = []
    for name in ("first", "second"):
        estimator = Estimator(
            dnn_model_fn,
            model_dir=str(tmp_path_factory.mktemp(name)),
            params={"hidden": [8, 8]},
        )
        estimator.train(train_input_fn, steps=2)
        estimators.append(estimator)
    results = [e.evaluate(eval_input_fn) for e in estimators]
    return estimators, results


def test_two_estimators_train_and_evaluate_with_the_same_names(two_estimators):
    estimators, results = two_estimators
    for estimator, result in zip(estimators, results):
        assert _model_variables(estimator) == EXPECTED
        assert result["global_step"] == 2


def test_keras_names_outside_the_scope_keep_counting():
    before = keras.layers.Dense(1).name
    with tf.Graph().as_default(), keras_naming_scope():
        inside = keras.layers.Dense(1).name
    after = keras.layers.Dense(1).name
    assert inside == "dense"

    def index(name):
        return int(name.rsplit("_", 1)[1]) if "_" in name else 0

    assert index(after) == index(before) + 1


def test_names_of_batch_norm_and_scoped_layers():
    def build():
        with tf.Graph().as_default() as graph, keras_naming_scope():
            x = v1.placeholder(tf.float32, [None, 4])
            h = keras.layers.Dense(3)(x)
            h = keras.layers.BatchNormalization()(h, training=True)
            with v1.variable_scope("tower"):
                keras.layers.Dense(2)(h)
            names = [v.op.name for v in v1.global_variables()]
            matmuls = [
                op.name for op in graph.get_operations() if op.type == "MatMul"
            ]
        return names, matmuls

    names, matmuls = build()
    assert names == [
        "dense/kernel",
        "dense/bias",
        "batch_normalization/gamma",
        "batch_normalization/beta",
        "batch_normalization/moving_mean",
        "batch_normalization/moving_variance",
        "tower/dense_1/kernel",
        "tower/dense_1/bias",
    ]
    # A layer's ops share its variables' scope, as with Keras 2.
    assert matmuls == ["dense/MatMul", "tower/dense_1/MatMul"]
    assert build() == (names, matmuls)


def test_checkpoint_written_in_another_process_restores_here(tmp_path):
    model_dir = str(tmp_path / "model")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {TESTS_DIR!r})
        from _kb_models import dnn_model_fn, train_input_fn
        from kerasbridge.estimator import Estimator
        Estimator(dnn_model_fn, model_dir={model_dir!r}, params={{}}).train(
            train_input_fn, steps=3)
        """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run(
        [sys.executable, "-c", script], check=True, env=env, capture_output=True
    )
    # Shift this process's Keras counters first.
    keras.layers.Dense(2)
    estimator = Estimator(dnn_model_fn, model_dir=model_dir, params={})
    assert estimator.evaluate(eval_input_fn)["global_step"] == 3
    predictions = list(
        estimator.predict(
            lambda: tf.data.Dataset.from_tensor_slices({"x": X}).batch(16)
        )
    )
    np.testing.assert_allclose(
        np.stack([p["logits"] for p in predictions]),
        numpy_logits(estimator, X),
        rtol=1e-4,
        atol=1e-5,
    )
