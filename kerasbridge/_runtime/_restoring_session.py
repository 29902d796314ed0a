"""Session creation for evaluate/predict: restore, then only what is needed.

`RestoringSessionCreator` replaces `ChiefSessionCreator` when a checkpoint is
restored and nothing custom is involved (decision 26 in docs/decisions.md).
"""

import tensorflow as tf
from tensorflow.python.ops import resources

from kerasbridge._runtime import _checkpoints
from kerasbridge._runtime import _ready_ops

_GraphKeys = tf.compat.v1.GraphKeys
# Hooks that read a finalized scaffold or the graph's default Saver.
_SCAFFOLD_READING_HOOKS = (
    tf.compat.v1.train.CheckpointSaverHook,
    tf.compat.v1.train.SummarySaverHook,
)


class RestoringSessionCreator(tf.compat.v1.train.SessionCreator):
    """`ChiefSessionCreator` for evaluate/predict, shorter when restoring.

    `ChiefSessionCreator` finalizes the scaffold (a default `Saver` with save
    and restore ops, init, ready and summary ops), restores, checks that the
    model is ready for local init, runs the local init op and checks that
    the model is ready: four `session.run`s with different fetches, and the
    first run of each new fetch set prunes, places and optimises the graph
    anew, which costs more than the run itself. When the scaffold and graph
    use only the defaults (see `_lean_restore_plan`), the outcome of those
    checks is known: the restore assigns every global variable and the
    default local init op initialises every local variable and local
    resource, which is all the default ready ops report on. Then this
    creator restores with one `RestoreV2` op (same keys, same errors as the
    Saver), runs the default local init op only when there is local state
    to initialise, and skips the checks. Everything else takes the
    `ChiefSessionCreator` path.
    """

    def __init__(self, scaffold, checkpoint_path, master, config, hooks):
        self._scaffold = scaffold
        self._checkpoint_path = checkpoint_path
        self._master = master
        self._config = config
        self._hooks = hooks
        # Set by the first create_session; a recovering MonitoredSession
        # calls it again on the then finalized graph.
        self._chief_creator = None
        self._ops = None

    def create_session(self):
        if self._chief_creator is None and self._ops is None:
            self._prepare()
        if self._chief_creator is not None:
            return self._chief_creator.create_session()
        restore_op, local_init_op = self._ops
        session = tf.compat.v1.Session(
            self._master,
            graph=tf.compat.v1.get_default_graph(),
            config=self._config,
        )
        try:
            _checkpoints.run_restore(
                session, restore_op, self._checkpoint_path
            )
            if local_init_op is not None:
                tf.compat.v1.logging.info("Running local_init_op.")
                session.run(
                    local_init_op,
                    feed_dict=self._scaffold.local_init_feed_dict,
                )
                tf.compat.v1.logging.info("Done running local_init_op.")
        except BaseException:
            session.close()
            raise
        return session

    def _prepare(self):
        # Runs after the hooks' `begin()`, as `Scaffold.finalize` does: the
        # hooks may add variables.
        variables = _lean_restore_plan(
            self._scaffold, self._checkpoint_path, self._hooks
        )
        if variables is None:
            _ready_ops.install_default_ready_ops(self._scaffold)
            self._chief_creator = tf.compat.v1.train.ChiefSessionCreator(
                scaffold=self._scaffold,
                checkpoint_filename_with_path=self._checkpoint_path,
                master=self._master,
                config=self._config,
            )
            return
        local_init_op = None
        if (
            tf.compat.v1.local_variables()
            or tf.compat.v1.get_collection(_GraphKeys.TABLE_INITIALIZERS)
            or resources.local_resources()
        ):
            # Without local state the default local init op does nothing;
            # not running it spares a session.run.
            local_init_op = tf.compat.v1.train.Scaffold.get_or_default(
                "local_init_op",
                _GraphKeys.LOCAL_INIT_OP,
                tf.compat.v1.train.Scaffold.default_local_init_op,
            )
        restore_op = _checkpoints.build_restore_op(
            self._checkpoint_path, variables
        )
        tf.compat.v1.get_default_graph().finalize()
        self._ops = (restore_op, local_init_op)


def _lean_restore_plan(scaffold, checkpoint_path, hooks):
    """The variables to restore on the short path, or None.

    The short path needs a checkpoint to restore, no custom saver, ready,
    local-init or init-from-SavedModel ops (in the scaffold or the graph's
    collections), no shared resources (only `init_op` initialises those,
    and it does not run when restoring) and variables one restore op can
    handle (`_checkpoints.lean_restore_variables`). It neither finalizes the
    scaffold nor registers a `Saver`, so hooks that read those (checkpoint
    and summary savers) get the `ChiefSessionCreator` path too.
    """
    if checkpoint_path is None or scaffold.saver is not None:
        return None
    if any(isinstance(hook, _SCAFFOLD_READING_HOOKS) for hook in hooks):
        return None
    if (
        scaffold.ready_op is not None
        or scaffold.ready_for_local_init_op is not None
        or scaffold.local_init_op is not None
    ):
        return None
    graph = tf.compat.v1.get_default_graph()
    if graph.finalized:
        return None
    for key in (
        _GraphKeys.READY_OP,
        _GraphKeys.READY_FOR_LOCAL_INIT_OP,
        _GraphKeys.LOCAL_INIT_OP,
        "saved_model_initializers",
    ):
        if graph.get_collection(key):
            return None
    if resources.shared_resources():
        return None
    return _checkpoints.lean_restore_variables()
