"""Calling `input_fn` and turning its result into features and labels."""

import tensorflow as tf
from tensorflow.python.data.ops import options as _data_options
from tensorflow.python.eager import context as _context
from tensorflow.python.framework.ops import EagerTensor as _EagerTensor

from kerasbridge._runtime import _args

_TENSOR_TYPES = (tf.Tensor, tf.SparseTensor, tf.RaggedTensor, tf.Variable)


class DatasetInitializerHook(tf.compat.v1.train.SessionRunHook):
    """Initialises a dataset iterator once the session exists."""

    def __init__(self, iterator, feed_dict=None):
        self._iterator = iterator
        self._feed_dict = feed_dict

    def begin(self):
        self._initializer = self._iterator.initializer

    def after_create_session(self, session, coord):
        del coord
        session.run(self._initializer, feed_dict=self._feed_dict)


# What TF says when an input_fn builds graph ops on eagerly created tensors
# (typically a `tf.data.Dataset` built before, outside the input_fn).
_EAGER_CAPTURE_MESSAGES = (
    "Attempting to capture an EagerTensor",
    "Encountered an Eager-defined Tensor",
)

_EAGER_DATASET_HINT = (
    "input_fn used a tensor or tf.data.Dataset created eagerly, outside the "
    "input_fn, but the Estimator calls input_fn inside its own graph. "
    "Build the dataset inside input_fn, e.g.\n"
    "    def input_fn():\n"
    "        ds = tf.data.Dataset.from_tensor_slices((features, labels))\n"
    "        return ds.batch(256)\n"
)


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
        try:
            result = input_fn(**kwargs)
        except (RuntimeError, ValueError) as error:
            if not any(m in str(error) for m in _EAGER_CAPTURE_MESSAGES):
                raise
            return _from_eager_dataset(input_fn, kwargs, error)
    return parse_input_fn_result(result)


def _from_eager_dataset(input_fn, kwargs, capture_error):
    """Runs an input_fn that uses an eagerly built dataset.

    The input_fn is called again, eagerly; the dataset it returns is moved
    into the Estimator's graph (`_dataset_into_graph`).

    Raises:
        ValueError: the eager call does not return a dataset that can be
            moved into the graph; the message says to build the dataset
            inside input_fn.
    """
    try:
        with _context.eager_mode():
            dataset = input_fn(**kwargs)
        if not isinstance(dataset, tf.data.Dataset):
            raise ValueError("input_fn did not return a tf.data.Dataset")
        return parse_input_fn_result(dataset)
    except Exception as error:  # noqa: BLE001 - any failure gets the hint
        raise ValueError(
            _EAGER_DATASET_HINT + f"(TensorFlow said: {capture_error}; "
            f"running input_fn eagerly instead failed: {error})"
        ) from capture_error


def _dataset_into_graph(dataset):
    """An eagerly built dataset rebuilt in the current graph.

    Its graph definition is serialized eagerly and fed when the iterator is
    initialised (a constant would be folded by TF's optimizer into a variant
    it cannot parse, and would bloat the graph).

    Returns:
        `(dataset in the graph, feed dict for the iterator's initializer)`.
    """
    with _context.eager_mode():
        serialized = dataset._as_serialized_graph(  # noqa: SLF001
            external_state_policy=_data_options.ExternalStatePolicy.IGNORE
        ).numpy()
    graph_def = tf.compat.v1.placeholder(tf.string, [], name="input_dataset")
    variant = tf.raw_ops.DatasetFromGraph(graph_def=graph_def)
    in_graph = tf.data.experimental.from_variant(variant, dataset.element_spec)
    return in_graph, {graph_def: serialized}


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
        feed = None
        if isinstance(result._variant_tensor, _EagerTensor):  # noqa: SLF001
            # Built eagerly (e.g. before the input_fn): move it in.
            result, feed = _dataset_into_graph(result)
        iterator = tf.compat.v1.data.make_initializable_iterator(result)
        hooks.append(DatasetInitializerHook(iterator, feed))
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
        if type(structure) is dict:
            return converted
        # Keep a dict subclass (e.g. featurec.dataset's features) as it was.
        same_type = structure.copy()
        same_type.clear()
        same_type.update(converted)
        return same_type
    if isinstance(structure, _EagerTensor):
        # Created eagerly, outside input_fn: its value becomes a constant.
        return tf.constant(structure.numpy())
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
