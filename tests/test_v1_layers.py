"""`kerasbridge.compat.v1_layers` in a graph: scopes, reuse, collections, errors.

Messages are the original's (TF 2.15 `tf.compat.v1.layers`), most of them
raised by `tf.compat.v1.get_variable` itself.
"""

import sys

import numpy as np
import pytest
import tensorflow as tf

import kerasbridge as kb
from kerasbridge.compat import v1_layers as layers

v1 = tf.compat.v1


@pytest.fixture
def graph():
    with tf.Graph().as_default() as g:
        v1.set_random_seed(0)
        yield g


def _x(shape=(None, 4)):
    return v1.placeholder(tf.float32, shape)


def _names(variables):
    return [v.op.name for v in variables]


def test_install_makes_tf_layers_these_layers():
    kb.install()
    import tensorflow.compat.v1 as tf1  # noqa: PLC0415

    assert tf1.layers is layers
    assert tf.compat.v1.layers is layers
    assert sys.modules["tensorflow.compat.v1.layers"] is layers
    assert tf1.layers.dense is layers.dense and tf1.layers.Dense is layers.Dense


def test_reuse_true_on_a_missing_variable(graph):
    with pytest.raises(ValueError, match=r"Variable foo/kernel does not exist, or was "
                       r"not created with tf.get_variable\(\)"):
        layers.dense(_x(), 2, name="foo", reuse=True)


def test_same_name_without_reuse(graph):
    layers.dense(_x(), 2, name="foo")
    with pytest.raises(ValueError, match=r"Variable foo/kernel already exists, "
                       r"disallowed. Did you mean to set reuse=True"):
        layers.dense(_x(), 2, name="foo")


def test_reuse_with_another_shape(graph):
    layers.dense(_x(), 3)
    with pytest.raises(ValueError, match=r"Trying to share variable dense/kernel, "
                       r"but specified shape \(5, 2\) and found shape \(4, 3\)"):
        layers.dense(_x((None, 5)), 2, name="dense", reuse=True)


def test_reused_layer_object_checks_its_input(graph):
    layer = layers.Dense(2)
    layer(_x())
    with pytest.raises(ValueError, match=r'Input 0 of layer "dense_1" is '
                       r"incompatible with the layer: expected axis -1 of input "
                       r"shape to have value 4"):
        layer(_x((None, 5)))


def test_input_rank_and_unknown_last_dimension(graph):
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        layers.dense(_x((None,)), 2)
    with pytest.raises(ValueError, match="The last dimension of the inputs to a "
                       "Dense layer should be defined. Found None"):
        layers.dense(_x((None, None)), 2)
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=2"):
        layers.max_pooling2d(_x(), 2, 2)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="The `padding` argument must be"):
        layers.Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match="`kernel_size` argument must be a tuple of 2"):
        layers.Conv2D(3, (3, 3, 3))
    with pytest.raises(ValueError, match="Invalid value received for `rate`"):
        layers.Dropout(1.5)
    with pytest.raises(ValueError, match="does not support `renorm`"):
        layers.BatchNormalization(renorm=True)


def test_eager_use_is_a_clear_error():
    with pytest.raises(RuntimeError, match="needs graph mode"):
        layers.dense(tf.ones([2, 3]), 2)


def test_auto_reuse_and_reuse_scopes_share_variables(graph):
    x = _x()
    with v1.variable_scope("net", reuse=v1.AUTO_REUSE):
        a = layers.dense(x, 3, name="h")
        b = layers.dense(x, 3, name="h")
    with v1.variable_scope("net", reuse=True):
        c = layers.dense(x, 3, name="h")
    assert _names(v1.global_variables()) == ["net/h/kernel", "net/h/bias"]
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        va, vb, vc = sess.run([a, b, c], {x: np.ones((2, 4))})
    np.testing.assert_array_equal(va, vb)
    np.testing.assert_array_equal(va, vc)


def test_auto_names_count_per_scope(graph):
    x = _x()
    layers.dense(x, 2)
    with v1.variable_scope("tower"):
        layers.dense(x, 2)
        layers.dense(x, 2)
    layers.dense(x, 2)
    assert [n for n in _names(v1.global_variables()) if n.endswith("kernel")] == [
        "dense/kernel", "tower/dense/kernel", "tower/dense_1/kernel", "dense_1/kernel"
    ]


def test_trainable_false_and_scope_initializer(graph):
    x = _x()
    with v1.variable_scope("s", initializer=v1.constant_initializer(0.5)):
        frozen = layers.Dense(3, trainable=False)
        out = frozen(x)
    assert _names(v1.trainable_variables()) == []
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 2
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        kernel = sess.run(frozen.kernel)
    np.testing.assert_array_equal(kernel, np.full((4, 3), 0.5, np.float32))
    optimizer = v1.train.GradientDescentOptimizer(0.1)
    with pytest.raises(ValueError, match="No variables to optimize"):
        optimizer.minimize(tf.reduce_sum(out))


def test_regularizers_join_the_collection_once(graph):
    x = _x()
    layers.dense(x, 3, name="r", kernel_regularizer=lambda w: tf.reduce_sum(w * 0))
    layers.dense(x, 3, name="r", reuse=True,
                 kernel_regularizer=lambda w: tf.reduce_sum(w * 0))
    losses = v1.get_collection(v1.GraphKeys.REGULARIZATION_LOSSES)
    assert [t.name for t in losses] == ["r/kernel/Regularizer/Sum:0"]
    assert v1.losses.get_regularization_loss().dtype == tf.float32


def test_batch_norm_update_ops_are_wired_by_the_user(graph):
    x = _x((None, 3))
    y = layers.batch_normalization(x, training=True, momentum=0.5)
    updates = v1.get_collection(v1.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2 and all(isinstance(u, tf.Operation) for u in updates)
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        data = np.array([[1, 2, 3], [3, 6, 9]], np.float32)
        sess.run(y, {x: data})  # the output alone leaves the statistics alone
        mean = v1.global_variables()[2]
        np.testing.assert_array_equal(sess.run(mean), np.zeros(3))
        sess.run(updates, {x: data})
        np.testing.assert_allclose(sess.run(mean), [1.0, 2.0, 3.0])


def test_dropout_is_active_only_when_training(graph):
    x = _x((None, 1000))
    training = v1.placeholder_with_default(False, [])
    y = layers.dropout(x, rate=0.5, training=training)
    off = layers.dropout(x, rate=0.5)  # TF1's default: training=False
    with v1.Session() as sess:
        ones = np.ones((4, 1000), np.float32)
        np.testing.assert_array_equal(sess.run(y, {x: ones}), ones)
        np.testing.assert_array_equal(sess.run(off, {x: ones}), ones)
        dropped = sess.run(y, {x: ones, training: True})
    assert set(np.unique(dropped)) == {0.0, 2.0}
    assert 0.4 < (dropped == 0).mean() < 0.6


def test_layer_subclass_contract(graph):
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", [int(input_shape[-1])],
                                     initializer=v1.ones_initializer())

        def call(self, inputs):
            return inputs * self.w

    layer = Scale()
    layer(_x())
    layer(_x())
    assert layer.name == "scale_1" and layer.scope_name == "scale"
    assert _names(layer.trainable_variables) == ["scale/w"]
    assert _names(v1.global_variables()) == ["scale/w"]


def test_named_and_keras_initializers_activations_regularizers(graph):
    x = _x()
    named = layers.dense(x, 3, activation="relu", kernel_initializer="zeros",
                         bias_initializer="ones")
    layers.dense(x, 3, kernel_initializer=tf.keras.initializers.Constant(0.25),
                 kernel_regularizer=tf.keras.regularizers.l2(0.01))
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        out, reg = sess.run([named, v1.losses.get_regularization_loss()],
                            {x: np.ones((1, 4))})
    np.testing.assert_array_equal(out, [[1.0, 1.0, 1.0]])
    np.testing.assert_allclose(reg, 0.01 * 12 * 0.25**2, rtol=1e-6)
    with pytest.raises(ValueError, match="kernel_initializer"):
        layers.Dense(2, kernel_initializer="no_such_initializer")
