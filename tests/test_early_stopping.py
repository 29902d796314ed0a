"""Early-stopping hooks and read_eval_metrics.

The hook-decision cases mirror tf.estimator 2.15's early_stopping_test.py
(same evaluation history, thresholds and expected outcomes).
"""

import glob
import json
import logging
import os

import numpy as np
import pytest
import tensorflow as tf

from kerasbridge import early_stopping
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.run_config import RunConfig
from kerasbridge.training import EvalSpec
from kerasbridge.training import TrainSpec
from kerasbridge.training import train_and_evaluate

# steps, loss, accuracy -- the original test's evaluation history.
HISTORY = [
    (1000, 0.8, 0.5),
    (2000, 0.7, 0.6),
    (3000, 0.4, 0.7),
    (3500, 0.41, 0.68),
]

X = np.linspace(-1.0, 1.0, 32, dtype=np.float32).reshape(-1, 1)
Y = 3.0 * X + 1.0


def _model_fn(features, labels, mode):
    weights = tf.compat.v1.get_variable(
        "w", [1, 1], initializer=tf.compat.v1.zeros_initializer()
    )
    predictions = tf.matmul(features["x"], weights)
    loss = tf.reduce_mean(tf.square(predictions - labels))
    train_op = None
    if mode == "train":
        train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=tf.compat.v1.train.get_global_step()
        )
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def _train_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).repeat().batch(8)


def _eval_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(8)


def _write_events(eval_dir, history):
    """Writes one Summary per evaluation, as Estimator.evaluate does."""
    with tf.Graph().as_default():
        writer = tf.compat.v1.summary.FileWriter(eval_dir)
        for step, loss, accuracy in history:
            summary = tf.compat.v1.Summary()
            summary.value.add(tag="loss", simple_value=loss)
            summary.value.add(tag="accuracy", simple_value=accuracy)
            writer.add_summary(summary, step)
        writer.close()


@pytest.fixture(autouse=True)
def _no_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)


@pytest.fixture(scope="module")
def estimator(tmp_path_factory):
    """An (untrained) Estimator whose default eval dir holds HISTORY."""
    est = Estimator(_model_fn, model_dir=str(tmp_path_factory.mktemp("es_history")))
    _write_events(est.eval_dir(), HISTORY)
    return est


def _session_stops(hooks):
    """Runs one step with `hooks`; returns whether the session wants to stop."""
    with tf.Graph().as_default():
        tf.compat.v1.train.create_global_step()
        no_op = tf.no_op()
        with tf.compat.v1.train.SingularMonitoredSession(hooks=hooks) as session:
            session.run(no_op)
            return session.should_stop()


# --- read_eval_metrics -------------------------------------------------------


def test_read_eval_metrics(estimator):
    metrics = early_stopping.read_eval_metrics(estimator.eval_dir())
    assert list(metrics) == [1000, 2000, 3000, 3500]
    for step, loss, accuracy in HISTORY:
        assert metrics[step] == pytest.approx({"loss": loss, "accuracy": accuracy})


def test_read_eval_metrics_missing_or_empty_dir(tmp_path):
    assert early_stopping.read_eval_metrics(str(tmp_path)) == {}
    assert early_stopping.read_eval_metrics(str(tmp_path / "absent")) == {}


def test_read_eval_metrics_sorts_steps_merges_files_and_skips_non_scalars(
    tmp_path,
):
    eval_dir = str(tmp_path)
    _write_events(eval_dir, [(30, 3.0, 0.3), (10, 1.0, 0.1)])
    with tf.Graph().as_default():
        writer = tf.compat.v1.summary.FileWriter(eval_dir, filename_suffix=".second")
        summary = tf.compat.v1.Summary()
        summary.value.add(tag="auc", simple_value=0.9)
        summary.value.add(
            tag="checkpoint_path", tensor=tf.make_tensor_proto("model.ckpt-10")
        )
        writer.add_summary(summary, 10)
        writer.close()
    metrics = early_stopping.read_eval_metrics(eval_dir)
    assert list(metrics) == [10, 30]
    assert metrics[10] == pytest.approx({"loss": 1.0, "accuracy": 0.1, "auc": 0.9})


def test_read_eval_metrics_skips_corrupt_rest_of_file(tmp_path, caplog):
    eval_dir = str(tmp_path)
    _write_events(eval_dir, [(1, 1.0, 0.1), (2, 2.0, 0.2)])
    (event_file,) = glob.glob(os.path.join(eval_dir, "events.out.tfevents.*"))
    with open(event_file, "rb") as f:
        data = f.read()
    with open(event_file, "wb") as f:
        f.write(data[:-5])  # a half-written last record
    with caplog.at_level(logging.WARNING):
        metrics = early_stopping.read_eval_metrics(eval_dir)
    assert list(metrics) == [1]
    assert (
        "Skipping rest of the file due to encountering data corruption" in caplog.text
    )


# --- argument checks ---------------------------------------------------------


def test_make_early_stopping_hook_argument_checks(estimator):
    with pytest.raises(
        TypeError,
        match="^`estimator` must have type `tf.estimator.Estimator`. Got: ",
    ):
        early_stopping.make_early_stopping_hook(object(), lambda: True)
    with pytest.raises(TypeError, match="^`estimator` must have type"):
        early_stopping.stop_if_higher_hook("est", "accuracy", 0.5, eval_dir="/tmp")
    with pytest.raises(
        ValueError,
        match="^Only one of `run_every_secs` and `run_every_steps` must be set.$",
    ):
        early_stopping.make_early_stopping_hook(
            estimator, lambda: True, run_every_secs=60, run_every_steps=100
        )
    with pytest.raises(TypeError, match="^`should_stop_fn` must be callable.$"):
        early_stopping.make_early_stopping_hook(estimator, True)


# --- hook decisions (cases of the original test) -----------------------------


@pytest.mark.parametrize("should_stop", [False, True])
def test_make_early_stopping_hook(estimator, should_stop):
    hook = early_stopping.make_early_stopping_hook(estimator, lambda: should_stop)
    assert isinstance(hook, tf.compat.v1.train.SessionRunHook)
    assert _session_stops([hook]) is should_stop


@pytest.mark.parametrize(
    "threshold, min_steps, should_stop",
    [(0.8, 0, False), (0.7, 0, False), (0.6, 4000, False), (0.6, 0, True)],
)
def test_stop_if_higher_hook(estimator, threshold, min_steps, should_stop):
    hook = early_stopping.stop_if_higher_hook(
        estimator,
        metric_name="accuracy",
        threshold=threshold,
        min_steps=min_steps,
    )
    assert _session_stops([hook]) is should_stop


@pytest.mark.parametrize(
    "threshold, min_steps, should_stop",
    [(0.3, 0, False), (0.4, 0, False), (0.5, 4000, False), (0.5, 0, True)],
)
def test_stop_if_lower_hook(estimator, threshold, min_steps, should_stop):
    hook = early_stopping.stop_if_lower_hook(
        estimator, metric_name="loss", threshold=threshold, min_steps=min_steps
    )
    assert _session_stops([hook]) is should_stop


@pytest.mark.parametrize(
    "max_steps, min_steps, should_stop",
    [(1500, 0, False), (500, 4000, False), (500, 0, True)],
)
def test_stop_if_no_increase_hook(estimator, max_steps, min_steps, should_stop):
    hook = early_stopping.stop_if_no_increase_hook(
        estimator,
        metric_name="accuracy",
        max_steps_without_increase=max_steps,
        min_steps=min_steps,
    )
    assert _session_stops([hook]) is should_stop


@pytest.mark.parametrize(
    "max_steps, min_steps, should_stop",
    [(1500, 0, False), (500, 4000, False), (500, 0, True)],
)
def test_stop_if_no_decrease_hook(estimator, max_steps, min_steps, should_stop):
    hook = early_stopping.stop_if_no_decrease_hook(
        estimator,
        metric_name="loss",
        max_steps_without_decrease=max_steps,
        min_steps=min_steps,
    )
    assert _session_stops([hook]) is should_stop


@pytest.mark.parametrize(
    "max_steps, loss_threshold, should_stop",
    [(1500, 0.3, False), (1500, 0.5, True), (500, 0.3, True)],
)
def test_multiple_hooks(estimator, max_steps, loss_threshold, should_stop):
    hooks = [
        early_stopping.stop_if_no_decrease_hook(
            estimator, metric_name="loss", max_steps_without_decrease=max_steps
        ),
        early_stopping.stop_if_lower_hook(
            estimator, metric_name="loss", threshold=loss_threshold
        ),
    ]
    assert _session_stops(hooks) is should_stop


def test_explicit_eval_dir_and_unknown_metric(estimator, tmp_path):
    _write_events(str(tmp_path), [(5, 0.1, 0.99)])
    hook = early_stopping.stop_if_higher_hook(
        estimator, "accuracy", 0.9, eval_dir=str(tmp_path)
    )
    assert _session_stops([hook]) is True
    hook = early_stopping.stop_if_higher_hook(
        estimator, "auc", 0.9, eval_dir=str(tmp_path)
    )
    with pytest.raises(
        KeyError, match='Metric "auc" not found in the evaluation at step 5'
    ):
        _session_stops([hook])


def test_predicate_runs_on_the_step_timer(estimator):
    calls = []
    hook = early_stopping.make_early_stopping_hook(
        estimator,
        lambda: calls.append(1) or False,
        run_every_secs=None,
        run_every_steps=3,
    )
    with tf.Graph().as_default():
        step = tf.compat.v1.train.create_global_step()
        increment = tf.compat.v1.assign_add(step, 1)
        no_op = tf.no_op()
        with tf.compat.v1.train.SingularMonitoredSession(hooks=[hook]) as session:
            for _ in range(7):
                session.run(no_op)  # the hook sees global steps 0..6
                session.raw_session().run(increment)
    # Every 3 global steps, starting with the first: at steps 0, 3 and 6.
    assert len(calls) == 3


def test_stop_sets_stop_variable():
    hook = early_stopping._StopOnPredicateHook(lambda: True, run_every_secs=0)
    with tf.Graph().as_default():
        tf.compat.v1.train.create_global_step()
        no_op = tf.no_op()
        with tf.compat.v1.train.SingularMonitoredSession(hooks=[hook]) as session:
            session.run(no_op)
            assert session.should_stop()
            assert hook._stop_var.name == "signal_early_stopping/STOP:0"
            assert session.raw_session().run(hook._stop_var)


def test_non_chief_waits_for_stop_variable(monkeypatch, tmp_path):
    cluster = {"chief": ["h0:1"], "worker": ["h1:1"]}
    monkeypatch.setenv(
        "TF_CONFIG",
        json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}),
    )
    worker = Estimator(_model_fn, model_dir=str(tmp_path))
    hook = early_stopping.make_early_stopping_hook(worker, lambda: True)
    with tf.Graph().as_default():
        no_op = tf.no_op()
        # Stands in for the chief setting the shared variable.
        chief_sets_stop = tf.compat.v1.assign(
            early_stopping._get_or_create_stop_var(), True
        )
        with tf.compat.v1.train.SingularMonitoredSession(hooks=[hook]) as session:
            session.run(no_op)
            assert not session.should_stop()  # should_stop_fn is the chief's job
            session.raw_session().run(chief_sets_stop)
            session.run(no_op)
            assert session.should_stop()


# --- end to end with train_and_evaluate --------------------------------------


def test_stops_train_and_evaluate_from_real_evaluations(tmp_path):
    """Also: the hook can join a run that already has checkpoints."""
    max_steps, ckpt_steps = 40, 5
    est = Estimator(
        _model_fn,
        model_dir=str(tmp_path),
        config=RunConfig(save_checkpoints_steps=ckpt_steps),
    )
    # A checkpoint written without the hook: adding the hook must still
    # restore (its STOP variable is not checkpointed).
    est.train(_train_input_fn, max_steps=2)
    # Any finite loss is below the threshold: stop as soon as the first
    # evaluation (after the step-5 checkpoint) is on disk.
    hook = early_stopping.stop_if_lower_hook(
        est, "loss", threshold=1e9, run_every_secs=None, run_every_steps=1
    )
    metrics, _ = train_and_evaluate(
        est,
        TrainSpec(_train_input_fn, max_steps=max_steps, hooks=[hook]),
        EvalSpec(_eval_input_fn, steps=None, throttle_secs=0),
    )
    final_step = metrics["global_step"]
    evaluated = list(early_stopping.read_eval_metrics(est.eval_dir()))
    # The first evaluation follows the first new checkpoint (step 2 + 5);
    # depending on hook order the stop lands on that step or the next one,
    # which then gets the final evaluation.
    assert evaluated[0] == 2 + ckpt_steps
    assert final_step in (evaluated[0], evaluated[0] + 1)
    assert evaluated == sorted({evaluated[0], final_step})
    assert est.latest_checkpoint().endswith(f"model.ckpt-{final_step}")
