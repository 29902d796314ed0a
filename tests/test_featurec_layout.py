"""Output order, widths and the input_layer test vectors of the reference (§6).

Every expected value below was produced by TF 2.21's input_layer
(shared/reference/feature-columns.md §6).
"""

import numpy as np
import pytest
import tensorflow as tf

import featurec

fc = tf.feature_column
fc1 = tf.compat.v1.feature_column
f32 = np.float32


def run(columns, features, tables=None):
    t = featurec.compile(columns)
    if tables:
        t.set_embedding_tables(tables)
    return t(features)


def onehot(ids, width):
    out = np.zeros((len(ids), width), f32)
    for r, i in enumerate(ids):
        if i is not None:
            out[r, i] += 1
    return out


# ---------------------------------------------------------------------------
# Ordering and widths.
# ---------------------------------------------------------------------------


def test_columns_sorted_by_name_not_list_order():
    cols = [fc.numeric_column(k) for k in ["b", "a", "A", "aa", "a_b"]]
    t = featurec.compile(cols)
    assert list(t.layout) == ["A", "a", "a_b", "aa", "b"]
    x = t({"b": [[2.0]], "a": [[1.0]], "A": [[0.0]], "a_b": [[3.0]], "aa": [[4.0]]})
    np.testing.assert_array_equal(x, [[0, 1, 3, 4, 2]])  # A7


def test_widths_of_every_dense_column_kind():
    vocab = fc.categorical_column_with_vocabulary_list("v", ["a", "b", "c"], num_oov_buckets=2)
    cols = [
        fc.numeric_column("n", shape=(2, 3)),
        fc.bucketized_column(fc.numeric_column("s", shape=(2,)), [0.0, 1.0, 2.0]),
        fc.indicator_column(vocab),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 7)),
        fc.indicator_column(fc.crossed_column(["h", vocab], 11)),
        fc.embedding_column(fc.categorical_column_with_identity("i", 4), 5),
        fc.indicator_column(fc.weighted_categorical_column(fc.categorical_column_with_identity("j", 6), "w")),
    ]
    t = featurec.compile(cols)
    widths = {k: s.stop - s.start for k, s in t.layout.items()}
    assert widths == {
        "h_X_v_indicator": 11,
        "h_indicator": 7,
        "i_embedding": 5,
        "j_weighted_by_w_indicator": 6,
        "n": 6,
        "s_bucketized": 8,
        "v_indicator": 5,
    }
    assert t.output_width == sum(widths.values())
    starts = [s.start for s in t.layout.values()]
    assert starts == sorted(starts) and starts[0] == 0
    assert t.embedding_tables == {"i_embedding": (4, 5)}


def test_numeric_sorts_before_its_bucketized():
    x = fc.numeric_column("x")
    out = run([fc.bucketized_column(x, [0, 10, 100]), x], {"x": [[5.0]]})
    np.testing.assert_array_equal(out, [[5, 0, 1, 0, 0]])  # B6


def test_empty_batch():
    cols = [
        fc.numeric_column("n"),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 3)),
        fc.embedding_column(fc.categorical_column_with_identity("i", 2), 2),
    ]
    out = run(
        cols,
        {"n": np.zeros((0, 1), f32), "h": np.zeros((0, 1), object), "i": np.zeros((0, 1), np.int64)},
        {"i_embedding": np.ones((2, 2), f32)},
    )
    assert out.shape == (0, 6) and out.dtype == f32


# ---------------------------------------------------------------------------
# Numeric / bucketized vectors.
# ---------------------------------------------------------------------------


def test_numeric_vectors():
    np.testing.assert_array_equal(run([fc.numeric_column("a")], {"a": [1.0, 2.0]}), [[1], [2]])  # A1
    a3 = np.arange(1, 9, dtype=f32).reshape(2, 2, 2)
    np.testing.assert_array_equal(
        run([fc.numeric_column("a", shape=(2, 2))], {"a": a3}), [[1, 2, 3, 4], [5, 6, 7, 8]]
    )
    double = fc.numeric_column("a", normalizer_fn=lambda x: x * 2)
    np.testing.assert_array_equal(run([double], {"a": np.array([[1], [2], [3]], np.int32)}), [[2], [4], [6]])
    half = fc.numeric_column("a", normalizer_fn=lambda x: x / 2)
    np.testing.assert_array_equal(run([half], {"a": np.array([[1], [3]], np.int32)}), [[0.5], [1.5]])  # A4
    out = run([fc.numeric_column("a", default_value=7)], {"a": np.array([[np.nan], [2]], f32)})
    assert np.isnan(out[0, 0]) and out[1, 0] == 2  # A5
    out = run([fc.numeric_column("a")], {"a": np.array([[0.1], [1e40]])})
    np.testing.assert_array_equal(out, [[f32(0.1)], [np.inf]])  # A6
    np.testing.assert_array_equal(run([fc.numeric_column("a")], {"a": np.array([[True], [False]])}), [[1], [0]])


def test_bucketized_vectors():
    b = lambda src, bounds: fc.bucketized_column(src, bounds)  # noqa: E731
    x = fc.numeric_column("x")
    out = run([b(x, [0, 10, 100])], {"x": np.array([[-5], [0], [5], [10], [100], [150]], f32)})
    np.testing.assert_array_equal(out, onehot([0, 1, 1, 2, 3, 3], 4))  # B1
    x2 = fc.numeric_column("x", shape=(2,))
    out = run([b(x2, [0, 10, 100])], {"x": np.array([[-1, 50], [10, 200]], f32)})
    np.testing.assert_array_equal(out, [[1, 0, 0, 0, 0, 0, 1, 0], [0, 0, 1, 0, 0, 0, 0, 1]])  # B2
    x64 = np.array([[0.1], [0.099999999], [0.09999999403953552], [0.09999999]])
    np.testing.assert_array_equal(run([b(x, [0.1])], {"x": x64}), onehot([1, 1, 0, 0], 2))  # B3
    special = np.array([[np.nan], [-np.inf], [np.inf], [-0.0]], f32)
    np.testing.assert_array_equal(run([b(x, [0, 10, 100])], {"x": special}), onehot([3, 0, 3, 1], 4))  # B4
    ints = np.array([[9], [10]], np.int64)
    np.testing.assert_array_equal(run([b(x, [0, 10, 100])], {"x": ints}), onehot([1, 2], 4))  # B5
    big = np.array([[16777217]], np.int64)
    np.testing.assert_array_equal(run([b(x, [16777217])], {"x": big}), onehot([1], 2))  # Q5
    out = run([b(x, [0.1, 0.10000000001, 1.0])], {"x": np.array([[0.1]], f32)})
    np.testing.assert_array_equal(out, onehot([2], 4))  # Q4


# ---------------------------------------------------------------------------
# Categorical vectors (through indicator_column).
# ---------------------------------------------------------------------------


def ind(cat, features):
    return run([fc.indicator_column(cat)], features)


def test_identity_vectors():
    i4 = fc.categorical_column_with_identity("i", 4)
    np.testing.assert_array_equal(
        ind(i4, {"i": np.array([[0, 1], [2, -1], [-1, -1]])}), [[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    )  # C2
    np.testing.assert_array_equal(ind(i4, {"i": np.array([[4], [-2], [2]])}), onehot([None, None, 2], 4))  # C3
    d0 = fc.categorical_column_with_identity("i", 4, default_value=0)
    np.testing.assert_array_equal(ind(d0, {"i": np.array([[4], [-2], [-1], [3]])}), onehot([0, 0, None, 3], 4))
    np.testing.assert_array_equal(
        ind(i4, {"i": np.array([[1, 1, 1], [2, 3, 2]])}), [[0, 3, 0, 0], [0, 0, 2, 1]]
    )  # C7
    sp = tf.compat.v1.SparseTensorValue([[0, 0], [0, 1], [2, 0]], np.array([1, 3, 0]), [3, 2])
    np.testing.assert_array_equal(ind(i4, {"i": sp}), [[0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0]])  # C8


def test_hash_bucket_vectors():
    h = fc.categorical_column_with_hash_bucket("s", 10)
    out = ind(h, {"s": np.array([["a"], ["b"], ["hello"], [""]], object)})
    np.testing.assert_array_equal(out, onehot([9, 2, 6, None], 10))  # D1
    hi = fc.categorical_column_with_hash_bucket("s", 10, dtype=tf.int64)
    out = ind(hi, {"s": np.array([[1], [22], [-1], [-5]], np.int64)})
    np.testing.assert_array_equal(out, onehot([9, 0, None, 6], 10))  # D2
    assert ind(h, {"s": [["a", "a"]]})[0, 9] == 2.0  # D5


def test_vocabulary_list_vectors():
    v = fc.categorical_column_with_vocabulary_list("v", ["a", "b", "c"])
    out = ind(v, {"v": np.array([["a"], ["c"], ["z"], [""]], object)})
    np.testing.assert_array_equal(out, onehot([0, 2, None, None], 3))  # E1
    v2 = fc.categorical_column_with_vocabulary_list("v", ["a", "b", "c"], num_oov_buckets=2)
    out = ind(v2, {"v": np.array([["a"], ["z"], ["zz"], ["hello"], ["A"]], object)})
    np.testing.assert_array_equal(out, onehot([0, 4, 3, 3, 3], 5))  # E2
    v3 = fc.categorical_column_with_vocabulary_list("v", ["a", "b", "c"], default_value=1)
    np.testing.assert_array_equal(ind(v3, {"v": [["z"], ["c"]]}), onehot([1, 2], 3))  # E3
    vi = fc.categorical_column_with_vocabulary_list("v", [10, 20, 30])
    out = ind(vi, {"v": np.array([[20], [99], [-1], [10]], np.int64)})
    np.testing.assert_array_equal(out, onehot([1, None, None, 0], 3))  # E4
    vo = fc.categorical_column_with_vocabulary_list("v", [10, 20, 30], num_oov_buckets=3)
    out = ind(vo, {"v": np.array([[20], [99], [-7], [-1]], np.int64)})
    np.testing.assert_array_equal(out, onehot([1, 3, 5, None], 6))  # E5
    ve = fc.categorical_column_with_vocabulary_list("v", ["é", "b"])
    np.testing.assert_array_equal(ind(ve, {"v": [["é"], ["e"]]}), [[1, 0], [0, 0]])  # E6
    vm = fc.categorical_column_with_vocabulary_list("v", [-1, 5])
    np.testing.assert_array_equal(ind(vm, {"v": np.array([[-1]], np.int64)}), [[0, 0]])  # E9
    ve = fc.categorical_column_with_vocabulary_list("v", ["", "a"])
    np.testing.assert_array_equal(ind(ve, {"v": np.array([[""]], object)}), [[0, 0]])  # E10
    sp = tf.compat.v1.SparseTensorValue([[0, 0]], np.array([b""], object), [1, 1])
    np.testing.assert_array_equal(ind(ve, {"v": sp}), [[1, 0]])  # E11


def test_vocabulary_file_vectors(tmp_path):
    abc = tmp_path / "abc.txt"
    abc.write_bytes(b"a\nb\nc\n")
    col = lambda path, **kw: fc1.categorical_column_with_vocabulary_file("v", str(path), **kw)  # noqa: E731
    feats = {"v": np.array([["a"], ["c"], ["z"], [""]], object)}
    np.testing.assert_array_equal(ind(col(abc), feats), onehot([0, 2, None, None], 3))  # F1
    out = ind(col(abc, num_oov_buckets=2), {"v": [["a"], ["z"], ["zz"]]})
    np.testing.assert_array_equal(out, onehot([0, 4, 3], 5))  # F2
    np.testing.assert_array_equal(ind(col(abc, vocabulary_size=2), {"v": [["c"]]}), [[0, 0]])  # F3
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"a\r\nb\r\n")
    out = ind(col(crlf), {"v": [["a"], ["b"], ["a\r"]]})
    np.testing.assert_array_equal(out, onehot([0, 1, None], 2))  # F4
    ws = tmp_path / "ws.txt"
    ws.write_bytes(b"a b\n c\nd\t1\nx \n")
    out = ind(col(ws), {"v": [["a b"], [" c"], ["d\t1"], ["d"], ["x "], ["x"]]})
    np.testing.assert_array_equal(out, onehot([0, 1, 2, None, 3, None], 4))  # F6b
    np.testing.assert_array_equal(ind(col(abc, default_value=2), {"v": [["zz"]]}), [[0, 0, 1]])  # F8
    nonl = tmp_path / "nonl.txt"
    nonl.write_bytes(b"a\nb")
    np.testing.assert_array_equal(ind(col(nonl), {"v": [["b"]]}), [[0, 1]])  # F10


def test_weighted_vectors():
    i5 = fc.categorical_column_with_identity("i", 5)
    w = lambda cat: fc.weighted_categorical_column(cat, "w")  # noqa: E731
    out = ind(w(i5), {"i": np.array([[0, 2]]), "w": np.array([[0.5, 2]], f32)})
    np.testing.assert_array_equal(out, [[0.5, 0, 2, 0, 0]])  # G1
    out = ind(w(i5), {"i": np.array([[1, 1]]), "w": np.array([[0.5, 0.25]], f32)})
    np.testing.assert_array_equal(out, [[0, 0.75, 0, 0, 0]])  # G2
    ids = tf.compat.v1.SparseTensorValue([[0, 0], [0, 1], [1, 0]], np.array([1, 4, 0]), [2, 2])
    ws = tf.compat.v1.SparseTensorValue([[0, 0], [0, 1], [1, 0]], np.array([2, 3, 4], f32), [2, 2])
    np.testing.assert_array_equal(ind(w(i5), {"i": ids, "w": ws}), [[0, 2, 0, 0, 3], [4, 0, 0, 0, 0]])  # G5
    out = ind(w(i5), {"i": np.array([[1, 2]]), "w": np.array([[-1, 2]], f32)})
    np.testing.assert_array_equal(out, [[0, -1, 2, 0, 0]])  # G6
    v = fc.categorical_column_with_vocabulary_list("i", ["a", "b", "c"])
    out = ind(w(v), {"i": [["a", "z"]], "w": np.array([[1, 2]], f32)})
    np.testing.assert_array_equal(out, [[1, 0, 0]])  # G7
    out = ind(w(i5), {"i": np.array([[-1, 2]]), "w": np.array([[0.5, 0.0]], f32)})
    np.testing.assert_array_equal(out, [[0, 0, 0.5, 0, 0]])  # G9: positional pairing


# ---------------------------------------------------------------------------
# Crossed vectors.
# ---------------------------------------------------------------------------


def cross_ids(keys, features, buckets=1000, **kw):
    out = ind(fc.crossed_column(keys, buckets, **kw), features)
    return [sorted(np.nonzero(row)[0].tolist()) for row in out]


def test_crossed_vectors():
    a = np.array([["x"], ["y"], [""]], object)
    b = np.array([["p"], ["q"], ["r"]], object)
    assert cross_ids(["a", "b"], {"a": a, "b": b}) == [[452], [692], [278]]  # J1
    assert cross_ids(["a", "b"], {"a": [["x", "y"]], "b": [["p", "q"]]}) == [[216, 452, 692, 734]]  # J2
    sp = tf.compat.v1.SparseTensorValue([[0, 0]], np.array([b"p"], object), [1, 1])
    assert cross_ids(["a", "b"], {"a": [["x"]], "b": sp}) == [[612]]  # J3
    ints = np.array([[3], [-1]], np.int64)
    assert cross_ids(["a", "b"], {"a": ints, "b": [["p"], ["q"]]}) == [[187], [37]]  # J4
    c = fc.categorical_column_with_vocabulary_list("c", ["u", "v"])
    n = fc.bucketized_column(fc.numeric_column("n"), [0, 1])
    feats = {"c": [["v"], ["zz"]], "n": np.array([[0.5], [5.0]], f32), "a": [["x"], ["y"]]}
    assert cross_ids([c, n, "a"], feats) == [[119], [165]]  # J5
    assert fc.crossed_column([c, n, "a"], 10).name == "a_X_c_X_n_bucketized"
    assert cross_ids(["a", "b"], {"a": [["x"]], "b": [["p"]]}, hash_key=7) == [[472]]  # J7
    assert cross_ids(["a", "b"], {"a": [["x"]], "b": [["p"]]}, hash_key=0) == [[452]]  # J8
    assert cross_ids(["a", "b"], {"a": np.array([[-1]], np.int32), "b": [["p"]]}) == [[279]]  # J9
    i = fc.categorical_column_with_identity("i", 10)
    assert cross_ids([i, "b"], {"i": np.array([[-1], [4]]), "b": [["p"], ["p"]]}) == [[], [504]]  # J10
    fl = np.array([[1.7], [-2.5]], f32)
    assert cross_ids(["a", "b"], {"a": fl, "b": [["p"], ["p"]]}) == [[637], [131]]  # J11


def test_crossed_three_keys_multivalent():
    # The reference's product-order example (3 keys, 2x2x1 values per row).
    feats = {
        "a": np.array([["x", "y"], ["z", ""]], object),
        "b": np.array([["p", "q"], ["r", "s"]], object),
        "c": np.array([["u"], ["v"]], object),
    }
    got = cross_ids(["a", "b", "c"], feats)
    assert got == [sorted([281, 150, 9, 571]), sorted([631, 168, 752, 649])]


# ---------------------------------------------------------------------------
# Embedding vectors.
# ---------------------------------------------------------------------------

_E = np.arange(20, dtype=f32).reshape(5, 4) / f32(7)
_IDS = np.array([[0, 1, -1], [2, 2, 4], [-1, -1, -1], [3, -1, -1]])


@pytest.mark.parametrize(
    "combiner, expected",
    [
        ("mean", [[0.2857143, 0.42857143, 0.5714286, 0.71428573], [1.5238097, 1.6666667, 1.8095239, 1.9523809], [0, 0, 0, 0], [1.7142857, 1.8571428, 2, 2.142857]]),
        ("sum", [[0.5714286, 0.85714287, 1.1428572, 1.4285715], [4.571429, 5, 5.4285717, 5.8571424], [0, 0, 0, 0], [1.7142857, 1.8571428, 2, 2.142857]]),
        ("sqrtn", [[0.40406102, 0.6060915, 0.80812204, 1.0101526], [2.6393156, 2.8867512, 3.1341872, 3.3816228], [0, 0, 0, 0], [1.7142857, 1.8571428, 2, 2.142857]]),
    ],
)
def test_embedding_vectors(combiner, expected):
    col = fc.embedding_column(fc.categorical_column_with_identity("i", 5), 4, combiner=combiner)
    out = run([col], {"i": _IDS}, {"i_embedding": _E})
    np.testing.assert_array_equal(out, np.array(expected, f32))


def test_embedding_max_norm_and_weights_vectors():
    col = fc.embedding_column(fc.categorical_column_with_identity("i", 5), 4, max_norm=1.0)
    out = run([col], {"i": np.array([[0, 1], [2, 4]])}, {"i_embedding": _E})
    np.testing.assert_array_equal(
        out,
        np.array([[0.17817417, 0.29414627, 0.4101184, 0.5260905], [0.43718976, 0.4775818, 0.5179739, 0.55836594]], f32),
    )
    wcat = fc.weighted_categorical_column(fc.categorical_column_with_identity("i", 5), "w")
    feats = {"i": np.array([[0, 1], [2, 2], [3, 4]]), "w": np.array([[1, 3], [0.5, 0.5], [-1, 2]], f32)}
    out = run([fc.embedding_column(wcat, 4, combiner="mean")], feats, {"i_weighted_by_w_embedding": _E})
    np.testing.assert_array_equal(
        out[0], np.array([0.42857146, 0.57142854, 0.71428573, 0.85714287], f32)
    )
    out = run([fc.embedding_column(wcat, 4, combiner="sqrtn")], feats, {"i_weighted_by_w_embedding": _E})
    np.testing.assert_array_equal(out[2], np.array([2.2857144, 2.4285715, 2.5714285, 2.7142856], f32))


def test_embedding_of_bucketized_and_pruned_ids():
    n = fc.bucketized_column(fc.numeric_column("x", shape=(2,)), [0, 10])
    table = np.arange(12, dtype=f32).reshape(6, 2)
    out = run([fc.embedding_column(n, 2)], {"x": np.array([[-1, 5], [10, 20]], f32)}, {"x_bucketized_embedding": table})
    np.testing.assert_array_equal(out, [[4, 5], [7, 8]])  # N8
    col = fc.embedding_column(fc.categorical_column_with_identity("i", 5), 4)
    np.testing.assert_array_equal(run([col], {"i": np.array([[-2, 1]])}, {"i_embedding": _E}), _E[1:2])


def test_v1_shared_embedding_layout_and_table_names():
    with tf.Graph().as_default():
        cols = fc1.shared_embedding_columns(
            [fc.categorical_column_with_identity("b", 3), fc.categorical_column_with_identity("a", 3)], 2
        )
    t = featurec.compile(cols)
    assert list(t.layout) == ["a_shared_embedding", "b_shared_embedding"]
    assert t.embedding_tables == {"a_b_shared_embedding": (3, 2)}
    table = np.array([[1, 2], [3, 4], [5, 6]], f32)
    t.set_embedding_table("b_shared_embedding", table)  # any member names the shared table
    out = t({"a": np.array([[0]]), "b": np.array([[2]])})
    np.testing.assert_array_equal(out, [[1, 2, 5, 6]])


def test_mixed_p1_vector():
    age = fc.numeric_column("age")
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"], num_oov_buckets=1)
    tok = fc.categorical_column_with_hash_bucket("tok", 4)
    uid = fc.categorical_column_with_identity("uid", 3)
    cols = [
        fc.numeric_column("price"),
        fc.bucketized_column(age, [18, 65]),
        fc.indicator_column(color),
        fc.indicator_column(tok),
        fc.indicator_column(fc.crossed_column(["color", "tok"], 5)),
        fc.embedding_column(uid, 2, combiner="sqrtn"),
    ]
    feats = {
        "price": [[9.5], [1.25]],
        "age": [[17], [65]],
        "color": [["red"], ["purple"]],
        "tok": [["a", "b"], ["c", ""]],
        "uid": [[0, 2], [1, -1]],
    }
    t = featurec.compile(cols)
    t.set_embedding_table("uid_embedding", np.array([[1, 2], [3, 4], [5, 6]], f32))
    out = t(feats)
    assert t.output_width == 19
    nz0 = {0: 1, 4: 1, 5: 1, 8: 1, 12: 9.5, 15: 1, 16: 1, 17: 4.2426405, 18: 5.656854}
    nz1 = {2: 1, 3: 1, 5: 1, 11: 1, 12: 1.25, 13: 1, 17: 3, 18: 4}
    for row, nz in zip(out, (nz0, nz1)):
        expected = np.zeros(19, f32)
        for k, v in nz.items():
            expected[k] = v
        np.testing.assert_array_equal(row, expected)


def test_flush_to_zero_semantics_of_a_tf_session():
    # Observed with input_layer in a tf.compat.v1 Session (TF 2.21): kernels
    # run with flush-to-zero / denormals-are-zero; a float32 input with no op
    # applied keeps its subnormal.
    x = fc.numeric_column("x")
    out = run([x], {"x": np.array([[1e-40], [-1e-40]])})
    assert out[0, 0] == 0 and out[1, 0] == 0
    assert run([x], {"x": np.array([[1e-45]], f32)})[0, 0] == f32(1e-45)
    out = run([fc.bucketized_column(x, [0.0])], {"x": np.array([[-1e-45], [1e-45]], f32)})
    np.testing.assert_array_equal(out, [[0, 1], [0, 1]])
    clip = fc.numeric_column("x", normalizer_fn=featurec.normalizers.clip(-1, 1))
    assert run([clip], {"x": np.array([[1e-45]], f32)})[0, 0] == 0
    z = fc.numeric_column("x", normalizer_fn=featurec.normalizers.zscore(0.0, 1e10))
    assert run([z], {"x": np.array([[1e-30]], f32)})[0, 0] == 0


def test_integer_vocabulary_file_matches_input_layer(tmp_path):
    path = tmp_path / "ints.txt"
    path.write_bytes(b"10\n-3\n2000000000000\n")
    col = fc.indicator_column(
        fc1.categorical_column_with_vocabulary_file("v", str(path), dtype=tf.int64, num_oov_buckets=2)
    )
    feats = {"v": np.array([[10, -3], [2000000000000, 7], [-1, 99]], np.int64)}
    expected = tf.compat.v1.feature_column.input_layer(feats, [col]).numpy()
    np.testing.assert_array_equal(run([col], feats), expected)
