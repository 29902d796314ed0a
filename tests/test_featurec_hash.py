"""featurec._hash against TensorFlow's own hashing ops.

Every property computes the TensorFlow side in one batched eager call per
example (``to_hash_bucket_fast``, ``fingerprint``, ``as_string``,
``sparse.cross_hashed``), so the comparison is against the real reference.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from featurec import _hash

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_DEFAULT_HASH_KEY = 0xDECAFCAFFE

# One length from every FarmHash branch (0, 1-3, 4-7, 8-16, 17-32, 33-64,
# 65+) and every multiple of 64 plus or minus one up to 300.
_BRANCH_LENGTHS = [
    0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
    127, 128, 129, 191, 192, 193, 255, 256, 257, 300,
]  # fmt: skip

# (input bytes, Fingerprint64) from the reference's TF 2.21 test vectors.
_VECTORS = [
    (b"", 0x9AE16A3B2F90404F),
    (b"a", 0xB3454265B6DF75E3),
    (b"abc", 0x24A5B3A074E7F369),
    (b"hello", 0xB48BE5A931380CE8),
    (b"1234567", 0x66BE0F8DAA9284A7),
    (b"12345678", 0x2F99D2664A0FB6EA),
    (b"Hello, World!", 0x9DA0E1CBFAEA2842),
    (b"0123456789abcdef", 0x54B961E5DC834067),
    (b"0123456789abcdefg", 0xA6DDFF87A449D24A),
    (b"abcdefghijklmnopqrstuvwxyz012345", 0x0CF7D548B260F41A),
    (b"abcdefghijklmnopqrstuvwxyz0123456", 0xF49EB04963C87E0B),
    (bytes(range(64)), 0xF58504BB53DECC4B),
    (bytes(range(65)), 0xC6A3282C3E793DBE),
    (bytes(range(128)), 0x1C484C95F0EA5DD3),
    (bytes(range(200)), 0x074C7FCC26D66FB3),
    ("é".encode(), 0x099E89E5ECBB4CC1),
    (b"-1", 0x65C727C9A1B5784E),
    (b"42", 0x08A893485641F708),
]


def _pack(strings):
    """Concatenate byte strings into the (data, offsets) batch layout."""
    lengths = np.array([len(s) for s in strings], dtype=np.int64)
    offsets = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.frombuffer(b"".join(strings), dtype=np.uint8).copy()
    return data, offsets


def _fingerprints(strings):
    data, offsets = _pack(strings)
    return [
        int(_hash.fingerprint64(data, offsets[i], offsets[i + 1]))
        for i in range(len(strings))
    ]


def _tf_fingerprints(strings):
    """tf.fingerprint(farmhash64): 8 little-endian bytes per string."""
    raw = tf.fingerprint(tf.constant(strings, dtype=tf.string)).numpy()
    return [int.from_bytes(bytes(row), "little") for row in raw]


def _tf_hash_bucket(strings, num_buckets):
    return tf.strings.to_hash_bucket_fast(
        tf.constant(strings, dtype=tf.string), num_buckets
    ).numpy()


def _int_bits(v):
    """An int64 feature's raw two's-complement bits, as SparseCross uses them."""
    return np.array([v], dtype=np.int64).view(np.uint64)[0]


_byte_strings = st.one_of(
    st.sampled_from(_BRANCH_LENGTHS).flatmap(
        lambda n: st.binary(min_size=n, max_size=n)
    ),
    st.binary(max_size=300),
    st.text(max_size=100).map(lambda s: s.encode("utf-8")),
)
_string_batches = st.lists(_byte_strings, min_size=1, max_size=40)
_int64s = st.one_of(
    st.sampled_from([0, 1, -1, 9, -9, 10, -10, _INT64_MIN, _INT64_MAX]),
    st.integers(_INT64_MIN, _INT64_MAX),
    # Decimal lengths near the 4/8/16-byte branch boundaries.
    st.integers(-(10**17), 10**17),
)
_num_buckets = st.one_of(
    st.sampled_from([1, 2, 10, 1000, _INT64_MAX]),
    st.integers(1, _INT64_MAX),
)


@pytest.mark.parametrize(
    "value,expected", _VECTORS, ids=[f"len{len(v)}-{i}" for i, (v, _) in enumerate(_VECTORS)]
)
def test_reference_vectors_match_tf(value, expected):
    # Pad on both sides so the kernel must respect start/end.
    data = np.frombuffer(b"\xff\x00" + value + b"\x01", dtype=np.uint8).copy()
    ours = int(_hash.fingerprint64(data, 2, 2 + len(value)))
    assert ours == expected
    assert _tf_fingerprints([value]) == [expected]


def test_every_length_0_to_300_matches_tf_fingerprint():
    rng = np.random.default_rng(1234)
    strings = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in range(301)]
    assert _fingerprints(strings) == _tf_fingerprints(strings)


@given(_string_batches)
def test_fingerprint64_matches_tf_fingerprint(strings):
    assert _fingerprints(strings) == _tf_fingerprints(strings)


@given(_string_batches, _num_buckets)
def test_hash_strings_mod_matches_to_hash_bucket_fast(strings, num_buckets):
    data, offsets = _pack(strings)
    out = np.full(len(strings), -7, dtype=np.int64)
    _hash.hash_strings_mod(data, offsets[:-1], offsets[1:], num_buckets, out)
    np.testing.assert_array_equal(out, _tf_hash_bucket(strings, num_buckets))


def test_hash_strings_mod_parallel_batch_matches_tf():
    # Large enough to take the prange branch.
    n = _hash.PARALLEL_MIN_ITEMS + 7
    rng = np.random.default_rng(7)
    lengths = rng.integers(0, 150, n)
    strings = [rng.integers(0, 256, k, dtype=np.uint8).tobytes() for k in lengths]
    data, offsets = _pack(strings)
    out = np.empty(n, dtype=np.int64)
    _hash.hash_strings_mod(data, offsets[:-1], offsets[1:], 100_003, out)
    np.testing.assert_array_equal(out, _tf_hash_bucket(strings, 100_003))


def _column_layout(columns):
    """Arguments of `hash_string_columns_mod` for (bytes list, num_buckets,
    fixed) columns: fixed ones as numpy `S` arrays read in place, the others
    packed."""
    buffers, starts, ends, widths, counts = [], [], [], [], []
    for strings, _, fixed in columns:
        if fixed:
            a = np.array(strings, dtype="S") if strings else np.zeros(0, "S3")
            a = a if a.dtype.itemsize else a.astype("S1")
            buffers.append(a.view(np.uint8).reshape(-1))
            starts.append(np.zeros(a.size, np.int64))  # not read
            ends.append(np.zeros(a.size, np.int64))
            widths.append(a.dtype.itemsize)
            counts.append(a.size)
        else:
            data, offsets = _pack(strings)
            buffers.append(data)
            starts.append(offsets[:-1])
            ends.append(offsets[1:])
            widths.append(0)
            counts.append(len(strings))
    base = np.cumsum([0] + [b.shape[0] for b in buffers[:-1]]).astype(np.int64)
    col_splits = np.cumsum([0] + counts).astype(np.int64)
    return (
        np.concatenate(buffers) if buffers else np.zeros(1, np.uint8),
        np.concatenate(starts).astype(np.int64),
        np.concatenate(ends).astype(np.int64),
        base,
        np.array(widths, np.int64),
        col_splits,
        np.array([nb for _, nb, _ in columns], np.int64),
    )


def _hash_columns(columns):
    args = _column_layout(columns)
    out = np.full(args[5][-1], -7, dtype=np.int64)
    _hash.hash_string_columns_mod(*args, out)
    return out, args[5]


@given(st.lists(st.tuples(_string_batches, _num_buckets), min_size=1, max_size=4), st.booleans())
def test_packed_string_columns_match_to_hash_bucket_fast(columns, large):
    # Several packed columns in one call, each with its own buffer offset and
    # bucket count; `large` repeats them past the parallel threshold.
    if large:
        reps = _hash.PARALLEL_MIN_ITEMS // max(1, sum(len(s) for s, _ in columns)) + 1
        columns = [(strings * reps, nb) for strings, nb in columns]
    out, _ = _hash_columns([(strings, nb, False) for strings, nb in columns])
    expected = np.concatenate([_tf_hash_bucket(s, nb) for s, nb in columns])
    np.testing.assert_array_equal(out, expected)


@given(
    st.lists(
        st.tuples(st.lists(_byte_strings, min_size=0, max_size=30), _num_buckets, st.booleans()),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
)
def test_fixed_width_and_packed_columns_match_to_hash_bucket_fast(columns, large):
    # numpy S arrays read in place, mixed with packed columns in the same
    # call: in S arrays trailing NULs are not part of a string (numpy's
    # semantics) and empty strings get -1.
    if large:
        reps = _hash.PARALLEL_MIN_ITEMS // max(1, sum(len(s) for s, _, _ in columns)) + 1
        columns = [(strings * reps, nb, fixed) for strings, nb, fixed in columns]
    out, col_splits = _hash_columns(columns)
    for k, (strings, nb, fixed) in enumerate(columns):
        values = np.array(strings, dtype="S").tolist() if fixed and strings else strings
        got = out[col_splits[k] : col_splits[k + 1]]
        expected = _tf_hash_bucket(values, nb) if values else np.zeros(0, np.int64)
        if fixed and values:
            expected = np.where([len(v) == 0 for v in values], -1, expected)
        np.testing.assert_array_equal(got, expected)


def test_string_columns_kernel_with_empty_columns_and_bad_layouts():
    # Columns without strings (all values were ignore values) anywhere,
    # including every column: nothing is read past the layout.
    out, _ = _hash_columns([([], 3, False), ([b"ab", b"c"], 5, False), ([], 7, True)])
    np.testing.assert_array_equal(out, _tf_hash_bucket([b"ab", b"c"], 5))
    out, _ = _hash_columns([([], 3, False), ([], 5, True)])
    assert out.shape == (0,)
    data, starts, ends, base, widths, _, buckets = _column_layout([([b"ab", b"c"], 3, False)])
    with pytest.raises(ValueError, match="inconsistent"):
        _hash.hash_string_columns_mod(
            data, starts, ends, base, widths, np.array([0, 5]), buckets, np.empty(2, np.int64)
        )
    with pytest.raises(ValueError, match="outside data"):
        _hash.hash_string_columns_mod(
            data, starts, ends, base, np.array([9]), np.array([0, 2]), buckets, np.empty(2, np.int64)
        )


@given(st.lists(_int64s, min_size=1, max_size=40), _num_buckets)
def test_int_hashing_matches_as_string_then_hash_bucket(values, num_buckets):
    x = np.array(values, dtype=np.int64)
    expected = tf.strings.to_hash_bucket_fast(
        tf.strings.as_string(tf.constant(x)), num_buckets
    ).numpy()
    out = np.full(len(values), -7, dtype=np.int64)
    _hash.hash_ints_mod(x, num_buckets, out)
    np.testing.assert_array_equal(out, expected)
    nb = np.uint64(num_buckets)
    scalar = [int(np.uint64(_hash.fingerprint64_int(v)) % nb) for v in x]
    assert scalar == expected.tolist()


def test_hash_ints_mod_parallel_batch_matches_tf():
    rng = np.random.default_rng(3)
    n = _hash.PARALLEL_MIN_ITEMS + 5
    x = rng.integers(_INT64_MIN, _INT64_MAX, n, dtype=np.int64, endpoint=True)
    x[:4] = [_INT64_MIN, _INT64_MAX, 0, -1]
    out = np.empty(n, dtype=np.int64)
    _hash.hash_ints_mod(x, 977, out)
    expected = tf.strings.to_hash_bucket_fast(tf.strings.as_string(x), 977)
    np.testing.assert_array_equal(out, expected.numpy())


@pytest.mark.parametrize(
    "fp1,fp2,expected",
    [
        (0, 0, 0x5825F5F3BD962979),
        (1, 2, 0xC89A2574412AC8E4),
        (2**64 - 1, 0x123456789ABCDEF0, 0x363C16C3254A0B0F),
    ],
)
def test_fingerprint_cat64_reference_vectors(fp1, fp2, expected):
    assert int(_hash.fingerprint_cat64(np.uint64(fp1), np.uint64(fp2))) == expected


# --- crosses: FingerprintCat64 chains against tf.sparse.cross_hashed --------

_cross_values = st.one_of(
    st.lists(_byte_strings, min_size=1, max_size=3).map(lambda v: ("s", v)),
    st.lists(_int64s, min_size=1, max_size=3).map(lambda v: ("i", v)),
)


def _feature_fp(kind, value):
    if kind == "s":
        return np.uint64(_fingerprints([value])[0])
    return _int_bits(value)


def _our_cross(columns, num_buckets, hash_key):
    """Hashed cross of one row per column, in TF's documented product order."""
    seed = np.uint64(hash_key or _DEFAULT_HASH_KEY)
    modulus = np.uint64(num_buckets if num_buckets > 0 else _INT64_MAX)
    results = [seed]
    for kind, values in columns:
        fps = [_feature_fp(kind, v) for v in values]
        # The last input varies fastest.
        results = [
            np.uint64(_hash.fingerprint_cat64(h, fp)) for h in results for fp in fps
        ]
    return [int(np.uint64(h) % modulus) for h in results]


@given(
    st.lists(_cross_values, min_size=2, max_size=3),
    st.one_of(st.just(0), _num_buckets),
    st.one_of(st.none(), st.just(0), st.integers(1, _INT64_MAX)),
)
def test_fingerprint_cat64_chain_matches_cross_hashed(columns, num_buckets, hash_key):
    inputs = [
        tf.constant([values], dtype=tf.string if kind == "s" else tf.int64)
        for kind, values in columns
    ]
    kwargs = {} if hash_key is None else {"hash_key": hash_key}
    expected = tf.sparse.cross_hashed(inputs, num_buckets=num_buckets, **kwargs)
    assert (
        _our_cross(columns, num_buckets, hash_key) == expected.values.numpy().tolist()
    )


def test_cross_reference_vectors():
    assert _our_cross([("s", [b"a", b"c"]), ("s", [b"b", b"d", b"e"])], 1000, None) == [
        986, 182, 817, 751, 322, 641,
    ]  # fmt: skip
    assert _our_cross([("i", [3]), ("s", [b"b"])], 1000, None) == [27]
    assert _our_cross([("i", [-1]), ("s", [b"b"])], 1000, None) == [92]
    assert _our_cross([("i", [5]), ("i", [7])], 0, 123) == [8890092445924102161]
    assert _our_cross([("s", [b"x"]), ("s", [b"y"]), ("s", [b"z"])], 2**62, None) == [
        1352110597397755744
    ]
