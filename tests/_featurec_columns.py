"""A column set using every column type, and inputs for it, for featurec tests.

Shared by the lowering and input_layer tests: `columns(variant, vocab_file)`
builds the columns (call it inside a graph: v1 shared embeddings need one),
`features(draw, variant)` draws a matching feature dict, `fixed_features()`
is one hand-written batch.
"""

import contextlib

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import strategies as st

import featurec

fc = tf.feature_column
fc1 = tf.compat.v1.feature_column

_STRINGS = ["a", "b", "c", "é", "", "zz", "long-" + "x" * 70, "日本語"]
_VOCAB = ["a", "b", "c", "é", "long-" + "x" * 70]
FILE_VOCAB = ["a b", " c", "x", "日本"]

# (combiner, form of 'h', form of 'v'): a form is a dense width or "sparse".
VARIANTS = [("mean", 2, "sparse"), ("sum", "sparse", 3), ("sqrtn", 1, 2)]


def times_two(x):
    return x * 2


def columns(variant, vocab_file):
    combiner = variant[0]
    x = fc.numeric_column("x", shape=(2,), normalizer_fn=featurec.normalizers.zscore(0.5, 2.0))
    xb = fc.bucketized_column(x, [-1.0, 0.0, 0.5, 3.0])
    v = fc.categorical_column_with_vocabulary_list("v", _VOCAB, num_oov_buckets=2)
    i = fc.categorical_column_with_identity("i", 6)
    iw = fc.weighted_categorical_column(i, "w")
    shared = fc1.shared_embedding_columns(
        [
            fc.categorical_column_with_identity("s1", 4),
            fc.categorical_column_with_identity("s2", 4, default_value=3),
        ],
        3,
        combiner=combiner,
    )
    return [
        x,
        xb,
        fc.numeric_column("n", dtype=tf.int64, normalizer_fn=times_two),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 7)),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("k", 13, dtype=tf.int64)),
        fc.indicator_column(v),
        fc.embedding_column(v, 3, combiner=combiner),
        fc.indicator_column(iw),
        fc.embedding_column(iw, 4, combiner=combiner),
        fc.indicator_column(fc.crossed_column(["h", xb, v], 50)),
        fc.embedding_column(fc.crossed_column(["h", "k"], 20), 2, "sqrtn", max_norm=1.0),
        fc.embedding_column(fc.categorical_column_with_identity("j", 5, default_value=0), 3, "sum"),
        fc.indicator_column(
            fc.categorical_column_with_vocabulary_list("m", [3, 5, -7, 2**40], default_value=1)
        ),
        fc.indicator_column(
            fc.categorical_column_with_vocabulary_file("f", vocab_file, num_oov_buckets=1)
        ),
        *shared,
    ]


def placeholder(value):
    if isinstance(value, tf.compat.v1.SparseTensorValue):
        return tf.compat.v1.sparse_placeholder(tf.string)
    dtype = tf.string if value.dtype == object else tf.as_dtype(value.dtype)
    return tf.compat.v1.placeholder(dtype, [None, None])


# ---------------------------------------------------------------------------
# Inputs.
# ---------------------------------------------------------------------------


def object_array(rows):
    arr = np.empty((len(rows), len(rows[0])), object)
    for r, row in enumerate(rows):
        arr[r, :] = row
    return arr


def _strings(draw, n, form, alphabet):
    element = st.sampled_from(alphabet) | st.text(max_size=6)
    if form == "sparse":
        rows = [draw(st.lists(element, max_size=3)) for _ in range(n)]
        indices = [[r, j] for r, row in enumerate(rows) for j in range(len(row))]
        values = np.array([s for row in rows for s in row] or [""], object)[: len(indices)]
        width = max([len(row) for row in rows] + [1])
        return tf.compat.v1.SparseTensorValue(
            np.array(indices, np.int64).reshape(-1, 2), values, np.array([n, width], np.int64)
        )
    return object_array([draw(st.lists(element, min_size=form, max_size=form)) for _ in range(n)])


def _ints(draw, n, k, lo, hi, wild=True):
    element = st.integers(lo, hi) | st.just(-1)
    if wild:
        element = element | st.sampled_from([-7, 2**40, 2**62])
    return np.array([draw(st.lists(element, min_size=k, max_size=k)) for _ in range(n)], np.int64)


def features(draw, variant):
    n = draw(st.integers(1, 6))
    floats = st.floats(-5, 5, width=32) | st.sampled_from([np.nan, np.inf, -np.inf, 0.5, -0.0])
    x = np.array([draw(st.lists(floats, min_size=2, max_size=2)) for _ in range(n)], np.float32)
    # Weighted ids and weights are aligned: padding (-1) exactly where weight is 0.
    mask = np.array([draw(st.lists(st.booleans(), min_size=3, max_size=3)) for _ in range(n)])
    ids = np.where(mask, -1, _ints(draw, n, 3, 0, 5) % 6)
    # TF's CPU kernels flush subnormals to zero (a 1e-40 weight is dropped like
    # 0.0, and w * table underflows for w near 1e-38); the kernels do not, so
    # weights stay away from that range.
    weight = st.floats(-3, 3, width=32).filter(lambda w: abs(w) > 1e-6)
    weights = [draw(weight) for _ in range(3 * n)]
    w = np.where(mask, 0.0, np.array(weights, np.float32).reshape(n, 3)).astype(np.float32)
    return {
        "x": x,
        "n": _ints(draw, n, 1, -100, 100),
        "h": _strings(draw, n, variant[1], _STRINGS),
        "k": _ints(draw, n, 2, -3, 30),
        "v": _strings(draw, n, variant[2], _STRINGS + _VOCAB),
        "i": ids,
        "w": w,
        "j": _ints(draw, n, 2, -2, 6),
        "m": _ints(draw, n, 2, -8, 6),
        "f": _strings(draw, n, 1, FILE_VOCAB + ["x ", "a"]),
        "s1": _ints(draw, n, 2, -1, 3, wild=False),
        "s2": _ints(draw, n, 1, -2, 6),
    }


def fixed_features():
    rng = np.random.default_rng(3)
    n = 4
    return {
        "x": rng.normal(size=(n, 2)).astype(np.float32),
        "n": rng.integers(-5, 5, size=(n, 1)),
        "h": object_array([["a", "é"], ["", "b"], ["zz", "a"], ["c", "c"]]),
        "k": rng.integers(-1, 20, size=(n, 2)),
        "v": tf.compat.v1.SparseTensorValue(
            np.array([[0, 0], [0, 1], [2, 0], [3, 2]], np.int64),
            np.array(["a", "zz", "é", ""], object),
            np.array([n, 3], np.int64),
        ),
        "i": np.array([[0, 1, -1], [2, 2, 5], [-1, -1, -1], [4, -1, 3]], np.int64),
        "w": np.array([[1, 2, 0], [0.5, -1, 3], [0, 0, 0], [2, 0, 1]], np.float32),
        "j": rng.integers(-2, 7, size=(n, 2)),
        "m": np.array([[3, 5], [-7, 0], [2**40, -1], [1, 3]], np.int64),
        "f": object_array([["a b"], [" c"], ["x "], ["日本"]]),
        "s1": rng.integers(-1, 4, size=(n, 2)),
        "s2": rng.integers(-2, 6, size=(n, 1)),
    }


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    """The vocabulary file `columns()` reads (import this fixture into a test module)."""
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_bytes("\n".join(FILE_VOCAB).encode() + b"\n")
    return str(path)


@contextlib.contextmanager
def case_cache(case_class, vocab_file):
    """Yields `get(variant_index, example)`: one `case_class` (graph + session) per
    variant, built on first use and closed on exit, so hypothesis examples share it."""
    built = {}

    def get(index, example):
        if index not in built:
            built[index] = case_class(VARIANTS[index], vocab_file, example)
        return built[index]

    try:
        yield get
    finally:
        for case in built.values():
            case.session.close()

