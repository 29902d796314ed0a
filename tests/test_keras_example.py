"""examples/keras_to_estimator.py end to end (fewer steps than its default)."""

import importlib.util
import os
import re
import shlex
import subprocess
import sys

import numpy as np

EXAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "examples",
    "keras_to_estimator.py",
)


def _load():
    spec = importlib.util.spec_from_file_location("keras_to_estimator", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_trains_evaluates_predicts_and_round_trips(tmp_path, capsys):
    metrics, predictions, round_trip_error, structured = _load().main(
        [
            "--steps", "150",
            "--model-dir", str(tmp_path),
            "--feature-space-model-dir", str(tmp_path / "feature_space"),
        ]
    )
    assert metrics["global_step"] == 150
    assert metrics["accuracy"] > 0.6  # three classes: chance is 1/3
    assert len(predictions) == 500
    assert set(predictions[0]) == {"species"}
    assert predictions[0]["species"].dtype == np.float32
    assert round_trip_error < 1e-5
    assert (tmp_path / "keras" / "keras_model.ckpt.index").exists()
    out = capsys.readouterr().out
    assert "evaluate: loss=" in out
    # The FeatureSpace model: Keras' answers before training, learns, and its
    # SavedModel serves raw rows (strings included) as predict() answers them.
    assert structured["before_training_error"] < 1e-5
    assert structured["metrics"]["accuracy"] > 0.8
    assert structured["metrics"]["global_step"] == 150
    assert structured["served"].shape == (3,)
    np.testing.assert_allclose(structured["served"], structured["predicted"], atol=1e-5)
    assert "served {'age': 34.0" in out
    # A serving request from the command line: raw strings, ints and floats.
    argv = shlex.split(structured["cli_command"])
    argv[0] = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    match = re.search(r"Result for output key bought:\s*(\[\[.*?\]\])", proc.stdout, re.S)
    assert match, proc.stdout
    served = [float(x) for x in re.findall(r"[0-9.e+-]+", match.group(1))]
    np.testing.assert_allclose(served, structured["served"], atol=1e-5)
