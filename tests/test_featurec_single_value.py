"""One value a row: featurec's gather path against TF's feature columns.

Features of static shape `[batch, 1]` (or rank 1) hold one value a row, so
featurec's TF lowering looks their ids up with one gather per column, masks
missing values and pruned ids with a select, and hashes crosses with
element-wise uint64 ops (`featurec._lower_tf.Lowering.single_ids`). This is
the path the canned estimators take on `numpy_input_fn` / `pandas_input_fn`
features. Checked against `tf.compat.v1.feature_column.input_layer` and
`linear_model` on generated rows with empty strings, `-1`, out-of-vocabulary
values and negative ids, and the gradients reaching the tables.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import featurec

fc = tf.feature_column
fc1 = tf.compat.v1.feature_column

_WORDS = ["a", "b", "c", "é", "日本", "", "zz", "long-" + "y" * 40]
_SLOW_OPS = {"SparseCross", "SparseCrossHashed", "SparseSegmentSumWithNumSegments",
             "SparseSegmentMeanWithNumSegments", "SparseSegmentSqrtNWithNumSegments"}


def _categorical():
    s = "s"
    x = fc.numeric_column("x")
    xb = fc.bucketized_column(x, [-1.0, 0.0, 2.5])
    return [
        fc.categorical_column_with_vocabulary_list(s, ["a", "b", "é", "日本"]),
        fc.categorical_column_with_vocabulary_list("s2", ["b", "c"], default_value=1),
        fc.categorical_column_with_vocabulary_list("s3", ["c", "zz"], num_oov_buckets=3),
        fc.categorical_column_with_hash_bucket("h", 9),
        fc.categorical_column_with_hash_bucket("k", 11, dtype=tf.int64),
        fc.categorical_column_with_vocabulary_list("m", [3, -7, 2**40, 0]),
        fc.categorical_column_with_identity("i", 6),
        fc.categorical_column_with_identity("j", 4, default_value=2),
        xb,
        fc.crossed_column(["h", "k"], 17),
        fc.crossed_column([xb, "s"], 13, hash_key=12345),
        # TF hashes a cross's categorical keys before its raw ones.
        fc.crossed_column(["s", xb, "k"], 19),
    ]


def _dense_columns(categorical):
    combiners = ["mean", "sqrtn", "sum"]
    embeddings = [
        fc.embedding_column(c, 3, combiner=combiners[n % 3])
        for n, c in enumerate(categorical)
    ]
    return [fc.numeric_column("x")] + [fc.indicator_column(c) for c in categorical] + embeddings


@st.composite
def _rows(draw):
    n = draw(st.integers(1, 8))

    def column(element):
        return draw(st.lists(element, min_size=n, max_size=n))

    words = st.sampled_from(_WORDS)
    return {
        "x": np.array(column(st.floats(-3, 3, width=32) | st.just(np.nan)), np.float32),
        "s": np.array(column(words), object),
        "s2": np.array(column(words), object),
        "s3": np.array(column(words), object),
        "h": np.array(column(words), object),
        "k": np.array(column(st.integers(-2, 40) | st.just(2**50)), np.int64),
        "m": np.array(column(st.sampled_from([3, -7, 2**40, 0, -1, 5])), np.int64),
        "i": np.array(column(st.integers(-3, 5)), np.int64),
        "j": np.array(column(st.integers(-3, 9)), np.int64),
    }


def _fixed_rows():
    return {
        "x": np.array([0.5, -2.0], np.float32),
        "s": np.array(["a", ""], object), "s2": np.array(["c", "q"], object),
        "s3": np.array(["zz", "é"], object), "h": np.array(["b", ""], object),
        "k": np.array([3, -1]), "m": np.array([-7, 5]),
        "i": np.array([2, -1]), "j": np.array([1, 8]),
    }


class _Graph:
    """input_layer and linear_model (every combiner) next to featurec's, with
    the same variable values, on placeholders of the given rank."""

    def __init__(self, rank):
        self.graph = tf.Graph()
        with self.graph.as_default():
            example = _fixed_rows()
            self.placeholders = {
                k: tf.compat.v1.placeholder(
                    tf.string if v.dtype == object else tf.as_dtype(v.dtype),
                    [None] if rank == 1 else [None, 1])
                for k, v in example.items()
            }
            dense = _dense_columns(_categorical())
            pairs = [(fc1.input_layer, featurec.input_layer, dense)]
            for combiner in ("sum", "mean", "sqrtn"):
                linear = _categorical() + [fc.numeric_column("x")]

                def ref(f, c, cols_to_vars, combiner=combiner):
                    return fc1.linear_model(f, c, units=2, sparse_combiner=combiner,
                                            cols_to_vars=cols_to_vars)

                def ours(f, c, cols_to_vars, combiner=combiner):
                    return featurec.linear_model(f, c, units=2, sparse_combiner=combiner,
                                                 cols_to_vars=cols_to_vars)

                pairs.append((ref, ours, linear))
            self.outputs, self.variables, self.our_ops = [], [], set()
            for ref_fn, our_fn, columns in pairs:
                ref_vars, our_vars = {}, {}
                want = ref_fn(self.placeholders, columns, cols_to_vars=ref_vars)
                before = set(self.graph.get_operations())
                got = our_fn(self.placeholders, columns, cols_to_vars=our_vars)
                self.our_ops |= {op.type for op in set(self.graph.get_operations()) - before}
                self.outputs.append((want, got))
                for column, variables in ref_vars.items():
                    self.variables += list(zip(variables, our_vars[column]))
            self.layout = featurec.compile(dense).layout
            self.grads = tf.gradients(
                [tf.reduce_sum(w * w) + tf.reduce_sum(g * g) for w, g in self.outputs],
                [v for pair in self.variables for v in pair],
            )
            self.session = tf.compat.v1.Session(graph=self.graph)
            self.session.run([tf.compat.v1.global_variables_initializer(),
                              tf.compat.v1.tables_initializer()])
            rng = np.random.default_rng(5)
            for ref_var, our_var in self.variables:
                value = rng.normal(size=ref_var.shape).astype(np.float32)
                ref_var.load(value, self.session)
                our_var.load(value, self.session)
        self.embedding = np.zeros(self.outputs[0][0].shape[1], bool)
        for name, cols in self.layout.items():
            if name.endswith("_embedding"):
                self.embedding[cols] = True

    def run(self, rows, rank):
        feed = {self.placeholders[k]: v if rank == 1 else v[:, None] for k, v in rows.items()}
        return self.session.run([self.outputs, self.grads], feed)


@pytest.fixture(scope="module")
def graphs():
    built = {}

    def get(rank):
        if rank not in built:
            built[rank] = _Graph(rank)
        return built[rank]

    yield get
    for g in built.values():
        g.session.close()


@pytest.mark.parametrize("rank", [1, 2])
def test_takes_the_gather_path(graphs, rank):
    # Without this the comparisons below could pass on the sparse path alone.
    g = graphs(rank)
    assert not g.our_ops & _SLOW_OPS
    assert "Fingerprint" in g.our_ops  # the crosses' element-wise hash


@pytest.mark.parametrize("rank", [1, 2])
@given(rows=_rows())
def test_outputs_and_gradients_equal_tf_feature_columns(graphs, rank, rows):
    g = graphs(rank)
    outputs, grads = g.run(rows, rank)
    want, got = outputs[0]
    np.testing.assert_array_equal(got[:, ~g.embedding], want[:, ~g.embedding])
    np.testing.assert_allclose(got[:, g.embedding], want[:, g.embedding], rtol=1e-6, atol=1e-6)
    for want, got in outputs[1:]:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for want, got in zip(grads[0::2], grads[1::2]):
        want = want if isinstance(want, np.ndarray) else _dense(want)
        got = got if isinstance(got, np.ndarray) else _dense(got)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _dense(slices):
    out = np.zeros(slices.dense_shape, np.float32)
    np.add.at(out, slices.indices, slices.values)
    return out


def test_out_of_range_identity_fails_like_tf(graphs):
    g = graphs(2)
    rows = _fixed_rows()
    rows["i"] = np.full_like(rows["i"], 6)
    with pytest.raises(tf.errors.InvalidArgumentError):
        g.session.run(g.outputs[0][0], {g.placeholders[k]: v[:, None] for k, v in rows.items()})
    with pytest.raises(tf.errors.InvalidArgumentError):
        g.session.run(g.outputs[0][1], {g.placeholders[k]: v[:, None] for k, v in rows.items()})


def test_wider_or_unknown_width_inputs_keep_the_sparse_path():
    with tf.Graph().as_default() as graph:
        column = fc.embedding_column(fc.categorical_column_with_hash_bucket("h", 5), 2)
        for shape in ([None, 2], [None, None]):
            before = set(graph.get_operations())
            featurec.input_layer({"h": tf.compat.v1.placeholder(tf.string, shape)}, [column])
            ops = {op.type for op in set(graph.get_operations()) - before}
            assert "SparseSegmentMeanWithNumSegments" in ops


def test_eager_lowering_of_rank_one_features_equals_the_kernels():
    # Transform.to_tf runs eagerly in TF 2 code; one-value rows take the gather path there too.
    columns = [c for c in _dense_columns(_categorical()) if "embedding" not in c.name]
    t = featurec.compile(columns)
    rows = _fixed_rows()
    got = t.to_tf({k: tf.constant(v.tolist() if v.dtype == object else v) for k, v in rows.items()})
    np.testing.assert_array_equal(got.numpy(), t(rows))


def test_a_row_without_an_id_stays_zero_next_to_non_finite_table_rows():
    # Masked rows gather a clamped id first; a NaN/inf there must not leak (TF gives 0).
    column = fc.embedding_column(fc.categorical_column_with_vocabulary_list("s", ["a", "b"]), 2)
    linear = fc.categorical_column_with_identity("i", 3)
    with tf.Graph().as_default():
        s = tf.constant(["zz", "", "b"])
        i = tf.constant([-1, 1, -5], tf.int64)
        ours = featurec.input_layer({"s": s}, [column])
        logits = featurec.linear_model({"i": i}, [linear])
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(),
                      tf.compat.v1.tables_initializer()])
            table, weights = (v for v in tf.compat.v1.global_variables()
                              if v.name.endswith(("embedding_weights:0", "i/weights:0")))
            table.load(np.array([[np.nan, np.inf], [1.0, 2.0]], np.float32), sess)
            weights.load(np.array([[np.inf], [3.0], [4.0]], np.float32), sess)
            got, got_logits = sess.run([ours, logits])
    np.testing.assert_array_equal(got, [[0, 0], [0, 0], [1, 2]])
    np.testing.assert_array_equal(got_logits, [[0], [3], [0]])
