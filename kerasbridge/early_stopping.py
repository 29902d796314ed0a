"""Early stopping driven by the metrics `Estimator.evaluate` writes to disk.

Mirrors `tf.estimator.experimental` early stopping (2.15, `early_stopping.py`):
on the chief the hook periodically calls a predicate and, when it returns
True, sets the `signal_early_stopping/STOP` variable and requests the session
to stop; on other tasks the hook only watches that variable. Unlike the
original, STOP is a local (never checkpointed) variable, so adding an early
stopping hook to a run that already has checkpoints works.

Evaluation writes one event per `evaluate()` call into `estimator.eval_dir()`
(a `simple_value` per metric at step = global_step); the `stop_if_*` hooks
re-read those files each time they run.

Not supported: MultiWorkerMirroredStrategy (`RunConfig` rejects distribution
strategies).
"""

import collections
import operator
import os

import tensorflow as tf

from kerasbridge._runtime import _args
from kerasbridge._runtime import _summaries as _summaries_lib

_EVENT_FILE_GLOB_PATTERN = "events.out.tfevents.*"


def make_early_stopping_hook(
    estimator, should_stop_fn, run_every_secs=60, run_every_steps=None
):
    """Creates a hook that stops training when `should_stop_fn()` is True.

    Args:
      estimator: A `kerasbridge.Estimator`.
      should_stop_fn: Callable with no arguments returning a bool.
      run_every_secs: Call `should_stop_fn` at most every this many seconds.
      run_every_steps: Or call it every this many global steps. Exactly one of
        the two intervals must be set.

    Returns:
      A `tf.compat.v1.train.SessionRunHook` for `Estimator.train` or
      `TrainSpec.hooks`. On a non-chief task (TF_CONFIG) the hook only stops
      once the chief's `signal_early_stopping/STOP` variable is True.

    Raises:
      TypeError: If `estimator` is not an Estimator or `should_stop_fn` is not
        callable.
      ValueError: If both intervals are set.
    """
    from kerasbridge.estimator import Estimator

    if not isinstance(estimator, Estimator):
        raise TypeError(
            "`estimator` must have type `tf.estimator.Estimator`. "
            f"Got: {type(estimator)}"
        )
    _args.check_number(run_every_secs, "run_every_secs", integer=False)
    _args.check_number(run_every_steps, "run_every_steps")
    if run_every_secs is not None and run_every_steps is not None:
        raise ValueError(
            "Only one of `run_every_secs` and `run_every_steps` must be set."
        )
    if not estimator.config.is_chief:
        # Non-chief workers only watch the STOP variable the chief sets.
        return _CheckForStoppingHook()
    return _StopOnPredicateHook(should_stop_fn, run_every_secs, run_every_steps)


def stop_if_higher_hook(
    estimator,
    metric_name,
    threshold,
    eval_dir=None,
    min_steps=0,
    run_every_secs=60,
    run_every_steps=None,
):
    """Creates a hook that stops once `metric_name` is above `threshold`.

    Any evaluation at a global step >= `min_steps` with a value strictly
    greater than `threshold` triggers the stop. `eval_dir` defaults to
    `estimator.eval_dir()`. See `make_early_stopping_hook` for the rest.
    """
    return _stop_if_threshold_crossed_hook(
        estimator,
        metric_name,
        threshold,
        operator.gt,
        "greater than",
        eval_dir,
        min_steps,
        run_every_secs,
        run_every_steps,
    )


def stop_if_lower_hook(
    estimator,
    metric_name,
    threshold,
    eval_dir=None,
    min_steps=0,
    run_every_secs=60,
    run_every_steps=None,
):
    """Creates a hook that stops once `metric_name` is below `threshold`.

    Any evaluation at a global step >= `min_steps` with a value strictly
    less than `threshold` triggers the stop. `eval_dir` defaults to
    `estimator.eval_dir()`. See `make_early_stopping_hook` for the rest.
    """
    return _stop_if_threshold_crossed_hook(
        estimator,
        metric_name,
        threshold,
        operator.lt,
        "less than",
        eval_dir,
        min_steps,
        run_every_secs,
        run_every_steps,
    )


def stop_if_no_increase_hook(
    estimator,
    metric_name,
    max_steps_without_increase,
    eval_dir=None,
    min_steps=0,
    run_every_secs=60,
    run_every_steps=None,
):
    """Creates a hook that stops if `metric_name` has not increased lately.

    Stops when, among evaluations at steps >= `min_steps`, some evaluation is
    at least `max_steps_without_increase` global steps after the best
    (highest) value seen up to it. See `make_early_stopping_hook` for the rest.
    """
    _args.check_number(
        max_steps_without_increase, "max_steps_without_increase"
    )
    return _stop_if_no_metric_improvement_hook(
        estimator,
        metric_name,
        max_steps_without_increase,
        operator.gt,
        "increase",
        eval_dir,
        min_steps,
        run_every_secs,
        run_every_steps,
    )


def stop_if_no_decrease_hook(
    estimator,
    metric_name,
    max_steps_without_decrease,
    eval_dir=None,
    min_steps=0,
    run_every_secs=60,
    run_every_steps=None,
):
    """Creates a hook that stops if `metric_name` has not decreased lately.

    Stops when, among evaluations at steps >= `min_steps`, some evaluation is
    at least `max_steps_without_decrease` global steps after the best
    (lowest) value seen up to it. See `make_early_stopping_hook` for the rest.
    """
    _args.check_number(
        max_steps_without_decrease, "max_steps_without_decrease"
    )
    return _stop_if_no_metric_improvement_hook(
        estimator,
        metric_name,
        max_steps_without_decrease,
        operator.lt,
        "decrease",
        eval_dir,
        min_steps,
        run_every_secs,
        run_every_steps,
    )


def read_eval_metrics(eval_dir):
    """Reads the evaluation metrics stored in `eval_dir`'s event files.

    Only `simple_value` summaries are read. A corrupt (e.g. half-written)
    file is skipped from the corruption on, with a warning.

    Args:
      eval_dir: Directory with `events.out.tfevents.*` files.

    Returns:
      An `OrderedDict` mapping global step to `{metric_name: value}`, sorted
      by step; empty if `eval_dir` does not exist.
    """
    metrics_by_step = collections.defaultdict(dict)
    for event in _summaries(eval_dir):
        metrics = _summaries_lib.scalar_values(event)
        if metrics:
            metrics_by_step[event.step].update(metrics)
    return collections.OrderedDict(sorted(metrics_by_step.items()))


def _stop_if_threshold_crossed_hook(
    estimator,
    metric_name,
    threshold,
    is_lhs_better,
    description,
    eval_dir,
    min_steps,
    run_every_secs,
    run_every_steps,
):
    _args.check_number(min_steps, "min_steps")
    eval_dir = estimator.eval_dir() if eval_dir is None else eval_dir

    def stop_if_threshold_crossed_fn():
        for step, metrics in read_eval_metrics(eval_dir).items():
            if step < min_steps:
                continue
            value = _metric_value(metrics, metric_name, step, eval_dir)
            if is_lhs_better(value, threshold):
                tf.compat.v1.logging.info(
                    'At step %s, metric "%s" has value %s which is %s the '
                    "configured threshold (%s) for early stopping.",
                    step,
                    metric_name,
                    value,
                    description,
                    threshold,
                )
                return True
        return False

    return make_early_stopping_hook(
        estimator, stop_if_threshold_crossed_fn, run_every_secs, run_every_steps
    )


def _stop_if_no_metric_improvement_hook(
    estimator,
    metric_name,
    max_steps_without_improvement,
    is_lhs_better,
    description,
    eval_dir,
    min_steps,
    run_every_secs,
    run_every_steps,
):
    _args.check_number(min_steps, "min_steps")
    eval_dir = estimator.eval_dir() if eval_dir is None else eval_dir

    def stop_if_no_metric_improvement_fn():
        best_value = None
        best_step = None
        for step, metrics in read_eval_metrics(eval_dir).items():
            if step < min_steps:
                continue
            value = _metric_value(metrics, metric_name, step, eval_dir)
            if best_value is None or is_lhs_better(value, best_value):
                best_value, best_step = value, step
            if step - best_step >= max_steps_without_improvement:
                tf.compat.v1.logging.info(
                    'No %s in metric "%s" for %s steps, which is greater than '
                    "or equal to max steps (%s) configured for early stopping.",
                    description,
                    metric_name,
                    step - best_step,
                    max_steps_without_improvement,
                )
                return True
        return False

    return make_early_stopping_hook(
        estimator,
        stop_if_no_metric_improvement_fn,
        run_every_secs,
        run_every_steps,
    )


def _metric_value(metrics, metric_name, step, eval_dir):
    # The original raised a bare KeyError here; name what is missing instead.
    if metric_name not in metrics:
        raise KeyError(
            f'Metric "{metric_name}" not found in the evaluation at step '
            f"{step} in {eval_dir}; available metrics: {sorted(metrics)}"
        )
    return metrics[metric_name]


def _summaries(eval_dir):
    if not tf.io.gfile.exists(eval_dir):
        return
    pattern = os.path.join(eval_dir, _EVENT_FILE_GLOB_PATTERN)
    for event_file in sorted(tf.io.gfile.glob(pattern)):
        try:
            yield from tf.compat.v1.train.summary_iterator(event_file)
        except tf.errors.DataLossError as e:
            tf.compat.v1.logging.warning(
                "Skipping rest of the file due to encountering data corruption "
                "error; file path: %s; original error raised by "
                "`tf.train.summary_iterator`: %s",
                event_file,
                e,
            )


def _get_or_create_stop_var():
    # The original made STOP a GLOBAL variable, so it was checkpointed and a
    # run resumed *with* the hook from a checkpoint written *without* it failed
    # to restore ("Key signal_early_stopping/STOP not found in checkpoint").
    # As a LOCAL variable it is initialised by every session and never saved.
    with tf.compat.v1.variable_scope(
        "signal_early_stopping", values=[], reuse=tf.compat.v1.AUTO_REUSE
    ):
        return tf.compat.v1.get_variable(
            name="STOP",
            shape=[],
            dtype=tf.bool,
            initializer=tf.compat.v1.initializers.constant(False),
            collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES],
            trainable=False,
        )


class _StopOnPredicateHook(tf.compat.v1.train.SessionRunHook):
    """Requests a stop when `should_stop_fn` returns True (run on a timer)."""

    def __init__(self, should_stop_fn, run_every_secs=60, run_every_steps=None):
        if not callable(should_stop_fn):
            raise TypeError("`should_stop_fn` must be callable.")
        self._should_stop_fn = should_stop_fn
        self._timer = tf.compat.v1.train.SecondOrStepTimer(
            every_secs=run_every_secs, every_steps=run_every_steps
        )
        self._global_step_tensor = None
        self._stop_var = None
        self._stop_op = None

    def begin(self):
        self._global_step_tensor = tf.compat.v1.train.get_global_step()
        self._stop_var = _get_or_create_stop_var()
        self._stop_op = tf.compat.v1.assign(self._stop_var, True)

    def before_run(self, run_context):
        del run_context
        return tf.compat.v1.train.SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context, run_values):
        global_step = run_values.results
        if not self._timer.should_trigger_for_step(global_step):
            return
        self._timer.update_last_triggered_step(global_step)
        if self._should_stop_fn():
            tf.compat.v1.logging.info(
                "Requesting early stopping at global step %d", global_step
            )
            run_context.session.run(self._stop_op)
            run_context.request_stop()


class _CheckForStoppingHook(tf.compat.v1.train.SessionRunHook):
    """Requests a stop once the chief has set the STOP variable."""

    def __init__(self):
        self._stop_var = None

    def begin(self):
        self._stop_var = _get_or_create_stop_var()

    def before_run(self, run_context):
        del run_context
        return tf.compat.v1.train.SessionRunArgs(self._stop_var)

    def after_run(self, run_context, run_values):
        if run_values.results:
            tf.compat.v1.logging.info(
                "Early stopping requested, suspending run."
            )
            run_context.request_stop()
