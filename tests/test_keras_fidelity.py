"""A converted Keras model answers like Keras before the Estimator is trained.

`predict` and `evaluate` on a `model_dir` without checkpoints warm-start from
`<model_dir>/keras/keras_model.ckpt` (the Keras weights at conversion), as the
original did; once `train()` has written a checkpoint, that one is used.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasbridge.keras import estimator_weights_to_keras
from kerasbridge.keras import model_to_estimator
from kerasbridge.run_config import RunConfig

_N = 48


def _functional_bn():
    keras.utils.set_random_seed(1)
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    x = keras.layers.Concatenate()([a, b])
    x = keras.layers.Dense(6, activation="relu")(x)
    bn = keras.layers.BatchNormalization()
    x = bn(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="p")(x)
    model = keras.Model({"a": a, "b": b}, out)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )
    # Moving statistics far from their initial 0 / 1, as after fit().
    bn.moving_mean.assign(np.linspace(-1.0, 1.0, 6).astype("float32"))
    bn.moving_variance.assign(np.linspace(0.5, 3.0, 6).astype("float32"))
    return model


def _sequential():
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((5,), name="x"),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(3),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _data(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(_N, 3)).astype("float32")
    b = rng.normal(size=(_N, 2)).astype("float32")
    x = np.concatenate([a, b], axis=1)
    binary = (a[:, 0] + b[:, 1] > 0).astype("float32")
    classes = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5)
    return {"a": a, "b": b}, binary, x, classes


def _input_fn(features, labels=None):
    def input_fn():
        data = features if labels is None else (features, labels)
        # One batch: evaluate's mean of batch losses equals Keras' loss.
        return tf.data.Dataset.from_tensor_slices(data).batch(_N)

    return input_fn


def _predictions(est, features, key):
    return np.stack([p[key] for p in est.predict(_input_fn(features))])


def _check_like_keras(est, model, features, labels, key, keras_x):
    """predict/evaluate equal model.predict/model.evaluate to 1e-5."""
    np.testing.assert_allclose(
        _predictions(est, features, key),
        model.predict(keras_x, verbose=0),
        rtol=1e-5,
        atol=1e-5,
    )
    metrics = est.evaluate(_input_fn(features, labels))
    expected = model.evaluate(keras_x, labels, batch_size=_N, verbose=0, return_dict=True)
    assert metrics["global_step"] == 0
    for name, value in expected.items():
        np.testing.assert_allclose(metrics[name], value, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["functional_bn", "sequential", "keras_file"])
def test_predict_and_evaluate_before_training_equal_keras(kind, tmp_path):
    features, binary, x, classes = _data()
    if kind == "functional_bn":
        model = _functional_bn()
        est = model_to_estimator(keras_model=model, config=RunConfig(str(tmp_path / "m")))
        _check_like_keras(est, model, features, binary, "p", features)
        return
    model = _sequential()
    if kind == "sequential":
        est = model_to_estimator(keras_model=model, config=RunConfig(str(tmp_path / "m")))
    else:
        path = str(tmp_path / "model.keras")
        model.save(path)
        model = keras.models.load_model(path)
        est = model_to_estimator(keras_model_path=path, config=RunConfig(str(tmp_path / "m")))
    key = model.layers[-1].name
    _check_like_keras(est, model, {"x": x}, classes, key, x)
    if kind == "sequential":
        with est.predictor() as predict:
            np.testing.assert_allclose(
                predict({"x": x[:5]})[key], model.predict(x[:5], verbose=0), atol=1e-5
            )


def test_after_train_the_estimators_checkpoint_wins(tmp_path):
    features, binary, _, _ = _data()
    model = _functional_bn()
    before = model.predict(features, verbose=0)
    est = model_to_estimator(keras_model=model, config=RunConfig(str(tmp_path / "m")))
    train_fn = _input_fn(features, binary)
    est.train(lambda: train_fn().repeat(), steps=3)
    after = _predictions(est, features, "p")
    # Trained: no longer the conversion-time answers ...
    assert np.abs(after - before).max() > 1e-3
    # ... but exactly the trained checkpoint's.
    estimator_weights_to_keras(est, model)
    np.testing.assert_allclose(after, model.predict(features, verbose=0), atol=1e-5)
    assert est.evaluate(_input_fn(features, binary))["global_step"] == 3
    # An explicit checkpoint_path is restored, never warm-started over.
    first = est.latest_checkpoint()
    est.train(lambda: train_fn().repeat(), steps=2)
    again = np.stack(
        [p["p"] for p in est.predict(_input_fn(features), checkpoint_path=first)]
    )
    np.testing.assert_allclose(again, after, atol=1e-6)
