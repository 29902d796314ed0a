"""Checking a `model_fn`'s signature and calling it."""

import tensorflow as tf

from kerasbridge import _keras_naming
from kerasbridge._runtime import _args
from kerasbridge._runtime import _keras_updates
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.mode_keys import ModeKeys

_ALLOWED_ARGS = frozenset(
    ["features", "labels", "mode", "params", "self", "config"]
)


def verify_model_fn_args(model_fn, params):
    """Checks `model_fn` takes the arguments the Estimator will pass.

    Args:
        model_fn: The user's model function.
        params: The Estimator's params (None or a dict).

    Raises:
        ValueError: `features` is missing, `params` is given but not taken,
            or `model_fn` has arguments the Estimator cannot supply.
    """
    args = set(_args.fn_args(model_fn))
    if "features" not in args:
        raise ValueError(
            f"model_fn ({model_fn}) must include features argument."
        )
    if params is not None and "params" not in args:
        raise ValueError(
            f"model_fn ({model_fn}) does not include params argument, "
            f"but params ({params}) is passed to Estimator."
        )
    if params is None and "params" in args:
        tf.compat.v1.logging.warning(
            "Estimator's model_fn (%s) includes params argument, but params "
            "are not passed to Estimator.",
            model_fn,
        )
    unexpected = sorted(args - _ALLOWED_ARGS)
    if unexpected:
        raise ValueError(
            f"model_fn ({model_fn}) has following not expected args: {unexpected}"
        )


def call_model_fn(model_fn, features, labels, mode, params, config):
    """Calls `model_fn` with the arguments it declares and checks the result.

    Keras layers built inside get stable names, and initial values seeded
    by `config.tf_random_seed` (see `_keras_naming`); in TRAIN mode their
    orphaned state updates (batch-norm statistics, dropout seeds) run with
    the train op (see `_keras_updates`).

    Args:
        model_fn: The user's model function.
        features: Features from `input_fn`.
        labels: Labels from `input_fn`, or None.
        mode: A `ModeKeys` value.
        params: The Estimator's params dict (a copy is passed).
        config: The Estimator's `RunConfig`.

    Returns:
        The `EstimatorSpec` returned by `model_fn`.

    Raises:
        ValueError: labels cannot be passed, the result is not an
            `EstimatorSpec`, or `model_fn` failed without the labels the mode
            usually needs.
    """
    declared = _args.fn_args(model_fn)
    kwargs = {}
    if "labels" in declared:
        kwargs["labels"] = labels
    elif labels is not None:
        raise ValueError(
            "model_fn does not take labels, but input_fn returns labels."
        )
    if "mode" in declared:
        kwargs["mode"] = mode
    if "params" in declared:
        kwargs["params"] = dict(params)
    if "config" in declared:
        kwargs["config"] = config
    tf.compat.v1.logging.info("Calling model_fn.")
    first_op_index = len(tf.compat.v1.get_default_graph().get_operations())
    try:
        seed = getattr(config, "tf_random_seed", None)
        with _keras_naming.keras_naming_scope(seed=seed) as keras_record:
            spec = model_fn(features=features, **kwargs)
    except Exception as error:
        if labels is None and "labels" in declared and mode != ModeKeys.PREDICT:
            # Usually the input_fn forgot to return labels; say so instead of
            # leaving the user with an error from deep inside a loss op.
            raise ValueError(
                f"model_fn failed in mode '{mode}' with labels=None: input_fn "
                f"returned no labels. Original error: {error}"
            ) from error
        raise
    tf.compat.v1.logging.info("Done calling model_fn.")
    if not isinstance(spec, EstimatorSpec):
        raise ValueError(
            "model_fn should return an EstimatorSpec, given: "
            f"{type(spec).__name__}."
        )
    if mode == ModeKeys.TRAIN:
        spec = _keras_updates.attach_orphaned_updates(
            spec, keras_record.layers(), first_op_index
        )
    return spec
