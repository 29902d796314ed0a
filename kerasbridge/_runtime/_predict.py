"""Prediction: one session run per batch, examples yielded from numpy."""

import tensorflow as tf

from kerasbridge._runtime import _checkpoints
from kerasbridge._runtime import _graph
from kerasbridge._runtime import _inputs
from kerasbridge._runtime import _model_fn
from kerasbridge._runtime import _session
from kerasbridge._runtime import _warm_start
from kerasbridge.mode_keys import ModeKeys


def predict(
    model_fn,
    input_fn,
    params,
    config,
    predict_keys,
    hooks,
    checkpoint_path,
    yield_single_examples,
    warm_start_settings,
):
    """Yields predictions batch by batch or example by example.

    A generator: nothing runs until the first `next()`. Each batch costs one
    `session.run` (a direct callable when no hook watches runs, see
    `_session.fetch_runner`); single examples are sliced out of the fetched
    arrays. With the Estimator's default session config on a CPU-only local
    machine, the session places only the ops each run needs
    (`_session.with_pruned_placement`).

    Args:
        model_fn: The user's model function.
        input_fn: The user's input function (labels are ignored).
        params: The Estimator's params dict.
        config: The Estimator's `RunConfig`.
        predict_keys: None, a key or a list of keys of dict predictions.
        hooks: Validated user hooks.
        checkpoint_path: A checkpoint prefix, or None to use the latest one.
        yield_single_examples: Yield rows (True) or whole batches (False).
        warm_start_settings: Applied when no checkpoint exists, or None.

    Yields:
        Dicts of numpy values (dict predictions) or numpy values.

    Raises:
        ValueError: bad `predict_keys`, a checkpoint that does not match the
            graph, or predictions without a common batch length.
    """
    checkpoint = _checkpoints.resolve_checkpoint(
        checkpoint_path, config.model_dir, "predict"
    )
    with _graph.call_graph(config):
        features, _, input_hooks = _inputs.call_input_fn(
            input_fn, ModeKeys.PREDICT, params, config
        )
        if not _reads_finite_input(features, input_hooks):
            tf.compat.v1.logging.warning(
                "Input graph does not use tf.data.Dataset or contain a "
                "QueueRunner. That means predict yields forever. This is "
                "probably a mistake."
            )
        spec = _model_fn.call_model_fn(
            model_fn, features, None, ModeKeys.PREDICT, params, config
        )
        predictions = select_predictions(spec.predictions, predict_keys)
        if checkpoint:
            _checkpoints.check_restorable(checkpoint, spec.scaffold)
        elif warm_start_settings is not None:
            _warm_start.apply_warm_start(warm_start_settings)
        all_hooks = (
            list(input_hooks) + list(hooks) + list(spec.prediction_hooks)
        )
        with _session.monitored_session(
            spec.scaffold,
            checkpoint,
            config.master,
            _session.with_pruned_placement(
                config.session_config, config.master
            ),
            all_hooks,
        ) as session:
            run_batch = _session.fetch_runner(session, predictions, all_hooks)
            while not session.should_stop():
                batch = run_batch()
                if not yield_single_examples:
                    yield batch
                elif isinstance(batch, dict):
                    yield from _rows_of_dict(batch)
                else:
                    yield from _rows_of_array(batch, "predictions")


def select_predictions(predictions, predict_keys):
    """Filters dict predictions to `predict_keys`.

    Raises:
        ValueError: keys given for non-dict predictions, or a key the
            predictions do not have (the message lists the available ones).
    """
    if predict_keys is None:
        return predictions
    if isinstance(predict_keys, str):
        predict_keys = [predict_keys]
    if not isinstance(predictions, dict):
        raise ValueError(
            "predict_keys argument is not valid in case of non-dict predictions."
        )
    unknown = [k for k in predict_keys if k not in predictions]
    if unknown or not predict_keys:
        raise ValueError(
            f"predict_keys {list(predict_keys)} contains keys the predictions "
            f"do not have: {unknown}. Available prediction keys: "
            f"{sorted(predictions)}."
        )
    return {k: predictions[k] for k in predict_keys}


def _rows_of_dict(batch):
    keys = list(batch)
    length = None
    for key in keys:
        value = batch[key]
        if getattr(value, "ndim", 0) == 0:
            raise ValueError(
                f"Prediction {key!r} is a scalar, so it has no batch dimension "
                "to split into examples; give it a leading batch dimension or "
                "use yield_single_examples=False."
            )
        if length is None:
            length = value.shape[0]
        elif value.shape[0] != length:
            raise ValueError(
                f"Batch length of predictions should be same. {key} has "
                f"different batch length than others ({value.shape[0]} vs "
                f"{length})."
            )
    for row in zip(*(batch[k] for k in keys)):
        yield dict(zip(keys, row))


def _rows_of_array(batch, name):
    if getattr(batch, "ndim", 0) == 0:
        raise ValueError(
            f"{name} is a scalar, so it has no batch dimension to split into "
            "examples; use yield_single_examples=False."
        )
    yield from batch


def _reads_finite_input(features, input_hooks):
    if input_hooks:
        return True
    if tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.QUEUE_RUNNERS):
        return True
    for leaf in tf.nest.flatten(features, expand_composites=True):
        if getattr(leaf, "op", None) is not None and leaf.op.type in (
            "IteratorGetNext",
            "IteratorGetNextSync",
        ):
            return True
    return False
