"""Plan: order and lay out the output, and precompute every kernel parameter.

Built once per `featurec.compile`. Everything that does not depend on the
batch is done here: the output order (input_layer sorts by column name), each
column's output slice, float32 boundaries, vocabulary hash tables, user
normalizers compiled with numba, and the set of raw features required.
"""

import dataclasses

import numba
import numpy as np

from featurec import _embedding, _kernels, _spec
from featurec import normalizers as _normalizers


@dataclasses.dataclass
class Plan:
    """What the executor needs.

    Attributes:
        outputs: list of (dense spec, start column) in output order.
        output_width: total number of output columns.
        layout: column name -> slice of the output.
        params: spec key (see `param_key`) -> precomputed kernel parameters.
        tables: embedding table name -> (num_buckets, dimension, column names).
        num_specs: distinct numeric specs feeding numeric/bucketized outputs;
            their float32 values are laid side by side in that order.
        num_ops, bkt_ops, bounds: `_write.write_outputs` parameters.
        ind_specs: indicator specs, in the order of `ind_ops`.
        ind_ops: int64 [K, 5] (ids offset filled per call, num_buckets,
            out column, weighted, row splits row filled per call) for
            `_write.write_outputs`.
        embeddings: list of (embedding spec, start column).
        emb_ops: int64 [E, 6] (ids offset filled per call, table index in
            `tables` order, combiner code, out column, weighted, row splits
            row filled per call) for
            `_write.write_outputs`.
        emb_max_norm: float32 [E] clip norms (0: none).
        string_hash_specs: distinct string hash-bucket specs the outputs
            read, hashed together in one kernel call per batch.
        required: every (feature key, column name) the outputs read, in
            output order (errors name the first column needing a feature).
    """

    outputs: list
    output_width: int
    layout: dict
    params: dict
    tables: dict
    num_specs: list = dataclasses.field(default_factory=list)
    num_ops: np.ndarray = None
    bkt_ops: np.ndarray = None
    bounds: np.ndarray = None
    ind_specs: list = dataclasses.field(default_factory=list)
    ind_ops: np.ndarray = None
    embeddings: list = dataclasses.field(default_factory=list)
    emb_ops: np.ndarray = None
    emb_max_norm: np.ndarray = None
    string_hash_specs: list = dataclasses.field(default_factory=list)
    required: list = dataclasses.field(default_factory=list)

    @property
    def feature_keys(self):
        """The distinct feature keys the outputs read, in output order."""
        return list(dict.fromkeys(key for key, _ in self.required))


def param_key(spec):
    """Numeric specs are keyed by value (the same source read by a numeric and
    a bucketized column is computed once); other specs by identity."""
    return spec if isinstance(spec, _spec.NumericSpec) else id(spec)


def build(specs):
    """Builds the plan for dense specs from `_spec.read_columns`.

    Raises:
        TypeError: a normalizer_fn numba cannot compile.
        ValueError: embedding columns sharing a table with different shapes.
    """
    ordered = sorted(specs, key=lambda s: s.name)
    outputs, layout, params, tables = [], {}, {}, {}
    col = 0
    for spec in ordered:
        outputs.append((spec, col))
        layout[spec.name] = slice(col, col + spec.width)
        col += spec.width
        _prepare(spec, params)
        if isinstance(spec, _spec.EmbeddingSpec):
            shape = (spec.cat.num_buckets, spec.dim)
            entry = tables.setdefault(spec.table_name, (shape[0], shape[1], []))
            if entry[:2] != shape:
                raise ValueError(
                    f"Shared embedding {spec.table_name!r}: column {spec.name!r} needs a "
                    f"{shape} table but another column needs {entry[:2]}."
                )
            entry[2].append(spec.name)
    plan = Plan(outputs, col, layout, params, tables)
    _fuse(plan)
    plan.string_hash_specs = _string_hash_specs([spec for spec, _ in outputs])
    plan.required = list(
        dict.fromkeys((key, spec.name) for spec, _ in outputs for key in _spec.feature_keys(spec))
    )
    return plan


def _string_hash_specs(specs):
    found = {}

    def walk(spec):
        if isinstance(spec, _spec.HashSpec):
            if spec.is_string:
                found.setdefault(id(spec), spec)
        elif isinstance(spec, (_spec.IndicatorSpec, _spec.EmbeddingSpec, _spec.WeightedSpec)):
            walk(spec.cat)
        elif isinstance(spec, _spec.CrossedSpec):
            for key in spec.keys:
                if not isinstance(key, str):
                    walk(key)

    for spec in specs:
        walk(spec)
    return list(found.values())


def _fuse(plan):
    """Parameter arrays for the one-pass `_write.write_outputs` kernel."""
    num_col = {}
    num_ops, bkt_ops, bounds, ind_ops, emb_ops, emb_max_norm = [], [], [], [], [], []
    table_index = {name: i for i, name in enumerate(plan.tables)}

    def source_col(spec):
        if spec not in num_col:
            num_col[spec] = sum(s.width for s in plan.num_specs)
            plan.num_specs.append(spec)
        return num_col[spec]

    for spec, col0 in plan.outputs:
        if isinstance(spec, _spec.NumericSpec):
            num_ops.append((source_col(spec), spec.width, col0))
        elif isinstance(spec, _spec.BucketizedSpec):
            b = plan.params[param_key(spec)]
            start = sum(len(x) for x in bounds)
            bkt_ops.append((source_col(spec.source), spec.dim, start, len(b), col0))
            bounds.append(b)
        elif isinstance(spec, _spec.IndicatorSpec):
            weighted = isinstance(spec.cat, _spec.WeightedSpec)
            ind_ops.append((0, spec.width, col0, int(weighted), 0))
            plan.ind_specs.append(spec)
        else:
            plan.embeddings.append((spec, col0))
            weighted = isinstance(spec.cat, _spec.WeightedSpec)
            combiner = _embedding.combiner_code(spec.combiner)
            emb_ops.append((0, table_index[spec.table_name], combiner, col0, int(weighted), 0))
            emb_max_norm.append(0.0 if spec.max_norm is None else spec.max_norm)
    plan.num_ops = np.array(num_ops, np.int64).reshape(-1, 3)
    plan.bkt_ops = np.array(bkt_ops, np.int64).reshape(-1, 5)
    plan.bounds = np.concatenate(bounds) if bounds else np.zeros(0, np.float32)
    plan.ind_ops = np.array(ind_ops, np.int64).reshape(-1, 5)
    plan.emb_ops = np.array(emb_ops, np.int64).reshape(-1, 6)
    plan.emb_max_norm = np.array(emb_max_norm, np.float32)


def _prepare(spec, params):
    if param_key(spec) in params:
        return
    if isinstance(spec, _spec.NumericSpec):
        params[spec] = _numeric_params(spec)
    elif isinstance(spec, _spec.BucketizedSpec):
        _prepare(spec.source, params)
        bounds = np.asarray(spec.boundaries, np.float32)
        # TF compares with denormals-are-zero.
        bounds[np.abs(bounds) < np.finfo(np.float32).tiny] = 0.0
        params[id(spec)] = bounds
    elif isinstance(spec, (_spec.IndicatorSpec, _spec.EmbeddingSpec, _spec.WeightedSpec)):
        _prepare(spec.cat, params)
    elif isinstance(spec, _spec.VocabSpec):
        params[id(spec)] = _vocab_params(spec)
    elif isinstance(spec, _spec.CrossedSpec):
        for key in spec.keys:
            if not isinstance(key, str):
                _prepare(key, params)


def _numeric_params(spec):
    fn = spec.normalizer
    if fn is None:
        return None
    if isinstance(fn, _normalizers.Normalizer):
        return (fn.op, np.asarray(fn.kernel_params, np.float32))
    return _compile_user_fn(fn, spec)


def _compile_user_fn(fn, spec):
    """numba-compiles a user normalizer, trying it on a float32 and an int64 row."""
    try:
        jitted = numba.njit(fn)
        for dtype in (np.float32, np.int64):
            jitted(np.zeros((1, spec.width), dtype))
    except Exception as e:  # numba raises many error types; all mean "not accepted"
        raise TypeError(
            f"normalizer_fn {getattr(fn, '__name__', fn)!r} of numeric_column {spec.name!r} "
            "is not supported: featurec accepts featurec.normalizers.zscore/log1p/clip "
            "(which also work in TF) or a plain Python function numba can compile for a "
            f"numpy array (numba said: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})."
        ) from None
    return jitted


def _vocab_params(spec):
    if spec.is_string:
        lengths = np.fromiter((len(v) for v in spec.vocab), np.int64, len(spec.vocab))
        vends = np.cumsum(lengths)
        vstarts = vends - lengths
        joined = b"".join(spec.vocab)
        vbuf = np.frombuffer(joined, np.uint8).copy() if joined else np.zeros(1, np.uint8)
        slots, fps = _kernels.build_str_table(vbuf, vstarts, vends)
        return (vbuf, vstarts, vends, slots, fps)
    keys = np.asarray(spec.vocab, np.int64)
    return (keys, _kernels.build_int_table(keys))
