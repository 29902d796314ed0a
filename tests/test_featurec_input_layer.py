"""featurec.input_layer is a drop-in for tf.compat.v1.feature_column.input_layer.

Same output for the same variable values (both computation modes: numba
kernels through numpy_function, and plain TF ops for export), the same
variables (names, shapes, collections, initialisers), and gradients that
reach the embedding tables exactly as input_layer's do.
"""

import functools

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import _featurec_columns as C
from _featurec_columns import vocab_file  # noqa: F401 - shared fixture
import featurec
from featurec._input_layer import TF_OPS_ONLY_COLLECTION, input_layer, tf_ops_only

fc = tf.feature_column
GLOBAL = tf.compat.v1.GraphKeys.GLOBAL_VARIABLES
_PY_FUNC_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


def _variables(scope):
    return {
        v.op.name.split("/", 1)[1]: v
        for v in tf.compat.v1.get_collection(GLOBAL)
        if v.op.name.startswith(scope + "/")
    }


class _Case:
    """input_layer, featurec kernels and featurec TF ops on the same columns.

    Each of the three gets its own variables (`input_layer`, `input_layer_1`,
    `input_layer_2`) except v1 shared tables, which all three share through the
    graph collection, as repeated input_layer calls do. All get equal values.
    """

    def __init__(self, variant, vocab_file, example):
        self.graph = tf.Graph()
        with self.graph.as_default():
            columns = C.columns(variant, vocab_file)
            self.placeholders = {k: C.placeholder(v) for k, v in example.items()}
            self.reference = tf.compat.v1.feature_column.input_layer(self.placeholders, columns)
            self.kernels = input_layer(self.placeholders, columns, use_kernels=True)
            self.tf_ops = input_layer(self.placeholders, columns)
            self.session = tf.compat.v1.Session(graph=self.graph)
            self.session.run(
                [tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()]
            )
            rng = np.random.default_rng(11)
            for name, var in _variables("input_layer").items():
                value = rng.normal(size=var.shape).astype(np.float32)
                for scope in ("input_layer", "input_layer_1", "input_layer_2"):
                    other = _variables(scope).get(name)
                    if other is not None:
                        other.load(value, self.session)
        self.embedding = np.zeros(self.reference.shape[1], bool)
        t = featurec.compile(columns)
        for name in t.layout:
            if name.endswith("embedding"):
                self.embedding[t.layout[name]] = True

    def feed(self, features):
        return {self.placeholders[k]: v for k, v in features.items()}


@pytest.fixture(scope="module")
def cases(vocab_file):
    with C.case_cache(_Case, vocab_file) as get:
        yield get


@given(st.data())
def test_output_equals_input_layer(cases, data):
    index = data.draw(st.sampled_from(range(len(C.VARIANTS))))
    features = C.features(data.draw, C.VARIANTS[index])
    case = cases(index, features)
    with np.errstate(all="ignore"):
        try:
            want = case.session.run(case.reference, case.feed(features))
        except tf.errors.InvalidArgumentError:
            for output in (case.kernels, case.tf_ops):
                with pytest.raises(tf.errors.InvalidArgumentError):
                    case.session.run(output, case.feed(features))
            return
        gots = case.session.run([case.kernels, case.tf_ops], case.feed(features))
    for got in gots:
        assert got.shape == want.shape
        np.testing.assert_array_equal(got[:, ~case.embedding], want[:, ~case.embedding])
        np.testing.assert_allclose(
            got[:, case.embedding], want[:, case.embedding], rtol=1e-6, atol=1e-6
        )


def test_out_of_range_embedding_id_raises_like_input_layer(cases):
    features = C.fixed_features()
    case = cases(0, features)
    features["i"] = np.full_like(features["i"], 9)
    features["w"] = np.ones_like(features["w"])
    feed = {case.placeholders[k]: v for k, v in features.items()}
    for output in (case.reference, case.kernels, case.tf_ops):
        with pytest.raises(tf.errors.InvalidArgumentError):
            case.session.run(output, feed)


def _build(make, fn, features, **kwargs):
    """Variables and output of `fn` in a fresh graph."""
    with tf.Graph().as_default() as graph:
        tf.compat.v1.set_random_seed(0)
        columns = make()
        out = fn(features, columns, **kwargs)
        variables = [
            (v.op.name, tuple(v.shape), v in tf.compat.v1.trainable_variables())
            for v in tf.compat.v1.global_variables()
        ]
        model_vars = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.MODEL_VARIABLES)
        model = [v.op.name for v in model_vars]
    return graph, out, variables, model


def test_variables_match_input_layer(vocab_file):
    features = C.fixed_features()

    def make():
        return C.columns(C.VARIANTS[1], vocab_file)

    _, ref, want, want_model = _build(make, tf.compat.v1.feature_column.input_layer, features)
    _, out, got, got_model = _build(make, input_layer, features)
    assert got == want
    assert got_model == want_model
    assert any("s1_s2_shared_embedding/embedding_weights" in name for name, _, _ in got)
    assert out.shape.as_list()[1] == ref.shape.as_list()[1] == 123


def test_trainable_false_and_weight_collections():
    def make():
        return [
            fc.embedding_column(
                fc.categorical_column_with_identity("u", 5), 2, trainable=False
            ),
            fc.embedding_column(fc.categorical_column_with_identity("t", 3), 2),
        ]

    features = {"u": np.array([[1]], np.int64), "t": np.array([[2]], np.int64)}
    for kwargs in ({}, {"trainable": False}, {"weight_collections": ["mine"]}):
        results = []
        for fn in (tf.compat.v1.feature_column.input_layer, input_layer):
            with tf.Graph().as_default():
                fn(features, make(), **kwargs)
                results.append((
                    [v.op.name for v in tf.compat.v1.trainable_variables()],
                    [v.op.name for v in tf.compat.v1.get_collection("mine")],
                ))
        assert results[0] == results[1], kwargs


def test_initialisers_follow_the_column():
    """Default: truncated normal, stddev 1/sqrt(dim), cut at 2 sigma; else the column's."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        tf.compat.v1.set_random_seed(0)
        cat = fc.categorical_column_with_identity("u", 4000)
        default = fc.embedding_column(cat, 16)
        custom = fc.embedding_column(
            fc.categorical_column_with_identity("c", 3), 2,
            initializer=tf.compat.v1.constant_initializer(0.25),
        )
        input_layer({"u": tf.constant([[0]], tf.int64), "c": tf.constant([[0]], tf.int64)},
                    [default, custom])
        sess.run(tf.compat.v1.global_variables_initializer())
        values = {v.op.name: sess.run(v) for v in tf.compat.v1.global_variables()}
    table = values["input_layer/u_embedding/embedding_weights"]
    sigma = 1 / np.sqrt(16)
    assert np.abs(table).max() <= 2 * sigma
    # A normal truncated at 2 sigma has standard deviation 0.8796 sigma.
    assert abs(table.std() - 0.8796 * sigma) < 0.01 * sigma
    assert abs(table.mean()) < 0.02 * sigma
    np.testing.assert_array_equal(values["input_layer/c_embedding/embedding_weights"], 0.25)


def test_cols_to_vars_and_output_tensors_match(vocab_file):
    features = C.fixed_features()
    maps = []
    for fn in (tf.compat.v1.feature_column.input_layer, input_layer):
        with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
            columns = C.columns(C.VARIANTS[0], vocab_file)
            to_vars, to_out = {}, {}
            out = fn(features, columns, cols_to_vars=to_vars, cols_to_output_tensors=to_out)
            sess.run(tf.compat.v1.tables_initializer())
            for var in tf.compat.v1.global_variables():
                var.load(np.ones(var.shape, np.float32), sess)
            names = {c.name: [v.op.name for v in vs] for c, vs in to_vars.items()}
            pieces = {c.name: sess.run(t) for c, t in to_out.items()}
            whole = sess.run(out)
            maps.append((names, pieces, whole))
    assert maps[0][0] == maps[1][0]
    assert maps[0][1].keys() == maps[1][1].keys()
    for name in maps[0][1]:
        np.testing.assert_allclose(maps[1][1][name], maps[0][1][name], rtol=1e-6)
    np.testing.assert_allclose(maps[1][2], maps[0][2], rtol=1e-6)


@pytest.mark.parametrize("use_kernels", [False, True])
def test_gradients_reach_only_the_rows_looked_up(use_kernels):
    """One SGD step on the same loss moves exactly the looked-up rows, as input_layer's does."""
    features = {
        "u": np.array([[1, 3], [3, -1]], np.int64),
        "h": np.array([["a"], ["b"]], object),
        "x": np.array([[0.5], [2.0]], np.float32),
    }
    after = []
    ours = functools.partial(input_layer, use_kernels=use_kernels)
    for fn in (tf.compat.v1.feature_column.input_layer, ours):
        with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
            columns = [
                fc.embedding_column(fc.categorical_column_with_identity("u", 6), 3, "sqrtn"),
                fc.embedding_column(fc.categorical_column_with_hash_bucket("h", 10), 2),
                fc.numeric_column("x"),
            ]
            out = fn({k: tf.constant(v) for k, v in features.items()}, columns)
            weights = tf.constant(np.linspace(-1, 1, 6).reshape(1, 6), tf.float32)
            loss = tf.reduce_sum(tf.square(out * weights))
            step = tf.compat.v1.train.GradientDescentOptimizer(0.5).minimize(loss)
            sess.run(tf.compat.v1.global_variables_initializer())
            tables = tf.compat.v1.global_variables()
            for var in tables:
                value = np.arange(np.prod(var.shape), dtype=np.float32) / 7
                var.load(value.reshape(var.shape), sess)
            before = sess.run(tables)
            sess.run(step)
            after.append([sess.run(v) for v in tables])
    changed_u = np.flatnonzero((after[1][1] != before[1]).any(axis=1))
    np.testing.assert_array_equal(changed_u, [1, 3])
    hashed = tf.strings.to_hash_bucket_fast(["a", "b"], 10).numpy()
    changed_h = np.flatnonzero((after[1][0] != before[0]).any(axis=1))
    np.testing.assert_array_equal(changed_h, np.unique(hashed))
    for ours, theirs in zip(after[1], after[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_export_mode_builds_no_py_func():
    def op_types(**kwargs):
        with tf.Graph().as_default() as graph:
            col = fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 5))
            input_layer({"h": tf.constant([["a"]])}, [col], **kwargs)
            return {op.type for op in graph.get_operations()}

    assert op_types(use_kernels=True) & _PY_FUNC_OPS
    assert not op_types() & _PY_FUNC_OPS
    with tf_ops_only():
        assert not op_types(use_kernels=True) & _PY_FUNC_OPS
    with tf.Graph().as_default() as graph:
        tf.compat.v1.add_to_collection(TF_OPS_ONLY_COLLECTION, True)
        col = fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 5))
        input_layer({"h": tf.constant([["a"]])}, [col], use_kernels=True)
        assert not {op.type for op in graph.get_operations()} & _PY_FUNC_OPS


def test_bad_columns_and_features_raise_value_error():
    with tf.Graph().as_default():
        bare = fc.categorical_column_with_hash_bucket("h", 5)
        with pytest.raises(ValueError, match="must be a _DenseColumn"):
            input_layer({"h": tf.constant([["a"]])}, [bare])
        with pytest.raises(ValueError, match="'age'"):
            input_layer({"h": tf.constant([["a"]])}, [fc.numeric_column("age")])
