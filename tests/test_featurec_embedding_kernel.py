"""featurec._embedding.combine_embeddings against tf.nn.safe_embedding_lookup_sparse.

The comparison is bit-exact (np.array_equal on float32) for every combiner,
weighted or not, with and without max_norm -- except the weighted 'sqrtn'
combiner: TF squares the weights with the vectorised Eigen ``pow``, which is
not correctly rounded (it differs from ``w * w`` by one ulp for about a quarter
of random weights, depending on the weight's position in the packet), so that
case is compared within rtol = atol = 1e-6.

TF runs its kernels with denormals flushed to zero; featurec does not, so the
generated weights and tables avoid subnormal floats (results differ only when
an input or a product is below 1.2e-38).
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from featurec import _embedding
from featurec._embedding import combine_embeddings, combiner_code

_DIMS = [1, 3, 8, 12, 16, 33]
_COMBINERS = ["sum", "mean", "sqrtn"]
_PAD = 3  # output columns left of the embedding, which must stay untouched
_SENTINEL = np.float32(-12345.5)


def _ragged_to_sparse(rows, values, dtype):
    indices = [(b, k) for b, row in enumerate(rows) for k in range(len(row))]
    width = max([len(r) for r in rows] + [1])
    return tf.SparseTensor(
        np.array(indices, dtype=np.int64).reshape(-1, 2),
        np.array(values, dtype=dtype),
        [len(rows), width],
    )


def _tf_lookup(table, rows, weights, combiner, max_norm):
    ids = [i for row in rows for i in row]
    sp_ids = _ragged_to_sparse(rows, ids, np.int64)
    sp_weights = None
    if weights is not None:
        sp_weights = _ragged_to_sparse(
            rows, [w for row in weights for w in row], np.float32
        )
    return tf.nn.safe_embedding_lookup_sparse(
        tf.constant(table), sp_ids, sp_weights, combiner=combiner, max_norm=max_norm
    ).numpy()


def _ours(table, rows, weights, combiner, max_norm):
    """Runs the kernel into the middle of a wider output; returns (code, out)."""
    row_splits = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=row_splits[1:])
    ids = np.array([i for row in rows for i in row], dtype=np.int64)
    has_weights = weights is not None
    flat_weights = np.array(
        [w for row in weights for w in row] if has_weights else [], dtype=np.float32
    )
    dim = table.shape[1]
    out = np.full((len(rows), _PAD + dim + 2), _SENTINEL, dtype=np.float32)
    code = combine_embeddings(
        row_splits, ids, flat_weights, has_weights, table,
        combiner_code(combiner), np.float32(max_norm or 0.0), out, _PAD,
    )  # fmt: skip
    return code, out


def _assert_matches(ours_out, expected, weighted, combiner):
    dim = expected.shape[1]
    got = ours_out[:, _PAD : _PAD + dim]
    if weighted and combiner == "sqrtn":
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, expected, strict=True)
    # Columns outside col0:col0+D are never written.
    assert (ours_out[:, :_PAD] == _SENTINEL).all()
    assert (ours_out[:, _PAD + dim :] == _SENTINEL).all()


_weight_values = st.one_of(
    st.sampled_from([0.0, -1.0, 1.0, 0.5, 2.0, -0.0]),
    st.floats(-4.0, 4.0, width=32, allow_subnormal=False),
    st.floats(0.0009765625, 10.0, width=32),
)


@st.composite
def _batches(draw):
    dim = draw(st.sampled_from(_DIMS))
    vocab = draw(st.integers(1, 60))
    batch = draw(st.integers(1, 10))
    length = st.one_of(
        st.integers(0, 3), st.integers(0, 40), st.sampled_from([9, 10, 16, 17, 24, 40])
    )
    # Ids include negatives (pruned) and, for small vocabularies, many duplicates.
    id_values = st.integers(-3, vocab - 1)
    rows = [
        draw(st.lists(id_values, min_size=n, max_size=n))
        for n in draw(st.lists(length, min_size=batch, max_size=batch))
    ]
    if draw(st.booleans()):
        rows[draw(st.integers(0, batch - 1))] = [-1] * draw(st.integers(1, 5))
    weighted = draw(st.booleans())
    weights = None
    if weighted:
        weights = [
            draw(st.lists(_weight_values, min_size=len(r), max_size=len(r)))
            for r in rows
        ]
    combiner = draw(st.sampled_from(_COMBINERS))
    max_norm = draw(st.one_of(st.none(), st.floats(0.0625, 5.0, width=32)))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1.0, 0.01, 30.0]))
    table = (np.random.default_rng(seed).normal(0, scale, (vocab, dim))).astype(
        np.float32
    )
    return table, rows, weights, combiner, max_norm


@given(_batches())
def test_matches_safe_embedding_lookup_sparse(case):
    table, rows, weights, combiner, max_norm = case
    expected = _tf_lookup(table, rows, weights, combiner, max_norm)
    code, out = _ours(table, rows, weights, combiner, max_norm)
    assert code == -1
    _assert_matches(out, expected, weights is not None, combiner)


@pytest.mark.parametrize("combiner", _COMBINERS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("max_norm", [None, 0.9])
def test_every_row_length_and_dim(combiner, weighted, max_norm):
    # One row of each length 0..40 per dim: covers every block/tail split of
    # the unweighted order and the 4-accumulator switch at 16 weighted values.
    rng = np.random.default_rng(11)
    for dim in _DIMS:
        table = rng.normal(0, 1, (37, dim)).astype(np.float32)
        rows = [rng.integers(0, 37, n).tolist() for n in range(41)]
        weights = None
        if weighted:
            weights = [
                rng.uniform(0.05, 3.0, len(r)).astype(np.float32).tolist() for r in rows
            ]
        expected = _tf_lookup(table, rows, weights, combiner, max_norm)
        code, out = _ours(table, rows, weights, combiner, max_norm)
        assert code == -1
        _assert_matches(out, expected, weighted, combiner)


@pytest.mark.parametrize("combiner", _COMBINERS)
def test_weighted_sqrtn_is_exact_for_dyadic_weights(combiner):
    # With weights whose square Eigen's pow computes exactly, weighted sqrtn is
    # bit-exact too: the only inexact step is TF's vectorised pow(w, 2).
    rng = np.random.default_rng(5)
    table = rng.normal(0, 1, (20, 12)).astype(np.float32)
    rows = [rng.integers(0, 20, n).tolist() for n in range(0, 41, 3)]
    weights = [(rng.integers(1, 9, len(r)) / 4.0).tolist() for r in rows]
    expected = _tf_lookup(table, rows, weights, combiner, None)
    code, out = _ours(table, rows, weights, combiner, None)
    assert code == -1
    np.testing.assert_array_equal(out[:, _PAD : _PAD + 12], expected, strict=True)


@pytest.mark.parametrize("weighted", [False, True])
def test_parallel_batch_matches_tf(weighted):
    # Enough rows to take the prange branch.
    rng = np.random.default_rng(9)
    batch = _embedding.PARALLEL_MIN_ROWS + 17
    table = rng.normal(0, 1, (500, 8)).astype(np.float32)
    rows = [rng.integers(-1, 500, n).tolist() for n in rng.integers(0, 12, batch)]
    weights = None
    if weighted:
        weights = [rng.uniform(-0.5, 2.0, len(r)).tolist() for r in rows]
    for combiner in ("mean", "sum"):
        expected = _tf_lookup(table, rows, weights, combiner, 1.5)
        code, out = _ours(table, rows, weights, combiner, 1.5)
        assert code == -1
        _assert_matches(out, expected, weighted, combiner)


@pytest.mark.parametrize("max_norm", [0.0, -1.0, float("nan")])
def test_non_positive_or_nan_max_norm_means_no_clipping(max_norm):
    rng = np.random.default_rng(2)
    table = rng.normal(0, 5, (10, 16)).astype(np.float32)
    rows = [[1, 2, 3], [4], [], [9, 9, 0, 5, 6, 7, 8, 1, 2, 3, 4]]
    expected = _tf_lookup(table, rows, None, "mean", None)
    code, out = _ours(table, rows, None, "mean", max_norm)
    assert code == -1
    _assert_matches(out, expected, False, "mean")


def test_empty_batch_is_a_no_op():
    table = np.ones((4, 3), dtype=np.float32)
    code, out = _ours(table, [], None, "mean", None)
    assert code == -1 and out.shape == (0, _PAD + 5)


@pytest.mark.parametrize("weighted", [False, True])
def test_out_of_range_id_returns_its_index_and_writes_nothing(weighted):
    table = np.ones((5, 4), dtype=np.float32)
    rows = [[0, 1], [-1, 4, 5, 7], [99]]
    weights = [[1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [1.0]] if weighted else None
    code, out = _ours(table, rows, weights, "mean", None)
    assert code == 4  # the id 5: the first id >= V in sparse order
    assert (out == _SENTINEL).all()
    # TF rejects the same lookup (the caller turns our index into a ValueError).
    with pytest.raises(tf.errors.InvalidArgumentError):
        _tf_lookup(table, rows, weights, "mean", None)


def test_out_of_range_id_pruned_by_its_weight_is_not_an_error():
    # With a non-sum combiner, a weight <= 0 drops the id before the lookup,
    # so TF never sees the bad id; neither do we.
    table = np.arange(20, dtype=np.float32).reshape(5, 4)
    rows = [[0, 50], [7, 2]]
    weights = [[1.0, 0.0], [-2.0, 3.0]]
    expected = _tf_lookup(table, rows, weights, "mean", None)
    code, out = _ours(table, rows, weights, "mean", None)
    assert code == -1
    _assert_matches(out, expected, True, "mean")
    code, _ = _ours(table, rows, weights, "sum", None)
    assert code == 1


def test_inconsistent_shapes_raise_value_error():
    table = np.ones((5, 4), dtype=np.float32)
    out = np.zeros((2, 4), dtype=np.float32)
    ids = np.array([0, 1, 2], dtype=np.int64)
    no_weights = np.zeros(0, dtype=np.float32)
    with pytest.raises(ValueError, match="outside out"):
        combine_embeddings(
            np.array([0, 1, 3]), ids, no_weights, False, table, 1, np.float32(0), out, 1
        )
    with pytest.raises(ValueError, match="end at len"):
        combine_embeddings(
            np.array([0, 1, 2]), ids, no_weights, False, table, 1, np.float32(0), out, 0
        )
    with pytest.raises(ValueError, match="batch size"):
        combine_embeddings(
            np.array([0, 3]), ids, no_weights, False, table, 1, np.float32(0), out, 0
        )


@pytest.mark.parametrize(
    "name,code",
    [
        ("sum", _embedding.COMBINER_SUM),
        ("mean", _embedding.COMBINER_MEAN),
        ("sqrtn", _embedding.COMBINER_SQRTN),
    ],
)
def test_combiner_code(name, code):
    assert combiner_code(name) == code


@pytest.mark.parametrize("name", ["max", "Mean", "", None])
def test_unknown_combiner_raises_value_error(name):
    with pytest.raises(ValueError, match="combiner"):
        combiner_code(name)

