"""The main job, examples/census_wide_deep.py, run as a user runs it.

One subprocess run (few steps) is shared by every test: it trains the premade
`DNNLinearCombinedClassifier` baseline, then the wide & deep Keras model on
featurec's output through `model_to_estimator`, prints both metric sets side by
side, predicts and exports a raw-feature SavedModel. The tests then
check what it printed, the exported graph, and that the printed
`saved_model_cli run` command answers with the Estimator's predictions.
"""

import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "census_wide_deep.py")
# Ops that call back into Python: a TF server cannot run them.
PYTHON_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc", "NumpyFunction"}
_FLOAT = r"([0-9]*\.[0-9]+)"


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    # The checkout under test, whatever is installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("census")
    proc = subprocess.run(
        [sys.executable, EXAMPLE, "--steps", "60", "--rows", "4000", "--model-dir", str(model_dir)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def _printed_command(stdout):
    lines = [line.strip() for line in stdout.splitlines()]
    commands = [line for line in lines if line.startswith("saved_model_cli run ")]
    assert len(commands) == 1, stdout
    return commands[0]


def _export_dir(stdout):
    match = re.search(r"^SavedModel \(serving signature takes raw features\): (.+)$", stdout, re.M)
    assert match, stdout
    return match.group(1).strip()


def test_prints_accuracy_and_auc_of_a_trained_model(run):
    match = re.search(
        rf"^evaluate: accuracy={_FLOAT} auc={_FLOAT} loss={_FLOAT} global_step=(\d+)",
        run.stdout,
        re.M,
    )
    assert match, run.stdout
    accuracy, auc, loss = (float(match.group(i)) for i in (1, 2, 3))
    assert int(match.group(4)) == 60
    assert 0.0 <= accuracy <= 1.0 and 0.0 <= auc <= 1.0 and loss > 0.0
    # The label depends on the features: even 60 steps rank better than chance.
    assert auc > 0.6


def test_training_logs_step_and_loss_as_it_goes(run):
    steps = [int(s) for s in re.findall(r"loss = [0-9.]+, step = (\d+)", run.stderr)]
    # The premade baseline trains first, then the custom model: each logs from step 0.
    assert steps.count(0) == 2 and steps[:2] == [0, 6], run.stderr[-2000:]


def test_premade_baseline_trains_first_and_learns(run):
    match = re.search(
        rf"^premade: accuracy={_FLOAT} auc={_FLOAT} loss={_FLOAT} global_step=(\d+)",
        run.stdout,
        re.M,
    )
    assert match, run.stdout
    assert run.stdout.index("premade:") < run.stdout.index("evaluate:")
    assert int(match.group(4)) == 60
    assert float(match.group(2)) > 0.6  # ranks better than chance after 60 steps


def test_prints_both_models_side_by_side_with_the_majority_class_accuracy(run):
    rows = {}
    for key in ("accuracy", "auc", "loss", "majority-class accuracy"):
        match = re.search(rf"^{key} +{_FLOAT} +{_FLOAT}$", run.stdout, re.M)
        assert match, run.stdout
        rows[key] = (float(match.group(1)), float(match.group(2)))
    premade = re.search(rf"^premade: accuracy={_FLOAT} auc={_FLOAT}", run.stdout, re.M)
    custom = re.search(rf"^evaluate: accuracy={_FLOAT} auc={_FLOAT}", run.stdout, re.M)
    assert rows["accuracy"] == pytest.approx(
        (float(premade.group(1)), float(custom.group(1))), abs=1e-4
    )
    assert rows["auc"] == pytest.approx((float(premade.group(2)), float(custom.group(2))), abs=1e-4)
    majority = rows["majority-class accuracy"][0]
    # The synthetic label is positive about a fifth of the time.
    assert 0.7 < majority < 0.9 and rows["majority-class accuracy"][1] == majority


def test_predicts_probabilities_for_raw_rows(run):
    probs = [float(p) for p in re.findall(r"-> P\(income>50K\)=" + _FLOAT, run.stdout)]
    assert len(probs) == 5
    assert all(0.0 < p < 1.0 for p in probs)
    assert "education=" in run.stdout and "native_country=" in run.stdout


def test_export_has_no_python_ops(run):
    export_dir = _export_dir(run.stdout)
    assert os.path.isfile(os.path.join(export_dir, "saved_model.pb"))
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    ops = set()
    for meta in saved.meta_graphs:
        ops.update(node.op for node in meta.graph_def.node)
        for fn in meta.graph_def.library.function:
            ops.update(node.op for node in fn.node_def)
    assert ops, "empty graph"
    assert not ops & PYTHON_OPS, sorted(ops & PYTHON_OPS)
    # The receiver lowered featurec to TF ops: vocabulary tables and hashing.
    assert {"HashTableV2", "StringToHashBucketFast"} <= ops, sorted(ops)


def test_signature_takes_raw_features(run):
    loaded = tf.saved_model.load(_export_dir(run.stdout))
    signature = loaded.signatures["serving_default"]
    _, inputs = signature.structured_input_signature
    assert {k: v.dtype for k, v in inputs.items()} == {
        "age": tf.int64,
        "hours_per_week": tf.float32,
        "education": tf.string,
        "occupation": tf.string,
        "marital_status": tf.string,
        "native_country": tf.string,
    }


def test_printed_saved_model_cli_command_answers_with_the_estimators_predictions(run):
    argv = shlex.split(_printed_command(run.stdout))
    # saved_model_cli ships with TensorFlow, next to this Python.
    argv[0] = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    proc = subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    match = re.search(r"Result for output key income_over_50k:\s*(\[\[.*?\]\])", proc.stdout, re.S)
    assert match, proc.stdout
    served = np.array([float(x) for x in re.findall(r"[0-9.e+-]+", match.group(1))])
    printed = [float(p) for p in re.findall(r"-> P\(income>50K\)=" + _FLOAT, run.stdout)]
    # est.predict ran featurec's numba kernels; the SavedModel runs the TF
    # lowering of the same plan. Printed with 4 decimals.
    np.testing.assert_allclose(served, printed[:2], atol=1e-4)
