"""`Estimator`: train, evaluate and predict a `model_fn` on TF 2.21.

The public surface of `tf.estimator.Estimator`: argument checking and the
original's messages live here; graph building and session loops live in
`kerasbridge._runtime`. Every call builds a fresh graph and keeps all state
in `model_dir` (name-based checkpoints in the original format).
"""

import copy
import os

import tensorflow as tf

from kerasbridge import run_config as run_config_lib
from kerasbridge import predictor as _predictor
from kerasbridge import warm_starting
from kerasbridge._runtime import _args
from kerasbridge._runtime import _checkpoints
from kerasbridge._runtime import _evaluate
from kerasbridge._runtime import _model_fn
from kerasbridge._runtime import _predict
from kerasbridge._runtime import _train
from kerasbridge.export import _saved_model
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.run_config import TaskType


class Estimator:
    """Trains, evaluates and predicts with a `model_fn`, as `tf.estimator`.

    Args:
        model_fn: `model_fn(features, labels, mode, params, config)` returning
            an `EstimatorSpec`; it may declare any subset of these arguments
            (`features` is required).
        model_dir: Directory for checkpoints and summaries. If unset here and
            in `config`, a temporary directory is used (and logged).
        config: A `RunConfig`, or None for the defaults.
        params: A dict passed to `model_fn` (and `input_fn`) as `params`.
        warm_start_from: A checkpoint path or `WarmStartSettings` used to
            initialise variables while `model_dir` has no checkpoint.

    Raises:
        ValueError: `model_fn` is missing or has unsupported arguments,
            `model_dir` is a file, or `config`/`model_dir` conflict.
        TypeError: `params` is not a dict.
    """

    def __init__(
        self,
        model_fn,
        model_dir=None,
        config=None,
        params=None,
        warm_start_from=None,
    ):
        if model_fn is None:
            raise ValueError("model_fn must be provided to Estimator.")
        if not callable(model_fn):
            raise TypeError(f"model_fn must be callable, given: {model_fn!r}")
        if params is not None and not isinstance(params, dict):
            raise TypeError(
                f"params must be a dict, given: {type(params).__name__} ({params!r})."
            )
        _model_fn.verify_model_fn_args(model_fn, params)
        self._config = (
            run_config_lib.maybe_overwrite_model_dir_and_session_config(
                config, model_dir
            )
        )
        self._model_dir = self._config.model_dir
        if os.path.exists(self._model_dir) and not os.path.isdir(
            self._model_dir
        ):
            raise ValueError(
                f"model_dir {self._model_dir!r} is a file, not a directory."
            )
        tf.compat.v1.logging.info("Using config: %s", str(vars(self._config)))
        self._model_fn = model_fn
        self._params = copy.deepcopy(params or {})
        self._warm_start_settings = warm_starting.normalize_warm_start(
            warm_start_from
        )

    # -- properties -----------------------------------------------------------

    @property
    def model_dir(self):
        """The directory holding checkpoints and summaries."""
        return self._model_dir

    @property
    def config(self):
        """A copy of the `RunConfig`."""
        return copy.deepcopy(self._config)

    @property
    def params(self):
        """A copy of the params dict."""
        return copy.deepcopy(self._params)

    @property
    def model_fn(self):
        """The `model_fn` bound to this Estimator's params.

        Returns:
            A function `(features, labels, mode, config)` returning the
            `EstimatorSpec`.
        """

        def public_model_fn(features, labels, mode, config):
            return _model_fn.call_model_fn(
                self._model_fn, features, labels, mode, self._params, config
            )

        return public_model_fn

    # -- checkpoints ----------------------------------------------------------

    def latest_checkpoint(self):
        """The newest checkpoint prefix in `model_dir`, or None."""
        return _checkpoints.latest_checkpoint(self._model_dir)

    def get_variable_names(self):
        """Names of the variables in the latest checkpoint.

        Raises:
            ValueError: `model_dir` has no checkpoint.
        """
        path = _checkpoints.require_checkpoint(self._model_dir)
        with _checkpoints.reading(path):
            return [name for name, _ in tf.train.list_variables(path)]

    def get_variable_value(self, name):
        """The value of variable `name` in the latest checkpoint.

        Raises:
            ValueError: `model_dir` has no checkpoint.
            tf.errors.NotFoundError: `name` is not in it (as the original).
        """
        path = _checkpoints.require_checkpoint(self._model_dir)
        try:
            with _checkpoints.reading(path):
                return tf.train.load_variable(path, name)
        except tf.errors.NotFoundError:
            raise tf.errors.NotFoundError(
                None,
                None,
                f"Variable {name!r} is not in the checkpoint {path}. "
                f"Available: {self.get_variable_names()}.",
            ) from None

    def eval_dir(self, name=None):
        """The directory `evaluate(name=name)` writes its summaries to."""
        return os.path.join(
            self._model_dir, "eval" if not name else "eval_" + name
        )

    # -- train / evaluate / predict ---------------------------------------

    def train(
        self,
        input_fn,
        hooks=None,
        steps=None,
        max_steps=None,
        saving_listeners=None,
    ):
        """Trains the model on batches from `input_fn`.

        Args:
            input_fn: Returns a `tf.data.Dataset` of `(features, labels)`, or
                a `(features, labels)` tuple of tensors.
            hooks: `SessionRunHook`s run during training.
            steps: Train this many more steps (adds up across calls).
            max_steps: Train until the global step reaches this number.
            saving_listeners: `CheckpointSaverListener`s run around saves.

        Returns:
            `self`, for chaining.

        Raises:
            ValueError: both or non-positive `steps`/`max_steps`, an
                evaluator/ps task, listeners without checkpointing, or a
                model_dir checkpoint that does not match the `model_fn`.
            TypeError: a hook or listener of the wrong type, or a
                non-integer `steps`/`max_steps`.
        """
        if self._config.task_type in (TaskType.EVALUATOR, TaskType.PS):
            raise ValueError(
                "Train has been called wrong configuration. Please use "
                "tf.estimator.train_and_evaluate which calls proper API "
                "according to given configuration. Current configuration: "
                f"{self._config}."
            )
        _args.check_number(steps, "steps")
        _args.check_number(max_steps, "max_steps")
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        if max_steps is not None:
            start_step = _checkpoints.global_step_in(self._model_dir)
            if max_steps <= start_step:
                tf.compat.v1.logging.info(
                    "Skipping training since max_steps has already saved."
                )
                return self
        hooks = _check_hooks(hooks)
        if steps is not None or max_steps is not None:
            hooks.append(
                tf.compat.v1.train.StopAtStepHook(
                    num_steps=steps, last_step=max_steps
                )
            )
        saving_listeners = _check_listeners(saving_listeners)
        loss = _train.train(
            self._model_fn,
            input_fn,
            self._params,
            self._config,
            hooks,
            saving_listeners,
            self._warm_start_settings,
        )
        tf.compat.v1.logging.info("Loss for final step: %s.", loss)
        return self

    def evaluate(
        self, input_fn, steps=None, hooks=None, checkpoint_path=None, name=None
    ):
        """Evaluates the model on `input_fn` and returns the metrics.

        Args:
            input_fn: As for `train`.
            steps: Number of batches to evaluate; None runs until the input
                is exhausted.
            hooks: `SessionRunHook`s run during evaluation.
            checkpoint_path: The checkpoint to evaluate; defaults to the
                latest one. Without any checkpoint, freshly initialised
                variables are evaluated (with a log line), as the original.
            name: Evaluation name; results go to `eval_dir(name)`.

        Returns:
            A dict of the `model_fn`'s metrics plus `loss` (mean over
            batches) and `global_step`.

        Raises:
            ValueError: non-positive `steps`, a metric named `loss` or
                `global_step`, or a checkpoint that does not match.
            TypeError: a hook of the wrong type, or a non-integer `steps`.
        """
        _args.check_number(steps, "steps")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        hooks = _check_hooks(hooks)
        return _evaluate.evaluate(
            self._model_fn,
            input_fn,
            self._params,
            self._config,
            steps,
            hooks,
            checkpoint_path,
            self.eval_dir(name),
            self._warm_start_settings,
        )

    def predict(
        self,
        input_fn,
        predict_keys=None,
        hooks=None,
        checkpoint_path=None,
        yield_single_examples=True,
    ):
        """Yields predictions for the features from `input_fn`.

        A generator: nothing runs until the first value is requested.

        Args:
            input_fn: Returns features (labels, if any, are ignored); use a
                `tf.data.Dataset` so the input ends.
            predict_keys: A key or list of keys of dict predictions to keep.
            hooks: `SessionRunHook`s run during prediction.
            checkpoint_path: The checkpoint to use; defaults to the latest.
            yield_single_examples: Yield one example at a time (True) or
                whole batches (False).

        Yields:
            One dict (or array) per example, or per batch.

        Raises:
            ValueError: unknown `predict_keys`, predictions whose batch
                lengths differ, or a checkpoint that does not match.
            TypeError: a hook of the wrong type.
        """
        hooks = _check_hooks(hooks)
        return _predict.predict(
            self._model_fn,
            input_fn,
            self._params,
            self._config,
            predict_keys,
            hooks,
            checkpoint_path,
            yield_single_examples,
            self._warm_start_settings,
        )

    # -- export (implemented in kerasbridge.export) -------------------------

    def export_saved_model(
        self,
        export_dir_base,
        serving_input_receiver_fn,
        assets_extra=None,
        as_text=False,
        checkpoint_path=None,
        experimental_mode=ModeKeys.PREDICT,
    ):
        """Exports the graph of one mode as a timestamped SavedModel.

        See `kerasbridge.export._saved_model.export_saved_model`.

        Returns:
            The export directory, as bytes.
        """
        return _saved_model.export_saved_model(
            self,
            export_dir_base,
            serving_input_receiver_fn,
            assets_extra=assets_extra,
            as_text=as_text,
            checkpoint_path=checkpoint_path,
            experimental_mode=experimental_mode,
        )

    def experimental_export_all_saved_models(
        self,
        export_dir_base,
        input_receiver_fn_map,
        assets_extra=None,
        as_text=False,
        checkpoint_path=None,
    ):
        """Exports one SavedModel with a graph per mode in the map.

        See `kerasbridge.export._saved_model.export_all_saved_models`.

        Returns:
            The export directory, as bytes.
        """
        return _saved_model.export_all_saved_models(
            self,
            export_dir_base,
            input_receiver_fn_map,
            assets_extra=assets_extra,
            as_text=as_text,
            checkpoint_path=checkpoint_path,
        )


    # -- repeated in-memory prediction (kerasbridge.predictor) -----------------

    def predictor(
        self,
        serving_input_receiver_fn=None,
        checkpoint_path=None,
        reload_on_new_checkpoint=False,
    ):
        """A callable that predicts from one open graph and session.

        Unlike `predict()`, which rebuilds the graph and restores the
        checkpoint on every call (as the original did), the returned
        `Predictor` builds them once and answers each call on a dict of numpy
        arrays in well under a millisecond for small batches.

        Args:
            serving_input_receiver_fn: Optional function returning a
                `ServingInputReceiver`; by default one placeholder per
                feature, typed from the first call's arrays.
            checkpoint_path: Checkpoint to load; default the latest.
            reload_on_new_checkpoint: Restore a newer checkpoint from
                `model_dir`, if one appeared, before each call.

        Returns:
            A `kerasbridge.Predictor` (callable; `close()` or use as a
            context manager).
        """
        return _predictor.make_predictor(
            self, serving_input_receiver_fn, checkpoint_path, reload_on_new_checkpoint
        )

def _check_hooks(hooks):
    hooks = list(hooks or [])
    for hook in hooks:
        if not isinstance(hook, tf.compat.v1.train.SessionRunHook):
            raise TypeError(f"Hooks must be a SessionRunHook, given: {hook}")
    return hooks


def _check_listeners(listeners):
    listeners = list(listeners or [])
    for listener in listeners:
        if not isinstance(listener, tf.compat.v1.train.CheckpointSaverListener):
            raise TypeError(
                "saving_listeners must be a list of CheckpointSaverListener, "
                f"given: {listener}"
            )
    return listeners
