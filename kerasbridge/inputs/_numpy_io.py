"""`numpy_input_fn`: feeds a dict of numpy arrays (or one array) to a model."""

import numpy as np

from kerasbridge.inputs import _feeding

# The key a single-array `x` goes by until it is unpacked (the original's).
_X_KEY = "__direct_np_input__"


def numpy_input_fn(
    x,
    y=None,
    batch_size=128,
    num_epochs=1,
    shuffle=None,
    queue_capacity=1000,
    num_threads=1,
):
    """Returns an `input_fn` feeding numpy arrays, as the original did.

    Args:
        x: A numpy array (one feature) or a dict of arrays (features by name).
        y: A label array, a dict of label arrays, or None.
        batch_size: Rows per batch; the last batch is short when `num_epochs`
            ends the input mid-batch.
        num_epochs: Passes over the rows; None repeats forever.
        shuffle: Required bool: read rows in random order (mixed across
            epochs within a `queue_capacity`-row buffer).
        queue_capacity: Size of the shuffle buffer.
        num_threads: Accepted for compatibility; order and epochs do not
            depend on it (the original's threads each read `num_epochs`).

    Returns:
        `input_fn()` returning `(features, labels)` (features alone when `y`
        is None): tensors when called in a graph (an Estimator call), the
        `tf.data.Dataset` when called eagerly.

    Raises:
        ValueError: `shuffle` not a bool, empty `x`/`y`, keys in both, or
            arrays of different lengths.
        TypeError: `x` not an array or dict; a non-int batch size etc.
    """
    _feeding.check_shuffle(shuffle)
    _feeding.check_positive_int(batch_size, "batch_size")
    _feeding.check_positive_int(num_epochs, "num_epochs", allow_none=True)
    _feeding.check_positive_int(queue_capacity, "queue_capacity")
    _feeding.check_positive_int(num_threads, "num_threads")

    def input_fn():
        features = _features(x)
        labels = _labels(y, features)
        _check_lengths(features, labels, y)
        as_features = features if isinstance(x, dict) else features[_X_KEY]
        slices = as_features if labels is None else (as_features, labels)
        return _feeding.make_input(
            slices, batch_size, num_epochs, shuffle, queue_capacity
        )

    return input_fn


def _features(x):
    if isinstance(x, dict):
        if not x:
            raise ValueError("x cannot be an empty dict")
        return {key: np.asarray(x[key]) for key in sorted(x)}
    if isinstance(x, np.ndarray):
        if x.size == 0:
            raise ValueError("x cannot be an empty array")
        return {_X_KEY: x}
    raise TypeError(f"x must be a dict or array; got {type(x).__name__}")


def _labels(y, features):
    if y is None:
        return None
    if isinstance(y, dict):
        if not y:
            raise ValueError("y cannot be empty dict, use None instead.")
        duplicates = set(features) & set(y)
        if duplicates:
            raise ValueError(
                f"{len(duplicates)} duplicate keys are found in both x and y: "
                f"{duplicates}"
            )
        return {key: np.asarray(y[key]) for key in sorted(y)}
    return np.asarray(y)


def _check_lengths(features, labels, y):
    arrays = list(features.values())
    arrays += list(labels.values()) if isinstance(labels, dict) else []
    arrays += [labels] if isinstance(labels, np.ndarray) else []
    if len({a.shape[0] if a.ndim else None for a in arrays}) == 1:
        return
    x_shapes = {k: v.shape for k, v in features.items()}
    if isinstance(labels, dict):
        y_shapes = {k: v.shape for k, v in labels.items()}
    else:
        y_shapes = None if labels is None else labels.shape
    raise ValueError(
        "Length of tensors in x and y is mismatched. All elements in x and y "
        "must have the same length.\n"
        f"Shapes in x: {x_shapes}\n"
        f"Shapes in y: {y_shapes}\n"
    )
