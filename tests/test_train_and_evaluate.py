"""TrainSpec / EvalSpec validation and local train_and_evaluate behaviour."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kerasbridge.early_stopping import read_eval_metrics
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.exporter import Exporter
from kerasbridge.run_config import RunConfig
from kerasbridge.training import EvalSpec
from kerasbridge.training import TrainSpec
from kerasbridge.training import train_and_evaluate

X = np.linspace(-1.0, 1.0, 32, dtype=np.float32).reshape(-1, 1)
Y = 3.0 * X + 1.0
MAX_STEPS = 20
CKPT_STEPS = 5


def train_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).repeat().batch(8)


def eval_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(8)


def model_fn(features, labels, mode):
    weights = tf.compat.v1.get_variable(
        "w", [1, 1], initializer=tf.compat.v1.zeros_initializer()
    )
    bias = tf.compat.v1.get_variable(
        "b", [1], initializer=tf.compat.v1.zeros_initializer()
    )
    predictions = tf.matmul(features["x"], weights) + bias
    loss = train_op = None
    if labels is not None:
        loss = tf.reduce_mean(tf.square(predictions - labels))
    if mode == "train":
        train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=tf.compat.v1.train.get_global_step()
        )
    return EstimatorSpec(
        mode, predictions={"y": predictions}, loss=loss, train_op=train_op
    )


class RecordingExporter(Exporter):
    def __init__(self, name):
        self._name = name
        self.calls = []

    @property
    def name(self):
        return self._name

    def export(
        self,
        estimator,
        export_path,
        checkpoint_path,
        eval_result,
        is_the_final_export,
    ):
        self.calls.append(
            dict(
                estimator=estimator,
                export_path=export_path,
                checkpoint_path=checkpoint_path,
                eval_result=eval_result,
                is_the_final_export=is_the_final_export,
            )
        )
        return f"{self._name}-{eval_result['global_step']}"


class RecordingListener(tf.compat.v1.train.CheckpointSaverListener):
    def __init__(self):
        self.saved_steps = []

    def after_save(self, session, global_step_value):
        self.saved_steps.append(global_step_value)


class CountingHook(tf.compat.v1.train.SessionRunHook):
    def __init__(self):
        self.steps = 0

    def after_run(self, run_context, run_values):
        self.steps += 1


def _estimator(model_dir, **config_kwargs):
    config_kwargs.setdefault("save_checkpoints_steps", CKPT_STEPS)
    return Estimator(
        model_fn, model_dir=str(model_dir), config=RunConfig(**config_kwargs)
    )


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """One train_and_evaluate run evaluating after every checkpoint."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TF_CONFIG", raising=False)
        estimator = _estimator(tmp_path_factory.mktemp("tae_every_ckpt"))
        exporter = RecordingExporter("rec")
        listener = RecordingListener()
        hook = CountingHook()
        result = train_and_evaluate(
            estimator,
            TrainSpec(
                train_input_fn,
                max_steps=MAX_STEPS,
                hooks=[hook],
                saving_listeners=[listener],
            ),
            EvalSpec(
                eval_input_fn,
                steps=None,
                name="holdout",
                exporters=exporter,
                throttle_secs=0,
            ),
        )
    return dict(
        estimator=estimator,
        exporter=exporter,
        listener=listener,
        hook=hook,
        result=result,
    )


@pytest.fixture(scope="module")
def throttled_run(tmp_path_factory):
    """A run whose throttle_secs exceeds the run time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TF_CONFIG", raising=False)
        estimator = _estimator(tmp_path_factory.mktemp("tae_throttled"))
        exporter = RecordingExporter("rec")
        result = train_and_evaluate(
            estimator,
            TrainSpec(train_input_fn, max_steps=MAX_STEPS),
            EvalSpec(
                eval_input_fn,
                steps=2,
                exporters=[exporter],
                throttle_secs=10_000,
            ),
        )
    return dict(estimator=estimator, exporter=exporter, result=result)


@pytest.fixture(autouse=True)
def _no_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)


# --- TrainSpec / EvalSpec ----------------------------------------------------


def test_train_spec_defaults_and_validation():
    spec = TrainSpec(train_input_fn)
    assert spec == (train_input_fn, None, (), ())
    with pytest.raises(TypeError, match="^`input_fn` must be callable, given: 3$"):
        TrainSpec(3)
    with pytest.raises(ValueError, match="^Must specify max_steps > 0, given: 0$"):
        TrainSpec(train_input_fn, max_steps=0)
    with pytest.raises(
        TypeError,
        match="^All hooks must be `SessionRunHook` instances, given: x$",
    ):
        TrainSpec(train_input_fn, hooks=["x"])
    with pytest.raises(
        TypeError,
        match="^All saving_listeners must be `CheckpointSaverListener` instances, given: x$",
    ):
        TrainSpec(train_input_fn, saving_listeners=["x"])
    hook, listener = CountingHook(), RecordingListener()
    spec = TrainSpec(train_input_fn, hooks=[hook], saving_listeners=[listener])
    assert spec.hooks == (hook,) and spec.saving_listeners == (listener,)


def test_eval_spec_defaults_and_validation():
    spec = EvalSpec(eval_input_fn)
    assert spec == (eval_input_fn, 100, None, (), (), 120, 600)
    with pytest.raises(TypeError, match="^`input_fn` must be callable"):
        EvalSpec(None)
    with pytest.raises(ValueError, match="^Must specify steps > 0, given: -1$"):
        EvalSpec(eval_input_fn, steps=-1)
    assert EvalSpec(eval_input_fn, steps=None).steps is None
    with pytest.raises(TypeError, match="^`name` must be string, given: 1$"):
        EvalSpec(eval_input_fn, name=1)
    with pytest.raises(
        TypeError, match="^All hooks must be `SessionRunHook` instances"
    ):
        EvalSpec(eval_input_fn, hooks=[1])
    with pytest.raises(
        ValueError, match="^Must specify start_delay_secs >= 0, given: -1$"
    ):
        EvalSpec(eval_input_fn, start_delay_secs=-1)
    with pytest.raises(
        ValueError, match="^Must specify throttle_secs >= 0, given: -1$"
    ):
        EvalSpec(eval_input_fn, throttle_secs=-1)


def test_eval_spec_exporters():
    a, b = RecordingExporter("a"), RecordingExporter("b")
    assert EvalSpec(eval_input_fn, exporters=a).exporters == (a,)
    assert EvalSpec(eval_input_fn, exporters=[a, b]).exporters == (a, b)
    for bad in ([a, "b"], 5):
        with pytest.raises(
            TypeError,
            match="must be an Exporter, an iterable of Exporter, or `None`",
        ):
            EvalSpec(eval_input_fn, exporters=bad)
    with pytest.raises(
        ValueError,
        match=r"cannot have a name that is `None` or empty. All exporter names: \['a', ''\]",
    ):
        EvalSpec(eval_input_fn, exporters=[a, RecordingExporter("")])
    with pytest.raises(
        ValueError,
        match="^An Exporter must have a string name. Given: <class 'int'>$",
    ):
        EvalSpec(eval_input_fn, exporters=[RecordingExporter(7)])
    with pytest.raises(ValueError, match=r"must have unique names.*\['a', 'a'\]"):
        EvalSpec(eval_input_fn, exporters=[a, RecordingExporter("a")])


def test_exporter_is_abstract():
    with pytest.raises(TypeError):
        Exporter()


# --- argument checks ---------------------------------------------------------


def test_train_and_evaluate_type_checks(tmp_path):
    estimator = _estimator(tmp_path)
    train_spec, eval_spec = TrainSpec(train_input_fn), EvalSpec(eval_input_fn)
    # eval_spec is checked first, whatever else is wrong.
    with pytest.raises(
        TypeError,
        match="^`eval_spec` must have type `tf.estimator.EvalSpec`. Got: ",
    ):
        train_and_evaluate(None, None, "eval")
    with pytest.raises(
        TypeError,
        match="^`estimator` must have type `tf.estimator.Estimator`. Got: ",
    ):
        train_and_evaluate(object(), train_spec, eval_spec)
    with pytest.raises(
        TypeError,
        match="^`train_spec` must have type `tf.estimator.TrainSpec`. Got: ",
    ):
        train_and_evaluate(estimator, "train", eval_spec)
    assert not os.listdir(tmp_path)  # nothing ran


def test_second_evaluator_is_rejected(monkeypatch, tmp_path):
    cluster = {"chief": ["h0:1"]}
    monkeypatch.setenv(
        "TF_CONFIG",
        json.dumps({"cluster": cluster, "task": {"type": "evaluator", "index": 1}}),
    )
    estimator = _estimator(tmp_path)
    with pytest.raises(ValueError) as error:
        train_and_evaluate(
            estimator, TrainSpec(train_input_fn), EvalSpec(eval_input_fn)
        )
    assert str(error.value) == (
        "For distributed training, there can only be one `evaluator` task "
        "(with task id 0).  Given task id 1"
    )


# --- local run ---------------------------------------------------------------


def test_trains_to_max_steps_and_returns_last_eval(local_run):
    metrics, export_results = local_run["result"]
    estimator = local_run["estimator"]
    assert metrics["global_step"] == MAX_STEPS
    assert estimator.latest_checkpoint().endswith(f"model.ckpt-{MAX_STEPS}")
    assert local_run["hook"].steps == MAX_STEPS  # train hooks ran every step
    assert export_results == [f"rec-{MAX_STEPS}"]


def test_evaluates_after_every_checkpoint_but_the_first(local_run):
    estimator = local_run["estimator"]
    saved = local_run["listener"].saved_steps
    assert saved[0] == 0 and saved[-1] == MAX_STEPS
    evaluated = read_eval_metrics(estimator.eval_dir("holdout"))
    assert list(evaluated) == [s for s in sorted(set(saved)) if s > 0]
    assert list(evaluated) == [5, 10, 15, 20]
    # Evaluation ran on the trained model: loss decreases as training goes on.
    losses = [m["loss"] for m in evaluated.values()]
    assert losses == sorted(losses, reverse=True)
    assert local_run["result"][0]["loss"] == pytest.approx(losses[-1])


def test_exporters_get_each_evaluation(local_run):
    estimator = local_run["estimator"]
    calls = local_run["exporter"].calls
    assert [c["eval_result"]["global_step"] for c in calls] == [5, 10, 15, 20]
    assert [c["is_the_final_export"] for c in calls] == [
        False,
        False,
        False,
        True,
    ]
    for call in calls:
        step = call["eval_result"]["global_step"]
        assert call["estimator"] is estimator
        assert call["export_path"] == os.path.join(estimator.model_dir, "export", "rec")
        assert call["checkpoint_path"] == os.path.join(
            estimator.model_dir, f"model.ckpt-{step}"
        )


def test_throttle_secs_skips_intermediate_evaluations(throttled_run):
    # As in the original, the throttle timer starts at the first evaluation
    # (the first checkpoint after step 0); later checkpoints inside
    # throttle_secs are skipped and the final one is always evaluated.
    estimator = throttled_run["estimator"]
    metrics, export_results = throttled_run["result"]
    assert list(read_eval_metrics(estimator.eval_dir())) == [
        CKPT_STEPS,
        MAX_STEPS,
    ]
    assert metrics["global_step"] == MAX_STEPS
    calls = throttled_run["exporter"].calls
    assert [c["is_the_final_export"] for c in calls] == [False, True]
    assert export_results == [f"rec-{MAX_STEPS}"]


def test_already_trained_model_returns_no_evaluation(throttled_run):
    estimator = throttled_run["estimator"]
    exporter = RecordingExporter("again")
    result = train_and_evaluate(
        estimator,
        TrainSpec(train_input_fn, max_steps=MAX_STEPS),
        EvalSpec(eval_input_fn, steps=1, exporters=exporter, throttle_secs=0),
    )
    assert result == (None, None)
    assert exporter.calls == []


@pytest.mark.parametrize(
    "fake_latest, status",
    [("same", "no new checkpoint"), ("none", "missing checkpoint")],
)
def test_missing_new_checkpoint_raises(tmp_path, fake_latest, status):
    estimator = _estimator(tmp_path)
    real_latest = estimator.latest_checkpoint
    first = []

    def latest_checkpoint():
        if fake_latest == "none":
            return None
        # Always report the first checkpoint seen after training started.
        if not first:
            first.append(real_latest())
        return first[0]

    estimator.latest_checkpoint = latest_checkpoint
    with pytest.raises(RuntimeError) as error:
        train_and_evaluate(
            estimator,
            TrainSpec(train_input_fn, max_steps=2 * CKPT_STEPS),
            EvalSpec(eval_input_fn, steps=1, throttle_secs=0),
        )
    assert str(error.value) == (
        f"There was no new checkpoint after the training. Eval status: {status}"
    )
