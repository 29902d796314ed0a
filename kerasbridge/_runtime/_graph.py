"""The fresh graph that every Estimator call builds."""

import contextlib

import tensorflow as tf


@contextlib.contextmanager
def call_graph(config, device_fn=None):
    """Enters a new `tf.Graph` set up as the original Estimator did.

    The graph gets `config.tf_random_seed` as its seed and a `global_step`
    variable; `device_fn`, else `config.device_fn` (if any), places its ops.

    Args:
        config: The Estimator's `RunConfig`.
        device_fn: A device function overriding `config.device_fn` (the
            TRAIN graph's cluster placement), or None.

    Yields:
        `(graph, global_step)`.
    """
    graph = tf.Graph()
    with graph.as_default():
        if config.tf_random_seed is not None:
            tf.compat.v1.set_random_seed(config.tf_random_seed)
        device_fn = device_fn if device_fn is not None else config.device_fn
        placement = (
            graph.device(device_fn)
            if device_fn is not None
            else contextlib.nullcontext()
        )
        with placement:
            global_step = tf.compat.v1.train.get_or_create_global_step(graph)
            yield graph, global_step
