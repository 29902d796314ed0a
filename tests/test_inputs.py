"""`numpy_input_fn` / `pandas_input_fn` against numbers measured on the original.

tests/fixtures/original_inputs/original_inputs.json was written by
make_original_inputs.py with TF 2.15 + tensorflow-estimator 2.15: batch sizes
(the short last batch, epochs ending the input, None repeating forever),
values, dtypes, shuffling and error messages.
"""

import json
import pathlib

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import kerasbridge as kb
from kerasbridge.inputs import numpy_input_fn
from kerasbridge.inputs import pandas_input_fn

ORIGINAL = json.loads(
    (
        pathlib.Path(__file__).parent
        / "fixtures"
        / "original_inputs"
        / "original_inputs.json"
    ).read_text()
)

A = np.arange(10, dtype=np.float32)
B = np.arange(20, dtype=np.int64).reshape(10, 2)
X = {"a": A, "b": B}
Y = np.arange(10, dtype=np.int32) * 10
FRAME = pd.DataFrame(
    {
        "age": np.arange(7, dtype=np.int64),
        "height": np.arange(7, dtype=np.float64) / 2,
    },
    index=np.arange(100, 107),
)
TARGET = pd.Series(np.arange(7, dtype=np.int64) * 3, index=FRAME.index)


def _run_in_graph(input_fn, max_batches=50):
    """Runs input_fn as an Estimator would: in a graph, until OutOfRange."""
    with tf.Graph().as_default():
        result = input_fn()
        batches = []
        with tf.compat.v1.Session() as session:
            while len(batches) < max_batches:
                try:
                    batches.append(session.run(result))
                except tf.errors.OutOfRangeError:
                    break
    return result, batches


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    value = np.asarray(value)
    if value.dtype.kind in "SO":
        return [v.decode() for v in value.tolist()]
    return value.tolist()


def _dtypes(value):
    if isinstance(value, dict):
        return {k: v.dtype.name for k, v in sorted(value.items())}
    return value.dtype.name


def _size(batch):
    first = batch[0] if isinstance(batch, tuple) else batch
    if isinstance(first, dict):
        first = next(iter(first.values()))
    return len(first)


def _assert_matches_original(input_fn, expected, max_batches=50):
    result, batches = _run_in_graph(input_fn, max_batches)
    assert [_size(b) for b in batches] == expected["sizes"]
    plain = [
        [_plain(p) for p in b] if isinstance(b, tuple) else _plain(b)
        for b in batches
    ]
    assert plain == expected["batches"]
    dtypes = (
        [_dtypes(r) for r in result]
        if isinstance(result, tuple)
        else _dtypes(result)
    )
    assert json.loads(json.dumps(dtypes)) == expected["dtypes"]


NUMPY_CASES = {
    "batch4_epochs1": lambda: numpy_input_fn(
        X, Y, batch_size=4, num_epochs=1, shuffle=False
    ),
    "batch4_epochs2": lambda: numpy_input_fn(
        X, Y, batch_size=4, num_epochs=2, shuffle=False
    ),
    "batch3_forever": lambda: numpy_input_fn(
        X, Y, batch_size=3, num_epochs=None, shuffle=False
    ),
    "batch_larger_than_data": lambda: numpy_input_fn(
        X, Y, batch_size=25, num_epochs=2, shuffle=False
    ),
    "array_x_no_y": lambda: numpy_input_fn(
        B, batch_size=4, num_epochs=1, shuffle=False
    ),
    "dict_y": lambda: numpy_input_fn(
        {"a": A},
        {"y1": Y, "y2": A * 2},
        batch_size=6,
        num_epochs=1,
        shuffle=False,
    ),
}


@pytest.mark.parametrize("case", sorted(NUMPY_CASES))
def test_numpy_input_fn_batches_match_the_original(case):
    expected = ORIGINAL["numpy"][case]
    _assert_matches_original(
        NUMPY_CASES[case](), expected, max_batches=len(expected["sizes"])
    )


PANDAS_CASES = {
    "batch3_epochs1": lambda: pandas_input_fn(
        FRAME, TARGET, batch_size=3, num_epochs=1, shuffle=False
    ),
    "batch3_epochs2": lambda: pandas_input_fn(
        FRAME, TARGET, batch_size=3, num_epochs=2, shuffle=False
    ),
    "no_y": lambda: pandas_input_fn(
        FRAME, batch_size=4, num_epochs=1, shuffle=False
    ),
    "frame_y": lambda: pandas_input_fn(
        FRAME[["age"]],
        pd.DataFrame({"t1": TARGET, "age": TARGET * 2}),
        batch_size=4,
        num_epochs=1,
        shuffle=False,
    ),
}


@pytest.mark.parametrize("case", sorted(PANDAS_CASES))
def test_pandas_input_fn_batches_match_the_original(case):
    _assert_matches_original(PANDAS_CASES[case](), ORIGINAL["pandas"][case])


def _check_shuffled(input_fn, key, label_factor, expected):
    _, batches = _run_in_graph(input_fn)
    rows = np.concatenate([b[0][key] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    assert [_size(b) for b in batches] == expected["sizes"]
    assert sorted(rows.tolist()) == expected["sorted_rows"]
    assert np.all(labels == rows * label_factor) == expected["labels_paired"]
    assert bool(np.any(rows != np.sort(rows))) == expected["order_differs"]


@pytest.mark.parametrize(
    "case, make",
    [
        (
            "shuffle_epochs1",
            lambda: numpy_input_fn(
                {"a": A}, A * 10, batch_size=4, num_epochs=1, shuffle=True
            ),
        ),
        (
            "shuffle_epochs3",
            lambda: numpy_input_fn(
                {"a": A}, A * 10, batch_size=4, num_epochs=3, shuffle=True
            ),
        ),
    ],
)
def test_numpy_shuffle_keeps_rows_and_labels_paired(case, make):
    tf.compat.v1.set_random_seed(0)
    _check_shuffled(make(), "a", 10, ORIGINAL["numpy"][case])


@pytest.mark.parametrize(
    "case, make",
    [
        (
            "shuffle_epochs2",
            lambda: pandas_input_fn(
                FRAME,
                FRAME["age"] * 3,
                batch_size=3,
                num_epochs=2,
                shuffle=True,
            ),
        ),
        (
            "shuffle_capacity_none",
            lambda: pandas_input_fn(
                FRAME,
                FRAME["age"] * 3,
                batch_size=2,
                num_epochs=1,
                shuffle=True,
                queue_capacity=None,
            ),
        ),
    ],
)
def test_pandas_shuffle_keeps_rows_and_labels_paired(case, make):
    _check_shuffled(make(), "age", 3, ORIGINAL["pandas"][case])


def test_shuffle_off_reads_in_order_and_on_differs_across_runs():
    ordered = numpy_input_fn({"a": A}, batch_size=10, shuffle=False)
    assert _run_in_graph(ordered)[1][0]["a"].tolist() == A.tolist()
    shuffled = numpy_input_fn({"a": A}, batch_size=10, shuffle=True)
    orders = {tuple(_run_in_graph(shuffled)[1][0]["a"]) for _ in range(3)}
    assert len(orders) > 1


def _error_of(make):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    return {"type": info.type.__name__, "message": str(info.value)}


def test_numpy_errors_match_the_original():
    expected = ORIGINAL["numpy"]["errors"]
    makes = {
        "shuffle_missing": lambda: numpy_input_fn(X, Y),
        "length_mismatch": lambda: numpy_input_fn(X, Y[:5], shuffle=False)(),
        "duplicate_keys": lambda: numpy_input_fn(
            X, {"a": Y}, shuffle=False
        )(),
        "x_not_array": lambda: numpy_input_fn([1, 2], shuffle=False)(),
        "empty_dict": lambda: numpy_input_fn({}, shuffle=False)(),
    }
    for name, make in makes.items():
        assert _error_of(make) == expected[name], name


def test_pandas_errors_match_the_original():
    expected = ORIGINAL["pandas"]["errors"]
    makes = {
        "shuffle_missing": lambda: pandas_input_fn(FRAME, TARGET),
        "target_column_type": lambda: pandas_input_fn(
            FRAME, TARGET, shuffle=False, target_column=3
        ),
        "target_column_taken": lambda: pandas_input_fn(
            FRAME, TARGET, shuffle=False, target_column="age"
        ),
        "index_mismatch": lambda: pandas_input_fn(
            FRAME, TARGET.reset_index(drop=True), shuffle=False
        ),
    }
    for name, make in makes.items():
        assert _error_of(make) == expected[name], name


def test_numeric_arguments_are_checked_by_name():
    with pytest.raises(TypeError, match="batch_size"):
        numpy_input_fn(X, batch_size="4", shuffle=False)
    with pytest.raises(ValueError, match="num_epochs"):
        pandas_input_fn(FRAME, num_epochs=0, shuffle=False)


def test_pandas_string_columns_become_string_features():
    frame = pd.DataFrame({"city": ["a", "bb", "c"], "n": [1.0, 2.0, 3.0]})
    _, batches = _run_in_graph(
        pandas_input_fn(frame, frame["n"], batch_size=2, shuffle=False)
    )
    assert batches[0][0]["city"].tolist() == [b"a", b"bb"]
    assert batches[1][1].tolist() == [3.0]
    with pytest.raises(ValueError, match="'city'"):
        pandas_input_fn(
            pd.DataFrame({"city": ["a", None]}), batch_size=2, shuffle=False
        )


def test_pandas_nullable_and_categorical_columns():
    frame = pd.DataFrame(
        {
            "n": pd.array([1, 2, 3], dtype="Int64"),
            "m": pd.array([1, None, 3], dtype="Int64"),
            "flag": pd.array([True, False, True], dtype="boolean"),
            "cat": pd.Categorical(["x", "y", "x"]),
        }
    )
    _, batches = _run_in_graph(pandas_input_fn(frame, batch_size=3, shuffle=False))
    (batch,) = batches
    assert batch["n"].dtype == np.int64 and batch["n"].tolist() == [1, 2, 3]
    assert np.isnan(batch["m"][1]) and batch["m"][2] == 3.0
    assert batch["flag"].tolist() == [True, False, True]
    assert batch["cat"].tolist() == [b"x", b"y", b"x"]
    with pytest.raises(TypeError, match="'when'"):
        pandas_input_fn(
            pd.DataFrame({"when": pd.to_datetime(["2024-01-01"])}), shuffle=False
        )


def test_eager_call_returns_a_dataset():
    dataset = numpy_input_fn(X, Y, batch_size=4, shuffle=False)()
    assert isinstance(dataset, tf.data.Dataset)
    assert [len(labels) for _, labels in dataset] == [4, 4, 2]


def test_estimator_trains_until_the_epochs_run_out(tmp_path):
    def model_fn(features, labels, mode):
        weight = tf.compat.v1.get_variable("w", initializer=0.0)
        loss = tf.reduce_mean(tf.square(features["a"] * weight - labels))
        train_op = tf.compat.v1.train.GradientDescentOptimizer(0.001).minimize(
            loss, global_step=tf.compat.v1.train.get_global_step()
        )
        return kb.EstimatorSpec(mode, loss=loss, train_op=train_op)

    est = kb.Estimator(model_fn, model_dir=str(tmp_path))
    est.train(
        numpy_input_fn(
            {"a": A}, A * 2, batch_size=4, num_epochs=2, shuffle=True
        )
    )
    # 20 rows in batches of 4: the input ends after 5 steps.
    assert est.get_variable_value("global_step") == 5
