"""featurec.dataset applies the compiled transform to a batched tf.data pipeline."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import _featurec_columns as C
from _featurec_columns import vocab_file  # noqa: F401 - shared fixture
import featurec
from featurec._dataset import dataset
from featurec._input_layer import DENSE_KEY, input_layer

DENSE_VARIANT = C.VARIANTS[2]  # every feature of this variant is a dense array


@pytest.fixture(scope="module")
def transform(vocab_file):
    with tf.Graph().as_default():
        t = featurec.compile(C.columns(DENSE_VARIANT, vocab_file))
    rng = np.random.default_rng(5)
    for name, shape in t.embedding_tables.items():
        t.set_embedding_table(name, rng.normal(size=shape).astype(np.float32))
    return t


def _batches(features, size):
    n = len(next(iter(features.values())))
    return [{k: v[i : i + size] for k, v in features.items()} for i in range(0, n, size)]


@given(st.data())
def test_matrices_equal_the_transform_batch_by_batch(transform, data):
    features = C.features(data.draw, DENSE_VARIANT)
    size = data.draw(st.integers(1, 4))
    labels = np.arange(len(features["x"]), dtype=np.int64)
    raw = tf.data.Dataset.from_tensor_slices((features, labels)).batch(size)
    got = list(dataset(raw, transform, num_parallel_calls=2).as_numpy_iterator())
    want = _batches(features, size)
    assert len(got) == len(want)
    with np.errstate(all="ignore"):
        for (matrix, label), batch in zip(got, want):
            assert matrix.dtype == np.float32
            np.testing.assert_array_equal(matrix, transform(batch))
            np.testing.assert_array_equal(label, np.arange(len(batch["x"])) + label[0])


def test_features_only_elements_and_columns_without_embeddings():
    columns = [
        tf.feature_column.numeric_column("a"),
        tf.feature_column.indicator_column(
            tf.feature_column.categorical_column_with_hash_bucket("s", 4)
        ),
    ]
    features = {"a": np.array([1.5, -2.0, 3.0], np.float32), "s": np.array(["x", "y", ""], object)}
    raw = tf.data.Dataset.from_tensor_slices(features).batch(2)
    got = list(dataset(raw, columns, prefetch=None).as_numpy_iterator())
    t = featurec.compile(columns)
    for matrix, batch in zip(got, _batches(features, 2)):
        np.testing.assert_array_equal(matrix, t(batch))


def test_embedding_ids_feed_input_layer_in_a_model_fn_graph(vocab_file):
    """Untrained tables: the dataset passes ids; featurec.input_layer equals input_layer."""
    features = C.fixed_features()
    features["v"] = C.object_array([["a", "zz"], ["", "é"], ["b", "b"], ["q", ""]])
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        columns = C.columns(C.VARIANTS[0], vocab_file)
        raw = tf.data.Dataset.from_tensor_slices(features).batch(3)
        mapped = dataset(raw, columns)
        pre = tf.compat.v1.data.make_one_shot_iterator(mapped).get_next()
        assert DENSE_KEY in pre
        ours = input_layer(pre, columns)
        ref_features = tf.compat.v1.data.make_one_shot_iterator(raw).get_next()
        reference = tf.compat.v1.feature_column.input_layer(ref_features, columns)
        sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
        rng = np.random.default_rng(2)
        by_suffix = {}
        for var in tf.compat.v1.global_variables():
            by_suffix.setdefault(var.op.name.split("/", 1)[1], []).append(var)
        for group in by_suffix.values():
            value = rng.normal(size=group[0].shape).astype(np.float32)
            for var in group:
                var.load(value, sess)
        for _ in range(2):
            got, want = sess.run([ours, reference])
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_element_without_features_dict_is_a_type_error():
    raw = tf.data.Dataset.from_tensor_slices(np.zeros((4, 2), np.float32)).batch(2)
    with pytest.raises(TypeError, match="features dict"):
        dataset(raw, [tf.feature_column.numeric_column("a")])


def test_string_tensors_sharing_one_joined_buffer_read_as_numpy_strings():
    # featurec.dataset's crossing into numpy: every dense string tensor of a
    # batch in one buffer, offsets absolute in it, one shape each.
    from featurec._strings import JoinedStrings

    fc = tf.feature_column
    columns = [
        fc.indicator_column(fc.categorical_column_with_hash_bucket(k, size))
        for k, size in (("a", 7), ("b", 5), ("c", 3))
    ]
    dense = {
        "a": np.array([b"x", b"", "é".encode()]),
        "b": np.array([[b"p", b"qq"], [b"", b"r"], [b"s", "日本".encode()]]),
        "c": np.array([[b"u"], [b"v"], [b""]]),
    }
    items = [v for k in ("a", "b", "c") for v in dense[k].ravel()]
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in items])]).astype(np.int64)
    shapes = [np.array(dense[k].shape, np.int64) for k in ("a", "b", "c")]
    split = JoinedStrings.split(b"".join(items), offsets, shapes)
    t = featurec.compile(columns)
    np.testing.assert_array_equal(t(dict(zip("abc", split))), t(dense))
    # Offsets that do not cover a shape's items fail naming the feature.
    short = JoinedStrings.split(b"".join(items), offsets[:-1], shapes)
    with pytest.raises(ValueError, match="'c'"):
        t(dict(zip("abc", short)))
