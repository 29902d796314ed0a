"""The Keras model's starting weights as the Estimator's warm-start checkpoint.

As the original `model_to_estimator` did, the Keras model's weights at
conversion time are written once to `<model_dir>/keras/keras_model.ckpt`
(unless that directory already holds a checkpoint), and every `train()`,
`evaluate()` and `predict()` that finds no checkpoint in `model_dir`
initialises the model's weights from it.
"""

import os

import tensorflow as tf

KERAS_SUBDIR = "keras"
CHECKPOINT_NAME = "keras_model.ckpt"


def save_first_checkpoint(model_dir, weights):
    """Writes the starting weights unless `<model_dir>/keras` has a checkpoint.

    Args:
        model_dir: The Estimator's model directory.
        weights: dict of checkpoint key to numpy value.

    Returns:
        The path of the latest checkpoint in `<model_dir>/keras` (possibly
        one written earlier, as in the original), or `None` if `weights` is
        empty and there is none.
    """
    keras_dir = os.path.join(model_dir, KERAS_SUBDIR)
    latest = tf.train.latest_checkpoint(keras_dir)
    if latest is not None or not weights:
        return latest
    tf.io.gfile.makedirs(keras_dir)
    prefix = os.path.join(keras_dir, CHECKPOINT_NAME)
    # A throwaway graph works whatever context the caller is in; variables
    # initialised from placeholders keep large weights out of the GraphDef,
    # and the same Saver class the Estimator restores with writes the file.
    with tf.Graph().as_default():
        holders, var_list = {}, {}
        for key, value in weights.items():
            holder = tf.compat.v1.placeholder(tf.as_dtype(value.dtype), value.shape)
            holders[holder] = value
            var_list[key] = tf.compat.v1.Variable(holder, name="v", trainable=False)
        saver = tf.compat.v1.train.Saver(var_list=var_list, save_relative_paths=True)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer(), holders)
            saver.save(session, prefix, write_meta_graph=False)
    return prefix


def warm_start_saver(checkpoint_path, model_var_list):
    """A Saver restoring the model weights found in `checkpoint_path`.

    Args:
        checkpoint_path: The warm-start checkpoint.
        model_var_list: dict of checkpoint key to the graph's model variables.

    Returns:
        A `tf.compat.v1.train.Saver`, or `None` if no key matches.
    """
    available = dict(tf.train.list_variables(checkpoint_path))
    var_list = {
        key: variable
        for key, variable in model_var_list.items()
        if key in available and list(available[key]) == variable.shape.as_list()
    }
    if not var_list:
        return None
    return tf.compat.v1.train.Saver(var_list=var_list, name="keras_warm_start")
