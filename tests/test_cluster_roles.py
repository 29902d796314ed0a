"""Cluster plumbing that needs no servers: placement, roles, the evaluator loop."""

import json

import pytest
import tensorflow as tf

from kerasbridge._runtime import _cluster
from kerasbridge._runtime import _cluster_roles
from kerasbridge.run_config import RunConfig
from kerasbridge.training import EvalSpec

CLUSTER = {
    "chief": ["h0:1"],
    "worker": ["h1:1", "h2:1"],
    "ps": ["h3:1", "h4:1"],
}


def _config(monkeypatch, task_type, index=0, cluster=CLUSTER, **kwargs):
    monkeypatch.setenv(
        "TF_CONFIG",
        json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}}),
    )
    return RunConfig(**kwargs)


def test_variables_go_round_robin_to_the_ps_tasks_and_ops_to_this_task(monkeypatch):
    config = _config(monkeypatch, "worker", 1)
    with tf.Graph().as_default() as graph:
        with graph.device(_cluster.training_device_fn(config)):
            step = tf.compat.v1.train.get_or_create_global_step()
            a = tf.compat.v1.get_variable("a", [2])
            b = tf.compat.v1.get_variable("b", [2])
            total = a + b
    devices = [v.device for v in (step, a, b)]
    assert devices == ["/job:ps/task:0", "/job:ps/task:1", "/job:ps/task:0"]
    assert total.device == "/job:worker/task:1"


def test_device_fn_replaces_the_ps_placement(monkeypatch):
    def device_fn(op):
        return "/job:chief/task:0/device:CPU:0"

    config = _config(monkeypatch, "chief", device_fn=device_fn)
    assert _cluster.training_device_fn(config) is device_fn


def test_no_ps_means_no_placement(monkeypatch):
    config = _config(monkeypatch, "chief", cluster={"chief": ["h0:1"], "worker": ["h1:1"]})
    assert _cluster.training_device_fn(config) is None
    monkeypatch.delenv("TF_CONFIG")
    assert _cluster.training_device_fn(RunConfig()) is None


def test_functions_see_the_cluster_devices_only_when_the_graph_calls_them(monkeypatch):
    session_config = _config(monkeypatch, "worker", 1).session_config
    assert list(session_config.device_filters) == ["/job:ps", "/job:worker/task:1"]
    master = "grpc://h2:1"
    with tf.Graph().as_default() as plain:
        tf.constant(1.0) + 1.0
    assert _cluster.session_config_for_graph(session_config, master, plain) is session_config

    with tf.Graph().as_default() as calling:
        tf.function(lambda x: x + 1.0)(tf.constant(1.0))
    shared = _cluster.session_config_for_graph(session_config, master, calling)
    assert shared.experimental.share_cluster_devices_in_session
    assert list(shared.device_filters) == list(session_config.device_filters)
    assert not session_config.experimental.share_cluster_devices_in_session
    # Locally nothing changes.
    assert _cluster.session_config_for_graph(session_config, "", calling) is session_config


@pytest.mark.parametrize(
    "task_type, index, max_delay, expected",
    [("chief", 0, None, 0), ("worker", 0, None, 5), ("worker", 1, None, 10),
     ("worker", 1, 7, 7), ("worker", 1, 0, 0)],
)
def test_worker_start_delay(monkeypatch, task_type, index, max_delay, expected):
    config = _config(
        monkeypatch, task_type, index, experimental_max_worker_delay_secs=max_delay
    )
    assert _cluster_roles.worker_start_delay(config) == expected


def test_evaluator_without_master_address_cannot_start_a_server(monkeypatch):
    config = _config(monkeypatch, "evaluator")
    with pytest.raises(RuntimeError, match="Could not start server"):
        _cluster.start_server(config)


# --- the evaluator loop ------------------------------------------------------


class _Result:
    def __init__(self, metrics):
        self.metrics = metrics


class _FakeEvaluator:
    """Checkpoints appear at the given steps, one per evaluate call."""

    def __init__(self, steps):
        self._steps = list(steps)
        self.evaluated = []

    def evaluate_and_export(self):
        step = self._steps.pop(0)
        if step is None:  # no new checkpoint this time
            return _Result(None), []
        self.evaluated.append(step)
        return _Result({"global_step": step, "loss": 0.5}), []


def _eval_spec(**kwargs):
    return EvalSpec(lambda: None, **kwargs)


def test_evaluator_waits_start_delay_then_evaluates_until_max_steps():
    sleeps = []
    evaluator = _FakeEvaluator([None, 10, None, 20, 30, 40])
    metrics = _cluster_roles.run_evaluator(
        evaluator, _eval_spec(start_delay_secs=7, throttle_secs=3), 30, sleeps.append
    )
    assert evaluator.evaluated == [10, 20, 30]  # stops at max_steps
    assert metrics == {"global_step": 30, "loss": 0.5}
    assert sleeps[0] == 7 and len(sleeps) == 5
    assert all(2.5 < s <= 3 for s in sleeps[1:])  # throttle minus time spent


def test_evaluator_with_zero_throttle_polls_once_a_second_when_idle():
    sleeps = []
    evaluator = _FakeEvaluator([None, None, 5])
    _cluster_roles.run_evaluator(
        evaluator, _eval_spec(start_delay_secs=0, throttle_secs=0), 5, sleeps.append
    )
    assert sleeps == [1, 1]


def test_train_distribute_error_says_what_to_use_instead():
    with pytest.raises(ValueError) as error:
        RunConfig(train_distribute=tf.distribute.MirroredStrategy(["/cpu:0"]))
    message = str(error.value)
    assert message.startswith("`train_distribute` is not supported by kerasbridge")
    assert "TF_CONFIG cluster with ps tasks" in message
    assert "python -m kerasbridge.cluster" in message
    assert "model.fit" in message


# --- one-node clusters run in-process: the legacy master role -----------------


def _linear_model_fn(features, labels, mode):
    from kerasbridge.estimator_spec import EstimatorSpec

    w = tf.compat.v1.get_variable("w", [1, 1], initializer=tf.compat.v1.zeros_initializer())
    predictions = tf.matmul(features["x"], w)
    loss = tf.reduce_mean(tf.square(predictions - labels))
    train_op = None
    if mode == "train":
        train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=tf.compat.v1.train.get_global_step()
        )
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def _xy():
    x = tf.constant([[1.0], [2.0]])
    return tf.data.Dataset.from_tensors(({"x": x}, 2.0 * x)).repeat()


class _CountingListener(tf.compat.v1.train.CheckpointSaverListener):
    def __init__(self):
        self.saved = []

    def after_save(self, session, global_step_value):
        self.saved.append(global_step_value)


def test_master_trains_and_evaluates_after_its_checkpoints(monkeypatch, tmp_path):
    from kerasbridge.estimator import Estimator
    from kerasbridge.training import TrainSpec, train_and_evaluate

    config = _config(
        monkeypatch, "master", cluster={"master": ["127.0.0.1:1"]},
        save_checkpoints_steps=5,
    )
    assert config.master == ""  # a one-node cluster needs no server
    estimator = Estimator(_linear_model_fn, model_dir=str(tmp_path), config=config)
    listener = _CountingListener()
    result = train_and_evaluate(
        estimator,
        TrainSpec(_xy, max_steps=10, saving_listeners=[listener]),
        _eval_spec_for(_xy, steps=1, throttle_secs=0),
    )
    assert result is None  # distributed train_and_evaluate returns nothing
    assert listener.saved == [0, 5, 10]  # the train spec's listeners run too
    evaluated = tf.compat.v1.train.summary_iterator
    steps = sorted({
        event.step
        for path in (tmp_path / "eval").iterdir()
        for event in evaluated(str(path))
        if event.HasField("summary")
    })
    assert steps == [5, 10]


def _eval_spec_for(input_fn, **kwargs):
    return EvalSpec(lambda: input_fn().take(1), start_delay_secs=0, **kwargs)
