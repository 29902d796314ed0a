"""The exporters `train_and_evaluate` runs after each evaluation.

* `LatestExporter` exports every evaluated checkpoint and keeps the newest
  `exports_to_keep` exports.
* `BestExporter` exports only when `compare_fn` says the new evaluation beats
  the best one so far (lower eval loss by default). The best result survives
  restarts: on first use it is re-read from the eval event files.
* `FinalExporter` exports once, at the end of training.

Each writes timestamped SavedModels under `export_path`, which
`train_and_evaluate` sets to `<model_dir>/export/<exporter name>`.
"""

import os

import tensorflow as tf
from absl import logging
from tensorflow.python.util import function_utils

from kerasbridge._runtime import _summaries
from kerasbridge.exporter import Exporter

_LOSS_KEY = "loss"


class _SavedModelExporter(Exporter):
    """Exports the serving graph of the given checkpoint; shared by the others."""

    def __init__(
        self, name, serving_input_receiver_fn, assets_extra=None, as_text=False
    ):
        self._name = name
        self._serving_input_receiver_fn = serving_input_receiver_fn
        self._assets_extra = assets_extra
        self._as_text = as_text

    @property
    def name(self):
        return self._name

    def export(
        self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export
    ):
        del eval_result, is_the_final_export  # Every call exports.
        return estimator.export_saved_model(
            export_path,
            self._serving_input_receiver_fn,
            assets_extra=self._assets_extra,
            as_text=self._as_text,
            checkpoint_path=checkpoint_path,
        )


def _is_export_version(basename):
    # Timestamped export dirs are exactly 10 digits; `temp-*` dirs and anything
    # else a user put there are never garbage-collected.
    return len(basename) == 10 and basename.isdigit()


def _garbage_collect_exports(export_dir_base, exports_to_keep):
    """Deletes all but the `exports_to_keep` largest-numbered export dirs."""
    if exports_to_keep is None or not tf.io.gfile.isdir(export_dir_base):
        return
    names = (name.rstrip("/") for name in tf.io.gfile.listdir(export_dir_base))
    versions = sorted((n for n in names if _is_export_version(n)), key=int)
    for name in versions[: max(len(versions) - exports_to_keep, 0)]:
        path = os.path.join(export_dir_base, name)
        try:
            tf.io.gfile.rmtree(path)
        except tf.errors.NotFoundError as e:
            logging.warning("Can not delete %s recursively: %s", path, e)


def _check_exports_to_keep(exports_to_keep):
    if exports_to_keep is not None and exports_to_keep <= 0:
        raise ValueError(
            "`exports_to_keep`, if provided, must be a positive number. "
            f"Got {exports_to_keep}"
        )


def _loss_smaller(best_eval_result, current_eval_result):
    """True if `current_eval_result['loss']` is below the best one's.

    Raises:
        ValueError: if either result is empty or lacks `'loss'`.
    """
    if not best_eval_result or _LOSS_KEY not in best_eval_result:
        raise ValueError("best_eval_result cannot be empty or no loss is found in it.")
    if not current_eval_result or _LOSS_KEY not in current_eval_result:
        raise ValueError(
            "current_eval_result cannot be empty or no loss is found in it."
        )
    return best_eval_result[_LOSS_KEY] > current_eval_result[_LOSS_KEY]


def _verify_compare_fn_args(compare_fn):
    """`compare_fn` is called by keyword, so its argument names are fixed."""
    args = set(function_utils.fn_args(compare_fn))
    if "best_eval_result" not in args:
        raise ValueError(
            f"compare_fn ({compare_fn}) must include best_eval_result argument."
        )
    if "current_eval_result" not in args:
        raise ValueError(
            f"compare_fn ({compare_fn}) must include current_eval_result argument."
        )
    non_valid_args = sorted(args - {"best_eval_result", "current_eval_result"})
    if non_valid_args:
        raise ValueError(
            f"compare_fn ({compare_fn}) has following not expected args: "
            f"{non_valid_args}"
        )


class LatestExporter(Exporter):
    """Exports every evaluated checkpoint, keeping the newest few exports.

    Args:
        name: unique name of this exporter; the export subdirectory name.
        serving_input_receiver_fn: a no-argument function returning a
            `ServingInputReceiver`.
        assets_extra: optional dict of destination path (relative to
            `assets.extra/`) to source file path, copied into each export.
        as_text: whether to write the SavedModel proto as text.
        exports_to_keep: how many exports to keep; older ones are deleted.
            None disables garbage collection.

    Raises:
        ValueError: if `exports_to_keep` is not positive.
    """

    def __init__(
        self,
        name,
        serving_input_receiver_fn,
        assets_extra=None,
        as_text=False,
        exports_to_keep=5,
    ):
        self._saved_model_exporter = _SavedModelExporter(
            name, serving_input_receiver_fn, assets_extra, as_text
        )
        _check_exports_to_keep(exports_to_keep)
        self._exports_to_keep = exports_to_keep

    @property
    def name(self):
        return self._saved_model_exporter.name

    def export(
        self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export
    ):
        export_result = self._saved_model_exporter.export(
            estimator, export_path, checkpoint_path, eval_result, is_the_final_export
        )
        _garbage_collect_exports(export_path, self._exports_to_keep)
        return export_result


class BestExporter(Exporter):
    """Exports a checkpoint only when its evaluation beats the best so far.

    Args:
        name: unique name of this exporter; the export subdirectory name.
        serving_input_receiver_fn: a no-argument function returning a
            `ServingInputReceiver`.
        event_file_pattern: glob, relative to `model_dir`, of the event files
            holding earlier evaluations; the best of them is the bar a new
            evaluation must beat, which makes the exporter restart-safe.
            None starts from no bar.
        compare_fn: `compare_fn(best_eval_result, current_eval_result)`
            returning True when the current result is better. Default: lower
            `'loss'`.
        assets_extra: optional dict of destination path (relative to
            `assets.extra/`) to source file path, copied into each export.
        as_text: whether to write the SavedModel proto as text.
        exports_to_keep: how many exports to keep; older ones are deleted.
            None disables garbage collection.

    Raises:
        ValueError: if `compare_fn` is None or has other argument names, or
            `exports_to_keep` is not positive.
    """

    def __init__(
        self,
        name="best_exporter",
        serving_input_receiver_fn=None,
        event_file_pattern="eval/*.tfevents.*",
        compare_fn=_loss_smaller,
        assets_extra=None,
        as_text=False,
        exports_to_keep=5,
    ):
        if compare_fn is None:
            raise ValueError("`compare_fn` must not be None.")
        _verify_compare_fn_args(compare_fn)
        self._compare_fn = compare_fn
        self._saved_model_exporter = _SavedModelExporter(
            name, serving_input_receiver_fn, assets_extra, as_text
        )
        self._event_file_pattern = event_file_pattern
        self._model_dir = None
        self._best_eval_result = None
        self._has_exported = False
        _check_exports_to_keep(exports_to_keep)
        self._exports_to_keep = exports_to_keep

    @property
    def name(self):
        return self._saved_model_exporter.name

    def export(
        self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export
    ):
        if self._model_dir != estimator.model_dir and self._event_file_pattern:
            logging.info("Loading best metric from event files.")
            self._model_dir = estimator.model_dir
            self._best_eval_result = self._get_best_eval_result(
                os.path.join(self._model_dir, self._event_file_pattern)
            )

        # The evaluation being exported was already written to the event
        # files, so on the first export it may *be* the reloaded best one.
        is_better = (
            self._best_eval_result is None
            or (not self._has_exported and self._best_eval_result == eval_result)
            or self._compare_fn(
                best_eval_result=self._best_eval_result,
                current_eval_result=eval_result,
            )
        )
        if not is_better:
            return None
        logging.info("Performing best model export.")
        self._best_eval_result = eval_result
        export_result = self._saved_model_exporter.export(
            estimator, export_path, checkpoint_path, eval_result, is_the_final_export
        )
        _garbage_collect_exports(export_path, self._exports_to_keep)
        self._has_exported = True
        return export_result

    def _get_best_eval_result(self, event_files):
        """The best scalar-summary dict over all events matching the glob."""
        best_eval_result = None
        for event_file in tf.io.gfile.glob(event_files):
            for event in tf.compat.v1.train.summary_iterator(event_file):
                event_eval_result = _summaries.scalar_values(event)
                if event_eval_result and (
                    best_eval_result is None
                    or self._compare_fn(
                        best_eval_result=best_eval_result,
                        current_eval_result=event_eval_result,
                    )
                ):
                    best_eval_result = event_eval_result
        return best_eval_result


class FinalExporter(Exporter):
    """Exports once, when `train_and_evaluate` reaches `max_steps`.

    Args:
        name: unique name of this exporter; the export subdirectory name.
        serving_input_receiver_fn: a no-argument function returning a
            `ServingInputReceiver`.
        assets_extra: optional dict of destination path (relative to
            `assets.extra/`) to source file path, copied into the export.
        as_text: whether to write the SavedModel proto as text.
    """

    def __init__(
        self, name, serving_input_receiver_fn, assets_extra=None, as_text=False
    ):
        self._saved_model_exporter = _SavedModelExporter(
            name, serving_input_receiver_fn, assets_extra, as_text
        )

    @property
    def name(self):
        return self._saved_model_exporter.name

    def export(
        self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export
    ):
        if not is_the_final_export:
            return None
        logging.info("Performing the final export in the end of training.")
        return self._saved_model_exporter.export(
            estimator, export_path, checkpoint_path, eval_result, is_the_final_export
        )
