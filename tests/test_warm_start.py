"""warm_start_from: paths and WarmStartSettings, only into an empty model_dir."""

import os

import numpy as np
import pytest
import tensorflow as tf

from _kb_models import dnn_model_fn
from _kb_models import eval_input_fn
from _kb_models import predict_input_fn
from _kb_models import train_input_fn
from kerasbridge.estimator import Estimator
from kerasbridge.warm_starting import WarmStartSettings

v1 = tf.compat.v1
FROZEN = {
    "hidden": [8],
    "lr": 0.0,
}  # lr 0: values after training = start values


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    estimator = Estimator(
        dnn_model_fn,
        model_dir=str(tmp_path_factory.mktemp("src")),
        params={"hidden": [8]},
    )
    estimator.train(train_input_fn, steps=5)
    return estimator


def _value(estimator, name):
    return estimator.get_variable_value(name)


def test_from_a_model_dir_path(source, tmp_path):
    estimator = Estimator(
        dnn_model_fn,
        model_dir=str(tmp_path),
        params=FROZEN,
        warm_start_from=source.model_dir,
    )
    estimator.train(train_input_fn, steps=2)
    for name in (
        "dense/kernel",
        "dense/bias",
        "dense_1/kernel",
        "dense_1/bias",
    ):
        np.testing.assert_array_equal(
            _value(estimator, name), _value(source, name)
        )
    # '.*' means trainable variables only: the global step starts from 0.
    assert _value(estimator, "global_step") == 2


def test_settings_select_variables_by_regex(source, tmp_path):
    settings = WarmStartSettings(
        source.latest_checkpoint(), vars_to_warm_start="dense/"
    )
    estimator = Estimator(
        dnn_model_fn,
        model_dir=str(tmp_path),
        params=FROZEN,
        warm_start_from=settings,
    )
    estimator.train(train_input_fn, steps=1)
    np.testing.assert_array_equal(
        _value(estimator, "dense/kernel"), _value(source, "dense/kernel")
    )
    assert not np.array_equal(
        _value(estimator, "dense_1/kernel"), _value(source, "dense_1/kernel")
    )


def test_prev_var_name_mapping_from_a_legacy_checkpoint(tmp_path):
    kernel = np.arange(12, dtype=np.float32).reshape(4, 3)
    legacy_prefix = os.path.join(str(tmp_path / "legacy"), "model.ckpt")
    with tf.Graph().as_default():
        variable = v1.Variable(kernel, name="old_logits/kernel")
        with v1.Session() as session:
            session.run(variable.initializer)
            v1.train.Saver([variable]).save(session, legacy_prefix)
    settings = WarmStartSettings(
        legacy_prefix,
        vars_to_warm_start="dense/kernel",
        var_name_to_prev_var_name={"dense/kernel": "old_logits/kernel"},
    )
    estimator = Estimator(
        dnn_model_fn,
        model_dir=str(tmp_path / "new"),
        params={"hidden": [], "lr": 0.0},
        warm_start_from=settings,
    )
    estimator.train(train_input_fn, steps=1)
    np.testing.assert_array_equal(_value(estimator, "dense/kernel"), kernel)


def test_not_applied_once_model_dir_has_a_checkpoint(source, tmp_path):
    own = Estimator(dnn_model_fn, model_dir=str(tmp_path), params=FROZEN)
    own.train(train_input_fn, steps=1)
    before = _value(own, "dense/kernel")
    warm = Estimator(
        dnn_model_fn,
        model_dir=str(tmp_path),
        params=FROZEN,
        warm_start_from=source.model_dir,
    )
    warm.train(train_input_fn, steps=1)
    np.testing.assert_array_equal(_value(warm, "dense/kernel"), before)
    assert _value(warm, "global_step") == 2


def test_evaluate_without_checkpoint_uses_warm_start(source, tmp_path):
    warm = Estimator(
        dnn_model_fn,
        model_dir=str(tmp_path),
        params={"hidden": [8]},
        warm_start_from=source.model_dir,
    )
    result = warm.evaluate(eval_input_fn)
    expected = source.evaluate(eval_input_fn)
    np.testing.assert_allclose(result["loss"], expected["loss"], rtol=1e-6)
    assert result["global_step"] == 0


def test_predict_without_checkpoint_uses_warm_start(source, tmp_path):
    warm = Estimator(
        dnn_model_fn,
        model_dir=str(tmp_path),
        params={"hidden": [8]},
        warm_start_from=source.model_dir,
    )
    first = next(warm.predict(predict_input_fn))
    expected = next(source.predict(predict_input_fn))
    np.testing.assert_allclose(first["logits"], expected["logits"], rtol=1e-6)
