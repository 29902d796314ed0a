"""`LinearClassifier`, `LinearRegressor`, `LinearEstimator`: linear models over feature columns.

The logits are `featurec.linear_model` (linear_model semantics computed from
featurec's plan in TF ops): per column a `linear/linear_model/<column>/weights`
variable, plus `linear/linear_model/bias_weights`, the original's names. The
default optimizer is Ftrl: with `optimizer='Ftrl'` (the default argument) at
learning rate 0.2, as the original's v2 estimators did; with `optimizer=None`
at min(0.2, 1/sqrt(number of columns)), the original's default-optimizer rule.
"""

import tensorflow as tf

from featurec._linear import linear_model
from kerasbridge.canned import _common, _optimizers
from kerasbridge.estimator import Estimator

_LEARNING_RATE = 0.2
_COMBINERS = ("mean", "sqrtn", "sum")


def linear_logits(features, units, feature_columns, sparse_combiner):
    """Builds `linear/linear_model/...` and the original's `bias` and
    `fraction_of_zero_weights` summaries; returns (logits, trainable variables)."""
    with tf.compat.v1.variable_scope("linear") as scope:
        cols_to_vars = {}
        logits = linear_model(features, list(feature_columns), units=units,
                              sparse_combiner=sparse_combiner, cols_to_vars=cols_to_vars)
    trainable = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES, scope=scope.name + "/")
    bias = cols_to_vars.pop("bias")[0]
    if units > 1:
        tf.compat.v1.summary.histogram("bias", bias)
    else:
        tf.compat.v1.summary.scalar("bias", bias[0])
    weights = [v for vs in cols_to_vars.values() for v in vs]
    sizes = [tf.cast(tf.size(w), tf.float32) for w in weights]
    zeros = tf.math.add_n([tf.math.zero_fraction(w) * n for w, n in zip(weights, sizes)])
    tf.compat.v1.summary.scalar("fraction_of_zero_weights", zeros / tf.math.add_n(sizes))
    return logits, trainable


def linear_optimizer(optimizer, feature_columns, learning_rate):
    """The optimizer instance: a name gets `learning_rate`, None the default Ftrl."""
    if optimizer is None:
        return _optimizers.GraphOptimizer(
            "Ftrl", learning_rate=_optimizers.linear_learning_rate(len(feature_columns)))
    return _optimizers.get_optimizer(optimizer, learning_rate=learning_rate)


def _linear_model_fn(features, labels, mode, head, feature_columns, optimizer,
                     sparse_combiner):
    _common.check_features(features)
    logits, trainable = linear_logits(features, head.logits_dimension, feature_columns,
                                      sparse_combiner)

    def train_op_fn(loss):
        opt = linear_optimizer(optimizer, feature_columns, _LEARNING_RATE)
        return _common.optimizer_updates(opt, loss, trainable, use_global_step=True)

    return head.create_estimator_spec(
        features=features, mode=mode, labels=labels, logits=logits, train_op_fn=train_op_fn)


def check_sparse_combiner(sparse_combiner, argument="sparse_combiner"):
    if sparse_combiner not in _COMBINERS:
        raise ValueError(
            f"{argument} must be one of {list(_COMBINERS)}; got {sparse_combiner!r}.")


class LinearEstimator(Estimator):
    """An estimator for linear models with a user-given head.

    Args:
        head: a `kb.BinaryClassHead`, `kb.MultiClassHead`, `kb.RegressionHead`, ...
        feature_columns: v2 `tf.feature_column` columns, categorical or dense.
        model_dir, config, warm_start_from: as `kb.Estimator`.
        optimizer: 'Ftrl' (default, learning rate 0.2), 'Adagrad', 'Adam',
            'RMSProp', 'SGD', an optimizer instance, a callable returning one, or
            None (Ftrl at min(0.2, 1/sqrt(len(feature_columns)))).
        sparse_combiner: "sum" (default), "mean" or "sqrtn": how a categorical
            column with several values in a row reduces its weights.

    Raises:
        ValueError: v1 feature columns, an unknown optimizer name or combiner.
    """

    def __init__(self, head, feature_columns, model_dir=None, optimizer="Ftrl", config=None,
                 sparse_combiner="sum", warm_start_from=None):
        _common.check_head(head)
        columns = _common.columns_tuple(feature_columns)
        optimizer = _common.check_optimizer(optimizer)
        check_sparse_combiner(sparse_combiner)
        self._head = head

        def _model_fn(features, labels, mode, config):
            return _linear_model_fn(features, labels, mode, head, columns, optimizer,
                                    sparse_combiner)

        super().__init__(model_fn=_model_fn, model_dir=model_dir, config=config,
                         warm_start_from=warm_start_from)


class LinearClassifier(LinearEstimator):
    """A linear classifier (the original's `tf.estimator.LinearClassifier`).

    Args:
        n_classes, weight_column, label_vocabulary, loss_reduction: as
            `kb.DNNClassifier`; the rest see `LinearEstimator`.
    """

    def __init__(self, feature_columns, model_dir=None, n_classes=2, weight_column=None,
                 label_vocabulary=None, optimizer="Ftrl", config=None, warm_start_from=None,
                 loss_reduction=_common.SUM_OVER_BATCH_SIZE, sparse_combiner="sum"):
        head = _common.classifier_head(n_classes, weight_column, label_vocabulary,
                                       loss_reduction)
        super().__init__(head, feature_columns, model_dir=model_dir, optimizer=optimizer,
                         config=config, warm_start_from=warm_start_from,
                         sparse_combiner=sparse_combiner)


class LinearRegressor(LinearEstimator):
    """A linear regressor (the original's `tf.estimator.LinearRegressor`).

    Args:
        label_dimension, weight_column, loss_reduction: as `kb.DNNRegressor`;
            the rest see `LinearEstimator`.
    """

    def __init__(self, feature_columns, model_dir=None, label_dimension=1, weight_column=None,
                 optimizer="Ftrl", config=None, warm_start_from=None,
                 loss_reduction=_common.SUM_OVER_BATCH_SIZE, sparse_combiner="sum"):
        head = _common.regressor_head(label_dimension, weight_column, loss_reduction)
        super().__init__(head, feature_columns, model_dir=model_dir, optimizer=optimizer,
                         config=config, warm_start_from=warm_start_from,
                         sparse_combiner=sparse_combiner)
