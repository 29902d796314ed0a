"""`make_predictor` / `Predictor`: one open graph answering like `predict()`."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kerasbridge import export
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.keras import model_to_estimator
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.predictor import Predictor
from kerasbridge.predictor import make_predictor
from kerasbridge.run_config import RunConfig

_COLORS = ["red", "blue", "green"]
_X = np.random.RandomState(0).uniform(-1, 1, (24, 2)).astype(np.float32)
_COLOR = np.array(_COLORS * 8)
_Y = (_X[:, :1] - _X[:, 1:] + (_COLOR == "red")[:, None] > 0).astype(np.float32)


def _model_fn(features, labels, mode, params):
    is_red = tf.cast(tf.equal(features["color"], "red"), tf.float32)[:, None]
    hidden = tf.nn.relu(
        tf.matmul(
            tf.concat([features["x"], is_red], 1),
            tf.compat.v1.get_variable("w1", [3, 4]),
        )
    )
    logits = tf.matmul(hidden, tf.compat.v1.get_variable("w2", [4, 1]))
    if params.get("tensor_predictions"):
        predictions = tf.sigmoid(logits)
    else:
        predictions = {"logits": logits, "probabilities": tf.sigmoid(logits)}
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=predictions)
    loss = tf.compat.v1.losses.sigmoid_cross_entropy(labels, logits)
    train_op = tf.compat.v1.train.AdamOptimizer(0.05).minimize(
        loss, tf.compat.v1.train.get_global_step()
    )
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def _input_fn():
    return (
        tf.data.Dataset.from_tensor_slices(({"x": _X, "color": _COLOR}, _Y))
        .batch(8)
        .repeat()
    )


def _predict(estimator, features):
    """`Estimator.predict` on one batch (the reference answer)."""
    (batch,) = estimator.predict(
        lambda: tf.data.Dataset.from_tensor_slices(features).batch(len(features["x"])),
        yield_single_examples=False,
    )
    return batch


def _features(n=3, seed=1):
    rng = np.random.RandomState(seed)
    return {
        "x": rng.uniform(-2, 2, (n, 2)).astype(np.float32),
        "color": np.array([_COLORS[i % 3] for i in range(n)]),
    }


def _assert_equal_predictions(got, expected):
    assert set(got) == set(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6, atol=1e-7)


@pytest.fixture(scope="module")
def estimator(tmp_path_factory):
    est = Estimator(
        _model_fn,
        model_dir=str(tmp_path_factory.mktemp("predictor_model")),
        config=RunConfig(tf_random_seed=11),
    )
    est.train(_input_fn, steps=5)
    return est


@pytest.fixture(scope="module")
def predictor(estimator):
    """A predictor built (float32 x, string color) by its first call."""
    with make_predictor(estimator) as p:
        p(_features(1))
        yield p


# Each example pays for one predict() call (a graph build and a restore).
@settings(max_examples=10)
@given(
    x=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 6), st.just(2)),
        elements=st.floats(-10, 10, width=32),
    ),
    color_ids=st.lists(st.integers(0, 2), min_size=6, max_size=6),
)
def test_predictor_answers_like_predict(estimator, predictor, x, color_ids):
    features = {"x": x, "color": np.array([_COLORS[i] for i in color_ids[: len(x)]])}
    _assert_equal_predictions(predictor(features), _predict(estimator, features))


def test_predictor_keeps_one_finalized_graph_and_session(predictor):
    predictor(_features(1))
    graph = predictor.graph
    assert graph.finalized  # Calls cannot add ops.
    predictor(_features(1024))
    predictor(_features(2))
    assert predictor.graph is graph
    assert predictor.checkpoint_path is not None


def test_first_call_fixes_dtypes_and_later_calls_may_pass_lists(estimator):
    features = _features(2)
    as_lists = {
        "x": features["x"].astype(np.float64).tolist(),
        "color": list(features["color"]),
    }
    with make_predictor(estimator) as p:
        p(_features(1))  # float32 x: the placeholders are float32 from now on.
        _assert_equal_predictions(p(as_lists), _predict(estimator, features))


def test_predictor_with_a_parsing_receiver_takes_serialized_examples(estimator):
    features = _features(4)
    examples = [
        tf.train.Example(
            features=tf.train.Features(
                feature={
                    "x": tf.train.Feature(float_list=tf.train.FloatList(value=x)),
                    "color": tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[c.encode()])
                    ),
                }
            )
        ).SerializeToString()
        for x, c in zip(features["x"], features["color"], strict=True)
    ]
    receiver_fn = export.build_parsing_serving_input_receiver_fn(
        {
            "x": tf.io.FixedLenFeature([2], tf.float32),
            "color": tf.io.FixedLenFeature([], tf.string),
        }
    )
    with make_predictor(estimator, receiver_fn) as p:
        assert p.input_keys == ["examples"]
        expected = _predict(estimator, features)
        _assert_equal_predictions(p({"examples": examples}), expected)
        # A lone array feeds the only input.
        _assert_equal_predictions(p(examples), expected)


def test_tensor_predictions_come_back_as_one_array(estimator):
    tensor_est = Estimator(
        _model_fn, model_dir=estimator.model_dir, params={"tensor_predictions": True}
    )
    features = _features(3)
    with make_predictor(tensor_est) as p:
        got = p(features)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(
        got, _predict(estimator, features)["probabilities"], rtol=1e-6
    )


def test_predictor_from_saved_model_answers_like_predict(estimator, tmp_path):
    path = estimator.export_saved_model(
        str(tmp_path),
        export.build_raw_serving_input_receiver_fn(
            {"x": _X, "color": tf.TensorSpec([None], tf.string)}
        ),
    )
    features = _features(5)
    with Predictor.from_saved_model(path) as p:
        assert p.input_keys == ["color", "x"]
        assert p.graph.finalized
        _assert_equal_predictions(p(features), _predict(estimator, features))
    with pytest.raises(
        ValueError, match="signature_key 'nope' is not in the SavedModel"
    ):
        Predictor.from_saved_model(path, signature_key="nope")


def test_missing_or_unexpected_features_are_named(predictor):
    features = _features(1)
    with pytest.raises(ValueError, match=r"features is missing \['color'\]"):
        predictor({"x": features["x"]})
    with pytest.raises(ValueError, match=r"unexpected keys \['colour'\]"):
        predictor(dict(features, colour=features["color"]))
    with pytest.raises(ValueError, match="must be a dict"):
        predictor(features["x"])


def test_first_call_must_give_batched_features(estimator):
    with make_predictor(estimator) as p:
        with pytest.raises(
            ValueError, match="feature 'x' must have a leading batch dimension"
        ):
            p({"x": 1.0, "color": ["red"]})


def test_closed_predictor_refuses_calls(estimator):
    with make_predictor(estimator) as p:
        p(_features(1))
    with pytest.raises(ValueError, match="This Predictor is closed."):
        p(_features(1))


def test_predictor_reloads_a_newer_checkpoint_only_when_asked(tmp_path):
    est = Estimator(
        _model_fn, model_dir=str(tmp_path), config=RunConfig(tf_random_seed=5)
    )
    est.train(_input_fn, steps=2)
    features = _features(4)
    before = _predict(est, features)
    with (
        make_predictor(est, reload_on_new_checkpoint=True) as reloading,
        make_predictor(est) as fixed,
    ):
        _assert_equal_predictions(reloading(features), before)
        _assert_equal_predictions(fixed(features), before)
        first_checkpoint = reloading.checkpoint_path

        est.train(_input_fn, steps=3)
        after = _predict(est, features)
        assert not np.allclose(after["logits"], before["logits"])
        _assert_equal_predictions(reloading(features), after)
        assert reloading.checkpoint_path == est.latest_checkpoint() != first_checkpoint
        _assert_equal_predictions(fixed(features), before)
        assert fixed.checkpoint_path == first_checkpoint


def test_predictor_of_an_explicit_checkpoint(estimator):
    first = tf.train.get_checkpoint_state(
        estimator.model_dir
    ).all_model_checkpoint_paths[0]
    with make_predictor(estimator, checkpoint_path=first) as p:
        got = p(_features(2))
        assert p.checkpoint_path == first
    expected = next(
        estimator.predict(
            lambda: tf.data.Dataset.from_tensor_slices(_features(2)).batch(2),
            checkpoint_path=first,
            yield_single_examples=False,
        )
    )
    _assert_equal_predictions(got, expected)


def test_model_to_estimator_exports_and_predicts_through_a_predictor(tmp_path):
    inputs = keras.Input((2,), name="x")
    hidden = keras.layers.Dense(4, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="score")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "binary_crossentropy")
    est = model_to_estimator(keras_model=model, model_dir=str(tmp_path / "model"))
    est.train(
        lambda: tf.data.Dataset.from_tensor_slices(({"x": _X}, _Y)).batch(8).repeat(),
        steps=3,
    )
    features = {"x": _features(4)["x"]}
    expected = _predict(est, features)
    assert set(expected) == {"score"}
    with make_predictor(est) as p:
        _assert_equal_predictions(p(features), expected)
    path = est.export_saved_model(
        str(tmp_path / "export"), export.build_raw_serving_input_receiver_fn(features)
    )
    with Predictor.from_saved_model(path) as p:
        _assert_equal_predictions(p(features), expected)


def test_wrong_dtype_gets_tfs_error_and_the_predictor_keeps_answering(
    estimator, predictor
):
    features = _features(2)
    with pytest.raises(ValueError, match="could not convert string to float"):
        predictor(dict(features, x=np.array([["a", "b"], ["c", "d"]])))
    _assert_equal_predictions(predictor(features), _predict(estimator, features))
