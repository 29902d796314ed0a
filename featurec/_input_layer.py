"""`featurec.input_layer`: the drop-in for `tf.compat.v1.feature_column.input_layer`.

Three ways to compute the same output, all with embedding tables that are
graph variables named and initialised as input_layer names and initialises
them (so gradients reach them and checkpoints are interchangeable):

* default: the compiled plan lowered to plain TF ops (`featurec._lower_tf`),
  with the embedding lookups of all plain columns fused into one segment
  op. No Python in the graph, so the graph exports as it is.
* `use_kernels=True`: numeric, bucketized and indicator columns and the
  embedding ids come from featurec's numba kernels through one
  `tf.numpy_function`; the embedding combine stays in TF. Inside
  `featurec.tf_ops_only()` (or when the graph holds the
  `TF_OPS_ONLY_COLLECTION` collection) this falls back to the default, so
  an export graph never holds `numpy_function`.
* features made by `featurec.dataset` (they carry `DENSE_KEY`): the kernels
  already ran in the input pipeline; only the embedding combine is left.

Measured on the Criteo-like set at batch 1,024 in a graph, the in-graph
`numpy_function` costs more than it saves at that batch size (tensor <->
numpy conversion of 26 string features, a second copy of the output), so
TF ops are the default and the kernels pay off in the input pipeline.
"""

import contextlib
import dataclasses
import threading

import numpy as np
import tensorflow as tf

from featurec import _execute, _kernels, _lower_tf, _output_pool, _plan, _spec, _strings

TF_OPS_ONLY_COLLECTION = "featurec_tf_ops_only"
# Feature key of the dense part when features were transformed ahead of the
# model by `featurec.dataset` (embedding ids travel under `ids_key`).
DENSE_KEY = "featurec_dense"
_STATE = threading.local()


@contextlib.contextmanager
def tf_ops_only():
    """Within this context `featurec.input_layer` builds plain TF ops only,
    even with `use_kernels=True`.

    Use it around the `model_fn` call that builds a graph for export (a
    SavedModel cannot contain `tf.numpy_function`).
    """
    depth = getattr(_STATE, "depth", 0)
    _STATE.depth = depth + 1
    try:
        yield
    finally:
        _STATE.depth = depth


def _use_kernels(flag):
    if not flag or getattr(_STATE, "depth", 0):
        return False
    return not tf.compat.v1.get_collection(TF_OPS_ONLY_COLLECTION)


def input_layer(
    features,
    feature_columns,
    weight_collections=None,
    trainable=True,
    cols_to_vars=None,
    cols_to_output_tensors=None,
    use_kernels=False,
):
    """Returns what `tf.compat.v1.feature_column.input_layer` returns.

    Args:
        features: dict feature key -> `Tensor` / `SparseTensor` /
            `RaggedTensor`, as input_layer takes.
        feature_columns: the dense columns input_layer takes (one column,
            or an iterable of them).
        weight_collections: extra collections for the embedding variables.
        trainable: whether embedding variables are trainable.
        cols_to_vars: if a dict, filled with column -> list of its variables.
        cols_to_output_tensors: if a dict, filled with column -> its
            `[batch, width]` output tensor.
        use_kernels: compute the non-embedding part and the embedding ids
            with featurec's numba kernels through `tf.numpy_function`
            (ignored inside `featurec.tf_ops_only()`); default: plain TF ops.

    Returns:
        float32 `Tensor` `[batch, width]`, columns ordered by name.

    Raises:
        ValueError / TypeError: the columns input_layer rejects, with its
            message; a missing feature (at graph build).
    """
    columns = _as_list(feature_columns)
    plan = _plan.build(_spec.read_columns(columns))
    by_name = {c.name: c for c in columns}
    collections = list(weight_collections or [])
    for key in (tf.compat.v1.GraphKeys.GLOBAL_VARIABLES, tf.compat.v1.GraphKeys.MODEL_VARIABLES):
        if key not in collections:
            collections.append(key)
    with tf.compat.v1.variable_scope(
        None, default_name="input_layer", values=list(features.values())
    ):
        tables = {}
        for spec, _ in plan.outputs:
            column = by_name[spec.name]
            with tf.compat.v1.variable_scope(None, default_name=_var_scope_name(spec)) as scope:
                if isinstance(spec, _spec.EmbeddingSpec):
                    tables[spec.name] = _embedding_variable(column, spec, collections, trainable)
                if cols_to_vars is not None:
                    cols_to_vars[column] = tf.compat.v1.get_collection(
                        tf.compat.v1.GraphKeys.GLOBAL_VARIABLES, scope=scope.name
                    )
        if DENSE_KEY in features or _use_kernels(use_kernels):
            pieces = _kernel_pieces(plan, features, tables, by_name)
        else:
            pieces = _lowered_pieces(plan, features, tables, by_name)
        if cols_to_output_tensors is not None:
            for (spec, _), piece in zip(plan.outputs, pieces):
                cols_to_output_tensors[by_name[spec.name]] = piece
        out = tf.concat(pieces, axis=1)
        out.set_shape([None, plan.output_width])
        return out


def _as_list(feature_columns):
    # A single column, as TF's _normalize_feature_columns allows.
    return _spec.as_column_list(feature_columns)


def _var_scope_name(spec):
    # input_layer opens one scope per column: its name, or for v1 shared
    # embeddings the shared collection name (where the shared table lives).
    return spec.table_name if isinstance(spec, _spec.EmbeddingSpec) else spec.name


def _embedding_variable(column, spec, collections, trainable):
    """The table input_layer would create (or reuse, for shared embeddings)."""
    shape = (spec.cat.num_buckets, spec.dim)
    trainable = bool(getattr(column, "trainable", True)) and trainable
    shared = type(column).__name__ == "_SharedEmbeddingColumn"
    var = None
    if shared:
        existing = tf.compat.v1.get_collection(spec.table_name)
        if len(existing) > 1:
            raise ValueError(f"Collection {spec.table_name} can only contain one variable.")
        if existing:
            var = existing[0]
            if var.get_shape() != shape:
                raise ValueError(
                    f"Shared embedding collection {spec.table_name} contains variable "
                    f"{var.name} of unexpected shape {var.get_shape()}. Expected shape is {shape}."
                )
    if var is None:
        var = tf.compat.v1.get_variable(
            "embedding_weights",
            shape=shape,
            dtype=tf.float32,
            initializer=column.initializer,
            trainable=trainable,
            collections=collections,
        )
        if shared:
            tf.compat.v1.add_to_collection(spec.table_name, var)
    if getattr(column, "ckpt_to_load_from", None) is not None:
        tf.compat.v1.train.init_from_checkpoint(
            column.ckpt_to_load_from, {column.tensor_name_in_ckpt: var}
        )
    return var


# ---------------------------------------------------------------------------
# The two ways of computing the output.
# ---------------------------------------------------------------------------


def _lowered_pieces(plan, features, tables, by_name):
    by_table = {spec.table_name: tables[spec.name] for spec, _ in plan.embeddings}
    lowering = _lower_tf.Lowering(features, by_table)
    pieces, groups, batch = {}, {}, None
    for spec, _ in plan.outputs:
        if not (isinstance(spec, _spec.EmbeddingSpec) and _fusable(spec, by_name[spec.name])):
            pieces[spec.name] = lowering.dense(spec)
        elif lowering.single_ids(spec.cat) is not None:
            # One id a row: a gather, no segment reduction (`Lowering.single_ids`).
            pieces[spec.name] = lowering.single_lookup(spec.cat, tables[spec.name])
        else:
            rows, ids, batch = lowering.pruned_ids(spec.cat)
            groups.setdefault((spec.combiner, spec.dim), []).append((spec, rows, ids))
    for (combiner, dim), group in groups.items():
        pieces.update(_fused_lookup(group, combiner, dim, tables, batch))
    return [pieces[spec.name] for spec, _ in plan.outputs]


def _kernel_pieces(plan, features, tables, by_name):
    if DENSE_KEY in features:
        # Already transformed in the input pipeline (`featurec.dataset`).
        results = [features[DENSE_KEY]]
        for spec, _ in plan.embeddings:
            parts = ("row_splits", "ids") + (("weights",) if _weighted(spec) else ())
            for part in parts:
                key = ids_key(spec.name, part)
                if key not in features:
                    raise ValueError(
                        f"Feature {key!r} is missing: features carry {DENSE_KEY!r} (made by "
                        "featurec.dataset), so they must come from the same feature columns."
                    )
                results.append(features[key])
    else:
        results = _run_kernels(plan, features)
    dense = results[0]
    dense.set_shape([None, plan.output_width])
    ragged = iter(results[1:])
    pieces, groups = {}, {}
    for spec, col0 in plan.outputs:
        if not isinstance(spec, _spec.EmbeddingSpec):
            pieces[spec.name] = dense[:, col0 : col0 + spec.width]
            continue
        splits, ids = next(ragged), next(ragged)
        splits.set_shape([None])
        ids.set_shape([None])
        column = by_name[spec.name]
        if _fusable(spec, column):
            batch_rows = tf.range(tf.size(splits, out_type=tf.int64) - 1)
            rows = tf.repeat(batch_rows, splits[1:] - splits[:-1])
            groups.setdefault((spec.combiner, spec.dim), []).append((spec, rows, ids))
            continue
        sp_ids = _sparse(ids, splits)
        sp_weights = _sparse(next(ragged), splits) if _weighted(spec) else None
        lookup = tf.nn.safe_embedding_lookup_sparse
        if not getattr(column, "use_safe_embedding_lookup", True):
            lookup = tf.nn.embedding_lookup_sparse
        pieces[spec.name] = lookup(
            tables[spec.name],
            sp_ids,
            sp_weights,
            combiner=spec.combiner,
            max_norm=spec.max_norm,
            name=f"{spec.name}_weights",
        )
    batch = tf.shape(dense, out_type=tf.int64)[0]
    for (combiner, dim), group in groups.items():
        pieces.update(_fused_lookup(group, combiner, dim, tables, batch))
    return [pieces[spec.name] for spec, _ in plan.outputs]


def _fusable(spec, column):
    """Unweighted, unclipped, safe lookups: combined in one segment op.

    The kernels already pruned their negative ids (see `KernelRunner`)."""
    return (
        not _weighted(spec)
        and spec.max_norm is None
        and getattr(column, "use_safe_embedding_lookup", True)
    )


_SEGMENT_OPS = {
    "mean": tf.sparse.segment_mean,
    "sqrtn": tf.sparse.segment_sqrt_n,
    "sum": tf.sparse.segment_sum,
}


def _fused_lookup(group, combiner, dim, tables, batch):
    """safe_embedding_lookup_sparse for K columns sharing combiner and dim.

    Args:
        group: list of (spec, int64 row of each id (sorted), int64 ids >= 0).

    Gathers each column's rows from its own table, then reduces all K*batch
    (column, row) segments with one sparse segment op: the op input_layer
    uses, fed each segment's rows in the same order, so results are equal
    bit for bit; empty segments give zeros as the safe lookup does. Few ops
    instead of ~20 per column, which is most of the step at Criteo scale.
    """
    gathered, indices, segments = [], [], []
    offset = tf.constant(0, tf.int64)
    for k, (spec, rows, ids) in enumerate(group):
        # Gather each distinct id once (as input_layer does), so the table's
        # gradient is IndexedSlices without duplicates.
        unique, index = tf.unique(ids, out_idx=tf.int64)
        gathered.append(tf.gather(tables[spec.name], unique))
        indices.append(index + offset)
        offset += tf.size(unique, out_type=tf.int64)
        segments.append(rows + k * batch)
    reduced = _SEGMENT_OPS[combiner](
        tf.concat(gathered, 0),
        tf.concat(indices, 0),
        tf.concat(segments, 0),
        num_segments=batch * len(group),
    )
    per_column = tf.unstack(tf.reshape(reduced, [len(group), -1, dim]), len(group))
    return {spec.name: out for (spec, _, _), out in zip(group, per_column)}


def _run_kernels(plan, features):
    flat, rebuild = _flatten_features(features, plan.feature_keys, plan)
    runner = KernelRunner(plan)
    tout = [tf.float32] + runner.id_dtypes
    return tf.numpy_function(
        lambda *arrays: runner(rebuild(arrays)), flat, tout, name="featurec_kernels"
    )


def ids_key(column_name, part):
    """Feature key under which `featurec.dataset` passes an embedding column's
    `row_splits`, `ids` or `weights` to `featurec.input_layer`."""
    return f"{DENSE_KEY}/{column_name}/{part}"


def _sparse(values, splits):
    values.set_shape([None])
    splits.set_shape([None])
    return tf.RaggedTensor.from_row_splits(values, splits, validate=False).to_sparse()


def _weighted(spec):
    return isinstance(spec.cat, _spec.WeightedSpec)


class KernelRunner:
    """Runs a plan's non-embedding outputs and embedding ids on numpy inputs.

    `runner(features)` returns `[dense, (row_splits, ids[, weights]) per
    embedding column]`: `dense` is float32 `[batch, output_width]` with the
    embedding columns' slots left zero (they are filled in TF, from the ids).
    Unweighted, unclipped columns come without their negative ids, which the
    lookup would prune anyway (see `_fused_lookup`).

    Args:
        plan: a `featurec._plan.Plan`.
    """

    def __init__(self, plan):
        self._plan = dataclasses.replace(
            plan, embeddings=[], emb_ops=plan.emb_ops[:0], emb_max_norm=plan.emb_max_norm[:0]
        )
        self._embeddings = [spec for spec, _ in plan.embeddings]
        self._outputs = _output_pool.OutputPool()
        self.id_dtypes = []
        for spec in self._embeddings:
            self.id_dtypes += [tf.int64, tf.int64] + ([tf.float32] if _weighted(spec) else [])

    def __call__(self, features):
        batch = _execute.Batch(features, self._plan, {})
        for key, name in self._plan.required:
            batch.raw(key, name)
        # The writer zeroes every row (embedding slots included).
        out = self._outputs.get((batch.n, self._plan.output_width))
        batch.write(out)
        results = [out]
        for spec in self._embeddings:
            splits, ids, weights = batch.ids(spec.cat)
            if weights is None and spec.max_norm is None:
                # safe_embedding_lookup_sparse prunes negative ids; done here
                # so the fused TF lookup only gathers.
                keep = ids >= 0
                if not keep.all():
                    splits, kept = _kernels.compact(splits, keep)
                    ids = ids[kept]
            results += [splits.astype(np.int64), ids.astype(np.int64)]
            if _weighted(spec):
                results.append(weights.astype(np.float32))
        return results


def _joined_strings(tensors):
    """One buffer for several dense string tensors: [joined bytes of every
    item of every tensor, int64 offsets into it, then each tensor's int64
    shape]. A handful of ops whatever the number of tensors (was six each)."""
    items = [tf.reshape(t, [-1]) for t in tensors]
    items = items[0] if len(items) == 1 else tf.concat(items, 0)
    lengths = tf.strings.length(items, unit="BYTE")
    offsets = tf.concat([tf.zeros([1], tf.int64), tf.cumsum(tf.cast(lengths, tf.int64))], 0)
    shapes = [tf.shape(t, out_type=tf.int64) for t in tensors]
    return [tf.strings.reduce_join(items), offsets] + shapes


def _flatten_features(features, keys, plan):
    """Feature tensors as a flat list for `numpy_function`, and the inverse.

    SparseTensors travel as (indices, values, dense_shape), RaggedTensors as
    SparseTensors (input_layer treats both alike); dense string tensors of
    rank 1 or 2 all together as one joined buffer plus offsets, which the
    kernels read in place (not an object array of per-item `bytes`).
    """
    flat, layout, strings = [], [], []
    for key in keys:
        if key not in features:
            column = next(s.name for s, _ in plan.outputs if key in _spec.feature_keys(s))
            raise ValueError(
                f"Feature {key!r} is not in features dictionary (needed by column {column!r})."
            )
        value = features[key]
        if isinstance(value, tf.RaggedTensor):
            value = value.to_sparse()
        if isinstance(value, (tf.SparseTensor, tf.compat.v1.SparseTensorValue)):
            value = tf.SparseTensor.from_value(value)
            layout.append((key, True))
            flat += [value.indices, value.values, value.dense_shape]
        else:
            tensor = tf.convert_to_tensor(value)
            if tensor.dtype == tf.string and tensor.shape.rank in (1, 2):
                strings.append((key, tensor))
            else:
                layout.append((key, False))
                flat.append(tensor)
    first_string = len(flat)
    if strings:
        flat += _joined_strings([t for _, t in strings])

    def rebuild(arrays):
        out, i = {}, 0
        for key, sparse in layout:
            if sparse:
                out[key] = tf.compat.v1.SparseTensorValue(*arrays[i : i + 3])
                i += 3
            else:
                out[key] = arrays[i]
                i += 1
        if strings:
            joined, offsets = arrays[first_string], arrays[first_string + 1]
            joined = joined.item() if isinstance(joined, np.ndarray) else joined
            # Offsets stay absolute positions in the shared buffer.
            split = _strings.JoinedStrings.split(joined, offsets, arrays[first_string + 2 :])
            for (key, _), item in zip(strings, split):
                out[key] = item
        return out

    return flat, rebuild
