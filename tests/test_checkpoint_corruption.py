"""Damaged checkpoints and NaN losses: clear errors, good checkpoints kept."""

import glob
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import _kb_models as m
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.export import build_raw_serving_input_receiver_fn
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.run_config import RunConfig

PARAMS = {"hidden": [8]}


def _estimator(model_dir):
    config = RunConfig(save_checkpoints_steps=5, log_step_count_steps=1000)
    return Estimator(m.dnn_model_fn, model_dir=str(model_dir), params=PARAMS, config=config)


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """Checkpoints at steps 0, 5 and 10."""
    model_dir = tmp_path_factory.mktemp("trained")
    _estimator(model_dir).train(m.train_input_fn, max_steps=10)
    return model_dir


def _damage(model_dir, kind):
    """Truncates or garbles the newest checkpoint's data or index file."""
    latest = tf.train.latest_checkpoint(str(model_dir))
    if kind.startswith("data"):
        (path,) = glob.glob(latest + ".data-*")
    else:
        path = latest + ".index"
    with open(path, "rb") as f:
        content = bytearray(f.read())
    if kind.endswith("truncated"):
        content = content[: len(content) // 2]
    else:
        start = len(content) // 3
        for i in range(start, start + 16):
            content[i] ^= 0xFF
    with open(path, "wb") as f:
        f.write(bytes(content))
    return path


ENTRY_POINTS = {
    "train": lambda est: est.train(m.train_input_fn, max_steps=20),
    "evaluate": lambda est: est.evaluate(m.eval_input_fn),
    "predict": lambda est: list(est.predict(m.predict_input_fn)),
    "export_saved_model": lambda est: est.export_saved_model(
        os.path.join(est.model_dir, "export"),
        build_raw_serving_input_receiver_fn(
            {"x": tf.TensorSpec([None, m.N_FEATURES], tf.float32)}
        ),
    ),
}
KINDS = ["data_truncated", "data_garbled", "index_truncated", "index_garbled"]


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("kind", KINDS)
def test_damaged_newest_checkpoint_raises_data_loss_naming_the_file(
    trained_dir, tmp_path, kind, entry
):
    model_dir = tmp_path / "model"
    shutil.copytree(trained_dir, model_dir)
    damaged = _damage(model_dir, kind)
    estimator = _estimator(model_dir)
    with pytest.raises(tf.errors.DataLossError) as error:
        ENTRY_POINTS[entry](estimator)
    message = error.value.message
    assert f"cannot read {damaged} (" in message
    assert "model.ckpt-10 is corrupt or incomplete" in message
    assert "names one of 'model.ckpt-0', 'model.ckpt-5'" in message
    assert "checkpoint_path=" in message
    assert not os.path.exists(os.path.join(model_dir, "export")) or not os.listdir(
        os.path.join(model_dir, "export")
    )


def test_following_the_fallback_advice_resumes_from_the_earlier_checkpoint(
    trained_dir, tmp_path
):
    model_dir = tmp_path / "model"
    shutil.copytree(trained_dir, model_dir)
    _damage(model_dir, "data_garbled")
    estimator = _estimator(model_dir)
    earlier = os.path.join(model_dir, "model.ckpt-5")
    # The other way out: evaluate a named earlier checkpoint.
    assert estimator.evaluate(m.eval_input_fn, checkpoint_path=earlier)["global_step"] == 5
    # Point the state file at model.ckpt-5, as the error says.
    tf.compat.v1.train.update_checkpoint_state(
        str(model_dir), earlier, all_model_checkpoint_paths=[
            os.path.join(model_dir, "model.ckpt-0"), earlier,
        ],
    )
    estimator.train(m.train_input_fn, max_steps=15)
    assert estimator.get_variable_value("global_step") == 15
    assert estimator.evaluate(m.eval_input_fn)["global_step"] == 15


def test_global_step_lookup_of_a_damaged_checkpoint_is_data_loss(trained_dir, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(trained_dir, model_dir)
    damaged = _damage(model_dir, "data_truncated")
    with pytest.raises(tf.errors.DataLossError, match=f"cannot read {damaged}"):
        _estimator(model_dir).get_variable_value("global_step")


# --- NaN loss --------------------------------------------------------------------

NAN_BATCH = 7  # the 8th batch (global step 7 -> 8) has a NaN feature


def _nan_input_fn():
    x = np.ones((16 * 12, 1), np.float32)
    x[16 * NAN_BATCH] = np.nan
    y = np.ones((16 * 12, 1), np.float32)
    return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(16)


def _linear_model_fn(features, labels, mode):
    pred = tf.keras.layers.Dense(1)(features["x"])
    loss = tf.compat.v1.losses.mean_squared_error(labels, pred)
    train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=tf.compat.v1.train.get_global_step()
    )
    return EstimatorSpec(ModeKeys.TRAIN, loss=loss, train_op=train_op)


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    # A checkpoint every step: the NaN step would be saved if the saver saw
    # it before the NaN check.
    config = RunConfig(save_checkpoints_steps=1, log_step_count_steps=1000)
    estimator = Estimator(_linear_model_fn, model_dir=str(tmp_path), config=config)
    with pytest.raises(tf.compat.v1.train.NanLossDuringTrainingError):
        estimator.train(_nan_input_fn)
    latest = tf.train.latest_checkpoint(str(tmp_path))
    reader = tf.train.load_checkpoint(latest)
    assert reader.get_tensor("global_step") == NAN_BATCH
    for name in reader.get_variable_to_shape_map():
        assert np.all(np.isfinite(reader.get_tensor(name))), name
    # And training resumes from it.
    estimator.train(_finite_input_fn, max_steps=NAN_BATCH + 3)
    assert estimator.get_variable_value("global_step") == NAN_BATCH + 3


def _finite_input_fn():
    x = np.ones((64, 1), np.float32)
    return tf.data.Dataset.from_tensor_slices(({"x": x}, x)).repeat().batch(16)


# --- kill -9 while checkpoints are being written ----------------------------------

_KILLABLE_TRAINER = """
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf
import kerasbridge as kb

class Slow(tf.compat.v1.train.SessionRunHook):
    def after_run(self, run_context, run_values):
        time.sleep(0.01)

def input_fn():
    x = np.ones((64, 1), np.float32)
    return tf.data.Dataset.from_tensor_slices(({"x": x}, x)).repeat().batch(16)

def model_fn(features, labels, mode):
    pred = tf.keras.layers.Dense(1)(features["x"])
    loss = tf.compat.v1.losses.mean_squared_error(labels, pred)
    op = tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(
        loss, global_step=tf.compat.v1.train.get_global_step())
    return kb.EstimatorSpec(mode, loss=loss, train_op=op)

# A checkpoint every step: a kill almost always lands in or near a save.
config = kb.RunConfig(save_checkpoints_steps=1, keep_checkpoint_max=3,
                      log_step_count_steps=10**6)
kb.Estimator(model_fn, model_dir=sys.argv[1], config=config).train(
    input_fn, max_steps=int(sys.argv[2]), hooks=[Slow()])
"""


def _referenced_steps(model_dir):
    """Global steps of every checkpoint the state file names; all must load."""
    state = tf.train.get_checkpoint_state(str(model_dir))
    steps = []
    for path in state.all_model_checkpoint_paths:
        reader = tf.train.load_checkpoint(os.path.join(model_dir, path))
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)  # raises if any byte is missing
        steps.append(int(reader.get_tensor("global_step")))
    assert os.path.basename(state.model_checkpoint_path) == os.path.basename(
        state.all_model_checkpoint_paths[-1]
    )
    return steps


def test_kill_9_during_checkpointing_leaves_only_complete_checkpoints(tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time

    model_dir = tmp_path / "model"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="2")
    rng = random.Random(0)
    last_step = -1
    procs = []
    try:
        for _ in range(2):
            proc = subprocess.Popen(
                [sys.executable, "-c", _KILLABLE_TRAINER, str(model_dir), "100000"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            procs.append(proc)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                path = tf.train.latest_checkpoint(str(model_dir))
                if path and int(path.rsplit("-", 1)[1]) >= last_step + 5:
                    break
                assert proc.poll() is None, "the trainer died on its own"
                time.sleep(0.05)
            else:
                pytest.fail("no new checkpoints")
            time.sleep(rng.uniform(0.0, 0.3))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            steps = _referenced_steps(model_dir)
            assert steps == sorted(set(steps)) and steps[-1] > last_step
            last_step = steps[-1]
        # Resumes from the latest complete checkpoint and finishes.
        final = subprocess.run(
            [sys.executable, "-c", _KILLABLE_TRAINER, str(model_dir), str(last_step + 5)],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert final.returncode == 0, final.stderr[-2000:]
        assert _referenced_steps(model_dir)[-1] == last_step + 5
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
