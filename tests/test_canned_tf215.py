"""model_dirs written by the ORIGINAL canned estimators (TF 2.15) restore in kerasbridge.

tests/fixtures/canned_tf215/make_canned_tf215.py trained them under TF 2.15 and
stored evaluate()/predict() results and checkpoint variables in expected.json. Our
estimators, built with the same arguments, must produce the same numbers (1e-4) from
those checkpoints, create exactly the checkpoint's variables when training (names and
shapes, optimizer slots included), and keep training from them.
"""
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from _canned_helpers import estimator_from_spec, input_fn
from _canned_tf215_data import MODELS, make_data

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "canned_tf215")
with open(os.path.join(FIXTURES, "expected.json")) as f:
    EXPECTED = json.load(f)


@pytest.fixture(scope="module", params=sorted(MODELS))
def restored(request, tmp_path_factory):
    """(name, estimator over a copy of the original's model_dir)."""
    name = request.param
    model_dir = str(tmp_path_factory.mktemp(name) / "model")
    shutil.copytree(os.path.join(FIXTURES, name), model_dir)
    return name, estimator_from_spec(MODELS[name], model_dir)


def test_evaluate_matches_the_original(restored):
    name, est = restored
    spec = MODELS[name]
    data, labels = make_data("eval", spec["task"])
    metrics = est.evaluate(input_fn(data, labels, batch=8))
    expected = EXPECTED[name]["evaluate"]
    assert sorted(metrics) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(metrics[key], value, rtol=1e-4, atol=1e-4, err_msg=key)


def test_predict_matches_the_original(restored):
    name, est = restored
    data, _ = make_data("predict", MODELS[name]["task"])
    preds = list(est.predict(input_fn(data, batch=4)))
    expected = EXPECTED[name]["predict"]
    assert len(preds) == len(expected)
    for got, want in zip(preds, expected):
        assert sorted(got) == sorted(want)
        for key, value in want.items():
            if isinstance(value, list) and value and isinstance(value[0], str):
                assert [v.decode() for v in got[key]] == value, key
            else:
                np.testing.assert_allclose(got[key], value, rtol=1e-4, atol=1e-4, err_msg=key)


def _copy(name, tmp_path):
    model_dir = str(tmp_path / "model")
    shutil.copytree(os.path.join(FIXTURES, name), model_dir)
    return model_dir


@pytest.mark.parametrize(
    "name", sorted(n for n in MODELS if not EXPECTED[n].get("after_5_more_steps")))
def test_training_continues_with_the_checkpoint_variables(name, tmp_path):
    """For models trained with dropout (not repeatable step for step); the others are
    covered more strictly by test_five_more_steps_reach_the_originals_weights."""
    spec = MODELS[name]
    est = estimator_from_spec(spec, _copy(name, tmp_path))
    data, labels = make_data("train", spec["task"])
    before = {n: est.get_variable_value(n) for n in est.get_variable_names()}
    est.train(input_fn(data, labels, batch=16, epochs=10), steps=5)
    after_names = est.get_variable_names()
    # Same variables, same shapes: the default Saver restored every one of them
    # (an extra or renamed variable fails the restore before training).
    assert {n: list(s) for n, s in tf.train.list_variables(est.model_dir)} == \
        EXPECTED[name]["variables"]
    assert set(after_names) == set(before)
    assert est.get_variable_value("global_step") == before["global_step"] + 5
    moved = [n for n in before if n.startswith(("dnn/", "linear/"))
             and not np.array_equal(before[n], est.get_variable_value(n))]
    assert moved, "training from the original's checkpoint changed no weight"


@pytest.mark.parametrize("name", sorted(n for n in MODELS if EXPECTED[n].get("after_5_more_steps")))
def test_five_more_steps_reach_the_originals_weights(name, tmp_path):
    """Our optimizers (Adagrad, Ftrl, Adam, RMSprop, SGD with momentum; dense and
    sparse gradients; both optimizers of wide & deep; batch norm) continue as the
    original's Keras 2 optimizers did: same weights and slots after 5 more steps."""
    spec = MODELS[name]
    est = estimator_from_spec(spec, _copy(name, tmp_path))
    data, labels = make_data("train", spec["task"])
    est.train(input_fn(data, labels, batch=16, epochs=10), steps=5)
    assert {n: list(s) for n, s in tf.train.list_variables(est.model_dir)} == \
        EXPECTED[name]["variables"]
    for var, value in EXPECTED[name]["after_5_more_steps"].items():
        np.testing.assert_allclose(est.get_variable_value(var), value, rtol=1e-4, atol=1e-5,
                                   err_msg=var)
