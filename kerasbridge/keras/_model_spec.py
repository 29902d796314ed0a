"""What the generated `model_fn` needs from the user's Keras model, read eagerly.

A compiled Keras 3 model cannot be cloned inside a TF1 graph (its optimizer's
`get_config()` calls `.numpy()`), and its auto-named objects get new names in
every clone. `KerasModelSpec` therefore reads everything once, in eager mode,
when `model_to_estimator` is called: the model and compile configurations,
the starting weights under their checkpoint keys, the vocabularies of lookup
layers (`_lookup_layers`) and the functions of `Lambda` layers
(`_live_functions`), and validates that the optimizer and loss are ones the
Estimator can honour faithfully and that the model rebuilds and runs in a
graph.
"""

import copy
import re

import keras
import numpy as np
import tensorflow as tf

from keras.src.saving import serialization_lib

from kerasbridge._keras_naming import keras_naming_scope
from kerasbridge.keras import _variable_keys
from kerasbridge.keras._live_functions import bind_live_functions
from kerasbridge.keras._lookup_layers import LookupVocabularies
from kerasbridge.keras._lookup_layers import static_vocabulary_sizes

# Optimizers whose in-graph update is verified to equal `model.fit`'s
# (tests/test_keras_optimizers.py). Exact classes: a subclass may override
# anything, so it is refused rather than trusted.
SUPPORTED_OPTIMIZERS = (
    keras.optimizers.SGD,
    keras.optimizers.Adam,
    keras.optimizers.AdamW,
    keras.optimizers.RMSprop,
    keras.optimizers.Adagrad,
    keras.optimizers.Adamax,
    keras.optimizers.Nadam,
    keras.optimizers.Adadelta,
    keras.optimizers.Ftrl,
    keras.optimizers.Lion,
)

_SUBCLASSED_ERROR = (
    "Subclassed `Model`s passed to `model_to_estimator` must implement "
    "`Model.get_config` and `Model.from_config`."
)


def _is_graph_network(model):
    # Functional (which Sequential builds on) has a static graph of layers.
    return isinstance(model, keras.Sequential) or hasattr(model, "_inputs_struct")


def check_compiled(keras_model):
    """Raises the original's error for a model that was never compiled."""
    if not getattr(keras_model, "compiled", False) or keras_model.optimizer is None:
        raise ValueError(
            "The given keras model has not been compiled yet. Please compile "
            "the model with `model.compile()` before calling "
            "`model_to_estimator()`."
        )


def check_optimizer(optimizer):
    """Raises a ValueError naming what the Estimator cannot honour.

    Args:
        optimizer: The compiled model's optimizer.

    Raises:
        ValueError: for an optimizer class outside `SUPPORTED_OPTIMIZERS`, or
            options whose `fit` semantics the Estimator cannot reproduce.
    """
    if type(optimizer) not in SUPPORTED_OPTIMIZERS:
        names = ", ".join(cls.__name__ for cls in SUPPORTED_OPTIMIZERS)
        raise ValueError(
            f"Unsupported optimizer {type(optimizer).__name__!r} for "
            f"`model_to_estimator`: the Estimator's update is only verified "
            f"to equal `model.fit`'s for keras.optimizers.{{{names}}} "
            f"(exact classes, not subclasses). Compile the model with one of "
            f"these."
        )
    if getattr(optimizer, "use_ema", False):
        raise ValueError(
            "`model_to_estimator` does not support optimizers with "
            "`use_ema=True`: `model.fit` swaps the averaged weights in at the "
            "end of training, which has no Estimator equivalent. Compile "
            "with `use_ema=False`."
        )
    if getattr(optimizer, "gradient_accumulation_steps", None):
        raise ValueError(
            "`model_to_estimator` does not support "
            "`gradient_accumulation_steps`; compile the optimizer without it."
        )


def check_loss(keras_model):
    """Raises if the compiled model has no loss to train on."""
    if keras_model.loss is None and not keras_model.losses:
        raise ValueError(
            "The given keras model was compiled without a `loss` and has no "
            "`add_loss` losses; the Estimator needs a loss to train and "
            "evaluate. Pass `loss=` to `model.compile()`."
        )


class KerasModelSpec:
    """The eagerly captured description of a compiled Keras model.

    Args:
        keras_model: A compiled Keras 3 model.
        custom_objects: dict of custom classes/functions for deserialization.
        checkpoint_format: `'checkpoint'` or `'saver'` (see `_variable_keys`).

    Raises:
        ValueError: if the model is not compiled, cannot be rebuilt from its
            config, or uses an unsupported optimizer or no loss.
    """

    def __init__(self, keras_model, custom_objects, checkpoint_format):
        check_compiled(keras_model)
        check_optimizer(keras_model.optimizer)
        check_loss(keras_model)
        self.custom_objects = dict(custom_objects or {})
        self.checkpoint_format = checkpoint_format
        self.model_class = type(keras_model)
        self.is_graph_network = _is_graph_network(keras_model)
        self.model_config = self._model_config(keras_model)
        self._live_functions = bind_live_functions(self.model_config, keras_model)
        self._vocabularies = LookupVocabularies(keras_model)
        self.compile_config = keras_model.get_compile_config()
        self._check_rebuild(keras_model)
        self.variable_keys = _variable_keys.model_variable_keys(
            keras_model, checkpoint_format
        )
        weight_ids = {id(w) for w in keras_model.weights}
        pairs = _variable_keys.structural_variables(keras_model)
        # Starting values of the model's weights (trainable and not, e.g.
        # BatchNormalization moving statistics) under their checkpoint keys.
        self.initial_weights = {
            key: np.asarray(variable.numpy())
            for (variable, _), key in zip(pairs, self.variable_keys)
            if id(variable) in weight_ids
        }

    def _model_config(self, keras_model):
        try:
            with keras.saving.custom_object_scope(self.custom_objects):
                config = keras_model.get_config()
                if not self.is_graph_network:
                    # Only a round trip proves a subclassed model rebuildable.
                    self.model_class.from_config(copy.deepcopy(config))
        except (NotImplementedError, TypeError) as e:
            raise ValueError(_SUBCLASSED_ERROR) from e
        return config

    def _check_rebuild(self, keras_model):
        """Rebuilds and calls once in a throwaway graph, so errors surface now."""
        with tf.Graph().as_default(), keras_naming_scope():
            clone = self.rebuild(compile_model=True)
            _check_graph_call(clone)
            if keras_model.built and clone.built:
                expected = len(_variable_keys.structural_variables(keras_model))
                found = len(_variable_keys.structural_variables(clone))
                if found != expected:
                    raise ValueError(
                        f"Rebuilding the Keras model from its config gives "
                        f"{found} variables instead of {expected}: its "
                        "`get_config()` does not describe all of its state."
                    )

    def rebuild(self, compile_model):
        """Builds a fresh copy of the model in the current graph.

        Args:
            compile_model: Whether to compile the copy with the original's
                compile configuration (loss, metrics, optimizer).

        Returns:
            The new Keras model.

        Raises:
            ValueError: if a custom object cannot be deserialized.
        """
        custom_objects = {**self.custom_objects, **self._live_functions}
        try:
            # The config comes from a live model (loaded from a file under
            # the user's `safe_mode`, if at all): its code is trusted.
            with keras.saving.custom_object_scope(
                custom_objects
            ), serialization_lib.SafeModeScope(False), static_vocabulary_sizes():
                # Keras consumes the config dicts it is given: pass copies.
                config = copy.deepcopy(self.model_config)
                model = self.model_class.from_config(config)
                if self._vocabularies:
                    self._vocabularies.install(model)
                if compile_model:
                    # Like `compile_from_config`, minus building the optimizer:
                    # only TRAIN graphs need its slot variables.
                    config = keras.saving.deserialize_keras_object(
                        copy.deepcopy(self.compile_config)
                    )
                    model.compile(**config)
        except (RuntimeError, TypeError, ValueError) as e:
            name = self.model_config.get("name")
            raise ValueError(
                f"Could not rebuild the Keras model {name!r} from its "
                f"configuration inside the Estimator graph: {e}. If it "
                "uses custom layers, losses, metrics or optimizers, pass them "
                "in `custom_objects`."
            ) from e
        return model


def _check_graph_call(model):
    """Calls `model` on placeholders, so layers that cannot run in a graph fail now.

    Raises:
        ValueError: naming the failing layer (in Keras' message) and what to do.
    """
    inputs = getattr(model, "_inputs_struct", None)  # functional models
    if inputs is None:
        try:
            declared = model.inputs  # a built Sequential
        except (AttributeError, ValueError):
            declared = None
        if not declared:
            return  # subclassed or unbuilt: inputs are only known at the first call
        inputs = declared[0] if len(declared) == 1 else list(declared)
    specs = tf.nest.flatten(inputs)
    if any(getattr(spec, "ragged", False) for spec in specs):
        return  # no ragged placeholders in a TF1 graph; checked at the first call

    def placeholder(spec):
        make = (
            tf.compat.v1.sparse_placeholder
            if getattr(spec, "sparse", False)
            else tf.compat.v1.placeholder
        )
        return make(tf.as_dtype(spec.dtype), spec.shape)

    placeholders = tf.nest.map_structure(placeholder, inputs)
    try:
        if getattr(model, "_call_has_training_arg", True):
            model(placeholders, training=False)
        else:
            model(placeholders)
    except Exception as e:  # noqa: BLE001 - re-raised as ValueError, chained
        raise ValueError(
            f"The Keras model {model.name!r} cannot run inside an Estimator "
            f"(TF1) graph{_failing_layers(model, e)}: {e}\nReplace that layer "
            "with graph-compatible TensorFlow or Keras ops, or preprocess "
            "those features in the `input_fn` instead."
        ) from e


def _failing_layers(model, error):
    # Keras names the class in "Exception encountered when calling X.call()".
    match = re.search(r"when calling (\w+)\.call\(\)", str(error))
    if match is None:
        return ""
    names = [
        layer.name
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if type(layer).__name__ == match.group(1)
    ]
    return f" (layer {', '.join(map(repr, names))})" if names else ""
