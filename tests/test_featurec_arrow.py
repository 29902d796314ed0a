"""featurec on Arrow-backed inputs (pyarrow, pandas, polars) and tf.data strings.

Every input form is compared with `tf.compat.v1.feature_column.input_layer`
on the equivalent dense numpy input, where a null is the missing value TF
knows for a dense input: `''` for strings (no id), NaN for numeric floats and
-1 (no id) for integer categorical features.
"""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import featurec
from _featurec_reference import reference

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

fc = tf.feature_column
_VOCAB = ["a", "é", "日本語", "long-" + "x" * 40]


def _columns():
    h = fc.categorical_column_with_hash_bucket("h", 7)
    e = fc.categorical_column_with_hash_bucket("e", 11)
    v = fc.categorical_column_with_vocabulary_list("v", _VOCAB, num_oov_buckets=2)
    return [
        fc.numeric_column("x"),
        fc.indicator_column(h),
        fc.embedding_column(e, 3, combiner="mean"),
        fc.indicator_column(v),
        fc.embedding_column(fc.crossed_column(["h", "v"], 20), 2, combiner="sum"),
        fc.indicator_column(fc.categorical_column_with_identity("i", 5)),
    ]


_TABLES = {
    "e_embedding": np.random.default_rng(1).normal(size=(11, 3)).astype(np.float32),
    "h_X_v_embedding": np.random.default_rng(2).normal(size=(20, 2)).astype(np.float32),
}
_STRING_KEYS = ("h", "e", "v")

_string = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(_VOCAB),
    st.text(max_size=6),
    st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF, exclude_categories=("Cs",)), min_size=1, max_size=30),
)


@st.composite
def _rows(draw):
    n = draw(st.integers(1, 6))
    cols = {k: draw(st.lists(_string, min_size=n, max_size=n)) for k in _STRING_KEYS}
    cols["x"] = draw(st.lists(st.one_of(st.none(), st.floats(-5, 5, width=32)), min_size=n, max_size=n))
    cols["i"] = draw(st.lists(st.one_of(st.none(), st.integers(-1, 6)), min_size=n, max_size=n))
    return cols


def _dense_equivalent(cols):
    """The numpy input TF gets: null -> '' / NaN / -1."""
    out = {}
    for k in _STRING_KEYS:
        arr = np.empty(len(cols[k]), object)
        arr[:] = ["" if s is None else s for s in cols[k]]
        out[k] = arr
    out["x"] = np.array([np.nan if x is None else x for x in cols["x"]], np.float32)
    out["i"] = np.array([-1 if x is None else x for x in cols["i"]], np.int64)
    return out


def _arrow(values, kind, type_):
    """pyarrow Array; 'sliced' hides it inside a larger array, 'chunked'
    splits it (with an empty chunk) without concatenating."""
    if kind == "sliced":
        padded = ["pad", None] + list(values) + ["tail"]
        if type_ in (pa.float32(), pa.int64()):
            padded = [1, None] + list(values) + [2]
        return pa.array(padded, type_).slice(2, len(values))
    arr = pa.array(values, type_)
    if kind == "chunked":
        cut = len(values) // 2
        return pa.chunked_array([arr.slice(0, cut), arr.slice(cut, 0), arr.slice(cut)], type_)
    return arr


def _form(cols, form):
    types = {"x": pa.float32(), "i": pa.int64()}
    string_type = pa.large_string() if form in ("large", "sliced") else pa.string()
    if form in ("string", "large", "sliced", "chunked"):
        kind = form if form in ("sliced", "chunked") else "plain"
        return {k: _arrow(v, kind, types.get(k, string_type)) for k, v in cols.items()}
    if form == "table":
        return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in cols.items()})
    if form == "record_batch":
        return pa.record_batch({k: pa.array(v, types.get(k, pa.large_string())) for k, v in cols.items()})
    if form == "pandas_str":  # pandas 3's default str dtype (Arrow-backed with pyarrow)
        out = {k: pd.Series(cols[k], dtype="str") for k in _STRING_KEYS}
        out["x"] = pd.Series([np.nan if x is None else x for x in cols["x"]], dtype=np.float32)
        out["i"] = pd.Series(cols["i"], dtype=pd.ArrowDtype(pa.int64()))
        return out
    if form == "pandas_df":
        frame = {k: pd.Series(cols[k], dtype="string[pyarrow]") for k in _STRING_KEYS}
        frame["x"] = pd.Series(cols["x"], dtype=pd.ArrowDtype(pa.float32()))
        frame["i"] = pd.Series(cols["i"], dtype=pd.ArrowDtype(pa.int64()))
        return pd.DataFrame(frame)
    if form == "pandas_python":  # pandas' own storage: strings, masked Float32 / Int64
        out = {k: pd.Series(cols[k], dtype="string[python]") for k in _STRING_KEYS}
        out["x"] = pd.Series(cols["x"], dtype="Float32")
        out["i"] = pd.Series(cols["i"], dtype="Int64")
        return out
    if form == "polars":
        return {k: pl.Series(k, v, dtype=pl.Float32 if k == "x" else pl.Int64 if k == "i" else pl.String) for k, v in cols.items()}
    if form == "polars_df":
        return pl.DataFrame({k: pl.Series(k, v, dtype=pl.Float32 if k == "x" else pl.Int64 if k == "i" else pl.String) for k, v in cols.items()})
    raise AssertionError(form)


_FORMS = ["string", "large", "sliced", "chunked", "table", "record_batch", "pandas_str", "pandas_df", "pandas_python", "polars", "polars_df"]


def _ref(features):
    ref = reference("arrow", _columns, features)
    ref.load_tables(_TABLES)
    return ref


@pytest.mark.parametrize("form", _FORMS)
@given(cols=_rows())
def test_arrow_forms_equal_input_layer(form, cols):
    dense = _dense_equivalent(cols)
    ref = _ref(dense)
    expected = ref.tf_output(dense)
    got = ref.transform(_form(cols, form))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, equal_nan=True)
    # The non-embedding part (hashes, vocabulary, crosses' ids) is bit-exact.
    for name, cols_slice in ref.transform.layout.items():
        if "embedding" not in name:
            np.testing.assert_array_equal(got[:, cols_slice], expected[:, cols_slice], err_msg=name)


def test_large_chunked_column_hashes_in_parallel_without_concatenating():
    """2,048 rows (the writer's parallel path) in 5 chunks of a large_string."""
    rng = np.random.default_rng(0)
    words = np.array(["", "ü", "日本語", "a" * 20, "x"] + [f"w{i}" for i in range(50)], object)
    values = [None if rng.random() < 0.05 else str(w) for w in rng.choice(words, 2048)]
    cols = {k: values[::-1] if k == "e" else values for k in _STRING_KEYS}
    cols["x"] = [float(i % 7) for i in range(2048)]
    cols["i"] = [i % 6 for i in range(2048)]
    dense = _dense_equivalent(cols)
    ref = _ref(dense)
    chunked = {k: pa.chunked_array([pa.array(v[a:b], pa.large_string()) for a, b in ((0, 1), (1, 700), (700, 701), (701, 2000), (2000, 2048))]) for k, v in cols.items() if k in _STRING_KEYS}
    chunked["x"] = pa.array(cols["x"], pa.float32())
    chunked["i"] = pa.array(cols["i"], pa.int64())
    np.testing.assert_allclose(ref.transform(chunked), ref.tf_output(dense), rtol=1e-6, atol=1e-6)


def test_dataset_strings_equal_input_layer():
    """featurec.dataset over tf.string tensors (1-D and padded 2-D, multi-byte
    and empty strings) yields input_layer's matrix."""
    columns = [
        fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 7)),
        fc.indicator_column(fc.categorical_column_with_vocabulary_list("m", _VOCAB)),
        fc.numeric_column("x"),
    ]
    features = {
        "h": np.array(["é", "", "日本語", "a", "zz", "long-" + "x" * 40], object),
        "m": np.array([["a", ""], ["日本語", "é"], ["", ""], ["q", "a"], ["é", "é"], ["", "a"]], object),
        "x": np.arange(6, dtype=np.float32),
    }
    with tf.Graph().as_default():
        expected_t = tf.compat.v1.feature_column.input_layer(
            {k: tf.constant(v) for k, v in features.items()}, columns
        )
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.tables_initializer())
            expected = sess.run(expected_t)
    raw = tf.data.Dataset.from_tensor_slices(features).batch(4)
    got = np.concatenate(list(featurec.dataset(raw, columns).as_numpy_iterator()))
    np.testing.assert_array_equal(got, expected)


def test_malformed_inputs_name_the_feature():
    t = featurec.compile(_columns())
    t.set_embedding_tables(_TABLES)
    good = {k: pa.array(["a", "b"]) for k in _STRING_KEYS}
    good.update(x=pa.array([1.0, 2.0], pa.float32()), i=pa.array([1, 2]))
    assert t(good).shape == (2, t.output_width)
    cases = [
        ({"h": pa.array(["a", "b", "c"])}, ValueError, "'h'.*3 rows"),  # wrong length
        ({"x": pa.array(["a", "b"])}, TypeError, "'x'.*numbers"),  # strings for a number
        ({"h": pa.array([1, 2])}, ValueError, "dtype.*h_indicator"),  # numbers for a string column
        ({"h": pd.Series(["a", 1], dtype=object)}, TypeError, "'h'"),  # mixed types
        ({"h": pa.array([[["a"]], [["b"]]])}, ValueError, "'h'"),  # nested lists
        ({"h": pa.array([1, 2], pa.timestamp("s"))}, TypeError, "'h'.*Arrow type"),
        ({"h": pa.table({"a": ["x", "y"]})}, TypeError, "'h'"),
        ({"h": pl.DataFrame({"a": ["x", "y"]})}, TypeError, "'h'"),
    ]
    for change, error, match in cases:
        with pytest.raises(error, match=match):
            t({**good, **change})


def test_offsets_outside_the_data_buffer_raise():
    """An Arrow array whose offsets point past its data is an error, not a read."""
    t = featurec.compile([fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 7))])
    vocab = featurec.compile([fc.indicator_column(fc.categorical_column_with_vocabulary_list("h", ["a"]))])
    # pyarrow's default validation checks only the last offset.
    for offsets in ([0, 3, 1], [0, -5000, 1]):
        buffers = [None, pa.py_buffer(np.array(offsets, np.int32).tobytes()), pa.py_buffer(b"abcd")]
        bad = pa.Array.from_buffers(pa.string(), 2, buffers)
        with pytest.raises(ValueError, match="'h'"):
            t({"h": bad})
        with pytest.raises(ValueError, match="'h'"):
            vocab({"h": bad})


def test_featurec_works_without_pyarrow():
    """pyarrow is optional: with it unimportable, numpy and pandas inputs work."""
    script = (
        "import sys\n"
        "sys.modules['pyarrow'] = None; sys.modules['polars'] = None  # import fails\n"
        "import numpy as np, pandas as pd, tensorflow as tf, featurec\n"
        "t = featurec.compile([tf.feature_column.indicator_column("
        "tf.feature_column.categorical_column_with_hash_bucket('s', 5))])\n"
        "a = t({'s': np.array([b'a', b'b'])})\n"
        "b = t({'s': np.array(['a', 'b'], object)})\n"
        "c = t(pd.DataFrame({'s': ['a', 'b']}))\n"
        "assert (a == b).all() and (a == c).all()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _malformed():
    """(feature key, a malformed Arrow-world value for it) pairs."""
    strings = st.lists(st.text(max_size=4), min_size=2, max_size=2)
    return st.one_of(
        # wrong number of rows
        st.tuples(st.sampled_from(_STRING_KEYS + ("x", "i")), st.integers(0, 5).filter(lambda n: n != 2).map(lambda n: pa.array(["a"] * n))),
        # strings where numbers belong, numbers where strings belong
        st.tuples(st.just("x"), strings.map(pa.array)),
        st.tuples(st.sampled_from(_STRING_KEYS), st.lists(st.integers(0, 9), min_size=2, max_size=2).map(pa.array)),
        # mixed types in a pandas object column
        st.tuples(st.sampled_from(_STRING_KEYS), st.tuples(st.text(max_size=3), st.integers()).map(lambda t: pd.Series(list(t), dtype=object))),
        # nested lists two levels deep
        st.tuples(st.sampled_from(_STRING_KEYS), strings.map(lambda v: pa.array([[v], [v]]))),
        # a whole table where one column is expected
        st.tuples(st.sampled_from(_STRING_KEYS + ("x",)), st.just(pa.table({"a": ["x", "y"]}))),
    )


@given(bad=_malformed())
def test_malformed_arrow_values_raise_naming_the_feature(bad):
    key, value = bad
    t = _malformed_transform()
    good = {k: pa.array(["a", "b"]) for k in _STRING_KEYS}
    good.update(x=pa.array([1.0, 2.0], pa.float32()), i=pa.array([1, 2]))
    with pytest.raises((ValueError, TypeError)) as info:
        t({**good, key: value})
    assert repr(key) in str(info.value) or f"key: {key}" in str(info.value), str(info.value)


_MALFORMED_T = []


def _malformed_transform():
    if not _MALFORMED_T:
        t = featurec.compile(_columns())
        t.set_embedding_tables(_TABLES)
        _MALFORMED_T.append(t)
    return _MALFORMED_T[0]


def test_repeated_calls_never_overwrite_a_result_still_referenced():
    t = featurec.compile([fc.numeric_column("a", shape=(2,))])
    ones, twos = {"a": np.ones((3, 2), np.float32)}, {"a": np.full((3, 2), 2, np.float32)}
    kept = t(ones)
    assert (t(twos) == 2).all() and (kept == 1).all()
    view = t(ones)[1:]  # only a view survives the call
    t(twos)
    assert (view == 1).all()
    del view
    first = t(ones)
    address = first.__array_interface__["data"][0]
    del first  # dropped: the next call may write the same memory again
    again = t(twos)
    assert again.__array_interface__["data"][0] == address and (again == 2).all()


def test_empty_batches():
    t = _malformed_transform()
    empty = {k: pa.array([], pa.large_string() if k == "e" else pa.string()) for k in _STRING_KEYS}
    empty.update(x=pa.array([], pa.float32()), i=pa.array([], pa.int64()))
    assert t(empty).shape == (0, t.output_width)
    assert t(pd.DataFrame({k: pd.Series([], dtype="str") for k in _STRING_KEYS} | {"x": np.zeros(0, np.float32), "i": np.zeros(0, np.int64)})).shape == (0, t.output_width)
