"""graph.pbtxt: written by a background thread, byte-identical to TF's hook."""

import os

import numpy as np
import tensorflow as tf
from google.protobuf import text_format

from _kb_models import dnn_model_fn
from _kb_models import train_input_fn
from kerasbridge._runtime import _saver_hook
from kerasbridge.estimator import Estimator

v1 = tf.compat.v1


def _small_graph():
    graph = tf.Graph()
    with graph.as_default():
        v1.train.get_or_create_global_step()
        x = v1.get_variable("w", shape=[3, 2], initializer=v1.ones_initializer())
        loss = tf.reduce_sum(tf.matmul(tf.constant(np.ones((4, 3), np.float32)), x))
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=v1.train.get_global_step())
    return graph, train_op


def test_graph_pbtxt_is_what_tf_writes(tmp_path):
    graph, train_op = _small_graph()
    with graph.as_default():
        hook = _saver_hook.CheckpointSaverHook(str(tmp_path / "ours"), save_steps=100)
        with v1.train.MonitoredSession(hooks=[hook]) as sess:
            sess.run(train_op)
        hook.join()
        graph_def = graph.as_graph_def(add_shapes=True)
    tf.io.write_graph(graph_def, str(tmp_path / "tf"), "graph.pbtxt")
    expected = (tmp_path / "tf" / "graph.pbtxt").read_bytes()
    assert (tmp_path / "ours" / "graph.pbtxt").read_bytes() == expected
    # The first checkpoint still carries its meta graph.
    assert os.path.exists(tmp_path / "ours" / "model.ckpt-0.meta")


def test_train_writes_graph_pbtxt_before_returning(tmp_path):
    estimator = Estimator(dnn_model_fn, model_dir=str(tmp_path), params={"hidden": [4]})
    estimator.train(train_input_fn, steps=2)
    path = tmp_path / "graph.pbtxt"
    graph_def = tf.compat.v1.GraphDef()
    text_format.Parse(path.read_text(), graph_def)
    assert any(node.name == "global_step" for node in graph_def.node)
    assert os.path.exists(tmp_path / "model.ckpt-0.meta")
    assert os.path.exists(tmp_path / "model.ckpt-2.meta")
