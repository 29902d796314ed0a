"""featurec: tf.feature_column definitions compiled into numba batch transforms.

* `compile(columns)` -> `Transform`: `t(features)` equals
  `tf.compat.v1.feature_column.input_layer(features, columns)`; `t.to_tf(...)`
  is the same plan in plain TF ops (for exported models).
* `input_layer(features, columns)`: drop-in for the TF function inside a
  `model_fn`, with input_layer's embedding variables.
* `linear_model(features, columns, units, sparse_combiner)`: linear_model's
  weighted sums (the canned linear estimators' logits) from the same plan.
* `dataset(ds, columns)`: the transform inside a `tf.data` pipeline.
* `batches(features, columns, labels, batch_size, ...)`: a `tf.data.Dataset`
  of model-ready batches cut straight from in-memory features.
* `keras_inputs` / `keras_features` / `keras_dataset` / `keras_features_tf` /
  `KerasInputLayer`: a Keras model over featurec's output, embeddings as
  trainable weights (trained by `model.fit` or `kb.model_to_estimator`).
* `make_parse_example_spec(columns)`, `normalizers`.
"""

import os as _os

# numba's OpenMP threads spin between parallel regions by default; on a busy
# or 2-core machine (TF's threads included) that stalled a 4,096-row call from
# ~18 ms to ~240 ms (benchmarks/RESULTS.md). Passive waiting costs nothing
# measurable when the machine is idle. Must be set before numba starts its
# threads; a value the user set wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from featurec import normalizers  # noqa: E402
from featurec._batches import batches  # noqa: E402
from featurec._dataset import dataset  # noqa: E402
from featurec._dataset import keras_dataset  # noqa: E402
from featurec._input_layer import DENSE_KEY  # noqa: E402
from featurec._input_layer import TF_OPS_ONLY_COLLECTION  # noqa: E402
from featurec._input_layer import input_layer  # noqa: E402
from featurec._input_layer import tf_ops_only  # noqa: E402
from featurec._keras import KerasInputLayer  # noqa: E402
from featurec._linear import linear_model  # noqa: E402
from featurec._keras import keras_features  # noqa: E402
from featurec._keras import keras_features_tf  # noqa: E402
from featurec._keras import keras_inputs  # noqa: E402
from featurec._parse_spec import make_parse_example_spec  # noqa: E402
from featurec.transform import Transform  # noqa: E402
from featurec.transform import compile  # noqa: E402, A004

__all__ = [
    "DENSE_KEY",
    "KerasInputLayer",
    "TF_OPS_ONLY_COLLECTION",
    "Transform",
    "batches",
    "compile",
    "dataset",
    "input_layer",
    "keras_features",
    "keras_dataset",
    "keras_features_tf",
    "keras_inputs",
    "linear_model",
    "make_parse_example_spec",
    "normalizers",
    "tf_ops_only",
]
