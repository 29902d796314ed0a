"""The TRAIN-mode op and summaries a head adds to its `EstimatorSpec`."""

import keras
import tensorflow as tf

from kerasbridge.heads import _validation
from kerasbridge.heads._keys import MetricKeys


def create_train_op(
    optimizer, trainable_variables, train_op_fn, update_ops, loss
):
    """The train op from exactly one of `optimizer` and `train_op_fn`.

    `optimizer` may be a `tf.compat.v1.train.Optimizer` (its `minimize`
    increments the global step, as the original's canned estimators did by
    making the Keras 2 optimizer's `iterations` the global step), or any
    object with the Keras 2 optimizer method `get_updates(loss, params)`.

    Args:
        optimizer: See above, or None.
        trainable_variables: The variables to train (list or tuple); required
            with an optimizer.
        train_op_fn: `loss -> train_op`, used when `optimizer` is None.
        update_ops: Extra ops grouped into the train op (e.g. batch-norm
            moving statistics), a list or tuple, or None.
        loss: The scalar regularized training loss.

    Returns:
        The train op.

    Raises:
        ValueError: Both or neither of `optimizer` and `train_op_fn`; an
            optimizer of another kind (a Keras 3 optimizer in particular);
            bad `trainable_variables` or `update_ops`.
    """
    _validation.validate_update_ops(update_ops)
    with tf.compat.v1.name_scope(""):  # Reset the head's name scope.
        with tf.compat.v1.name_scope("training"):
            if optimizer is not None:
                if train_op_fn is not None:
                    raise ValueError(
                        "train_op_fn and optimizer cannot both be set."
                    )
                train_op = _optimizer_train_op(
                    optimizer, trainable_variables, loss
                )
            elif train_op_fn is not None:
                train_op = train_op_fn(loss)
            else:
                raise ValueError(
                    "train_op_fn and optimizer cannot both be None."
                )
            if update_ops is not None:
                train_op = tf.group(train_op, *update_ops)
            return train_op


def _optimizer_train_op(optimizer, trainable_variables, loss):
    if isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(
            "A Keras 3 optimizer cannot train inside the Estimator's TF1 "
            "graph. Pass a tf.compat.v1.train.Optimizer (for example "
            "tf.compat.v1.train.AdagradOptimizer(0.05)) or a train_op_fn. "
            f"Received optimizer of type {type(optimizer)}"
        )
    if isinstance(optimizer, tf.compat.v1.train.Optimizer):
        _validation.validate_trainable_variables(trainable_variables)
        return optimizer.minimize(
            loss,
            global_step=tf.compat.v1.train.get_global_step(),
            var_list=list(trainable_variables),
        )
    if callable(getattr(optimizer, "get_updates", None)):
        _validation.validate_trainable_variables(trainable_variables)
        return optimizer.get_updates(loss, list(trainable_variables))[0]
    raise ValueError(
        "The given optimizer is not a tf.compat.v1.train.Optimizer instance "
        "(nor a Keras 2 style optimizer with get_updates). "
        f"Received optimizer of type {type(optimizer)}"
    )


def add_summaries(loss, regularization_losses=None, summary_key_fn=None):
    """Scalar summaries of the training loss (and regularization loss)."""
    key_fn = summary_key_fn or (lambda key: key)
    with tf.compat.v1.name_scope(""):
        tf.compat.v1.summary.scalar(key_fn(MetricKeys.LOSS), loss)
        if regularization_losses is not None:
            tf.compat.v1.summary.scalar(
                key_fn(MetricKeys.LOSS_REGULARIZATION),
                tf.math.add_n(regularization_losses),
            )
