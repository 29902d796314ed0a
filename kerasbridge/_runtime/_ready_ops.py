"""Lean "model ready" ops for the monitored sessions of evaluate/predict.

`Scaffold.finalize` builds its two readiness checks with
`tf.compat.v1.report_uninitialized_variables`, whose `boolean_mask` adds a
dozen shape/slice ops per check. Every evaluate/predict call pays for building
them and for optimising them on their first run. The ops here return the same
1-D string tensor (names of uninitialised variables in collection order, then
of uninitialised resources; empty when ready) with a `where` + `gather`, and
are registered in the same graph collections `Scaffold.finalize` reads, so
`SessionManager` behaves and reports exactly as before. Anything a user (or
the scaffold) already set is left alone.
"""

import os

import tensorflow as tf
from tensorflow.python.ops import resources

_GraphKeys = tf.compat.v1.GraphKeys


def install_default_ready_ops(scaffold):
    """Registers lean default ready ops unless the scaffold/graph has them.

    Must run where `Scaffold.finalize` would build its defaults: after the
    hooks' `begin()` (which may create variables) and before `finalize`.

    Args:
        scaffold: The `Scaffold` the session creator will finalize.
    """
    graph = tf.compat.v1.get_default_graph()
    if graph.finalized:
        return
    need_ready = scaffold.ready_op is None and not graph.get_collection(
        _GraphKeys.READY_OP
    )
    need_local = (
        scaffold.ready_for_local_init_op is None
        and not graph.get_collection(_GraphKeys.READY_FOR_LOCAL_INIT_OP)
    )
    global_variables = tf.compat.v1.global_variables()
    shared = resources.shared_resources()
    local_variables = tf.compat.v1.local_variables()
    local_resources = resources.local_resources()
    local_op = None
    if need_local:
        local_op = _report(global_variables, shared)
        if local_op is not None:
            graph.add_to_collection(
                _GraphKeys.READY_FOR_LOCAL_INIT_OP, local_op
            )
    if need_ready:
        if local_op is not None and not (local_variables or local_resources):
            # Without local state both checks cover the same variables and
            # resources: one tensor serves both, so it is built and prepared
            # for running once instead of twice.
            ready_op = local_op
        else:
            ready_op = _report(
                global_variables + local_variables, shared + local_resources
            )
        if ready_op is not None:
            graph.add_to_collection(_GraphKeys.READY_OP, ready_op)


def _report(variables, resource_list):
    """Names of uninitialised variables then resources, or None.

    Returns None (leave it to `Scaffold.finalize`) when there are no
    collection variables: the original then scans the graph for bare
    variable ops, a case not worth duplicating.
    """
    if not variables:
        return None
    with tf.compat.v1.name_scope("report_uninitialized_variables"):
        initialized = [
            tf.compat.v1.is_variable_initialized(v) for v in variables
        ]
        with tf.device(_reporting_device()):
            report = _uninitialized_names(
                initialized, [v.op.name for v in variables]
            )
    if not resource_list:
        return report
    with tf.compat.v1.name_scope("report_uninitialized_resources"):
        with tf.device(_reporting_device()):
            resource_report = _uninitialized_names(
                [r.is_initialized for r in resource_list],
                [r.handle.name for r in resource_list],
            )
    return tf.concat([report, resource_report], 0)


def _uninitialized_names(initialized, names):
    # Same result as boolean_mask(names, not initialized) on 1-D inputs.
    missing = tf.where(tf.logical_not(tf.stack(initialized)))
    return tf.gather(tf.constant(names), tf.reshape(missing, [-1]))


def _reporting_device():
    # The override the original honours for these checks.
    return os.environ.get(
        "TF_DEVICE_FOR_UNINITIALIZED_VARIABLE_REPORTING", "/cpu:0"
    )
