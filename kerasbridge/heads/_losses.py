"""Loss reduction and custom `loss_fn` calls, as the original heads did them."""

import tensorflow as tf

from kerasbridge.heads import _validation


def weighted_loss(unweighted_loss, weights, reduction):
    """Keras 2's `compute_weighted_loss`: `sum(w * loss)`, then the reduction.

    Args:
        unweighted_loss: Per-example losses `[D0, ..., DN, d]`.
        weights: Weights broadcastable to the losses, or 1.0.
        reduction: 'sum', or 'sum_over_batch_size'/'auto' (the sum divided
            by the number of loss elements, `batch_size * d`).

    Returns:
        The scalar training loss (float32).
    """
    losses = tf.cast(unweighted_loss, tf.float32)
    weighted = losses * tf.cast(weights, tf.float32)
    total = tf.reduce_sum(weighted)
    if reduction == "sum":
        return total
    count = tf.cast(tf.size(weighted), tf.float32)
    return tf.math.divide_no_nan(total, count)


def regularized(training_loss, regularization_losses):
    """The training loss plus the sum of the regularization losses."""
    if regularization_losses is None:
        return training_loss
    return training_loss + tf.math.add_n(regularization_losses)


def call_loss_fn(loss_fn, labels, logits, features, expected_loss_dim=1):
    """Calls a user `loss_fn`; asserts (at run time) its result's shape.

    Returns:
        The loss tensor `[D0, ..., DN, expected_loss_dim]`.
    """
    kwargs = {}
    if "features" in _validation.loss_fn_args(loss_fn):
        kwargs["features"] = features
    values = [labels, logits] + list((features or {}).values())
    with tf.compat.v1.name_scope("call_loss_fn", values=values):
        unweighted_loss = loss_fn(labels=labels, logits=logits, **kwargs)
        logits_shape = tf.shape(logits, name="logits_shape")
        expected_shape = tf.concat(
            [logits_shape[:-1], [expected_loss_dim]],
            axis=0,
            name="expected_loss_shape",
        )
        loss_shape = tf.shape(unweighted_loss, name="loss_shape")
        check = tf.debugging.Assert(
            tf.reduce_all(tf.equal(loss_shape, expected_shape)),
            data=[
                "loss_fn must return Tensor of shape "
                f"[D0, D1, ... DN, {expected_loss_dim}]. ",
                "logits_shape: ",
                logits_shape,
                "loss_shape: ",
                loss_shape,
            ],
            name="check_loss_shape",
        )
        with tf.control_dependencies([check]):
            return tf.identity(unweighted_loss)
