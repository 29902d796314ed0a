"""featurec.make_parse_example_spec == tf.feature_column.make_parse_example_spec."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from featurec._parse_spec import make_parse_example_spec

fc = tf.feature_column
fc1 = tf.compat.v1.feature_column


def _pool(vocab_file):
    """Columns of every type; keys are shared only where the specs agree."""
    x = fc.numeric_column("x", shape=(2,), default_value=(0.5, 1.5))
    vocab = fc.categorical_column_with_vocabulary_list("v", ["a", "b"])
    ident = fc.categorical_column_with_identity("i", 10)
    crossed = fc.crossed_column(["s", fc.bucketized_column(x, [0.0, 1.0]), vocab], 100)
    return [
        x,
        fc.numeric_column("n64", dtype=tf.int64, default_value=7),
        fc.numeric_column("grid", shape=(2, 3), dtype=tf.float64),
        fc.bucketized_column(x, [0.0, 1.0]),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 10)),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("hi", 10, dtype=tf.int32)),
        fc.indicator_column(vocab),
        fc.embedding_column(
            fc.categorical_column_with_vocabulary_list("vi", [1, 2, 3], dtype=tf.int64), 2
        ),
        fc.indicator_column(fc.categorical_column_with_vocabulary_file("f", vocab_file)),
        fc.embedding_column(ident, 3),
        fc.indicator_column(fc.weighted_categorical_column(ident, "iw")),
        fc.indicator_column(
            fc.weighted_categorical_column(
                fc.categorical_column_with_hash_bucket("hw", 5), "hw_weight", dtype=tf.float64
            )
        ),
        fc.embedding_column(crossed, 4),
        fc.indicator_column(fc.crossed_column([crossed, "t"], 10)),
        fc.indicator_column(fc.sequence_categorical_column_with_identity("seq", 4)),
        fc.sequence_numeric_column("seqn", dtype=tf.float64),
    ]


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    path = tmp_path_factory.mktemp("parse_spec") / "vocab.txt"
    path.write_text("a\nb\nc\n")
    return _pool(str(path))


def test_every_column_type(pool):
    for column in pool:
        assert make_parse_example_spec([column]) == fc.make_parse_example_spec([column]), column


@given(st.data())
def test_any_subset_merges_like_tf(pool, data):
    columns = data.draw(st.lists(st.sampled_from(pool), max_size=8))
    assert make_parse_example_spec(columns) == fc.make_parse_example_spec(columns)


def test_v1_shared_embedding_columns_match_the_v1_function():
    with tf.Graph().as_default():
        shared = fc1.shared_embedding_columns(
            [
                fc.categorical_column_with_identity("a", 4),
                fc.categorical_column_with_identity("b", 4, default_value=0),
            ],
            2,
        )
        assert make_parse_example_spec(shared) == fc1.make_parse_example_spec(shared)


def test_numeric_spec_fields():
    spec = make_parse_example_spec([fc.numeric_column("x", shape=(3,), default_value=2.0)])
    assert spec == {"x": tf.io.FixedLenFeature((3,), tf.float32, (2.0, 2.0, 2.0))}


def test_conflicting_specs_raise_naming_the_key():
    columns = [
        fc.numeric_column("a"),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("a", 3)),
    ]
    with pytest.raises(ValueError, match="different parse_spec for key a"):
        make_parse_example_spec(columns)


def test_non_column_raises():
    with pytest.raises(ValueError, match="must be FeatureColumn instances"):
        make_parse_example_spec([np.zeros(3)])
