"""`featurec.dataset`: run the compiled transform inside a `tf.data` pipeline.

The numba work then happens in the input pipeline, on tf.data's threads
(`num_parallel_calls`) and ahead of the training step (`prefetch`), instead
of inside the step's graph.
"""

import tensorflow as tf

from featurec import _input_layer, _keras, _plan, _spec
from featurec import transform as _transform


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
    * otherwise a dict for `featurec.input_layer(features, feature_columns)`
      in the `model_fn`: the non-embedding part under
      `featurec.DENSE_KEY` plus each embedding column's ids, which
      input_layer looks up in its trainable variables.

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
        ValueError / TypeError: bad columns, or an element without a
            features dict.
    """
    if isinstance(feature_columns, _transform.Transform):
        transform = feature_columns
        plan = transform._plan
        matrix = set(transform._tables) == set(plan.tables)
    else:
        plan = _plan.build(_spec.read_columns(list(feature_columns)))
        transform = _transform.Transform(plan)
        matrix = not plan.tables
    runner = None if matrix else _input_layer.KernelRunner(plan)
    keys = plan.feature_keys

    def transform_features(features):
        _check_features(features, "dataset")
        flat, rebuild = _input_layer._flatten_features(features, keys, plan)
        if matrix:
            out = tf.numpy_function(
                lambda *arrays: transform(rebuild(arrays)), flat, tf.float32, name="featurec"
            )
            out.set_shape([None, plan.output_width])
            return out
        results = tf.numpy_function(
            lambda *arrays: runner(rebuild(arrays)),
            flat,
            [tf.float32] + runner.id_dtypes,
            name="featurec",
        )
        results[0].set_shape([None, plan.output_width])
        out = {_input_layer.DENSE_KEY: results[0]}
        rest = iter(results[1:])
        for spec, _ in plan.embeddings:
            parts = ("row_splits", "ids") + (("weights",) if _input_layer._weighted(spec) else ())
            for part in parts:
                tensor = next(rest)
                tensor.set_shape([None])
                out[_input_layer.ids_key(spec.name, part)] = tensor
        return out

    return _map_features(dataset, transform_features, num_parallel_calls, prefetch, deterministic)


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
    plan = _plan.build(_spec.read_columns(list(feature_columns)))
    runner = _keras.KerasFeatureRunner(plan)
    keys = plan.feature_keys
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
