"""Lower a compiled plan to plain TensorFlow ops, for graphs that get exported.

A SavedModel must not contain `tf.numpy_function` (servers cannot run
Python), so the same plan the numba kernels execute is also expressed with
TF's own ops: `to_hash_bucket_fast` for hash buckets and vocabulary OOV
buckets, `StaticHashTable` for vocabularies, `Bucketize`, `SparseCross` (via
`tf.sparse.cross_hashed`) for crosses, `scatter_nd` for indicator sums and
`safe_embedding_lookup_sparse` for embeddings. These are the ops
`input_layer` itself runs, so the lowered graph computes what `input_layer`
computes; `tests/test_featurec_lowering.py` checks it against the kernels.
"""

import contextlib
import threading

import numpy as np
import tensorflow as tf

from featurec import _spec

_DENSE_IGNORE = {"string": b"", "int": -1, "float": 0.0}
_SHARED = threading.local()


@contextlib.contextmanager
def shared(features):
    """Within this context, every `Lowering` of this very `features` dict in
    the current graph shares its converted features, ids and numeric outputs.

    A wide & deep model's DNN input (`input_layer`) and linear part
    (`linear_model`) read the same categorical columns; TF's feature columns
    (and the original estimators) built their hash buckets and vocabulary
    lookups once per part. Inside this context the second part reuses the
    first's ops: the same values, fewer ops per step. Only table-independent
    results are shared (embedding lookups stay per part).
    """
    previous = getattr(_SHARED, "state", None)
    _SHARED.state = (features, tf.compat.v1.get_default_graph(), {}, {})
    try:
        yield
    finally:
        _SHARED.state = previous


def lower(plan, features, embedding_tables=None):
    """Builds the TF ops computing `plan`'s output from raw feature tensors.

    Args:
        plan: a `featurec._plan.Plan`.
        features: dict feature key -> `tf.Tensor`, `tf.SparseTensor`,
            `tf.RaggedTensor` (ragged rank 1) or anything
            `tf.convert_to_tensor` accepts.
        embedding_tables: dict table name (see `Plan.tables`) -> float32
            tensor or variable `[num_buckets, dimension]`; needed when the
            plan has embedding columns.

    Returns:
        float32 `tf.Tensor` `[batch, plan.output_width]`.

    Raises:
        ValueError: a missing feature or embedding table, or a feature whose
            dtype or kind the column cannot take (naming both).
    """
    lowering = Lowering(features, embedding_tables or {})
    pieces = [lowering.dense(spec) for spec, _ in plan.outputs]
    return tf.concat(pieces, axis=1)


def lower_transform(transform, features, embedding_tables=None):
    """`lower` for a compiled `Transform` (the body of `Transform.to_tf`).

    Args:
        transform: a `featurec.Transform`.
        features: dict feature key -> tensor-like (see `lower`).
        embedding_tables: dict table name -> tensor or variable; tables not
            given default to the arrays set on the transform, as constants.

    Returns:
        float32 `tf.Tensor` `[batch, transform.output_width]`.
    """
    tables = {name: tf.constant(arr) for name, arr in transform._tables.items()}
    for name, table in (embedding_tables or {}).items():
        tables[transform._table_key(name)] = table
    return lower(transform._plan, features, tables)


class Lowering:
    """Per-graph builder with `_LazyBuilder`'s caching: each raw feature and
    each categorical spec is converted once, however many outputs read it.

    Args:
        features: dict feature key -> tensor-like (see `lower`).
        embedding_tables: dict table name -> tensor or variable.
    """

    def __init__(self, features, embedding_tables):
        self._features = features
        self._tables = embedding_tables
        self._raw = {}
        self._cache = {}
        state = getattr(_SHARED, "state", None)
        if (state is not None and state[0] is features
                and state[1] is tf.compat.v1.get_default_graph()):
            self._raw, self._cache = state[2], state[3]

    # -- raw features --------------------------------------------------------

    def raw(self, key, column):
        """Feature `key` as a rank >= 2 dense tensor or a rank-2 SparseTensor."""
        if key not in self._raw:
            if key not in self._features:
                raise ValueError(
                    f"Feature {key!r} is not in features dictionary (needed by column {column!r})."
                )
            self._raw[key] = _as_tensor(self._features[key], key, column)
        return self._raw[key]

    def raw_column(self, key, column):
        """Feature `key` as a `[batch]` tensor when it holds one value a row
        (static shape `[batch, 1]`, or rank 1 as given), else None."""
        k = (key, "column")
        if k not in self._raw:
            x = self.raw(key, column)
            if not _is_single(x):
                self._raw[k] = None
            elif (not tf.executing_eagerly() and x.op.type == "ExpandDims"
                  and x.op.inputs[0].shape.rank == 1):
                self._raw[k] = x.op.inputs[0]  # the rank-1 feature `_as_tensor` expanded
            else:
                self._raw[k] = tf.reshape(x, [-1])
        return self._raw[k]

    def _cached(self, spec, build):
        # Specs are frozen dataclasses: equal specs read from the same column by
        # different callers (input_layer, linear_model) share one entry. A spec
        # holding something unhashable is cached by identity (kept alive with it).
        try:
            k = (build.__name__, spec, hash(spec))
        except TypeError:
            k = (build.__name__, id(spec))
        if k not in self._cache:
            self._cache[k] = (build(spec), spec)
        return self._cache[k][0]

    def pruned_ids(self, spec):
        """(int64 row of each id, int64 ids >= 0, int64 batch size) of an
        unweighted categorical spec: what a safe lookup keeps."""
        return self._cached(spec, self._pruned_ids)

    def _pruned_ids(self, spec):
        ids, _ = self.ids(spec)
        # where + two gathers: what boolean_mask computes, in ~10 ops instead
        # of ~45 (boolean_mask reshapes for any rank), fewer to build and run.
        keep = tf.reshape(tf.where(ids.values >= 0), [-1])
        rows = tf.gather(ids.indices[:, 0], keep)
        return rows, tf.gather(ids.values, keep), ids.dense_shape[0]

    def single_ids(self, spec):
        """(integer `[batch]` ids, bool `[batch]` kept or None) of a categorical
        spec whose every row holds exactly one value, or None. Ids are int64,
        except a bucketized column's: int32, as `Bucketize` gives them.

        A dense input of static shape `[batch, 1]` (a rank-1 feature included)
        has one value per row: a missing value (TF's ignore value: `""` or
        `-1`) or an id a safe lookup prunes (< 0) leaves its row empty, marked
        False in `kept` (None: every row keeps its id). The lookups then need
        no sparse conversion or segment reduction: one gather per column.
        Multi-valued, sparse, weighted or unknown-width inputs return None
        (they take `ids`).
        """
        return self._cached(spec, self._single_ids)

    def _single_ids(self, spec):
        if isinstance(spec, _spec.BucketizedSpec):
            if spec.dim != 1 or not _is_single(self.raw(spec.source.key, spec.name)):
                return None
            # int32 as Bucketize gives them: gather, one_hot and the cross hash
            # take them as they are (a cast would be one more op a batch).
            return tf.reshape(self._bucketize(spec), [-1]), None
        if isinstance(spec, _spec.CrossedSpec):
            return self._single_crossed(spec)
        if not isinstance(spec, (_spec.HashSpec, _spec.VocabSpec, _spec.IdentitySpec)):
            return None
        values = self.raw_column(spec.key, spec.name)
        if values is None:
            return None
        ignore = _DENSE_IGNORE[_kind(values.dtype)]
        if isinstance(spec, _spec.IdentitySpec):
            ids = _identity_ids(spec, values)
            if spec.default_value is not None:
                return ids, _present(values, ignore)
            # The ignore value -1 is itself an id the lookup prunes.
            return ids, ids >= 0
        _check_kind(spec, values)
        def present():  # built only where a missing value is not already a miss
            return _present(values, ignore)

        if isinstance(spec, _spec.HashSpec):
            return _hash_bucket(values, spec.num_buckets), present()
        ids = self._vocab_lookup(spec, values)
        misses_are_pruned = not spec.num_oov_buckets and spec.default_value < 0
        if misses_are_pruned and _key(ignore, spec) not in spec.vocab:
            # A missing value is a miss: `ids >= 0` alone says what is kept.
            return ids, ids >= 0
        return ids, tf.logical_and(present(), ids >= 0)

    def _single_crossed(self, spec):
        # TF crosses a raw key's values as they are (an empty string too), and a
        # categorical key's ids including the ones a lookup would prune. It
        # hashes its sparse inputs (the categorical keys' ids) before its dense
        # ones (the raw keys), each group in key order.
        ids, raw = [], []
        for key in spec.keys:
            if isinstance(key, str):
                x = self.raw_column(key, spec.name)
                if x is None:
                    return None
                raw.append(x)
            else:
                single = self.single_ids(key)
                if single is None or single[1] is not None:
                    return None
                ids.append(single[0])
        return _cross_hash(ids + raw, spec.num_buckets, spec.hash_key), None

    def single_lookup(self, spec, table):
        """`[batch, table width]` rows of `table` at `single_ids(spec)`; zeros
        for a row without an id. The safe lookup's value for one id a row with
        any combiner (mean, sqrtn and sum of one row are the row itself)."""
        ids, kept = self.single_ids(spec)
        if kept is None:
            return tf.gather(table, ids)
        # A row without an id still gathers a row (negative ids clamped to 0,
        # the others are in range) and is then zeroed by multiply_no_nan,
        # whose 0 wins over a non-finite value in that row (a plain multiply
        # would give NaN); x * 1 is x exactly. Measured ~10% faster on the wide
        # & deep input stage than a broadcasting select.
        gathered = tf.gather(table, self._cached(spec, self._gather_ids))
        return tf.math.multiply_no_nan(gathered, self._cached(spec, self._row_kept))

    def _gather_ids(self, spec):
        ids = self.single_ids(spec)[0]
        if isinstance(spec, _spec.HashSpec):
            return ids  # hash buckets are never negative
        return tf.maximum(ids, tf.constant(0, ids.dtype))

    def _row_kept(self, spec):
        return tf.expand_dims(tf.cast(self.single_ids(spec)[1], tf.float32), 1)

    # -- dense outputs -------------------------------------------------------

    def dense(self, spec):
        """float32 `[batch, spec.width]` output of one dense spec."""
        if isinstance(spec, _spec.NumericSpec):
            return self.numeric(spec)
        if isinstance(spec, _spec.BucketizedSpec):
            buckets = self._bucketize(spec)
            one_hot = tf.one_hot(buckets, len(spec.boundaries) + 1, dtype=tf.float32)
            return tf.reshape(one_hot, [-1, spec.width])
        if isinstance(spec, _spec.IndicatorSpec):
            return self._indicator(spec)
        if isinstance(spec, _spec.EmbeddingSpec):
            return self._embedding(spec)
        raise TypeError(f"Cannot lower {type(spec).__name__} {spec.name!r}.")

    def numeric(self, spec):
        """Numeric values after `normalizer_fn` (on the raw dtype, as TF does)."""
        return self._cached(spec, self._numeric)

    def _numeric(self, spec):
        x = self.raw(spec.key, spec.name)
        if isinstance(x, tf.SparseTensor):
            raise ValueError(
                f"Feature {spec.key!r} (column {spec.name!r}): The corresponding Tensor of "
                "numerical column must be a Tensor. SparseTensor is not supported."
            )
        if spec.normalizer is not None:
            try:
                x = spec.normalizer(x)
            except Exception as e:  # any failure means "not expressible in TF"
                raise TypeError(
                    f"normalizer_fn of numeric_column {spec.name!r} cannot run on TF "
                    "tensors, which the TF lowering (export, featurec.input_layer) "
                    "needs: use featurec.normalizers or a function of TF-compatible "
                    f"operators ({type(e).__name__}: {e})."
                ) from None
        x = tf.cast(x, tf.float32)
        if x.shape.rank == 2 and x.shape[1] == spec.width:
            return x  # already [batch, width]: no reshape op a batch
        return tf.reshape(x, [-1, spec.width])

    def _bucketize(self, spec):
        return self._cached(spec, self._bucketize_uncached)

    def _bucketize_uncached(self, spec):
        # The attr is list(float), i.e. float32, exactly like the kernels' bounds.
        bounds = [float(b) for b in np.asarray(spec.boundaries, np.float32)]
        return tf.raw_ops.Bucketize(input=self.numeric(spec.source), boundaries=bounds)

    def _indicator(self, spec):
        single = self.single_ids(spec.cat)
        if single is not None:
            # one_hot leaves a row of zeros for -1 and for ids >= width, which
            # is what "ids outside [0, num_buckets) add nothing" asks.
            ids, kept = single
            if kept is not None:
                ids = tf.where(kept, ids, tf.fill(tf.shape(ids), tf.constant(-1, tf.int64)))
            return tf.one_hot(ids, spec.width, dtype=tf.float32)
        ids, weights = self.ids(spec.cat)
        n = spec.width
        values = tf.ones_like(ids.values, tf.float32) if weights is None else weights.values
        # Ids outside [0, num_buckets) contribute nothing (one_hot / sparse_slice
        # in TF); duplicates add up in order (scatter_nd, as TF's weighted path).
        keep = tf.logical_and(ids.values >= 0, ids.values < n)
        coords = tf.stack([ids.indices[:, 0], ids.values], axis=1)
        shape = tf.stack([ids.dense_shape[0], tf.constant(n, tf.int64)])
        return tf.scatter_nd(
            tf.boolean_mask(coords, keep), tf.boolean_mask(values, keep), shape
        )

    def _embedding(self, spec):
        table = self._tables.get(spec.table_name)
        if table is None:
            raise ValueError(
                f"No embedding table for column {spec.name!r}: pass a "
                f"[{spec.cat.num_buckets}, {spec.dim}] table under {spec.table_name!r}."
            )
        if spec.max_norm is None and self.single_ids(spec.cat) is not None:
            return self.single_lookup(spec.cat, table)
        ids, weights = self.ids(spec.cat)
        return tf.nn.safe_embedding_lookup_sparse(
            table, ids, weights, combiner=spec.combiner, max_norm=spec.max_norm
        )

    # -- categorical ids -----------------------------------------------------

    def ids(self, spec):
        """(int64 SparseTensor ids, float32 SparseTensor weights or None)."""
        return self._cached(spec, self._ids)

    def _ids(self, spec):
        if isinstance(spec, _spec.BucketizedSpec):
            buckets = tf.cast(self._bucketize(spec), tf.int64)
            offsets = tf.range(spec.dim, dtype=tf.int64) * (len(spec.boundaries) + 1)
            return _dense_to_sparse_all(buckets + offsets), None
        if isinstance(spec, _spec.WeightedSpec):
            return self._weighted(spec)
        if isinstance(spec, _spec.CrossedSpec):
            return self._crossed(spec), None
        x = _drop_ignore_values(self.raw(spec.key, spec.name))
        values = x.values
        if isinstance(spec, _spec.IdentitySpec):
            return _with_values(x, _identity_ids(spec, values)), None
        _check_kind(spec, values)
        if isinstance(spec, _spec.HashSpec):
            return _with_values(x, _hash_bucket(values, spec.num_buckets)), None
        return _with_values(x, self._vocab_lookup(spec, values)), None

    def _vocab_lookup(self, spec, values):
        if spec.is_string:
            keys = tf.constant(list(spec.vocab), tf.string)
        else:
            keys = tf.constant(list(spec.vocab), tf.int64)
            values = tf.cast(values, tf.int64)
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                keys, tf.range(len(spec.vocab), dtype=tf.int64)
            ),
            default_value=-1 if spec.num_oov_buckets else spec.default_value,
        )
        ids = table.lookup(values)
        if spec.num_oov_buckets:
            oov = len(spec.vocab) + _hash_bucket(values, spec.num_oov_buckets)
            ids = tf.where(ids < 0, oov, ids)
        return ids

    def _weighted(self, spec):
        ids, _ = self.ids(spec.cat)
        w = self.raw(spec.weight_key, spec.name)
        if w.dtype.as_numpy_dtype != spec.weight_dtype:
            raise ValueError(
                f"Feature {spec.weight_key!r} (column {spec.name!r}): Bad dtype of weight "
                f"feature: expected {spec.weight_dtype}, got {w.dtype.name}."
            )
        w = _drop_ignore_values(w)
        # TF pairs the k-th id with the k-th weight across the whole batch.
        check = tf.debugging.assert_equal(
            tf.size(ids.values),
            tf.size(w.values),
            message=f"Column {spec.name}: Number of elements in indices and values do not match",
        )
        with tf.control_dependencies([check]):
            values = tf.cast(w.values, tf.float32)
        return ids, tf.SparseTensor(ids.indices, values, ids.dense_shape)

    def _crossed(self, spec):
        inputs = []
        for key in spec.keys:
            if isinstance(key, str):
                inputs.append(self.raw(key, spec.name))
            else:
                inputs.append(self.ids(key)[0])
        return tf.sparse.cross_hashed(
            inputs, num_buckets=spec.num_buckets, hash_key=spec.hash_key or None
        )


# ---------------------------------------------------------------------------
# Helpers.
# ---------------------------------------------------------------------------


def _as_tensor(value, key, column):
    """Raw value -> dense tensor (rank-1 expanded) or rank-2 SparseTensor."""
    if isinstance(value, tf.RaggedTensor):
        value = value.to_sparse()
    elif isinstance(value, tf.compat.v1.SparseTensorValue):
        value = tf.SparseTensor.from_value(value)
    if isinstance(value, tf.SparseTensor):
        if value.shape.rank == 1:
            return tf.sparse.reshape(value, tf.stack([value.dense_shape[0], 1]))
        return value
    try:
        tensor = tf.convert_to_tensor(value)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"Feature {key!r} (column {column!r}): cannot convert to a tensor ({e})."
        ) from None
    rank = tensor.shape.rank
    if rank == 0:
        raise ValueError(f"Feature (key: {key}) cannot have rank 0. (column {column!r})")
    if rank == 1:
        return tf.expand_dims(tensor, -1)
    if rank is None:
        return tf.cond(
            tf.equal(tf.rank(tensor), 1),
            lambda: tf.expand_dims(tensor, -1),
            lambda: tensor,
        )
    return tensor


def _kind(dtype):
    if dtype == tf.string:
        return "string"
    return "int" if dtype.is_integer else "float"


def _drop_ignore_values(x):
    """Dense -> SparseTensor without TF's ignore values; sparse unchanged."""
    if isinstance(x, tf.SparseTensor):
        return x
    ignore = tf.constant(_DENSE_IGNORE[_kind(x.dtype)], x.dtype)
    indices = tf.where(tf.not_equal(x, ignore))
    return tf.SparseTensor(
        indices, tf.gather_nd(x, indices), tf.shape(x, out_type=tf.int64)
    )


# SparseCross's defaults and FingerprintCat64's multiplier (TF's
# core/lib/hash/fingerprint.h); featurec/_hash.py implements the same for the
# kernels.
_CROSS_HASH_KEY = 0xDECAFCAFFE
_FP_MUL = 0xC6A4A7935BD1E995


def _cross_hash(inputs, num_buckets, hash_key):
    """`SparseCross`'s hashed output for inputs holding one value per row.

    Each row's hash starts at `hash_key` and is combined (FingerprintCat64)
    with each input's value hash in order: Fingerprint64 of a string, the
    bits of an integer; then taken modulo `num_buckets`. Element-wise uint64
    ops: the same values as `tf.sparse.cross_hashed`, at about a third of
    its cost on dense one-value rows (it builds a sparse output row by row).

    Args:
        inputs: `[batch]` string or integer tensors.
        num_buckets: positive int.
        hash_key: the crossed column's hash key, or None / 0 for TF's default.

    Returns:
        int64 `[batch]` crossed ids.
    """
    mul = tf.constant(_FP_MUL, tf.uint64)
    shift = tf.constant(47, tf.uint64)

    def shift_mix(v):
        return tf.bitwise.bitwise_xor(v, tf.bitwise.right_shift(v, shift))

    h = None  # the running hash; the first step's `key ^ mul` is folded here
    for x in inputs:
        if x.dtype == tf.string:
            fp = tf.bitcast(tf.fingerprint(x), tf.uint64)
        else:
            fp = tf.bitcast(tf.cast(x, tf.int64), tf.uint64)
        if h is None:
            h = tf.constant(((hash_key or _CROSS_HASH_KEY) ^ _FP_MUL) % 2**64, tf.uint64)
        else:
            h = tf.bitwise.bitwise_xor(h, mul)
        h = tf.bitwise.bitwise_xor(h, shift_mix(fp * mul) * mul)
        h = shift_mix(h * mul) * mul
        h = shift_mix(h)
    return tf.cast(h % tf.constant(num_buckets, tf.uint64), tf.int64)


def _present(values, ignore):
    """bool: which values are not TF's ignore value (`""` or -1)."""
    if values.dtype == tf.string:
        # Equivalent to `values != ""`, and a third of its cost: the length is
        # read from the string's header, no comparison is made.
        return tf.strings.length(values) > 0
    return tf.not_equal(values, tf.constant(ignore, values.dtype))


def _is_single(x):
    """A dense tensor of static shape `[batch, 1]`: one value a row."""
    return (
        not isinstance(x, tf.SparseTensor)
        and x.shape.rank == 2
        and x.shape[1] == 1
    )


def _key(value, spec):
    """A raw value as it appears in `spec.vocab` (bytes for string vocabularies)."""
    return value.encode() if isinstance(value, str) and spec.is_string else value


def _dense_to_sparse_all(x):
    """Every element of a dense 2-D tensor as a SparseTensor, row-major."""
    indices = tf.where(tf.ones_like(x, tf.bool))
    return tf.SparseTensor(indices, tf.reshape(x, [-1]), tf.shape(x, out_type=tf.int64))


def _with_values(sparse, values):
    return tf.SparseTensor(sparse.indices, values, sparse.dense_shape)


def _identity_ids(spec, values):
    """int64 ids of an identity column's values; out-of-range values become
    `default_value` when it is set (TF keeps them otherwise)."""
    if not values.dtype.is_integer:
        raise ValueError(
            f"Invalid input, not integer. key: {spec.key} column: {spec.name!r} "
            f"(got {values.dtype.name})."
        )
    ids = tf.cast(values, tf.int64)
    if spec.default_value is None:
        return ids
    bad = tf.logical_or(ids < 0, ids >= spec.num_buckets)
    return tf.where(bad, tf.constant(spec.default_value, tf.int64), ids)


def _hash_bucket(values, num_buckets):
    """Fingerprint64 % num_buckets; integers hash as their decimal string."""
    if values.dtype != tf.string:
        values = tf.strings.as_string(values)
    return tf.strings.to_hash_bucket_fast(values, num_buckets)


def _check_kind(spec, values):
    is_string = values.dtype == tf.string
    if is_string != spec.is_string or not (is_string or values.dtype.is_integer):
        raise ValueError(
            "Column dtype and SparseTensors dtype must be compatible. "
            f"key: {spec.key}, column: {spec.name!r}, column dtype: "
            f"{'string' if spec.is_string else 'int64'}, input values: {values.dtype.name}."
        )
