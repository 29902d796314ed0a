"""Tiny models and inputs shared by the Estimator runtime tests."""

import numpy as np
import tensorflow as tf

from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.mode_keys import ModeKeys

v1 = tf.compat.v1

N_FEATURES = 4
N_CLASSES = 3


def make_data(rows=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, N_FEATURES)).astype(np.float32)
    y = ((x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5)).astype(np.int32)
    return x, y


X, Y = make_data()


def train_input_fn(batch_size=16):
    return (
        tf.data.Dataset.from_tensor_slices(({"x": X}, Y))
        .repeat()
        .batch(batch_size)
    )


def eval_input_fn(x=X, y=Y, batch_size=16):
    return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(batch_size)


def predict_input_fn(x=X, batch_size=16):
    return tf.data.Dataset.from_tensor_slices({"x": x}).batch(batch_size)


def dnn_model_fn(features, labels, mode, params):
    """Dense stack `params['hidden']` -> N_CLASSES, Adagrad, accuracy."""
    net = features["x"]
    for units in params.get("hidden", [8]):
        net = tf.keras.layers.Dense(units, activation="relu")(net)
    logits = tf.keras.layers.Dense(N_CLASSES)(net)
    predicted = tf.argmax(logits, 1)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(
            mode,
            predictions={
                "class_ids": predicted,
                "logits": logits,
                "probabilities": tf.nn.softmax(logits),
            },
        )
    loss = v1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    metrics = {"accuracy": v1.metrics.accuracy(labels, predicted)}
    if mode == ModeKeys.EVAL:
        return EstimatorSpec(mode, loss=loss, eval_metric_ops=metrics)
    train_op = v1.train.AdagradOptimizer(params.get("lr", 0.1)).minimize(
        loss, global_step=v1.train.get_global_step()
    )
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def numpy_logits(estimator, x, n_hidden=1):
    """The dnn_model_fn logits computed in numpy from the checkpoint."""
    net = x
    names = [f"dense_{i}" if i else "dense" for i in range(n_hidden + 1)]
    for i, name in enumerate(names):
        kernel = estimator.get_variable_value(f"{name}/kernel")
        bias = estimator.get_variable_value(f"{name}/bias")
        net = net @ kernel + bias
        if i < n_hidden:
            net = np.maximum(net, 0)
    return net
