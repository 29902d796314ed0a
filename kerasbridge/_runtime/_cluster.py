"""TF_CONFIG clusters on TensorFlow's gRPC runtime: servers, placement, sessions.

Between-graph replication as the original Estimator did it: every training
task (chief/master, workers) builds its own graph, places variables on the
ps tasks with `tf.compat.v1.train.replica_device_setter` and the other ops on
its own task, and runs it through its own in-process `tf.distribute.Server`.
The ps tasks only serve.

`RejoiningChiefSessionCreator` is the chief's session creator in a cluster
(decision 57 in docs/decisions.md): a restarted chief whose ps tasks still
hold an initialised model joins it instead of restoring the older checkpoint
over it, so the global step never goes back. `PollingWorkerSessionCreator`
is `WorkerSessionCreator` checking every second, not every 30, whether the
chief's model is ready (decision 58).
"""

import tensorflow as tf
from tensorflow.python.training import device_setter

from kerasbridge.run_config import TaskType

TRAINER_TASKS = (TaskType.CHIEF, TaskType.MASTER, TaskType.WORKER)
# How often a waiting worker checks whether the chief's model is ready.
WORKER_READY_POLL_SECS = 1


def training_device_fn(config):
    """The device function of a TRAIN graph: `device_fn`, else ps placement.

    As the original: `RunConfig.device_fn` when set; otherwise, with ps
    tasks in the cluster, a `replica_device_setter` putting variables
    round-robin on the ps tasks and everything else on this task; otherwise
    None.

    Args:
        config: The Estimator's `RunConfig`.

    Returns:
        A device function (or spec) for `tf.Graph.device`, or None.
    """
    if config.device_fn is not None:
        return config.device_fn
    if not config.num_ps_replicas:
        return None
    if config.task_type:
        worker_device = f"/job:{config.task_type}/task:{config.task_id}"
    else:
        worker_device = "/job:worker"
    return tf.compat.v1.train.replica_device_setter(
        ps_tasks=config.num_ps_replicas,
        worker_device=worker_device,
        merge_devices=True,
        ps_ops=list(device_setter.STANDARD_PS_OPS),
        cluster=config.cluster_spec,
    )


def start_server(config):
    """Starts this task's `tf.distribute.Server`, or returns None.

    A one-node cluster runs in-process (`config.master` is empty), so no
    server is started for it.

    Args:
        config: A `RunConfig` read from a TF_CONFIG with a cluster.

    Returns:
        The started server, or None.

    Raises:
        RuntimeError: The config has no cluster or task, or no master
            while the cluster has more than one node.
    """
    if not config.cluster_spec or not config.task_type or config.task_id is None:
        raise RuntimeError(
            "Could not start server; be sure to specify cluster_spec, "
            "task_type, and task in RunConfig or set the TF_CONFIG "
            "environment variable."
        )
    if not config.master:
        jobs = config.cluster_spec.jobs
        if (
            len(jobs) == 1
            and len(config.cluster_spec.job_tasks(jobs[0])) == 1
            and config.task_type in TRAINER_TASKS
        ):
            tf.compat.v1.logging.info(
                "Skip starting Tensorflow server as there is only one node "
                "in the cluster."
            )
            return None
        raise RuntimeError(
            "Could not start server; be sure to specify master in RunConfig "
            "or set the TF_CONFIG environment variable."
        )
    tf.compat.v1.logging.info(
        "Start Tensorflow server for %s:%d.", config.task_type, config.task_id
    )
    # Only GPU options matter to the server; the session's own options
    # (device filters, placement) come with each session.
    server_config = tf.compat.v1.ConfigProto(log_device_placement=False)
    if config.session_config is not None:
        server_config.gpu_options.CopyFrom(config.session_config.gpu_options)
    return tf.distribute.Server(
        config.cluster_spec,
        job_name=config.task_type,
        task_index=config.task_id,
        config=server_config,
        start=True,
        protocol=config.protocol,
    )


def is_remote(master):
    """Whether sessions on `master` run on a cluster server."""
    return bool(master)


def session_config_for_graph(config, master, graph):
    """`config`, letting functions see the cluster's devices if needed.

    A function called from the graph (`model_to_estimator`'s Keras train
    step is a `tf.function`) runs in the function runtime, which by default
    sees only this task's devices and fails on variables placed on a ps
    ("Assigned device '/job:ps/...' does not match any device"). For such
    graphs on a cluster the session shares the cluster's devices with
    functions; plain graphs keep the config as given (decision 60).

    Args:
        config: The session `ConfigProto`, or None.
        master: The session target.
        graph: The TRAIN graph.

    Returns:
        `config` or an amended copy.
    """
    if not is_remote(master) or not graph.as_graph_def().library.function:
        return config
    shared = tf.compat.v1.ConfigProto()
    if config is not None:
        shared.CopyFrom(config)
    if shared.experimental.share_cluster_devices_in_session:
        return config
    shared.experimental.share_cluster_devices_in_session = True
    return shared


# Seconds a closing training session waits for its queue-runner threads on
# a cluster (decision 60). Locally MonitoredSession's 120.
CLUSTER_STOP_GRACE_SECS = 10
_LOCAL_STOP_GRACE_SECS = 120


def stop_grace_period_secs(master):
    """How long closing a training session waits for its threads.

    On a cluster a thread can be blocked for good in an op that waits for
    other tasks: `SyncReplicasOptimizer`'s chief queue runner waits for
    gradients from workers that have already stopped, so every chief sat
    out the full 120 seconds after its last step. Closing the session after
    a short wait cancels such ops.
    """
    return CLUSTER_STOP_GRACE_SECS if is_remote(master) else _LOCAL_STOP_GRACE_SECS


class RejoiningChiefSessionCreator(tf.compat.v1.train.ChiefSessionCreator):
    """`ChiefSessionCreator` that first tries to join a ready model.

    The ps tasks keep the variables while a chief restarts. Restoring the
    latest checkpoint over them (what `ChiefSessionCreator` does) would move
    the shared global step and weights back to that checkpoint while workers
    carry on. So when the model on the ps is already initialised (the
    scaffold's ready op reports nothing uninitialised) the chief only runs
    its local init op and uses it, as a worker would; otherwise (first start,
    or the ps lost its state) it initialises or restores as usual.
    """

    def create_session(self):
        self._scaffold.finalize()
        manager = self._get_session_manager()
        try:
            # One readiness check, no waiting.
            session = manager.wait_for_session(
                self._master, config=self._config, max_wait_secs=0
            )
        except tf.errors.DeadlineExceededError:
            session = None
        if session is not None:
            tf.compat.v1.logging.info(
                "The model on the ps tasks is already initialised: the chief "
                "joins it without restoring a checkpoint."
            )
            return session
        return super().create_session()


class PollingWorkerSessionCreator(tf.compat.v1.train.WorkerSessionCreator):
    """`WorkerSessionCreator` that checks for a ready model every second.

    `SessionManager` waits 30 seconds between readiness checks by default,
    so a worker started a moment before the chief initialised the model sat
    idle for up to 30 seconds. A check is one small session run; once a
    second costs nothing measurable.
    """

    def _get_session_manager(self):
        if self._session_manager is None:
            self._session_manager = tf.compat.v1.train.SessionManager(
                local_init_op=self._scaffold.local_init_op,
                local_init_feed_dict=self._scaffold.local_init_feed_dict,
                ready_op=self._scaffold.ready_op,
                ready_for_local_init_op=self._scaffold.ready_for_local_init_op,
                graph=tf.compat.v1.get_default_graph(),
                recovery_wait_secs=WORKER_READY_POLL_SECS,
            )
        return self._session_manager
