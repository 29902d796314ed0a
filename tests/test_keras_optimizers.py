"""The generated train op updates weights exactly as `model.fit` does.

Each case calls the generated `model_fn` in TRAIN mode, takes three steps
with its train op, and compares the weights after every step with three
steps of `model.fit` from the same starting weights on the same batches.
Three steps rather than one also pin the optimizer's step counter (bias
corrections, schedules), which a one-step check cannot see.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasbridge.keras import model_to_estimator
from kerasbridge.keras._variable_keys import model_variable_keys
from kerasbridge.keras._variable_keys import structural_variables
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.run_config import RunConfig

_TOL = 1e-5
_STEPS = 3
_BATCH = 16

_schedules = keras.optimizers.schedules

OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(0.1),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "sgd_weight_decay": lambda: keras.optimizers.SGD(0.1, weight_decay=0.05),
    "adam": lambda: keras.optimizers.Adam(0.05),
    "adam_amsgrad": lambda: keras.optimizers.Adam(0.05, amsgrad=True),
    "adamw": lambda: keras.optimizers.AdamW(0.05, weight_decay=0.1),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01),
    "rmsprop_centered_momentum": lambda: keras.optimizers.RMSprop(
        0.01, momentum=0.5, centered=True
    ),
    "adagrad": lambda: keras.optimizers.Adagrad(0.1),
    "adamax": lambda: keras.optimizers.Adamax(0.05),
    "nadam": lambda: keras.optimizers.Nadam(0.05),
    "adadelta": lambda: keras.optimizers.Adadelta(1.0),
    "ftrl": lambda: keras.optimizers.Ftrl(
        0.1, l1_regularization_strength=0.01, l2_regularization_strength=0.01
    ),
    "lion": lambda: keras.optimizers.Lion(0.01),
    "adam_loss_scale_factor": lambda: keras.optimizers.Adam(
        0.05, loss_scale_factor=64.0
    ),
    "adam_clipnorm": lambda: keras.optimizers.Adam(0.05, clipnorm=0.05),
    "sgd_clipvalue": lambda: keras.optimizers.SGD(0.5, clipvalue=0.01),
    "rmsprop_global_clipnorm": lambda: keras.optimizers.RMSprop(
        0.01, global_clipnorm=0.05
    ),
    "adam_exponential_decay": lambda: keras.optimizers.Adam(
        _schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    ),
    "sgd_piecewise_constant": lambda: keras.optimizers.SGD(
        _schedules.PiecewiseConstantDecay([0, 1], [0.3, 0.1, 0.01]), momentum=0.5
    ),
    "sgd_cosine_decay": lambda: keras.optimizers.SGD(
        _schedules.CosineDecay(0.2, decay_steps=3, warmup_target=None)
    ),
    "adagrad_inverse_time": lambda: keras.optimizers.Adagrad(
        _schedules.InverseTimeDecay(0.2, decay_steps=1, decay_rate=1.0)
    ),
    "rmsprop_polynomial": lambda: keras.optimizers.RMSprop(
        _schedules.PolynomialDecay(0.02, decay_steps=2, end_learning_rate=0.001)
    ),
}


def _compiled_model(optimizer):
    keras.utils.set_random_seed(7)
    inputs = keras.Input((5,), name="x")
    hidden = keras.layers.Dense(
        6, activation="tanh", kernel_regularizer=keras.regularizers.l2(1e-3)
    )(inputs)
    outputs = keras.layers.Dense(3, name="logits")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _batches():
    rng = np.random.RandomState(0)
    x = rng.normal(size=(_STEPS * _BATCH, 5)).astype("float32")
    y = rng.randint(0, 3, size=_STEPS * _BATCH).astype("int64")
    return x, y


def _estimator_weights_per_step(model, x, y, model_dir):
    """Weights after each step of the generated train op, by checkpoint key.

    Runs the Estimator's `model_fn` in TRAIN mode in a plain session (no
    hooks: fast), starting from the Keras weights through the spec's own
    warm-start `init_fn`, and saves with the spec's Saver after every step.
    """
    est = model_to_estimator(keras_model=model, model_dir=model_dir)
    snapshots = []
    with tf.Graph().as_default():
        x_in = tf.compat.v1.placeholder(tf.float32, [None, 5])
        y_in = tf.compat.v1.placeholder(tf.int64, [None])
        tf.compat.v1.train.get_or_create_global_step()
        spec = est.model_fn({"x": x_in}, y_in, ModeKeys.TRAIN, est.config)
        scaffold = spec.scaffold
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(tf.compat.v1.local_variables_initializer())
            scaffold.init_fn(session)
            for step in range(_STEPS):
                rows = slice(step * _BATCH, (step + 1) * _BATCH)
                session.run(spec.train_op, {x_in: x[rows], y_in: y[rows]})
                path = scaffold.saver.save(session, f"{model_dir}/step", step)
                reader = tf.train.load_checkpoint(path)
                keys = reader.get_variable_to_shape_map()
                snapshots.append({k: reader.get_tensor(k) for k in keys})
    assert snapshots[-1]["global_step"] == _STEPS
    return snapshots


class _Snapshots(keras.callbacks.Callback):
    def __init__(self, keys):
        super().__init__()
        self.keys = keys
        self.values = []

    def on_train_batch_end(self, batch, logs=None):
        variables = [v for v, _ in structural_variables(self.model)]
        self.values.append({k: v.numpy() for k, v in zip(self.keys, variables)})


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_train_op_matches_fit_step_by_step(name, tmp_path):
    model = _compiled_model(OPTIMIZERS[name]())
    keys = model_variable_keys(model, "checkpoint")
    initial = {k: v.numpy() for (v, _), k in zip(structural_variables(model), keys)}
    x, y = _batches()
    ours = _estimator_weights_per_step(model, x, y, str(tmp_path))

    snapshots = _Snapshots(keys)
    model.fit(
        x, y, batch_size=_BATCH, epochs=1, shuffle=False, verbose=0,
        callbacks=[snapshots],
    )
    assert len(snapshots.values) == _STEPS
    for step, (mine, theirs) in enumerate(zip(ours, snapshots.values)):
        for key, value in theirs.items():
            np.testing.assert_allclose(
                mine[key], value, atol=_TOL, rtol=0,
                err_msg=f"{name}: {key} differs after step {step + 1}",
            )
    # The weights really moved, so equality is not trivially satisfied.
    assert any(not np.allclose(initial[k], ours[-1][k]) for k in keys)


def test_schedule_and_slots_resume_across_train_calls(tmp_path):
    # Two train() calls of 2 steps equal one fit of 4 steps only if the
    # schedule follows the restored global step (the optimizer's own counter
    # restarts at 0 in every new graph) and the Adam slots are checkpointed.
    def optimizer():
        return keras.optimizers.Adam(
            _schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.03, 0.001])
        )

    model = _compiled_model(optimizer())
    est = model_to_estimator(
        keras_model=model, config=RunConfig(model_dir=str(tmp_path))
    )
    rng = np.random.RandomState(1)
    x = rng.normal(size=(4 * _BATCH, 5)).astype("float32")
    y = rng.randint(0, 3, size=4 * _BATCH).astype("int64")

    def input_fn(first):
        rows = slice(0, 2 * _BATCH) if first else slice(2 * _BATCH, None)
        return lambda: tf.data.Dataset.from_tensor_slices(
            ({"x": x[rows]}, y[rows])
        ).batch(_BATCH)

    est.train(input_fn(True), steps=2)
    est.train(input_fn(False), steps=2)
    model.fit(x, y, batch_size=_BATCH, epochs=1, shuffle=False, verbose=0)
    keys = model_variable_keys(model, "checkpoint")
    assert est.get_variable_value("global_step") == 4
    for (variable, _), key in zip(structural_variables(model), keys):
        np.testing.assert_allclose(
            est.get_variable_value(key), variable.numpy(), atol=_TOL, rtol=0,
            err_msg=key,
        )
