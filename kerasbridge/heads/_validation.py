"""Validation of head constructor and `create_estimator_spec` arguments.

Messages are the original's (`tf.estimator` head `base_head.validate_*`).
"""

import inspect

_VALIDATION_ERROR_MSG = "{} should be a list or a tuple. Given type: {}."
# tf.losses.Reduction values, NONE excluded (a head needs a scalar loss).
_LOSS_REDUCTIONS = ("auto", "sum", "sum_over_batch_size")


def loss_fn_args(loss_fn):
    """The argument names of `loss_fn` (functools.partial-aware)."""
    return tuple(inspect.signature(loss_fn).parameters)


def validate_loss_fn_args(loss_fn):
    """`loss_fn` takes labels and logits, optionally features, loss_reduction."""
    args = loss_fn_args(loss_fn)
    for required_arg in ("labels", "logits"):
        if required_arg not in args:
            raise ValueError(
                f"loss_fn must contain argument: {required_arg}. "
                f"Given arguments: {args}"
            )
    invalid_args = sorted(
        set(args) - {"labels", "logits", "features", "loss_reduction"}
    )
    if invalid_args:
        raise ValueError(f"loss_fn has unexpected args: {invalid_args}")


def validate_loss_reduction(loss_reduction):
    """One of `tf.losses.Reduction` except NONE ('auto', 'sum', ...)."""
    if loss_reduction not in _LOSS_REDUCTIONS:
        raise ValueError(
            f"Invalid loss_reduction: {loss_reduction}. See "
            "`tf.losses.Reduction` for valid options."
        )


def validate_update_ops(update_ops):
    if update_ops is not None and not isinstance(update_ops, (list, tuple)):
        raise ValueError(
            _VALIDATION_ERROR_MSG.format("update_ops", type(update_ops))
        )


def validate_trainable_variables(trainable_variables):
    if trainable_variables is None:
        raise ValueError(
            f"trainable_variables cannot be None. Given {trainable_variables}"
        )
    if not isinstance(trainable_variables, (list, tuple)):
        raise ValueError(
            _VALIDATION_ERROR_MSG.format(
                "trainable_variables", type(trainable_variables)
            )
        )


def validate_n_classes(n_classes):
    """`n_classes` must be an int > 2 (multi-class)."""
    if isinstance(n_classes, int) and n_classes <= 2:
        raise ValueError(f"n_classes must be > 2: {n_classes}.")
    return n_classes


def check_prediction_keys(pred_keys, valid_keys):
    for key in pred_keys:
        if key not in valid_keys:
            raise ValueError(
                f"Prediction key must be in PredictionKeys, given: {key}."
                f"Valid prediction keys include {valid_keys}."
            )


def validate_label_vocabulary(label_vocabulary):
    """None, or a list or tuple (of strings)."""
    if label_vocabulary is not None and not isinstance(
        label_vocabulary, (list, tuple)
    ):
        raise ValueError(
            "label_vocabulary should be a list or a tuple. "
            f"Given type: {type(label_vocabulary)}"
        )
