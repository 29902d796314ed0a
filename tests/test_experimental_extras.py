"""add_metrics, the parse-example-spec helpers, call_logit_fn and the
experimental hooks (InMemoryEvaluatorHook, make_stop_at_checkpoint_step_hook)."""

import numpy as np
import pytest
import tensorflow as tf

import kerasbridge as kb

X = np.linspace(-1, 1, 16).astype(np.float32)
Y = 3 * X + 1


def _input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(4)


def _model_fn(features, labels, mode):
    w = tf.compat.v1.get_variable("w", initializer=0.0)
    b = tf.compat.v1.get_variable("b", initializer=0.0)
    predictions = features["x"] * w + b
    if mode == kb.ModeKeys.PREDICT:
        return kb.EstimatorSpec(mode, predictions={"y": predictions})
    loss = tf.reduce_mean(tf.square(predictions - labels))
    metrics = {"mae": tf.compat.v1.metrics.mean_absolute_error(labels, predictions)}
    train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=tf.compat.v1.train.get_global_step()
    )
    return kb.EstimatorSpec(
        mode,
        predictions={"y": predictions},
        loss=loss,
        train_op=train_op,
        eval_metric_ops=metrics,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    est = kb.Estimator(
        _model_fn, model_dir=str(tmp_path_factory.mktemp("extras"))
    )
    return est.train(lambda: _input_fn().repeat(), steps=6)


def test_add_metrics_adds_and_overrides_metrics(trained):
    def metric_fn(labels, predictions, features, config):
        assert config.model_dir == trained.model_dir
        error = predictions["y"] - labels
        return {
            "max_abs": tf.compat.v1.metrics.mean(tf.reduce_max(tf.abs(error))),
            "mae": tf.compat.v1.metrics.mean(features["x"] * 0 + 7.0),
        }

    extended = kb.add_metrics(trained, metric_fn)
    assert extended.model_dir == trained.model_dir
    before = trained.evaluate(_input_fn)
    after = extended.evaluate(_input_fn)
    assert after["loss"] == pytest.approx(before["loss"])
    assert after["mae"] == pytest.approx(7.0)
    assert after["max_abs"] > 0
    assert "max_abs" not in before


def test_add_metrics_rejects_unknown_metric_fn_args(trained):
    with pytest.raises(ValueError, match=r"not expected args: \['mode'\]"):
        kb.add_metrics(trained, lambda labels, mode: {})


def test_classifier_parse_example_spec_is_the_originals():
    age = tf.feature_column.numeric_column("age")
    city = tf.feature_column.categorical_column_with_hash_bucket("city", 10)
    spec = kb.classifier_parse_example_spec(
        [age, tf.feature_column.indicator_column(city)],
        label_key="clicked",
        label_dtype=tf.string,
        label_default="0",
        weight_column="w",
    )
    assert spec == {
        "age": tf.io.FixedLenFeature((1,), tf.float32),
        "city": tf.io.VarLenFeature(tf.string),
        "clicked": tf.io.FixedLenFeature((1,), tf.string, "0"),
        "w": tf.io.FixedLenFeature((1,), tf.float32),
    }


def test_regressor_parse_example_spec_and_errors():
    age = tf.feature_column.numeric_column("age")
    spec = kb.regressor_parse_example_spec(
        [age], label_key="price", label_dimension=2
    )
    assert spec["price"] == tf.io.FixedLenFeature((2,), tf.float32)
    with pytest.raises(ValueError, match="label should not be used as feature"):
        kb.regressor_parse_example_spec([age], label_key="age")
    with pytest.raises(ValueError, match="weight_column should be an instance"):
        kb.classifier_parse_example_spec(
            [age], "y", weight_column=tf.feature_column.categorical_column_with_identity("w", 3)
        )
    with pytest.raises(ValueError, match="weight_column should not be used"):
        kb.classifier_parse_example_spec([age], "y", weight_column="age")


def test_call_logit_fn_passes_declared_arguments():
    config = kb.RunConfig()
    with tf.Graph().as_default():
        features = {"x": tf.constant([[1.0]])}

        def logit_fn(features, mode, params):
            assert mode == kb.ModeKeys.TRAIN and params == {"k": 2.0}
            return features["x"] * params["k"]

        logits = kb.experimental.call_logit_fn(
            logit_fn, features, kb.ModeKeys.TRAIN, {"k": 2.0}, config
        )
        assert isinstance(logits, tf.Tensor)
        with pytest.raises(ValueError, match="logit_fn should return a Tensor"):
            kb.experimental.call_logit_fn(
                lambda features: [1.0], features, "train", {}, config
            )


def test_stop_at_checkpoint_step_hook_chief_and_worker(trained, tmp_path):
    hook = kb.experimental.make_stop_at_checkpoint_step_hook(trained, 10)
    assert isinstance(hook, tf.compat.v1.train.StopAtStepHook)

    class Worker:
        config = type("C", (), {"is_chief": False})()
        model_dir = trained.model_dir

    worker_hook = kb.experimental.make_stop_at_checkpoint_step_hook(
        Worker(), 6, wait_after_file_check_secs=0
    )
    # The chief's checkpoint is at step 6: a worker at step 5 stops.
    context = type("Ctx", (), {"stopped": False})()
    context.request_stop = lambda: setattr(context, "stopped", True)
    worker_hook.after_run(context, tf.compat.v1.train.SessionRunValues(5, None, None))
    assert context.stopped
    late = kb.experimental.make_stop_at_checkpoint_step_hook(
        Worker(), 7, wait_after_file_check_secs=0
    )
    context.stopped = False
    late.after_run(context, tf.compat.v1.train.SessionRunValues(6, None, None))
    assert not context.stopped


def test_in_memory_evaluator_evaluates_during_training(tmp_path):
    est = kb.Estimator(_model_fn, model_dir=str(tmp_path))
    evaluator = kb.experimental.InMemoryEvaluatorHook(
        est, _input_fn, every_n_iter=3, name="mem"
    )
    est.train(lambda: _input_fn().repeat(), steps=6, hooks=[evaluator])
    # At session creation, after steps 3 and 6, and at the end.
    assert [r["global_step"] for r in evaluator.results] == [0, 3, 6, 6]
    assert evaluator.results[0]["loss"] > evaluator.results[-1]["loss"]
    # The last in-memory evaluation equals evaluating the saved checkpoint.
    final = est.evaluate(_input_fn, name="disk")
    assert evaluator.results[-1]["loss"] == pytest.approx(final["loss"], rel=1e-6)
    assert evaluator.results[-1]["mae"] == pytest.approx(final["mae"], rel=1e-6)
    assert tf.io.gfile.listdir(est.eval_dir("mem"))


def test_in_memory_evaluator_argument_errors(trained):
    with pytest.raises(ValueError, match="invalid every_n_iter=0"):
        kb.experimental.InMemoryEvaluatorHook(trained, _input_fn, every_n_iter=0)
