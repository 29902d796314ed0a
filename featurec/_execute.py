"""Run a plan on one batch of features.

`Batch` evaluates specs lazily and caches each result for the call (as TF's
`_LazyBuilder` does), so a numeric column feeding both its own output and a
bucketized column, or a categorical column feeding an indicator and a cross,
is computed once. All per-value work happens in `featurec._kernels`.
"""

import threading

import numpy as np

from featurec import _hash, _inputs, _kernels, _pyobjects, _spec, _strings, _write
from featurec._plan import param_key

_DEFAULT_HASH_KEY = 0xDECAFCAFFE


class Batch:
    """One call's features plus per-call caches.

    Args:
        features: mapping feature key -> raw value.
        plan: the `_plan.Plan`.
        tables: embedding table name -> float32 array.
        table_storage: the `_write.TableStorage` those tables live in
            (needed when the plan has embedding columns).
        layouts: the caller's `LayoutCache` for this plan, or None (every
            call then lays out its ids from scratch).
    """

    def __init__(self, features, plan, tables, table_storage=None, layouts=None):
        features = _inputs.as_mapping(features)
        if not hasattr(features, "keys") or not hasattr(features, "__getitem__"):
            raise TypeError(
                f"features must be a dict of feature name -> values, got {type(features).__name__}."
            )
        self._features = features
        # One lookup a feature where the mapping offers it (dict, DataFrame).
        self._get = features.get if isinstance(features, (dict, _inputs.FrameColumns)) else None
        self._plan = plan
        self._tables = tables
        self._table_storage = table_storage
        self._raw = {}
        self._cache = {}
        self._cat = {}
        self._sources = {}
        self._fused = set()  # id() of the string hash specs the writer hashes
        self._packed = {}  # feature key -> (first, last) item in _packed_arrays
        self._packed_arrays = None
        self._layouts = layouts
        self.n = None

    # -- raw features --------------------------------------------------------

    def raw(self, key, column):
        """The classified raw value of feature `key`; checks the batch size."""
        # dict.get, not `in` then `[]`: called several times per column per
        # call, which matters at small batches.
        c = self._raw.get(key)
        if c is None:
            if self._get is not None:
                value = self._get(key, _MISSING)
            else:
                value = self._features[key] if key in self._features else _MISSING
            if value is _MISSING:
                raise ValueError(
                    f"Feature {key!r} is not in features dictionary (needed by column {column!r})."
                )
            c = _inputs.classify(value, key, column)
            n = _inputs.batch_size(c, key, column)
            if self.n is None:
                self.n = n
                self._n_key = key
            elif n != self.n:
                raise ValueError(
                    f"Feature {key!r} (column {column!r}) has {n} rows but feature "
                    f"{self._n_key!r} (and any other read before it) has {self.n}."
                )
            self._raw[key] = c
        return c

    def string_source(self, key, column):
        """`_strings.StrSource` of a dense string feature, read in place, or
        None (sparse/ragged input, or not strings)."""
        if key in self._sources:
            return self._sources[key]
        c = self.raw(key, column)
        src = None
        packed = self._packed.get(key)
        if packed is not None:
            first, last = packed
            buf, starts, ends, (a_buf, a_starts, a_ends) = self._packed_arrays
            arr = c[1]
            src = _strings.from_packed(
                buf, starts[first:last], ends[first:last], arr.shape[0],
                arr.shape[1] if arr.ndim == 2 else 1,
                (a_buf, a_starts + 8 * first, a_ends + 8 * first),
            )  # fmt: skip
        elif c[0] == "strings":
            src = c[1]
        elif c[0] == "dense" and c[1].ndim in (1, 2):
            arr = c[1]
            n = arr.shape[0]
            per_row = arr.shape[1] if arr.ndim == 2 else 1
            if arr.dtype.kind == "S" and arr.dtype.itemsize and arr.size:
                src = _strings.from_fixed(np.ascontiguousarray(arr))
            elif arr.dtype.kind in "UO" and arr.size and _inputs.looks_like_strings(arr):
                # Through the cached CatValues: a raw crossed key reading the
                # same feature then does not encode its strings again.
                cv = self.cat_values(key, column, "str")
                src = _strings.from_packed(cv.buf, cv.starts, cv.ends, n, per_row, cv.addresses)
        self._sources[key] = src
        return src

    def cat_values(self, key, column, expect="any", drop=False):
        """`_inputs.CatValues` of a feature (ignore values dropped if `drop`)."""
        k = (key, drop)
        cv = self._cat.get(k)
        if cv is None:
            if drop:
                cv = self.cat_values(key, column, expect).without_ignore_values()
            elif key in self._packed:
                cv = self._packed_cat_values(key)
            else:
                cv = _inputs.categorical(self.raw(key, column), key, column, expect)
            self._cat[k] = cv
        return cv

    def _cached(self, spec, compute):
        k = param_key(spec)
        r = self._cache.get(k)
        if r is None:
            r = self._cache[k] = compute(spec)
        return r

    # -- dense values -------------------------------------------------------

    def numeric(self, spec):
        """float32 `[n, width]` values of a numeric spec (normalizer applied)."""
        return self._cached(spec, self._numeric)

    def _numeric(self, spec):
        raw = _inputs.numeric(self.raw(spec.key, spec.name), spec.key, spec.name, spec.width)
        params = self._plan.params[spec]
        if params is None or isinstance(params, tuple):
            x = _to_float32(raw)
            if params is None:
                return x
            return _kernels.normalize_numeric(x, params[0], params[1])
        if raw.dtype.kind == "f":
            raw = _flush_subnormals(raw)
        try:
            res = np.asarray(params(np.ascontiguousarray(raw)))
        except Exception as e:
            raise TypeError(
                f"normalizer_fn of numeric_column {spec.name!r} failed on input dtype "
                f"{raw.dtype}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            ) from None
        if res.dtype.kind not in "biuf" or res.size != raw.size:
            raise ValueError(
                f"normalizer_fn of numeric_column {spec.name!r} must return {raw.shape} numbers; "
                f"got shape {res.shape}, dtype {res.dtype}."
            )
        return _to_float32(res.reshape(raw.shape))

    # -- categorical ids ----------------------------------------------------

    def ids(self, spec):
        """(row_splits, int64 ids, float32 weights or None) of a categorical spec."""
        return self._cached(spec, self._ids)

    def _ids(self, spec):
        if isinstance(spec, _spec.BucketizedSpec):
            x = self.numeric(spec.source)
            n, d = x.shape
            splits = _inputs.strided(n, d) if d else np.zeros(1, np.int64)
            return splits, _kernels.bucketize_ids(x, self._plan.params[id(spec)]), None
        if isinstance(spec, _spec.WeightedSpec):
            return self._weighted(spec)
        if isinstance(spec, _spec.CrossedSpec):
            return self._crossed(spec)
        expect = "str" if getattr(spec, "is_string", False) else "int"
        cv = self.cat_values(spec.key, spec.name, expect, drop=True)
        out = np.empty(cv.size, np.int64)
        if isinstance(spec, _spec.IdentitySpec):
            if cv.kind != "int":
                raise ValueError(
                    f"Invalid input, not integer. key: {spec.key} column: {spec.name!r} "
                    f"(got {cv.kind} values)."
                )
            ids = cv.values
            if spec.default_value is not None:
                bad = (ids < 0) | (ids >= spec.num_buckets)
                ids = np.where(bad, np.int64(spec.default_value), ids)
            return cv.row_splits, ids, None
        self._check_kind(spec, cv)
        if isinstance(spec, _spec.HashSpec):
            if cv.kind == "str":
                _hash.hash_strings_mod(cv.buf, cv.starts, cv.ends, spec.num_buckets, out)
            else:
                _hash.hash_ints_mod(cv.values, spec.num_buckets, out)
            return cv.row_splits, out, None
        p = self._plan.params[id(spec)]
        if cv.kind == "str":
            _kernels.lookup_str(
                cv.buf, cv.starts, cv.ends, *p, spec.default_value, spec.num_oov_buckets, out
            )
        else:
            _kernels.lookup_int(cv.values, *p, spec.default_value, spec.num_oov_buckets, out)
        return cv.row_splits, out, None

    @staticmethod
    def _check_kind(spec, cv):
        want = "str" if spec.is_string else "int"
        if cv.kind != want:
            raise ValueError(
                "Column dtype and SparseTensors dtype must be compatible. "
                f"key: {spec.key}, column: {spec.name!r}, column dtype: "
                f"{'string' if spec.is_string else 'int64'}, input values: {cv.kind}."
            )

    def _weighted(self, spec):
        splits, ids, _ = self.ids(spec.cat)
        c = self.raw(spec.weight_key, spec.name)
        wsplits, w = _inputs.weights(c, spec.weight_key, spec.name, spec.weight_dtype)
        if w.shape[0] != ids.shape[0]:
            # TF pairs ids and weights by position across the batch and fails
            # when the counts differ.
            raise ValueError(
                f"Column {spec.name!r}: Number of elements in indices ({ids.shape[0]}) and "
                f"values ({w.shape[0]}) do not match: every id needs exactly one non-zero "
                f"weight in feature {spec.weight_key!r}."
            )
        return splits, ids, w

    def _crossed(self, spec):
        sparse, dense = [], []
        for key in spec.keys:
            if isinstance(key, str):
                c = self.raw(key, spec.name)
                cv = self.cat_values(key, spec.name)
                if c[0] == "lists":
                    raise ValueError(
                        f"Feature {key!r} (column {spec.name!r}): ragged lists where a dense "
                        "value is required (a raw crossed key must have equal-length rows, "
                        "or be a SparseTensor/RaggedTensor)."
                    )
                (dense if cv.dense else sparse).append((cv.row_splits, _cross_values(cv)))
            else:
                splits, ids, w = self.ids(key)
                sparse.append((splits, ids.view(np.uint64)))
        inputs = sparse + dense
        splits = np.stack([s for s, _ in inputs])
        values = np.concatenate([v for _, v in inputs]) if inputs else np.zeros(0, np.uint64)
        offsets = np.zeros(len(inputs), np.int64)
        np.cumsum([v.shape[0] for _, v in inputs[:-1]], out=offsets[1:])
        out_splits = _kernels.cross_row_splits(splits)
        out = np.empty(out_splits[-1], np.int64)
        hash_key = np.uint64(spec.hash_key or _DEFAULT_HASH_KEY)
        _kernels.cross_ids(
            splits, values, offsets, hash_key, np.uint64(spec.num_buckets), out_splits, out
        )
        return out_splits, out, None

    # -- outputs ------------------------------------------------------------

    def write(self, out):
        """Writes every output column into `out` (float32 [n, width]).

        Raises:
            ValueError: a missing embedding table, or an id past its table.
        """
        plan = self._plan
        n = out.shape[0]
        _write.notice_cold_cache()
        self._pack_object_strings()
        if self._layouts is not None and self._layouts.fusable and self._write_laid_out(out):
            return
        emb_specs = [s for s, _ in plan.embeddings]
        segments, fused, cross_keys = [], [], []
        ind_fused = self._fuse(plan.ind_specs, _write.TARGET_INDICATOR, segments, fused, cross_keys)
        emb_fused = self._fuse(emb_specs, _write.TARGET_EMBEDDING, segments, fused, cross_keys)
        self._hash_string_columns()
        num = [self._named(s, self.numeric, s) for s in plan.num_specs]
        num = _numeric_rows(num, n)
        ind_splits, ind_ids, ind_w, ind_ops = self._concat_ids(
            plan.ind_specs, plan.ind_ops, _write.IND_SPLITS_ROW, n, ind_fused
        )
        table_buf, table_meta = self._table_arrays() if emb_specs else _write._NO_TABLES
        emb_splits, emb_ids, emb_w, emb_ops = self._concat_ids(
            emb_specs, plan.emb_ops, _write.EMB_SPLITS_ROW, n, emb_fused
        )
        if fused:
            seg = np.array(segments, np.int64).reshape(-1, _strings.SEG_COLUMNS)
            fused = np.array(fused, np.int64)
            cross_keys = np.array(cross_keys, np.int64).reshape(-1, 2) if cross_keys else _write.NO_CROSS_KEYS
        else:
            seg, fused, cross_keys = _NO_SEGMENTS, _write.NO_FUSED, _write.NO_CROSS_KEYS
        bad_e, bad_j = _write.write_outputs(
            out, num, plan.num_ops, plan.bkt_ops, plan.bounds,
            ind_splits, ind_ids, ind_w, ind_ops,
            emb_splits, emb_ids, emb_w, emb_ops, plan.emb_max_norm, table_buf, table_meta,
            seg, fused, cross_keys,
        )  # fmt: skip
        self._raise_writer_error(bad_e, bad_j, fused, emb_ids, emb_ops)

    def _raise_writer_error(self, bad_e, bad_j, fused, emb_ids, emb_ops):
        """Raises the error `write_outputs` reported, if any."""
        plan = self._plan
        if bad_e == -2:
            specs = plan.ind_specs if fused[bad_j, _write.FUSED_TARGET] == 0 else [s for s, _ in plan.embeddings]
            spec = specs[fused[bad_j, _write.FUSED_COLUMN]]
            keys = spec.cat.keys if isinstance(spec.cat, _spec.CrossedSpec) else [spec.cat.key]
            raise ValueError(
                f"Feature {', '.join(repr(k) for k in keys)} (column {spec.name!r}): malformed "
                "string buffers (offsets outside the data)."
            )
        if bad_e >= 0:
            spec = plan.embeddings[bad_e][0]
            rows = plan.tables[spec.table_name][0]
            bad_id = emb_ids[emb_ops[bad_e, 0] + bad_j]
            raise ValueError(
                f"Column {spec.name!r}: id {bad_id} is out of range [0, {rows}) "
                "of its embedding table (input_layer raises InvalidArgumentError here)."
            )

    def _write_laid_out(self, out):
        """`write` for a plan whose indicator and embedding columns the writer
        all computes itself, reusing the call layout of an earlier batch with
        the same row count and the same string inputs' shapes (decision 74).

        Returns:
            False (nothing done) when some column's input is not a dense
            string input the writer reads, or a cross key has several items
            a row: `write` then takes the general way, which also raises any
            error about those inputs.
        """
        plan = self._plan
        layouts = self._layouts
        sources = []
        for key, spec in layouts.keys:
            src = self._named(spec, self.string_source, key, spec.cat.name)
            if src is None:
                return False
            sources.append(src)
        n = out.shape[0]
        shape = (n,) + tuple((src.per_row, len(src.rows)) for src in sources)
        lay = layouts.get(shape, sources)
        if lay is None:
            return False
        if not plan.embeddings:
            table_buf, table_meta = _write._NO_TABLES
        elif len(self._tables) == len(plan.tables):  # every table set: no per-column check
            table_buf, table_meta = self._table_storage.buf, self._table_storage.meta
        else:
            table_buf, table_meta = self._table_arrays()  # raises naming the column
        seg = np.array([row for src in sources for row in src.rows], np.int64).reshape(-1, _strings.SEG_COLUMNS)
        num = [self._named(s, self.numeric, s) for s in plan.num_specs]
        num = _numeric_rows(num, n)
        ind_ids = np.empty(lay.ind_ids, np.int64)
        emb_ids = np.empty(lay.emb_ids, np.int64)
        bad_e, bad_j = _write.write_outputs(
            out, num, plan.num_ops, plan.bkt_ops, plan.bounds,
            lay.ind_splits, ind_ids, _NO_WEIGHTS, lay.ind_ops,
            lay.emb_splits, emb_ids, _NO_WEIGHTS, lay.emb_ops, plan.emb_max_norm, table_buf, table_meta,
            seg, lay.fused, lay.cross_keys,
        )  # fmt: skip
        self._raise_writer_error(bad_e, bad_j, lay.fused, emb_ids, lay.emb_ops)
        return True

    def _pack_object_strings(self):
        """Packs every dense `object` string feature of the batch in one
        `_pyobjects.pack_many` call (a few microseconds a feature less than
        one call each, most of a small batch's string time); `string_source`
        and `cat_values` then take their items from `self._packed`.

        Features whose items are not all str/bytes are left to
        `cat_values`, which raises the error naming the feature.
        """
        keys, arrays = [], []
        for key, c in self._raw.items():
            if c[0] != "dense":
                continue
            arr = c[1]
            if arr.dtype != object or arr.ndim not in (1, 2) or not arr.size:
                continue
            if not isinstance(arr.item(0), (str, bytes)):
                continue
            keys.append(key)
            arrays.append(arr.reshape(-1))
        if len(arrays) < 2:
            return
        packed = _pyobjects.pack_many(arrays)
        if packed is None:
            return  # some item is not a string: per feature, with its error
        first = 0
        for key, flat in zip(keys, arrays):
            last = first + flat.shape[0]
            self._packed[key] = (first, last)
            first = last
        self._packed_arrays = packed

    def _packed_cat_values(self, key):
        """CatValues of a feature `_pack_object_strings` packed."""
        first, last = self._packed[key]
        buf, starts, ends, (a_buf, a_starts, a_ends) = self._packed_arrays
        arr = self._raw[key][1]
        n = arr.shape[0]
        per_row = arr.shape[1] if arr.ndim == 2 else 1
        splits = _inputs.strided(n, per_row) if per_row else np.zeros(n + 1, np.int64)
        # Views into the shared arrays; their data starts 8 bytes an item in.
        return _inputs.CatValues(
            splits, "str", buf=buf, starts=starts[first:last], ends=ends[first:last],
            dense=True, addresses=(a_buf, a_starts + 8 * first, a_ends + 8 * first),
        )  # fmt: skip

    def _hash_string_columns(self):
        """Hashes every string hash-bucket column of the batch in one kernel
        call: numpy `S` arrays read in place, other strings packed.

        Fills the ids cache; columns whose input is not strings are left to
        `ids`, which raises the dtype error.
        """
        specs = [s for s in self._plan.string_hash_specs if id(s) not in self._fused]
        if len(specs) < 2:
            return
        todo = []  # (spec, fixed-width S array or None, packed CatValues or None)
        for spec in specs:
            if id(spec) in self._cache:
                continue
            c = self._named(spec, self.raw, spec.key, spec.name)
            arr = c[1] if c[0] == "dense" else None
            if arr is not None and arr.dtype.kind == "S" and arr.ndim in (1, 2) and arr.dtype.itemsize:
                todo.append((spec, np.ascontiguousarray(arr), None))
                continue
            cv = self._named(spec, self.cat_values, spec.key, spec.name, "str", True)
            if cv.kind == "str":
                todo.append((spec, None, cv))
        if not todo:
            return
        buffers = [cv.buf if arr is None else arr.view(np.uint8).reshape(-1) for _, arr, cv in todo]
        counts = np.array([cv.starts.shape[0] if arr is None else arr.size for _, arr, cv in todo], np.int64)
        widths = np.array([0 if arr is None else arr.dtype.itemsize for _, arr, _ in todo], np.int64)
        base = np.zeros(len(todo), np.int64)
        np.cumsum([b.shape[0] for b in buffers[:-1]], out=base[1:])
        col_splits = np.zeros(len(todo) + 1, np.int64)
        np.cumsum(counts, out=col_splits[1:])
        starts = np.empty(col_splits[-1], np.int64)
        ends = np.empty(col_splits[-1], np.int64)
        for k, (_, arr, cv) in enumerate(todo):
            if arr is None:
                starts[col_splits[k] : col_splits[k + 1]] = cv.starts
                ends[col_splits[k] : col_splits[k + 1]] = cv.ends
        buckets = np.array([spec.num_buckets for spec, _, _ in todo], np.int64)
        out = np.empty(col_splits[-1], np.int64)
        _hash.hash_string_columns_mod(
            np.concatenate(buffers), starts, ends, base, widths, col_splits, buckets, out
        )
        for k, (spec, arr, cv) in enumerate(todo):
            ids = out[col_splits[k] : col_splits[k + 1]]
            if arr is None:
                self._cache[id(spec)] = (cv.row_splits, ids, None)
                continue
            n = arr.shape[0]
            per_row = arr.shape[1] if arr.ndim == 2 else 1
            splits = _inputs.strided(n, per_row) if per_row else np.zeros(n + 1, np.int64)
            if ids.shape[0] and ids.min() < 0:
                # Empty strings are TF's ignore value: drop them, as the
                # dense-to-sparse conversion does.
                splits, kept = _kernels.compact(splits, ids >= 0)
                ids = ids[kept]
            self._cache[id(spec)] = (splits, ids, None)

    def _fuse(self, specs, target, segments, fused, cross_keys):
        """Which of `specs` the writer computes the ids of itself: unweighted
        string hash-bucket columns over a dense string input, and crosses
        whose keys are all dense 1-D string features (one value a row each,
        so one id a row; decision 73).

        Returns:
            {index into specs: items per row}; appends their segment rows
            to `segments`, their rows to `fused` and the crosses' keys to
            `cross_keys`.
        """
        found = {}
        first = len(segments)
        for k, spec in enumerate(specs):
            cat = spec.cat
            if isinstance(cat, _spec.CrossedSpec):
                keys = self._cross_sources(spec)
                if keys is None:
                    continue
                q0 = len(cross_keys)
                for src in keys:
                    count = len(src.rows)
                    segments.extend(src.rows)
                    cross_keys.append((first, first + count))
                    first += count
                fused.append(_cross_row(cat, q0, len(cross_keys), target, k))
                found[k] = 1
                continue
            if not (isinstance(cat, _spec.HashSpec) and cat.is_string):
                continue
            src = self._named(spec, self.string_source, cat.key, cat.name)
            if src is None:
                continue
            count = len(src.rows)
            segments.extend(src.rows)
            fused.append((first, first + count, src.per_row, cat.num_buckets, target, k, _write.KIND_HASH, 0))
            first += count
            found[k] = src.per_row
            self._fused.add(id(cat))
        return found

    def _cross_sources(self, spec):
        """The `StrSource` of each key of a crossed column when every key is
        a dense 1-D string feature (the writer crosses those); else None."""
        cat = spec.cat
        sources = []
        for key in cat.keys:
            if not isinstance(key, str):
                return None
            src = self._named(spec, self.string_source, key, cat.name)
            if src is None or src.per_row != 1:
                return None
            sources.append(src)
        return sources or None

    def _concat_ids(self, specs, ops, splits_col, n, fused):
        """Ids of the categorical columns under indicator/embedding `specs`
        side by side, for `write_outputs`; `fused` columns ({index: items per
        row}) get an empty slot the writer fills.

        Returns:
            (int64 [U, n+1] distinct row splits, int64 ids, float32 weights
            (zeros where unweighted), ops copy with column 0 = ids offset and
            column `splits_col` = the column's row of the splits).
        """
        pieces = []
        for k, s in enumerate(specs):
            if k in fused:
                per_row = fused[k]
                splits = _inputs.strided(n, per_row) if per_row else np.zeros(n + 1, np.int64)
                pieces.append((splits, n * per_row, None))
            else:
                pieces.append(self._named(s, self.ids, s.cat))
        ops = ops.copy()
        # Columns with the same splits array (the cached `strided` ones every
        # dense input gets) share a row: one row instead of one a column.
        rows = {}
        offset = 0
        for k, (s, ids, _) in enumerate(pieces):
            ops[k, 0] = offset
            ops[k, splits_col] = rows.setdefault(id(s), len(rows))
            offset += ids if k in fused else ids.shape[0]
        if len(rows) == 1:
            splits = pieces[0][0].reshape(1, n + 1)
        elif rows:
            unique = {id(p[0]): p[0] for p in pieces}
            splits = np.stack([unique[i] for i in rows])
        else:
            splits = np.zeros((0, n + 1), np.int64)
        if len(pieces) == 1 and not fused:
            ids = pieces[0][1]
        elif not fused:
            ids = np.concatenate([p[1] for p in pieces]) if pieces else np.zeros(0, np.int64)
        else:
            ids = np.empty(offset, np.int64)
            for k, (_, part, _) in enumerate(pieces):
                if k not in fused:
                    ids[ops[k, 0] : ops[k, 0] + part.shape[0]] = part
        weights = np.zeros(offset if any(p[2] is not None for p in pieces) else 0, np.float32)
        for k, (_, _, w) in enumerate(pieces):
            if w is not None:
                weights[ops[k, 0] : ops[k, 0] + w.shape[0]] = w
        return splits, ids, weights, ops

    @staticmethod
    def _named(spec, fn, *args):
        """Calls fn; errors also name the output column they happened in."""
        try:
            return fn(*args)
        except (ValueError, TypeError) as e:
            if repr(spec.name) in str(e):
                raise
            raise type(e)(f"{e} (in column {spec.name!r})") from None

    def _table_arrays(self):
        """(buffer, meta) of the embedding tables, all of which must be set."""
        for spec, _ in self._plan.embeddings:
            if spec.table_name not in self._tables:
                raise ValueError(
                    f"No embedding table for column {spec.name!r}: call "
                    f"t.set_embedding_table({spec.table_name!r}, array) with a "
                    f"{self._plan.tables[spec.table_name][:2]} float32 array first."
                )
        return self._table_storage.buf, self._table_storage.meta


_NO_SEGMENTS = np.zeros((0, _strings.SEG_COLUMNS), np.int64)
_MISSING = object()
_NO_WEIGHTS = np.zeros(0, np.float32)


class _Layout:
    """What `write_outputs` needs besides the batch's data, for one layout
    (row count, items per row and segment count of each string input):
    every array here is only read by the kernels, so concurrent calls may
    share it."""

    def __init__(self, plan, spec_sources, sources, n):
        first = [0]
        for src in sources:
            first.append(first[-1] + len(src.rows))
        fused, cross_keys = [], []
        self.ind_ops, self.ind_splits, self.ind_ids = self._columns(
            plan.ind_specs, plan.ind_ops, _write.IND_SPLITS_ROW, _write.TARGET_INDICATOR,
            spec_sources, sources, first, n, fused, cross_keys,
        )  # fmt: skip
        self.emb_ops, self.emb_splits, self.emb_ids = self._columns(
            [spec for spec, _ in plan.embeddings], plan.emb_ops, _write.EMB_SPLITS_ROW,
            _write.TARGET_EMBEDDING, spec_sources, sources, first, n, fused, cross_keys,
        )  # fmt: skip
        self.fused = np.array(fused, np.int64).reshape(-1, _write.FUSED_COLUMNS)
        self.cross_keys = np.array(cross_keys, np.int64).reshape(-1, 2)

    @staticmethod
    def _columns(specs, ops, splits_col, target, spec_sources, sources, first, n, fused, cross_keys):
        ops = ops.copy()
        rows, offset = {}, 0
        for k, spec in enumerate(specs):
            cat = spec.cat
            if isinstance(cat, _spec.CrossedSpec):
                if any(sources[f].per_row != 1 for f in spec_sources[id(spec)]):
                    raise _NotLaidOut
                q0 = len(cross_keys)
                for f in spec_sources[id(spec)]:
                    cross_keys.append((first[f], first[f + 1]))
                fused.append(_cross_row(cat, q0, len(cross_keys), target, k))
                per_row = 1
            else:
                (f,) = spec_sources[id(spec)]
                per_row = sources[f].per_row
                fused.append((first[f], first[f + 1], per_row, cat.num_buckets, target, k,
                              _write.KIND_HASH, 0))  # fmt: skip
            ops[k, 0] = offset
            ops[k, splits_col] = rows.setdefault(per_row, len(rows))
            offset += n * per_row
        splits = np.zeros((len(rows), n + 1), np.int64)
        for per_row, row in rows.items():
            splits[row] = np.arange(0, n * per_row + 1, per_row) if per_row else 0
        return ops, splits, offset


class _NotLaidOut(Exception):
    """A layout the writer cannot compute every id of (see `_Layout`)."""


class LayoutCache:
    """Call layouts of one plan, keyed by batch size and the string inputs'
    shapes, for plans whose every indicator and embedding column is a string
    hash bucket or a cross of raw string keys (`fusable`).

    Bounded: at most `max_layouts` are kept; the oldest goes first. Safe for
    threads calling one transform: a hit is one dict lookup, a miss builds
    and inserts under a lock.

    Args:
        plan: the `_plan.Plan`.
        max_layouts: layouts kept.
    """

    def __init__(self, plan, max_layouts=8):
        self._plan = plan
        self._max = max_layouts
        self._layouts = {}
        self._lock = threading.Lock()
        self.keys = []  # (feature key, first spec reading it), in read order
        self._sources = {}  # id(spec) -> indices into keys
        specs = list(plan.ind_specs) + [spec for spec, _ in plan.embeddings]
        self.fusable = bool(specs)
        index = {}
        for spec in specs:
            cat = spec.cat
            if isinstance(cat, _spec.HashSpec) and cat.is_string:
                keys = [cat.key]
            elif isinstance(cat, _spec.CrossedSpec) and cat.keys and all(isinstance(k, str) for k in cat.keys):
                keys = list(cat.keys)
            else:
                self.fusable = False
                break
            found = []
            for key in keys:
                if key not in index:
                    index[key] = len(self.keys)
                    self.keys.append((key, spec))
                found.append(index[key])
            self._sources[id(spec)] = found

    def __len__(self):
        return len(self._layouts)

    def get(self, shape, sources):
        """The `_Layout` for `shape` (built from `sources` if new), or None
        when the writer cannot compute every id for it."""
        lay = self._layouts.get(shape, _MISSING)
        if lay is not _MISSING:
            return lay
        try:
            lay = _Layout(self._plan, self._sources, sources, shape[0])
        except _NotLaidOut:
            lay = None
        with self._lock:
            while len(self._layouts) >= self._max:
                del self._layouts[next(iter(self._layouts))]
            self._layouts[shape] = lay
        return lay


def _cross_row(cat, q0, q1, target, k):
    """The writer's `fused` row of crossed column `cat` (column `k` of
    `target`), whose keys are `cross_keys[q0:q1]`: one id a row."""
    hash_key = cat.hash_key or _DEFAULT_HASH_KEY
    if hash_key >= 1 << 63:
        hash_key -= 1 << 64  # its uint64 bits, as int64
    return (q0, q1, 1, cat.num_buckets, target, k, _write.KIND_CROSS, hash_key)


def _numeric_rows(values, n):
    """float32 `[Wn, n]`: the numeric specs' `[n, w]` values side by side,
    one row per value column, as `write_outputs` reads them."""
    if not values:
        return np.zeros((0, n), np.float32)
    return np.concatenate([v.T for v in values], axis=0)


def _to_float32(x):
    """TF's Cast to float32 in a session: overflow to inf, flush-to-zero."""
    if x.dtype == np.float32:
        return np.ascontiguousarray(x)  # no Cast op: subnormals pass through
    with np.errstate(over="ignore"):
        x = np.ascontiguousarray(x, dtype=np.float32)
    if x.dtype.kind == "f":
        x = _flush_subnormals(x)
    return x


def _flush_subnormals(x):
    tiny = np.finfo(x.dtype).tiny
    small = np.abs(x) < tiny
    if small.any():
        x = np.where(small, x * 0, x)
    return x


def _cross_values(cv):
    """uint64 values a raw crossed key contributes: fingerprints or int64 bits."""
    if cv.kind == "str":
        out = np.empty(cv.starts.shape[0], np.uint64)
        _kernels.fingerprint_strs(cv.buf, cv.starts, cv.ends, out)
        return out
    if cv.kind == "float":
        with np.errstate(invalid="ignore"):
            return np.trunc(cv.values).astype(np.int64).view(np.uint64)
    return cv.values.view(np.uint64)
