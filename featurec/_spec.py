"""Read `tf.feature_column` objects into plain, validated specs.

The specs are frozen dataclasses holding only Python/numpy values, so the plan
and kernels never touch TensorFlow. Column classes are recognised by class name
(v2 `NumericColumn` and v1 `_NumericColumn` alike), reading the namedtuple
fields both generations share.
"""

import dataclasses
import math
import types
from typing import Optional

import numpy as np

from featurec import normalizers as _normalizers

_NOT_DENSE_MSG = (
    "Items of feature_columns must be a _DenseColumn. You can wrap a "
    "categorical column with an embedding_column or indicator_column. Given: {}"
)
_CATEGORICAL = {
    "HashedCategoricalColumn",
    "VocabularyListCategoricalColumn",
    "VocabularyFileCategoricalColumn",
    "IdentityCategoricalColumn",
    "BucketizedColumn",
    "CrossedColumn",
    "WeightedCategoricalColumn",
}


# ---------------------------------------------------------------------------
# Dense (output) specs.
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NumericSpec:
    name: str
    key: str
    shape: tuple
    normalizer: object  # None | normalizers.Normalizer | python function

    @property
    def width(self):
        # math.prod: np.prod costs microseconds, and this runs per call.
        return int(math.prod(self.shape))


@dataclasses.dataclass(frozen=True)
class BucketizedSpec:
    name: str
    source: NumericSpec
    boundaries: tuple  # python floats, strictly increasing

    @property
    def dim(self):
        return self.source.width

    @property
    def num_buckets(self):
        return (len(self.boundaries) + 1) * self.dim

    @property
    def width(self):
        return self.num_buckets


@dataclasses.dataclass(frozen=True)
class IndicatorSpec:
    name: str
    cat: object

    @property
    def width(self):
        return self.cat.num_buckets


@dataclasses.dataclass(frozen=True)
class EmbeddingSpec:
    name: str
    cat: object
    dim: int
    combiner: str
    max_norm: Optional[float]
    table_name: str  # the variable scope input_layer uses for the table

    @property
    def width(self):
        return self.dim


# ---------------------------------------------------------------------------
# Categorical specs (produce ids).
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HashSpec:
    name: str
    key: str
    num_buckets: int
    is_string: bool


@dataclasses.dataclass(frozen=True)
class VocabSpec:
    name: str
    key: str
    vocab: tuple  # bytes (string vocab) or ints
    is_string: bool
    default_value: int
    num_oov_buckets: int

    @property
    def num_buckets(self):
        return len(self.vocab) + self.num_oov_buckets


@dataclasses.dataclass(frozen=True)
class IdentitySpec:
    name: str
    key: str
    num_buckets: int
    default_value: Optional[int]


@dataclasses.dataclass(frozen=True)
class CrossedSpec:
    name: str
    keys: tuple  # leaf keys in order: str (raw feature) or a categorical spec
    num_buckets: int
    hash_key: int


@dataclasses.dataclass(frozen=True)
class WeightedSpec:
    name: str
    cat: object
    weight_key: str
    weight_dtype: np.dtype

    @property
    def num_buckets(self):
        return self.cat.num_buckets


# ---------------------------------------------------------------------------
# Readers.
# ---------------------------------------------------------------------------


def _kind(column):
    return type(column).__name__.lstrip("_")


def as_column_list(feature_columns):
    """`feature_columns` as a list; a single column becomes `[column]`.

    TF's input_layer accepts one column as well as an iterable of them. v2
    columns are namedtuples, so a single column must be recognised before
    it is iterated (iterating it would yield its fields).
    """
    if feature_columns is None:
        raise ValueError("feature_columns must not be None.")
    if _is_column(feature_columns):
        return [feature_columns]
    return list(feature_columns)


def _is_column(value):
    return hasattr(value, "name") and (
        hasattr(value, "parse_example_spec")
        or hasattr(value, "_parse_example_spec")
    )


def read_columns(feature_columns):
    """Converts what input_layer accepts into dense specs.

    Args:
        feature_columns: one dense `tf.feature_column` column or an iterable
            of them.

    Returns:
        A list of dense specs (Numeric/Bucketized/Indicator/Embedding) in the
        order given.

    Raises:
        ValueError: for columns input_layer rejects (bare categorical, v2
            shared embeddings, sequence columns), duplicate names, or an empty
            list.
        TypeError: for objects that are not feature columns, or an
            unsupported `normalizer_fn`.
    """
    feature_columns = as_column_list(feature_columns)
    if not feature_columns:
        raise ValueError("Expected feature_columns to be iterable, found: []")
    specs, names = [], set()
    for column in feature_columns:
        spec = _read_dense(column)
        if spec.name in names:
            raise ValueError(f"Duplicate feature column name found for columns: {spec.name}")
        names.add(spec.name)
        specs.append(spec)
    return specs


def _read_dense(column):
    kind = _kind(column)
    if "Sequence" in kind:
        raise ValueError(
            f"Sequence columns are not supported by input_layer or featurec: "
            f"{getattr(column, 'name', column)!r} ({type(column).__name__})."
        )
    if kind == "SharedEmbeddingColumn" and type(column).__name__ == "SharedEmbeddingColumn":
        raise ValueError(
            "SharedEmbeddingColumns are not supported in `linear_model` or "
            "`input_layer`. Please use `DenseFeatures` or `LinearModel` instead. "
            f"(column {column.name!r}; for featurec and input_layer use "
            "tf.compat.v1.feature_column.shared_embedding_columns instead of "
            "tf.feature_column.shared_embeddings.)"
        )
    if kind == "NumericColumn":
        return _read_numeric(column)
    if kind == "BucketizedColumn":
        return _read_bucketized(column)
    if kind == "IndicatorColumn":
        return IndicatorSpec(column.name, read_categorical(column.categorical_column))
    if kind in ("EmbeddingColumn", "SharedEmbeddingColumn"):
        return _read_embedding(column, kind)
    if kind in _CATEGORICAL or kind.endswith("CategoricalColumn"):
        raise ValueError(_NOT_DENSE_MSG.format(column))
    raise TypeError(
        f"Unsupported feature column {column!r} of type {type(column).__name__}: "
        "featurec compiles numeric, bucketized, indicator, embedding and v1 shared "
        "embedding columns (wrapping hash bucket, vocabulary, identity, crossed "
        "and weighted categorical columns)."
    )


def _read_numeric(column):
    shape = tuple(int(d) for d in column.shape)
    fn = column.normalizer_fn
    if fn is _normalizers.log1p:
        fn = _normalizers.log1p()
    if fn is not None and not isinstance(fn, _normalizers.Normalizer):
        if not isinstance(fn, types.FunctionType):
            raise TypeError(
                f"Unsupported normalizer_fn {fn!r} of numeric_column {column.name!r}: "
                "featurec accepts featurec.normalizers (zscore, log1p, clip) or a "
                "plain Python function that numba can compile for numpy arrays."
            )
    return NumericSpec(column.name, column.key, shape, fn)


def _read_bucketized(column):
    source = _read_numeric(column.source_column)
    if len(source.shape) != 1:
        raise ValueError(
            f"source_column of {column.name!r} must be one-dimensional; got shape {source.shape}."
        )
    return BucketizedSpec(column.name, source, tuple(float(b) for b in column.boundaries))


def _read_embedding(column, kind):
    cat = read_categorical(column.categorical_column)
    if kind == "SharedEmbeddingColumn":
        table_name = column.shared_embedding_collection_name
    else:
        table_name = column.name
    max_norm = None if column.max_norm is None else float(column.max_norm)
    if column.combiner not in ("mean", "sum", "sqrtn"):
        raise ValueError(f"Unsupported combiner {column.combiner!r} in {column.name!r}.")
    return EmbeddingSpec(
        column.name, cat, int(column.dimension), column.combiner, max_norm, table_name
    )


def read_categorical(column):
    """Converts a categorical column (as wrapped by a dense one) into a spec.

    Raises:
        ValueError: for sequence categorical columns.
        TypeError: for unknown column types.
    """
    kind = _kind(column)
    if "Sequence" in kind:
        raise ValueError(
            f"Sequence columns are not supported by input_layer or featurec: {column.name!r}."
        )
    if kind == "HashedCategoricalColumn":
        return HashSpec(
            column.name, column.key, int(column.hash_bucket_size), _is_string(column.dtype)
        )
    if kind == "VocabularyListCategoricalColumn":
        is_string = _is_string(column.dtype)
        vocab = tuple(_vocab_key(v, is_string) for v in column.vocabulary_list)
        return VocabSpec(
            column.name,
            column.key,
            vocab,
            is_string,
            int(column.default_value),
            int(column.num_oov_buckets),
        )
    if kind == "VocabularyFileCategoricalColumn":
        return _read_vocab_file(column)
    if kind == "IdentityCategoricalColumn":
        default = column.default_value
        return IdentitySpec(
            column.name,
            column.key,
            int(column.number_buckets),
            None if default is None else int(default),
        )
    if kind == "BucketizedColumn":
        return _read_bucketized(column)
    if kind == "CrossedColumn":
        keys = tuple(
            k if isinstance(k, str) else read_categorical(k) for k in _leaf_keys(column.keys)
        )
        for k in keys:
            if isinstance(k, WeightedSpec):
                raise ValueError(
                    f"crossed_column does not support weight_tensor, but the given "
                    f"column populates weight_tensor. Given column: {k.name}"
                )
        return CrossedSpec(
            column.name, keys, int(column.hash_bucket_size), int(column.hash_key or 0)
        )
    if kind == "WeightedCategoricalColumn":
        return WeightedSpec(
            column.name,
            read_categorical(column.categorical_column),
            column.weight_feature_key,
            np.dtype(column.dtype.as_numpy_dtype),
        )
    raise TypeError(
        f"Unsupported categorical column {column!r} of type {type(column).__name__}."
    )


def _leaf_keys(keys):
    out = []
    for k in keys:
        if _kind(k) == "CrossedColumn":
            out.extend(_leaf_keys(k.keys))
        else:
            out.append(k)
    return out


def _is_string(dtype):
    return dtype.is_compatible_with(_tf_string())


def _tf_string():
    import tensorflow as tf

    return tf.string


def _vocab_key(value, is_string):
    if is_string:
        return value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return int(value)


def _read_vocab_file(column):
    path = column.vocabulary_file
    if str(path).endswith("tfrecord.gz"):
        raise ValueError(
            f"TFRecord vocabulary files are not supported by featurec (column {column.name!r})."
        )
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    size = column.vocabulary_size
    if size is None or size < 0:
        size = len(lines)
    if size > len(lines):
        raise ValueError(
            f"Invalid vocab_size {size} > number of lines {len(lines)} in vocabulary "
            f"file {path!r} of column {column.name!r}."
        )
    lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines[:size]]
    is_string = _is_string(column.dtype)
    vocab, seen = [], set()
    for i, ln in enumerate(lines):
        if not ln:
            raise ValueError(
                f"Invalid content in vocabulary file {path!r} of column {column.name!r}: "
                f"empty line found at line {i + 1}."
            )
        key = ln if is_string else _parse_int(ln, path, column.name)
        if key in seen:
            raise ValueError(
                f"Duplicate key {ln!r} in vocabulary file {path!r} of column {column.name!r}."
            )
        seen.add(key)
        vocab.append(key)
    return VocabSpec(
        column.name,
        column.key,
        tuple(vocab),
        is_string,
        int(column.default_value),
        int(column.num_oov_buckets),
    )


def _parse_int(line, path, name):
    try:
        return int(line)
    except ValueError:
        raise ValueError(
            f"Vocabulary file {path!r} of integer column {name!r} has a non-integer line {line!r}."
        ) from None


def feature_keys(spec):
    """Yields the key of every raw feature a spec reads (crossed keys in order)."""
    if isinstance(spec, NumericSpec):
        yield spec.key
    elif isinstance(spec, BucketizedSpec):
        yield spec.source.key
    elif isinstance(spec, (IndicatorSpec, EmbeddingSpec)):
        yield from feature_keys(spec.cat)
    elif isinstance(spec, WeightedSpec):
        yield from feature_keys(spec.cat)
        yield spec.weight_key
    elif isinstance(spec, CrossedSpec):
        for key in spec.keys:
            if isinstance(key, str):
                yield key
            else:
                yield from feature_keys(key)
    else:
        yield spec.key
