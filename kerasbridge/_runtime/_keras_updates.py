"""Running the state updates Keras 3 layers leave orphaned in a TF1 graph.

In a TF1 graph, Keras 3 layers write their own state with ops nothing
depends on: `BatchNormalization(training=True)` assigns its moving mean and
variance, `Dropout` (and other random layers) advance their seed-generator
state. A train op built by a v1 optimizer never runs them, so the moving
statistics stay at their initial values and every step reuses one dropout
mask. `attach_orphaned_updates` runs them with the train op, ordered after
the reads the layer made before them (the order Keras' own `tf.function`
tracing would give).
"""

import tensorflow as tf

_WRITE_OPS = frozenset(
    ["AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"]
)
_READ_OPS = frozenset(["ReadVariableOp"])


def attach_orphaned_updates(spec, layers, first_op_index):
    """Groups the layers' orphaned state writes into `spec.train_op`.

    Args:
        spec: A TRAIN-mode `EstimatorSpec`.
        layers: Keras layers the `model_fn` used (see `keras_naming_scope`).
        first_op_index: Number of graph ops that existed before `model_fn`
            ran; only ops created by it are considered.

    Returns:
        `spec`, or a copy whose `train_op` also runs the orphaned updates.
    """
    graph = tf.compat.v1.get_default_graph()
    position = {op: i for i, op in enumerate(graph.get_operations())}
    candidates = []  # (write op, reads of the same variable)
    seen = set()
    for layer in layers:
        for variable in layer.variables:
            tf_variable = getattr(variable, "value", variable)
            handle = getattr(tf_variable, "handle", None)
            if (
                handle is None
                or id(tf_variable) in seen
                or handle.graph is not graph
            ):
                continue
            seen.add(id(tf_variable))
            created = [
                op
                for op in handle.consumers()
                if position.get(op, -1) >= first_op_index
            ]
            reads = [op for op in created if op.type in _READ_OPS]
            candidates.extend(
                (op, reads)
                for op in created
                if op.type in _WRITE_OPS and op is not tf_variable.initializer
            )
    if not candidates:
        return spec
    used = _ancestors([spec.train_op, spec.loss])
    orphans = []
    for op, reads in candidates:
        if op in used:
            continue
        # Ops only depend on ops created before them, so reads made earlier
        # cannot depend on this write: these edges cannot form a cycle.
        earlier = [r for r in reads if position[r] < position[op]]
        op._add_control_inputs(
            [r for r in earlier if r not in op.control_inputs]
        )
        orphans.append(op)
    if not orphans:
        return spec
    tf.compat.v1.logging.info(
        "Running %d Keras layer state update(s) with the train op: %s",
        len(orphans),
        ", ".join(op.name for op in orphans),
    )
    with tf.control_dependencies(None):
        train_op = tf.group(spec.train_op, *orphans)
    return spec._replace(train_op=train_op)


def _ancestors(roots):
    """Ops that `roots` depend on through data or control edges."""
    stack = [
        r.op if isinstance(r, tf.Tensor) else r for r in roots if r is not None
    ]
    seen = set(stack)
    while stack:
        op = stack.pop()
        for parent in [t.op for t in op.inputs] + list(op.control_inputs):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen
