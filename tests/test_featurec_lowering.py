"""The TF lowering of a compiled plan equals featurec's numba kernels.

The lowering is what an exported SavedModel runs on raw features, so it must
compute exactly what the kernels (and so input_layer) compute, with plain TF
ops only. One graph per column set is built and cached; hypothesis feeds
generated inputs through placeholders. Non-embedding columns must be
bit-identical (NaN == NaN), embedding columns within 1e-6; an input the
kernels reject (ValueError) must make the graph fail (InvalidArgumentError),
and vice versa.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import featurec
from featurec import _lower_tf, _spec
import _featurec_columns as C
from _featurec_columns import vocab_file  # noqa: F401 - shared fixture

fc = tf.feature_column
fc1 = tf.compat.v1.feature_column

_PY_FUNC_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


class _Case:
    """One variant: columns, transform with tables, lowered graph + session."""

    def __init__(self, variant, vocab_file, example):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.transform = featurec.compile(C.columns(variant, vocab_file))
            rng = np.random.default_rng(7)
            for name, shape in self.transform.embedding_tables.items():
                self.transform.set_embedding_table(name, rng.normal(size=shape).astype(np.float32))
            self.placeholders = {k: C.placeholder(v) for k, v in example.items()}
            self.output = _lower_tf.lower_transform(self.transform, self.placeholders)
            self.session = tf.compat.v1.Session(graph=self.graph)
            self.session.run(tf.compat.v1.tables_initializer())
        self.embedding_cols = [
            self.transform.layout[s.name]
            for s, _ in self.transform._plan.outputs
            if isinstance(s, _spec.EmbeddingSpec)
        ]

    def run(self, features):
        feed = {self.placeholders[k]: v for k, v in features.items()}
        return self.session.run(self.output, feed)


@pytest.fixture(scope="module")
def cases(vocab_file):
    with C.case_cache(_Case, vocab_file) as get:
        yield get


# ---------------------------------------------------------------------------
# Tests.
# ---------------------------------------------------------------------------


def _compare(case, features):
    try:
        want = case.transform(features)
    except ValueError:
        with pytest.raises(tf.errors.InvalidArgumentError):
            case.run(features)
        return
    got = case.run(features)
    assert got.dtype == np.float32 and got.shape == want.shape
    emb = np.zeros(want.shape[1], bool)
    for cols in case.embedding_cols:
        emb[cols] = True
    np.testing.assert_array_equal(got[:, ~emb], want[:, ~emb])
    np.testing.assert_allclose(got[:, emb], want[:, emb], rtol=1e-6, atol=1e-6)


@given(st.data())
def test_lowering_equals_kernels(cases, data):
    index = data.draw(st.sampled_from(range(len(C.VARIANTS))))
    features = C.features(data.draw, C.VARIANTS[index])
    with np.errstate(all="ignore"):
        _compare(cases(index, features), features)


def test_out_of_range_embedding_id_fails_in_both(cases):
    features = C.fixed_features()
    case = cases(0, features)
    features["i"] = np.full_like(features["i"], 9)
    features["w"] = np.ones_like(features["w"])
    with pytest.raises(ValueError):
        case.transform(features)
    with pytest.raises(tf.errors.InvalidArgumentError):
        case.run(features)


def test_missing_feature_names_feature_and_column():
    with tf.Graph().as_default():
        t = featurec.compile([fc.numeric_column("age")])
        with pytest.raises(ValueError, match="'age'"):
            _lower_tf.lower_transform(t, {"height": tf.constant([1.0])})


def test_missing_embedding_table_is_a_value_error():
    with tf.Graph().as_default():
        col = fc.embedding_column(fc.categorical_column_with_identity("u", 3), 2)
        t = featurec.compile([col])
        with pytest.raises(ValueError, match="u_embedding"):
            _lower_tf.lower_transform(t, {"u": tf.constant([[1]], tf.int64)})


def test_exported_lowering_has_no_py_func_and_answers(cases, tmp_path):
    """A SavedModel of the lowered graph loads in a fresh graph and equals the kernels."""
    features = C.fixed_features()
    case = cases(0, features)
    want = case.transform(features)
    export_dir = str(tmp_path / "lowered")
    with case.graph.as_default():
        builder = tf.compat.v1.saved_model.Builder(export_dir)
        inputs = {}
        for key, ph in case.placeholders.items():
            if isinstance(ph, tf.SparseTensor):
                for part in ("indices", "values", "dense_shape"):
                    inputs[f"{key}_{part}"] = getattr(ph, part)
            else:
                inputs[key] = ph
        signature = tf.compat.v1.saved_model.predict_signature_def(inputs, {"out": case.output})
        builder.add_meta_graph_and_variables(
            case.session,
            ["serve"],
            signature_def_map={"serving_default": signature},
            main_op=tf.compat.v1.tables_initializer(),
        )
        builder.save()

    with tf.Graph().as_default() as graph, tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], export_dir)
        op_types = {node.op for node in meta.graph_def.node}
        for function in meta.graph_def.library.function:
            op_types.update(node.op for node in function.node_def)
        assert not op_types & _PY_FUNC_OPS
        assert {"StringToHashBucketFast", "SparseCross", "Bucketize"} <= op_types
        sig = meta.signature_def["serving_default"]
        feed = {}
        for key, value in features.items():
            if isinstance(value, tf.compat.v1.SparseTensorValue):
                for part in ("indices", "values", "dense_shape"):
                    feed[sig.inputs[f"{key}_{part}"].name] = getattr(value, part)
            else:
                feed[sig.inputs[key].name] = value
        got = sess.run(graph.get_tensor_by_name(sig.outputs["out"].name), feed)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_normalizer_that_only_numba_runs_is_a_type_error():
    def numpy_only(x):
        return np.log1p(np.asarray(x))

    with tf.Graph().as_default():
        t = featurec.compile([tf.feature_column.numeric_column("a", normalizer_fn=numpy_only)])
        with pytest.raises(TypeError, match="normalizer_fn of numeric_column 'a'"):
            _lower_tf.lower_transform(t, {"a": tf.compat.v1.placeholder(tf.float32, [None])})
