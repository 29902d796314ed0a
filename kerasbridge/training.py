"""`TrainSpec`, `EvalSpec` and `train_and_evaluate`.

Follows `tf.estimator.train_and_evaluate` (2.15, `training.py`). Without a
TF_CONFIG cluster: a single `estimator.train()` call whose checkpoint-saver
listener evaluates (and exports) after each new checkpoint, at most once per
`EvalSpec.throttle_secs`, and once more at the end of training. Evaluation
frequency is therefore checkpoint frequency (set with
`RunConfig.save_checkpoints_steps/secs`) limited by `throttle_secs`.

With a TF_CONFIG cluster each process runs its task (ps, chief, worker,
master, evaluator) on TensorFlow's gRPC runtime: see
`kerasbridge._runtime._cluster_roles`.
"""

import collections
import os

import tensorflow as tf

from kerasbridge._runtime import _args
from kerasbridge._runtime import _cluster_roles
from kerasbridge.exporter import Exporter
from kerasbridge.run_config import TaskType

_GLOBAL_STEP_KEY = tf.compat.v1.GraphKeys.GLOBAL_STEP


class TrainSpec(
    collections.namedtuple(
        "TrainSpec", ["input_fn", "max_steps", "hooks", "saving_listeners"]
    )
):
    """The "train" part of `train_and_evaluate`.

    Args:
      input_fn: Callable returning a `tf.data.Dataset` of `(features, labels)`
        or a `(features, labels)` tuple.
      max_steps: Positive int: train until the global step reaches it;
        `None` trains until `input_fn` is exhausted.
      hooks: Iterable of `SessionRunHook`s for training.
      saving_listeners: Iterable of `CheckpointSaverListener`s.

    Raises:
      TypeError: If `input_fn` is not callable or a hook/listener has the
        wrong type.
      ValueError: If `max_steps <= 0`.
    """

    def __new__(
        cls, input_fn, max_steps=None, hooks=None, saving_listeners=None
    ):
        _validate_input_fn(input_fn)
        _args.check_number(max_steps, "max_steps")
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        return super().__new__(
            cls,
            input_fn=input_fn,
            max_steps=max_steps,
            hooks=_validate_hooks(hooks),
            saving_listeners=_validate_saving_listeners(saving_listeners),
        )


class EvalSpec(
    collections.namedtuple(
        "EvalSpec",
        [
            "input_fn",
            "steps",
            "name",
            "hooks",
            "exporters",
            "start_delay_secs",
            "throttle_secs",
        ],
    )
):
    """The "eval" (and export) part of `train_and_evaluate`.

    Args:
      input_fn: Callable returning the evaluation input (see `TrainSpec`).
      steps: Positive int number of evaluation batches, or `None` to evaluate
        until `input_fn` is exhausted.
      name: Evaluation name; results go to `model_dir/eval_<name>`.
      hooks: Iterable of `SessionRunHook`s for evaluation.
      exporters: An `Exporter`, an iterable of them (unique non-empty string
        names), or `None`; called after each evaluation.
      start_delay_secs: Seconds the `evaluator` task of a cluster waits
        before its first evaluation (local runs evaluate after checkpoints).
      throttle_secs: Minimum seconds between evaluations.

    Raises:
      TypeError: If an argument has the wrong type.
      ValueError: If a number is out of range or exporter names are invalid.
    """

    def __new__(
        cls,
        input_fn,
        steps=100,
        name=None,
        hooks=None,
        exporters=None,
        start_delay_secs=120,
        throttle_secs=600,
    ):
        _validate_input_fn(input_fn)
        _args.check_number(steps, "steps")
        _args.check_number(start_delay_secs, "start_delay_secs", integer=False)
        _args.check_number(throttle_secs, "throttle_secs", integer=False)
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be string, given: {name}")
        hooks = _validate_hooks(hooks)
        exporters = _validate_exporters(exporters)
        if start_delay_secs < 0:
            raise ValueError(
                f"Must specify start_delay_secs >= 0, given: {start_delay_secs}"
            )
        if throttle_secs < 0:
            raise ValueError(
                f"Must specify throttle_secs >= 0, given: {throttle_secs}"
            )
        return super().__new__(
            cls,
            input_fn=input_fn,
            steps=steps,
            name=name,
            hooks=hooks,
            exporters=exporters,
            start_delay_secs=start_delay_secs,
            throttle_secs=throttle_secs,
        )


def train_and_evaluate(estimator, train_spec, eval_spec):
    """Trains, evaluates and (optionally) exports the `estimator`.

    Locally (no cluster in TF_CONFIG): one `estimator.train(train_spec
    .input_fn, max_steps=..., hooks=..., saving_listeners=train_spec
    .saving_listeners + [evaluation listener])`. The listener ignores the
    first checkpoint (saved before any training step), evaluates after each
    later checkpoint unless the previous evaluation started less than
    `eval_spec.throttle_secs` ago, and evaluates the final checkpoint if it
    was not evaluated yet. After every evaluation each exporter is called
    with `export_path=<model_dir>/export/<name>` and `is_the_final_export =
    global_step >= train_spec.max_steps`.

    On a TF_CONFIG cluster, this process runs its task: a `ps` serves until
    killed; the `chief` and `worker`s train between-graph against variables
    on the ps tasks (the chief checkpoints); a legacy `master` trains and
    evaluates after its checkpoints; the `evaluator` evaluates and exports
    each new checkpoint (`start_delay_secs`, `throttle_secs`) until one
    reaches `train_spec.max_steps`.

    Args:
      estimator: A `kerasbridge.Estimator`.
      train_spec: A `TrainSpec`.
      eval_spec: An `EvalSpec`.

    Returns:
      Locally, `(metrics, export_results)`: the dict from the last
      evaluation and the list of the last evaluation's exporter results
      (`(None, None)` if no evaluation ran, e.g. training stopped before
      writing a new checkpoint). On a cluster, None, as the original.

    Raises:
      TypeError: If an argument has the wrong type.
      ValueError: If TF_CONFIG has an evaluator with a task id other than 0,
        or a task type that has no role.
      RuntimeError: If no new checkpoint exists when an evaluation is due
        (local runs).
    """
    _assert_eval_spec(eval_spec)
    from kerasbridge.estimator import Estimator

    if not isinstance(estimator, Estimator):
        raise TypeError(
            "`estimator` must have type `tf.estimator.Estimator`. "
            f"Got: {type(estimator)}"
        )
    if not isinstance(train_spec, TrainSpec):
        raise TypeError(
            "`train_spec` must have type `tf.estimator.TrainSpec`. "
            f"Got: {type(train_spec)}"
        )

    config = estimator.config
    if config.task_type == TaskType.EVALUATOR and config.task_id > 0:
        raise ValueError(
            "For distributed training, there can only be one `evaluator` task "
            f"(with task id 0).  Given task id {config.task_id}"
        )
    if not config.cluster_spec and config.task_type != TaskType.EVALUATOR:
        tf.compat.v1.logging.info(
            "Running training and evaluation locally (non-distributed)."
        )
        return _run_local(estimator, train_spec, eval_spec)
    evaluator = _Evaluator(estimator, eval_spec, train_spec.max_steps)
    _cluster_roles.run_task(
        estimator,
        train_spec,
        eval_spec,
        evaluator,
        lambda: _NewCheckpointListenerForEvaluate(
            evaluator, eval_spec.throttle_secs
        ),
    )
    return None


def _run_local(estimator, train_spec, eval_spec):
    tf.compat.v1.logging.info(
        "Start train and evaluate loop. The evaluate will happen after every "
        "checkpoint. Checkpoint frequency is determined based on RunConfig "
        "arguments: save_checkpoints_steps %s or save_checkpoints_secs %s.",
        estimator.config.save_checkpoints_steps,
        estimator.config.save_checkpoints_secs,
    )
    evaluator = _Evaluator(estimator, eval_spec, train_spec.max_steps)
    listener = _NewCheckpointListenerForEvaluate(
        evaluator, eval_spec.throttle_secs
    )
    estimator.train(
        input_fn=train_spec.input_fn,
        max_steps=train_spec.max_steps,
        hooks=list(train_spec.hooks),
        saving_listeners=list(train_spec.saving_listeners) + [listener],
    )
    eval_result = listener.eval_result or _EvalResult(
        status=_EvalStatus.MISSING_CHECKPOINT
    )
    return eval_result.metrics, listener.export_results


class _NewCheckpointListenerForEvaluate(
    tf.compat.v1.train.CheckpointSaverListener
):
    """Evaluates (and exports) after each checkpoint save, throttled."""

    def __init__(self, evaluator, eval_throttle_secs):
        self._evaluator = evaluator
        self._eval_throttle_secs = eval_throttle_secs
        self.eval_result, self.export_results = None, None

    def begin(self):
        self._timer = tf.compat.v1.train.SecondOrStepTimer(
            every_secs=self._eval_throttle_secs
        )
        self._is_first_run = True

    def after_save(self, session, global_step_value):
        del session
        # The first save happens before any training step.
        if self._is_first_run:
            self._is_first_run = False
            return
        if self._timer.should_trigger_for_step(global_step_value):
            self._evaluate(global_step_value)
        else:
            tf.compat.v1.logging.info(
                "Skip the current checkpoint eval due to throttle secs "
                f"({self._eval_throttle_secs} secs)."
            )

    def end(self, session, global_step_value):
        del session
        if global_step_value != self._timer.last_triggered_step():
            self._evaluate(global_step_value)

    def _evaluate(self, global_step_value):
        self._timer.update_last_triggered_step(global_step_value)
        self.eval_result, self.export_results = (
            self._evaluator.evaluate_and_export()
        )
        if self.eval_result.status != _EvalStatus.EVALUATED:
            # Training always ends with a new checkpoint, so this means the
            # checkpoint went missing or is the one already evaluated.
            raise RuntimeError(
                "There was no new checkpoint after the training. "
                f"Eval status: {self.eval_result.status}"
            )


class _Evaluator:
    """Evaluates the newest checkpoint, then runs the exporters."""

    def __init__(self, estimator, eval_spec, max_training_steps):
        self._estimator = estimator
        self._eval_spec = eval_spec
        self._max_training_steps = max_training_steps
        self._previous_ckpt_path = None

    def evaluate_and_export(self):
        """Returns `(_EvalResult, export_results)`."""
        latest_ckpt_path = self._estimator.latest_checkpoint()
        if not latest_ckpt_path:
            tf.compat.v1.logging.warning(
                "Estimator is not trained yet. Will start an evaluation when a "
                "checkpoint is ready."
            )
            return _EvalResult(status=_EvalStatus.MISSING_CHECKPOINT), []
        if latest_ckpt_path == self._previous_ckpt_path:
            tf.compat.v1.logging.warning(
                "No new checkpoint ready for evaluation. Skip the current "
                "evaluation pass as evaluation results are expected to be same "
                "for the same checkpoint."
            )
            return _EvalResult(status=_EvalStatus.NO_NEW_CHECKPOINT), []

        metrics = self._estimator.evaluate(
            input_fn=self._eval_spec.input_fn,
            steps=self._eval_spec.steps,
            name=self._eval_spec.name,
            checkpoint_path=latest_ckpt_path,
            hooks=self._eval_spec.hooks,
        )
        eval_result = _EvalResult(
            status=_EvalStatus.EVALUATED,
            metrics=metrics,
            checkpoint_path=latest_ckpt_path,
        )
        is_the_final_export = bool(self._max_training_steps) and (
            eval_result.metrics[_GLOBAL_STEP_KEY] >= self._max_training_steps
        )
        export_results = self._export(eval_result, is_the_final_export)
        self._previous_ckpt_path = latest_ckpt_path
        return eval_result, export_results

    def _export(self, eval_result, is_the_final_export):
        export_dir_base = os.path.join(str(self._estimator.model_dir), "export")
        return [
            exporter.export(
                estimator=self._estimator,
                export_path=os.path.join(export_dir_base, exporter.name),
                checkpoint_path=eval_result.checkpoint_path,
                eval_result=eval_result.metrics,
                is_the_final_export=is_the_final_export,
            )
            for exporter in self._eval_spec.exporters
        ]


class _EvalStatus:
    EVALUATED = "evaluated"
    MISSING_CHECKPOINT = "missing checkpoint"
    NO_NEW_CHECKPOINT = "no new checkpoint"


class _EvalResult(
    collections.namedtuple(
        "EvalResult", ["status", "metrics", "checkpoint_path"]
    )
):
    """The outcome of one evaluation attempt; validated like the original."""

    def __new__(cls, status, metrics=None, checkpoint_path=None):
        if status == _EvalStatus.EVALUATED:
            if not metrics:
                raise ValueError(
                    "Internal error: `Estimator.evaluate` should never return "
                    "empty metrics."
                )
            if not isinstance(metrics, dict):
                raise TypeError(
                    "`Estimator.evaluate` should return dict. Given "
                    f"{type(metrics)}."
                )
            if _GLOBAL_STEP_KEY not in metrics:
                raise ValueError(
                    "Internal error: `Estimator.evaluate` result should have "
                    f"`global_step` in result. Given {metrics}"
                )
            if not checkpoint_path:
                raise ValueError(
                    "Internal error: `checkpoint_path` should never be empty."
                )
        return super().__new__(cls, status, metrics, checkpoint_path)


def _assert_eval_spec(eval_spec):
    if not isinstance(eval_spec, EvalSpec):
        raise TypeError(
            "`eval_spec` must have type `tf.estimator.EvalSpec`. "
            f"Got: {type(eval_spec)}"
        )


def _validate_input_fn(input_fn):
    if not callable(input_fn):
        raise TypeError(f"`input_fn` must be callable, given: {input_fn}")


def _validate_hooks(hooks):
    hooks = tuple(hooks or [])
    for hook in hooks:
        if not isinstance(hook, tf.compat.v1.train.SessionRunHook):
            raise TypeError(
                f"All hooks must be `SessionRunHook` instances, given: {hook}"
            )
    return hooks


def _validate_saving_listeners(saving_listeners):
    saving_listeners = tuple(saving_listeners or [])
    for listener in saving_listeners:
        if not isinstance(listener, tf.compat.v1.train.CheckpointSaverListener):
            raise TypeError(
                "All saving_listeners must be `CheckpointSaverListener` "
                f"instances, given: {listener}"
            )
    return saving_listeners


def _validate_exporters(exporters):
    """Returns `exporters` as a tuple of uniquely named `Exporter`s."""
    if not exporters:
        return ()
    if isinstance(exporters, Exporter):
        exporters = [exporters]
    error = TypeError(
        "`exporters` must be an Exporter, an iterable of Exporter, or "
        f"`None`, found {exporters}."
    )
    try:
        exporters = list(exporters)
    except TypeError:
        raise error from None
    if not all(isinstance(e, Exporter) for e in exporters):
        raise error
    names = []
    for exporter in exporters:
        if not exporter.name:
            raise ValueError(
                "An Exporter cannot have a name that is `None` or empty. All "
                f"exporter names: {[e.name for e in exporters]}"
            )
        if not isinstance(exporter.name, str):
            raise ValueError(
                "An Exporter must have a string name. Given: "
                f"{type(exporter.name)}"
            )
        if exporter.name in names:
            raise ValueError(
                "`exporters` must have unique names. Such a name cannot be "
                f"`None`. All exporter names: {[e.name for e in exporters]}"
            )
        names.append(exporter.name)
    return tuple(exporters)
