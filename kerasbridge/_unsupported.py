"""Names of the original `tf.estimator` that kerasbridge does not provide.

Each maps to the message `install()`'s `tf.estimator` raises (as an
`AttributeError`) when a script asks for it: what the name was and what to
use instead on TensorFlow 2.21 + Keras 3 on CPU.
"""

_TPU = (
    "`tf.compat.v1.estimator.{name}` (TPUEstimator, TPUConfig, "
    "TPUEstimatorSpec, ...) drove TPUs through TF 1.x's TPU runtime, which "
    "TensorFlow 2.21 no longer has, and kerasbridge runs on CPU. A "
    "TPUEstimator run with use_tpu=False was a plain Estimator: use "
    "tf.estimator.Estimator (kerasbridge.Estimator) with the same model_fn "
    "returning tf.estimator.EstimatorSpec (TPUEstimatorSpec.as_estimator_spec"
    "()'s fields) and tf.estimator.RunConfig instead; for TPUs, use Keras with "
    "tf.distribute.TPUStrategy instead."
)

_RNN = (
    "tf.estimator.experimental.{name} is not provided by kerasbridge: it was "
    "built on Keras 2 RNN layers and sequence feature columns. Build the "
    "recurrent model in Keras 3 (keras.layers.LSTM / GRU over "
    "keras.layers.Embedding) and use kerasbridge.model_to_estimator("
    "keras_model=...) instead."
)

# name within tf.estimator (or its `experimental`) -> message template.
TOP_LEVEL = {"tpu": _TPU}
EXPERIMENTAL = {
    "LinearSDCA": (
        "tf.estimator.experimental.{name} (the SDCA optimizer for the linear "
        "canned estimators) is not provided by kerasbridge. Use "
        "tf.estimator.LinearClassifier / LinearRegressor with a gradient "
        "optimizer (optimizer='Ftrl', their default) instead."
    ),
    "RNNClassifier": _RNN,
    "RNNEstimator": _RNN,
    "KMeans": (
        "tf.compat.v1.estimator.experimental.{name} is not provided by "
        "kerasbridge (it needed TF 1.x's clustering ops). Use "
        "sklearn.cluster.KMeans, or write the clustering step in a custom "
        "model_fn for tf.estimator.Estimator, instead."
    ),
}


def error(table, name):
    """The `AttributeError` for `name` if `table` lists it, else None."""
    template = table.get(name)
    if template is None:
        return None
    return AttributeError(template.format(name=name))
