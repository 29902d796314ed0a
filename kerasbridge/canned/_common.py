"""Pieces every canned estimator shares: heads, validation, train ops, summaries."""

import tensorflow as tf
from tensorflow.python.feature_column import feature_column_v2 as _fc_v2

from kerasbridge.canned import _optimizers
from kerasbridge.heads import BinaryClassHead, MultiClassHead, RegressionHead

SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

_V1_COLUMNS_MSG = (
    "Received a feature column from TensorFlow v1, but this is a TensorFlow v2 Estimator. "
    "Please either use v2 feature columns (accessible via tf.feature_column.* in TF 2.x) "
    "with this Estimator, or switch to a v1 Estimator for use with v1 feature columns "
    "(accessible via tf.compat.v1.estimator.* and tf.compat.v1.feature_column.*, "
    "respectively."
)


def classifier_head(n_classes, weight_column, label_vocabulary, loss_reduction):
    """`BinaryClassHead` for two classes, else `MultiClassHead` (which rejects n < 3)."""
    if n_classes == 2:
        return BinaryClassHead(
            weight_column=weight_column, label_vocabulary=label_vocabulary,
            loss_reduction=loss_reduction)
    return MultiClassHead(
        n_classes, weight_column=weight_column, label_vocabulary=label_vocabulary,
        loss_reduction=loss_reduction)


def regressor_head(label_dimension, weight_column, loss_reduction):
    return RegressionHead(
        label_dimension=label_dimension, weight_column=weight_column,
        loss_reduction=loss_reduction)


def check_head(head):
    if not hasattr(head, "create_estimator_spec") or not hasattr(head, "logits_dimension"):
        raise ValueError(f"head must be a Head instance (kb.BinaryClassHead, ...). Given: {head!r}")
    return head


def columns_tuple(feature_columns, argument="feature_columns"):
    """The columns as a tuple; v1 columns are the original's ValueError."""
    if feature_columns is None:
        return ()
    if hasattr(feature_columns, "name") and hasattr(feature_columns, "_parse_example_spec"):
        feature_columns = [feature_columns]
    columns = tuple(feature_columns)
    if columns and not _fc_v2.is_feature_column_v2(columns):
        raise ValueError(_V1_COLUMNS_MSG)
    return columns


def check_optimizer(opt):
    """Fails at construction for an unknown optimizer name (the original failed at
    train time, with the same message) and converts a Keras optimizer once.

    Returns:
        `opt`, or the `GraphOptimizer` made from a Keras optimizer instance.
    """
    if isinstance(opt, str) or (callable(opt) and not hasattr(opt, "get_config")):
        if isinstance(opt, str):
            _optimizers.get_optimizer(opt)
        return opt  # a callable is called when the graph is built, as the original did
    if opt is None:
        return opt
    return _optimizers.get_optimizer(opt)


def check_features(features):
    if not isinstance(features, dict):
        raise ValueError(
            "features should be a dictionary of `Tensor`s. Given type: {}".format(type(features))
        )


def optimizer_updates(optimizer, loss, var_list, use_global_step):
    """The update op of one optimizer; it counts the global step if `use_global_step`
    (the original made that optimizer's `iterations` the global step)."""
    global_step = tf.compat.v1.train.get_global_step() if use_global_step else None
    if isinstance(optimizer, tf.compat.v1.train.Optimizer):
        return optimizer.minimize(loss, global_step=global_step, var_list=list(var_list))
    return optimizer.get_updates(loss, list(var_list), iterations=global_step)


def layer_summary(value, tag):
    """The original's per-layer summaries (fraction of zeros, activation histogram)."""
    tf.compat.v1.summary.scalar(f"{tag}/fraction_of_zero_values", tf.math.zero_fraction(value))
    tf.compat.v1.summary.histogram(f"{tag}/activation", value)
