"""Estimator.predict: values, keys, batching, checkpoints, laziness."""

import logging

import numpy as np
import pytest
import tensorflow as tf

from _kb_models import X
from _kb_models import Y
from _kb_models import dnn_model_fn
from _kb_models import numpy_logits
from _kb_models import predict_input_fn
from _kb_models import train_input_fn
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec

v1 = tf.compat.v1


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    estimator = Estimator(
        dnn_model_fn, model_dir=str(tmp_path_factory.mktemp("p")), params={}
    )
    estimator.train(train_input_fn, steps=20)
    return estimator


@pytest.fixture(scope="module")
def all_predictions(trained):
    return list(trained.predict(lambda: predict_input_fn(batch_size=10)))


def test_one_dict_per_example_matching_the_checkpoint(trained, all_predictions):
    assert len(all_predictions) == len(X)
    logits = np.stack([p["logits"] for p in all_predictions])
    np.testing.assert_allclose(
        logits, numpy_logits(trained, X), rtol=1e-4, atol=1e-5
    )
    assert [int(p["class_ids"]) for p in all_predictions] == list(
        logits.argmax(1)
    )
    assert set(all_predictions[0]) == {"class_ids", "logits", "probabilities"}


def test_whole_batches_when_not_single_examples(trained, all_predictions):
    batches = list(
        trained.predict(
            lambda: predict_input_fn(batch_size=10), yield_single_examples=False
        )
    )
    assert [len(b["logits"]) for b in batches] == [10] * 6 + [4]
    np.testing.assert_array_equal(
        np.concatenate([b["logits"] for b in batches]),
        np.stack([p["logits"] for p in all_predictions]),
    )


def test_predict_keys_filter(trained):
    first = next(trained.predict(predict_input_fn, predict_keys=["class_ids"]))
    assert set(first) == {"class_ids"}
    first = next(trained.predict(predict_input_fn, predict_keys="logits"))
    assert set(first) == {"logits"}


def test_unknown_predict_key_lists_the_available_ones(trained):
    with pytest.raises(
        ValueError,
        match=r"nope.*Available prediction keys: \['class_ids', 'logits', 'probabilities'\]",
    ):
        next(trained.predict(predict_input_fn, predict_keys=["logits", "nope"]))


def _tensor_model_fn(features, mode):
    weight = v1.get_variable("w", initializer=2.0)
    return EstimatorSpec(mode, predictions=features["x"][:, 0] * weight)


def test_single_tensor_predictions_and_keys_error(tmp_path):
    estimator = Estimator(_tensor_model_fn, model_dir=str(tmp_path))
    values = list(estimator.predict(predict_input_fn))
    np.testing.assert_allclose(values, X[:, 0] * 2.0)
    with pytest.raises(
        ValueError,
        match="predict_keys argument is not valid in case of non-dict predictions",
    ):
        next(estimator.predict(predict_input_fn, predict_keys=["a"]))


def test_batch_length_mismatch_is_an_error(tmp_path):
    def model_fn(features, mode):
        weight = v1.get_variable("w", initializer=1.0)
        x = features["x"] * weight
        return EstimatorSpec(mode, predictions={"rows": x, "first_two": x[:2]})

    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    with pytest.raises(
        ValueError,
        match="Batch length of predictions should be same. first_two",
    ):
        next(estimator.predict(predict_input_fn))
    batch = next(
        estimator.predict(predict_input_fn, yield_single_examples=False)
    )
    assert batch["first_two"].shape == (2, 4)


def test_scalar_prediction_cannot_be_split(tmp_path):
    def model_fn(features, mode):
        weight = v1.get_variable("w", initializer=1.0)
        return EstimatorSpec(
            mode, predictions={"total": tf.reduce_sum(features["x"]) * weight}
        )

    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="'total' is a scalar"):
        next(estimator.predict(predict_input_fn))


def test_without_checkpoint_uses_fresh_variables(tmp_path, caplog):
    estimator = Estimator(_tensor_model_fn, model_dir=str(tmp_path))
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        first = next(estimator.predict(predict_input_fn))
    assert first == pytest.approx(X[0, 0] * 2.0)
    assert "Could not find trained model in model_dir" in caplog.text
    assert estimator.latest_checkpoint() is None


def test_labels_are_ignored_and_model_fn_gets_none(trained):
    seen = []

    def model_fn(features, labels, mode, params):
        seen.append(labels)
        return dnn_model_fn(features, labels, mode, params)

    estimator = Estimator(model_fn, model_dir=trained.model_dir, params={})
    dataset_fn = lambda: tf.data.Dataset.from_tensor_slices(
        ({"x": X}, Y)
    ).batch(
        16
    )  # noqa: E731
    assert len(list(estimator.predict(dataset_fn))) == len(X)
    assert seen == [None]


def test_predict_is_lazy_and_runs_prediction_hooks(trained):
    calls = []

    class Counter(v1.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            calls.append("hook")

    def model_fn(features, labels, mode, params):
        calls.append("model_fn")
        spec = dnn_model_fn(features, labels, mode, params)
        return spec._replace(prediction_hooks=[Counter()])

    estimator = Estimator(model_fn, model_dir=trained.model_dir, params={})
    generator = estimator.predict(lambda: predict_input_fn(batch_size=32))
    assert calls == []
    assert len(list(generator)) == len(X)
    assert calls == ["model_fn", "hook", "hook"]


def test_input_without_dataset_warns_that_it_never_ends(trained, caplog):
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        generator = trained.predict(lambda: {"x": tf.constant(X[:3])})
        for _ in range(6):  # the same 3 rows again and again
            next(generator)
        generator.close()
    assert "predict yields forever" in caplog.text
