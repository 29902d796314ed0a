"""featurec.compile(columns)(features) == tf.compat.v1.feature_column.input_layer.

Hypothesis draws a column configuration (kept to small parameter sets so the
cached TF graphs get reused) and inputs for it; `_featurec_reference` runs
input_layer in a graph + session and compares. Non-embedding outputs must be
bit-identical (NaN == NaN), embeddings within 1e-6.
"""

import numpy as np
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import featurec
from _featurec_reference import assert_parity

fc = tf.feature_column
fc1 = tf.compat.v1.feature_column

_NON_ASCII = ["é", "日本語", "Ünïcödé", "ÿĀ", "🙂x"]
_VOCAB = ["a", "b", "c", "é", "long-" + "x" * 70]


def _string():
    return st.one_of(
        st.sampled_from(_VOCAB),
        st.just(""),
        st.text(max_size=8),
        st.sampled_from(_NON_ASCII),
        st.text(min_size=15, max_size=140),
    )


def _int(lo=-3, hi=12):
    return st.one_of(
        st.integers(lo, hi),
        st.just(-1),
        st.integers(-(2**63), 2**63 - 1),
    )


def _rows(draw, n, element, k=None, min_len=0, max_len=3):
    """n rows of `element`; exactly k per row when k is given."""
    if k is not None:
        return [draw(st.lists(element, min_size=k, max_size=k)) for _ in range(n)]
    return [
        draw(st.lists(element, min_size=min_len, max_size=max_len)) for _ in range(n)
    ]


def _dense(rows, dtype):
    if dtype == object:
        arr = np.empty((len(rows), len(rows[0])), object)
        for i, r in enumerate(rows):
            arr[i, :] = r
        return arr
    return np.array(rows, dtype=dtype)


def _sparse(rows, dtype):
    indices = [[i, j] for i, r in enumerate(rows) for j in range(len(r))]
    values = [v for r in rows for v in r]
    width = max([len(r) for r in rows] + [1])
    values = np.array(values, dtype=dtype) if values else np.zeros(0, dtype)
    return tf.compat.v1.SparseTensorValue(
        np.array(indices, np.int64).reshape(-1, 2),
        values,
        np.array([len(rows), width], np.int64),
    )


def _categorical_input(draw, n, element, dtype, form):
    """A dense [n, k] array or a SparseTensorValue, per the config's `form`."""
    if form == "sparse":
        return _sparse(_rows(draw, n, element), dtype)
    return _dense(_rows(draw, n, element, k=form), dtype)


_batch = st.integers(1, 5)


# ---------------------------------------------------------------------------
# Numeric and bucketized.
# ---------------------------------------------------------------------------


def times_two(x):
    return x * 2


_NORMALIZERS = {
    None: None,
    "zscore": featurec.normalizers.zscore(1.5, 0.7),
    "log1p": featurec.normalizers.log1p(),
    "clip": featurec.normalizers.clip(-1.0, 2.5),
    "times_two": times_two,
}
_BOUNDARIES = [
    (0.0,),
    (-1.0, 0.0, 10.0),
    (0.1, 0.10000000001, 1.0),
    (-2.5, 0.5, 1.0, 2.0, 1e6),
]


@given(st.data())
def test_numeric_and_bucketized(data):
    dtype = data.draw(st.sampled_from(["float32", "float64", "int32", "int64", "bool"]))
    width = data.draw(st.sampled_from([1, 2, 3]))
    norm = data.draw(st.sampled_from(list(_NORMALIZERS)))
    bounds = data.draw(st.sampled_from(_BOUNDARIES))
    if dtype == "bool" and norm == "times_two":
        norm = None  # TF multiplies bools as bools (True*2 is True); numpy gives 2.
    n = data.draw(_batch)
    if dtype.startswith("float"):
        elem = st.floats(
            width=int(dtype[-2:]), allow_nan=True, allow_infinity=True
        ) | st.sampled_from(
            [0.1, -0.0, 0.09999999, 10.0, -1.0, 1e40 if dtype == "float64" else 3e38, 1e-45, -1e-40]
        )
    elif dtype == "bool":
        elem = st.booleans()
    elif norm == "times_two":
        # Integer overflow is where numpy (int64 result) and TF (wraps) differ.
        elem = st.integers(-20, 20) | st.integers(-(2**29), 2**29)
    else:
        elem = st.integers(-20, 20) | st.integers(-(2**31), 2**31 - 1)
    x = np.array(_rows(data.draw, n, elem, k=width), dtype=dtype)

    def make():
        src = fc.numeric_column("x", shape=(width,), normalizer_fn=_NORMALIZERS[norm])
        return [
            fc.bucketized_column(src, list(bounds)),
            src,
            fc.numeric_column("w", shape=(1,)),
        ]

    w = np.array(
        _rows(data.draw, n, st.floats(allow_nan=True, width=32), k=1), np.float32
    )
    with np.errstate(all="ignore"):
        assert_parity(("numeric", dtype, width, norm, bounds), make, {"x": x, "w": w})


# ---------------------------------------------------------------------------
# Categorical columns through indicator_column.
# ---------------------------------------------------------------------------

_FORMS = [1, 2, 3, "sparse"]


@given(st.data())
def test_hash_bucket_indicator(data):
    is_string = data.draw(st.booleans())
    size = data.draw(st.sampled_from([1, 7, 1000]))
    form = data.draw(st.sampled_from(_FORMS))
    dtype = object if is_string else data.draw(st.sampled_from([np.int64, np.int32]))
    if is_string:
        elem = _string()
    elif dtype == np.int32:
        elem = st.integers(-(2**31), 2**31 - 1) | st.integers(-3, 12)
    else:
        elem = _int()
    feats = {"h": _categorical_input(data.draw, data.draw(_batch), elem, dtype, form)}

    def make():
        col = fc.categorical_column_with_hash_bucket(
            "h", size, dtype=tf.string if is_string else tf.int64
        )
        return [fc.indicator_column(col)]

    assert_parity(("hash", is_string, size), make, feats)


_STR_VOCABS = [("a", "b", "c"), ("é", "", "long-" + "x" * 70, "b")]
_INT_VOCABS = [(10, 20, 30), (-1, 5, 2**40, 0)]


@given(st.data())
def test_vocabulary_list_indicator(data):
    is_string = data.draw(st.booleans())
    vocab = data.draw(st.sampled_from(_STR_VOCABS if is_string else _INT_VOCABS))
    oov = data.draw(st.sampled_from([0, 1, 3]))
    default = -1 if oov else data.draw(st.sampled_from([-1, 1]))
    form = data.draw(st.sampled_from(_FORMS))
    elem = st.sampled_from(vocab) | (_string() if is_string else _int(-3, 40))
    dtype = object if is_string else np.int64
    feats = {"v": _categorical_input(data.draw, data.draw(_batch), elem, dtype, form)}

    def make():
        col = fc.categorical_column_with_vocabulary_list(
            "v", list(vocab), default_value=default, num_oov_buckets=oov
        )
        return [fc.indicator_column(col)]

    assert_parity(("vocab", vocab, oov, default), make, feats)


@given(st.data())
def test_vocabulary_file_indicator(tmp_path_factory, data):
    crlf = data.draw(st.booleans())
    size = data.draw(st.sampled_from([None, 2]))
    oov = data.draw(st.sampled_from([0, 2]))
    lines = ["a b", " c", "d\t1", "x ", "é"]
    path = tmp_path_factory.getbasetemp() / f"vocab_{crlf}.txt"
    path.write_bytes(("\r\n" if crlf else "\n").join(lines).encode() + b"\n")
    elem = st.sampled_from(lines + ["a", "d", "x", "a b\r", "zz"]) | _string()
    feats = {
        "f": _categorical_input(
            data.draw,
            data.draw(_batch),
            elem,
            object,
            data.draw(st.sampled_from(_FORMS)),
        )
    }

    def make():
        col = fc1.categorical_column_with_vocabulary_file(
            "f", str(path), vocabulary_size=size, num_oov_buckets=oov
        )
        return [fc.indicator_column(col)]

    assert_parity(("vocab_file", str(path), size, oov), make, feats)


@given(st.data())
def test_identity_indicator(data):
    nb = data.draw(st.sampled_from([1, 4, 10]))
    default = data.draw(st.sampled_from([None, 0, nb - 1]))
    form = data.draw(st.sampled_from(_FORMS))
    dtype = data.draw(st.sampled_from([np.int64, np.int32]))
    feats = {
        "i": _categorical_input(
            data.draw, data.draw(_batch), st.integers(-3, nb + 2), dtype, form
        )
    }

    def make():
        return [
            fc.indicator_column(
                fc.categorical_column_with_identity("i", nb, default_value=default)
            )
        ]

    assert_parity(("identity", nb, default), make, feats)


def _weighted_inputs(draw, n, kind):
    """Aligned dense ids/weights: padding (-1 / '') exactly where weight is 0."""
    k = draw(st.integers(1, 3))
    ids, ws = [], []
    for _ in range(n):
        row_ids, row_w = [], []
        for _ in range(k):
            if draw(st.booleans()):
                row_ids.append("" if kind == "str" else -1)
                row_w.append(0.0)
            else:
                row_ids.append(
                    draw(
                        st.sampled_from(["a", "b", "c", "z"])
                        if kind == "str"
                        else st.integers(0, 6)
                    )
                )
                # |w| >= 1e-6: a subnormal weight is a zero weight in a TF session
                # (denormals-are-zero), i.e. a misaligned mask, which featurec
                # rejects (test_featurec_errors); near-subnormal weights make
                # subnormal products that TF flushes to zero (known gap of the
                # embedding combiner, see the report).
                row_w.append(draw(st.floats(-4, 4, width=32).filter(lambda w: abs(w) >= 1e-6)))
        ids.append(row_ids)
        ws.append(row_w)
    return _dense(ids, object if kind == "str" else np.int64), np.array(ws, np.float32)


@given(st.data())
def test_weighted_indicator(data):
    kind = data.draw(st.sampled_from(["identity", "vocab", "hash"]))
    ids, w = _weighted_inputs(
        data.draw, data.draw(_batch), "str" if kind != "identity" else "int"
    )

    def make():
        if kind == "identity":
            cat = fc.categorical_column_with_identity("k", 5)
        elif kind == "vocab":
            cat = fc.categorical_column_with_vocabulary_list("k", ["a", "b", "c"])
        else:
            cat = fc.categorical_column_with_hash_bucket("k", 3)
        return [fc.indicator_column(fc.weighted_categorical_column(cat, "w"))]

    assert_parity(("weighted", kind), make, {"k": ids, "w": w})


# ---------------------------------------------------------------------------
# Crossed columns.
# ---------------------------------------------------------------------------

_CROSS_KEYS = [
    "raw_str",
    "raw_int",
    "raw_sparse",
    "vocab",
    "bucketized",
    "identity",
    "raw_float",
]


def _cross_key(name):
    if name == "vocab":
        return fc.categorical_column_with_vocabulary_list("vocab", ["a", "b"])
    if name == "bucketized":
        return fc.bucketized_column(
            fc.numeric_column("bucketized", shape=(2,)), [0.0, 1.0]
        )
    if name == "identity":
        return fc.categorical_column_with_identity("identity", 4)
    return name


def _cross_feature(draw, name, n):
    if name in ("raw_str", "vocab"):
        return _dense(
            _rows(
                draw,
                n,
                _string() | st.sampled_from(["a", "b"]),
                k=draw(st.integers(1, 2)),
            ),
            object,
        )
    if name == "raw_sparse":
        return _sparse(_rows(draw, n, _string()), object)
    if name in ("raw_int", "identity"):
        return _dense(
            _rows(draw, n, st.integers(-2, 5) | _int(), k=draw(st.integers(1, 2))),
            np.int64,
        )
    if name == "raw_float":
        return _dense(_rows(draw, n, st.floats(-1e6, 1e6, width=32), k=1), np.float32)
    return _dense(_rows(draw, n, st.floats(-2, 3, width=32), k=2), np.float32)


@given(st.data())
def test_crossed(data):
    keys = tuple(
        data.draw(
            st.lists(st.sampled_from(_CROSS_KEYS), min_size=2, max_size=3, unique=True)
        )
    )
    size = data.draw(st.sampled_from([1, 10, 1000]))
    hash_key = data.draw(st.sampled_from([None, 7]))
    consumer = data.draw(st.sampled_from(["indicator", "embedding"]))
    n = data.draw(_batch)
    feats = {k: _cross_feature(data.draw, k, n) for k in keys}
    table = np.random.default_rng(size).standard_normal((size, 3)).astype(np.float32)

    def make():
        cross = fc.crossed_column(
            [_cross_key(k) for k in keys], size, hash_key=hash_key
        )
        if consumer == "indicator":
            return [fc.indicator_column(cross)]
        return [fc.embedding_column(cross, 3)]

    tables = {
        fc.crossed_column([_cross_key(k) for k in keys], size).name
        + "_embedding": table
    }
    assert_parity(
        ("crossed", keys, size, hash_key, consumer),
        make,
        feats,
        tables=tables if consumer == "embedding" else None,
        exact=consumer == "indicator",
    )


def test_nested_crossed_flattens_keys():
    feats = {
        "a": np.array([["x"], ["y"]], object),
        "b": np.array([["p"], ["q"]], object),
        "c": np.array([["z"], [""]], object),
    }

    def make():
        inner = fc.crossed_column(["a", "b"], 5)
        return [fc.indicator_column(fc.crossed_column([inner, "c"], 1000))]

    got = assert_parity(("nested",), make, feats)
    assert got[0, 542] == 1.0  # §6 J6


# ---------------------------------------------------------------------------
# Embeddings.
# ---------------------------------------------------------------------------


def _table(rows, dim, seed):
    return np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)


@given(st.data())
def test_embedding(data):
    kind = data.draw(
        st.sampled_from(["identity", "identity_default", "hash", "vocab", "bucketized"])
    )
    combiner = data.draw(st.sampled_from(["mean", "sum", "sqrtn"]))
    max_norm = data.draw(st.sampled_from([None, 0.7]))
    dim = data.draw(st.sampled_from([1, 3, 8, 9]))
    n = data.draw(_batch)
    if kind.startswith("identity"):
        feat = _categorical_input(
            data.draw,
            n,
            st.integers(-2, 6),
            np.int64,
            data.draw(st.sampled_from(_FORMS)),
        )
    elif kind == "bucketized":
        feat = np.array(
            _rows(data.draw, n, st.floats(-3, 3, width=32), k=2), np.float32
        )
    else:
        form = data.draw(st.sampled_from([1, 3, 12, "sparse"]))
        feat = _categorical_input(data.draw, n, _string(), object, form)

    def make():
        if kind.startswith("identity"):
            cat = fc.categorical_column_with_identity(
                "e", 5, default_value=0 if kind == "identity_default" else None
            )
        elif kind == "hash":
            cat = fc.categorical_column_with_hash_bucket("e", 5)
        elif kind == "vocab":
            cat = fc.categorical_column_with_vocabulary_list(
                "e", ["a", "b", "c"], num_oov_buckets=2
            )
        else:
            cat = fc.bucketized_column(
                fc.numeric_column("e", shape=(2,)), [-1.0, 0.0, 1.5]
            )
        return [fc.embedding_column(cat, dim, combiner=combiner, max_norm=max_norm)]

    rows = 8 if kind == "bucketized" else 5
    name = "e_bucketized_embedding" if kind == "bucketized" else "e_embedding"
    tables = {name: _table(rows, dim, dim)}
    assert_parity(
        ("embedding", kind, combiner, max_norm, dim),
        make,
        {"e": feat},
        tables,
        exact=False,
    )


@given(st.data())
def test_weighted_embedding(data):
    combiner = data.draw(st.sampled_from(["mean", "sum", "sqrtn"]))
    ids, w = _weighted_inputs(data.draw, data.draw(_batch), "int")
    table = _table(7, 4, 1)

    def make():
        cat = fc.weighted_categorical_column(
            fc.categorical_column_with_identity("k", 7), "w"
        )
        return [fc.embedding_column(cat, 4, combiner=combiner)]

    assert_parity(
        ("wemb", combiner),
        make,
        {"k": ids, "w": w},
        {"k_weighted_by_w_embedding": table},
        exact=False,
    )


@given(st.data())
def test_v1_shared_embedding(data):
    n = data.draw(_batch)
    feats = {
        "a": _categorical_input(data.draw, n, st.integers(-1, 5), np.int64, 2),
        "b": _categorical_input(data.draw, n, st.integers(-1, 5), np.int64, "sparse"),
    }

    def make():
        cats = [
            fc.categorical_column_with_identity("b", 6),
            fc.categorical_column_with_identity("a", 6),
        ]
        return fc1.shared_embedding_columns(cats, 3, combiner="sqrtn") + [
            fc.numeric_column("a_num")
        ]

    feats["a_num"] = np.ones((n, 1), np.float32)
    tables = {"a_b_shared_embedding": _table(6, 3, 6)}
    assert_parity(("shared",), make, feats, tables, exact=False)


# ---------------------------------------------------------------------------
# Everything at once (ordering of many columns).
# ---------------------------------------------------------------------------


@given(st.data())
def test_mixed_columns(data):
    n = data.draw(_batch)
    feats = {
        "price": np.array(
            _rows(data.draw, n, st.floats(-10, 100, width=32), k=1), np.float32
        ),
        "age": np.array(_rows(data.draw, n, st.integers(0, 90), k=1), np.int64),
        "color": _categorical_input(
            data.draw,
            n,
            st.sampled_from(["red", "green", "blue", "purple", ""]),
            object,
            1,
        ),
        "tok": _categorical_input(data.draw, n, _string(), object, 2),
        "uid": _categorical_input(data.draw, n, st.integers(-1, 2), np.int64, 2),
    }

    def make():
        age = fc.numeric_column("age")
        color = fc.categorical_column_with_vocabulary_list(
            "color", ["red", "green", "blue"], num_oov_buckets=1
        )
        tok = fc.categorical_column_with_hash_bucket("tok", 4)
        return [
            fc.numeric_column(
                "price", normalizer_fn=featurec.normalizers.zscore(20.0, 5.0)
            ),
            fc.bucketized_column(age, [18, 65]),
            fc.indicator_column(color),
            fc.indicator_column(tok),
            fc.indicator_column(fc.crossed_column([color, "tok"], 5)),
            fc.embedding_column(
                fc.categorical_column_with_identity("uid", 3), 2, combiner="sqrtn"
            ),
            age,
        ]

    tables = {"uid_embedding": np.array([[1, 2], [3, 4], [5, 6]], np.float32)}
    assert_parity(("mixed",), make, feats, tables, exact=False)


# ---------------------------------------------------------------------------
# Large batches: the multi-threaded paths (all string columns hashed in one
# call, every output column written chunk by chunk on both threads).
# ---------------------------------------------------------------------------


@given(st.data())
def test_many_string_columns_large_batch(data):
    from featurec import _hash, _kernels, _write

    # Above every parallel threshold: rows for the writer, hashed items for
    # the hash kernel (6 strings a row, of which '' ones are dropped), and
    # crossed values (ids x k: 6 a row).
    big = (
        max(_write.PARALLEL_MIN_ROWS, _hash.PARALLEL_MIN_ITEMS // 3, _kernels.PARALLEL_MIN_VALUES // 6)
        + 37
    )
    n = data.draw(st.sampled_from([big, 1, 5]))
    pool = np.array(data.draw(st.lists(_string(), min_size=1, max_size=12)) + [""], object)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    as_bytes = data.draw(st.booleans())
    max_norm = data.draw(st.sampled_from([None, 0.5]))

    def strings(shape):
        v = rng.choice(pool, size=shape)
        return np.char.encode(v.astype(str), "utf-8") if as_bytes else v

    feats = {
        "a": strings((n,)),
        "b": strings((n, 2)),
        "c": strings((n, 3)),
        "ids": rng.integers(0, 6, (n, 2)),
        "k": rng.integers(0, 10, (n, 3)),
        "d": strings((n, 2)),
        "w": rng.uniform(0.1, 2.0, (n, 2)).astype(np.float32),
        "x": rng.uniform(-5, 300, (n, 1)).astype(np.float32),
    }
    # One weight per non-empty string ('' ids are dropped, 0 weights too).
    feats["dw"] = np.where(
        feats["d"] == (b"" if as_bytes else ""), 0.0, rng.uniform(0.5, 2.0, (n, 2))
    ).astype(np.float32)

    def make():
        a = fc.categorical_column_with_hash_bucket("a", 7)
        b = fc.categorical_column_with_hash_bucket("b", 11)
        c = fc.categorical_column_with_hash_bucket("c", 5)
        weighted = fc.weighted_categorical_column(
            fc.categorical_column_with_identity("ids", 6), "w"
        )
        x = fc.numeric_column("x")
        return [
            fc.indicator_column(a),
            fc.embedding_column(b, 3, combiner="mean", max_norm=max_norm),
            fc.embedding_column(c, 8, combiner="sum"),
            fc.indicator_column(fc.crossed_column(["a", "b"], 13)),
            fc.indicator_column(fc.crossed_column(["ids", "k"], 17)),
            fc.indicator_column(
                fc.weighted_categorical_column(fc.categorical_column_with_hash_bucket("d", 9), "dw")
            ),
            fc.embedding_column(weighted, 2, combiner="sqrtn"),
            fc.bucketized_column(x, [0.0, 1.0, 10.0, 100.0]),
            x,
        ]

    tables = {
        "b_embedding": _table(11, 3, 3),
        "c_embedding": _table(5, 8, 8),
        "ids_weighted_by_w_embedding": _table(6, 2, 2),
    }
    assert_parity(("large", max_norm), make, feats, tables, exact=False)
