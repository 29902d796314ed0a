"""The training script every task of the test clusters runs.

Configured by environment variables (the launcher gives every task the same
environment plus its own TF_CONFIG):

  KB_MODEL_DIR     model_dir shared by all tasks
  KB_RECORD_DIR    where each task appends what it saw (see below)
  KB_MAX_STEPS     TrainSpec.max_steps
  KB_SAVE_STEPS    RunConfig.save_checkpoints_steps
  KB_MODEL         "custom" (a model_fn), "keras" (model_to_estimator) or
                   "canned" (a premade LinearRegressor)
  KB_STEP_SLEEP    seconds each training step sleeps (keeps runs long enough
                   to kill a task in the middle)
  KB_SYNC          "1": SyncReplicasOptimizer over all trainers, with its hook
  KB_PAUSE_AT, KB_HOLD_FILE
                   steps that read a global step >= KB_PAUSE_AT wait while
                   KB_HOLD_FILE exists (lets a test finish its kills and
                   restarts before training can end)

Records, one JSON object per line, appended and flushed at once so they
survive a SIGKILL:
  <type>-<index>.steps   {"pid", "step", "t"}: the global step each training
                         step of this task read, and when it finished
  evaluations            {"global_step", "checkpoint", "export", "kernel",
                         "bias"}: one line per evaluation the evaluator
                         exported
"""

import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasbridge as kb  # noqa: E402

MODEL_DIR = os.environ["KB_MODEL_DIR"]
RECORD_DIR = os.environ["KB_RECORD_DIR"]
MAX_STEPS = int(os.environ.get("KB_MAX_STEPS", "200"))
SAVE_STEPS = int(os.environ.get("KB_SAVE_STEPS", "40"))
MODEL = os.environ.get("KB_MODEL", "custom")
STEP_SLEEP = float(os.environ.get("KB_STEP_SLEEP", "0"))
PAUSE_AT = int(os.environ.get("KB_PAUSE_AT", "0"))
HOLD_FILE = os.environ.get("KB_HOLD_FILE", "")
SYNC = os.environ.get("KB_SYNC") == "1"
TASK = json.loads(os.environ["TF_CONFIG"])["task"]
TASK_NAME = f"{TASK['type']}-{TASK['index']}"

X = np.linspace(-1.0, 1.0, 64, dtype=np.float32).reshape(-1, 1)
Y = 3.0 * X + 1.0


def _append(name, record):
    with open(os.path.join(RECORD_DIR, name), "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()


def train_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).repeat().batch(8)


def eval_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(32)


def model_fn(features, labels, mode, config):
    pred = tf.keras.layers.Dense(1)(features["x"])
    if mode == kb.ModeKeys.PREDICT:
        return kb.EstimatorSpec(mode, predictions={"y": pred})
    loss = tf.compat.v1.losses.mean_squared_error(labels, pred)
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.05)
    hooks = []
    if SYNC:
        # As users wrote it: aggregate one gradient from every trainer.
        optimizer = tf.compat.v1.train.SyncReplicasOptimizer(
            optimizer,
            replicas_to_aggregate=config.num_worker_replicas,
            total_num_replicas=config.num_worker_replicas,
        )
        hooks.append(optimizer.make_session_run_hook(config.is_chief))
    train_op = optimizer.minimize(
        loss, global_step=tf.compat.v1.train.get_global_step()
    )
    return kb.EstimatorSpec(mode, loss=loss, train_op=train_op, training_hooks=hooks)


class StepRecorder(tf.compat.v1.train.SessionRunHook):
    """Appends the global step each of this task's steps read."""

    def begin(self):
        self._step = tf.compat.v1.train.get_global_step()

    def before_run(self, run_context):
        return tf.compat.v1.train.SessionRunArgs(self._step)

    def after_run(self, run_context, run_values):
        _append(TASK_NAME + ".steps", {
            "pid": os.getpid(), "step": int(run_values.results), "t": time.time(),
        })
        if STEP_SLEEP:
            time.sleep(STEP_SLEEP)
        while PAUSE_AT and run_values.results >= PAUSE_AT and os.path.exists(HOLD_FILE):
            time.sleep(0.05)


class RecordingExporter(kb.Exporter):
    """A LatestExporter that also records what it was given."""

    def __init__(self, serving_input_fn, variables):
        self._latest = kb.LatestExporter("latest", serving_input_fn)
        self._variables = variables

    @property
    def name(self):
        return self._latest.name

    def export(self, estimator, export_path, checkpoint_path, eval_result,
               is_the_final_export):
        path = self._latest.export(
            estimator, export_path, checkpoint_path, eval_result,
            is_the_final_export,
        )
        reader = tf.train.load_checkpoint(checkpoint_path)
        _append("evaluations", {
            "global_step": int(eval_result["global_step"]),
            "loss": float(eval_result["loss"]),
            "checkpoint": checkpoint_path,
            "export": path.decode() if isinstance(path, bytes) else path,
            "final": bool(is_the_final_export),
            "weights": [reader.get_tensor(v).ravel().tolist() for v in self._variables],
        })
        return path


def make_estimator():
    config = kb.RunConfig(
        model_dir=MODEL_DIR,
        save_checkpoints_steps=SAVE_STEPS,
        save_summary_steps=SAVE_STEPS,
        log_step_count_steps=50,
        experimental_max_worker_delay_secs=0,
        tf_random_seed=1,
    )
    if MODEL == "keras":
        import keras

        inputs = keras.Input((1,), name="x")
        model = keras.Model(inputs, keras.layers.Dense(1, name="out")(inputs))
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        return kb.model_to_estimator(model, config=config), None
    if MODEL == "canned":
        estimator = kb.LinearRegressor(
            feature_columns=[tf.feature_column.numeric_column("x")],
            optimizer=lambda: tf.compat.v1.train.GradientDescentOptimizer(0.05),
            config=config,
        )
        return estimator, None
    return kb.Estimator(model_fn, config=config), ["dense/kernel", "dense/bias"]


def main():
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.INFO)
    estimator, variables = make_estimator()
    serving = kb.export.build_raw_serving_input_receiver_fn(
        {"x": tf.TensorSpec([None, 1], tf.float32)}
    )
    exporters = [RecordingExporter(serving, variables)] if variables else []
    kb.train_and_evaluate(
        estimator,
        kb.TrainSpec(train_input_fn, max_steps=MAX_STEPS, hooks=[StepRecorder()]),
        kb.EvalSpec(
            eval_input_fn, steps=None, exporters=exporters,
            start_delay_secs=0, throttle_secs=1,
        ),
    )
    print(f"{TASK_NAME} done", flush=True)


if __name__ == "__main__":
    main()
