"""featurec's per-input-layout call cache (decision 74) and the crosses the
writer hashes itself (decision 73), against `input_layer`.

A `Transform` whose indicator and embedding columns are all string hash
buckets or crosses of raw string keys keeps, per batch size and string-input
shapes, the id layout the writer needs, and reuses it on later calls. These
tests change the layout between calls on one transform (dtype, rank, batch
size, Arrow chunking) and check every output against input_layer, so a stale
layout cannot pass; they also check the cache stays bounded and results are
never shared between calls.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import featurec
from _featurec_reference import assert_parity, reference
from featurec import _execute

fc = tf.feature_column


def _columns():
    h = fc.categorical_column_with_hash_bucket("h", 7)
    e = fc.categorical_column_with_hash_bucket("e", 11)
    return [
        fc.numeric_column("x"),
        fc.indicator_column(h),
        fc.embedding_column(e, 3, combiner="mean"),
        fc.embedding_column(fc.crossed_column(["h", "k"], 13, hash_key=12345), 2, combiner="sum"),
        fc.indicator_column(fc.crossed_column(["e", "k", "h"], 5)),
    ]


_TABLES = {
    "e_embedding": np.random.default_rng(1).normal(size=(11, 3)).astype(np.float32),
    "h_X_k_embedding": np.random.default_rng(2).normal(size=(13, 2)).astype(np.float32),
}
_TOKENS = ["", "a", "bb", "ccc", "dddd", "é", "日本語", "x" * 20]
_FORMS = ["S", "object", "2d", "arrow", "arrow_chunked"]


def _utf8(values):
    """numpy `S` array of the UTF-8 bytes of an object array of str."""
    return np.array([v.encode() for v in values.ravel()], dtype="S").reshape(values.shape)


def _features(rng, n, form):
    """Features of `n` rows with string inputs in `form`; returns (what
    featurec gets, the dense numpy equivalent input_layer gets)."""
    strings = {k: rng.choice(_TOKENS, n).astype(object) for k in ("h", "e", "k")}
    dense = {k: _utf8(v) for k, v in strings.items()}
    if form == "2d":
        # h and e two items a row: the hash columns take 2 ids a row, the
        # crosses (h, e are keys) leave the writer's one-id-a-row form.
        for k in ("h", "e"):
            two = rng.choice(_TOKENS, (n, 2)).astype(object)
            strings[k] = two
            dense[k] = _utf8(two)
    x = rng.normal(size=n).astype(np.float32)
    if form == "S":
        given_ = dict(dense)
    elif form in ("object", "2d"):
        given_ = dict(strings)
    else:
        pa = pytest.importorskip("pyarrow")
        given_ = {}
        for k, v in strings.items():
            values = list(v)
            if form == "arrow_chunked" and n > 1:
                given_[k] = pa.chunked_array([values[: n // 2], values[n // 2 :]])
            else:
                given_[k] = pa.array(values)
    given_["x"] = x
    dense["x"] = x
    return given_, dense


def _check(transform, ref, given_, dense):
    expected = ref.tf_output(dense)
    got = transform(given_)
    np.testing.assert_array_equal(got, expected)
    return got


def _setup(n=3):
    rng = np.random.default_rng(0)
    _, dense = _features(rng, n, "S")
    ref = reference("layout_cache", _columns, dense)
    ref.load_tables(_TABLES)
    return ref


@pytest.fixture(scope="module")
def refs():
    """input_layer references for the 1-D and the 2-D feature signatures."""
    rng = np.random.default_rng(0)
    one = _setup()
    _, dense2 = _features(rng, 3, "2d")
    two = reference("layout_cache", _columns, dense2)
    two.load_tables(_TABLES)
    return {"1d": one, "2d": two}


def test_the_plan_is_laid_out_once_per_shape(refs):
    transform = featurec.compile(refs["1d"].columns)
    transform.set_embedding_tables(_TABLES)
    assert transform._layouts.fusable
    rng = np.random.default_rng(3)
    for form in ("S", "S", "object", "arrow"):
        given_, dense = _features(rng, 4, form)
        _check(transform, refs["1d"], given_, dense)
    # S, object and single-chunk Arrow inputs share one shape at 4 rows.
    assert len(transform._layouts) == 1
    given_, dense = _features(rng, 4, "arrow_chunked")
    _check(transform, refs["1d"], given_, dense)
    assert len(transform._layouts) == 2


@given(calls=st.lists(st.tuples(st.integers(1, 7), st.sampled_from(_FORMS)), min_size=2, max_size=6),
       seed=st.integers(0, 2**16))  # fmt: skip
def test_changing_layouts_match_input_layer(refs, calls, seed):
    # One transform across every example: each call may change the layout
    # (rows, dtype, rank, chunking) the previous calls cached.
    ref = refs["1d"]
    rng = np.random.default_rng(seed)
    for n, form in calls:
        given_, dense = _features(rng, n, form)
        _check(ref.transform, refs["2d" if form == "2d" else "1d"], given_, dense)
    assert len(ref.transform._layouts) <= 8


def test_large_batch_parallel_pass(refs):
    # Above the writer's one-thread limit (1,024 rows): chunks in parallel.
    rng = np.random.default_rng(5)
    transform = refs["1d"].transform
    for form in ("S", "arrow_chunked", "S"):
        given_, dense = _features(rng, 3000, form)
        _check(transform, refs["1d"], given_, dense)


def test_laid_out_and_general_paths_agree():
    rng = np.random.default_rng(7)
    transform = featurec.compile(_setup().columns)
    transform.set_embedding_tables(_TABLES)
    for form in ("S", "arrow_chunked", "object"):
        given_, _ = _features(rng, 1500, form)
        fast = transform(given_).copy()
        general = np.empty_like(fast)
        batch = _execute.Batch(given_, transform._plan, transform._tables, transform._table_storage)
        for key, name in transform._plan.required:
            batch.raw(key, name)
        batch.write(general)
        np.testing.assert_array_equal(fast, general)


def test_cache_is_bounded():
    rng = np.random.default_rng(11)
    ref = _setup()
    transform = featurec.compile(ref.columns)
    transform.set_embedding_tables(_TABLES)
    for n in range(1, 21):
        given_, dense = _features(rng, n, "S")
        transform(given_)
    assert len(transform._layouts) == 8
    # The most recent layouts are the ones kept, and they still compute right.
    given_, dense = _features(rng, 20, "S")
    _check(transform, ref, given_, dense)
    given_, dense = _features(rng, 1, "S")  # evicted long ago: laid out again
    _check(transform, ref, given_, dense)
    assert len(transform._layouts) == 8


def test_consecutive_results_are_not_shared():
    rng = np.random.default_rng(13)
    ref = _setup()
    transform = featurec.compile(ref.columns)
    transform.set_embedding_tables(_TABLES)
    g1, d1 = _features(rng, 5, "S")
    g2, d2 = _features(rng, 5, "S")
    r1 = transform(g1)
    r2 = transform(g2)
    assert not np.shares_memory(r1, r2)
    np.testing.assert_array_equal(r1, ref.tf_output(d1))
    np.testing.assert_array_equal(r2, ref.tf_output(d2))


def test_missing_table_is_named_on_the_laid_out_path():
    ref = _setup()
    transform = featurec.compile(ref.columns)
    transform.set_embedding_table("e_embedding", _TABLES["e_embedding"])
    given_, dense = _features(np.random.default_rng(17), 4, "S")
    with pytest.raises(ValueError, match="h_X_k_embedding"):
        transform(given_)
    transform.set_embedding_table("h_X_k_embedding", _TABLES["h_X_k_embedding"])
    _check(transform, ref, given_, dense)


def test_wrong_input_kind_falls_back_with_the_usual_error():
    ref = _setup()
    transform = featurec.compile(ref.columns)
    transform.set_embedding_tables(_TABLES)
    given_, dense = _features(np.random.default_rng(19), 4, "S")
    transform(given_)
    bad = dict(given_, e=np.arange(4, dtype=np.int64))  # ints for a string hash column
    with pytest.raises(ValueError, match="'e'"):
        transform(bad)
    _check(transform, ref, given_, dense)


def test_crosses_hashed_in_the_writer_match_input_layer_with_nulls():
    pa = pytest.importorskip("pyarrow")
    ref = _setup()
    h = pa.chunked_array([["a", None, ""], ["日本語", "bb"]])
    k = pa.array([None, "x", "", "é", "ccc"])
    e = pa.array(["a", "bb", None, "", "dddd"])
    x = np.arange(5, dtype=np.float32)
    dense = {
        "h": np.array([b"a", b"", b"", "日本語".encode(), b"bb"]),
        "k": np.array([b"", b"x", b"", "é".encode(), b"ccc"]),
        "e": np.array([b"a", b"bb", b"", b"", b"dddd"]),
        "x": x,
    }
    assert_parity("layout_cache", _columns, dense, _TABLES)
    _check(ref.transform, ref, {"h": h, "k": k, "e": e, "x": x}, dense)


def test_threads_sharing_a_transform_get_their_own_results():
    import threading

    ref = _setup()
    rng = np.random.default_rng(23)
    inputs = [_features(rng, n, form)[0] for n in range(1, 11) for form in ("S", "arrow_chunked")]
    transform = featurec.compile(ref.columns)
    transform.set_embedding_tables(_TABLES)
    expected = [transform(g).copy() for g in inputs]
    transform = featurec.compile(ref.columns)  # a fresh cache, filled by the threads
    transform.set_embedding_tables(_TABLES)
    failures = []

    def work(order):
        for i in order:
            got = transform(inputs[i])
            if not np.array_equal(got, expected[i]):
                failures.append(i)

    orders = [list(range(len(inputs))) * 3, list(reversed(range(len(inputs)))) * 3]
    threads = [threading.Thread(target=work, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert len(transform._layouts) <= 8
