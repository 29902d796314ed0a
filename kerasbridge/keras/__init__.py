"""Keras 3 models as Estimators, and the way back.

* `model_to_estimator(keras_model, ...)`: an Estimator whose generated
  `model_fn` rebuilds the compiled model in each Estimator graph and trains,
  evaluates and predicts exactly as `fit` / `evaluate` / `predict` do.
* `estimator_weights_to_keras(estimator, keras_model)`: loads the
  Estimator's trained checkpoint into a Keras model.

Modules: `_model_spec` (what is read from the user's model, eagerly),
`_graph_model` (the model rebuilt in a TF1 graph for one mode),
`_io` (features/labels to model inputs/targets), `_variable_keys`
(checkpoint keys), `_first_checkpoint` (warm start from the Keras weights),
`_metric_names` (`metric_names_map`), `_lookup_layers` (lookup vocabularies
in the graph's table initializers), `_live_functions` (`Lambda` layers keep
the model's own functions).
"""

from kerasbridge.keras._errors import FormattedKeyError
from kerasbridge.keras.model_to_estimator import model_to_estimator
from kerasbridge.keras.weights import estimator_weights_to_keras

__all__ = ["FormattedKeyError", "estimator_weights_to_keras", "model_to_estimator"]
