"""Every public name of the original tf.estimator resolves after install().

tests/fixtures/original_api/original_api_names.json lists the names of
`tf.estimator` and `tf.compat.v1.estimator` (with their submodules) in TF 2.15
+ tensorflow-estimator 2.15 (make_original_api_names.py wrote it). Each must
resolve after `kb.install()`, or raise an AttributeError/ValueError that says
what to use instead.
"""

import json
import pathlib
import types

import pytest
import tensorflow as tf

import kerasbridge as kb

NAMES = json.loads(
    (
        pathlib.Path(__file__).parent
        / "fixtures"
        / "original_api"
        / "original_api_names.json"
    ).read_text()
)["names"]

def _resolve(path):
    """getattr along `path`; returns (value, None) or (None, error)."""
    parts = path.split(".")
    assert parts[0] == "tf"
    value = tf
    for part in parts[1:]:
        try:
            value = getattr(value, part)
        except (AttributeError, ValueError) as error:
            return None, part, error
    return value, None, None


@pytest.fixture(scope="module", autouse=True)
def installed():
    return kb.install()


def test_the_list_is_the_originals_full_surface():
    # 75 names under tf.estimator, 89 under tf.compat.v1.estimator.
    assert len(NAMES) == 164
    assert "tf.compat.v1.estimator.inputs.numpy_input_fn" in NAMES
    assert "tf.compat.v1.estimator.tpu.TPUEstimator" in NAMES


@pytest.mark.parametrize("path", sorted(NAMES))
def test_name_resolves_or_says_what_to_use(path):
    value, failed_at, error = _resolve(path)
    if error is None:
        kind = NAMES[path]
        if kind == "module":
            assert isinstance(value, types.ModuleType), path
        elif kind == "class":
            assert isinstance(value, type), path
        else:
            assert callable(value), path
        return
    message = str(error)
    assert failed_at in message, message
    assert "instead" in message, message


def test_the_unsupported_names_are_only_these():
    unsupported = set()
    for path in NAMES:
        _, failed_at, error = _resolve(path)
        if error is not None:
            unsupported.add(failed_at)
    assert unsupported == {
        "tpu",
        "LinearSDCA",
        "RNNClassifier",
        "RNNEstimator",
        "KMeans",
    }


def test_names_resolve_to_kerasbridge_objects():
    assert tf.estimator.add_metrics is kb.add_metrics
    assert (
        tf.compat.v1.estimator.inputs.pandas_input_fn
        is kb.inputs.pandas_input_fn
    )
    assert (
        tf.estimator.experimental.build_raw_supervised_input_receiver_fn
        is kb.export.build_raw_supervised_input_receiver_fn
    )
    assert (
        tf.estimator.experimental.InMemoryEvaluatorHook
        is kb.experimental.InMemoryEvaluatorHook
    )


def test_unsupported_names_say_what_to_use():
    with pytest.raises(AttributeError, match="TPUStrategy"):
        tf.compat.v1.estimator.tpu.TPUEstimator  # noqa: B018
    assert not hasattr(tf.estimator.experimental, "LinearSDCA")
    with pytest.raises(AttributeError, match="model_to_estimator"):
        tf.estimator.experimental.RNNClassifier  # noqa: B018
