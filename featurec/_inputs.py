"""Normalise feature values as users hold them into arrays the kernels take.

Accepted per feature: numpy arrays (rank 1 or 2; numeric columns also accept
higher ranks), Python lists (and lists of lists), pandas Series, eager
`tf.Tensor`, `tf.SparseTensor` / `tf.compat.v1.SparseTensorValue`,
`tf.RaggedTensor`, pyarrow Array / ChunkedArray, polars Series, and the
joined strings `featurec.dataset` passes (`_strings.JoinedStrings`). The
features themselves may be a dict, a pandas DataFrame, a pyarrow Table /
RecordBatch or a polars DataFrame (`as_mapping`). pyarrow and polars are never
imported here unless the user passes their objects (recognised by module name).

Semantics, as `input_layer` sees the same values:
* Python lists follow `tf.convert_to_tensor`: floats become float32, ints
  int32 (int64 when out of int32 range), strings UTF-8 bytes.
* A dense 2-D categorical input is padded: TF's ignore values (`''` for
  strings, `-1` for ints) are dropped. A list of lists with rows of different
  lengths is treated as that padded 2-D array, so ignore values are dropped
  too.
* `SparseTensor` and `RaggedTensor` values are used as they are (nothing is
  dropped), as input_layer treats a SparseTensor.

* Nulls (Arrow validity, missing values of pandas string columns) are the
  missing value of the equivalent dense input: `''` for strings, NaN for
  numbers, -1 for integer categorical features (decision 44).

String values become a CSR over one byte buffer: `buf` (uint8), `starts`,
`ends` (int64). numpy `S` arrays are viewed without copying, lengths taken by
trailing NULs (numpy `S` cannot hold trailing NULs, so TF sees the same).
Arrow strings are classified as ('strings', `_strings.StrSource`), which the
writer hashes in place; other consumers take its CSR form.
"""

import dataclasses
import math

import numpy as np

from featurec import _kernels, _pyobjects, _strings

_EMPTY_U8 = np.zeros(0, np.uint8)
_EMPTY_U8.flags.writeable = False

# Strided aranges (dense row splits, fixed-width string starts) keyed by
# (count, step). Small batches are dominated by per-column Python work, and
# every column of a batch needs the same few aranges, so they are made once.
# Only featurec's own code sees them and none of it writes to them; they stay
# writable so each kernel is compiled for one array type only.
_ARANGES = {}
_MAX_ARANGES = 64


def strided(count, step):
    """int64 `[0, step, ..., count * step]` (count + 1 values), cached."""
    a = _ARANGES.get((count, step))
    if a is None:
        if len(_ARANGES) >= _MAX_ARANGES:
            _ARANGES.clear()
        a = np.arange(0, count * step + 1, step, dtype=np.int64)
        _ARANGES[(count, step)] = a
    return a


@dataclasses.dataclass
class CatValues:
    """Categorical values of one feature in CSR form.

    Attributes:
        row_splits: int64[n+1].
        kind: 'str', 'int' or 'float'.
        values: int64 / float64 values (kind 'int' / 'float').
        buf, starts, ends: string bytes and bounds (kind 'str').
        dense: True when the values came from a dense (padded) input, whose
            ignore values categorical columns drop.
    """

    row_splits: np.ndarray
    kind: str
    values: np.ndarray = None
    buf: np.ndarray = None
    starts: np.ndarray = None
    ends: np.ndarray = None
    dense: bool = False
    addresses: tuple = None  # (buf, starts, ends) data addresses when known

    @property
    def size(self):
        return int(self.row_splits[-1])

    def take(self, row_splits, idx):
        """A new CatValues holding values `idx` under `row_splits`."""
        if self.kind == "str":
            return CatValues(
                row_splits, "str", buf=self.buf, starts=self.starts[idx], ends=self.ends[idx]
            )
        return CatValues(row_splits, self.kind, values=self.values[idx])

    def without_ignore_values(self):
        """Drops `''` / `-1` / `0.0` as TF's dense-to-sparse conversion does."""
        if not self.dense:
            return self
        if self.kind == "str":
            keep = self.ends > self.starts
        elif self.kind == "int":
            keep = self.values != -1
        else:
            keep = self.values != 0.0
        if keep.all():
            return CatValues(
                self.row_splits, self.kind, self.values, self.buf, self.starts, self.ends
            )
        splits, idx = _kernels.compact(self.row_splits, keep)
        return self.take(splits, idx)


def _error(cls, key, column, what):
    return cls(f"Feature {key!r} (column {column!r}): {what}")


# ---------------------------------------------------------------------------
# Classification of a raw value.
# ---------------------------------------------------------------------------


def classify(value, key, column):
    """Classifies one raw feature value; the result feeds the functions below.

    Returns:
        One of ('dense', ndarray), ('sparse', row of each value, values,
        batch size), ('ragged', row_splits, values) for a RaggedTensor, or
        ('lists', row_splits, values) for lists of lists of unequal lengths.

    Raises:
        ValueError: rank-0 values, unsupported tensor ranks, unconvertible
            lists.
        TypeError: values of an unsupported type.
    """
    if type(value) is np.ndarray:  # the common case, first: ~40 a call
        return ("dense", value)
    tname = type(value).__name__
    if isinstance(value, _strings.JoinedStrings):
        try:
            return ("strings", value.source())
        except ValueError as e:
            raise _error(ValueError, key, column, str(e)) from None
    module = type(value).__module__
    if module.startswith("pyarrow"):
        return _classify_arrow(value, key, column)
    if module.startswith("pandas") and tname != "Series" and _arrow_backed_array(value):
        return _classify_arrow(value.__arrow_array__(), key, column)  # a DataFrame's column
    if module.startswith("polars"):
        if not hasattr(value, "to_arrow") or tname == "DataFrame":
            raise _error(TypeError, key, column, f"unsupported value type {tname}.")
        return _classify_arrow(value.to_arrow(), key, column)
    if tname in ("SparseTensor", "SparseTensorValue"):
        indices = np.asarray(value.indices).reshape(-1, np.asarray(value.dense_shape).shape[0])
        shape = np.asarray(value.dense_shape)
        if shape.shape[0] not in (1, 2):
            raise _error(
                ValueError,
                key,
                column,
                f"SparseTensor of rank {shape.shape[0]} is not supported; use rank 1 or 2.",
            )
        rows = indices[:, 0].astype(np.int64)
        return ("sparse", rows, _values_array(value.values), int(shape[0]))
    if tname == "RaggedTensor":
        if value.ragged_rank != 1 or len(value.flat_values.shape) != 1:
            raise _error(
                ValueError, key, column, "only RaggedTensors of shape [batch, None] are supported."
            )
        splits = value.row_splits.numpy().astype(np.int64)
        return ("ragged", splits, _values_array(value.flat_values))
    if hasattr(value, "numpy") and callable(value.numpy):  # eager tf.Tensor
        return ("dense", value.numpy())
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):  # pandas
        if tname == "DataFrame":
            raise _error(TypeError, key, column, "a DataFrame where one column is expected.")
        if _arrow_backed(value):
            return _classify_arrow(value.array.__arrow_array__(), key, column)
        numpy_dtype = getattr(value.dtype, "numpy_dtype", None)
        if numpy_dtype is not None and numpy_dtype.kind in "biuf" and value.hasnans:
            # pandas' masked numbers (Int64, Float32, boolean): a missing
            # number is NaN, a missing integer id is -1 (see `_classify_arrow`).
            as_float = value.to_numpy(
                dtype=np.float32 if numpy_dtype == np.float32 else np.float64, na_value=np.nan
            )
            if numpy_dtype.kind in "iu":
                return ("nullable", value.fillna(-1).to_numpy(np.int64), as_float)
            return ("dense", as_float)
        if getattr(value.dtype, "storage", None) == "python" and value.hasnans:
            # pandas' own string storage: a missing string is '' (see
            # `_classify_arrow`), not the NaN / pandas.NA object it holds.
            value = value.fillna("")
        arr = value.to_numpy()
        if arr.dtype == object and arr.size and isinstance(arr[0], (list, tuple, np.ndarray)):
            return classify(list(arr), key, column)
        return ("dense", arr)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (list, tuple, np.ndarray)) for v in value):
            lengths = {len(v) for v in value}
            if len(lengths) > 1:
                splits = np.zeros(len(value) + 1, np.int64)
                np.cumsum([len(v) for v in value], out=splits[1:])
                flat = [x for v in value for x in v]
                return ("lists", splits, _list_array(flat, key, column))
        return ("dense", _list_array(value, key, column))
    if isinstance(value, np.ndarray):
        return ("dense", value)
    if isinstance(value, (str, bytes, int, float, np.generic)):
        raise _error(ValueError, key, column, f"Feature (key: {key}) cannot have rank 0.")
    raise _error(TypeError, key, column, f"unsupported value type {type(value).__name__}.")


def _arrow_backed(series):
    """Whether a pandas Series keeps its values in Arrow memory (`str` with
    pyarrow storage, `string[pyarrow]`, `ArrowDtype`)."""
    return _arrow_backed_array(series.array)


def _classify_arrow(value, key, column):
    """A pyarrow Array / ChunkedArray: strings read in place, numbers as numpy.

    Nulls: missing strings are `''` (TF's ignore value: no id), missing
    numbers NaN for numeric columns and -1 (the ignore value) for integer
    categorical columns.
    """
    if not hasattr(value, "type") or not hasattr(value, "to_numpy"):
        raise _error(
            TypeError, key, column, f"unsupported value type {type(value).__name__} (one column is expected)."
        )
    # `num_chunks` first: `chunks` builds a new list on every access.
    num_chunks = getattr(value, "num_chunks", None)
    if num_chunks is None:
        chunks = [value]
    else:
        chunks = [value.chunk(0)] if num_chunks == 1 else value.chunks
    n = len(value)
    pa_type = value.type
    type_name = str(pa_type)
    if type_name.startswith("dictionary"):
        chunks = [c.dictionary_decode() for c in chunks]
        pa_type = chunks[0].type if chunks else pa_type.value_type
        type_name = str(pa_type)
    large = _strings.arrow_string_type(type_name)
    try:
        if large is not None:
            return ("strings", _strings.from_arrow(chunks, n, large))
        if type_name in ("string_view", "binary_view"):
            # Views have no offsets buffer: one copy into large_string first.
            target = "large_string" if type_name == "string_view" else "large_binary"
            return ("strings", _strings.from_arrow([c.cast(target) for c in chunks], n, True))
    except ValueError as e:
        raise _error(ValueError, key, column, str(e)) from None
    if type_name.startswith(("list", "large_list", "fixed_size_list")):
        return classify(value.to_pylist(), key, column)
    if type_name == "null":
        return ("dense", np.full(n, np.nan, np.float32))
    kind = None
    try:
        import pyarrow.types as pat  # noqa: PLC0415

        if pat.is_integer(pa_type):
            kind = "int"
        elif pat.is_floating(pa_type) or pat.is_boolean(pa_type):
            kind = "num"
    except ImportError:  # pragma: no cover - pyarrow objects imply pyarrow
        pass
    if kind is None:
        raise _error(TypeError, key, column, f"unsupported Arrow type {type_name}.")
    nulls = value.null_count
    if kind == "int" and nulls:
        filled = value.fill_null(-1).to_numpy()
        as_float = np.asarray(value.to_numpy(zero_copy_only=False), np.float64)
        return ("nullable", filled, as_float)
    if pat.is_boolean(pa_type) and nulls:
        return ("dense", np.asarray(value.cast("float32").to_numpy(zero_copy_only=False), np.float32))
    return ("dense", np.asarray(value.to_numpy(zero_copy_only=False)))


def as_mapping(features):
    """The features mapping of a pandas DataFrame, pyarrow Table/RecordBatch
    or polars DataFrame; other mappings (dict) as they are."""
    module = type(features).__module__
    if module.startswith("pyarrow") and hasattr(features, "column_names"):
        return dict(zip(features.column_names, features.columns))
    if module.startswith("polars") and hasattr(features, "get_columns"):
        return {s.name: s for s in features.get_columns()}
    if module.startswith("pandas") and type(features).__name__ == "DataFrame":
        return FrameColumns(features)
    return features


class FrameColumns:
    """A pandas DataFrame's columns by name, as their backing arrays.

    `df[key]` builds a Series (~40 us a column, most of a small batch's
    time); the block manager hands out the Arrow-backed array or the numpy
    column itself. Anything unusual (duplicate names, other extension
    arrays, a pandas without that internal) goes through `df[key]`.
    """

    def __init__(self, frame):
        self._frame = frame

    def keys(self):
        return self._frame.keys()

    def __contains__(self, key):
        return key in self._frame.columns

    def get(self, key, default=None):
        """The column's value, or `default` when the frame has no such
        column (one index lookup, where `in` then `[]` took two)."""
        try:
            loc = self._frame.columns.get_loc(key)
        except KeyError:
            return default
        except Exception:  # noqa: BLE001 - unusual keys: pandas' own answer
            return self[key] if key in self else default
        return self._column(key, loc)

    def __getitem__(self, key):
        return self._column(key, None)

    def _column(self, key, loc):
        frame = self._frame
        try:
            if loc is None:
                loc = frame.columns.get_loc(key)
            if isinstance(loc, int):
                values = frame._mgr.iget_values(loc)
                if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype != object:
                    return values
                if _arrow_backed_array(values):
                    # Its pyarrow array, which `classify` reads directly (the
                    # same value it would take from the pandas array).
                    return values.__arrow_array__()
        except (AttributeError, TypeError, KeyError):  # pragma: no cover - other pandas
            pass
        return frame[key]


def _arrow_backed_array(values):
    dtype = getattr(values, "dtype", None)
    if type(dtype).__name__ == "ArrowDtype":
        return True
    return getattr(dtype, "storage", None) == "pyarrow" and hasattr(values, "__arrow_array__")


def _values_array(values):
    arr = values.numpy() if hasattr(values, "numpy") else np.asarray(values)
    return arr.reshape(-1)


def _list_array(value, key, column):
    """Python list -> ndarray with tf.convert_to_tensor's dtype choices."""
    flat = value
    while flat and isinstance(flat[0], (list, tuple, np.ndarray)):
        flat = flat[0]
    if flat and isinstance(flat[0], (str, bytes)):
        if isinstance(value[0], (list, tuple, np.ndarray)):
            arr = np.array([list(v) for v in value], dtype=object)
        else:
            arr = np.empty(len(value), object)
            arr[:] = list(value)
        if arr.ndim > 2:
            raise _error(ValueError, key, column, "nested lists must be at most 2 levels deep.")
        return arr
    try:
        arr = np.asarray(value)
    except (ValueError, OverflowError) as e:
        raise _error(ValueError, key, column, f"cannot convert list to a tensor ({e}).") from None
    if arr.dtype == np.float64:
        with np.errstate(over="ignore"):  # TF also rounds 1e39 to inf
            return arr.astype(np.float32)
    if arr.dtype.kind in "iu":
        if arr.dtype == np.uint64 or (arr.size and (arr.max() > 2**63 - 1)):
            raise _error(ValueError, key, column, "integer value out of int64 range.")
        if not arr.size or (arr.min() >= -(2**31) and arr.max() < 2**31):
            return arr.astype(np.int32)
        return arr.astype(np.int64)
    if arr.dtype == object:
        raise _error(
            ValueError,
            key,
            column,
            "cannot convert list to a tensor (mixed types, or integers out of int64 range).",
        )
    return arr


def batch_size(c, key, column):
    """Number of rows a classified feature value holds."""
    if c[0] == "strings":
        return c[1].n
    if c[0] in ("dense", "nullable"):
        if c[1].ndim == 0:
            raise _error(ValueError, key, column, f"Feature (key: {key}) cannot have rank 0.")
        return c[1].shape[0]
    if c[0] == "sparse":
        return c[3]
    return c[1].shape[0] - 1


# ---------------------------------------------------------------------------
# Numeric.
# ---------------------------------------------------------------------------


def numeric(c, key, column, width):
    """Dense `[n, width]` array in the input's own dtype (bool/int/float).

    Raises:
        ValueError: sparse/ragged input, rank 0, or a per-row element count
            different from `width`.
        TypeError: non-numeric values (strings, objects).
    """
    if c[0] == "sparse":
        raise _error(
            ValueError,
            key,
            column,
            "The corresponding Tensor of numerical column must be a Tensor. SparseTensor is not supported.",
        )
    if c[0] == "strings":
        raise _error(TypeError, key, column, "expected numbers for a numeric column, got strings.")
    if c[0] not in ("dense", "nullable"):
        raise _error(
            ValueError,
            key,
            column,
            "ragged input where a dense value is required (numeric columns need equal-length rows).",
        )
    arr = c[2] if c[0] == "nullable" else c[1]
    if arr.dtype == object:
        try:
            arr = _list_array(arr.tolist(), key, column)
        except ValueError:
            raise _error(TypeError, key, column, "expected numbers for a numeric column.") from None
    if arr.dtype.kind not in "biuf":
        raise _error(
            TypeError, key, column, f"expected numbers for a numeric column, got dtype {arr.dtype}."
        )
    if arr.ndim == 0:
        raise _error(ValueError, key, column, f"Feature (key: {key}) cannot have rank 0.")
    n = arr.shape[0]
    if arr.ndim == 1:
        arr = arr.reshape(n, 1)
    per_row = math.prod(arr.shape[1:])
    if per_row != width:
        raise _error(
            ValueError, key, column, f"expected {width} values per row, got shape {arr.shape}."
        )
    return arr.reshape(n, width)


# ---------------------------------------------------------------------------
# Categorical.
# ---------------------------------------------------------------------------


def categorical(c, key, column, expect="any"):
    """CSR values of a categorical feature (ignore values not yet dropped).

    Args:
        value: the raw feature value.
        key, column: names used in error messages.
        expect: 'str' or 'int' to type empty inputs; 'any' otherwise.

    Raises:
        ValueError: rank 0 or rank > 2, malformed sparse indices, ints out of
            int64 range.
        TypeError: values that are neither strings nor numbers.
    """
    if c[0] == "strings":
        try:
            buf, starts, ends = c[1].catvalues_parts()
        except ValueError as e:
            raise _error(ValueError, key, column, str(e)) from None
        return CatValues(_strided_or_empty(c[1].n, c[1].per_row), "str", buf=buf, starts=starts, ends=ends, dense=True)
    if c[0] in ("dense", "nullable"):
        arr = c[1]
        if arr.ndim == 0:
            raise _error(ValueError, key, column, f"Feature (key: {key}) cannot have rank 0.")
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise _error(
                ValueError, key, column, f"categorical input must have rank 1 or 2, got shape {arr.shape}."
            )
        n, k = arr.shape
        if k:
            splits = strided(n, k)
        else:
            splits = np.zeros(n + 1, np.int64)
        out = _flat_values(arr.reshape(-1), splits, key, column, expect)
        out.dense = True
        return out
    if c[0] == "sparse":
        _, rows, values, n = c
        if rows.shape[0] != values.shape[0]:
            raise _error(
                ValueError, key, column, "SparseTensor indices and values differ in length."
            )
        if rows.size and (rows.min() < 0 or rows.max() >= n):
            raise _error(
                ValueError, key, column, "SparseTensor row index out of range of dense_shape."
            )
        if rows.size > 1 and np.any(rows[1:] < rows[:-1]):
            order = np.argsort(rows, kind="stable")
            rows, values = rows[order], values[order]
        splits = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=splits[1:])
        return _flat_values(values, splits, key, column, expect)
    if c[0] == "ragged":
        return _flat_values(c[2], c[1], key, column, expect)
    # Ragged lists of lists: the padded 2-D array they stand for is dense.
    out = _flat_values(c[2], c[1], key, column, expect)
    out.dense = True
    return out


def _strided_or_empty(n, k):
    return strided(n, k) if k else np.zeros(n + 1, np.int64)


def _flat_values(values, splits, key, column, expect):
    kind = values.dtype.kind
    if kind in "SUO" and (kind != "O" or values.size == 0 or isinstance(values[0], (str, bytes))):
        buf, starts, ends, addresses = strings(values, key, column)
        return CatValues(splits, "str", buf=buf, starts=starts, ends=ends, addresses=addresses)
    if values.size == 0 and expect == "str":
        none = np.zeros(0, np.int64)
        return CatValues(splits, "str", buf=_EMPTY_U8, starts=none, ends=none)
    if kind == "O":
        raise _error(
            TypeError,
            key,
            column,
            f"values must all be strings or all numbers; got {type(values[0]).__name__}.",
        )
    if kind == "u" and values.dtype.itemsize == 8 and values.size and values.max() > 2**63 - 1:
        raise _error(ValueError, key, column, "integer value out of int64 range.")
    if kind in "iu":
        return CatValues(splits, "int", values=values.astype(np.int64))
    if kind == "f":
        return CatValues(splits, "float", values=values.astype(np.float64))
    raise _error(
        TypeError, key, column, f"unsupported dtype {values.dtype} for a categorical feature."
    )


def looks_like_strings(values):
    """Whether a U or object array holds strings (judged by its first value)."""
    return values.dtype.kind == "U" or isinstance(values.reshape(-1)[0], (str, bytes))


def strings(values, key, column):
    """(buf, starts, ends, addresses) for a 1-D array of S, U or object
    (str/bytes) dtype; addresses are the three arrays' data addresses when
    the packer computed them, else None.

    Raises:
        TypeError: an object array holding something other than str/bytes.
    """
    kind = values.dtype.kind
    if kind == "U":
        try:
            values = values.astype("S")
        except UnicodeEncodeError:
            values = np.char.encode(values, "utf-8")
        kind = "S"
    if kind == "S":
        values = np.ascontiguousarray(values)
        w = values.dtype.itemsize
        n = values.shape[0]
        if w == 0 or n == 0:
            zeros = np.zeros(n, np.int64)
            return _EMPTY_U8, zeros, zeros, None
        buf2d = values.view(np.uint8).reshape(n, w)
        # Every string buffer reaches the kernels read-only, so each kernel
        # is compiled for one buffer type only.
        buf2d.flags.writeable = False
        # The first n of the n + 1 cached offsets; a view, as no one writes it.
        starts = strided(n, w)[:n]
        return buf2d.reshape(-1), starts, starts + _kernels.fixed_width_lengths(buf2d), None
    packed = _pyobjects.pack(values)
    if packed is not None:
        return packed
    # Items that are not all str/bytes (the errors below name them), or
    # an interpreter the packer does not read.
    items = values.tolist()
    try:
        joined = _join(items)
        if joined is not None:
            buf = np.frombuffer(joined, np.uint8) if joined else _EMPTY_U8
            # NUL separators give the boundaries, unless a string holds a NUL.
            starts = np.empty(len(items), np.int64)
            ends = np.empty(len(items), np.int64)
            if _kernels.split_joined(buf, starts, ends):
                return buf, starts, ends, None
        encoded = [v.encode("utf-8") if isinstance(v, str) else v for v in items]
    except UnicodeEncodeError as e:
        raise _error(
            ValueError,
            key,
            column,
            f"string cannot be encoded as UTF-8 ({e.reason}: {e.object[e.start : e.end]!r}).",
        ) from None
    try:
        joined = b"".join(encoded)
    except TypeError:
        bad = next(v for v in encoded if not isinstance(v, (bytes, bytearray)))
        raise _error(
            TypeError, key, column, f"expected strings, got {type(bad).__name__} {bad!r}."
        ) from None
    lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
    ends = np.cumsum(lengths)
    buf = np.frombuffer(joined, np.uint8) if joined else _EMPTY_U8
    return buf, ends - lengths, ends, None


def _join(items):
    """All-str or all-bytes items joined by NUL in C (UTF-8 never holds 0x00
    except for NUL itself); None for mixed or other types."""
    if not items:
        return None
    try:
        if isinstance(items[0], str):
            return "\x00".join(items).encode("utf-8")
        return b"\x00".join(items)
    except TypeError:
        return None


def weights(c, key, column, dtype):
    """(row_splits, float32 weights) of a weight feature; dense zeros dropped.

    Raises:
        ValueError: dtype different from the column's weight dtype.
    """
    cat_like = categorical(c, key, column)
    if cat_like.kind == "str":
        raise _error(
            ValueError, key, column, f"Bad dtype of weight feature: expected {dtype}, got strings."
        )
    raw_dtype = c[1].dtype if c[0] in ("dense", "nullable") else c[2].dtype
    if raw_dtype != dtype:
        raise _error(
            ValueError, key, column, f"Bad dtype of weight feature: expected {dtype}, got {raw_dtype}."
        )
    vals = cat_like.values.astype(np.float32)
    # TF runs with denormals-are-zero: a subnormal weight is a zero weight.
    vals[np.abs(vals) < np.finfo(np.float32).tiny] = 0.0
    if cat_like.dense:
        keep = vals != 0.0
        if not keep.all():
            splits, idx = _kernels.compact(cat_like.row_splits, keep)
            return splits, vals[idx]
    return cat_like.row_splits, vals

