"""What a serving (or supervised) input receiver hands to `model_fn` at export.

A `serving_input_receiver_fn` takes no arguments, creates placeholders in the
current graph and returns a receiver: the `features` the model consumes plus
the `receiver_tensors` a server feeds. The receiver tensors become the inputs
of every exported signature, keyed by their dict keys.
"""

import collections
import re

import numpy as np
import tensorflow as tf
from tensorflow.python.saved_model.model_utils.export_utils import (
    SINGLE_FEATURE_DEFAULT_NAME,
    SINGLE_LABEL_DEFAULT_NAME,
    SINGLE_RECEIVER_DEFAULT_NAME,
)

# The key a lone (non-dict) tensor is wrapped under, per receiver field.
_SINGLE_TENSOR_DEFAULT_NAMES = {
    "feature": SINGLE_FEATURE_DEFAULT_NAME,
    "label": SINGLE_LABEL_DEFAULT_NAME,
    "receiver_tensor": SINGLE_RECEIVER_DEFAULT_NAME,
    "receiver_tensors_alternative": SINGLE_RECEIVER_DEFAULT_NAME,
}

# Graph op names TF accepts; feature keys that fit become placeholder names,
# which keeps `saved_model_cli show` readable.
_OP_NAME_RE = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-/]*$")


def _check_tensor(tensor, name, error_label="feature"):
    if not isinstance(tensor, (tf.Tensor, tf.SparseTensor)):
        fmt_name = f" {name}" if name else ""
        raise ValueError(f"{error_label}{fmt_name} must be a Tensor or SparseTensor.")


def _check_tensor_key(name, error_label="feature", allow_ints=False):
    if isinstance(name, str):
        return
    if not allow_ints:
        raise ValueError(f"{error_label} keys must be strings: {name}.")
    if not isinstance(name, int):
        raise ValueError(f"{error_label} keys must be strings or ints: {name}.")


def wrap_and_check_input_tensors(tensors, field_name, allow_int_keys=False):
    """Returns `tensors` as a dict of key to Tensor, validating it.

    Args:
        tensors: a `Tensor`/`SparseTensor` or a dict of them.
        field_name: the receiver field being checked (`'feature'`,
            `'receiver_tensor'`, ...); names the field in errors and picks the
            key a lone tensor is wrapped under.
        allow_int_keys: whether int dict keys are allowed besides strings.

    Returns:
        The dict that was passed, or the lone tensor wrapped in a dict.

    Raises:
        ValueError: if `tensors` is None, has a bad key or a non-tensor value.
    """
    if tensors is None:
        raise ValueError(f"{field_name}s must be defined.")
    if not isinstance(tensors, dict):
        tensors = {_SINGLE_TENSOR_DEFAULT_NAMES[field_name]: tensors}
    for name, tensor in tensors.items():
        _check_tensor_key(name, error_label=field_name, allow_ints=allow_int_keys)
        _check_tensor(tensor, name, error_label=field_name)
    return tensors


class ServingInputReceiver(
    collections.namedtuple(
        "ServingInputReceiver",
        ["features", "receiver_tensors", "receiver_tensors_alternatives"],
    )
):
    """The return type of a `serving_input_receiver_fn`.

    Attributes:
        features: a `Tensor`/`SparseTensor` or dict of string (or int) to
            them: what `model_fn` receives. A lone tensor is wrapped as
            `{'feature': tensor}`; use `TensorServingInputReceiver` to pass it
            through unwrapped.
        receiver_tensors: a `Tensor`/`SparseTensor` or dict of string to them:
            the nodes a server feeds (typically one placeholder of serialized
            `tf.Example`s). A lone tensor is keyed `'input'`.
        receiver_tensors_alternatives: optional dict of name to further
            groups of receiver tensors; each adds signatures named
            `<name>:<output key>` that feed the graph at another point.
    """

    def __new__(cls, features, receiver_tensors, receiver_tensors_alternatives=None):
        features = wrap_and_check_input_tensors(
            features, "feature", allow_int_keys=True
        )
        receiver_tensors = wrap_and_check_input_tensors(
            receiver_tensors, "receiver_tensor"
        )
        if receiver_tensors_alternatives is not None:
            if not isinstance(receiver_tensors_alternatives, dict):
                raise ValueError(
                    "receiver_tensors_alternatives must be a dict: "
                    f"{receiver_tensors_alternatives}."
                )
            receiver_tensors_alternatives = {
                alt_name: wrap_and_check_input_tensors(
                    alt, "receiver_tensors_alternative"
                )
                for alt_name, alt in receiver_tensors_alternatives.items()
            }
        return super().__new__(
            cls,
            features=features,
            receiver_tensors=receiver_tensors,
            receiver_tensors_alternatives=receiver_tensors_alternatives,
        )


class TensorServingInputReceiver(
    collections.namedtuple(
        "TensorServingInputReceiver",
        ["features", "receiver_tensors", "receiver_tensors_alternatives"],
    )
):
    """A serving receiver whose `features` is one tensor, passed as is.

    For a `model_fn` that takes a single `Tensor` as `features` rather than a
    dict. `receiver_tensors` and its alternatives are still stored as dicts
    because every SavedModel signature input needs a name.
    """

    def __new__(cls, features, receiver_tensors, receiver_tensors_alternatives=None):
        if features is None:
            raise ValueError("features must be defined.")
        _check_tensor(features, None)
        receiver = ServingInputReceiver(
            features=features,
            receiver_tensors=receiver_tensors,
            receiver_tensors_alternatives=receiver_tensors_alternatives,
        )
        return super().__new__(
            cls,
            features=receiver.features[SINGLE_FEATURE_DEFAULT_NAME],
            receiver_tensors=receiver.receiver_tensors,
            receiver_tensors_alternatives=receiver.receiver_tensors_alternatives,
        )


class SupervisedInputReceiver(
    collections.namedtuple(
        "SupervisedInputReceiver", ["features", "labels", "receiver_tensors"]
    )
):
    """The receiver for exporting a TRAIN or EVAL graph: features and labels.

    `features` and `labels` are passed to `model_fn` as given (a tensor or a
    dict); `receiver_tensors` is wrapped into a dict like a serving receiver's.
    """

    def __new__(cls, features, labels, receiver_tensors):
        # Validate only: features and labels reach model_fn unwrapped.
        wrap_and_check_input_tensors(features, "feature", allow_int_keys=True)
        wrap_and_check_input_tensors(labels, "label", allow_int_keys=True)
        receiver_tensors = wrap_and_check_input_tensors(
            receiver_tensors, "receiver_tensor"
        )
        return super().__new__(
            cls, features=features, labels=labels, receiver_tensors=receiver_tensors
        )


def build_parsing_serving_input_receiver_fn(feature_spec, default_batch_size=None):
    """Builds a `serving_input_receiver_fn` fed serialized `tf.Example`s.

    The receiver is one string placeholder `input_example_tensor` (signature
    input key `examples`) parsed with `tf.io.parse_example(feature_spec)`.

    Args:
        feature_spec: dict of feature name to `tf.io.FixedLenFeature` /
            `VarLenFeature` / ..., e.g. from `make_parse_example_spec`.
        default_batch_size: fixed number of examples per request, or None
            (recommended) for any batch size.

    Returns:
        A `serving_input_receiver_fn` returning a `ServingInputReceiver`.

    Raises:
        ValueError: if `feature_spec` is not a non-empty dict.
    """
    if not isinstance(feature_spec, dict) or not feature_spec:
        raise ValueError(
            "feature_spec must be a non-empty dict of feature name to "
            f"tf.io.FixedLenFeature/VarLenFeature, got: {feature_spec!r}."
        )

    def serving_input_receiver_fn():
        serialized = tf.compat.v1.placeholder(
            dtype=tf.string, shape=[default_batch_size], name="input_example_tensor"
        )
        features = tf.compat.v1.io.parse_example(serialized, feature_spec)
        return ServingInputReceiver(features, {"examples": serialized})

    return serving_input_receiver_fn


def _placeholder_like(value, key, default_batch_size):
    """A placeholder with `value`'s dtype and its shape past the batch dim."""
    if isinstance(value, tf.TensorSpec):
        dtype, shape = value.dtype, value.shape
    elif isinstance(value, tf.Tensor):
        dtype, shape = value.dtype, value.shape
    elif isinstance(value, np.ndarray):
        # numpy str/bytes/object arrays hold what TF feeds as tf.string.
        is_text = value.dtype.kind in "OUS"
        dtype = tf.string if is_text else tf.as_dtype(value.dtype)
        shape = tf.TensorShape(value.shape)
    else:
        raise ValueError(
            f"feature {key} must be a Tensor, TensorSpec or numpy array "
            f"describing its dtype and shape, got: {value!r}."
        )
    if shape.rank is None:
        full_shape = tf.TensorShape(None)
    else:
        full_shape = tf.TensorShape([default_batch_size]).concatenate(shape[1:])
    try:
        # A graph tensor keeps its op name, as the original did.
        name = value.op.name
    except AttributeError:
        name = key if isinstance(key, str) and _OP_NAME_RE.match(key) else None
    return tf.compat.v1.placeholder(dtype=dtype, shape=full_shape, name=name)


def _check_raw_features(features, arg_name):
    if not isinstance(features, dict) or not features:
        raise ValueError(
            f"{arg_name} must be a non-empty dict of string to Tensor, got: "
            f"{features!r}."
        )
    for key, value in features.items():
        _check_tensor_key(key, error_label="feature")
        if not isinstance(value, (tf.Tensor, tf.TensorSpec, np.ndarray)):
            raise ValueError(
                f"feature {key} must be a Tensor, TensorSpec or numpy array "
                f"describing its dtype and shape, got: {value!r}."
            )


def build_raw_serving_input_receiver_fn(features, default_batch_size=None):
    """Builds a `serving_input_receiver_fn` fed the raw feature tensors.

    Each feature gets a placeholder with its dtype and its shape past the
    first (batch) dimension; the placeholders are both the features and the
    receiver tensors, so the signature's inputs are the feature names.

    Args:
        features: dict of feature name to an example `Tensor`, `TensorSpec`
            or numpy array (only dtype and shape are used).
        default_batch_size: fixed batch size, or None (recommended).

    Returns:
        A `serving_input_receiver_fn` returning a `ServingInputReceiver`.

    Raises:
        ValueError: if `features` is not a non-empty dict with string keys.
    """
    _check_raw_features(features, "features")

    def serving_input_receiver_fn():
        receiver_tensors = {
            key: _placeholder_like(value, key, default_batch_size)
            for key, value in features.items()
        }
        return ServingInputReceiver(receiver_tensors, receiver_tensors)

    return serving_input_receiver_fn


def build_raw_supervised_input_receiver_fn(features, labels, default_batch_size=None):
    """Builds a receiver fn for exporting TRAIN/EVAL graphs from raw tensors.

    Args:
        features: a dict of string to example `Tensor`, or one `Tensor`.
        labels: a dict of string to example `Tensor`, or one `Tensor`.
        default_batch_size: fixed batch size, or None (recommended).

    Returns:
        A function returning a `SupervisedInputReceiver`.

    Raises:
        ValueError: if features and labels have overlapping keys.
    """
    feat_keys = (
        features.keys()
        if isinstance(features, dict)
        else [SINGLE_RECEIVER_DEFAULT_NAME]
    )
    label_keys = (
        labels.keys() if isinstance(labels, dict) else [SINGLE_LABEL_DEFAULT_NAME]
    )
    overlap_keys = set(feat_keys) & set(label_keys)
    if overlap_keys:
        raise ValueError(
            "Features and labels must have distinct keys. "
            f"Found overlapping keys: {overlap_keys}"
        )

    def _receive(values, single_key):
        if isinstance(values, dict):
            placeholders = {
                k: _placeholder_like(v, k, default_batch_size)
                for k, v in values.items()
            }
            return placeholders, placeholders
        placeholder = _placeholder_like(values, single_key, default_batch_size)
        return placeholder, {single_key: placeholder}

    def supervised_input_receiver_fn():
        features_in, receiver_features = _receive(
            features, SINGLE_RECEIVER_DEFAULT_NAME
        )
        labels_in, receiver_labels = _receive(labels, SINGLE_LABEL_DEFAULT_NAME)
        return SupervisedInputReceiver(
            features_in, labels_in, {**receiver_features, **receiver_labels}
        )

    return supervised_input_receiver_fn
