"""Matching Estimator `features` / `labels` to a Keras model's inputs and outputs.

An `input_fn` yields whatever structure is convenient (a dict of feature
tensors, one tensor, a list); a Keras model wants the structure its `Input`s
and outputs were declared with. `ModelIO` reads that structure from the model
and converts, raising an error that names the expected and received keys or
shapes when they cannot match.
"""

import numpy as np
import tensorflow as tf

from kerasbridge.keras._errors import missing_keys_error

# `model_to_estimator`'s original convention: a features dict with exactly
# these two keys carries per-example loss weights next to the features.
_SAMPLE_WEIGHT_KEYS = frozenset(["features", "sample_weights"])


def _structure(struct, fallback):
    """('dict'|'list'|'single', names, specs) of a Keras input/output struct."""
    if struct is None:
        struct = list(fallback)
    if isinstance(struct, dict):
        return "dict", list(struct.keys()), list(struct.values())
    if isinstance(struct, (list, tuple)):
        if len(struct) == 1:
            return "single", None, list(struct)
        return "list", None, list(struct)
    return "single", None, [struct]


class ModelIO:
    """The input and output structure of a (rebuilt) Keras model.

    Functional and Sequential models declare both. Subclassed models declare
    neither: their features pass through as given, and the outputs'
    structure is read from the first call (`bind_outputs`).

    Args:
        model: A Keras model.
    """

    def __init__(self, model):
        self.input_kind, self.input_names, self.input_specs = None, [], []
        declared = _declared(model, "inputs")
        if declared is not None:
            kind, names, specs = _structure(
                getattr(model, "_inputs_struct", None), declared
            )
            self.input_kind, self.input_specs = kind, specs
            self.input_names = names or [spec.name for spec in specs]

        self.output_kind, self.output_names = None, []
        declared = _declared(model, "outputs")
        if declared is not None:
            kind, names, specs = _structure(
                getattr(model, "_outputs_struct", None), declared
            )
            self.output_kind = kind
            self.output_names = names or _output_layer_names(model, len(specs))

    def bind_outputs(self, y_pred):
        """Reads the output structure from `y_pred` if the model declares none.

        Outputs are then named `output_1`, ... (dict outputs by their keys),
        the original's names for outputs of subclassed models.
        """
        if self.output_kind is not None:
            return
        if isinstance(y_pred, dict):
            self.output_kind, self.output_names = "dict", list(y_pred)
        elif isinstance(y_pred, (list, tuple)) and len(y_pred) != 1:
            self.output_kind = "list"
            self.output_names = [f"output_{i + 1}" for i in range(len(y_pred))]
        else:
            self.output_kind, self.output_names = "single", ["output_1"]

    # -- features -----------------------------------------------------------

    def split_sample_weights(self, features):
        """Separates `{'features': ..., 'sample_weights': ...}` features."""
        if isinstance(features, dict) and set(features) == _SAMPLE_WEIGHT_KEYS:
            return features["features"], features["sample_weights"]
        return features, None

    def inputs(self, features):
        """Converts `features` to the structure the model's `Input`s declare.

        Args:
            features: A dict keyed by `Input` name (extra keys are ignored),
                a tensor (single-input models) or a list/tuple in `Input`
                order.

        Returns:
            A tensor, list or dict of tensors for `model(...)`.

        Raises:
            ValueError: (a `FormattedKeyError` for missing keys) if
                `features` cannot be matched to the model's inputs.
        """
        if self.input_kind is None:
            return _map_structure(_as_tensor, features)
        values = self._ordered(
            features, self.input_names, "features", "inputs", len(self.input_specs)
        )
        tensors = []
        for name, value, spec in zip(self.input_names, values, self.input_specs):
            tensor = _as_tensor(value)
            _check_shape("features", name, tensor.shape, spec.shape)
            tensors.append(tensor)
        return self._pack(tensors, self.input_kind, self.input_names)

    # -- labels / sample weights ---------------------------------------------

    def targets(self, labels):
        """Converts `labels` to the structure of the model's outputs.

        Args:
            labels: A tensor (single-output models), a dict keyed by output
                name (extra keys are ignored) or a list in output order.

        Returns:
            A tensor, list or dict of tensors matching the model's outputs.

        Raises:
            ValueError: if `labels` is `None` or cannot be matched.
        """
        if labels is None:
            raise ValueError(
                "`labels` are required to compute the loss in TRAIN and EVAL "
                "modes, but the input_fn returned no labels. Expected labels "
                f"for the model outputs {self.output_names}."
            )
        values = self._ordered(
            labels, self.output_names, "labels", "outputs", len(self.output_names)
        )
        tensors = [_as_tensor(value) for value in values]
        return self._pack(tensors, self.output_kind, self.output_names)

    def sample_weights(self, sample_weights):
        """Sample weights in the outputs' structure (one tensor applies to all)."""
        if sample_weights is None:
            return None
        if not isinstance(sample_weights, (dict, list, tuple)):
            return _as_tensor(sample_weights)
        values = self._ordered(
            sample_weights,
            self.output_names,
            "sample_weights",
            "outputs",
            len(self.output_names),
        )
        tensors = [_as_tensor(value) for value in values]
        return self._pack(tensors, self.output_kind, self.output_names)

    def predictions(self, y_pred):
        """`y_pred` as a dict keyed by output name."""
        if isinstance(y_pred, dict):
            return dict(y_pred)
        flat = list(y_pred) if isinstance(y_pred, (list, tuple)) else [y_pred]
        return dict(zip(self.output_names, flat))

    # -- helpers --------------------------------------------------------------

    @staticmethod
    def _ordered(obj, names, obj_name, order_name, count):
        if isinstance(obj, dict):
            if not set(names).issubset(obj):
                raise missing_keys_error(obj_name, order_name, names, obj.keys())
            return [obj[name] for name in names]
        if isinstance(obj, (list, tuple)):
            if len(obj) != count:
                raise ValueError(
                    f"The model has {count} {order_name} {names}, but the "
                    f"list passed as {obj_name} has {len(obj)} elements."
                )
            return list(obj)
        if count != 1:
            raise ValueError(
                f"The model has {count} {order_name} {names}; pass {obj_name} "
                f"as a dict keyed by these names or a list in this order, not "
                f"a single {type(obj).__name__}."
            )
        return [obj]

    @staticmethod
    def _pack(tensors, kind, names):
        if kind == "dict":
            return dict(zip(names, tensors))
        if kind == "list":
            return list(tensors)
        return tensors[0]


def _output_layer_names(model, count):
    names = list(getattr(model, "output_names", None) or [])
    if len(names) == count:
        return names
    if count == 1:
        # Sequential has no `output_names`: its output is its last layer's.
        return [model.layers[-1].name]
    return [f"output_{i + 1}" for i in range(count)]


def _declared(model, attribute):
    try:
        value = getattr(model, attribute)
    except AttributeError:  # subclassed models raise instead of returning None
        return None
    return list(value) if value else None


def _map_structure(fn, obj):
    if isinstance(obj, dict):
        return {k: fn(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [fn(v) for v in obj]
    return fn(obj)


def _as_tensor(value):
    if isinstance(value, (tf.Tensor, tf.SparseTensor, tf.RaggedTensor)):
        return value
    if isinstance(value, tf.Variable):
        return value.value()
    return tf.convert_to_tensor(np.asarray(value) if isinstance(value, list) else value)


def _check_shape(obj_name, name, shape, expected):
    """Raises if a static shape can never match an `Input`'s shape.

    Keras itself squeezes or expands a trailing dimension of size 1, so
    `(batch,)` matches `Input((1,))` and `(batch, 1)` matches `Input(())`.
    """
    if shape.rank is None:
        return
    expected = tuple(expected)
    dims = tuple(shape.as_list())
    if len(dims) == len(expected) + 1 and dims[-1] == 1:
        dims = dims[:-1]
    elif len(dims) == len(expected) - 1 and expected[-1] == 1:
        dims = dims + (1,)
    compatible = len(dims) == len(expected) and all(
        a is None or b is None or a == b for a, b in zip(dims[1:], expected[1:])
    )
    if not compatible:
        raise ValueError(
            f"{obj_name}[{name!r}] has shape {tuple(shape.as_list())}, but the "
            f"model's input {name!r} expects shape {expected}."
        )


__all__ = ["ModelIO"]
