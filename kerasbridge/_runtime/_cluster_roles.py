"""What each TF_CONFIG task does in a distributed `train_and_evaluate`.

The original's `_TrainingExecutor.run_<task type>`:

* `ps`: start the server and serve until the process is killed.
* `chief` / `worker`: start the server, then `estimator.train` against the
  variables on the ps (the chief initialises or restores them, saves
  checkpoints and summaries and runs the chief-only hooks; workers wait for
  the chief's model to be ready). Workers start `(task_id + 1) * 5` seconds
  late (at most `RunConfig.experimental_max_worker_delay_secs`, default 60)
  so that asynchronous training starts from the chief's first steps.
* `master` (legacy clusters): a chief that also evaluates and exports after
  each new checkpoint, like a local run.
* `evaluator`: wait `start_delay_secs`, then evaluate the newest checkpoint
  whenever there is a new one (at most once per `throttle_secs`), run the
  exporters with each result, and stop after evaluating a checkpoint at or
  past `TrainSpec.max_steps`.
"""

import time

import tensorflow as tf

from kerasbridge._runtime import _cluster
from kerasbridge.run_config import TaskType

_DELAY_SECS_PER_WORKER = 5
_MAX_DELAY_SECS = 60
_GLOBAL_STEP_KEY = tf.compat.v1.GraphKeys.GLOBAL_STEP


def run_task(estimator, train_spec, eval_spec, evaluator, new_eval_listener):
    """Runs this process's TF_CONFIG task.

    Args:
        estimator: The `Estimator`.
        train_spec: The `TrainSpec`.
        eval_spec: The `EvalSpec`.
        evaluator: The `training._Evaluator` (evaluate newest, then export).
        new_eval_listener: Returns a `CheckpointSaverListener` that
            evaluates with `evaluator` after new checkpoints (for `master`).

    Raises:
        ValueError: The task type is missing or unknown.
    """
    config = estimator.config
    if not config.task_type:
        raise ValueError(
            "`estimator.config` must have task_type set. This usually means "
            "TF_CONFIG environment is not set correctly."
        )
    if config.task_type == "local":
        raise ValueError(
            "`task.type` in TF_CONFIG cannot be `local`. Leaving `cluster` "
            "and `task` properties in TF_CONFIG absent triggers train and "
            "evaluate `Estimator` locally (non-distributed)."
        )
    roles = {
        TaskType.PS: lambda: run_ps(config),
        TaskType.CHIEF: lambda: _train(estimator, train_spec, ()),
        TaskType.WORKER: lambda: _train(estimator, train_spec, ()),
        TaskType.MASTER: lambda: _train(
            estimator, train_spec, (new_eval_listener(),)
        ),
        TaskType.EVALUATOR: lambda: run_evaluator(
            evaluator, eval_spec, train_spec.max_steps
        ),
    }
    if config.task_type not in roles:
        raise ValueError(
            f"Task type {config.task_type} is not supported. Supported task "
            f"types are {sorted(roles)}"
        )
    roles[config.task_type]()


def run_ps(config):
    """Serves the variables of this ps task until the process is killed."""
    server = _cluster.start_server(config)
    server.join()


def _train(estimator, train_spec, extra_listeners):
    config = estimator.config
    # Start the server before any delay, so that the other tasks can reach
    # this one while it waits; keep it referenced while training.
    server = _cluster.start_server(config)
    delay = worker_start_delay(config)
    if delay > 0:
        tf.compat.v1.logging.info(
            "Waiting %d secs before starting training.", delay
        )
        time.sleep(delay)
    listeners = list(extra_listeners)
    if config.task_type != TaskType.WORKER:
        # Only the chief saves checkpoints, so only it runs the listeners.
        listeners = list(train_spec.saving_listeners) + listeners
    estimator.train(
        input_fn=train_spec.input_fn,
        max_steps=train_spec.max_steps,
        hooks=list(train_spec.hooks),
        saving_listeners=listeners,
    )
    del server


def worker_start_delay(config):
    """Seconds a worker waits before training (0 for other tasks)."""
    if config.task_type != TaskType.WORKER:
        return 0
    max_delay = _MAX_DELAY_SECS
    if config.experimental_max_worker_delay_secs is not None:
        max_delay = int(config.experimental_max_worker_delay_secs)
    return min(max_delay, (config.task_id + 1) * _DELAY_SECS_PER_WORKER)


def run_evaluator(evaluator, eval_spec, max_steps, sleep=time.sleep):
    """Evaluates new checkpoints until one reaches `max_steps`.

    Args:
        evaluator: Has `evaluate_and_export()` returning
            `(eval_result, export_results)` for the newest checkpoint (a
            `MISSING_CHECKPOINT` / `NO_NEW_CHECKPOINT` status when there is
            nothing new).
        eval_spec: The `EvalSpec` (`start_delay_secs`, `throttle_secs`).
        max_steps: `TrainSpec.max_steps`; None evaluates forever.
        sleep: The sleep function (tests pass a fake clock).

    Returns:
        The last evaluation's metrics dict.
    """
    if eval_spec.start_delay_secs:
        tf.compat.v1.logging.info(
            "Waiting %f secs before starting eval.", eval_spec.start_delay_secs
        )
        sleep(eval_spec.start_delay_secs)
    last_metrics = None
    while True:
        start = time.time()
        eval_result, _ = evaluator.evaluate_and_export()
        if eval_result.metrics is not None:
            last_metrics = eval_result.metrics
            global_step = eval_result.metrics.get(_GLOBAL_STEP_KEY)
            if max_steps and global_step and global_step >= max_steps:
                tf.compat.v1.logging.info(
                    "Exiting evaluation, global_step=%s >= train max_steps=%s",
                    global_step,
                    max_steps,
                )
                return last_metrics
        remaining = eval_spec.throttle_secs - (time.time() - start)
        if remaining > 0:
            tf.compat.v1.logging.info(
                "Waiting %f secs before starting next eval run.", remaining
            )
            sleep(remaining)
        elif eval_spec.throttle_secs == 0 and eval_result.metrics is None:
            # Nothing new and no throttle: poll gently instead of spinning.
            tf.compat.v1.logging.warning(
                "EvalSpec.throttle_secs is set as 0. This might overload the "
                "job before finding (next) new checkpoint. Please consider to "
                "increase it."
            )
            sleep(1)
