"""Run by test_legacy_keras_mode.py in its own process: TF_USE_LEGACY_KERAS=1.

Prints one JSON line with what the test checks.
"""

import json
import os
import sys
import tempfile

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasbridge as kb  # noqa: E402

kb.install()
v1 = tf.compat.v1


def model_fn(features, labels, mode):
    """A custom model_fn on tf.keras layers, which are Keras 2 here."""
    training = mode == kb.ModeKeys.TRAIN
    net = tf.keras.layers.Dense(8, activation="relu")(features["x"])
    norm = tf.keras.layers.BatchNormalization()
    net = norm(net, training=training)
    logits = tf.keras.layers.Dense(3)(net)
    if mode == kb.ModeKeys.PREDICT:
        return kb.EstimatorSpec(mode, predictions={"logits": logits})
    loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
    if mode == kb.ModeKeys.EVAL:
        return kb.EstimatorSpec(mode, loss=loss)
    minimize = v1.train.AdagradOptimizer(0.1).minimize(
        loss, global_step=v1.train.get_global_step()
    )
    # Keras 2 layers keep their update ops on the layer (not in UPDATE_OPS).
    return kb.EstimatorSpec(mode, loss=loss, train_op=tf.group(minimize, *norm.updates))


def main():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (np.arange(64) % 3).astype(np.int32)

    def data(repeat):
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y))
        return (ds.repeat() if repeat else ds).batch(16)

    model_dir = tempfile.mkdtemp()
    est = kb.Estimator(model_fn, model_dir=model_dir)
    est.train(lambda: data(True), steps=10)
    first = est.evaluate(lambda: data(False))
    second = kb.Estimator(model_fn, model_dir=model_dir).evaluate(lambda: data(False))

    # tf.layers stays tf-keras' own TF1 layers in this mode.
    layers_module = tf.compat.v1.layers.dense.__module__

    model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(4,))])
    model.compile("sgd", "mse")
    try:
        kb.model_to_estimator(keras_model=model)
        error = None
    except ValueError as e:
        error = str(e)
    print(json.dumps({
        "keras": tf.keras.__name__,
        "names": sorted(est.get_variable_names()),
        "moving_mean": est.get_variable_value("batch_normalization/moving_mean").tolist(),
        "loss": [float(first["loss"]), float(second["loss"])],
        "step": int(first["global_step"]),
        "layers_module": layers_module,
        "error": error,
    }))


if __name__ == "__main__":
    sys.exit(main())
