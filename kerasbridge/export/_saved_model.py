"""`Estimator.export_saved_model`: a checkpoint to a servable TF1 SavedModel.

For each requested mode a fresh graph is built (global step, graph seed, the
receiver fn's placeholders, `model_fn`), the checkpoint is restored into a
session, and the graph is added to one `tf.compat.v1.saved_model.Builder`
with the signatures `model_fn`'s `export_outputs` describe. The SavedModel is
written to `<export_dir_base>/temp-<timestamp>` and renamed to
`<export_dir_base>/<timestamp>` only once complete, so a server watching the
base directory never sees a half-written export, and an earlier export is
never overwritten.
"""

import os

import tensorflow as tf
from tensorflow.python.saved_model import model_utils

from kerasbridge._runtime import _checkpoints
from kerasbridge._runtime import _quiet
from kerasbridge.export._model_graph import model_graph
from kerasbridge.mode_keys import ModeKeys

# The first mode exported also saves the variables. TRAIN goes first because
# its graph is the one checkpoints were written from.
_MODE_ORDER = (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT)


def export_saved_model(
    estimator,
    export_dir_base,
    serving_input_receiver_fn,
    assets_extra=None,
    as_text=False,
    checkpoint_path=None,
    experimental_mode=ModeKeys.PREDICT,
):
    """Exports `estimator`'s graph for one mode as a timestamped SavedModel.

    Args:
        estimator: the `Estimator` whose `model_fn` and checkpoint to export.
        export_dir_base: directory under which a new `<timestamp>` directory
            is created for this export.
        serving_input_receiver_fn: no-argument function returning a
            `ServingInputReceiver` / `TensorServingInputReceiver` (or a
            `SupervisedInputReceiver` for TRAIN/EVAL).
        assets_extra: optional dict of destination path (relative to
            `assets.extra/`) to source file path, copied into the export.
        as_text: whether to write `saved_model.pbtxt` instead of `.pb`.
        checkpoint_path: checkpoint to export; default the latest one in
            `estimator.model_dir`.
        experimental_mode: the `ModeKeys` mode whose graph is exported.

    Returns:
        The export directory, as bytes (as the original).

    Raises:
        ValueError: if `serving_input_receiver_fn` is missing, there is no
            checkpoint to export, or the checkpoint lacks a variable the
            graph needs.
    """
    if not serving_input_receiver_fn:
        raise ValueError("An input_receiver_fn must be defined.")
    return export_all_saved_models(
        estimator,
        export_dir_base,
        {experimental_mode: serving_input_receiver_fn},
        assets_extra=assets_extra,
        as_text=as_text,
        checkpoint_path=checkpoint_path,
    )


def export_all_saved_models(
    estimator,
    export_dir_base,
    input_receiver_fn_map,
    assets_extra=None,
    as_text=False,
    checkpoint_path=None,
):
    """Exports one SavedModel holding a graph per mode in the map.

    Args:
        estimator: the `Estimator` to export.
        export_dir_base: directory for the new `<timestamp>` export.
        input_receiver_fn_map: dict of `ModeKeys` mode to receiver fn.
        assets_extra: see `export_saved_model`.
        as_text: see `export_saved_model`.
        checkpoint_path: see `export_saved_model`.

    Returns:
        The export directory, as bytes.

    Raises:
        ValueError: if no mode in the map is exportable or there is no
            checkpoint (see `export_saved_model`).
    """
    modes = [mode for mode in _MODE_ORDER if input_receiver_fn_map.get(mode)]
    if not modes:
        raise ValueError(
            "No valid modes for exporting found. Got "
            f"{list(input_receiver_fn_map.keys())}."
        )
    checkpoint_path = _resolve_checkpoint(estimator, checkpoint_path)

    export_dir = model_utils.get_timestamped_export_dir(export_dir_base)
    temp_export_dir = model_utils.get_temp_export_dir(export_dir)
    # Raises if temp_export_dir exists: it may be another export's.
    builder = tf.compat.v1.saved_model.Builder(temp_export_dir)
    try:
        for i, mode in enumerate(modes):
            _add_meta_graph_for_mode(
                estimator,
                builder,
                input_receiver_fn_map[mode],
                checkpoint_path,
                mode,
                save_variables=(i == 0),
            )
        builder.save(as_text)
        if assets_extra:
            _copy_assets_extra(assets_extra, temp_export_dir)
    except BaseException:
        # A failed export leaves nothing behind, not even its temp dir.
        if tf.io.gfile.exists(temp_export_dir):
            tf.io.gfile.rmtree(temp_export_dir)
        raise
    tf.io.gfile.rename(temp_export_dir, export_dir)
    return export_dir


def _resolve_checkpoint(estimator, checkpoint_path):
    """The given checkpoint, else the latest, else the warm-start source."""
    if checkpoint_path:
        return checkpoint_path
    checkpoint_path = estimator.latest_checkpoint()
    if checkpoint_path:
        return checkpoint_path
    warm_start = getattr(estimator, "_warm_start_settings", None)
    if warm_start:
        checkpoint_path = warm_start.ckpt_to_initialize_from
        if tf.io.gfile.isdir(checkpoint_path):
            checkpoint_path = tf.train.latest_checkpoint(checkpoint_path)
        if checkpoint_path:
            return checkpoint_path
    raise ValueError(
        f"Couldn't find trained model at {estimator.model_dir}. "
        "Train the Estimator first (estimator.train(...)) so a checkpoint "
        "exists, or pass checkpoint_path= to export a specific checkpoint."
    )


def _add_meta_graph_for_mode(
    estimator, builder, input_receiver_fn, checkpoint_path, mode, save_variables
):
    """Builds `mode`'s graph, restores the checkpoint, adds it to `builder`."""
    with model_graph(estimator, input_receiver_fn, mode) as (_, receiver, spec):
        with _quiet.own_deprecations():
            export_outputs = model_utils.export_outputs_for_mode(
                mode=spec.mode,
                serving_export_outputs=spec.export_outputs,
                predictions=spec.predictions,
                loss=spec.loss,
                metrics=spec.eval_metric_ops,
            )
            signature_def_map = model_utils.build_all_signature_defs(
                receiver.receiver_tensors,
                export_outputs,
                getattr(receiver, "receiver_tensors_alternatives", None),
                serving_only=(mode == ModeKeys.PREDICT),
            )
        local_init_op = spec.scaffold.local_init_op
        if local_init_op is None:
            local_init_op = tf.compat.v1.train.Scaffold.default_local_init_op()
        # The same saver restores now and is stored in the export, so a
        # custom Scaffold saver carries over to whoever loads the model.
        saver = spec.scaffold.saver or tf.compat.v1.train.Saver(sharded=True)
        with tf.compat.v1.Session(config=estimator.config.session_config) as session:
            try:
                with _checkpoints.reading(checkpoint_path):
                    saver.restore(session, checkpoint_path)
            except tf.errors.NotFoundError as e:
                raise ValueError(
                    "Could not load all requested variables from checkpoint. "
                    "Please make sure your model_fn does not expect variables "
                    "that were not saved in the checkpoint.\n\n"
                    f"Encountered error with mode `{mode}` while restoring "
                    f"checkpoint from: `{checkpoint_path}`. Full Traceback:\n\n{e}"
                ) from e
            # A no-op for PREDICT; TRAIN exports keep their train_op.
            builder._add_train_op(spec.train_op)  # pylint: disable=protected-access
            meta_graph_kwargs = dict(
                tags=model_utils.EXPORT_TAG_MAP[mode],
                signature_def_map=signature_def_map,
                assets_collection=tf.compat.v1.get_collection(
                    tf.compat.v1.GraphKeys.ASSET_FILEPATHS
                ),
                main_op=local_init_op,
                saver=saver,
                strip_default_attrs=True,
            )
            if save_variables:
                builder.add_meta_graph_and_variables(session, **meta_graph_kwargs)
            else:
                builder.add_meta_graph(**meta_graph_kwargs)


def _copy_assets_extra(assets_extra, export_dir):
    """Copies `{relative destination: source path}` into `assets.extra/`."""
    assets_extra_path = os.path.join(os.fsdecode(export_dir), "assets.extra")
    for dest_relative, source in assets_extra.items():
        dest_absolute = os.path.join(assets_extra_path, os.fsdecode(dest_relative))
        tf.io.gfile.makedirs(os.path.dirname(dest_absolute))
        tf.io.gfile.copy(source, dest_absolute)
