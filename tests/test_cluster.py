"""TF_CONFIG clusters: real loopback clusters of separate processes.

Each cluster run is a module-scoped fixture shared by several tests; every
wait is bounded and every process is stopped in the fixture's teardown.
"""

import json
import os
import runpy
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format

from kerasbridge import cluster as cluster_cli
from kerasbridge.cluster import LocalCluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tests", "_cluster_train.py")
START_TIMEOUT = 120  # secs for a task to finish; TF imports on a busy machine


def _cluster(tmp, ps=1, workers=1, evaluator=False, **env):
    model_dir, record_dir = tmp / "model", tmp / "records"
    record_dir.mkdir(parents=True, exist_ok=True)
    task_env = {
        "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KB_MODEL_DIR": str(model_dir),
        "KB_RECORD_DIR": str(record_dir),
    }
    task_env.update({k: str(v) for k, v in env.items()})
    cluster = LocalCluster(
        [sys.executable, SCRIPT], ps=ps, workers=workers, evaluator=evaluator,
        log_dir=tmp / "logs", env=task_env, echo=False,
    )
    return cluster, model_dir, record_dir


def _wait_ok(cluster, task_type, index=0, timeout=START_TIMEOUT):
    try:
        code = cluster.wait(task_type, index, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{task_type}:{index} still running\n" + _tail(cluster, task_type, index))
    assert code == 0, f"{task_type}:{index} exited {code}\n" + _tail(cluster, task_type, index)


def _tail(cluster, task_type, index=0, lines=40):
    with open(cluster.log_path(task_type, index), errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def _records(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _read_from_ps(address, variables):
    """Reads resource variables straight from a ps server's memory."""
    with tf.Graph().as_default():
        reads = {}
        with tf.device("/job:ps/task:0"):
            for name, (dtype, shape) in variables.items():
                handle = tf.raw_ops.VarHandleOp(
                    dtype=dtype, shape=shape, shared_name=name
                )
                reads[name] = tf.raw_ops.ReadVariableOp(resource=handle, dtype=dtype)
        # Only the ps: the trainers in its cluster spec have exited.
        config = tf.compat.v1.ConfigProto(
            device_filters=["/job:ps"], operation_timeout_in_ms=30_000
        )
        with tf.compat.v1.Session("grpc://" + address, config=config) as session:
            return session.run(reads)


# --- chief + worker + ps + evaluator, trained to max_steps ----------------------

MAX_STEPS = 200


@pytest.fixture(scope="module")
def trained_cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    cluster, model_dir, record_dir = _cluster(
        tmp, evaluator=True, KB_MAX_STEPS=MAX_STEPS, KB_SAVE_STEPS=40,
        KB_STEP_SLEEP=0.005,
    )
    with cluster:
        # Any start order works: the evaluator and worker first, the ps last.
        for task_type, index in reversed(cluster.tasks):
            cluster.start(task_type, index)
        _wait_ok(cluster, "chief")
        _wait_ok(cluster, "worker")
        # Both trainers are gone: what is left lives on the ps.
        on_ps = _read_from_ps(cluster.cluster["ps"][0], {
            "global_step": (tf.int64, []),
            "dense/kernel": (tf.float32, [1, 1]),
            "dense/bias": (tf.float32, [1]),
        })
        assert cluster.poll("ps") is None, "the ps must serve until stopped"
        cluster.stop("ps")
        _wait_ok(cluster, "evaluator")
    yield {
        "cluster": cluster,
        "model_dir": str(model_dir),
        "on_ps": on_ps,
        "chief": _records(record_dir / "chief-0.steps"),
        "worker": _records(record_dir / "worker-0.steps"),
        "evaluations": _records(record_dir / "evaluations"),
    }


def test_variables_live_on_the_ps(trained_cluster):
    graph_def = text_format.Parse(
        open(os.path.join(trained_cluster["model_dir"], "graph.pbtxt")).read(),
        tf.compat.v1.GraphDef(),
    )
    variables = {n.name: n.device for n in graph_def.node if n.op == "VarHandleOp"}
    assert {"global_step", "dense/kernel", "dense/bias"} <= set(variables)
    assert all(device == "/job:ps/task:0" for device in variables.values()), variables
    matmuls = [n.device for n in graph_def.node if n.op == "MatMul"]
    assert matmuls and all(d.startswith("/job:chief/task:0") for d in matmuls)
    # The ps still held the trained model after both trainers exited, and
    # it is the model of the last checkpoint (or a step or two past it).
    on_ps = trained_cluster["on_ps"]
    final = tf.train.load_checkpoint(tf.train.latest_checkpoint(trained_cluster["model_dir"]))
    assert on_ps["global_step"] >= final.get_tensor("global_step") >= MAX_STEPS
    np.testing.assert_allclose(on_ps["dense/kernel"], final.get_tensor("dense/kernel"), atol=1e-3)
    np.testing.assert_allclose(on_ps["dense/kernel"], [[3.0]], atol=0.05)


def test_chief_and_worker_advance_one_global_step(trained_cluster):
    chief = [r["step"] for r in trained_cluster["chief"]]
    worker = [r["step"] for r in trained_cluster["worker"]]
    assert chief and worker, "both trainers must have run steps"
    # Each ran fewer steps than the global step advanced: the other's
    # updates moved the same counter.
    assert len(chief) < MAX_STEPS and len(worker) < MAX_STEPS
    assert len(chief) + len(worker) >= MAX_STEPS - 2
    assert max(chief + worker) >= MAX_STEPS - 2
    for steps in (chief, worker):
        assert steps == sorted(steps)
        assert max(np.diff(steps)) > 1  # it saw steps the other one made


def test_evaluator_follows_checkpoints_in_order_and_stops_after_the_final(trained_cluster):
    evaluations = trained_cluster["evaluations"]
    assert len(evaluations) >= 2
    steps = [e["global_step"] for e in evaluations]
    assert steps == sorted(set(steps)), "in order, each checkpoint once"
    checkpoints = [e["checkpoint"] for e in evaluations]
    assert len(set(checkpoints)) == len(checkpoints)
    final = tf.train.latest_checkpoint(trained_cluster["model_dir"])
    assert checkpoints[-1] == final
    assert evaluations[-1]["final"] and not any(e["final"] for e in evaluations[:-1])
    assert steps[-1] >= MAX_STEPS


def test_latest_export_serves_the_evaluated_weights(trained_cluster):
    last = trained_cluster["evaluations"][-1]
    exports = sorted(os.listdir(os.path.join(trained_cluster["model_dir"], "export", "latest")))
    assert last["export"].endswith(exports[-1])
    x = np.array([[-1.0], [0.5], [2.0]], np.float32)
    served = tf.saved_model.load(last["export"]).signatures["serving_default"](
        x=tf.constant(x)
    )["y"].numpy()
    kernel, bias = last["weights"]
    np.testing.assert_allclose(served, x * kernel[0] + bias[0], rtol=1e-6)


def test_task_logs_are_kept(trained_cluster):
    cluster = trained_cluster["cluster"]
    for task_type in ("chief", "worker", "evaluator"):
        assert f"{task_type}-0 done" in _tail(cluster, task_type, lines=5)
    assert "Start Tensorflow server for ps:0" in open(cluster.log_path("ps")).read()


# --- kill -9 and restart (model_to_estimator model) --------------------------

RECOVERY_STEPS = 400
PAUSE_AT = 300  # training waits here until the kills and restarts are done


def _wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _checkpoint_step(model_dir):
    path = tf.train.latest_checkpoint(str(model_dir))
    return int(path.rsplit("-", 1)[1]) if path else -1


@pytest.fixture(scope="module")
def recovered_cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("recovery")
    hold = tmp / "hold"
    hold.write_text("")
    cluster, model_dir, record_dir = _cluster(
        tmp, KB_MODEL="keras", KB_MAX_STEPS=RECOVERY_STEPS, KB_SAVE_STEPS=10,
        KB_STEP_SLEEP=0.03, KB_PAUSE_AT=PAUSE_AT, KB_HOLD_FILE=hold,
    )
    chief_file, worker_file = record_dir / "chief-0.steps", record_dir / "worker-0.steps"

    def steps_of_new_pid(path, old_pid):
        return [r for r in _records(path) if r["pid"] != old_pid]

    events = {}
    with cluster:
        cluster.start_all()
        _wait_until(lambda: _checkpoint_step(model_dir) >= 20, START_TIMEOUT, "a checkpoint")
        cluster.kill("chief")
        events["chief_killed"] = time.time()
        events["checkpoint_at_chief_kill"] = _checkpoint_step(model_dir)
        assert cluster.wait("chief", timeout=10) == -signal.SIGKILL
        first_chief_pid = _records(chief_file)[0]["pid"]
        cluster.start("chief")
        events["chief_restarted"] = time.time()
        _wait_until(
            lambda: steps_of_new_pid(chief_file, first_chief_pid),
            START_TIMEOUT, "the restarted chief's first step",
        )
        first_worker_pid = _records(worker_file)[0]["pid"]
        cluster.kill("worker")
        events["worker_killed"] = time.time()
        assert cluster.wait("worker", timeout=10) == -signal.SIGKILL
        cluster.start("worker")
        _wait_until(
            lambda: steps_of_new_pid(worker_file, first_worker_pid),
            START_TIMEOUT, "the restarted worker's first step",
        )
        hold.unlink()
        _wait_ok(cluster, "chief")
        _wait_ok(cluster, "worker")
        cluster.stop("ps")
    yield {
        "model_dir": str(model_dir),
        "chief": _records(chief_file),
        "worker": _records(worker_file),
        "first_chief_pid": first_chief_pid,
        "first_worker_pid": first_worker_pid,
        "chief_log": open(cluster.log_path("chief")).read(),
        **events,
    }


def test_a_killed_chief_does_not_stop_the_worker(recovered_cluster):
    r = recovered_cluster
    rejoined = min(rec["t"] for rec in r["chief"] if rec["pid"] != r["first_chief_pid"])
    during = [
        rec for rec in r["worker"] if r["chief_killed"] + 0.5 < rec["t"] < rejoined
    ]
    assert len(during) >= 5, "the worker kept training while the chief was dead"


def test_restarted_chief_continues_without_moving_the_step_back(recovered_cluster):
    r = recovered_cluster
    restarted = [rec for rec in r["chief"] if rec["pid"] != r["first_chief_pid"]]
    assert "joins it without restoring a checkpoint" in r["chief_log"]
    before = [rec["step"] for rec in r["worker"] if rec["t"] < restarted[0]["t"] - 1.0]
    assert restarted[0]["step"] >= max(before) >= r["checkpoint_at_chief_kill"]
    for pid in {rec["pid"] for rec in r["chief"] + r["worker"]}:
        steps = [rec["step"] for rec in r["chief"] + r["worker"] if rec["pid"] == pid]
        assert steps == sorted(steps)


def test_a_restarted_worker_rejoins(recovered_cluster):
    r = recovered_cluster
    rejoined = [rec for rec in r["worker"] if rec["pid"] != r["first_worker_pid"]]
    assert rejoined and rejoined[0]["t"] > r["worker_killed"]


def test_a_killed_worker_does_not_stop_the_chief(recovered_cluster):
    # The fixture saw the chief exit 0; here: it kept taking steps.
    r = recovered_cluster
    after = [rec for rec in r["chief"] if rec["t"] > r["worker_killed"]]
    assert len(after) >= 5


def test_every_referenced_checkpoint_is_complete_and_steps_increase(recovered_cluster):
    model_dir = recovered_cluster["model_dir"]
    state = tf.train.get_checkpoint_state(model_dir)
    paths = list(state.all_model_checkpoint_paths)
    assert paths[-1] == state.model_checkpoint_path
    steps = []
    for path in paths:
        full = path if os.path.isabs(path) else os.path.join(model_dir, path)
        reader = tf.train.load_checkpoint(full)
        for name in reader.get_variable_to_shape_map():
            assert np.all(np.isfinite(reader.get_tensor(name)))
        steps.append(int(reader.get_tensor("global_step")))
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    assert steps[-1] >= RECOVERY_STEPS


# --- synchronous updates: SyncReplicasOptimizer and its hook ---------------

SYNC_STEPS = 60


@pytest.fixture(scope="module")
def sync_cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sync")
    cluster, model_dir, record_dir = _cluster(
        tmp, KB_SYNC=1, KB_MAX_STEPS=SYNC_STEPS, KB_SAVE_STEPS=20
    )
    with cluster:
        cluster.start_all()
        _wait_ok(cluster, "chief")
        _wait_ok(cluster, "worker")
    return {
        "model_dir": str(model_dir),
        "chief": _records(record_dir / "chief-0.steps"),
        "worker": _records(record_dir / "worker-0.steps"),
    }


def test_sync_replicas_aggregates_one_gradient_from_each_trainer(sync_cluster):
    final = tf.train.load_checkpoint(tf.train.latest_checkpoint(sync_cluster["model_dir"]))
    assert final.get_tensor("global_step") == SYNC_STEPS
    np.testing.assert_allclose(final.get_tensor("dense/kernel"), [[3.0]], atol=0.5)
    # Every global step aggregated 2 gradients (from whichever trainers
    # were running), so the trainers ran about twice as many steps as the
    # global step advanced; asynchronous training runs one per global step.
    chief, worker = len(sync_cluster["chief"]), len(sync_cluster["worker"])
    assert chief and worker
    assert 2 * SYNC_STEPS - 4 <= chief + worker <= 2 * SYNC_STEPS + 20


# --- a premade estimator trains on the cluster like any Estimator ----------

CANNED_STEPS = 60


def test_a_canned_estimator_trains_with_its_variables_on_the_ps(tmp_path):
    cluster, model_dir, _ = _cluster(
        tmp_path, KB_MODEL="canned", KB_MAX_STEPS=CANNED_STEPS, KB_SAVE_STEPS=30
    )
    with cluster:
        cluster.start_all()
        _wait_ok(cluster, "chief")
        _wait_ok(cluster, "worker")
        on_ps = _read_from_ps(cluster.cluster["ps"][0], {
            "global_step": (tf.int64, []),
            "linear/linear_model/x/weights": (tf.float32, [1, 1]),
        })
    # Both trainers stop once the shared step reaches max_steps (the other
    # may have one step in flight).
    assert CANNED_STEPS <= on_ps["global_step"] <= CANNED_STEPS + 2
    final = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(model_dir)))
    assert CANNED_STEPS <= final.get_tensor("global_step") <= on_ps["global_step"]
    weights = final.get_tensor("linear/linear_model/x/weights")
    assert weights[0, 0] > 1.5   # trained from 0 towards y = 3x + 1
    np.testing.assert_allclose(on_ps["linear/linear_model/x/weights"], weights, atol=0.05)
    with open(os.path.join(model_dir, "graph.pbtxt")) as f:
        graph_def = text_format.Parse(f.read(), tf.compat.v1.GraphDef())
    devices = {n.name: n.device for n in graph_def.node if n.op == "VarHandleOp"}
    assert "linear/linear_model/x/weights" in devices
    assert all(d == "/job:ps/task:0" for d in devices.values()), devices


# --- the launcher's command line -------------------------------------------

_FAKE_TASK = textwrap.dedent(
    """
    import json, os, sys, time
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    print("I am", task["type"], task["index"], flush=True)
    if task["type"] == "ps":
        time.sleep(600)
    if task["type"] == "worker" and task["index"] == 1:
        time.sleep(float(os.environ.get("FAKE_WORKER1_SLEEP", "0")))
        sys.exit(int(os.environ.get("FAKE_WORKER1_EXIT", "0")))
    """
)


# runpy warns that kerasbridge.cluster was already imported (by this module).
@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_launcher_runs_each_task_with_its_tf_config_and_stops_the_ps(
    tmp_path, monkeypatch, capsys
):
    script = tmp_path / "fake.py"
    script.write_text(_FAKE_TASK)
    # `python -m kerasbridge.cluster ...`, in this process.
    monkeypatch.setattr(sys, "argv", [
        "cluster", "--ps", "2", "--workers", "2", "--evaluator",
        "--log-dir", str(tmp_path / "logs"), "--", sys.executable, str(script),
    ])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("kerasbridge.cluster", run_name="__main__")
    assert exit_info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    for task in ("ps:0", "ps:1", "chief:0", "worker:0", "worker:1", "evaluator:0"):
        task_type, index = task.split(":")
        assert f"[{task}] I am {task_type} {index}" in lines
        log = (tmp_path / "logs" / f"{task_type}-{index}.log").read_text()
        assert f"I am {task_type} {index}" in log
    config = LocalCluster(
        ["true"], ps=2, workers=2, log_dir=tmp_path / "l2"
    ).tf_config("worker", 1)
    addresses = set()
    for job, hosts in config["cluster"].items():
        for host in hosts:
            assert host.startswith("127.0.0.1:")
            addresses.add(host)
    assert len(addresses) == 5 and config["task"] == {"type": "worker", "index": 1}


def test_launcher_propagates_a_failing_exit_code_and_stops_the_rest(
    tmp_path, monkeypatch, capsys
):
    script = tmp_path / "fake.py"
    script.write_text(_FAKE_TASK)
    monkeypatch.setenv("FAKE_WORKER1_EXIT", "3")
    monkeypatch.setenv("FAKE_WORKER1_SLEEP", "1")
    start = time.monotonic()
    code = cluster_cli.main([
        "--ps", "1", "--workers", "2", "--log-dir", str(tmp_path / "logs"),
        "--", sys.executable, str(script),
    ])
    assert code == 3
    assert "[cluster] worker:1 exited with 3; stopping." in capsys.readouterr().out
    assert time.monotonic() - start < 60  # the sleeping ps was stopped


def test_launcher_times_out_with_124(tmp_path, monkeypatch):
    script = tmp_path / "fake.py"
    script.write_text(_FAKE_TASK)
    monkeypatch.setenv("FAKE_WORKER1_SLEEP", "600")
    code = cluster_cli.main([
        "--workers", "2", "--timeout", "3", "--log-dir", str(tmp_path / "logs"),
        "--", sys.executable, str(script),
    ])
    assert code == 124
