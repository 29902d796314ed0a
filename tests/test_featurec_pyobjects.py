"""Object arrays of Python str/bytes, packed in numba through the C API.

Every output is compared with input_layer's on the same strings; the packer
itself is checked to take these arrays (not the per-item fallback), and
items it does not take to raise the fallback's errors naming the feature.
"""

import ctypes

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import featurec
from featurec import _pyobjects

fc = tf.feature_column

_COLUMNS = [
    fc.indicator_column(fc.categorical_column_with_hash_bucket("s", 40)),  # hashed in the writer
    fc.indicator_column(
        fc.categorical_column_with_vocabulary_list("u", ["a", "é", "日本", "", "😀"], num_oov_buckets=2)
    ),
    fc.indicator_column(fc.crossed_column(["s", "u"], 30)),  # raw crossed keys: fingerprints
]


class _Str(str):
    pass


class _Bytes(bytes):
    pass


def _as_bytes(v):
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)  # any UTF-8-encodable text
_ITEM = st.one_of(
    _TEXT,
    _TEXT.map(lambda s: s.encode("utf-8")),
    _TEXT.map(_Str),
    _TEXT.map(lambda s: _Bytes(s.encode("utf-8"))),
    _TEXT.map(np.str_),
    st.binary(max_size=8).map(np.bytes_),
)


@pytest.fixture(scope="module")
def transform():
    return featurec.compile(_COLUMNS)


def _check(t, s, u):
    # TF sees the same items as bytes, which it hashes as they are.
    tf_s = np.array([_as_bytes(v) for v in s.reshape(-1)], object).reshape(s.shape)
    tf_u = np.array([_as_bytes(v) for v in u.reshape(-1)], object).reshape(u.shape)
    expected = tf.compat.v1.feature_column.input_layer({"s": tf_s, "u": tf_u}, _COLUMNS).numpy()
    np.testing.assert_array_equal(t({"s": s, "u": u}), expected)


def _object_array(items):
    arr = np.empty(len(items), object)
    arr[:] = items
    return arr


@given(st.lists(st.tuples(_ITEM, _ITEM), min_size=1, max_size=10))
def test_mixed_str_bytes_subclasses_and_numpy_scalars_match_input_layer(transform, pairs):
    s = _object_array([a for a, _ in pairs])
    u = _object_array([b for _, b in pairs])
    packed = _pyobjects.pack(s)
    assert packed is not None  # the numba path took it
    buf, starts, ends, _ = packed
    assert [bytes(buf[a:b]) for a, b in zip(starts, ends)] == [_as_bytes(v) for v in s]
    _check(transform, s, u)


def test_padded_2d_and_strided_object_arrays(transform):
    s = np.array([["a", "", "é"], [b"\xe6\x97\xa5", "", ""], ["日本", "😀", "a\x00b"]], object)
    u = np.array([["x", "y", ""], ["", "", ""], ["z", b"z", "z"]], object)
    _check(transform, s, u)
    wide = np.array(["a", "skip", "é", "skip", "", "skip"], object)
    _check(transform, wide[::2], np.array(["1", "2", "3"], object))  # non-contiguous


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (None, TypeError, "expected strings, got NoneType"),
        (3, TypeError, "expected strings, got int"),
        (2.5, TypeError, "expected strings, got float"),
        (["a"], TypeError, "expected strings, got list"),
        ("\ud800", ValueError, "cannot be encoded as UTF-8"),
    ],
)
def test_other_items_raise_naming_the_feature(transform, bad, error, match):
    s = _object_array(["a", "é", bad])
    assert _pyobjects.pack(s) is None
    with pytest.raises(error, match=match) as info:
        transform({"s": s, "u": _object_array(["x", "y", "z"])})
    assert "'s'" in str(info.value)
    # The packer cleared the error it caused: the C API reports none.
    occurred = ctypes.pythonapi.PyErr_Occurred
    occurred.restype = ctypes.c_void_p
    assert occurred() is None


def test_non_ascii_strings_keep_their_value_after_packing(transform):
    words = ["é" * 3, "日本", "plain"]
    s = _object_array(list(words))
    _check(transform, s, _object_array(["x"] * 3))
    assert list(s) == words and [len(w) for w in s] == [3, 2, 5]


def test_long_strings_grow_the_packed_buffer(transform):
    # 16 bytes an item to start with: these need it to grow several times.
    s = _object_array(["x" * 1000, "é" * 700, b"y" * 3000, "", "short"])
    u = _object_array(["a" * 40, "b", "日本" * 300, "c", "d"])
    buf, starts, ends, _ = _pyobjects.pack(s)
    assert [bytes(buf[a:b]) for a, b in zip(starts, ends)] == [_as_bytes(v) for v in s]
    _check(transform, s, u)
