"""Estimator.evaluate: metrics, mean loss, steps, summaries, checkpoints."""

import glob
import logging
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from _kb_models import dnn_model_fn
from _kb_models import eval_input_fn
from _kb_models import train_input_fn
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec

v1 = tf.compat.v1

VALUES = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)


def mean_model_fn(features, labels, mode, params):
    """Loss = batch mean of x (plus a 0-weighted variable), Keras metric."""
    weight = v1.get_variable("w", initializer=1.0)
    x = features["x"]
    loss = tf.reduce_mean(x) * weight
    keras_mean = keras.metrics.Mean(name="keras_mean")
    keras_mean.update_state(x)
    metrics = {
        "max_label": v1.metrics.mean(
            tf.cast(labels, tf.float32) * 0 + tf.reduce_max(x)
        ),
        "keras_mean": keras_mean,
    }
    if params.get("bad_metric"):
        metrics[params["bad_metric"]] = v1.metrics.mean(x)
    hooks = params.get("hooks", [])
    train_op = v1.train.GradientDescentOptimizer(0.0).minimize(
        loss, global_step=v1.train.get_global_step()
    )
    return EstimatorSpec(
        mode,
        loss=loss,
        train_op=train_op,
        eval_metric_ops=metrics,
        evaluation_hooks=hooks,
    )


def values_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": VALUES}, VALUES)).batch(2)


@pytest.fixture(scope="module")
def mean_estimator(tmp_path_factory):
    estimator = Estimator(
        mean_model_fn, model_dir=str(tmp_path_factory.mktemp("mean")), params={}
    )
    estimator.train(values_input_fn, steps=3)
    return estimator


@pytest.fixture(scope="module")
def mean_results(mean_estimator):
    first = mean_estimator.evaluate(values_input_fn)
    second = mean_estimator.evaluate(values_input_fn, name="again")
    return first, second


def test_loss_is_the_mean_over_batches(mean_results):
    result, _ = mean_results
    # Batches [1, 2], [3, 4], [5]: batch means 1.5, 3.5, 5.
    np.testing.assert_allclose(result["loss"], (1.5 + 3.5 + 5.0) / 3, rtol=1e-6)
    assert result["global_step"] == 3
    # A per-example metric weighs examples, not batches: [2, 2, 4, 4, 5].
    np.testing.assert_allclose(result["max_label"], 17 / 5, rtol=1e-6)


def test_keras_metric_is_updated_reset_and_not_checkpointed(
    mean_estimator, mean_results
):
    first, second = mean_results
    np.testing.assert_allclose(first["keras_mean"], VALUES.mean(), rtol=1e-6)
    # Reset per evaluate: a second run gives the same value, not a running one.
    np.testing.assert_allclose(second["keras_mean"], VALUES.mean(), rtol=1e-6)
    names = mean_estimator.get_variable_names()
    assert not any("keras_mean" in name for name in names)


def test_steps_limits_batches(mean_estimator):
    result = mean_estimator.evaluate(values_input_fn, steps=1, name="one_step")
    np.testing.assert_allclose(result["loss"], 1.5, rtol=1e-6)


def _eval_events(directory):
    records = []
    for path in glob.glob(os.path.join(directory, "events.out.tfevents.*")):
        for event in v1.train.summary_iterator(path):
            for value in event.summary.value:
                records.append((event.step, value))
    return records


def test_summary_written_to_eval_dir(mean_estimator, mean_results):
    result, _ = mean_results
    assert mean_estimator.eval_dir() == os.path.join(
        mean_estimator.model_dir, "eval"
    )
    assert mean_estimator.eval_dir("again").endswith("eval_again")
    for name in (None, "again"):
        records = _eval_events(mean_estimator.eval_dir(name))
        simple = {
            v.tag: (step, v.simple_value)
            for step, v in records
            if v.HasField("simple_value")
        }
        assert set(simple) == {"loss", "max_label", "keras_mean"}
        assert simple["loss"][0] == 3
        np.testing.assert_allclose(simple["loss"][1], result["loss"], rtol=1e-6)
        texts = [v for _, v in records if v.tag == "checkpoint_path"]
        assert (
            tf.make_ndarray(texts[-1].tensor)
            .item()
            .decode()
            .endswith("model.ckpt-3")
        )


def test_checkpoint_path_selects_an_older_checkpoint(mean_estimator):
    older = os.path.join(mean_estimator.model_dir, "model.ckpt-0")
    assert (
        mean_estimator.evaluate(values_input_fn, checkpoint_path=older)[
            "global_step"
        ]
        == 0
    )


def test_reserved_metric_names_are_rejected(mean_estimator):
    for name, quoted in (("loss", '"loss"'), ("global_step", "`global_step`")):
        estimator = Estimator(
            mean_model_fn,
            model_dir=mean_estimator.model_dir,
            params={"bad_metric": name},
        )
        with pytest.raises(
            ValueError, match=f"Metric with name {quoted} is not allowed"
        ):
            estimator.evaluate(values_input_fn)


def test_evaluation_hooks_and_user_hooks_run(mean_estimator):
    counts = []

    class Counter(v1.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            counts.append(1)

    estimator = Estimator(
        mean_model_fn,
        model_dir=mean_estimator.model_dir,
        params={"hooks": [Counter()]},
    )
    estimator.evaluate(values_input_fn, hooks=[Counter()])
    assert len(counts) == 6  # 3 batches x 2 hooks


def test_without_checkpoint_logs_and_evaluates_fresh_variables(
    tmp_path, caplog
):
    estimator = Estimator(dnn_model_fn, model_dir=str(tmp_path), params={})
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        result = estimator.evaluate(eval_input_fn)
    assert "Could not find trained model in model_dir" in caplog.text
    assert result["global_step"] == 0
    assert set(result) == {"accuracy", "loss", "global_step"}
    assert estimator.latest_checkpoint() is None


def test_evaluate_after_training_returns_the_metric_dict(tmp_path):
    estimator = Estimator(dnn_model_fn, model_dir=str(tmp_path), params={})
    estimator.train(train_input_fn, steps=30)
    result = estimator.evaluate(eval_input_fn)
    assert set(result) == {"accuracy", "loss", "global_step"}
    assert result["global_step"] == 30
    assert 0.0 <= result["accuracy"] <= 1.0
    assert isinstance(result["global_step"], (int, np.integer))
