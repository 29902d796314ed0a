"""Training-time layer behaviour and metric state of the generated Estimator.

Keras 3 called directly in a TF1 graph gets three things silently wrong:
BatchNormalization moving statistics never update, Dropout reuses one mask,
and metrics have no update op (and would be checkpointed, never reset).
Each test here fails if the corresponding bug comes back.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasbridge.keras import estimator_weights_to_keras
from kerasbridge.keras import model_to_estimator
from kerasbridge.keras._graph_model import GraphModel
from kerasbridge.keras._model_spec import KerasModelSpec
from kerasbridge.keras._variable_keys import model_variable_keys
from kerasbridge.keras._variable_keys import structural_variables
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.run_config import RunConfig

_BATCH = 16
_STEPS = 3


def _bn_dropout_model():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((4,), name="x")
    h = keras.layers.Dense(8, activation="relu")(inputs)
    h = keras.layers.BatchNormalization(momentum=0.5)(h)
    h = keras.layers.Dropout(0.5, seed=11)(h)
    outputs = keras.layers.Dense(1, name="y")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model


def _data(n, seed):
    rng = np.random.RandomState(seed)
    x = rng.normal(2.0, 1.5, size=(n, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) + rng.normal(size=(n, 1))).astype("float32")
    return x, y


def _input_fn(x, y, batch, repeat=False):
    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y))
        return (ds.repeat() if repeat else ds).batch(batch)

    return input_fn


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An estimator trained 3 steps, and the same model fit for 3 steps."""
    model = _bn_dropout_model()
    model_dir = str(tmp_path_factory.mktemp("bn_dropout"))
    est = model_to_estimator(
        keras_model=model,
        config=RunConfig(model_dir=model_dir, save_summary_steps=1000),
    )
    initial = _weights_by_key(model)
    x, y = _data(_STEPS * _BATCH, seed=0)
    est.train(_input_fn(x, y, _BATCH), steps=_STEPS)
    model.fit(x, y, batch_size=_BATCH, epochs=1, shuffle=False, verbose=0)
    return est, model, initial


def _weights_by_key(model):
    keys = model_variable_keys(model, "checkpoint")
    return {k: v.numpy() for (v, _), k in zip(structural_variables(model), keys)}


def test_bn_and_dropout_training_matches_fit(trained):
    # Dropout masks and BN batch statistics both enter the gradients: equal
    # weights after 3 steps need a fresh mask per step (as fit draws) and
    # training=True in TRAIN.
    est, model, _ = trained
    keys = model_variable_keys(model, "checkpoint")
    for (variable, _), key in zip(structural_variables(model), keys):
        if "seed_generator" in key:
            continue
        np.testing.assert_allclose(
            est.get_variable_value(key), variable.numpy(), atol=1e-5, rtol=0,
            err_msg=key,
        )


def test_batch_norm_moving_statistics_update_during_train(trained):
    est, model, initial = trained
    bn = next(i for i, l in enumerate(model.layers)
              if isinstance(l, keras.layers.BatchNormalization))
    for stat in ("moving_mean", "moving_variance"):
        key = f"layer-{bn}/{stat}"
        value = est.get_variable_value(key)
        assert not np.allclose(value, initial[key]), f"{stat} never updated"
        # ... to the values fit's updates give.
        np.testing.assert_allclose(
            value, getattr(model.layers[bn], stat).numpy(), atol=1e-5, rtol=0
        )


def test_dropout_draws_a_new_mask_every_step():
    model = _bn_dropout_model()
    spec = KerasModelSpec(model, None, "checkpoint")
    x, _ = _data(_BATCH, seed=1)
    with tf.Graph().as_default():
        graph_model = GraphModel(
            spec, {"x": tf.constant(x)}, tf.zeros([_BATCH, 1]), ModeKeys.TRAIN
        )
        state = graph_model.model_var_list["layer-3/seed_generator_state"]
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(tf.compat.v1.local_variables_initializer())
            states = []
            for _ in range(3):
                session.run(graph_model.train_op)
                states.append(session.run(state).tolist())
    assert len({tuple(s) for s in states}) == 3, states


def test_dropout_and_batch_norm_are_inference_mode_in_predict(trained):
    # After the round trip, Keras' own predict (training=False) must agree
    # with the Estimator's: any dropout or batch statistics in PREDICT would
    # make them differ.
    est, _, _ = trained
    fresh = _bn_dropout_model()
    estimator_weights_to_keras(est, fresh)
    x, _ = _data(32, seed=5)
    predictions = est.predict(
        lambda: tf.data.Dataset.from_tensor_slices({"x": x}).batch(8)
    )
    ours = np.stack([p["y"] for p in predictions])
    np.testing.assert_allclose(ours, fresh.predict(x, verbose=0), atol=1e-5, rtol=0)


def test_eval_metrics_have_update_ops_and_reset_between_evaluations(trained):
    est, _, _ = trained
    fresh = _bn_dropout_model()
    estimator_weights_to_keras(est, fresh)
    for seed in (7, 8):
        x, y = _data(40, seed=seed)
        ours = est.evaluate(_input_fn(x, y, 40))
        theirs = fresh.evaluate(x, y, batch_size=40, verbose=0, return_dict=True)
        # Equal to Keras on this data alone: the metric was updated (not
        # left at 0) and did not carry state over from the last evaluation.
        assert ours["mae"] == pytest.approx(theirs["mae"], abs=1e-5)
        assert ours["loss"] == pytest.approx(theirs["loss"], abs=1e-5)
        assert ours["global_step"] == _STEPS


def test_metric_variables_are_never_checkpointed(trained):
    est, _, _ = trained
    x, y = _data(16, seed=9)
    est.evaluate(_input_fn(x, y, 16))
    est.train(_input_fn(x, y, 16), steps=1)
    names = est.get_variable_names()
    assert not [n for n in names if "total" in n or "count" in n or "mae" in n]
    assert not [n for n in names if "iteration" in n]
    assert os.path.basename(est.latest_checkpoint()) == f"model.ckpt-{_STEPS + 1}"
