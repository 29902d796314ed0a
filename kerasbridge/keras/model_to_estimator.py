"""`model_to_estimator`: a compiled Keras 3 model as an Estimator.

The generated `model_fn` rebuilds the model in every Estimator graph (see
`_graph_model`) and returns mode-specific `EstimatorSpec`s:

* PREDICT: `predictions` keyed by output name, `export_outputs` with a
  `PredictOutput` of all predictions as `serving_default`.
* EVAL: the compiled loss (with `loss_weights` and regularization losses)
  and the compiled metrics as `(value, update_op)` pairs named as
  `model.evaluate` names them (optionally renamed by `metric_names_map`).
* TRAIN: the loss and a train op running the compiled optimizer exactly as
  `model.fit` does, driven by the Estimator's global step.
"""

import os

import keras
import tensorflow as tf

from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.export import PredictOutput
from kerasbridge.keras import _first_checkpoint
from kerasbridge.keras import _metric_names
from kerasbridge.keras._graph_model import GraphModel
from kerasbridge.keras._io import ModelIO
from kerasbridge.keras._model_spec import KerasModelSpec
from kerasbridge.keras._model_spec import check_compiled
from kerasbridge.keras._variable_keys import CHECKPOINT_FORMATS
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.run_config import maybe_overwrite_model_dir_and_session_config

_DEFAULT_SERVING_KEY = tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY


def _reject_tf_keras(model):
    """A tf-keras (Keras 2, `TF_USE_LEGACY_KERAS=1`) model: say what to do."""
    if any(c.__module__.startswith("tf_keras.") for c in type(model).__mro__):
        raise ValueError(
            f"`keras_model` is a tf-keras (Keras 2) model ({type(model).__name__}); "
            "kb.model_to_estimator converts Keras 3 models only. Build the "
            "model with `keras` (Keras 3), or write a custom model_fn that "
            "creates the tf.keras layers and returns a kb.EstimatorSpec "
            "(Keras 2 layers build in the Estimator's graph; run their "
            "`updates` with the train op) and pass it to kb.Estimator."
        )


def model_to_estimator(
    keras_model=None,
    keras_model_path=None,
    custom_objects=None,
    model_dir=None,
    config=None,
    checkpoint_format="checkpoint",
    metric_names_map=None,
    export_outputs=None,
    safe_mode=True,
):
    """Constructs an Estimator from a compiled Keras 3 model.

    The Estimator starts from the model's current weights: they are written
    to `<model_dir>/keras/keras_model.ckpt` now (unless a checkpoint is
    already there) and loaded by every `train()`, `evaluate()` and
    `predict()` that finds no checkpoint in `model_dir`, so the Estimator
    answers like the Keras model before it is trained. All model weights are
    loaded, including non-trainable ones such as BatchNormalization moving
    statistics (the original loaded trainable weights only); optimizer state
    starts fresh.

    Models with preprocessing layers convert as they are: lookup layers
    (`StringLookup`, `IntegerLookup`, `TextVectorization`) get their
    vocabularies in the graph's table initializers, `Lambda` layers keep the
    model's own Python functions, and everything else (`Hashing`,
    `HashedCrossing`, `Discretization`, `Normalization`, the layers
    `keras.utils.FeatureSpace` builds) is rebuilt from its config. A layer
    that cannot run in a TF1 graph is reported here, not at `train()`.

    Checkpoints are name-based (`tf.compat.v1.train.Saver`) in both formats,
    because the Estimator saves, restores, exports and reads variables
    through that Saver; the original's object-based format came from Keras-2
    object tracking of the graph clone, which Keras 3 does not provide in a
    TF1 graph. The formats differ only in the keys (see
    `kerasbridge/keras/_variable_keys.py`):

    * `'checkpoint'`: structural keys (`layer-2/kernel`,
      `optimizer/layer-2/kernel/momentum`) independent of layer names, so a
      checkpoint restores into the same architecture in any process even
      where Keras auto-named its layers differently. The original wrote an
      object-based checkpoint here; its keys were structural too.
    * `'saver'`: the Keras variable paths of `keras_model`
      (`dense_1/kernel`, `optimizer/dense_1/kernel/momentum`); restoring
      needs the same layer names.

    `evaluate()` reports `loss` as every Estimator does: the mean of the
    per-batch losses. `model.evaluate` weights batches by their size, so the
    two differ slightly when the last batch is smaller.

    Args:
        keras_model: A compiled Keras 3 functional or Sequential model (or a
            subclassed model implementing `get_config`/`from_config`).
        keras_model_path: Path of a compiled model saved with
            `model.save()` (`.keras`); instead of `keras_model`.
        custom_objects: dict of custom layers, losses, metrics, etc. needed
            to rebuild the model from its config.
        model_dir: Directory for checkpoints and summaries.
        config: A `RunConfig`.
        checkpoint_format: `'checkpoint'` (default) or `'saver'`.
        metric_names_map: Optional dict renaming the compiled metrics in
            `evaluate()` results; must cover exactly the compiled metrics.
        export_outputs: Optional dict of output name to an `ExportOutput`
            class (e.g. `kb.export.RegressionOutput`), added to the export
            signatures next to `serving_default`.
        safe_mode: Passed to `keras.models.load_model` for
            `keras_model_path` (Keras' default, `True`, refuses to load
            Python lambdas from the file); set `False` only for files you
            trust. An in-memory `keras_model` is the user's own code and is
            rebuilt with its functions as they are.

    Returns:
        A `kerasbridge.Estimator`.

    Raises:
        ValueError: for invalid arguments (messages follow the original),
            an uncompiled model, an unsupported optimizer or missing loss,
            a layer that cannot be rebuilt or run in a TF1 graph (the
            message names it and what to do instead), or a
            tf-keras (Keras 2) model.
    """
    if keras_model is None and keras_model_path is None:
        raise ValueError(
            "Either `keras_model` or `keras_model_path` needs to be provided."
        )
    if keras_model is not None and keras_model_path is not None:
        # The original's message, typo included, so code matching it works.
        raise ValueError(
            "Please specity either `keras_model` or `keras_model_path`, "
            "but not both."
        )
    config = maybe_overwrite_model_dir_and_session_config(config, model_dir)
    if keras_model_path is not None:
        keras_model = _load_model(keras_model_path, custom_objects, safe_mode)
    if checkpoint_format is None:
        checkpoint_format = "checkpoint"
    if checkpoint_format not in CHECKPOINT_FORMATS:
        raise ValueError(
            'Checkpoint format must be one of "checkpoint" or "saver". Got '
            f"{checkpoint_format}"
        )
    _reject_tf_keras(keras_model)
    if not isinstance(keras_model, keras.Model):
        raise TypeError(
            "`keras_model` must be a Keras 3 `keras.Model`, got "
            f"{type(keras_model).__name__}."
        )
    check_compiled(keras_model)
    metric_names_map = _metric_names.check_metric_names_map(metric_names_map)
    spec = KerasModelSpec(keras_model, custom_objects, checkpoint_format)
    if export_outputs is not None:
        _check_export_outputs(export_outputs, keras_model)

    warm_start_path = None
    if config.is_chief:
        if not spec.initial_weights:
            tf.compat.v1.logging.warning(
                "The Keras model has no built weights; the Estimator starts "
                "from freshly initialised weights."
            )
        warm_start_path = _first_checkpoint.save_first_checkpoint(
            config.model_dir, spec.initial_weights
        )
    model_fn = _create_model_fn(spec, warm_start_path, metric_names_map, export_outputs)
    return Estimator(model_fn, config=config)


def _load_model(path, custom_objects, safe_mode):
    if not tf.io.gfile.exists(os.fspath(path)):
        raise ValueError(f"`keras_model_path` {path!r} does not exist.")
    return keras.models.load_model(
        path, custom_objects=custom_objects, compile=True, safe_mode=safe_mode
    )


def _check_export_outputs(export_outputs, keras_model):
    if not isinstance(export_outputs, dict):
        raise TypeError(
            "`export_outputs` must be a dict mapping output names to "
            f"ExportOutput classes. Received: {export_outputs!r}"
        )
    io = ModelIO(keras_model)
    output_names = io.output_names
    # Subclassed models declare no outputs; their keys are checked in model_fn.
    if io.output_kind is not None:
        unknown = set(export_outputs) - set(output_names)
        if unknown:
            raise ValueError(
                f"`export_outputs` keys {sorted(unknown)} are not outputs of "
                f"the keras model. Output names: {output_names}."
            )


def _create_model_fn(spec, warm_start_path, metric_names_map, export_outputs):
    """The `model_fn(features, labels, mode, config)` of a Keras model."""

    def model_fn(features, labels, mode, config):
        graph_model = GraphModel(spec, features, labels, mode)
        eval_metric_ops = None
        if mode == ModeKeys.EVAL:
            eval_metric_ops = _metric_names.rename_metrics(
                graph_model.eval_metric_ops,
                graph_model.compiled_metric_names,
                metric_names_map,
            )
        saver = tf.compat.v1.train.Saver(
            var_list=graph_model.var_list,
            sharded=True,
            max_to_keep=config.keep_checkpoint_max,
            keep_checkpoint_every_n_hours=config.keep_checkpoint_every_n_hours,
            save_relative_paths=True,
        )
        init_fn = None
        if warm_start_path is not None:
            # In every mode, as the original's warm start: predict/evaluate
            # before the first train() answer like the Keras model.
            init_fn = _warm_start_init_fn(warm_start_path, graph_model.model_var_list)
        return EstimatorSpec(
            mode=mode,
            predictions=graph_model.predictions,
            loss=graph_model.loss,
            train_op=graph_model.train_op,
            eval_metric_ops=eval_metric_ops,
            export_outputs=_export_outputs(graph_model, export_outputs),
            scaffold=tf.compat.v1.train.Scaffold(saver=saver, init_fn=init_fn),
        )

    return model_fn


def _warm_start_init_fn(path, model_var_list):
    # Scaffold.init_fn runs only when the session is not restored from a
    # checkpoint: exactly "warm start while model_dir has no checkpoint".
    saver = _first_checkpoint.warm_start_saver(path, model_var_list)
    if saver is None:
        return None

    def init_fn(scaffold, session):
        del scaffold
        tf.compat.v1.logging.info("Warm-starting the Keras model from %s", path)
        saver.restore(session, path)

    return init_fn


def _export_outputs(graph_model, export_outputs):
    predictions = graph_model.predictions
    outputs = {_DEFAULT_SERVING_KEY: PredictOutput(predictions)}
    for name, output_cls in (export_outputs or {}).items():
        if name not in predictions:
            raise ValueError(
                f"`export_outputs` key {name!r} is not an output of the keras "
                f"model. Output names: {sorted(predictions)}."
            )
        outputs[name] = output_cls(predictions[name])
    return outputs
