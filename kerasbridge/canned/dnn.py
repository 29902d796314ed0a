"""`DNNClassifier`, `DNNRegressor`, `DNNEstimator`: feed-forward networks over feature columns.

The network is the original's (`_DNNModelV2`): featurec's `input_layer` over the
columns, then per hidden layer a dense layer with `activation_fn`, dropout in
training, optional batch normalization (momentum 0.999), and a linear logits layer;
glorot-uniform kernels and zero biases. Variables carry the original's names
(`dnn/input_from_feature_columns/input_layer/<column>_embedding/embedding_weights`,
`dnn/hiddenlayer_<i>/{kernel,bias}`, `dnn/hiddenlayer_<i>/batchnorm_<i>/...`,
`dnn/logits/{kernel,bias}`) so the original's model_dirs restore.
"""

import tensorflow as tf

import featurec
from kerasbridge.canned import _common, _optimizers
from kerasbridge.estimator import Estimator
from kerasbridge.mode_keys import ModeKeys

_BATCH_NORM_MOMENTUM = 0.999
_BATCH_NORM_EPSILON = 1e-3


def dnn_logits(features, mode, units, hidden_units, feature_columns, activation_fn,
               dropout, batch_norm):
    """Builds the `dnn/...` network.

    Returns:
        (logits `[batch, units]`, trainable variables, batch-norm update ops).
    """
    training = mode == ModeKeys.TRAIN
    with tf.compat.v1.variable_scope("dnn") as dnn_scope:
        with tf.compat.v1.variable_scope("input_from_feature_columns"):
            net = featurec.input_layer(features, list(feature_columns))
        update_ops = []
        for i, width in enumerate(hidden_units):
            with tf.compat.v1.variable_scope(f"hiddenlayer_{i}"):
                net = _dense(net, int(width), activation_fn)
                if dropout is not None and training:
                    net = tf.nn.dropout(net, rate=dropout)
                if batch_norm:
                    net, ops = _batch_norm(net, f"batchnorm_{i}", training)
                    update_ops += ops
            # Inside the `dnn` name scope: tags `dnn/hiddenlayer_<i>/...` as the original's.
            _common.layer_summary(net, f"hiddenlayer_{i}")
        with tf.compat.v1.variable_scope("logits"):
            logits = _dense(net, units, None)
        _common.layer_summary(logits, "logits")
    trainable = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES, scope=dnn_scope.name + "/")
    return logits, trainable, update_ops


def _dense(x, units, activation):
    kernel = tf.compat.v1.get_variable(
        "kernel", shape=(x.shape[-1], units), dtype=tf.float32, use_resource=True,
        initializer=tf.compat.v1.glorot_uniform_initializer())
    bias = tf.compat.v1.get_variable(
        "bias", shape=(units,), dtype=tf.float32, use_resource=True,
        initializer=tf.compat.v1.zeros_initializer())
    y = tf.nn.bias_add(tf.matmul(x, kernel), bias)
    return activation(y) if activation is not None else y


def _batch_norm(x, name, training):
    """Keras 2 `BatchNormalization` on `[batch, units]` (its non-fused path)."""
    units = x.shape[-1]
    with tf.compat.v1.variable_scope(name):
        def var(vname, init, trainable=True):
            return tf.compat.v1.get_variable(
                vname, shape=(units,), dtype=tf.float32, use_resource=True,
                initializer=init, trainable=trainable)
        gamma = var("gamma", tf.compat.v1.ones_initializer())
        beta = var("beta", tf.compat.v1.zeros_initializer())
        moving_mean = var("moving_mean", tf.compat.v1.zeros_initializer(), False)
        moving_var = var("moving_variance", tf.compat.v1.ones_initializer(), False)
        if not training:
            return tf.nn.batch_normalization(
                x, moving_mean, moving_var, beta, gamma, _BATCH_NORM_EPSILON), []
        mean, variance = tf.nn.moments(x, axes=[0])
        decay = 1.0 - _BATCH_NORM_MOMENTUM
        updates = [
            moving_mean.assign_sub((moving_mean - mean) * decay).op,
            moving_var.assign_sub((moving_var - variance) * decay).op,
        ]
        return tf.nn.batch_normalization(
            x, mean, variance, beta, gamma, _BATCH_NORM_EPSILON), updates


def _dnn_model_fn(features, labels, mode, head, hidden_units, feature_columns, optimizer,
                  activation_fn, dropout, batch_norm):
    _common.check_features(features)
    logits, trainable, update_ops = dnn_logits(
        features, mode, head.logits_dimension, hidden_units, feature_columns,
        activation_fn, dropout, batch_norm)

    def train_op_fn(loss):
        opt = _optimizers.get_optimizer(optimizer)
        return _common.optimizer_updates(opt, loss, trainable, use_global_step=True)

    return head.create_estimator_spec(
        features=features, mode=mode, labels=labels, logits=logits,
        train_op_fn=train_op_fn, update_ops=update_ops or None)


def _check_dnn_args(hidden_units, dropout):
    if hidden_units is None:
        raise ValueError("hidden_units must be an iterable of layer widths; got None.")
    hidden_units = tuple(hidden_units)
    for width in hidden_units:
        if isinstance(width, bool) or int(width) != width or width < 1:
            raise ValueError(f"hidden_units must be positive integers; got {hidden_units}.")
    if dropout is not None and not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1) (a drop probability); got {dropout}.")
    return hidden_units


class DNNEstimator(Estimator):
    """An estimator for TensorFlow DNN models with a user-given head.

    Args:
        head: a `kb.BinaryClassHead`, `kb.MultiClassHead`, `kb.RegressionHead`, ...
        hidden_units: iterable of layer widths, e.g. `[64, 32]`.
        feature_columns: v2 `tf.feature_column` columns (dense ones: numeric,
            bucketized, indicator, embedding).
        model_dir, config, warm_start_from: as `kb.Estimator`.
        optimizer: 'Adagrad' (default, learning rate 0.001), 'Adam', 'Ftrl',
            'RMSProp', 'SGD', an optimizer instance or a callable returning one.
        activation_fn: applied to each hidden layer (default `tf.nn.relu`; None:
            no activation, as the original's v2 layers did despite its docstring).
        dropout: probability of dropping a coordinate in training, or None.
        batch_norm: batch normalization after each hidden layer.

    Raises:
        ValueError: v1 feature columns, an unknown optimizer name, bad
            `hidden_units` or `dropout`.
    """

    def __init__(self, head, hidden_units, feature_columns, model_dir=None,
                 optimizer="Adagrad", activation_fn=tf.nn.relu, dropout=None, config=None,
                 warm_start_from=None, batch_norm=False):
        _common.check_head(head)
        hidden_units = _check_dnn_args(hidden_units, dropout)
        columns = _common.columns_tuple(feature_columns)
        optimizer = _common.check_optimizer(optimizer)
        self._head = head

        def _model_fn(features, labels, mode, config):
            return _dnn_model_fn(features, labels, mode, head, hidden_units, columns,
                                 optimizer, activation_fn, dropout, batch_norm)

        super().__init__(model_fn=_model_fn, model_dir=model_dir, config=config,
                         warm_start_from=warm_start_from)


class DNNClassifier(DNNEstimator):
    """A classifier for TensorFlow DNN models (the original's `tf.estimator.DNNClassifier`).

    Args:
        hidden_units, feature_columns, model_dir, optimizer, activation_fn,
            dropout, config, warm_start_from, batch_norm: see `DNNEstimator`.
        n_classes: number of label classes (default 2); must be > 1.
        weight_column: a feature key or `numeric_column` weighting each example's loss.
        label_vocabulary: the label strings, if labels are strings.
        loss_reduction: how the training loss reduces over the batch
            (default 'sum_over_batch_size').
    """

    def __init__(self, hidden_units, feature_columns, model_dir=None, n_classes=2,
                 weight_column=None, label_vocabulary=None, optimizer="Adagrad",
                 activation_fn=tf.nn.relu, dropout=None, config=None, warm_start_from=None,
                 loss_reduction=_common.SUM_OVER_BATCH_SIZE, batch_norm=False):
        head = _common.classifier_head(n_classes, weight_column, label_vocabulary,
                                       loss_reduction)
        super().__init__(head, hidden_units, feature_columns, model_dir=model_dir,
                         optimizer=optimizer, activation_fn=activation_fn, dropout=dropout,
                         config=config, warm_start_from=warm_start_from, batch_norm=batch_norm)


class DNNRegressor(DNNEstimator):
    """A regressor for TensorFlow DNN models (the original's `tf.estimator.DNNRegressor`).

    Args:
        label_dimension: number of regression targets per example (default 1).
        weight_column, loss_reduction: see `DNNClassifier`; the rest see `DNNEstimator`.
    """

    def __init__(self, hidden_units, feature_columns, model_dir=None, label_dimension=1,
                 weight_column=None, optimizer="Adagrad", activation_fn=tf.nn.relu,
                 dropout=None, config=None, warm_start_from=None,
                 loss_reduction=_common.SUM_OVER_BATCH_SIZE, batch_norm=False):
        head = _common.regressor_head(label_dimension, weight_column, loss_reduction)
        super().__init__(head, hidden_units, feature_columns, model_dir=model_dir,
                         optimizer=optimizer, activation_fn=activation_fn, dropout=dropout,
                         config=config, warm_start_from=warm_start_from, batch_norm=batch_norm)
