"""`pandas_input_fn`: feeds a pandas DataFrame's columns to a model."""

import numpy as np

from kerasbridge.inputs import _feeding


def pandas_input_fn(
    x,
    y=None,
    batch_size=128,
    num_epochs=1,
    shuffle=None,
    queue_capacity=1000,
    num_threads=1,
    target_column="target",
):
    """Returns an `input_fn` feeding a DataFrame, as the original did.

    The DataFrame's columns become the features dict (keyed by column name);
    a Series `y` becomes the labels tensor, a DataFrame `y` a labels dict
    keyed by its column names. String columns (which the original could not
    feed) become `tf.string` features.

    Args:
        x: A pandas `DataFrame`.
        y: A pandas `Series` or `DataFrame` whose index equals `x`'s, or None.
        batch_size: Rows per batch; the last batch is short when `num_epochs`
            ends the input mid-batch.
        num_epochs: Passes over the rows; None repeats forever.
        shuffle: Required bool: read rows in random order.
        queue_capacity: Size of the shuffle buffer; None means about the
            size of `x` (4 times it when shuffling), as in the original.
        num_threads: Accepted for compatibility; order and epochs do not
            depend on it.
        target_column: Must be a string not naming a column of `x`; kept for
            compatibility (a Series `y` always becomes the labels tensor).

    Returns:
        `input_fn()` returning `(features, labels)` (features alone when `y`
        is None): tensors in a graph (an Estimator call), the
        `tf.data.Dataset` when called eagerly.

    Raises:
        ValueError: `shuffle` not a bool, `target_column` names a column of
            `x`, the indexes of `x` and `y` differ, or a string column has
            missing values.
        TypeError: `target_column` not a string, `x` not a DataFrame, a
            column of a dtype TF cannot hold, or pandas not installed.
    """
    try:
        import pandas as pd  # noqa: PLC0415 (pandas is optional)
    except ImportError:
        raise TypeError(
            "pandas_input_fn should not be called without pandas installed"
        ) from None

    _feeding.check_shuffle(shuffle)
    if not isinstance(target_column, str):
        raise TypeError("target_column must be a string type")
    if not isinstance(x, pd.DataFrame):
        raise TypeError(
            f"x must be a pandas DataFrame; got {type(x).__name__}"
        )
    _feeding.check_positive_int(batch_size, "batch_size")
    _feeding.check_positive_int(num_epochs, "num_epochs", allow_none=True)
    _feeding.check_positive_int(
        queue_capacity, "queue_capacity", allow_none=True
    )
    _feeding.check_positive_int(num_threads, "num_threads")
    if y is not None:
        if target_column in x:
            raise ValueError(
                f"Cannot use name {target_column} for target column: "
                "DataFrame already has a column with that name: "
                f"{x.columns}"
            )
        if not np.array_equal(x.index, y.index):
            raise ValueError(
                "Index for x and y are mismatched.\n"
                f"Index for x: {x.index}\nIndex for y: {y.index}\n"
            )
    if queue_capacity is None:
        queue_capacity = 4 * len(x) if shuffle else len(x)
    features = {str(name): _column(x[name], name) for name in x.columns}
    if y is None:
        labels = None
    elif isinstance(y, pd.DataFrame):
        labels = {str(name): _column(y[name], name) for name in y.columns}
    else:
        labels = _column(y, getattr(y, "name", None) or target_column)

    def input_fn():
        slices = features if labels is None else (features, labels)
        return _feeding.make_input(
            slices, batch_size, num_epochs, shuffle, queue_capacity
        )

    return input_fn


def _column(series, name):
    """A column as a numpy array `tf.data` can slice."""
    from pandas.api import types as pd_types  # noqa: PLC0415

    dtype = series.dtype
    if pd_types.is_bool_dtype(dtype) or pd_types.is_numeric_dtype(dtype):
        numpy_dtype = getattr(dtype, "numpy_dtype", None)
        if numpy_dtype is None:
            return series.to_numpy()
        # A nullable extension column (Int64, boolean, Float32, ...).
        if series.isna().any():
            return series.to_numpy(dtype=np.float64, na_value=np.nan)
        return series.to_numpy(dtype=numpy_dtype)
    values = series.to_numpy()
    if values.dtype.kind in "OUS":
        if series.isna().any():
            raise ValueError(
                f"Column {name!r} has missing values; a string feature "
                "needs a value in every row (fill them, e.g. with '')."
            )
        return np.asarray(values, dtype=object).astype(str)
    raise TypeError(
        f"Column {name!r} has dtype {dtype}, which has no TensorFlow "
        "dtype; convert it (e.g. to int64, float or str) first."
    )
