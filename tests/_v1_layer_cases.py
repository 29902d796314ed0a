"""Layer configurations run through our `tf.compat.v1.layers` and TF's own.

`build(L, x)` gets a layers module `L` and a float32 input tensor and returns
the output; the same function runs on kerasbridge's `v1_layers` and on
tf-keras' TF1 layer classes (the code TF <= 2.15 shipped as
`tf.compat.v1.layers`), so the test compares the two on identical weights.
Run as a script (with tf-keras installed) to write the reference:
    python tests/_v1_layer_cases.py OUT.npz
"""

import sys

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1


def _l2(weight):
    return 0.1 * tf.reduce_sum(tf.square(weight))


def _shared_dense(L, x):
    layer = L.Dense(3, activation=tf.nn.tanh)
    return layer(x) + layer(2.0 * x)


def _scoped(L, x):
    with v1.variable_scope("tower"):
        h = L.dense(x, 4, name="hidden")
    with v1.variable_scope("tower", reuse=True):
        h2 = L.dense(x, 4, name="hidden")
    return L.dense(h + h2, 2)


def _bn_tensor_training(L, x):
    training = v1.placeholder_with_default(True, [])
    return L.batch_normalization(x, training=training, momentum=0.9)


def _channels_first(L, x):
    net = L.conv2d(x, 4, 3, padding="same", data_format="channels_first")
    net = L.batch_normalization(net, axis=1, training=True)
    net = L.average_pooling2d(net, 2, 2, data_format="channels_first")
    return L.flatten(net, data_format="channels_first")


CASES = {
    "dense": ([5, 4], lambda L, x: L.dense(L.dense(x, 3, activation=tf.nn.relu), 2)),
    "dense_rank3": ([2, 3, 4], lambda L, x: L.dense(x, 5)),
    "dense_shared_class": ([5, 4], _shared_dense),
    "dense_regularized": (
        [5, 4],
        lambda L, x: L.dense(
            x, 3, kernel_regularizer=_l2, bias_regularizer=_l2,
            activity_regularizer=_l2, bias_initializer=v1.ones_initializer(),
        ),
    ),
    "dense_frozen_no_bias": (
        [5, 4],
        lambda L, x: L.dense(L.dense(x, 3, trainable=False), 2, use_bias=False),
    ),
    "dense_scopes_reuse": ([5, 4], _scoped),
    "conv1d_same": ([2, 9, 3], lambda L, x: L.conv1d(x, 4, 3, padding="same")),
    "conv1d_causal_dilated": (
        [2, 9, 3],
        lambda L, x: L.conv1d(x, 4, 3, padding="causal", dilation_rate=2),
    ),
    "conv2d_strided_relu": (
        [2, 9, 8, 3],
        lambda L, x: L.conv2d(x, 4, (3, 2), strides=2, activation=tf.nn.relu),
    ),
    "conv2d_dilated_same": (
        [2, 9, 8, 3],
        lambda L, x: L.conv2d(x, 4, 3, padding="same", dilation_rate=2),
    ),
    "conv3d": ([2, 5, 6, 4, 2], lambda L, x: L.conv3d(x, 3, 2, strides=(1, 2, 1))),
    "conv2d_transpose_same": (
        [2, 5, 4, 3],
        lambda L, x: L.conv2d_transpose(x, 4, 3, strides=2, padding="same"),
    ),
    "conv2d_transpose_valid": (
        [2, 5, 4, 3], lambda L, x: L.conv2d_transpose(x, 2, (3, 2), strides=(2, 1)),
    ),
    "conv3d_transpose": (
        [1, 3, 4, 2, 2],
        lambda L, x: L.conv3d_transpose(x, 3, 2, strides=2, padding="same"),
    ),
    "separable_conv1d": (
        [2, 9, 3],
        lambda L, x: L.separable_conv1d(x, 4, 3, depth_multiplier=2, padding="same"),
    ),
    "separable_conv2d": (
        [2, 9, 8, 3],
        lambda L, x: L.separable_conv2d(x, 5, 3, strides=2, depth_multiplier=2),
    ),
    "max_pooling1d": ([2, 9, 3], lambda L, x: L.max_pooling1d(x, 2, 2)),
    "average_pooling1d_same": (
        [2, 9, 3], lambda L, x: L.average_pooling1d(x, 3, 2, padding="same"),
    ),
    "max_pooling2d": ([2, 9, 8, 3], lambda L, x: L.max_pooling2d(x, 2, 2)),
    "average_pooling2d": ([2, 9, 8, 3], lambda L, x: L.average_pooling2d(x, 3, 1)),
    "max_pooling3d_same": (
        [1, 5, 4, 3, 2], lambda L, x: L.max_pooling3d(x, 2, 2, padding="same"),
    ),
    "average_pooling3d": ([1, 5, 4, 3, 2], lambda L, x: L.average_pooling3d(x, 2, 1)),
    "flatten_dropout_eval": (
        [2, 3, 4, 2], lambda L, x: L.dropout(L.flatten(x), 0.5, training=False),
    ),
    "batch_norm_fused_train": (
        [4, 3, 3, 2], lambda L, x: L.batch_normalization(x, training=True),
    ),
    "batch_norm_fused_eval": (
        [4, 3, 3, 2], lambda L, x: L.batch_normalization(x, training=False),
    ),
    "batch_norm_dense_train": (
        [6, 3], lambda L, x: L.batch_normalization(x, training=True, momentum=0.5),
    ),
    "batch_norm_rank3_tensor_training": ([4, 3, 2], _bn_tensor_training),
    "batch_norm_no_center_scale": (
        [4, 3, 3, 2],
        lambda L, x: L.batch_normalization(
            x, training=True, center=False, scale=False, fused=False
        ),
    ),
    "channels_first_stack": ([2, 3, 6, 5], _channels_first),
    "conv2d_transpose_channels_first": (
        [2, 3, 4, 5],
        lambda L, x: L.conv2d_transpose(x, 2, 3, strides=2, data_format="channels_first"),
    ),
    "batch_norm_class_axis1": (
        [4, 3, 5], lambda L, x: L.BatchNormalization(axis=1)(x, training=True),
    ),
}


def input_value(name):
    shape = CASES[name][0]
    rng = np.random.default_rng(sum(map(ord, name)))
    return rng.normal(size=shape).astype(np.float32)


def build(L, name):
    """Builds case `name` with layers module `L` in a new graph.

    Returns:
        (graph, input placeholder, output tensor).
    """
    shape, fn = CASES[name]
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(1)
        x = v1.placeholder(tf.float32, shape)
        out = fn(L, x)
    return graph, x, out


def facts(graph):
    """Names and shapes of variables and the collections a user reads."""
    with graph.as_default():
        return {
            "global": [(v.op.name, tuple(v.shape.as_list())) for v in v1.global_variables()],
            "trainable": [v.op.name for v in v1.trainable_variables()],
            "n_updates": len(v1.get_collection(v1.GraphKeys.UPDATE_OPS)),
            "n_reg": len(v1.get_collection(v1.GraphKeys.REGULARIZATION_LOSSES)),
        }


def run(graph, x, out, name, values=None):
    """Output, regularization losses, and variable values after one update run.

    Args:
        values: optional {variable op name: value} to load first.

    Returns:
        dict of numpy results.
    """
    with graph.as_default(), v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        variables = {v.op.name: v for v in v1.global_variables()}
        if values is not None:
            for key, variable in variables.items():
                variable.load(values[key], sess)
        feed = {x: input_value(name)}
        result = {"output": sess.run(out, feed)}
        regs = v1.get_collection(v1.GraphKeys.REGULARIZATION_LOSSES)
        result["reg"] = np.array(sess.run(regs, feed), np.float32)
        result["initial"] = sess.run(variables)
        sess.run(v1.get_collection(v1.GraphKeys.UPDATE_OPS), feed)
        result["updated"] = sess.run(variables)
    return result


def _write_reference(path):
    from tf_keras.api._v1.keras.__internal__.legacy import layers  # noqa: PLC0415

    arrays = {}
    for name in CASES:
        graph, x, out = build(layers, name)
        info = facts(graph)
        result = run(graph, x, out, name)
        arrays[f"{name}:output"] = result["output"]
        arrays[f"{name}:reg"] = result["reg"]
        arrays[f"{name}:facts"] = np.array(repr(info))
        for key, value in result["initial"].items():
            arrays[f"{name}:initial:{key}"] = value
        for key, value in result["updated"].items():
            arrays[f"{name}:updated:{key}"] = value
    np.savez(path, **arrays)


if __name__ == "__main__":
    _write_reference(sys.argv[1])
