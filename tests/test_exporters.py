"""`LatestExporter`, `BestExporter`, `FinalExporter`: when they export, what
they keep, and how `train_and_evaluate` drives them."""

import os

import numpy as np
import pytest
import tensorflow as tf

from kerasbridge import export
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.exporter import Exporter
from kerasbridge.exporters import BestExporter
from kerasbridge.exporters import FinalExporter
from kerasbridge.exporters import LatestExporter
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.run_config import RunConfig
from kerasbridge.training import EvalSpec
from kerasbridge.training import TrainSpec
from kerasbridge.training import train_and_evaluate

_X = np.random.RandomState(0).uniform(-1, 1, (16, 2)).astype(np.float32)
_Y = _X @ np.array([[1.0], [-2.0]], np.float32)


def _model_fn(features, labels, mode):
    w = tf.compat.v1.get_variable("w", [2, 1])
    predictions = tf.matmul(features["x"], w)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"y": predictions})
    loss = tf.reduce_mean(tf.square(predictions - labels))
    train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
        loss, tf.compat.v1.train.get_global_step()
    )
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def _input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": _X}, _Y)).batch(8).repeat()


def _eval_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": _X}, _Y)).batch(8)


_RECEIVER_FN = export.build_raw_serving_input_receiver_fn({"x": _X})


def _versions(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


@pytest.fixture(scope="module")
def estimator(tmp_path_factory):
    est = Estimator(
        _model_fn, model_dir=str(tmp_path_factory.mktemp("exporters_model"))
    )
    est.train(_input_fn, steps=3)
    return est


def test_exporters_are_exporters_with_names():
    for exporter in (
        LatestExporter("latest", _RECEIVER_FN),
        BestExporter(serving_input_receiver_fn=_RECEIVER_FN),
        FinalExporter("final", _RECEIVER_FN),
    ):
        assert isinstance(exporter, Exporter)
    assert BestExporter().name == "best_exporter"
    assert LatestExporter("latest", _RECEIVER_FN).name == "latest"


@pytest.mark.parametrize("cls", [LatestExporter, BestExporter])
@pytest.mark.parametrize("exports_to_keep", [0, -1])
def test_exports_to_keep_must_be_positive(cls, exports_to_keep):
    with pytest.raises(
        ValueError, match="`exports_to_keep`, if provided, must be a positive"
    ):
        cls(
            name="e",
            serving_input_receiver_fn=_RECEIVER_FN,
            exports_to_keep=exports_to_keep,
        )


def test_latest_exporter_keeps_the_largest_export_versions(estimator, tmp_path):
    # Older exports (smaller 10-digit versions) and unrelated entries.
    for name in ("0000000001", "0000000002", "0000000003", "temp-0000000004", "notes"):
        (tmp_path / name).mkdir()
    exporter = LatestExporter("latest", _RECEIVER_FN, exports_to_keep=2)
    path = exporter.export(
        estimator, str(tmp_path), estimator.latest_checkpoint(), {"loss": 1.0}, False
    )
    new_version = os.path.basename(os.fsdecode(path))
    assert _versions(tmp_path) == sorted(
        ["0000000003", new_version, "temp-0000000004", "notes"]
    )


def test_latest_exporter_without_gc_keeps_everything(estimator, tmp_path):
    (tmp_path / "0000000001").mkdir()
    LatestExporter("latest", _RECEIVER_FN, exports_to_keep=None).export(
        estimator, str(tmp_path), estimator.latest_checkpoint(), {}, False
    )
    assert len(_versions(tmp_path)) == 2


def test_final_exporter_exports_only_the_final_evaluation(estimator, tmp_path):
    exporter = FinalExporter("final", _RECEIVER_FN)
    assert exporter.export(estimator, str(tmp_path), None, {"loss": 1.0}, False) is None
    assert _versions(tmp_path) == []
    path = exporter.export(estimator, str(tmp_path), None, {"loss": 1.0}, True)
    assert _versions(tmp_path) == [os.path.basename(os.fsdecode(path))]


@pytest.mark.parametrize(
    "compare_fn, message",
    [
        (None, "`compare_fn` must not be None."),
        (lambda current_eval_result: True, "must include best_eval_result argument"),
        (lambda best_eval_result: True, "must include current_eval_result argument"),
        (
            lambda best_eval_result, current_eval_result, margin: True,
            r"has following not expected args: \['margin'\]",
        ),
    ],
)
def test_best_exporter_checks_compare_fn_argument_names(compare_fn, message):
    with pytest.raises(ValueError, match=message):
        BestExporter(serving_input_receiver_fn=_RECEIVER_FN, compare_fn=compare_fn)


def test_best_exporter_exports_only_improvements(estimator, tmp_path):
    exporter = BestExporter(
        serving_input_receiver_fn=_RECEIVER_FN,
        event_file_pattern=None,
        exports_to_keep=None,
    )
    ckpt = estimator.latest_checkpoint()
    assert (
        exporter.export(estimator, str(tmp_path), ckpt, {"loss": 2.0}, False)
        is not None
    )
    assert exporter.export(estimator, str(tmp_path), ckpt, {"loss": 3.0}, False) is None
    assert (
        exporter.export(estimator, str(tmp_path), ckpt, {"loss": 1.0}, False)
        is not None
    )
    assert len(_versions(tmp_path)) == 2


def test_best_exporter_default_compare_fn_needs_a_loss(estimator, tmp_path):
    exporter = BestExporter(
        serving_input_receiver_fn=_RECEIVER_FN, event_file_pattern=None
    )
    exporter.export(estimator, str(tmp_path), None, {"loss": 2.0}, False)
    with pytest.raises(
        ValueError, match="current_eval_result cannot be empty or no loss"
    ):
        exporter.export(estimator, str(tmp_path), None, {"accuracy": 1.0}, False)


def test_best_exporter_reloads_the_best_loss_from_eval_event_files(estimator, tmp_path):
    # evaluate() writes its metrics to <model_dir>/eval/*.tfevents.*.
    metrics = estimator.evaluate(_eval_input_fn)
    loss = float(metrics["loss"])

    # A restarted exporter must not export something worse than what the
    # event files already hold ...
    restarted = BestExporter(serving_input_receiver_fn=_RECEIVER_FN)
    worse = dict(metrics, loss=loss + 1.0)
    assert restarted.export(estimator, str(tmp_path), None, worse, False) is None
    assert _versions(tmp_path) == []
    # ... but does export a result equal to the reloaded best on its first
    # export (the event files are written before exporters run; they hold
    # every metric but global_step), and real gains.
    first = BestExporter(serving_input_receiver_fn=_RECEIVER_FN)
    same = {"loss": metrics["loss"]}
    assert first.export(estimator, str(tmp_path), None, same, False) is not None
    better = dict(metrics, loss=loss / 2)
    assert restarted.export(estimator, str(tmp_path), None, better, False) is not None
    assert len(_versions(tmp_path)) == 2


def test_train_and_evaluate_runs_the_exporters(tmp_path):
    est = Estimator(
        _model_fn,
        model_dir=str(tmp_path / "model"),
        config=RunConfig(save_checkpoints_steps=2, tf_random_seed=3),
    )
    exporters = [
        LatestExporter("latest", _RECEIVER_FN, exports_to_keep=1),
        BestExporter("best", _RECEIVER_FN),
        FinalExporter("final", _RECEIVER_FN),
    ]
    metrics, export_results = train_and_evaluate(
        est,
        TrainSpec(_input_fn, max_steps=4),
        EvalSpec(_eval_input_fn, steps=None, exporters=exporters, throttle_secs=0),
    )
    assert metrics["global_step"] == 4
    export_base = os.path.join(est.model_dir, "export")
    assert sorted(os.listdir(export_base)) == ["best", "final", "latest"]
    assert len(_versions(os.path.join(export_base, "latest"))) == 1
    (final_version,) = _versions(os.path.join(export_base, "final"))
    assert (
        export_results[2] == os.path.join(export_base, "final", final_version).encode()
    )
    # The final export holds the final checkpoint's variables.
    np.testing.assert_array_equal(
        tf.train.load_variable(
            os.path.join(export_base, "final", final_version, "variables", "variables"),
            "w",
        ),
        est.get_variable_value("w"),
    )
