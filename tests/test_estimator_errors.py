"""Bad input to Estimator: clear errors, and checkpoints left intact."""

import hashlib
import os

import numpy as np
import pytest
import tensorflow as tf

from _kb_models import X
from _kb_models import Y
from _kb_models import dnn_model_fn
from _kb_models import eval_input_fn
from _kb_models import predict_input_fn
from _kb_models import train_input_fn
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.mode_keys import ModeKeys

v1 = tf.compat.v1


def _digest(model_dir):
    """Hashes of every checkpoint file and the checkpoint state file."""
    digests = {}
    for name in sorted(os.listdir(model_dir)):
        if name.startswith("model.ckpt") or name == "checkpoint":
            with open(os.path.join(model_dir, name), "rb") as f:
                digests[name] = hashlib.sha256(f.read()).hexdigest()
    return digests


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("errors"))
    Estimator(dnn_model_fn, model_dir=model_dir, params={"hidden": [8]}).train(
        train_input_fn, steps=4
    )
    return model_dir


# -- constructor -------------------------------------------------------------


def test_model_fn_required(tmp_path):
    with pytest.raises(
        ValueError, match="model_fn must be provided to Estimator"
    ):
        Estimator(None, model_dir=str(tmp_path))


def test_model_fn_must_take_features(tmp_path):
    with pytest.raises(ValueError, match="must include features argument"):
        Estimator(lambda labels, mode: None, model_dir=str(tmp_path))


def test_model_fn_unexpected_args(tmp_path):
    with pytest.raises(
        ValueError, match=r"has following not expected args: \['extra'\]"
    ):
        Estimator(lambda features, extra: None, model_dir=str(tmp_path))


def test_params_given_but_not_taken(tmp_path):
    with pytest.raises(ValueError, match="does not include params argument"):
        Estimator(
            lambda features, mode: None,
            model_dir=str(tmp_path),
            params={"a": 1},
        )


def test_params_must_be_a_dict(tmp_path):
    with pytest.raises(TypeError, match="params must be a dict, given: list"):
        Estimator(dnn_model_fn, model_dir=str(tmp_path), params=[1, 2])


def test_model_dir_that_is_a_file(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("not a directory")
    with pytest.raises(ValueError, match="model_dir .*file.txt.* is a file"):
        Estimator(dnn_model_fn, model_dir=str(path), params={})


def test_config_must_be_a_run_config(tmp_path):
    with pytest.raises(
        ValueError, match="config must be an instance of `RunConfig`"
    ):
        Estimator(
            dnn_model_fn, model_dir=str(tmp_path), config={"a": 1}, params={}
        )


# -- train arguments -------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"steps": 1, "max_steps": 2},
            "Can not provide both steps and max_steps",
        ),
        ({"steps": 0}, r"Must specify steps > 0, given: 0"),
        ({"max_steps": -1}, r"Must specify max_steps > 0, given: -1"),
    ],
)
def test_bad_steps(tmp_path, kwargs, message):
    estimator = Estimator(dnn_model_fn, model_dir=str(tmp_path), params={})
    with pytest.raises(ValueError, match=message):
        estimator.train(train_input_fn, **kwargs)


def test_evaluate_bad_steps(tmp_path):
    estimator = Estimator(dnn_model_fn, model_dir=str(tmp_path), params={})
    with pytest.raises(ValueError, match="Must specify steps > 0, given: 0"):
        estimator.evaluate(eval_input_fn, steps=0)


def test_hooks_and_listeners_types(tmp_path):
    estimator = Estimator(dnn_model_fn, model_dir=str(tmp_path), params={})
    with pytest.raises(
        TypeError, match="Hooks must be a SessionRunHook, given: 3"
    ):
        estimator.train(train_input_fn, steps=1, hooks=[3])
    with pytest.raises(TypeError, match="Hooks must be a SessionRunHook"):
        estimator.predict(predict_input_fn, hooks=["x"])
    with pytest.raises(
        TypeError,
        match="saving_listeners must be a list of CheckpointSaverListener",
    ):
        estimator.train(train_input_fn, steps=1, saving_listeners=[object()])


def test_no_checkpoint_for_variable_queries(tmp_path):
    estimator = Estimator(dnn_model_fn, model_dir=str(tmp_path), params={})
    with pytest.raises(
        ValueError, match="Could not find trained model in model_dir"
    ):
        estimator.get_variable_names()
    with pytest.raises(
        ValueError, match="Could not find trained model in model_dir"
    ):
        estimator.get_variable_value("dense/kernel")


def test_unknown_variable_name(trained_dir):
    estimator = Estimator(dnn_model_fn, model_dir=trained_dir, params={})
    with pytest.raises(
        tf.errors.NotFoundError, match="'nope' is not in the checkpoint"
    ):
        estimator.get_variable_value("nope")


# -- model_fn results ------------------------------------------------------


def test_model_fn_must_return_a_spec(tmp_path):
    estimator = Estimator(
        lambda features, labels: {"loss": 1.0}, model_dir=str(tmp_path)
    )
    with pytest.raises(
        ValueError, match="model_fn should return an EstimatorSpec, given: dict"
    ):
        estimator.train(train_input_fn, steps=1)


def test_missing_spec_fields_per_mode(tmp_path):
    def model_fn(features, labels, mode):
        loss = tf.reduce_mean(features["x"]) + v1.get_variable(
            "w", initializer=0.0
        )
        if mode == ModeKeys.TRAIN:
            return EstimatorSpec(mode, loss=loss)  # no train_op
        if mode == ModeKeys.EVAL:
            return EstimatorSpec(mode)  # no loss
        return EstimatorSpec(mode, loss=loss)  # no predictions

    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="Missing train_op"):
        estimator.train(train_input_fn, steps=1)
    with pytest.raises(ValueError, match="Missing loss"):
        estimator.evaluate(eval_input_fn)
    with pytest.raises(ValueError, match="Missing predictions"):
        next(estimator.predict(predict_input_fn))


# -- input_fn results ------------------------------------------------------


@pytest.mark.parametrize(
    "input_fn, error, message",
    [
        (lambda: None, ValueError, "input_fn returned None"),
        (
            lambda: (tf.constant(X), tf.constant(Y), 3),
            ValueError,
            "len 2 tuple",
        ),
        (
            lambda: ({"x": object()}, tf.constant(Y)),
            TypeError,
            r"features\['x'\] of type object",
        ),
        (
            lambda: ({"x": tf.constant(X)}, [object()]),
            TypeError,
            "labels of type list",
        ),
        (
            lambda: ({1: tf.constant(X)}, tf.constant(Y)),
            TypeError,
            "non-string key 1",
        ),
        (3, TypeError, "input_fn must be callable"),
    ],
)
def test_unusable_input_fn_results(tmp_path, input_fn, error, message):
    estimator = Estimator(dnn_model_fn, model_dir=str(tmp_path), params={})
    with pytest.raises(error, match=message):
        estimator.train(input_fn, steps=1)
    assert estimator.latest_checkpoint() is None


def test_labels_missing_in_train(tmp_path):
    estimator = Estimator(dnn_model_fn, model_dir=str(tmp_path), params={})
    with pytest.raises(ValueError, match="input_fn returned no labels"):
        estimator.train(lambda: predict_input_fn().repeat(), steps=1)


def test_model_fn_without_labels_but_input_has_them(tmp_path):
    def model_fn(features, mode):
        raise AssertionError("not reached")

    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    with pytest.raises(
        ValueError,
        match="model_fn does not take labels, but input_fn returns labels",
    ):
        estimator.train(train_input_fn, steps=1)


# -- checkpoints are never damaged -------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"hidden": [5]},
            r"Different shapes: .*dense/kernel: graph \[4, 5\] vs checkpoint \[4, 8\]",
        ),
        ({"hidden": [8, 8]}, r"Missing from the checkpoint: \['dense_2/bias'"),
    ],
)
def test_mismatched_checkpoint_fails_before_saving(
    trained_dir, params, message
):
    before = _digest(trained_dir)
    estimator = Estimator(dnn_model_fn, model_dir=trained_dir, params=params)
    with pytest.raises(ValueError, match=message):
        estimator.train(train_input_fn, steps=2)
    with pytest.raises(ValueError, match=message):
        estimator.evaluate(eval_input_fn)
    with pytest.raises(ValueError, match=message):
        next(estimator.predict(predict_input_fn))
    assert _digest(trained_dir) == before


def test_exception_mid_training_keeps_written_checkpoints(tmp_path):
    model_dir = str(tmp_path)
    good = Estimator(dnn_model_fn, model_dir=model_dir, params={"hidden": [8]})
    good.train(train_input_fn, steps=3)
    kernel = good.get_variable_value("dense/kernel")

    def failing_model_fn(features, labels, mode, params):
        spec = dnn_model_fn(features, labels, mode, params)
        step = v1.train.get_global_step()
        check = tf.debugging.assert_less(
            step, tf.constant(5, tf.int64), message="boom at step 5"
        )
        with tf.control_dependencies([check]):
            train_op = tf.group(spec.train_op)
        return spec._replace(train_op=train_op)

    failing = Estimator(
        failing_model_fn, model_dir=model_dir, params={"hidden": [8]}
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="boom at step 5"):
        failing.train(train_input_fn, steps=10)
    state = tf.train.get_checkpoint_state(model_dir)
    for path in state.all_model_checkpoint_paths:
        assert tf.train.load_variable(path, "dense/kernel").shape == (4, 8)
    np.testing.assert_array_equal(
        good.get_variable_value("dense/kernel"), kernel
    )
    assert good.evaluate(eval_input_fn)["global_step"] == 3
    good.train(train_input_fn, steps=1)
    assert good.get_variable_value("global_step") == 4


def test_train_refuses_evaluator_and_ps_tasks(tmp_path, monkeypatch):
    import json  # noqa: PLC0415

    from kerasbridge.run_config import RunConfig  # noqa: PLC0415

    monkeypatch.setenv(
        "TF_CONFIG",
        json.dumps(
            {
                "cluster": {"chief": ["h:1"], "ps": ["h:2"]},
                "task": {"type": "evaluator", "index": 0},
            }
        ),
    )
    estimator = Estimator(
        dnn_model_fn, model_dir=str(tmp_path), config=RunConfig(), params={}
    )
    with pytest.raises(
        ValueError, match="Please use tf.estimator.train_and_evaluate"
    ):
        estimator.train(train_input_fn, steps=1)



def _uninitialising_model_fn(local_state):
    """A Dense(3) model; in PREDICT its scaffold initialises nothing."""

    def model_fn(features, labels, mode):
        logits = tf.keras.layers.Dense(3)(features["x"])
        if local_state:
            counter = tf.compat.v1.get_local_variable(
                "rows_seen", initializer=tf.zeros([], tf.int64)
            )
            logits = logits + tf.cast(counter, tf.float32) * 0.0
        if mode == ModeKeys.TRAIN:
            loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels, logits)
            train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
                loss, global_step=tf.compat.v1.train.get_global_step()
            )
            return EstimatorSpec(mode, loss=loss, train_op=train_op)
        scaffold = tf.compat.v1.train.Scaffold(
            init_op=tf.no_op(), local_init_op=tf.no_op()
        )
        return EstimatorSpec(mode, predictions=logits, scaffold=scaffold)

    return model_fn


@pytest.mark.parametrize("local_state", [False, True])
def test_predict_on_an_uninitialised_model_names_the_variables(tmp_path, local_state):
    # With no checkpoint and an init_op that initialises nothing, the session
    # must refuse to start and name what is missing, as MonitoredSession did.
    est = Estimator(_uninitialising_model_fn(local_state), model_dir=str(tmp_path))
    with pytest.raises(RuntimeError) as info:
        next(est.predict(predict_input_fn))
    message = str(info.value)
    assert "did not make model ready" in message
    assert "dense/kernel" in message and "global_step" in message


def test_predict_with_an_uninitialised_local_variable_names_it(tmp_path):
    # Globals come from the checkpoint; the local variable is never initialised.
    est = Estimator(_uninitialising_model_fn(True), model_dir=str(tmp_path))
    est.train(train_input_fn, steps=1)
    with pytest.raises(RuntimeError) as info:
        next(est.predict(predict_input_fn))
    message = str(info.value)
    assert "rows_seen" in message and "dense/kernel" not in message
