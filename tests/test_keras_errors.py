"""Error paths of `model_to_estimator`, input matching and the way back.

Messages follow the original `tf.keras.estimator.model_to_estimator` where
it had one. Input/label mismatches are checked by calling the generated
`model_fn` in a graph (no session needed).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasbridge import export
from kerasbridge.keras import FormattedKeyError
from kerasbridge.keras import estimator_weights_to_keras
from kerasbridge.keras import model_to_estimator
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.run_config import RunConfig


def _model(optimizer="adam", loss="mse", compile_model=True):
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    x = keras.layers.Concatenate()([a, b])
    out = keras.layers.Dense(1, name="out")(x)
    aux = keras.layers.Dense(2, name="aux")(x)
    model = keras.Model({"a": a, "b": b}, [out, aux])
    if compile_model:
        model.compile(optimizer=optimizer, loss=loss)
    return model


def _single_input_model():
    model = keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.fixture(scope="module")
def est(tmp_path_factory):
    return model_to_estimator(
        keras_model=_model(), model_dir=str(tmp_path_factory.mktemp("errors"))
    )


def _call_model_fn(estimator, features_fn, labels_fn, mode=ModeKeys.TRAIN):
    """Calls model_fn on tensors the two functions build in a fresh graph."""
    with tf.Graph().as_default():
        tf.compat.v1.train.get_or_create_global_step()
        return estimator.model_fn(features_fn(), labels_fn(), mode, estimator.config)


def _features(a_shape=(None, 3), b_shape=(None, 2)):
    return {
        "a": tf.compat.v1.placeholder(tf.float32, a_shape),
        "b": tf.compat.v1.placeholder(tf.float32, b_shape),
    }


def _labels():
    return {
        "out": tf.compat.v1.placeholder(tf.float32, [None, 1]),
        "aux": tf.compat.v1.placeholder(tf.float32, [None, 2]),
    }


# -- arguments ------------------------------------------------------------------


def test_needs_a_model_or_a_path():
    with pytest.raises(ValueError, match="Either `keras_model` or `keras_model_path`"):
        model_to_estimator()


def test_rejects_both_model_and_path(tmp_path):
    with pytest.raises(ValueError, match="but not both"):
        model_to_estimator(
            keras_model=_model(), keras_model_path=str(tmp_path / "m.keras")
        )


def test_rejects_unknown_checkpoint_format(tmp_path):
    message = 'must be one of "checkpoint" or "saver". Got object'
    with pytest.raises(ValueError, match=message):
        model_to_estimator(keras_model=_model(), model_dir=str(tmp_path),
                           checkpoint_format="object")


def test_rejects_uncompiled_model(tmp_path):
    with pytest.raises(ValueError, match="has not been compiled yet"):
        model_to_estimator(
            keras_model=_model(compile_model=False), model_dir=str(tmp_path)
        )


def test_rejects_conflicting_model_dirs(tmp_path):
    with pytest.raises(ValueError, match="are set both in constructor and `RunConfig`"):
        model_to_estimator(keras_model=_model(), model_dir=str(tmp_path / "a"),
                           config=RunConfig(model_dir=str(tmp_path / "b")))


def test_rejects_missing_model_path(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        model_to_estimator(keras_model_path=str(tmp_path / "nope.keras"))


class _MyAdam(keras.optimizers.Adam):
    pass


@pytest.mark.parametrize(
    "optimizer, message",
    [
        (_MyAdam(), "Unsupported optimizer '_MyAdam'"),
        (keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD()),
         "Unsupported optimizer 'LossScaleOptimizer'"),
        (keras.optimizers.Adam(use_ema=True), "use_ema=True"),
        (keras.optimizers.SGD(gradient_accumulation_steps=2),
         "gradient_accumulation_steps"),
    ],
)
def test_rejects_optimizers_it_cannot_honour(tmp_path, optimizer, message):
    with pytest.raises(ValueError, match=message):
        model_to_estimator(
            keras_model=_model(optimizer=optimizer), model_dir=str(tmp_path)
        )


def test_rejects_a_model_without_loss(tmp_path):
    model = _model(compile_model=False)
    model.compile(optimizer="adam", loss=None)
    with pytest.raises(ValueError, match="compiled without a `loss`"):
        model_to_estimator(keras_model=model, model_dir=str(tmp_path))


def _my_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_true - y_pred))


def test_custom_loss_needs_custom_objects(tmp_path):
    model = _single_input_model()
    model.compile(optimizer="sgd", loss=_my_loss)
    with pytest.raises(ValueError, match="custom_objects"):
        model_to_estimator(keras_model=model, model_dir=str(tmp_path / "a"))
    est = model_to_estimator(keras_model=model, model_dir=str(tmp_path / "b"),
                             custom_objects={"_my_loss": _my_loss})
    x = np.ones((4, 3), "float32")
    est.train(lambda: tf.data.Dataset.from_tensors((x, x[:, :1])), steps=1)
    assert est.get_variable_value("global_step") == 1


class _NoConfig(keras.Model):
    def __init__(self, units):
        super().__init__()
        self.units = units
        self.dense = keras.layers.Dense(units)

    def call(self, x):
        return self.dense(x)


def test_subclassed_model_must_implement_get_config(tmp_path):
    model = _NoConfig(2)
    model.compile(optimizer="sgd", loss="mse")
    message = "must implement `Model.get_config` and `Model.from_config`"
    with pytest.raises(ValueError, match=message):
        model_to_estimator(keras_model=model, model_dir=str(tmp_path))


def test_metric_names_map_must_be_a_dict_of_strings(tmp_path):
    with pytest.raises(TypeError, match="metric_names_map"):
        model_to_estimator(keras_model=_model(), model_dir=str(tmp_path),
                           metric_names_map=["loss"])


def test_export_outputs_must_name_model_outputs(tmp_path):
    with pytest.raises(ValueError, match=r"\['nope'\] are not outputs"):
        model_to_estimator(keras_model=_model(), model_dir=str(tmp_path),
                           export_outputs={"nope": export.RegressionOutput})


# -- features and labels ----------------------------------------------------------


def _without(make, key):
    def build():
        value = make()
        del value[key]
        return value

    return build


def test_missing_feature_key_names_expected_and_missed_keys(est):
    with pytest.raises(FormattedKeyError) as info:
        _call_model_fn(est, _without(_features, "b"), _labels)
    message = str(info.value)
    assert "does not cover requested inputs keys" in message
    assert "Missed keys: {'b'}" in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_extra_feature_keys_are_ignored(est):
    def features():
        return dict(_features(), unused=tf.compat.v1.placeholder(tf.string, [None]))

    spec = _call_model_fn(est, features, _labels)
    assert spec.loss.shape == ()


def test_features_as_list_in_input_order(est):
    spec = _call_model_fn(
        est, lambda: list(_features().values()), lambda: None, ModeKeys.PREDICT
    )
    assert set(spec.predictions) == {"out", "aux"}


def test_wrong_list_length_is_rejected(est):
    with pytest.raises(ValueError, match="has 2 inputs.*has 1 elements"):
        _call_model_fn(est, lambda: [_features()["a"]], _labels)


def test_single_tensor_for_multi_input_model_is_rejected(est):
    with pytest.raises(ValueError, match=r"has 2 inputs \['a', 'b'\]"):
        _call_model_fn(est, lambda: _features()["a"], _labels)


def test_feature_shape_mismatch_names_feature_and_shapes(est):
    message = r"features\['a'\] has shape \(None, 4\).*expects shape \(None, 3\)"
    with pytest.raises(ValueError, match=message):
        _call_model_fn(est, lambda: _features(a_shape=(None, 4)), _labels)


def test_labels_are_required_in_train(est):
    with pytest.raises(ValueError, match="`labels` are required"):
        _call_model_fn(est, _features, lambda: None)


def test_missing_label_key_names_output_keys(est):
    with pytest.raises(FormattedKeyError, match="Missed keys: {'aux'}"):
        _call_model_fn(est, _features, _without(_labels, "aux"))


def test_single_input_model_takes_tensor_or_dict_by_input_name(tmp_path):
    est = model_to_estimator(keras_model=_single_input_model(), model_dir=str(tmp_path))
    x = tf.compat.v1.placeholder
    with tf.Graph().as_default():
        tensor = est.model_fn(
            x(tf.float32, [None, 3]), None, ModeKeys.PREDICT, est.config
        )
        by_name = est.model_fn({"x": x(tf.float32, [None, 3])}, None, ModeKeys.PREDICT,
                               est.config)
        assert list(tensor.predictions) == list(by_name.predictions)
        with pytest.raises(FormattedKeyError, match="Missed keys: {'x'}"):
            est.model_fn(
                {"y": x(tf.float32, [None, 3])}, None, ModeKeys.PREDICT, est.config
            )


# -- the way back ---------------------------------------------------------------------


def test_weights_back_needs_a_checkpoint(tmp_path):
    est = model_to_estimator(keras_model=_model(), model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="has no checkpoint"):
        estimator_weights_to_keras(est, _model())


def test_weights_back_rejects_another_architecture(tmp_path):
    est = model_to_estimator(keras_model=_single_input_model(), model_dir=str(tmp_path))
    x = np.ones((4, 3), "float32")
    est.train(lambda: tf.data.Dataset.from_tensors((x, x[:, :1])), steps=1)
    with pytest.raises(ValueError, match="does not match `keras_model`"):
        estimator_weights_to_keras(est, _model())
