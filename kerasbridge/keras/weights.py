"""Loading an Estimator checkpoint back into a Keras model (the way back)."""

import tensorflow as tf

from kerasbridge.keras import _variable_keys


def estimator_weights_to_keras(estimator, keras_model, checkpoint_path=None):
    """Loads the Estimator's trained weights into `keras_model`.

    After this call `keras_model.predict(x)` equals `estimator.predict` on
    the same inputs. The model must have the architecture the Estimator was
    created from; with the default `'checkpoint'` format its layer names may
    differ (keys are structural), with `'saver'` they must match. Optimizer
    state is not loaded.

    Args:
        estimator: An Estimator from `model_to_estimator` (anything with
            `latest_checkpoint()` whose checkpoints it wrote).
        keras_model: A built Keras model of the same architecture.
        checkpoint_path: A specific checkpoint; defaults to the Estimator's
            latest.

    Returns:
        `keras_model`, with its weights replaced.

    Raises:
        ValueError: if there is no checkpoint, or it does not hold every
            weight of `keras_model` with the right shape.
    """
    if checkpoint_path is None:
        checkpoint_path = estimator.latest_checkpoint()
    if checkpoint_path is None:
        raise ValueError(
            "The estimator has no checkpoint to load (train it first, or pass "
            f"`checkpoint_path`). model_dir: {getattr(estimator, 'model_dir', None)}"
        )
    reader = tf.train.load_checkpoint(checkpoint_path)
    available = reader.get_variable_to_shape_map()
    pairs = _variable_keys.structural_variables(keras_model)
    weight_ids = {id(w) for w in keras_model.weights}
    best_missing = None
    for checkpoint_format in _variable_keys.CHECKPOINT_FORMATS:
        keys = _variable_keys.model_variable_keys(keras_model, checkpoint_format)
        missing = [
            key
            for (variable, _), key in zip(pairs, keys)
            if id(variable) in weight_ids and key not in available
        ]
        if not missing:
            _assign(pairs, keys, available, reader)
            return keras_model
        if best_missing is None or len(missing) < len(best_missing):
            best_missing = missing
    raise ValueError(
        f"The checkpoint {checkpoint_path} does not match `keras_model`: no "
        f"value for the weights {best_missing}. The model must have the "
        "architecture the Estimator was created from."
    )


def _assign(pairs, keys, available, reader):
    updates = []
    for (variable, _), key in zip(pairs, keys):
        if key not in available:
            continue  # e.g. a seed generator state never saved
        if list(available[key]) != list(variable.shape):
            raise ValueError(
                f"Checkpoint value {key!r} has shape {available[key]}, but the "
                f"Keras variable {variable.path!r} has shape {tuple(variable.shape)}."
            )
        updates.append((variable, reader.get_tensor(key)))
    for variable, value in updates:
        variable.assign(value)
