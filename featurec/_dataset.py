"""`featurec.dataset`: run the compiled transform inside a `tf.data` pipeline.

The numba work then happens in the input pipeline, on tf.data's threads
(`num_parallel_calls`) and ahead of the training step (`prefetch`), instead
of inside the step's graph.
"""

import sys

import tensorflow as tf

from featurec import _input_layer, _keras, _plan, _spec
from featurec import transform as _transform

# Modules whose feature lookups get `InputLayerFeatures`' explanation.
_TF_FEATURE_COLUMN_MODULES = "tensorflow.python.feature_column"


class InputLayerFeatures(dict):
    """The features `featurec.dataset` yields when embeddings are trained.

    A plain dict (the dense part under `featurec.DENSE_KEY`, each embedding
    column's ids under `featurec_dense/<column>/...`) that only
    `featurec.input_layer(features, feature_columns)` understands. When TF's
    own `input_layer` (or `DenseFeatures`) looks a raw feature up in it, the
    lookup raises a `ValueError` saying so, instead of TF's bare "Feature ...
    is not in features dictionary".
    """

    def copy(self):
        # TF's feature-column code copies the dict before its lookups.
        return InputLayerFeatures(self)

    def __contains__(self, key):
        found = dict.__contains__(self, key)
        if found or not isinstance(key, str):
            return found
        caller = sys._getframe(1).f_globals.get("__name__", "")  # noqa: SLF001
        if caller.startswith(_TF_FEATURE_COLUMN_MODULES):
            raise ValueError(
                f"Feature {key!r} is not in these features: they come from "
                "featurec.dataset, which for embedding columns yields "
                f"{_input_layer.DENSE_KEY!r} plus each embedding column's ids, "
                "a dict only featurec.input_layer(features, feature_columns) "
                "understands. Use featurec.input_layer in the model_fn instead "
                "of tf.compat.v1.feature_column.input_layer, or feed the raw "
                "features to TF's input_layer."
            )
        return False


def dataset(
    dataset,
    feature_columns,
    num_parallel_calls=tf.data.AUTOTUNE,
    prefetch=tf.data.AUTOTUNE,
    deterministic=None,
):
    """Maps a batched dataset's features through featurec.

    Each element's features (the element itself if it is a dict, else its
    first component; labels and any further components pass through) are
    replaced by:

    * the float32 matrix `[batch, width]` that input_layer would return,
      when nothing in it is trained: no embedding columns, or a compiled
      `featurec.Transform` whose embedding tables are all set;
    * otherwise (embedding columns whose tables the model trains) a dict
      that ONLY `featurec.input_layer(features, feature_columns)` in the
      `model_fn` understands: the non-embedding part under
      `featurec.DENSE_KEY` plus each embedding column's ids, which
      `featurec.input_layer` looks up in its trainable variables. TF's own
      `input_layer` cannot read it (it raises a `ValueError` saying so).

    Args:
        dataset: a `tf.data.Dataset` of batches (features dict, or tuples
            whose first component is the features dict).
        feature_columns: the dense feature columns, or a `featurec.Transform`.
        num_parallel_calls: batches transformed concurrently.
        prefetch: batches prepared ahead (None: no prefetch).
        deterministic: passed to `Dataset.map`.

    Returns:
        The mapped (and prefetched) `tf.data.Dataset`.

    Raises:
        ValueError / TypeError: bad columns, an unbatched dataset (a
            feature of rank 0), or an element without a features dict.
    """
    outputs = ModelInputs(feature_columns)
    keys = outputs.plan.feature_keys
    _check_batched(dataset, outputs.plan, "dataset")

    def transform_features(features):
        _check_features(features, "dataset")
        flat, rebuild = _input_layer._flatten_features(features, keys, outputs.plan)
        results = tf.numpy_function(
            lambda *arrays: outputs.compute(rebuild(arrays)), flat, outputs.dtypes,
            name="featurec",
        )
        return outputs.structure(results)

    return _map_features(dataset, transform_features, num_parallel_calls, prefetch, deterministic)


class ModelInputs:
    """What `featurec.dataset` / `featurec.batches` yield for a column set, and
    the numpy computation behind it.

    * No trained tables (no embedding columns, or a compiled `Transform`
      whose tables are all set): the float32 matrix input_layer returns.
    * Otherwise an `InputLayerFeatures` dict for `featurec.input_layer`: the
      non-embedding part plus each embedding column's ids.

    Args:
        feature_columns: the dense feature columns, or a `featurec.Transform`.
    """

    def __init__(self, feature_columns):
        if isinstance(feature_columns, _transform.Transform):
            self._transform = feature_columns
            self.plan = self._transform._plan
            self._matrix = set(self._transform._tables) == set(self.plan.tables)
        else:
            self.plan = _plan.build(_spec.read_columns(feature_columns))
            self._transform = _transform.Transform(self.plan)
            self._matrix = not self.plan.tables
        self._runner = None if self._matrix else _input_layer.KernelRunner(self.plan)
        self.dtypes = [tf.float32] + ([] if self._matrix else self._runner.id_dtypes)

    def compute(self, features):
        """numpy arrays, one per `dtypes` entry, from raw numpy-side features."""
        if self._matrix:
            return [self._transform(features)]
        return self._runner(features)

    def structure(self, tensors):
        """The matrix, or the `InputLayerFeatures` dict, from `compute`'s tensors."""
        tensors[0].set_shape([None, self.plan.output_width])
        if self._matrix:
            return tensors[0]
        out = InputLayerFeatures({_input_layer.DENSE_KEY: tensors[0]})
        rest = iter(tensors[1:])
        for spec, _ in self.plan.embeddings:
            parts = ("row_splits", "ids") + (("weights",) if _input_layer._weighted(spec) else ())
            for part in parts:
                tensor = next(rest)
                tensor.set_shape([None])
                out[_input_layer.ids_key(spec.name, part)] = tensor
        return out


def keras_dataset(
    dataset,
    feature_columns,
    num_parallel_calls=tf.data.AUTOTUNE,
    prefetch=tf.data.AUTOTUNE,
    deterministic=None,
):
    """Maps a batched dataset's raw features to a Keras model's inputs.

    For a model built on `featurec.keras_inputs(columns)` and
    `featurec.KerasInputLayer(columns)`: each element's features (the element
    itself if it is a dict, else its first component; labels pass through)
    become the dict `featurec.keras_features` returns, computed by the numba
    kernels on tf.data's threads. The input_fn of `kb.model_to_estimator`
    (or `model.fit`) can return it directly.

    Arguments, return value and errors are those of `dataset`, with
    `feature_columns` the columns given to `keras_inputs`.
    """
    plan = _plan.build(_spec.read_columns(feature_columns))
    runner = _keras.KerasFeatureRunner(plan)
    keys = plan.feature_keys
    _check_batched(dataset, plan, "keras_dataset")
    tf_dtypes = [tf.as_dtype(d) for d in runner.dtypes]

    def transform_features(features):
        _check_features(features, "keras_dataset")
        flat, rebuild = _input_layer._flatten_features(features, keys, plan)
        arrays = tf.numpy_function(
            lambda *a: runner.flat(rebuild(a)), flat, tf_dtypes, name="featurec_keras"
        )
        out = {}
        for name, tensor in zip(runner.names, arrays):
            tensor.set_shape([None, runner.dense_width] if name == _keras.DENSE_INPUT else [None, None])
            out[name] = tensor
        return out

    return _map_features(dataset, transform_features, num_parallel_calls, prefetch, deterministic)


def _check_batched(dataset, plan, fn_name):
    """Raises up front when the dataset yields single rows, not batches."""
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(
            f"featurec.{fn_name} needs a tf.data.Dataset; got "
            f"{type(dataset).__name__}."
        )
    spec = dataset.element_spec
    if isinstance(spec, tuple) and spec:
        spec = spec[0]
    if not isinstance(spec, dict):
        return  # _check_features names the problem when the map is traced
    for key in plan.feature_keys:
        feature = spec.get(key)
        shape = getattr(feature, "shape", None)
        if shape is not None and shape.rank == 0:
            column = next(
                s.name for s, _ in plan.outputs if key in _spec.feature_keys(s)
            )
            raise ValueError(
                f"featurec.{fn_name} needs a batched dataset, but feature "
                f"{key!r} (column {column!r}) has rank 0 in each element: "
                f"Feature (key: {key}) cannot have rank 0. Batch the dataset "
                f"first, e.g. featurec.{fn_name}(ds.batch(256), columns)."
            )


def _check_features(features, fn_name):
    if not isinstance(features, dict):
        raise TypeError(
            f"featurec.{fn_name} needs elements that are a features dict or a tuple "
            f"whose first component is one; got {type(features).__name__}."
        )


def _map_features(dataset, transform_features, num_parallel_calls, prefetch, deterministic):
    def map_element(*element):
        if len(element) == 1:
            return transform_features(element[0])
        return (transform_features(element[0]),) + tuple(element[1:])

    mapped = dataset.map(
        map_element, num_parallel_calls=num_parallel_calls, deterministic=deterministic
    )
    return mapped.prefetch(prefetch) if prefetch is not None else mapped
