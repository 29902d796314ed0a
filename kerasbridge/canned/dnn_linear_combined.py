"""`DNNLinearCombinedClassifier/Regressor/Estimator`: wide (linear) and deep (DNN) models.

The logits are the sum of the `dnn/...` network of `kb.DNNClassifier` and the
`linear/linear_model/...` model of `kb.LinearClassifier`. Each part trains with
its own optimizer, as the original did: the DNN optimizer counts the global step
(the linear one keeps its own `training/<Optimizer>/iter`), or the linear one
when there is no DNN part. Defaults as the original's v2 estimators: Adagrad at
0.001 for the DNN, Ftrl at min(0.005, 1/sqrt(number of linear columns)).
"""

import math

import tensorflow as tf

from featurec import _lower_tf
from kerasbridge.canned import _common, _optimizers
from kerasbridge.canned.dnn import _check_dnn_args, dnn_logits
from kerasbridge.canned.linear import check_sparse_combiner, linear_logits
from kerasbridge.estimator import Estimator
from kerasbridge.mode_keys import ModeKeys

_DNN_LEARNING_RATE = 0.001
_LINEAR_LEARNING_RATE = 0.005


def _linear_learning_rate(num_columns):
    return min(_LINEAR_LEARNING_RATE, 1.0 / math.sqrt(num_columns))


def _combined_model_fn(features, labels, mode, head, linear_columns, linear_optimizer,
                       dnn_columns, dnn_optimizer, dnn_hidden_units, dnn_activation_fn,
                       dnn_dropout, batch_norm, linear_sparse_combiner):
    _common.check_features(features)
    # Both parts read the same raw features: their categorical ids (hash
    # buckets, vocabulary lookups) are built once and shared.
    with _lower_tf.shared(features):
        parts = _parts(features, mode, head, linear_columns, linear_optimizer, dnn_columns,
                       dnn_optimizer, dnn_hidden_units, dnn_activation_fn, dnn_dropout,
                       batch_norm, linear_sparse_combiner)
    logits = parts[0][0] if len(parts) == 1 else parts[0][0] + parts[1][0]

    def train_op_fn(loss):
        train_ops = []
        for i, (_, trainable, update_ops, make_optimizer) in enumerate(parts):
            train_ops.append(_common.optimizer_updates(
                make_optimizer(), loss, trainable, use_global_step=(i == 0)))
            train_ops += update_ops
        return tf.group(*train_ops)

    return head.create_estimator_spec(
        features=features, mode=mode, labels=labels, logits=logits, train_op_fn=train_op_fn)


def _parts(features, mode, head, linear_columns, linear_optimizer, dnn_columns, dnn_optimizer,
           dnn_hidden_units, dnn_activation_fn, dnn_dropout, batch_norm, linear_sparse_combiner):
    """[(logits, trainable variables, update ops, optimizer factory)] per part."""
    parts = []
    if dnn_columns:
        logits, trainable, update_ops = dnn_logits(
            features, mode, head.logits_dimension, dnn_hidden_units, dnn_columns,
            dnn_activation_fn, dnn_dropout, batch_norm)
        parts.append((logits, trainable, update_ops, lambda: _optimizers.get_optimizer(
            dnn_optimizer, learning_rate=_DNN_LEARNING_RATE)))
    if linear_columns:
        logits, trainable = linear_logits(
            features, head.logits_dimension, linear_columns, linear_sparse_combiner)
        _common.layer_summary(logits, "linear")
        parts.append((logits, trainable, [], lambda: _optimizers.get_optimizer(
            linear_optimizer, learning_rate=_linear_learning_rate(len(linear_columns)))))
    return parts


def _validate_columns(linear_feature_columns, dnn_feature_columns, dnn_hidden_units,
                      dnn_dropout):
    linear = _common.columns_tuple(linear_feature_columns)
    dnn = _common.columns_tuple(dnn_feature_columns)
    if not linear and not dnn:
        raise ValueError(
            "Either linear_feature_columns or dnn_feature_columns must be defined.")
    hidden = ()
    if dnn:
        if not dnn_hidden_units:
            raise ValueError(
                "dnn_hidden_units must be defined when dnn_feature_columns is specified.")
        hidden = _check_dnn_args(dnn_hidden_units, dnn_dropout)
    return linear, dnn, hidden


class DNNLinearCombinedEstimator(Estimator):
    """An estimator for wide & deep models with a user-given head.

    Args:
        head: a `kb.BinaryClassHead`, `kb.MultiClassHead`, `kb.RegressionHead`, ...
        model_dir, config, warm_start_from: as `kb.Estimator`.
        linear_feature_columns: columns of the linear part (categorical or dense).
        linear_optimizer: its optimizer (default 'Ftrl'); see `kb.LinearClassifier`.
        dnn_feature_columns: dense columns of the DNN part.
        dnn_optimizer: its optimizer (default 'Adagrad'); see `kb.DNNClassifier`.
        dnn_hidden_units, dnn_activation_fn, dnn_dropout, batch_norm: the DNN part's
            layers (see `kb.DNNClassifier`).
        linear_sparse_combiner: the linear part's `sparse_combiner`.

    Raises:
        ValueError: no columns at all, DNN columns without `dnn_hidden_units`,
            v1 columns, an unknown optimizer name or combiner.
    """

    def __init__(self, head, model_dir=None, linear_feature_columns=None,
                 linear_optimizer="Ftrl", dnn_feature_columns=None, dnn_optimizer="Adagrad",
                 dnn_hidden_units=None, dnn_activation_fn=tf.nn.relu, dnn_dropout=None,
                 config=None, batch_norm=False, linear_sparse_combiner="sum",
                 warm_start_from=None):
        _common.check_head(head)
        linear, dnn, hidden = _validate_columns(
            linear_feature_columns, dnn_feature_columns, dnn_hidden_units, dnn_dropout)
        linear_optimizer = _common.check_optimizer(linear_optimizer)
        dnn_optimizer = _common.check_optimizer(dnn_optimizer)
        check_sparse_combiner(linear_sparse_combiner, "linear_sparse_combiner")
        self._head = head
        self._feature_columns = linear + dnn

        def _model_fn(features, labels, mode, config):
            return _combined_model_fn(
                features, labels, mode, head, linear, linear_optimizer, dnn, dnn_optimizer,
                hidden, dnn_activation_fn, dnn_dropout, batch_norm,
                linear_sparse_combiner)

        super().__init__(model_fn=_model_fn, model_dir=model_dir, config=config,
                         warm_start_from=warm_start_from)


class DNNLinearCombinedClassifier(DNNLinearCombinedEstimator):
    """A wide & deep classifier (the original's `tf.estimator.DNNLinearCombinedClassifier`).

    Args:
        n_classes, weight_column, label_vocabulary, loss_reduction: as
            `kb.DNNClassifier`; the rest see `DNNLinearCombinedEstimator`.
    """

    def __init__(self, model_dir=None, linear_feature_columns=None, linear_optimizer="Ftrl",
                 dnn_feature_columns=None, dnn_optimizer="Adagrad", dnn_hidden_units=None,
                 dnn_activation_fn=tf.nn.relu, dnn_dropout=None, n_classes=2,
                 weight_column=None, label_vocabulary=None, config=None,
                 warm_start_from=None, loss_reduction=_common.SUM_OVER_BATCH_SIZE,
                 batch_norm=False, linear_sparse_combiner="sum"):
        # Column errors before head errors, in the original's order (the base
        # class validates again; construction only, not per step).
        _validate_columns(linear_feature_columns, dnn_feature_columns, dnn_hidden_units,
                          dnn_dropout)
        head = _common.classifier_head(n_classes, weight_column, label_vocabulary,
                                       loss_reduction)
        super().__init__(
            head, model_dir=model_dir, linear_feature_columns=linear_feature_columns,
            linear_optimizer=linear_optimizer, dnn_feature_columns=dnn_feature_columns,
            dnn_optimizer=dnn_optimizer, dnn_hidden_units=dnn_hidden_units,
            dnn_activation_fn=dnn_activation_fn, dnn_dropout=dnn_dropout, config=config,
            batch_norm=batch_norm, linear_sparse_combiner=linear_sparse_combiner,
            warm_start_from=warm_start_from)


class DNNLinearCombinedRegressor(DNNLinearCombinedEstimator):
    """A wide & deep regressor (the original's `tf.estimator.DNNLinearCombinedRegressor`).

    Args:
        label_dimension, weight_column, loss_reduction: as `kb.DNNRegressor`;
            the rest see `DNNLinearCombinedEstimator`.
    """

    def __init__(self, model_dir=None, linear_feature_columns=None, linear_optimizer="Ftrl",
                 dnn_feature_columns=None, dnn_optimizer="Adagrad", dnn_hidden_units=None,
                 dnn_activation_fn=tf.nn.relu, dnn_dropout=None, label_dimension=1,
                 weight_column=None, config=None, warm_start_from=None,
                 loss_reduction=_common.SUM_OVER_BATCH_SIZE, batch_norm=False,
                 linear_sparse_combiner="sum"):
        # Column errors before head errors, in the original's order (the base
        # class validates again; construction only, not per step).
        _validate_columns(linear_feature_columns, dnn_feature_columns, dnn_hidden_units,
                          dnn_dropout)
        head = _common.regressor_head(label_dimension, weight_column, loss_reduction)
        super().__init__(
            head, model_dir=model_dir, linear_feature_columns=linear_feature_columns,
            linear_optimizer=linear_optimizer, dnn_feature_columns=dnn_feature_columns,
            dnn_optimizer=dnn_optimizer, dnn_hidden_units=dnn_hidden_units,
            dnn_activation_fn=dnn_activation_fn, dnn_dropout=dnn_dropout, config=config,
            batch_norm=batch_norm, linear_sparse_combiner=linear_sparse_combiner,
            warm_start_from=warm_start_from)
