"""Serving input receivers and receiver fns (`kb.export`), checked in TF graphs."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from kerasbridge import export


def _example(values):
    feature = {}
    for key, value in values.items():
        value = np.atleast_1d(value)
        if value.dtype.kind == "f":
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=value))
        elif value.dtype.kind == "i":
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=value))
        else:
            feature[key] = tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[v.encode() for v in value])
            )
    return tf.train.Example(
        features=tf.train.Features(feature=feature)
    ).SerializeToString()


def test_lone_tensors_are_wrapped_under_the_default_keys():
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2])
        receiver = export.ServingInputReceiver(x, x)
        assert receiver.features == {"feature": x}
        assert receiver.receiver_tensors == {"input": x}
        assert receiver.receiver_tensors_alternatives is None

        tensor_receiver = export.TensorServingInputReceiver(x, {"x": x})
        assert tensor_receiver.features is x
        assert tensor_receiver.receiver_tensors == {"x": x}


def test_receivers_accept_sparse_tensors_and_int_feature_keys():
    with tf.Graph().as_default():
        sp = tf.compat.v1.sparse_placeholder(tf.int64)
        receiver = export.ServingInputReceiver({0: sp}, {"ids": sp})
        assert receiver.features[0] is sp


@pytest.mark.parametrize(
    "make_kwargs, message",
    [
        (
            lambda x: dict(features=None, receiver_tensors=x),
            "features must be defined.",
        ),
        (
            lambda x: dict(features={"a": 1.0}, receiver_tensors=x),
            "feature a must be a Tensor or SparseTensor.",
        ),
        (
            lambda x: dict(features=x, receiver_tensors=None),
            "receiver_tensors must be defined.",
        ),
        (
            lambda x: dict(features=x, receiver_tensors={1: x}),
            "receiver_tensor keys must be strings: 1.",
        ),
        (
            lambda x: dict(features={1.5: x}, receiver_tensors=x),
            "feature keys must be strings or ints: 1.5.",
        ),
        (
            lambda x: dict(
                features=x, receiver_tensors=x, receiver_tensors_alternatives=[x]
            ),
            "receiver_tensors_alternatives must be a dict",
        ),
        (
            lambda x: dict(
                features=x,
                receiver_tensors=x,
                receiver_tensors_alternatives={"alt": {"a": 3}},
            ),
            "receiver_tensors_alternative a must be a Tensor or SparseTensor.",
        ),
    ],
)
def test_serving_input_receiver_rejects_bad_input_with_the_original_messages(
    make_kwargs, message
):
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None])
        with pytest.raises(ValueError) as info:
            export.ServingInputReceiver(**make_kwargs(x))
    assert message in str(info.value)


def test_tensor_serving_input_receiver_requires_a_single_tensor():
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None])
        with pytest.raises(ValueError, match="features must be defined"):
            export.TensorServingInputReceiver(None, x)
        with pytest.raises(
            ValueError, match="feature must be a Tensor or SparseTensor"
        ):
            export.TensorServingInputReceiver({"x": x}, x)


@settings(max_examples=15)
@given(
    rows=st.lists(
        st.tuples(
            st.lists(st.floats(-1e6, 1e6, width=32), min_size=2, max_size=2),
            st.integers(-(2**40), 2**40),
            st.lists(st.sampled_from(["a", "bb", "ccc"]), max_size=3),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_parsing_receiver_parses_examples_like_tf_io_parse_example(rows):
    feature_spec = {
        "x": tf.io.FixedLenFeature([2], tf.float32),
        "n": tf.io.FixedLenFeature([], tf.int64),
        "tags": tf.io.VarLenFeature(tf.string),
    }
    serialized = [
        _example(
            {"x": np.float32(x), "n": np.int64(n), "tags": np.array(tags, dtype=object)}
        )
        for x, n, tags in rows
    ]
    expected = tf.io.parse_example(tf.constant(serialized), feature_spec)

    fn = export.build_parsing_serving_input_receiver_fn(feature_spec)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        receiver = fn()
        (placeholder,) = receiver.receiver_tensors.values()
        assert list(receiver.receiver_tensors) == ["examples"]
        assert placeholder.op.name == "input_example_tensor"
        got = sess.run(receiver.features, {placeholder: serialized})
    np.testing.assert_array_equal(got["x"], expected["x"].numpy())
    np.testing.assert_array_equal(got["n"], expected["n"].numpy())
    np.testing.assert_array_equal(got["tags"].indices, expected["tags"].indices.numpy())
    np.testing.assert_array_equal(got["tags"].values, expected["tags"].values.numpy())


def test_parsing_receiver_honours_default_batch_size():
    fn = export.build_parsing_serving_input_receiver_fn(
        {"x": tf.io.FixedLenFeature([1], tf.float32)}, default_batch_size=3
    )
    with tf.Graph().as_default():
        assert fn().receiver_tensors["examples"].shape.as_list() == [3]


def test_parsing_receiver_rejects_a_non_dict_feature_spec():
    with pytest.raises(ValueError, match="feature_spec"):
        export.build_parsing_serving_input_receiver_fn(
            [tf.io.FixedLenFeature([1], tf.float32)]
        )


@pytest.mark.parametrize("default_batch_size", [None, 4])
def test_raw_receiver_makes_placeholders_typed_and_shaped_like_the_features(
    default_batch_size,
):
    features = {
        "dense": tf.constant(np.zeros((7, 3, 2), np.float32)),
        "ids": np.zeros((5,), np.int64),
        "words": tf.TensorSpec([None, 4], tf.string),
        "names": np.array(["ada", "bo"]),
    }
    fn = export.build_raw_serving_input_receiver_fn(features, default_batch_size)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        receiver = fn()
        assert receiver.features is receiver.receiver_tensors
        got = {k: (t.dtype, t.shape.as_list()) for k, t in receiver.features.items()}
        assert got == {
            "dense": (tf.float32, [default_batch_size, 3, 2]),
            "ids": (tf.int64, [default_batch_size]),
            "words": (tf.string, [default_batch_size, 4]),
            "names": (tf.string, [default_batch_size]),
        }
        # Signature inputs are keyed by the feature names; so are the placeholders.
        assert receiver.features["ids"].op.name == "ids"
        fed = sess.run(
            receiver.features["ids"],
            {receiver.features["ids"]: np.arange(4, dtype=np.int64)},
        )
    np.testing.assert_array_equal(fed, np.arange(4))


def test_raw_receiver_keeps_a_graph_tensors_op_name():
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2], name="my_x")
    fn = export.build_raw_serving_input_receiver_fn({"x": x})
    with tf.Graph().as_default():
        assert fn().features["x"].op.name == "my_x"


@pytest.mark.parametrize(
    "features", [None, {}, [1, 2], {"x": "not a tensor"}, {3: np.zeros(2)}]
)
def test_raw_receiver_rejects_bad_features_when_built(features):
    with pytest.raises(ValueError, match="feature"):
        export.build_raw_serving_input_receiver_fn(features)


def test_raw_supervised_receiver_feeds_features_and_labels():
    fn = export.build_raw_supervised_input_receiver_fn(
        {"x": np.zeros((2, 3), np.float32)}, np.zeros((2,), np.int64)
    )
    with tf.Graph().as_default():
        receiver = fn()
        assert set(receiver.receiver_tensors) == {"x", "label"}
        assert receiver.labels is receiver.receiver_tensors["label"]
        assert receiver.features["x"].shape.as_list() == [None, 3]


def test_raw_supervised_receiver_rejects_overlapping_keys():
    with pytest.raises(ValueError, match="Features and labels must have distinct keys"):
        export.build_raw_supervised_input_receiver_fn(
            {"y": np.zeros((1,))}, {"y": np.zeros((1,))}
        )
