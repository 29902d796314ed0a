"""Calling `input_fn` and turning its result into features and labels."""

import tensorflow as tf

from kerasbridge._runtime import _args

_TENSOR_TYPES = (tf.Tensor, tf.SparseTensor, tf.RaggedTensor, tf.Variable)


class DatasetInitializerHook(tf.compat.v1.train.SessionRunHook):
    """Initialises a dataset iterator once the session exists."""

    def __init__(self, iterator):
        self._iterator = iterator

    def begin(self):
        self._initializer = self._iterator.initializer

    def after_create_session(self, session, coord):
        del coord
        session.run(self._initializer)


def call_input_fn(input_fn, mode, params, config):
    """Calls `input_fn` on the CPU and parses what it returns.

    `input_fn` gets only the arguments it declares among `mode`, `params`,
    `config` and `input_context` (a single-pipeline `tf.distribute
    .InputContext`, as seen by a non-distributed run).

    Args:
        input_fn: The user's input function.
        mode: A `ModeKeys` value.
        params: The Estimator's params dict (a copy is passed).
        config: The Estimator's `RunConfig`.

    Returns:
        `(features, labels, input_hooks)`; `labels` may be `None`.

    Raises:
        TypeError: `input_fn` is not callable or returned unusable values.
        ValueError: `input_fn` returned `None` or a tuple of wrong length.
    """
    if not callable(input_fn):
        raise TypeError(f"input_fn must be callable, given: {input_fn!r}")
    declared = _args.fn_args(input_fn)
    candidates = {
        "mode": mode,
        "params": dict(params),
        "config": config,
        "input_context": tf.distribute.InputContext(),
    }
    kwargs = {k: v for k, v in candidates.items() if k in declared}
    with tf.device("/cpu:0"):
        result = input_fn(**kwargs)
    return parse_input_fn_result(result)


def parse_input_fn_result(result):
    """Splits an `input_fn` result into features, labels and hooks.

    A `tf.data.Dataset` becomes an initializable iterator (plus the hook that
    initialises it); its elements, like a returned tuple, are either
    `(features, labels)` or features alone.

    Args:
        result: What `input_fn` returned.

    Returns:
        `(features, labels, input_hooks)`.

    Raises:
        TypeError, ValueError: `result` cannot be used as model input.
    """
    if result is None:
        raise ValueError(
            "input_fn returned None. It must return a tf.data.Dataset, a "
            "(features, labels) tuple, or features."
        )
    hooks = []
    if isinstance(result, tf.data.Dataset):
        iterator = tf.compat.v1.data.make_initializable_iterator(result)
        hooks.append(DatasetInitializerHook(iterator))
        result = iterator.get_next()
    if isinstance(result, (list, tuple)):
        if len(result) != 2:
            raise ValueError(
                "input_fn should return (features, labels) as a len 2 tuple, "
                f"given a {type(result).__name__} of length {len(result)}."
            )
        features, labels = result
    else:
        features, labels = result, None
    if features is None:
        raise ValueError("input_fn returned None as features.")
    features = _as_graph_values(features, "features")
    if labels is not None:
        labels = _as_graph_values(labels, "labels")
    return features, labels, hooks


def _as_graph_values(structure, what, path=()):
    """Converts array-like leaves to tensors, naming the offending one."""
    if isinstance(structure, dict):
        converted = {}
        for key, value in structure.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"input_fn returned {what} with a non-string key {key!r}; "
                    "feature dict keys must be strings."
                )
            converted[key] = _as_graph_values(value, what, path + (key,))
        return converted
    if isinstance(structure, _TENSOR_TYPES):
        return structure
    if isinstance(structure, (list, tuple)) and any(
        isinstance(leaf, _TENSOR_TYPES) for leaf in tf.nest.flatten(structure)
    ):
        # A sequence of tensors (e.g. a multi-input model) keeps its shape.
        return type(structure)(
            _as_graph_values(v, what, path + (i,))
            for i, v in enumerate(structure)
        )
    label = what + "".join(f"[{p!r}]" for p in path)
    if structure is None:
        raise ValueError(f"input_fn returned None as {label}.")
    try:
        return tf.convert_to_tensor(structure)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"input_fn returned {label} of type {type(structure).__name__}, "
            f"which is not a Tensor and cannot be converted to one: {error}"
        ) from None
