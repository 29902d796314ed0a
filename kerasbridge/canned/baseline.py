"""`BaselineClassifier`, `BaselineRegressor`, `BaselineEstimator`: a learned bias only.

The model ignores the feature values and learns one bias per output
(`baseline/bias`, the original's name), i.e. the label distribution (classifier)
or the label mean (regressor): the number any real model has to beat. Default
optimizer Ftrl at learning rate 0.3, as the original's.
"""

import tensorflow as tf

from kerasbridge.canned import _common, _optimizers
from kerasbridge.estimator import Estimator

_LEARNING_RATE = 0.3


def _weight_column_key(weight_column):
    if weight_column is None or isinstance(weight_column, str):
        return weight_column
    if type(weight_column).__name__ != "NumericColumn":
        raise TypeError(
            "Weight column must be either a string or NumericColumn. Given type: {}.".format(
                type(weight_column)))
    return weight_column.key


def _baseline_logits(features, units, weight_column):
    weight_key = _weight_column_key(weight_column)
    keys = [k for k in features if k != weight_key]
    if not keys:
        raise ValueError(
            "features must hold at least one feature besides the weight column: the "
            "baseline reads the batch size from it. Given keys: {}".format(sorted(features)))
    # The first dimension is the batch size and must agree among the features
    # (the weight column is skipped so serving does not need it).
    sizes = [tf.shape(_dense_or_sparse(features[k]), out_type=tf.int64)[0] for k in keys]
    checks = [tf.debugging.assert_equal(sizes[0], s) for s in sizes[1:]]
    # Created before the checks: an initializer depending on the input iterator
    # could not run (the original's failure with several features, decision 56).
    bias = tf.compat.v1.get_variable(
        "baseline/bias", shape=(units,), dtype=tf.float32, use_resource=True,
        initializer=tf.compat.v1.zeros_initializer())
    with tf.control_dependencies(checks):
        logits = tf.math.multiply(bias, tf.ones(tf.stack([sizes[0], units]), tf.float32))
    return logits, [bias]


def _dense_or_sparse(value):
    """Something whose first dimension is the batch size."""
    if isinstance(value, tf.RaggedTensor):
        return value.row_lengths()
    if isinstance(value, tf.SparseTensor):
        return tf.zeros(tf.reshape(value.dense_shape[0], [1]))
    return value


def _baseline_model_fn(features, labels, mode, head, optimizer, weight_column):
    _common.check_features(features)
    logits, trainable = _baseline_logits(features, head.logits_dimension, weight_column)

    def train_op_fn(loss):
        opt = _optimizers.get_optimizer(optimizer, learning_rate=_LEARNING_RATE)
        return _common.optimizer_updates(opt, loss, trainable, use_global_step=True)

    return head.create_estimator_spec(
        features=features, mode=mode, labels=labels, logits=logits, train_op_fn=train_op_fn)


class BaselineEstimator(Estimator):
    """An estimator that learns only a bias, with a user-given head.

    Args:
        head: a `kb.BinaryClassHead`, `kb.MultiClassHead`, `kb.RegressionHead`, ...
        model_dir, config: as `kb.Estimator`.
        optimizer: 'Ftrl' (default, learning rate 0.3) or another name, an
            optimizer instance or a callable returning one.
    """

    def __init__(self, head, model_dir=None, optimizer="Ftrl", config=None):
        _common.check_head(head)
        optimizer = _common.check_optimizer(optimizer)
        self._head = head
        weight_column = getattr(head, "_weight_column", None)

        def _model_fn(features, labels, mode, config):
            return _baseline_model_fn(features, labels, mode, head, optimizer, weight_column)

        super().__init__(model_fn=_model_fn, model_dir=model_dir, config=config)


class BaselineClassifier(BaselineEstimator):
    """Predicts the label distribution seen in training (`tf.estimator.BaselineClassifier`).

    Args:
        n_classes, weight_column, label_vocabulary, loss_reduction: as
            `kb.DNNClassifier`; the rest see `BaselineEstimator`.
    """

    def __init__(self, model_dir=None, n_classes=2, weight_column=None, label_vocabulary=None,
                 optimizer="Ftrl", config=None, loss_reduction=_common.SUM_OVER_BATCH_SIZE):
        _weight_column_key(weight_column)
        head = _common.classifier_head(n_classes, weight_column, label_vocabulary,
                                       loss_reduction)
        super().__init__(head, model_dir=model_dir, optimizer=optimizer, config=config)


class BaselineRegressor(BaselineEstimator):
    """Predicts the label mean seen in training (`tf.estimator.BaselineRegressor`).

    Args:
        label_dimension, weight_column, loss_reduction: as `kb.DNNRegressor`;
            the rest see `BaselineEstimator`.
    """

    def __init__(self, model_dir=None, label_dimension=1, weight_column=None, optimizer="Ftrl",
                 config=None, loss_reduction=_common.SUM_OVER_BATCH_SIZE):
        _weight_column_key(weight_column)
        head = _common.regressor_head(label_dimension, weight_column, loss_reduction)
        super().__init__(head, model_dir=model_dir, optimizer=optimizer, config=config)
