"""Every input form featurec accepts gives input_layer's answer.

input_layer runs eagerly here (numeric and indicator columns need no
variables), on the value TF would see for that form.
"""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import featurec

fc = tf.feature_column
f32 = np.float32

_HASH = fc.indicator_column(fc.categorical_column_with_hash_bucket("s", 50))
_VOCAB = fc.indicator_column(
    fc.categorical_column_with_vocabulary_list("s", ["a", "é", "日本", "xyz"], num_oov_buckets=3)
)
_INT_HASH = fc.indicator_column(fc.categorical_column_with_hash_bucket("s", 50, dtype=tf.int64))
_NUM = fc.numeric_column("x", shape=(2,))


def tf_out(columns, features):
    return tf.compat.v1.feature_column.input_layer(features, columns).numpy()


def fc_out(columns, features):
    return featurec.compile(columns)(features)


def assert_same(columns, ours, theirs):
    np.testing.assert_array_equal(fc_out(columns, ours), tf_out(columns, theirs))


# ---------------------------------------------------------------------------
# Numeric.
# ---------------------------------------------------------------------------


def test_numeric_forms():
    x = np.array([[1.5, -2.0], [3.25, 1e30]], np.float64)
    expected = tf_out([_NUM], {"x": x})
    for form in (x, x.astype(f32), x.tolist(), tf.constant(x)):
        np.testing.assert_array_equal(fc_out([_NUM], {"x": form}), expected)
    one = fc.numeric_column("x")
    series = pd.Series([1.0, 2.5, -3.0])
    np.testing.assert_array_equal(fc_out([one], {"x": series}), tf_out([one], {"x": series.to_numpy()}))
    np.testing.assert_array_equal(fc_out([one], {"x": [1, 2, 3]}), [[1], [2], [3]])
    ints = pd.Series([1, 2, 3], dtype="int64")
    np.testing.assert_array_equal(fc_out([one], {"x": ints}), [[1], [2], [3]])


def test_numeric_higher_rank_is_flattened_row_major():
    col = fc.numeric_column("x", shape=(2, 2))
    x = np.arange(8, dtype=f32).reshape(2, 2, 2)
    assert_same([col], {"x": x}, {"x": x})
    assert_same([col], {"x": x.reshape(2, 4)}, {"x": x.reshape(2, 4)})


# ---------------------------------------------------------------------------
# Strings.
# ---------------------------------------------------------------------------

_WORDS = ["a", "é", "日本", "xyz", "", "unseen", "x" * 100]


@pytest.mark.parametrize("columns", [[_HASH], [_VOCAB]], ids=["hash", "vocab"])
def test_string_forms_1d(columns):
    expected = tf_out(columns, {"s": np.array(_WORDS, object)})
    forms = {
        "object-str": np.array(_WORDS, object),
        "object-bytes": np.array([w.encode() for w in _WORDS], object),
        "S": np.array([w.encode() for w in _WORDS], "S"),
        "U": np.array(_WORDS),
        "list": list(_WORDS),
        "series": pd.Series(_WORDS),
        "tensor": tf.constant(_WORDS),
    }
    for name, value in forms.items():
        np.testing.assert_array_equal(fc_out(columns, {"s": value}), expected, err_msg=name)


def test_ascii_only_unicode_and_s_arrays_take_the_fast_paths():
    words = ["ab", "c", "", "defgh"]
    expected = tf_out([_HASH], {"s": np.array(words, object)})
    np.testing.assert_array_equal(fc_out([_HASH], {"s": np.array(words)}), expected)
    np.testing.assert_array_equal(fc_out([_HASH], {"s": np.array(words, "S")}), expected)
    # An embedded NUL is part of the string; only trailing NULs are padding.
    s = np.array([b"a\x00b", b"a"], "S4")
    np.testing.assert_array_equal(fc_out([_HASH], {"s": s}), tf_out([_HASH], {"s": s}))


def test_padded_2d_and_ragged_lists():
    padded = np.array([["a", "", "é"], ["", "", ""], ["xyz", "xyz", ""]], object)
    expected = tf_out([_VOCAB], {"s": padded})
    assert_same([_VOCAB], {"s": padded}, {"s": padded})
    np.testing.assert_array_equal(fc_out([_VOCAB], {"s": padded.astype("U")}), expected)
    np.testing.assert_array_equal(fc_out([_VOCAB], {"s": padded.tolist()}), expected)
    ragged = [["a", "é"], [], ["xyz", "", "xyz"]]  # '' in a ragged list is dropped too
    np.testing.assert_array_equal(fc_out([_VOCAB], {"s": ragged}), expected)
    series = pd.Series([["a", "é"], [], ["xyz", "xyz"]])
    np.testing.assert_array_equal(fc_out([_VOCAB], {"s": series}), expected)


def test_sparse_and_ragged_tensors_keep_every_value():
    sp = tf.SparseTensor([[0, 0], [0, 2], [2, 1]], ["a", "", "é"], [3, 3])
    assert_same([_VOCAB], {"s": sp}, {"s": sp})
    rt = tf.ragged.constant([["a", ""], [], ["é", "é"]])
    np.testing.assert_array_equal(fc_out([_VOCAB], {"s": rt}), tf_out([_VOCAB], {"s": rt.to_sparse()}))
    sp1 = tf.SparseTensor([[0], [2]], ["a", "xyz"], [3])  # rank 1: element i is row i
    assert_same([_VOCAB], {"s": sp1}, {"s": sp1})


def test_int_forms():
    padded = np.array([[1, -1, 7], [-1, -1, -1], [2**40, 3, -1]], np.int64)
    expected = tf_out([_INT_HASH], {"s": padded})
    np.testing.assert_array_equal(fc_out([_INT_HASH], {"s": padded}), expected)
    np.testing.assert_array_equal(fc_out([_INT_HASH], {"s": padded.tolist()}), expected)
    np.testing.assert_array_equal(fc_out([_INT_HASH], {"s": [[1, 7], [], [2**40, 3]]}), expected)
    small = np.array([[1], [5]], np.int32)
    assert_same([_INT_HASH], {"s": small}, {"s": small})
    assert_same([_INT_HASH], {"s": pd.Series([1, 5, -7])}, {"s": np.array([1, 5, -7])})
    ident = fc.indicator_column(fc.categorical_column_with_identity("s", 4))
    assert_same([ident], {"s": np.array([0, 3, 3], np.uint8)}, {"s": np.array([0, 3, 3], np.int64)})


@given(st.lists(st.text(max_size=20).filter(lambda s: not s.endswith("\x00")), min_size=1, max_size=8))
def test_any_unicode_strings_give_same_ids_in_every_string_form(words):
    t = featurec.compile([_HASH])
    expected = t({"s": np.array(words, object)})
    np.testing.assert_array_equal(t({"s": np.array(words)}), expected)
    np.testing.assert_array_equal(t({"s": np.array([w.encode() for w in words], "S")}), expected)
    np.testing.assert_array_equal(t({"s": list(words)}), expected)
    np.testing.assert_array_equal(expected, tf_out([_HASH], {"s": np.array(words, object)}))


def test_object_strings_with_nul_and_mixed_str_bytes():
    # NULs inside strings and str/bytes mixtures take the per-element path.
    for values in (["a\x00b", "x", "\x00"], [b"a", "é", b"\x00z", ""]):
        arr = np.array(values, object)
        assert_same([_HASH], {"s": arr}, {"s": arr})


def test_out_buffer_is_reused_and_validated():
    t = featurec.compile([_NUM, _HASH])
    feats = {"x": np.ones((3, 2), f32), "s": np.array(["a", "b", ""], object)}
    buf = np.full((3, t.output_width), 7.0, f32)
    got = t(feats, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, t(feats))
    with pytest.raises(ValueError, match="out must be"):
        t(feats, out=np.empty((2, t.output_width), f32))
    with pytest.raises(ValueError, match="out must be"):
        t(feats, out=np.empty((3, t.output_width), np.float64))


def test_outputs_are_reused_only_when_free_and_aligned_for_tf():
    t = featurec.compile([_NUM, _HASH])
    feats = {"x": np.ones((3, 2), f32), "s": np.array(["a", "b", ""], object)}
    kept = t(feats)
    assert kept.ctypes.data % 64 == 0  # numpy_function hands it to TF without a copy
    address = kept.ctypes.data
    want = kept.copy()
    others = [t(feats) for _ in range(3)]  # kept ones are never written again
    assert len({o.ctypes.data for o in others + [kept]}) == 4
    other = {"x": np.zeros((3, 2), f32), "s": np.array(["zz", "", "q"], object)}
    np.testing.assert_array_equal(kept, want)
    view = kept[1:]
    del kept, others
    assert t(other).ctypes.data != address  # a view still holds it
    del view
    again = t(feats)
    assert again.ctypes.data == address  # free again: reused, no fresh pages
    np.testing.assert_array_equal(again, want)
