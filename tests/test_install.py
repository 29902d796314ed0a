"""kerasbridge.install(): `tf.estimator` resolves to kerasbridge."""

import pytest
import tensorflow as tf

from kerasbridge import early_stopping
from kerasbridge import estimator as estimator_lib
from kerasbridge import estimator_spec
from kerasbridge import mode_keys
from kerasbridge import run_config
from kerasbridge import training
from kerasbridge import warm_starting
from kerasbridge.install import install


@pytest.fixture(scope="module")
def tf_estimator():
    return install()


def test_core_names_resolve_to_kerasbridge(tf_estimator):
    assert tf.estimator is tf_estimator
    assert tf.estimator.Estimator is estimator_lib.Estimator
    assert tf.estimator.EstimatorSpec is estimator_spec.EstimatorSpec
    assert tf.estimator.ModeKeys is mode_keys.ModeKeys
    assert tf.estimator.ModeKeys.PREDICT == "infer"
    assert tf.estimator.RunConfig is run_config.RunConfig
    assert tf.estimator.TrainSpec is training.TrainSpec
    assert tf.estimator.EvalSpec is training.EvalSpec
    assert tf.estimator.train_and_evaluate is training.train_and_evaluate
    assert tf.estimator.WarmStartSettings is warm_starting.WarmStartSettings
    assert tf.estimator.VocabInfo is tf.compat.v1.train.VocabInfo


def test_hooks_and_experimental_names(tf_estimator):
    assert tf.estimator.StopAtStepHook is tf.compat.v1.train.StopAtStepHook
    assert tf.estimator.SessionRunHook is tf.compat.v1.train.SessionRunHook
    assert (
        tf.estimator.CheckpointSaverListener
        is tf.compat.v1.train.CheckpointSaverListener
    )
    assert (
        tf.estimator.experimental.stop_if_no_decrease_hook
        is early_stopping.stop_if_no_decrease_hook
    )
    assert tf.estimator.export.PredictOutput.__name__ == "PredictOutput"


def test_import_forms_and_v1_alias(tf_estimator):
    from tensorflow.estimator import Estimator  # noqa: PLC0415
    from tensorflow.estimator.experimental import (
        stop_if_higher_hook,
    )  # noqa: PLC0415

    assert Estimator is estimator_lib.Estimator
    assert stop_if_higher_hook is early_stopping.stop_if_higher_hook
    assert tf.compat.v1.estimator.Estimator is estimator_lib.Estimator


def test_idempotent_and_unknown_names(tf_estimator):
    assert install() is tf_estimator
    assert tf.estimator is tf_estimator
    with pytest.raises(AttributeError, match="NoSuchEstimator"):
        tf.estimator.NoSuchEstimator  # noqa: B018
    assert "Estimator" in dir(tf.estimator)


def test_legacy_script_runs_unchanged(tf_estimator, tmp_path):
    def model_fn(features, labels, mode):
        weight = tf.compat.v1.get_variable("w", initializer=0.0)
        loss = tf.reduce_mean(tf.square(features - weight))
        if mode == tf.estimator.ModeKeys.PREDICT:
            return tf.estimator.EstimatorSpec(
                mode, predictions=features * 0 + weight
            )
        train_op = tf.compat.v1.train.GradientDescentOptimizer(0.5).minimize(
            loss, global_step=tf.compat.v1.train.get_global_step()
        )
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)

    def input_fn():
        return tf.data.Dataset.from_tensors(
            (tf.constant([3.0, 3.0]), tf.constant([0.0, 0.0]))
        ).repeat(20)

    config = tf.estimator.RunConfig(tf_random_seed=1)
    est = tf.estimator.Estimator(
        model_fn, model_dir=str(tmp_path), config=config
    )
    est.train(input_fn, steps=20)
    assert est.get_variable_value("w") == pytest.approx(3.0, abs=1e-3)
