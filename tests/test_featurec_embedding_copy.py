"""The writer's one-id-a-row embedding copy (decision 79) and the embedding
tables' aligned, huge-page buffer (decision 78), against `input_layer`.

Columns with exactly one id a row, unweighted and unclipped, take a direct
copy whose common dimensions (4, 8, 16, 32) have a loop of constant length;
other dimensions, several ids a row, and rows without an id (empty strings)
must still equal input_layer, on one thread (under 1,024 rows) and on chunks
in parallel. The tables' buffer starts on a cache line; over 2 MiB it is an
mmap-backed, huge-page-aligned buffer.
"""

import mmap

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from _featurec_reference import reference
from featurec import _memory

fc = tf.feature_column

_DIMS = (1, 3, 4, 8, 16, 32)
_IDENTITY_ROWS = 100_000  # 100,000 x 8 floats: 3.2 MB, past one huge page
_TOKENS = np.array(["", "a", "bb", "ccc", "é", "日本語", "x" * 12, "tok"], dtype=object)


def _columns():
    cols = [
        fc.embedding_column(fc.categorical_column_with_hash_bucket(f"s{d}", 50), d, combiner="mean")
        for d in _DIMS
    ]
    cols.append(fc.embedding_column(fc.categorical_column_with_identity("i", _IDENTITY_ROWS), 8, combiner="sum"))
    cols.append(fc.embedding_column(fc.categorical_column_with_hash_bucket("pair", 40), 8, combiner="sqrtn"))
    cols.append(fc.numeric_column("x"))
    return cols


def _tables():
    rng = np.random.default_rng(0)
    tables = {f"s{d}_embedding": rng.normal(size=(50, d)).astype(np.float32) for d in _DIMS}
    tables["i_embedding"] = rng.normal(size=(_IDENTITY_ROWS, 8)).astype(np.float32)
    tables["pair_embedding"] = rng.normal(size=(40, 8)).astype(np.float32)
    return tables


def _features(rng, n):
    feats = {f"s{d}": np.array([t.encode() for t in rng.choice(_TOKENS, n)], dtype="S") for d in _DIMS}
    feats["i"] = rng.integers(0, _IDENTITY_ROWS, n).astype(np.int64)
    # Two items a row: several ids a row, the general combiner.
    feats["pair"] = np.array([t.encode() for t in rng.choice(_TOKENS, 2 * n)], dtype="S").reshape(n, 2)
    feats["x"] = rng.normal(size=n).astype(np.float32)
    return feats


@pytest.fixture(scope="module")
def ref():
    r = reference("embedding_copy", _columns, _features(np.random.default_rng(0), 3))
    r.load_tables(_tables())
    return r


def _check(ref, feats):
    expected = ref.tf_output(feats)
    got = ref.transform(feats)
    np.testing.assert_array_equal(got, expected)
    return got


@given(n=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_one_id_rows_match_input_layer(ref, n, seed):
    _check(ref, _features(np.random.default_rng(seed), n))


@pytest.mark.parametrize("n", [1023, 1500, 4096])
def test_one_id_rows_on_parallel_chunks(ref, n):
    got = _check(ref, _features(np.random.default_rng(n), n))
    # Empty strings are rows without an id: their embedding stays zero.
    feats = _features(np.random.default_rng(n), n)
    for d in _DIMS:
        feats[f"s{d}"][:] = b""
    got = _check(ref, feats)
    cols = ref.transform.layout
    for d in _DIMS:
        assert not got[:, cols[f"s{d}_embedding"]].any()


def test_large_table_lives_on_an_aligned_huge_page_buffer(ref):
    buf = ref.transform._table_storage.buf
    assert buf.nbytes > _memory.HUGE_PAGE
    if getattr(mmap, "MADV_HUGEPAGE", None) is not None:
        assert buf.ctypes.data % _memory.HUGE_PAGE == 0
        assert isinstance(buf.base.base.obj, mmap.mmap)  # array <- uint8 array <- memoryview
    # The transform's copy, not the caller's array: later edits do not leak.
    tables = _tables()
    np.testing.assert_array_equal(ref.transform._tables["i_embedding"], tables["i_embedding"])


@pytest.mark.parametrize("count", [0, 1, 1000, (3 << 20) // 4 + 3])
def test_huge_page_empty_is_a_plain_writable_array(count):
    arr = _memory.huge_page_empty(count, np.float32)
    assert arr.shape == (count,) and arr.dtype == np.float32
    assert arr.flags.c_contiguous and arr.flags.writeable
    arr[:] = np.arange(count, dtype=np.float32)
    np.testing.assert_array_equal(arr, np.arange(count, dtype=np.float32))
    # Whole 32-byte table rows never straddle two cache lines.
    assert count == 0 or arr.ctypes.data % _memory.CACHE_LINE == 0
