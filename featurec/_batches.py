"""`featurec.batches`: model-ready batches straight from in-memory features.

`featurec.dataset` maps the raw batches of a `tf.data` pipeline. When the
raw features are already in memory (numpy arrays, a pandas DataFrame, Arrow
or polars columns) that pipeline's own first stage,
`from_tensor_slices(features).batch(n)`, cuts every feature row by row and
turns strings into `tf.string` tensors; measured on the Criteo-like set it
costs as much as TF's whole feature-column stage. Here a batch is cut from
the arrays themselves (a slice, or one gather a feature when shuffled) inside
the `numpy_function` that runs the kernels, so raw features never cross into
TensorFlow: only the model's inputs (and the labels) do.
"""

import math
import threading

import numpy as np
import tensorflow as tf

from featurec import _dataset, _inputs, _spec


def batches(
    features,
    feature_columns,
    labels=None,
    batch_size=128,
    num_epochs=1,
    shuffle=False,
    seed=None,
    drop_remainder=False,
    num_parallel_calls=tf.data.AUTOTUNE,
    prefetch=tf.data.AUTOTUNE,
):
    """A `tf.data.Dataset` of model-ready batches from in-memory features.

    Yields what `featurec.dataset` yields (the float32 matrix input_layer
    returns, or for trained embedding columns the dict `featurec.input_layer`
    reads), paired with the batch's labels when `labels` is given. Batches
    come in order (each epoch's last one may be short) unless `shuffle`.

    Args:
        features: dict feature key -> numpy array / list / pandas Series /
            pyarrow Array or ChunkedArray / polars Series / eager tensor, all
            with the same number of rows; or a pandas DataFrame, pyarrow
            Table / RecordBatch, polars DataFrame.
        feature_columns: the dense feature columns, or a `featurec.Transform`.
        labels: optional array-like (numpy, list, pandas Series or
            DataFrame) with one row per feature row.
        batch_size: rows a batch.
        num_epochs: passes over the data; None repeats forever.
        shuffle: a new order of the rows every epoch.
        seed: the shuffle's seed (None: a fresh one per call).
        drop_remainder: drop each epoch's last batch when it is short.
        num_parallel_calls: batches computed concurrently.
        prefetch: batches prepared ahead (None: no prefetch).

    Returns:
        `tf.data.Dataset` of features, or of `(features, labels)`.

    Raises:
        ValueError: a missing feature (naming it and its column), features
            or labels with different numbers of rows, no rows, a bad
            `batch_size` / `num_epochs`.
        TypeError: a feature whose rows cannot be cut here (a SparseTensor or
            RaggedTensor: use `featurec.dataset` on a `tf.data` pipeline).
    """
    outputs = _dataset.ModelInputs(feature_columns)
    batch_size = _positive_int(batch_size, "batch_size")
    if num_epochs is not None:
        num_epochs = _positive_int(num_epochs, "num_epochs")
    mapping = _inputs.as_mapping(features)
    columns = {}
    for key, column in outputs.plan.required:
        if key in columns:
            continue
        if key not in mapping:
            raise ValueError(
                f"Feature {key!r} is not in features dictionary (needed by column {column!r})."
            )
        columns[key] = _RowSource(mapping[key], key, column)
    label_source = None if labels is None else _RowSource(labels, None, None)
    rows = _common_rows(columns, label_source)
    order = _Order(rows, batch_size, shuffle, seed, drop_remainder)

    def compute(index):
        selection = order.rows(int(index))
        batch = {key: source.take(selection) for key, source in columns.items()}
        results = list(outputs.compute(batch))
        if label_source is not None:
            results.append(np.asarray(label_source.take(selection)))
        return results

    dtypes = list(outputs.dtypes)
    if label_source is not None:
        dtypes.append(tf.as_dtype(label_source.dtype))

    def make_batch(index):
        tensors = tf.numpy_function(compute, [index], dtypes, name="featurec_batches")
        if label_source is None:
            return outputs.structure(tensors)
        label = tensors[-1]
        label.set_shape([None] + list(label_source.row_shape))
        return outputs.structure(tensors[:-1]), label

    if num_epochs is None:
        indices = tf.data.Dataset.counter()
    else:
        indices = tf.data.Dataset.range(order.per_epoch * num_epochs)
    ds = indices.map(make_batch, num_parallel_calls=num_parallel_calls, deterministic=True)
    return ds.prefetch(prefetch) if prefetch is not None else ds


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} must be positive; got {value}.")
    return int(value)


def _common_rows(columns, label_source):
    counts = {key: source.rows for key, source in columns.items()}
    if label_source is not None:
        counts["labels"] = label_source.rows
    if len(set(counts.values())) > 1:
        described = ", ".join(f"{k!r}: {n}" for k, n in counts.items())
        raise ValueError(f"featurec.batches needs the same number of rows everywhere; got {described}.")
    rows = next(iter(counts.values()), 0)
    if rows == 0:
        raise ValueError("featurec.batches needs at least one row of features.")
    return rows


class _RowSource:
    """One in-memory feature (or the labels), cut by rows.

    Kept in the form the kernels read fastest: numpy arrays as they are;
    Arrow-backed strings (pandas `str` with pyarrow storage, pyarrow, polars)
    as one contiguous pyarrow array, sliced in place or gathered by
    `Array.take`; other pandas Series (nullable numbers, python-stored
    strings) as the Series, cut with `iloc` so their nulls keep featurec's
    rule.
    """

    def __init__(self, value, key, column):
        where = "the labels" if key is None else (
            f"feature {key!r}" + (f" (column {column!r})" if column else ""))
        tname = type(value).__name__
        module = type(value).__module__
        if tname in ("SparseTensor", "SparseTensorValue", "RaggedTensor"):
            raise TypeError(
                f"featurec.batches cannot cut the rows of {where}, a {tname}: pass dense "
                "arrays, or use featurec.dataset on a tf.data pipeline."
            )
        if module.startswith("polars") and hasattr(value, "to_arrow") and tname != "DataFrame":
            value = value.to_arrow()
            module = "pyarrow"
        if module.startswith("pandas") and _inputs._arrow_backed_array(getattr(value, "array", value)):
            value = getattr(value, "array", value).__arrow_array__()
            module = "pyarrow"
        if module.startswith("pyarrow"):
            if hasattr(value, "combine_chunks"):
                value = value.combine_chunks()  # once, so every batch is one slice
            self._kind, self._value = "arrow", value
            self.rows, self.row_shape = len(value), ()
            self.dtype = np.dtype(object)
            return
        if module.startswith("pandas") and hasattr(value, "iloc"):
            if tname == "DataFrame" or isinstance(value.dtype, np.dtype):
                value = value.to_numpy()
            else:  # an extension dtype: nullable numbers, python-stored strings
                self._kind, self._value = "pandas", value
                self.rows, self.row_shape = len(value), ()
                self.dtype = np.dtype(getattr(value.dtype, "numpy_dtype", object))
                return
        if hasattr(value, "numpy") and callable(value.numpy):
            value = value.numpy()
        if isinstance(value, (list, tuple)):
            kind, *parts = _inputs.classify(value, key or "labels", column)
            if kind != "dense":
                raise TypeError(
                    f"featurec.batches cannot cut the rows of {where}: rows of different "
                    "lengths; pass a padded array (TF drops '' and -1 as input_layer does), "
                    "or use featurec.dataset on a tf.data pipeline."
                )
            value = parts[0]
        if isinstance(value, (np.generic, int, float, str, bytes)):
            value = np.asarray(value)  # rank 0, refused below
        if not isinstance(value, np.ndarray):
            raise TypeError(f"featurec.batches: unsupported value type {tname} of {where}.")
        if value.ndim == 0:
            raise ValueError(f"featurec.batches: {where} cannot have rank 0.")
        self._kind, self._value = "numpy", value
        self.rows, self.row_shape = value.shape[0], value.shape[1:]
        self.dtype = value.dtype

    def take(self, selection):
        """The rows `selection` (a slice, or int64 row numbers) of the feature."""
        value = self._value
        if self._kind == "numpy":
            return value[selection] if isinstance(selection, slice) else value.take(selection, axis=0)
        if self._kind == "arrow":
            if isinstance(selection, slice):
                return value.slice(selection.start, selection.stop - selection.start)
            return value.take(selection)
        return value.iloc[selection]


class _Order:
    """Which rows batch `index` holds: epochs of `per_epoch` batches; with
    `shuffle`, each epoch a permutation drawn from `(seed, epoch)`, so a
    seed gives the same batches whatever order tf.data's parallel calls run
    in."""

    def __init__(self, rows, batch_size, shuffle, seed, drop_remainder):
        self._rows, self._size, self._shuffle = rows, batch_size, bool(shuffle)
        self.per_epoch = rows // batch_size if drop_remainder else math.ceil(rows / batch_size)
        if self.per_epoch == 0:
            raise ValueError(
                f"featurec.batches: {rows} rows make no batch of batch_size {batch_size} "
                "with drop_remainder=True."
            )
        self._seed = np.random.SeedSequence(seed).entropy
        self._permutations = {}
        self._lock = threading.Lock()

    def rows(self, index):
        epoch, batch = divmod(index, self.per_epoch)
        lo = batch * self._size
        hi = min(self._rows, lo + self._size)
        if not self._shuffle:
            return slice(lo, hi)
        return self._permutation(epoch)[lo:hi]

    def _permutation(self, epoch):
        with self._lock:
            perm = self._permutations.get(epoch)
            if perm is None:
                rng = np.random.default_rng([self._seed, epoch])
                perm = rng.permutation(self._rows)
                self._permutations[epoch] = perm
                # Parallel calls work on neighbouring batches: older epochs are done.
                for old in [e for e in self._permutations if e < epoch - 1]:
                    del self._permutations[old]
            return perm
