"""Bad labels and arguments: the original's errors, at the original's time.

The label cases and the original's reactions come from
tests/fixtures/heads/make_label_errors.py, run under TF 2.15: labels are fed
through `placeholder_with_default` (values known only at run time, batch size
unknown), as labels from an `input_fn` are.
"""

import json
import pathlib
import re

import numpy as np
import pytest
import tensorflow as tf

from kerasbridge import heads

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "heads"
CASES = json.loads((FIXTURE / "label_errors.json").read_text())

# Deliberate departures (docs/decisions.md, 51): these fail while the graph
# is built with a ValueError naming the problem, where the original failed
# in TF internals (a lookup's TypeError, a run-time string Cast error).
DEPARTURES = {
    "binary_string_labels_no_vocab": (
        "build", "ValueError",
        "Labels dtype should be numeric (0 or 1) when there is no "
        "label_vocabulary. Instead got <dtype: 'string'>"),
    "binary_int_labels_with_vocab": (
        "build", "ValueError",
        "Labels dtype should be string if there is a vocabulary. "
        "Instead got <dtype: 'int64'>"),
}


def _dynamic(value, dtype=None):
    value = np.array(value) if dtype is None else np.array(value, dtype)
    return tf.compat.v1.placeholder_with_default(
        value, shape=[None] + list(value.shape[1:]))


def _labels(labels):
    if labels is None:
        return None
    if isinstance(labels, str) and labels.startswith("sparse"):
        ids = [int(v) for v in labels.split(":")[1].split(",")]
        dtype = np.float32 if labels.startswith("sparsef") else np.int64
        return tf.SparseTensor(
            indices=[[i, 0] for i in range(len(ids))],
            values=_dynamic(ids, dtype),
            dense_shape=[len(ids), 1],
        )
    return _dynamic(labels)


@pytest.fixture(scope="module")
def outcomes():
    """Builds every case in one graph, runs each loss in one session."""
    results, losses = {}, {}
    with tf.Graph().as_default():
        for name, case in CASES.items():
            head = getattr(heads, case["head"])(**case["kwargs"])
            try:
                losses[name] = head.loss(
                    _labels(case["labels"]),
                    _dynamic(case["logits"], np.float32),
                    features={},
                )
            except Exception as e:  # noqa: BLE001 - the outcome under test
                results[name] = ("build", type(e).__name__, str(e))
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.tables_initializer())
            for name, loss in losses.items():
                try:
                    results[name] = ("ok", None, float(sess.run(loss)))
                except tf.errors.OpError as e:
                    results[name] = ("run", type(e).__name__, e.message)
    return results


def _failed_condition(message):
    """The text inside an assertion's first brackets: its message."""
    match = re.search(r"assertion failed: \[(.*?)\]", message)
    return match.group(1) if match else message.split("\n")[0]


@pytest.mark.parametrize("name", sorted(set(CASES) - set(DEPARTURES)))
def test_bad_labels_fail_as_in_original(outcomes, name):
    expected = CASES[name]
    when, error_type, message = outcomes[name]
    assert (when, error_type) == (expected["when"], expected["type"])
    if when == "build":
        assert message.split("\n")[0] == expected["message"]
    else:
        assert _failed_condition(message) == _failed_condition(
            expected["message"])


@pytest.mark.parametrize("name", sorted(DEPARTURES))
def test_bad_label_dtypes_fail_while_building(outcomes, name):
    assert outcomes[name] == DEPARTURES[name]
