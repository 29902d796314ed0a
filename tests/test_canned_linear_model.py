"""`featurec.linear_model` (the canned linear part) against
`tf.compat.v1.feature_column.linear_model`: same variables (names, shapes) and, with
the same weights loaded into both, the same output for every column kind and
`sparse_combiner`, on multivalent, missing and sparse inputs."""
import numpy as np
import pytest
import tensorflow as tf

import featurec

fc = tf.feature_column


def _columns():
    c = fc.categorical_column_with_vocabulary_list("c", ["a", "b", "c"], num_oov_buckets=2)
    ident = fc.categorical_column_with_identity("i", 6, default_value=0)
    return [
        fc.numeric_column("x", shape=(2,)),
        c,
        fc.categorical_column_with_hash_bucket("h", 7),
        ident,
        fc.bucketized_column(fc.numeric_column("b", shape=(2,)), [-1.0, 0.0, 1.0]),
        fc.crossed_column([c, "h"], 11),
        fc.weighted_categorical_column(
            fc.categorical_column_with_vocabulary_list("wc", ["p", "q", "r"]), "wc_w"),
        fc.indicator_column(ident),
        fc.embedding_column(c, 2),
    ]


def _features(seed, n=9):
    rng = np.random.RandomState(seed)
    words = np.array(["a", "b", "c", "zz", "", "yy"])
    c = words[rng.randint(0, len(words), size=(n, 3))]
    wc_rows = [["p", "r"], ["q"], [], ["r", "r"], ["p"]]
    indices, values, weights = [], [], []
    for row in range(n):
        for j, v in enumerate(wc_rows[row % len(wc_rows)]):
            indices.append([row, j])
            values.append(v)
            weights.append(rng.uniform(0.5, 2.0))
    shape = [n, 2]
    return {
        "x": rng.normal(size=(n, 2)).astype(np.float32),
        "b": rng.normal(size=(n, 2)).astype(np.float32),
        "c": c,
        "h": np.array([["k%d" % rng.randint(0, 20)] for _ in range(n)]),
        "i": rng.randint(-1, 8, size=(n, 2)).astype(np.int64),
        "wc": tf.compat.v1.SparseTensorValue(np.array(indices, np.int64), np.array(values),
                                             shape),
        "wc_w": tf.compat.v1.SparseTensorValue(np.array(indices, np.int64),
                                               np.array(weights, np.float32), shape),
    }


def _run(fn, features, combiner, units, seed):
    with tf.Graph().as_default():
        out = fn(dict(features), _columns(), units=units, sparse_combiner=combiner)
        variables = sorted(tf.compat.v1.global_variables(), key=lambda v: v.op.name)
        rng = np.random.RandomState(seed)
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(),
                      tf.compat.v1.tables_initializer()])
            for var in variables:
                var.load(rng.normal(size=var.shape).astype(np.float32), sess)
            return {v.op.name: tuple(v.shape) for v in variables}, sess.run(out)


@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_tf_linear_model(combiner, seed):
    features = _features(seed)
    units = 1 + seed
    ref_vars, ref = _run(tf.compat.v1.feature_column.linear_model, features, combiner, units,
                         seed)
    our_vars, ours = _run(featurec.linear_model, features, combiner, units, seed)
    assert our_vars == ref_vars
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_errors_name_the_problem():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="sparse_combiner"):
            featurec.linear_model({"x": tf.zeros([2, 2])}, [fc.numeric_column("x", (2,))],
                                  sparse_combiner="max")
        with pytest.raises(ValueError, match="'y' is not in features"):
            featurec.linear_model({"x": tf.zeros([2, 2])}, [fc.numeric_column("y")])
        with pytest.raises(ValueError, match="Duplicate feature column name"):
            featurec.linear_model({"x": tf.zeros([2, 1])},
                                  [fc.numeric_column("x"), fc.numeric_column("x")])
