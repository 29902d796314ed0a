"""Bad columns and bad inputs give a ValueError/TypeError naming what is wrong."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import featurec

fc = tf.feature_column
fc1 = tf.compat.v1.feature_column
f32 = np.float32

_NUM = fc.numeric_column("n", shape=(2,))
_HASH = fc.categorical_column_with_hash_bucket("s", 10)
_IDENT = fc.categorical_column_with_identity("i", 4)
_INT_VOCAB = fc.categorical_column_with_vocabulary_list("v", [1, 2, 3])


# ---------------------------------------------------------------------------
# Columns.
# ---------------------------------------------------------------------------


def test_bare_categorical_rejected_with_input_layers_message():
    with pytest.raises(ValueError, match="must be a _DenseColumn.*embedding_column or indicator_column"):
        featurec.compile([_HASH])


def test_v2_shared_embeddings_rejected_naming_the_v1_alternative():
    with tf.Graph().as_default():
        cols = fc.shared_embeddings([_IDENT, fc.categorical_column_with_identity("j", 4)], 2)
    with pytest.raises(ValueError, match="not supported in `linear_model` or `input_layer`.*shared_embedding_columns"):
        featurec.compile(cols)


def test_sequence_columns_rejected():
    seq = fc.sequence_categorical_column_with_identity("q", 3)
    with pytest.raises(ValueError, match="Sequence columns are not supported"):
        featurec.compile([fc.indicator_column(seq)])
    with pytest.raises(ValueError, match="Sequence columns are not supported"):
        featurec.compile([fc.sequence_numeric_column("q")])


def test_unknown_objects_and_duplicates():
    with pytest.raises(TypeError, match="Unsupported feature column"):
        featurec.compile([object()])
    with pytest.raises(ValueError, match="Duplicate feature column name.*n"):
        featurec.compile([_NUM, fc.numeric_column("n")])
    with pytest.raises(ValueError):
        featurec.compile([])


def test_tf_callable_normalizer_rejected_saying_what_is_accepted():
    for fn in (tf.math.log1p, lambda x: tf.math.log1p(x)):
        with pytest.raises(TypeError, match="featurec.normalizers.*numba"):
            featurec.compile([fc.numeric_column("x", normalizer_fn=fn)])


def test_bare_log1p_function_is_accepted_as_normalizer():
    col = fc.numeric_column("x", normalizer_fn=featurec.normalizers.log1p)
    x = np.array([[0.5], [3.0]], f32)
    expected = tf.compat.v1.feature_column.input_layer({"x": x}, [col]).numpy()
    np.testing.assert_array_equal(featurec.compile([col])({"x": x}), expected)


def test_normalizer_constructor_validation():
    with pytest.raises(ValueError, match="std"):
        featurec.normalizers.zscore(0.0, 0.0)
    with pytest.raises(ValueError, match="lo <= hi"):
        featurec.normalizers.clip(2.0, 1.0)


@pytest.mark.parametrize(
    "content, size, match",
    [(b"a\n\nb\n", None, "empty line"), (b"a\nb\na\n", None, "Duplicate"), (b"a\nb\n", 3, "vocab_size")],
)
def test_bad_vocabulary_files(tmp_path, content, size, match):
    path = tmp_path / "v.txt"
    path.write_bytes(content)
    col = fc1.categorical_column_with_vocabulary_file("f", str(path), vocabulary_size=size)
    with pytest.raises(ValueError, match=match):
        featurec.compile([fc.indicator_column(col)])


# ---------------------------------------------------------------------------
# Inputs.
# ---------------------------------------------------------------------------


def _t(*cols):
    return featurec.compile(list(cols))


def test_missing_feature_names_feature_and_column():
    with pytest.raises(ValueError, match="'s'.*s_indicator"):
        _t(fc.indicator_column(_HASH))({"other": [["a"]]})
    with pytest.raises(TypeError, match="dict"):
        _t(_NUM)([[1.0, 2.0]])


def test_wrong_dtypes():
    with pytest.raises(TypeError, match="'n'.*numeric"):
        _t(_NUM)({"n": np.array([["a", "b"]])})
    with pytest.raises(ValueError, match="not integer.*i_indicator"):
        _t(fc.indicator_column(_IDENT))({"i": np.array([[1.5]])})
    with pytest.raises(ValueError, match="dtype.*s_indicator"):
        _t(fc.indicator_column(_HASH))({"s": np.array([[1, 2]])})
    with pytest.raises(ValueError, match="dtype.*v_indicator"):
        _t(fc.indicator_column(_INT_VOCAB))({"v": [["1"]]})
    with pytest.raises(TypeError, match="'s'.*strings"):
        _t(fc.indicator_column(_HASH))({"s": np.array(["a", None], object)})
    weighted = fc.indicator_column(fc.weighted_categorical_column(_IDENT, "w"))
    with pytest.raises(ValueError, match="'w'.*weight"):
        _t(weighted)({"i": [[1]], "w": np.array([[1.0]], np.float64)})


def test_nan_and_inf_pass_through_numeric():
    out = _t(_NUM)({"n": np.array([[np.nan, np.inf]], f32)})
    assert np.isnan(out[0, 0]) and out[0, 1] == np.inf


def test_overflowing_ids():
    with pytest.raises(ValueError, match="'i'.*int64"):
        _t(fc.indicator_column(_IDENT))({"i": [[2**64]]})
    with pytest.raises(ValueError, match="'i'.*int64"):
        _t(fc.indicator_column(_IDENT))({"i": np.array([[2**63]], np.uint64)})


def test_ragged_where_dense_required():
    with pytest.raises(ValueError, match="'n'.*ragged"):
        _t(_NUM)({"n": [[1.0, 2.0], [3.0]]})
    with pytest.raises(ValueError, match="'n'.*ragged"):
        _t(_NUM)({"n": tf.ragged.constant([[1.0, 2.0], [3.0]])})
    with pytest.raises(ValueError, match="'n'.*SparseTensor"):
        _t(_NUM)({"n": tf.SparseTensor([[0, 0]], [1.0], [1, 2])})
    cross = fc.indicator_column(fc.crossed_column(["s", "t"], 10))
    with pytest.raises(ValueError, match="'s'.*ragged"):
        _t(cross)({"s": [["a"], ["b", "c"]], "t": [["x"], ["y"]]})


def test_shape_mismatches():
    with pytest.raises(ValueError, match="'n'.*2 values per row"):
        _t(_NUM)({"n": np.zeros((3, 3), f32)})
    with pytest.raises(ValueError, match="rank 0"):
        _t(fc.numeric_column("x"))({"x": 1.0})
    with pytest.raises(ValueError, match="rows"):
        _t(_NUM, fc.numeric_column("x"))({"n": np.zeros((3, 2), f32), "x": np.zeros((2, 1), f32)})
    with pytest.raises(ValueError, match="rank"):
        _t(fc.indicator_column(_HASH))({"s": np.zeros((2, 2, 2), object)})


def test_embedding_table_errors():
    emb = fc.embedding_column(_IDENT, 3)
    t = _t(emb)
    with pytest.raises(ValueError, match="i_embedding.*set_embedding_table"):
        t({"i": [[1]]})
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        t.set_embedding_table("i_embedding", np.zeros((5, 3)))
    with pytest.raises(ValueError, match="nope"):
        t.set_embedding_table("nope", np.zeros((4, 3)))
    t.set_embedding_table("input_layer/i_embedding/embedding_weights:0", np.ones((4, 3)))
    with pytest.raises(ValueError, match="i_embedding.*out of range"):
        t({"i": [[1, 9]]})
    np.testing.assert_array_equal(t({"i": [[1, -5]]}), np.ones((1, 3), f32))


def test_embedding_table_is_copied_when_set():
    t = _t(fc.embedding_column(_IDENT, 3, combiner="sum"))
    table = np.arange(12, dtype=f32).reshape(4, 3)
    t.set_embedding_table("i_embedding", table)
    table[:] = -1.0  # the caller reuses its array: the transform keeps its copy
    np.testing.assert_array_equal(t({"i": [[2]]}), [[6.0, 7.0, 8.0]])
    t.set_embedding_table("i_embedding", np.zeros((4, 3)))  # replacing works
    np.testing.assert_array_equal(t({"i": [[2]]}), [[0.0, 0.0, 0.0]])


def test_weighted_id_weight_count_mismatch():
    weighted = fc.indicator_column(fc.weighted_categorical_column(_IDENT, "w"))
    with pytest.raises(ValueError, match="Number of elements in indices"):
        _t(weighted)({"i": np.array([[1, 2]]), "w": np.array([[1.0, 0.0]], f32)})
    # A subnormal weight is zero in a TF session (denormals-are-zero).
    with pytest.raises(ValueError, match="Number of elements in indices"):
        _t(weighted)({"i": np.array([[1]]), "w": np.array([[1e-40]], f32)})


def test_tables_load_from_checkpoint(tmp_path):
    emb = fc.embedding_column(_IDENT, 2)
    table = np.arange(8, dtype=f32).reshape(4, 2)
    with tf.Graph().as_default():
        out = tf.compat.v1.feature_column.input_layer({"i": tf.constant([[2]])}, [emb])
        (var,) = tf.compat.v1.global_variables()
        with tf.compat.v1.Session() as sess:
            var.load(table, sess)
            expected = sess.run(out)
            prefix = tf.compat.v1.train.Saver().save(sess, str(tmp_path / "model"))
    t = _t(emb)
    t.load_embedding_tables(prefix)
    np.testing.assert_array_equal(t({"i": [[2]]}), expected)


# ---------------------------------------------------------------------------
# Malformed inputs, generated: a clean error or input_layer's answer.
# ---------------------------------------------------------------------------

_COLUMNS = [
    _NUM,
    fc.bucketized_column(_NUM, [0.0, 1.0]),
    fc.indicator_column(_HASH),
    # A second string hash column: the batch then hashes its string columns
    # together (numpy S arrays in place).
    fc.indicator_column(fc.categorical_column_with_hash_bucket("t", 5)),
    fc.indicator_column(_IDENT),
    fc.indicator_column(_INT_VOCAB),
    fc.indicator_column(fc.crossed_column(["s", _IDENT], 7)),
]
_T = featurec.compile(_COLUMNS)

_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=3), st.binary(max_size=3)
)
_array = hnp.arrays(
    st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.uint64, np.bool_, "U2", "S2", object]),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    elements=None,
)
_value = st.one_of(
    _scalar,
    _array,
    st.lists(_scalar, max_size=3),
    st.lists(st.lists(_scalar, max_size=3), max_size=3),
)
_good = {
    "n": np.array([[0.5, 2.0], [1.0, -1.0]], f32),
    "s": np.array([["a"], ["b"]], object),
    "i": np.array([[1], [3]]),
    "v": np.array([[2], [9]]),
    "t": np.array([b"x", b"\xc3\xa9"]),
}


@given(st.dictionaries(st.sampled_from(["n", "s", "i", "v", "t"]), _value, max_size=5))
def test_malformed_inputs_raise_cleanly_or_match_input_layer(bad):
    features = {**_good, **bad}
    try:
        got = _T(features)
    except (ValueError, TypeError):
        return
    assert got.dtype == np.float32 and got.shape[1] == _T.output_width
    try:
        expected = tf.compat.v1.feature_column.input_layer(features, _COLUMNS).numpy()
    except Exception:  # TF rejects forms featurec accepts (e.g. ragged lists)
        return
    np.testing.assert_array_equal(got, expected)


def test_first_use_compile_is_announced_once(monkeypatch, caplog):
    from featurec import _write

    monkeypatch.setattr(_write, "_cold_cache_checked", False)
    monkeypatch.setattr(_write, "_kernel_cache_missing", lambda: "/some/cache")
    with caplog.at_level("WARNING", logger="featurec"):
        _write.notice_cold_cache()
        _write.notice_cold_cache()
    notes = [r.getMessage() for r in caplog.records if r.name == "featurec"]
    assert len(notes) == 1 and "compiling its numba kernels" in notes[0]


def test_warm_cache_is_not_announced(monkeypatch, caplog):
    from featurec import _write

    monkeypatch.setattr(_write, "_cold_cache_checked", False)
    monkeypatch.setattr(_write, "_kernel_cache_missing", lambda: None)
    with caplog.at_level("WARNING", logger="featurec"):
        _T({**_good})
    assert not [r for r in caplog.records if r.name == "featurec"]
