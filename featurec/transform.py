"""`featurec.compile` and the `Transform` it returns."""

import numpy as np

from featurec import _execute, _output_pool, _plan, _spec, _write


def compile(feature_columns):  # noqa: A001 - the public name the design fixes
    """Compiles feature columns into a batch transform equal to `input_layer`.

    Args:
        feature_columns: the dense `tf.feature_column` columns you would pass
            to `tf.compat.v1.feature_column.input_layer` (numeric, bucketized,
            indicator, embedding, v1 shared embedding).

    Returns:
        A `Transform`.

    Raises:
        ValueError: columns input_layer rejects (bare categorical, v2 shared
            embeddings, sequence columns, duplicate names) or a bad
            vocabulary file.
        TypeError: unknown column types or an unsupported `normalizer_fn`.
    """
    return Transform(_plan.build(_spec.read_columns(feature_columns)))


class Transform:
    """A compiled feature-column transform.

    `t(features)` returns float32 `[batch, t.output_width]`, the matrix
    `input_layer(features, feature_columns)` returns. `t.layout` maps each
    column name to its output slice, in input_layer's order (sorted by column
    name).

    Embedding columns need their tables (trained in the model) before the
    first call: `t.set_embedding_table(name, array)`,
    `t.set_embedding_tables({name: array})`, or
    `t.load_embedding_tables(checkpoint)` which reads input_layer's variables
    `input_layer/<name>/embedding_weights`. `name` is the embedding column's
    name (e.g. `'C14_embedding'`); for v1 shared embeddings it is the shared
    collection name (e.g. `'a_b_shared_embedding'`) or any of its columns.

    Inputs: `features` is a dict, a pandas DataFrame, a pyarrow Table /
    RecordBatch or a polars DataFrame; its values:
    * numpy arrays (rank 1 = one value per row, rank 2 = several), Python
      lists (dtypes as `tf.convert_to_tensor` picks them: floats -> float32,
      ints -> int32), pandas Series, eager `tf.Tensor`s, pyarrow Arrays /
      ChunkedArrays, polars Series.
    * strings as `object` (str or bytes), `S` or `U` arrays; str is UTF-8
      encoded. `S` arrays and Arrow-backed strings (pandas `str` /
      `string[pyarrow]` / ArrowDtype, pyarrow, polars) are read in place.
    * nulls: `''` for strings (no id), NaN for numbers, -1 (no id) for
      integer categorical features, as TF treats those values in a dense
      input.
    * multivalent categorical values as padded 2-D arrays: `''` / `-1` are
      dropped, as input_layer drops them. Lists of lists with rows of
      different lengths mean the same padded array (so `''` / `-1` inside
      them are dropped too).
    * `tf.SparseTensor` / `tf.RaggedTensor`: every value is used, nothing is
      dropped (input_layer's SparseTensor semantics; a RaggedTensor behaves
      like its `.to_sparse()`).

    Numeric NaN/inf pass through; bucketized NaN lands in the last bucket,
    as in TF.
    """

    def __init__(self, plan):
        self._plan = plan
        self._tables = {}  # table name -> view into self._table_storage
        self._table_storage = _write.TableStorage([(r, d) for r, d, _ in plan.tables.values()])
        self._table_index = {name: i for i, name in enumerate(plan.tables)}
        self._aliases = {}
        self._outputs = _output_pool.OutputPool()  # reused when free, see __call__
        self._layouts = _execute.LayoutCache(plan)  # per-call id layouts, by input shapes
        for table, (_, _, names) in plan.tables.items():
            for name in names:
                self._aliases[name] = table
            self._aliases[table] = table

    @property
    def output_width(self):
        """Number of output columns."""
        return self._plan.output_width

    @property
    def layout(self):
        """Column name -> slice of the output, in output order."""
        return dict(self._plan.layout)

    @property
    def embedding_tables(self):
        """Table name -> required shape `(num_buckets, dimension)`."""
        return {name: (v[0], v[1]) for name, v in self._plan.tables.items()}

    def set_embedding_table(self, name, table):
        """Sets the embedding table used by column (or shared collection) `name`.

        Args:
            name: embedding column name, shared collection name, or the
                `input_layer/<name>/embedding_weights` variable name.
            table: array-like `[num_buckets, dimension]`, copied as float32.

        Raises:
            ValueError: unknown name or wrong shape.
        """
        key = self._table_key(name)
        arr = np.ascontiguousarray(np.asarray(table), dtype=np.float32)
        rows, dim, _ = self._plan.tables[key]
        if arr.shape != (rows, dim):
            raise ValueError(
                f"Embedding table for {name!r} must have shape {(rows, dim)}, got {arr.shape}."
            )
        # Copied into the transform's own buffer: later changes to the
        # caller's array do not leak into results.
        view = self._table_storage.view(self._table_index[key])
        view[...] = arr
        self._tables[key] = view

    def set_embedding_tables(self, tables):
        """Sets several tables: a mapping name -> array (see `set_embedding_table`)."""
        for name, table in dict(tables).items():
            self.set_embedding_table(name, table)

    def load_embedding_tables(self, checkpoint, scope="input_layer"):
        """Loads every table from a TF checkpoint written by an input_layer model.

        Args:
            checkpoint: checkpoint prefix or directory.
            scope: variable scope of the input_layer call.

        Raises:
            ValueError: a table's variable is missing from the checkpoint.
        """
        import tensorflow as tf

        reader = tf.train.load_checkpoint(checkpoint)
        for key in self._plan.tables:
            var = f"{scope}/{key}/embedding_weights"
            if not reader.has_tensor(var):
                raise ValueError(f"Checkpoint {checkpoint!r} has no variable {var!r}.")
            self.set_embedding_table(key, reader.get_tensor(var))

    def _table_key(self, name):
        name = str(name)
        if name.endswith(":0"):
            name = name[:-2]
        if name.endswith("/embedding_weights"):
            name = name[: -len("/embedding_weights")].split("/")[-1]
        if name not in self._aliases:
            raise ValueError(
                f"No embedding column or shared embedding named {name!r}; "
                f"known: {sorted(self._aliases)}."
            )
        return self._aliases[name]

    def __call__(self, features, out=None):
        """Transforms one batch.

        Args:
            features: dict feature key -> numpy array, list, pandas Series,
                tf.Tensor, tf.SparseTensor, tf.RaggedTensor, pyarrow array
                or polars Series; or a pandas DataFrame, pyarrow Table /
                RecordBatch, polars DataFrame.
            out: optional float32 C-contiguous `[batch, output_width]` array
                to write into.

        Returns:
            float32 ndarray `[batch, output_width]`. Without `out`, the
            array returned by the previous call is written again when no
            reference to it (or to a view of it) is left, so repeated calls
            do not page-fault fresh memory; a result you keep is never
            overwritten.

        Raises:
            ValueError / TypeError: a missing or malformed feature, naming the
                feature and the column; a missing embedding table.
        """
        batch = _execute.Batch(features, self._plan, self._tables, self._table_storage, self._layouts)
        for key, name in self._plan.required:
            batch.raw(key, name)
        shape = (batch.n, self._plan.output_width)
        if out is None:
            out = self._outputs.get(shape)
        elif (
            not isinstance(out, np.ndarray)
            or out.shape != shape
            or out.dtype != np.float32
            or not out.flags.c_contiguous
            or not out.flags.writeable
        ):
            raise ValueError(f"out must be a writable C-contiguous float32 array of shape {shape}.")
        batch.write(out)
        return out

    def to_tf(self, features, embedding_tables=None):
        """The same transform in plain TF ops, for graphs that must not call Python.

        Lowers this compiled plan to TF ops (hash buckets, lookup tables,
        bucketize, crosses, embedding lookups) so a serving graph or exported
        SavedModel takes raw features without `py_func`/`numpy_function`.

        Args:
            features: dict feature key -> `Tensor`/`SparseTensor`/`RaggedTensor`.
            embedding_tables: optional dict embedding name -> Tensor/Variable;
                default: the arrays set with `set_embedding_table`, as constants.

        Returns:
            float32 `Tensor` `[batch, output_width]`, equal to `__call__`.
        """
        from featurec import _lower_tf  # noqa: PLC0415 - keeps `import featurec` light

        return _lower_tf.lower_transform(self, features, embedding_tables)

    def __repr__(self):
        cols = ", ".join(f"{k}[{v.start}:{v.stop}]" for k, v in self._plan.layout.items())
        return f"<featurec.Transform width={self.output_width}: {cols}>"
