"""`Estimator.export_saved_model`: the SavedModel on disk, and serving it.

One tiny estimator is trained once per module; its exports are loaded in a
fresh process (TF2 `tf.saved_model.load`) and through TensorFlow's own
`saved_model_cli`, and must answer exactly as `Estimator.predict`.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.tools import saved_model_utils

from kerasbridge import export
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.predictor import Predictor
from kerasbridge.run_config import RunConfig

_X = np.random.RandomState(0).uniform(-1, 1, (32, 2)).astype(np.float32)
_COLOR = np.array(["red", "blue", "green", "red"] * 8)
_Y = (_X.sum(1, keepdims=True) + (_COLOR == "red")[:, None] > 0.5).astype(np.float32)
_FEATURE_SPEC = {
    "x": tf.io.FixedLenFeature([2], tf.float32),
    "color": tf.io.FixedLenFeature([], tf.string),
}
_SERVING_ROWS = 5


def _model_fn(features, labels, mode, params):
    """Logistic regression on a dense pair and a string feature."""
    x = features["x"]
    is_red = tf.cast(tf.equal(features["color"], "red"), tf.float32)[:, None]
    w = tf.compat.v1.get_variable("w", [2, 1])
    w_red = tf.compat.v1.get_variable("w_red", [1, 1])
    b = tf.compat.v1.get_variable(
        "b", [1], initializer=tf.compat.v1.zeros_initializer()
    )
    if params.get("extra_variable"):
        tf.compat.v1.get_variable("not_in_checkpoint", [1])
    logits = tf.matmul(x, w) + tf.matmul(is_red, w_red) + b
    probabilities = tf.sigmoid(logits)
    predictions = {
        "logits": logits,
        "probabilities": probabilities,
        "class_ids": tf.cast(probabilities > 0.5, tf.int64),
    }
    export_outputs = None
    if params.get("multi_signature"):
        export_outputs = {
            "serving_default": export.PredictOutput(predictions),
            "classify": export.ClassificationOutput(
                scores=tf.concat([1 - probabilities, probabilities], axis=1)
            ),
            "regress": export.RegressionOutput(value=logits[:, 0]),
        }
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(
            mode, predictions=predictions, export_outputs=export_outputs
        )
    loss = tf.compat.v1.losses.sigmoid_cross_entropy(labels, logits)
    train_op = tf.compat.v1.train.GradientDescentOptimizer(0.5).minimize(
        loss, tf.compat.v1.train.get_global_step()
    )
    return EstimatorSpec(mode, loss=loss, train_op=train_op, predictions=predictions)


def _tensor_model_fn(features, labels, mode):
    """The same model, fed one `x` tensor (for `TensorServingInputReceiver`)."""
    color = tf.fill(tf.shape(features)[:1], "blue")
    return _model_fn({"x": features, "color": color}, labels, mode, {})


def _train_input_fn():
    return (
        tf.data.Dataset.from_tensor_slices(({"x": _X, "color": _COLOR}, _Y))
        .batch(8)
        .repeat()
    )


def _serving_features():
    rng = np.random.RandomState(1)
    return {
        "x": rng.uniform(-2, 2, (_SERVING_ROWS, 2)).astype(np.float32),
        "color": np.array(["red", "blue", "red", "green", "blue"]),
    }


def _predict(estimator, features):
    """`Estimator.predict` on one batch, as a dict of arrays."""
    rows = len(next(iter(features.values())))
    (batch,) = estimator.predict(
        lambda: tf.data.Dataset.from_tensor_slices(features).batch(rows),
        yield_single_examples=False,
    )
    return batch


def _serialized_examples(features):
    examples = []
    for x, color in zip(features["x"], features["color"], strict=True):
        feature = {
            "x": tf.train.Feature(float_list=tf.train.FloatList(value=x)),
            "color": tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[color.encode()])
            ),
        }
        examples.append(
            tf.train.Example(
                features=tf.train.Features(feature=feature)
            ).SerializeToString()
        )
    return examples


def _raw_receiver_fn():
    return export.build_raw_serving_input_receiver_fn(
        {"x": _X, "color": tf.TensorSpec([None], tf.string)}
    )


@pytest.fixture(scope="module")
def estimator(tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("export_model"))
    est = Estimator(_model_fn, model_dir=model_dir, config=RunConfig(tf_random_seed=7))
    est.train(_train_input_fn, steps=6)
    return est


@pytest.fixture(scope="module")
def exports(estimator, tmp_path_factory):
    """The same checkpoint exported with each kind of receiver."""
    base = tmp_path_factory.mktemp("exports")
    tensor_estimator = Estimator(_tensor_model_fn, model_dir=estimator.model_dir)

    def tensor_receiver_fn():
        placeholder = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
        return export.TensorServingInputReceiver(placeholder, {"x": placeholder})

    return {
        "raw": estimator.export_saved_model(str(base / "raw"), _raw_receiver_fn()),
        "parsing": Estimator(
            _model_fn, model_dir=estimator.model_dir, params={"multi_signature": True}
        ).export_saved_model(
            str(base / "parsing"),
            export.build_parsing_serving_input_receiver_fn(_FEATURE_SPEC),
        ),
        "tensor": tensor_estimator.export_saved_model(
            str(base / "tensor"), tensor_receiver_fn
        ),
    }


def test_export_writes_a_complete_savedmodel_in_a_timestamped_dir(estimator, exports):
    path = exports["raw"]
    assert isinstance(path, bytes)
    base, name = os.path.split(os.fsdecode(path))
    assert re.fullmatch(r"\d{10}", name)
    assert abs(int(name) - time.time()) < 3600
    assert os.listdir(base) == [name]  # No temp-<timestamp> dir left over.
    assert os.path.isfile(os.path.join(path, b"saved_model.pb"))
    # The variables are the checkpoint's.
    variables = os.path.join(os.fsdecode(path), "variables", "variables")
    np.testing.assert_array_equal(
        tf.train.load_variable(variables, "w"),
        estimator.get_variable_value("w"),
    )


def test_exports_never_overwrite_an_earlier_export(estimator, tmp_path):
    first = estimator.export_saved_model(str(tmp_path), _raw_receiver_fn())
    with open(os.path.join(first, b"saved_model.pb"), "rb") as f:
        first_bytes = f.read()
    second = estimator.export_saved_model(str(tmp_path), _raw_receiver_fn())
    assert first != second
    assert sorted(os.listdir(tmp_path)) == sorted(
        os.path.basename(os.fsdecode(p)) for p in (first, second)
    )
    with open(os.path.join(first, b"saved_model.pb"), "rb") as f:
        assert f.read() == first_bytes


def test_export_without_a_checkpoint_says_to_train_first(tmp_path):
    untrained = Estimator(_model_fn, model_dir=str(tmp_path / "empty"))
    with pytest.raises(ValueError, match=r"Couldn't find trained model at .*[Tt]rain"):
        untrained.export_saved_model(str(tmp_path / "export"), _raw_receiver_fn())
    assert not os.path.exists(tmp_path / "export") or not os.listdir(
        tmp_path / "export"
    )


def test_export_requires_a_serving_input_receiver_fn(estimator, tmp_path):
    with pytest.raises(ValueError, match="An input_receiver_fn must be defined."):
        estimator.export_saved_model(str(tmp_path), None)


def test_export_of_variables_missing_from_the_checkpoint_fails_cleanly(
    estimator, tmp_path
):
    changed = Estimator(
        _model_fn, model_dir=estimator.model_dir, params={"extra_variable": True}
    )
    with pytest.raises(ValueError, match="Could not load all requested variables"):
        changed.export_saved_model(str(tmp_path), _raw_receiver_fn())
    assert os.listdir(tmp_path) == []  # Neither an export nor its temp dir.


def test_export_of_a_given_checkpoint_path(estimator, tmp_path):
    first_checkpoint = tf.train.get_checkpoint_state(
        estimator.model_dir
    ).all_model_checkpoint_paths[0]
    assert first_checkpoint != estimator.latest_checkpoint()
    path = estimator.export_saved_model(
        str(tmp_path), _raw_receiver_fn(), checkpoint_path=first_checkpoint
    )
    np.testing.assert_array_equal(
        tf.train.load_variable(
            os.path.join(os.fsdecode(path), "variables", "variables"), "w"
        ),
        tf.train.load_variable(first_checkpoint, "w"),
    )


def test_export_falls_back_to_the_warm_start_checkpoint(estimator, tmp_path):
    warm = Estimator(
        _model_fn,
        model_dir=str(tmp_path / "fresh"),
        warm_start_from=estimator.model_dir,
    )
    path = warm.export_saved_model(str(tmp_path / "export"), _raw_receiver_fn())
    np.testing.assert_array_equal(
        tf.train.load_variable(
            os.path.join(os.fsdecode(path), "variables", "variables"), "w"
        ),
        estimator.get_variable_value("w"),
    )


def test_export_copies_assets_extra_and_can_write_text(estimator, tmp_path):
    source = tmp_path / "vocab.txt"
    source.write_text("red\nblue\n")
    path = os.fsdecode(
        estimator.export_saved_model(
            str(tmp_path / "export"),
            _raw_receiver_fn(),
            assets_extra={"vocabs/colors.txt": str(source)},
            as_text=True,
        )
    )
    with open(os.path.join(path, "assets.extra", "vocabs", "colors.txt")) as f:
        assert f.read() == "red\nblue\n"
    assert os.path.isfile(os.path.join(path, "saved_model.pbtxt"))


def test_export_outputs_become_named_signatures(exports):
    meta_graph = saved_model_utils.get_meta_graph_def(
        os.fsdecode(exports["parsing"]), "serve"
    )
    methods = {k: v.method_name for k, v in meta_graph.signature_def.items()}
    assert methods == {
        "serving_default": "tensorflow/serving/predict",
        "classify": "tensorflow/serving/classify",
        "regress": "tensorflow/serving/regress",
    }
    assert set(meta_graph.signature_def["serving_default"].inputs) == {"examples"}


def test_experimental_mode_eval_exports_the_eval_graph(estimator, tmp_path):
    receiver_fn = export.build_raw_supervised_input_receiver_fn(
        {"x": _X, "color": tf.TensorSpec([None], tf.string)},
        tf.TensorSpec([None, 1], tf.float32),
    )
    path = estimator.export_saved_model(
        str(tmp_path), receiver_fn, experimental_mode=ModeKeys.EVAL
    )
    meta_graph = saved_model_utils.get_meta_graph_def(os.fsdecode(path), "eval")
    signature = meta_graph.signature_def["eval"]
    assert set(signature.inputs) == {"x", "color", "label"}
    assert "loss" in signature.outputs


_SERVE_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    args = json.loads(sys.argv[1])
    feats = {k: np.array(v) for k, v in args["features"].items()}
    x = tf.constant(feats["x"], tf.float32)
    color = tf.constant(feats["color"].astype(bytes))
    out = {}

    def run(name, fn, **kwargs):
        out[name] = {k: v.numpy().tolist() for k, v in fn(**kwargs).items()}

    raw = tf.saved_model.load(args["raw"]).signatures["serving_default"]
    run("raw", raw, x=x, color=color)
    parsing = tf.saved_model.load(args["parsing"]).signatures["serving_default"]
    examples = tf.constant([e.encode("latin-1") for e in args["examples"]])
    run("parsing", parsing, examples=examples)
    tensor = tf.saved_model.load(args["tensor"]).signatures["serving_default"]
    run("tensor", tensor, x=x)

    # Bad requests must raise TF's error and leave the process serving.
    errors = {}
    for case, kwargs in [
        ("missing_feature", dict(x=x)),
        ("wrong_dtype", dict(x=tf.constant([["a", "b"]]), color=color)),
    ]:
        try:
            raw(**kwargs)
            errors[case] = None
        except Exception as e:
            errors[case] = [type(e).__name__, str(e)]
    out["errors"] = errors
    run("after_errors", raw, x=x, color=color)
    print("RESULT " + json.dumps(out))
    """)


@pytest.fixture(scope="module")
def served(exports, tmp_path_factory):
    """Runs the fresh-process loader and the CLI concurrently, once."""
    features = _serving_features()
    workdir = tmp_path_factory.mktemp("served")
    script = workdir / "serve.py"
    script.write_text(_SERVE_SCRIPT)
    args = {
        "raw": os.fsdecode(exports["raw"]),
        "parsing": os.fsdecode(exports["parsing"]),
        "tensor": os.fsdecode(exports["tensor"]),
        "features": {k: v.tolist() for k, v in features.items()},
        "examples": [e.decode("latin-1") for e in _serialized_examples(features)],
    }
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    x_expr = json.dumps(features["x"].tolist())
    color_expr = repr([str(c) for c in features["color"]])
    examples_expr = repr(
        [
            {"x": row.tolist(), "color": [str(c)]}
            for row, c in zip(features["x"], features["color"], strict=True)
        ]
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")

    def cli_run(export_dir, inputs, outdir):
        flags = "--tag_set serve --signature_def serving_default".split()
        out = ["--outdir", str(workdir / outdir)]
        return [cli, "run", "--dir", export_dir, *flags, *inputs, *out]

    commands = {
        "python": [sys.executable, str(script), json.dumps(args)],
        "show": [cli, "show", "--all", "--dir", args["raw"]],
        "run_raw": cli_run(
            args["raw"], ["--input_exprs", f"x={x_expr};color={color_expr}"], "raw_out"
        ),
        "run_parsing": cli_run(
            args["parsing"],
            ["--input_examples", f"examples={examples_expr}"],
            "parsing_out",
        ),
    }
    procs = {
        name: subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for name, cmd in commands.items()
    }
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name} failed:\n{stderr[-3000:]}"
        results[name] = stdout
    (line,) = [s for s in results["python"].splitlines() if s.startswith("RESULT ")]
    results["python"] = json.loads(line[len("RESULT ") :])
    results["outdir"] = workdir
    return results


def _assert_same_predictions(got, expected):
    assert set(got) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(np.asarray(got[key]), value, rtol=1e-6, atol=1e-7)


def test_exports_answer_like_predict_in_a_fresh_process(estimator, served):
    features = _serving_features()
    expected = _predict(estimator, features)
    _assert_same_predictions(served["python"]["raw"], expected)
    _assert_same_predictions(served["python"]["parsing"], expected)
    blue = dict(features, color=np.array(["blue"] * _SERVING_ROWS))
    _assert_same_predictions(served["python"]["tensor"], _predict(estimator, blue))


def test_bad_serving_requests_get_tf_errors_and_the_server_keeps_serving(
    estimator, served
):
    errors = served["python"]["errors"]
    missing_type, missing_message = errors["missing_feature"]
    assert missing_type == "TypeError" and "color" in missing_message
    dtype_type, dtype_message = errors["wrong_dtype"]
    assert dtype_type == "InvalidArgumentError" and "float" in dtype_message
    _assert_same_predictions(
        served["python"]["after_errors"], _predict(estimator, _serving_features())
    )


def test_saved_model_cli_shows_the_serving_signature(served):
    shown = served["show"]
    assert "signature_def['serving_default']" in shown
    for name in (
        "inputs['x']",
        "inputs['color']",
        "outputs['probabilities']",
        "outputs['class_ids']",
    ):
        assert name in shown
    assert "tensorflow/serving/predict" in shown


def test_saved_model_cli_run_answers_like_predict(estimator, served):
    expected = _predict(estimator, _serving_features())
    for outdir in ("raw_out", "parsing_out"):
        got = {
            key: np.load(served["outdir"] / outdir / f"{key}.npy") for key in expected
        }
        _assert_same_predictions(got, expected)


def test_one_savedmodel_can_hold_train_and_predict_graphs(estimator, tmp_path):
    supervised_fn = export.build_raw_supervised_input_receiver_fn(
        {"x": _X, "color": tf.TensorSpec([None], tf.string)},
        tf.TensorSpec([None, 1], tf.float32),
    )
    path = os.fsdecode(
        estimator.experimental_export_all_saved_models(
            str(tmp_path),
            {ModeKeys.TRAIN: supervised_fn, ModeKeys.PREDICT: _raw_receiver_fn()},
        )
    )
    train_graph = saved_model_utils.get_meta_graph_def(path, "train")
    assert "loss" in train_graph.signature_def["train"].outputs
    serve_graph = saved_model_utils.get_meta_graph_def(path, "serve")
    assert set(serve_graph.signature_def["serving_default"].inputs) == {"x", "color"}
    with pytest.raises(ValueError, match="No valid modes for exporting found"):
        estimator.experimental_export_all_saved_models(str(tmp_path), {"bogus": 1})


def test_vocabulary_files_travel_with_the_export_as_assets(tmp_path):
    vocab = tmp_path / "colors.txt"
    vocab.write_text("red\nblue\ngreen\n")
    column = tf.feature_column.indicator_column(
        tf.feature_column.categorical_column_with_vocabulary_file("color", str(vocab))
    )

    def vocab_model_fn(features, labels, mode):
        net = tf.compat.v1.feature_column.input_layer(features, [column])
        logits = tf.matmul(net, tf.compat.v1.get_variable("w", [3, 1]))
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions={"logits": logits})
        loss = tf.reduce_mean(tf.square(logits - labels))
        train_op = tf.compat.v1.train.GradientDescentOptimizer(0.5).minimize(
            loss, tf.compat.v1.train.get_global_step()
        )
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    colors = np.array(["red", "blue", "green", "purple"])
    labels = np.array([[1.0], [2.0], [3.0], [0.0]], np.float32)
    est = Estimator(vocab_model_fn, model_dir=str(tmp_path / "model"))
    est.train(
        lambda: tf.data.Dataset.from_tensor_slices(({"color": colors}, labels))
        .batch(4)
        .repeat(),
        steps=3,
    )
    expected = _predict(est, {"color": colors})
    path = est.export_saved_model(
        str(tmp_path / "export"),
        export.build_raw_serving_input_receiver_fn({"color": colors}),
    )
    assert os.listdir(os.path.join(path, b"assets")) == [b"colors.txt"]
    vocab.unlink()  # The export must not need the training machine's file.
    with Predictor.from_saved_model(path) as serve:
        _assert_same_predictions(serve({"color": colors}), expected)
