"""One TF1 graph and session shared by a test module's head tests.

`evaluate(build)` calls `build()` inside the shared graph and runs what it
returns, initializing only the local variables and lookup tables created by
that call (metric state starts from zero each time).
"""

import tensorflow as tf


class GraphSession:
    def __init__(self):
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)

    def evaluate(self, build, run_updates=True):
        """Builds in the shared graph, then runs the result.

        Args:
            build: A no-argument callable returning a structure of tensors;
                metric dicts (`{name: metric}`) are run as: every update op
                once, then every result.
            run_updates: Whether metric update ops run before the results.
        """
        with self.graph.as_default():
            local_before = set(_names(tf.compat.v1.local_variables()))
            tables_before = len(
                tf.compat.v1.get_collection(
                    tf.compat.v1.GraphKeys.TABLE_INITIALIZERS
                )
            )
            fetches = build()
            new_locals = [
                v
                for v in tf.compat.v1.local_variables()
                if v.name not in local_before
            ]
            new_tables = tf.compat.v1.get_collection(
                tf.compat.v1.GraphKeys.TABLE_INITIALIZERS
            )[tables_before:]
            init = tf.group(
                tf.compat.v1.variables_initializer(new_locals), *new_tables
            )
            updates, values = _split_metrics(fetches)
        self.session.run(init)
        if run_updates and updates:
            self.session.run(updates)
        return self.session.run(values)

    def close(self):
        self.session.close()


def _names(variables):
    return [v.name for v in variables]


def _split_metrics(fetches):
    """Metric objects -> (their update ops, their result tensors)."""
    updates = []

    def convert(value):
        if hasattr(value, "as_tuple"):
            result, update = value.as_tuple()
            updates.append(update)
            return result
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(convert(v) for v in value)
        return value

    return updates, convert(fetches)
