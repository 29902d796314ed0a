"""`featurec.batches`: model-ready batches cut from in-memory features.

Every batch must equal what `tf.compat.v1.feature_column.input_layer`
computes on the same rows, for each in-memory form (numpy `S` / object
strings, a pandas DataFrame with Arrow-backed strings, a pyarrow Table, a
polars DataFrame); shuffled epochs must be permutations of the rows, paired
with their labels and reproducible from a seed; embedding columns must reach
`featurec.input_layer`'s variables.
"""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import tensorflow as tf

import featurec

fc = tf.feature_column
_ROWS = 23
_WORDS = np.array(["a", "b", "", "é", "日本", "zz", "c"])


def _columns(with_embedding=False):
    x = fc.numeric_column("x")
    s = fc.categorical_column_with_hash_bucket("s", 7)
    v = fc.categorical_column_with_vocabulary_list("v", ["a", "b", "é"], num_oov_buckets=2)
    columns = [
        x,
        fc.bucketized_column(x, [-1.0, 0.5]),
        fc.indicator_column(s),
        fc.indicator_column(v),
        fc.indicator_column(fc.crossed_column(["s", "k"], 11)),
        fc.numeric_column("k", dtype=tf.int64),
    ]
    if with_embedding:
        columns.append(fc.embedding_column(v, 3, combiner="mean"))
    return columns


def _data():
    rng = np.random.default_rng(0)
    return {
        "x": rng.normal(size=_ROWS).astype(np.float32),
        "s": _WORDS[rng.integers(0, len(_WORDS), _ROWS)],
        "v": _WORDS[rng.integers(0, len(_WORDS), _ROWS)],
        "k": rng.integers(-1, 9, _ROWS).astype(np.int64),
    }


def _forms(data):
    frame = pd.DataFrame(data)
    return {
        "numpy S": {k: np.char.encode(v, "utf-8") if v.dtype.kind == "U" else v
                    for k, v in data.items()},
        "numpy object": {k: v.astype(object) if v.dtype.kind == "U" else v
                         for k, v in data.items()},
        "pandas": frame,
        "pyarrow": pa.Table.from_pandas(frame),
        "polars": pl.from_pandas(frame),
    }


@pytest.fixture(scope="module")
def reference():
    """input_layer's rows for `_data()` (no embedding columns)."""
    data = _data()
    with tf.Graph().as_default():
        features = {k: tf.constant(v) for k, v in data.items()}
        out = tf.compat.v1.feature_column.input_layer(features, _columns())
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.tables_initializer())
            return sess.run(out)


def _collect(ds):
    features, labels = [], []
    for f, l in ds:
        features.append(f.numpy())
        labels.append(l.numpy())
    return features, labels


@pytest.mark.parametrize("form", ["numpy S", "numpy object", "pandas", "pyarrow", "polars"])
def test_batches_in_order_equal_input_layer(reference, form):
    features = _forms(_data())[form]
    if form == "pandas":
        assert str(features["s"].dtype) == "str"  # pandas 3: Arrow-backed strings
    ds = featurec.batches(features, _columns(), labels=np.arange(_ROWS), batch_size=5)
    got, labels = _collect(ds)
    assert [len(b) for b in got] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate(labels), np.arange(_ROWS))
    np.testing.assert_array_equal(np.concatenate(got), reference)


def test_shuffled_epochs_are_seeded_permutations_paired_with_labels(reference):
    features = _forms(_data())["pandas"]

    def run(seed):
        ds = featurec.batches(features, _columns(), labels=pd.Series(np.arange(_ROWS)),
                              batch_size=4, num_epochs=3, shuffle=True, seed=seed)
        return _collect(ds)

    got, labels = run(seed=3)
    assert len(got) == 3 * 6
    epochs = [np.concatenate(labels[e * 6:(e + 1) * 6]) for e in range(3)]
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), np.arange(_ROWS))
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[0], np.arange(_ROWS))
    np.testing.assert_array_equal(np.concatenate(got), reference[np.concatenate(labels)])
    again, again_labels = run(seed=3)
    np.testing.assert_array_equal(np.concatenate(again_labels), np.concatenate(labels))
    _, other = run(seed=4)
    assert not np.array_equal(np.concatenate(other), np.concatenate(labels))


def test_drop_remainder_repeat_forever_and_features_only():
    features = _forms(_data())["numpy S"]
    ds = featurec.batches(features, _columns(), batch_size=10, num_epochs=None,
                          drop_remainder=True)
    shapes = [tuple(b.shape) for b in ds.take(5)]
    assert shapes == [(10, shapes[0][1])] * 5


def test_embedding_columns_feed_featurec_input_layer():
    data = _data()
    columns = _columns(with_embedding=True)
    with tf.Graph().as_default():
        ds = featurec.batches(data, columns, labels=np.arange(_ROWS), batch_size=6,
                              shuffle=True, seed=0)
        features, rows = tf.compat.v1.data.make_one_shot_iterator(ds).get_next()
        ours = featurec.input_layer(features, columns)
        whole = {k: tf.constant(v) for k, v in data.items()}
        want = tf.gather(tf.compat.v1.feature_column.input_layer(whole, columns), rows)
        tables = [v for v in tf.compat.v1.global_variables() if "embedding_weights" in v.name]
        assert len(tables) == 2
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(),
                      tf.compat.v1.tables_initializer()])
            value = np.random.default_rng(1).normal(size=tables[0].shape).astype(np.float32)
            for table in tables:
                table.load(value, sess)
            seen = []
            for _ in range(4):
                got, expected, r = sess.run([ours, want, rows])
                np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
                seen.append(r)
            np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(_ROWS))


def test_bad_inputs_name_the_problem():
    data = _data()
    columns = _columns()
    short = dict(data, k=data["k"][:-1])
    with pytest.raises(ValueError, match="'k': 22"):
        featurec.batches(short, columns)
    with pytest.raises(ValueError, match="labels"):
        featurec.batches(data, columns, labels=np.arange(3))
    missing = {k: v for k, v in data.items() if k != "v"}
    with pytest.raises(ValueError, match="'v'.*v_indicator"):
        featurec.batches(missing, columns)
    sparse = dict(data, s=tf.compat.v1.SparseTensorValue([[0, 0]], [b"a"], [_ROWS, 1]))
    with pytest.raises(TypeError, match="'s'.*SparseTensorValue.*featurec.dataset"):
        featurec.batches(sparse, columns)
    ragged = dict(data, s=[["a"], ["b", "c"]] * 11 + [["a"]])
    with pytest.raises(TypeError, match="'s'.*different lengths"):
        featurec.batches(ragged, columns)
    with pytest.raises(ValueError, match="batch_size"):
        featurec.batches(data, columns, batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        featurec.batches(data, columns, batch_size="8")
    with pytest.raises(ValueError, match="num_epochs"):
        featurec.batches(data, columns, num_epochs=0)
    with pytest.raises(ValueError, match="no batch"):
        featurec.batches(data, columns, batch_size=100, drop_remainder=True)


def test_label_forms():
    data = _data()
    columns = _columns()[:1]
    frame = pd.DataFrame({"y": np.arange(_ROWS) % 2})
    (f, l), = featurec.batches(data, columns, labels=frame, batch_size=_ROWS)
    assert l.shape == (_ROWS, 1)
    (f, l), = featurec.batches(data, columns, labels=list(range(_ROWS)), batch_size=_ROWS)
    np.testing.assert_array_equal(l.numpy(), np.arange(_ROWS))
    with pytest.raises(TypeError, match="the labels"):
        featurec.batches(data, columns, labels={"y": np.arange(_ROWS)})
    with pytest.raises(ValueError, match="the labels cannot have rank 0"):
        featurec.batches(data, columns, labels=np.float32(1.0))
