"""`make_stop_at_checkpoint_step_hook`: stop workers once the chief's
checkpoint reaches a step."""

import time

import tensorflow as tf

from kerasbridge._runtime import _checkpoints


class _StopAtCheckpointStepHook(tf.compat.v1.train.SessionRunHook):
    """Requests stop once `model_dir`'s latest checkpoint is at `last_step`."""

    def __init__(self, model_dir, last_step, wait_after_file_check_secs=30):
        if last_step is None:
            raise ValueError("last_step must be specified.")
        if model_dir is None:
            raise ValueError("model_dir must be specified.")
        self._model_dir = model_dir
        self._last_step = last_step
        self._wait_secs = wait_after_file_check_secs

    def begin(self):
        self._global_step = tf.compat.v1.train.get_global_step()
        if self._global_step is None:
            raise RuntimeError(
                "Global step should be created to use StopAtCheckpointStepHook."
            )

    def before_run(self, run_context):
        del run_context
        return tf.compat.v1.train.SessionRunArgs(self._global_step)

    def after_run(self, run_context, run_values):
        if run_values.results + 1 < self._last_step:
            return
        if _checkpoints.global_step_in(self._model_dir) >= self._last_step:
            run_context.request_stop()
        else:
            # Many workers reading the same file: throttle the checks.
            time.sleep(self._wait_secs)


def make_stop_at_checkpoint_step_hook(
    estimator, last_step, wait_after_file_check_secs=30
):
    """A hook that stops training at `last_step`, on the chief or a worker.

    The chief gets a `StopAtStepHook(last_step=last_step)`. A worker (whose
    own global step may run ahead of what the chief saved) stops only once
    the latest checkpoint in `estimator.model_dir` has reached `last_step`,
    checking at most every `wait_after_file_check_secs` seconds.

    Args:
        estimator: The `kb.Estimator` being trained.
        last_step: The step to stop at.
        wait_after_file_check_secs: Seconds to wait after a check that found
            the checkpoint short of `last_step`.

    Returns:
        A `SessionRunHook`.

    Raises:
        ValueError: `last_step` or the model_dir is None.
    """
    if estimator.config.is_chief:
        return tf.compat.v1.train.StopAtStepHook(last_step=last_step)
    return _StopAtCheckpointStepHook(
        estimator.model_dir, last_step, wait_after_file_check_secs
    )
