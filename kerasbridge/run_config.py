"""`RunConfig`: where and how an Estimator runs.

It holds the model_dir, checkpoint and summary cadence, session options and
the cluster description read from TF_CONFIG.

Fields, defaults, validation messages and the TF_CONFIG rules follow
`tf.estimator.RunConfig` (tensorflow_estimator 2.15, `run_config.py`).

Distribution strategies are not supported (decision 59 in docs/decisions.md):
`train_distribute`, `eval_distribute` and `experimental_distribute` only
accept `None`, and the error says what to use instead. TF_CONFIG clusters
train with between-graph replication on ps tasks instead.
"""

import copy
import json
import os
import tempfile

import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2
from tensorflow.python.util import function_utils

from kerasbridge._runtime import _args

_USE_DEFAULT = object()
_VALID_DEVICE_FN_ARGS = frozenset(["op"])

# The properties `replace()` may change (the original's list, same order).
_DEFAULT_REPLACEABLE_LIST = [
    "model_dir",
    "tf_random_seed",
    "save_summary_steps",
    "save_checkpoints_steps",
    "save_checkpoints_secs",
    "session_config",
    "keep_checkpoint_max",
    "keep_checkpoint_every_n_hours",
    "log_step_count_steps",
    "train_distribute",
    "device_fn",
    "protocol",
    "eval_distribute",
    "experimental_distribute",
    "experimental_max_worker_delay_secs",
    "session_creation_timeout_secs",
    "checkpoint_save_graph_def",
]

_DISTRIBUTE_FIELDS = (
    "train_distribute",
    "eval_distribute",
    "experimental_distribute",
)

# Decision 59 in docs/decisions.md: why strategies are rejected, and what
# to use instead.
_DISTRIBUTE_ERROR = (
    "`{name}` is not supported by kerasbridge yet: TensorFlow 2.21's "
    "distribution strategies (MirroredStrategy, MultiWorkerMirroredStrategy) "
    "do not run the Estimator's graph-mode (tf.compat.v1) training. To train "
    "on several machines, leave `{name}=None` and run a TF_CONFIG cluster "
    "with ps tasks through kerasbridge.train_and_evaluate (between-graph "
    "replication; `python -m kerasbridge.cluster` starts one locally). For "
    "several GPUs on one machine, train the Keras model with `model.fit` "
    "under `tf.distribute.MirroredStrategy`."
)

_SAVE_CKPT_ERR = (
    "`save_checkpoints_steps` and `save_checkpoints_secs` cannot be both set."
)

_TF_CONFIG_ENV = "TF_CONFIG"
_TASK_ENV_KEY = "task"
_TASK_TYPE_KEY = "type"
_TASK_ID_KEY = "index"
_CLUSTER_KEY = "cluster"
_SERVICE_KEY = "service"
_SESSION_MASTER_KEY = "session_master"
_EVAL_SESSION_MASTER_KEY = "eval_session_master"
_MODEL_DIR_KEY = "model_dir"
_LOCAL_MASTER = ""
_GRPC_SCHEME = "grpc://"


class TaskType:
    """Task type names used in TF_CONFIG clusters."""

    MASTER = "master"
    PS = "ps"
    WORKER = "worker"
    CHIEF = "chief"
    EVALUATOR = "evaluator"


def get_default_session_config():
    """Returns the Estimator's default `tf.compat.v1.ConfigProto`.

    Soft placement on, and a single Grappler meta-optimizer pass (the
    original's choice: graphs are rebuilt on every call, so optimisation time
    matters).
    """
    return tf.compat.v1.ConfigProto(
        allow_soft_placement=True, graph_options=_one_pass_graph_options()
    )


def _one_pass_graph_options():
    rewrite_options = rewriter_config_pb2.RewriterConfig(
        meta_optimizer_iterations=rewriter_config_pb2.RewriterConfig.ONE
    )
    return tf.compat.v1.GraphOptions(rewrite_options=rewrite_options)


class RunConfig:
    """Configuration of an Estimator run.

    The distributed properties (`cluster_spec`, `task_type`, `task_id`,
    `master`, `evaluation_master`, `is_chief`, `num_ps_replicas`,
    `num_worker_replicas`, `global_id_in_cluster`, `service`) are read-only and
    derived from the `TF_CONFIG` environment variable when the config is
    constructed. Without TF_CONFIG this is a single local chief worker.

    Args:
      model_dir: Directory for checkpoints, summaries and exports (str or
        PathLike). `None` lets the Estimator choose.
      tf_random_seed: Graph-level random seed (int).
      save_summary_steps: Save summaries every this many steps.
      save_checkpoints_steps: Checkpoint every this many steps.
      save_checkpoints_secs: Checkpoint every this many seconds. If neither
        checkpoint argument is given, 600 seconds; at most one may be set;
        both `None` disables checkpointing.
      session_config: A `tf.compat.v1.ConfigProto`, or `None`.
      keep_checkpoint_max: Number of recent checkpoints to keep (0/None: all).
      keep_checkpoint_every_n_hours: Additionally keep one checkpoint per
        this many hours.
      log_step_count_steps: Log loss and global step/sec every this many steps.
      train_distribute: Must be `None` (distribution strategies are not
        supported; use a TF_CONFIG cluster with ps tasks).
      device_fn: Callable taking exactly one argument `op` and returning a
        device string.
      protocol: `None`, `'grpc'` or `'grpc+verbs'`.
      eval_distribute: Must be `None`.
      experimental_distribute: Must be `None`.
      experimental_max_worker_delay_secs: Int or `None`.
      session_creation_timeout_secs: Max seconds to wait for a session.
      checkpoint_save_graph_def: Whether to write graph.pbtxt and .meta files.

    Raises:
      ValueError: On an invalid value, both checkpoint intervals set, a
        distribution strategy, or an invalid TF_CONFIG.
      TypeError: If TF_CONFIG's `service` is not a dict.
    """

    def __init__(
        self,
        model_dir=None,
        tf_random_seed=None,
        save_summary_steps=100,
        save_checkpoints_steps=_USE_DEFAULT,
        save_checkpoints_secs=_USE_DEFAULT,
        session_config=None,
        keep_checkpoint_max=5,
        keep_checkpoint_every_n_hours=10000,
        log_step_count_steps=100,
        train_distribute=None,
        device_fn=None,
        protocol=None,
        eval_distribute=None,
        experimental_distribute=None,
        experimental_max_worker_delay_secs=None,
        session_creation_timeout_secs=7200,
        checkpoint_save_graph_def=True,
    ):
        if (
            save_checkpoints_steps is _USE_DEFAULT
            and save_checkpoints_secs is _USE_DEFAULT
        ):
            save_checkpoints_steps = None
            save_checkpoints_secs = 600
        elif save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_secs = None
        elif save_checkpoints_steps is _USE_DEFAULT:
            save_checkpoints_steps = None
        elif (
            save_checkpoints_steps is not None
            and save_checkpoints_secs is not None
        ):
            raise ValueError(_SAVE_CKPT_ERR)

        tf_config = _read_tf_config()
        model_dir = _get_model_dir(tf_config, _path_to_str(model_dir))

        RunConfig._replace(
            self,
            allowed_properties_list=_DEFAULT_REPLACEABLE_LIST,
            model_dir=model_dir,
            tf_random_seed=tf_random_seed,
            save_summary_steps=save_summary_steps,
            save_checkpoints_steps=save_checkpoints_steps,
            save_checkpoints_secs=save_checkpoints_secs,
            session_config=session_config,
            keep_checkpoint_max=keep_checkpoint_max,
            keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours,
            log_step_count_steps=log_step_count_steps,
            train_distribute=train_distribute,
            device_fn=device_fn,
            protocol=protocol,
            eval_distribute=eval_distribute,
            experimental_distribute=experimental_distribute,
            experimental_max_worker_delay_secs=(
                experimental_max_worker_delay_secs
            ),
            session_creation_timeout_secs=session_creation_timeout_secs,
            checkpoint_save_graph_def=checkpoint_save_graph_def,
        )
        self._init_distributed_setting_from_environment_var(tf_config)
        self._maybe_overwrite_session_config_for_distributed_training()

    # --- TF_CONFIG ---------------------------------------------------------

    def _init_distributed_setting_from_environment_var(self, tf_config):
        self._service = _validate_service(tf_config.get(_SERVICE_KEY))
        self._cluster_spec = tf.train.ClusterSpec(
            tf_config.get(_CLUSTER_KEY, {})
        )
        task_env = tf_config.get(_TASK_ENV_KEY, {})

        if self._cluster_spec and TaskType.MASTER in self._cluster_spec.jobs:
            self._init_legacy_master_cluster(tf_config)
            return

        if not self._cluster_spec:
            self._init_local(tf_config, task_env)
            return

        self._task_type, self._task_id = _validate_task_type_and_task_id(
            self._cluster_spec, task_env, TaskType.CHIEF
        )
        self._evaluation_master = _get_eval_session_master(
            self._task_type, tf_config
        )
        if self._task_type == TaskType.EVALUATOR:
            # The evaluator is not part of the training cluster.
            self._cluster_spec = tf.train.ClusterSpec({})
            self._master = _LOCAL_MASTER
            self._num_ps_replicas = 0
            self._num_worker_replicas = 0
            self._global_id_in_cluster = None
        else:
            self._master = _get_session_master(
                self._cluster_spec, self._task_type, self._task_id, tf_config
            )
            self._num_ps_replicas = _count_ps(self._cluster_spec)
            self._num_worker_replicas = _count_worker(
                self._cluster_spec, TaskType.CHIEF
            )
            self._global_id_in_cluster = _get_global_id_in_cluster(
                self._cluster_spec,
                self._task_type,
                self._task_id,
                TaskType.CHIEF,
            )
        self._is_chief = self._task_type == TaskType.CHIEF

    def _init_local(self, tf_config, task_env):
        self._task_type = task_env.get(_TASK_TYPE_KEY, TaskType.WORKER)
        self._task_id = int(task_env.get(_TASK_ID_KEY, 0))
        self._global_id_in_cluster = 0
        if self._task_type != TaskType.WORKER:
            raise ValueError(
                'If "cluster" is not set in TF_CONFIG, task type must be '
                "WORKER."
            )
        if self._task_id != 0:
            raise ValueError(
                'If "cluster" is not set in TF_CONFIG, task index must be 0.'
            )
        self._master = tf_config.get(_SESSION_MASTER_KEY, _LOCAL_MASTER)
        self._evaluation_master = tf_config.get(
            _EVAL_SESSION_MASTER_KEY, _LOCAL_MASTER
        )
        self._is_chief = True
        self._num_ps_replicas = 0
        self._num_worker_replicas = 1

    def _init_legacy_master_cluster(self, tf_config):
        # A cluster with both `chief` and `master` is ambiguous about which
        # node is the chief, so the original rejects it.
        if TaskType.CHIEF in self._cluster_spec.jobs:
            raise ValueError(
                "If `master` node exists in `cluster`, job "
                "`chief` is not supported."
            )
        task_env = tf_config.get(_TASK_ENV_KEY, {})
        self._task_type, self._task_id = _validate_task_type_and_task_id(
            self._cluster_spec, task_env, TaskType.MASTER
        )
        if self._task_type == TaskType.EVALUATOR:
            raise ValueError(
                "If `master` node exists in `cluster`, task_type "
                "`evaluator` is not supported."
            )
        self._global_id_in_cluster = _get_global_id_in_cluster(
            self._cluster_spec, self._task_type, self._task_id, TaskType.MASTER
        )
        self._master = _get_session_master(
            self._cluster_spec, self._task_type, self._task_id, tf_config
        )
        self._evaluation_master = _get_eval_session_master(
            self._task_type, tf_config
        )
        self._num_ps_replicas = _count_ps(self._cluster_spec)
        self._num_worker_replicas = _count_worker(
            self._cluster_spec, TaskType.MASTER
        )
        self._is_chief = self._task_type == TaskType.MASTER

    def _maybe_overwrite_session_config_for_distributed_training(self):
        # Between-graph replication: restrict each task to talk to the ps
        # jobs (and itself) only.
        if not self._session_config and self._cluster_spec:
            RunConfig._replace(
                self,
                allowed_properties_list=_DEFAULT_REPLACEABLE_LIST,
                session_config=self._get_default_session_config_distributed(),
            )

    def _get_default_session_config_distributed(self):
        if self._task_type == TaskType.MASTER:
            device_filters = ["/job:ps", "/job:master"]
        elif self._task_type == TaskType.CHIEF:
            device_filters = ["/job:ps", "/job:chief"]
        elif self._task_type == TaskType.WORKER:
            device_filters = ["/job:ps", "/job:worker/task:%d" % self._task_id]
        elif self._task_type == TaskType.PS:
            device_filters = [
                "/job:ps",
                "/job:worker",
                "/job:chief",
                "/job:master",
            ]
        else:
            return None
        return tf.compat.v1.ConfigProto(
            allow_soft_placement=True,
            graph_options=_one_pass_graph_options(),
            device_filters=device_filters,
        )

    # --- read-only properties ---------------------------------------------

    @property
    def cluster_spec(self):
        return self._cluster_spec

    @property
    def task_type(self):
        return self._task_type

    @property
    def task_id(self):
        return self._task_id

    @property
    def master(self):
        return self._master

    @property
    def evaluation_master(self):
        return self._evaluation_master

    @property
    def is_chief(self):
        return self._is_chief

    @property
    def num_ps_replicas(self):
        return self._num_ps_replicas

    @property
    def num_worker_replicas(self):
        return self._num_worker_replicas

    @property
    def global_id_in_cluster(self):
        """Index of this task among all training-cluster tasks.

        The chief (or master) is 0, the other job types follow in
        alphabetical order, ps last; `None` for an evaluator.
        """
        return self._global_id_in_cluster

    @property
    def service(self):
        """The platform-defined `service` dict from TF_CONFIG, or `None`."""
        return self._service

    @property
    def model_dir(self):
        return self._model_dir

    @property
    def tf_random_seed(self):
        return self._tf_random_seed

    @property
    def save_summary_steps(self):
        return self._save_summary_steps

    @property
    def save_checkpoints_steps(self):
        return self._save_checkpoints_steps

    @property
    def save_checkpoints_secs(self):
        return self._save_checkpoints_secs

    @property
    def session_config(self):
        return self._session_config

    @property
    def keep_checkpoint_max(self):
        return self._keep_checkpoint_max

    @property
    def keep_checkpoint_every_n_hours(self):
        return self._keep_checkpoint_every_n_hours

    @property
    def log_step_count_steps(self):
        return self._log_step_count_steps

    @property
    def train_distribute(self):
        return self._train_distribute

    @property
    def eval_distribute(self):
        return self._eval_distribute

    @property
    def experimental_distribute(self):
        return self._experimental_distribute

    @property
    def device_fn(self):
        """Device function overriding the Estimator's default, or `None`."""
        return self._device_fn

    @property
    def protocol(self):
        return self._protocol

    @property
    def experimental_max_worker_delay_secs(self):
        return self._experimental_max_worker_delay_secs

    @property
    def session_creation_timeout_secs(self):
        return self._session_creation_timeout_secs

    @property
    def checkpoint_save_graph_def(self):
        return self._checkpoint_save_graph_def

    # --- replace ----------------------------------------------------------

    def replace(self, **kwargs):
        """Returns a copy of this config with some properties replaced.

        Only the constructor arguments may be replaced (not the TF_CONFIG
        properties). Setting one of `save_checkpoints_steps` /
        `save_checkpoints_secs` to a non-None value clears the other.

        Raises:
          ValueError: If a property may not be replaced, a value is invalid, or
            both checkpoint intervals are set.
        """
        return RunConfig._replace(
            copy.deepcopy(self),
            allowed_properties_list=_DEFAULT_REPLACEABLE_LIST,
            **kwargs,
        )

    @staticmethod
    def _replace(config, allowed_properties_list=None, **kwargs):
        allowed_properties_list = allowed_properties_list or []
        for key, new_value in kwargs.items():
            if key not in allowed_properties_list:
                raise ValueError(
                    f"Replacing {key} is not supported. Allowed properties "
                    f"are {allowed_properties_list}."
                )
            setattr(config, "_" + key, new_value)
        _validate_save_ckpt_with_replaced_keys(config, kwargs.keys())
        _validate_properties(config)
        return config


def maybe_overwrite_model_dir_and_session_config(config, model_dir):
    """Reconciles the Estimator's `model_dir` argument with its `config`.

    `config=None` becomes `RunConfig()`; a missing `session_config` becomes
    `get_default_session_config()`; a `model_dir` argument is written into the
    config; with no model_dir anywhere a temporary directory is created (with a
    warning). As in the original, an empty `model_dir` argument counts as unset
    unless the config has a model_dir, in which case it is a conflict.

    Args:
      config: A `RunConfig` or `None`.
      model_dir: The Estimator's `model_dir` argument (str, PathLike or None).

    Returns:
      A `RunConfig` with `model_dir` and `session_config` set.

    Raises:
      ValueError: If `config` is not a `RunConfig`, or the two model_dirs
        differ.
    """
    if config is None:
        config = RunConfig()
        tf.compat.v1.logging.info("Using default config.")
    if not isinstance(config, RunConfig):
        raise ValueError(
            "config must be an instance of `RunConfig`, but provided %s."
            % config
        )
    if config.session_config is None:
        config = config.replace(session_config=get_default_session_config())

    model_dir = _path_to_str(model_dir)
    if (
        model_dir is not None
        and config.model_dir is not None
        and config.model_dir != model_dir
    ):
        raise ValueError(
            "`model_dir` are set both in constructor and `RunConfig`, but "
            f"with different values. In constructor: '{model_dir}', "
            f"in `RunConfig`: '{config.model_dir}' "
        )
    if model_dir:
        config = config.replace(model_dir=model_dir)
    elif config.model_dir is None:
        model_dir = tempfile.mkdtemp()
        tf.compat.v1.logging.warning(
            "Using temporary folder as model directory: %s", model_dir
        )
        config = config.replace(model_dir=model_dir)
    return config


# --- helpers -------------------------------------------------------------


def _read_tf_config():
    tf_config = json.loads(os.environ.get(_TF_CONFIG_ENV) or "{}")
    if tf_config:
        tf.compat.v1.logging.info(
            "TF_CONFIG environment variable: %s", tf_config
        )
    return tf_config


def _path_to_str(path):
    if hasattr(path, "__fspath__"):
        path = os.fspath(path)
        if isinstance(path, bytes):
            path = path.decode("utf-8")
    return path


def _get_model_dir(tf_config, model_dir):
    # '' is checked explicitly: `'' or None` would silently drop it.
    if model_dir == "":
        raise ValueError("model_dir should be non-empty.")
    model_dir_in_tf_config = tf_config.get(_MODEL_DIR_KEY)
    if model_dir_in_tf_config == "":
        raise ValueError("model_dir in TF_CONFIG should be non-empty.")
    if model_dir_in_tf_config:
        if model_dir and model_dir_in_tf_config != model_dir:
            raise ValueError(
                "`model_dir` provided in RunConfig construct, if set, "
                "must have the same value as the model_dir in TF_CONFIG. "
                f"model_dir: {model_dir}\n"
                f'TF_CONFIG["model_dir"]: {model_dir_in_tf_config}.\n'
            )
        tf.compat.v1.logging.info(
            "Using model_dir in TF_CONFIG: %s", model_dir_in_tf_config
        )
    return model_dir or model_dir_in_tf_config


def _validate_service(service):
    if service is not None and not isinstance(service, dict):
        raise TypeError(
            'If "service" is set in TF_CONFIG, it must be a dict. Given %s'
            % type(service)
        )
    return service


def _validate_task_type_and_task_id(cluster_spec, task_env, chief_task_type):
    if chief_task_type not in cluster_spec.jobs:
        raise ValueError(
            'If "cluster" is set in TF_CONFIG, it must have one "%s" node.'
            % chief_task_type
        )
    if len(cluster_spec.job_tasks(chief_task_type)) > 1:
        raise ValueError(
            'The "cluster" in TF_CONFIG must have only one "%s" node.'
            % chief_task_type
        )
    task_type = task_env.get(_TASK_TYPE_KEY, None)
    task_id = task_env.get(_TASK_ID_KEY, None)
    if not task_type:
        raise ValueError(
            'If "cluster" is set in TF_CONFIG, task type must be set.'
        )
    if task_id is None:
        raise ValueError(
            'If "cluster" is set in TF_CONFIG, task index must be set.'
        )
    task_id = int(task_id)
    if task_id < 0:
        raise ValueError("Task index must be non-negative number.")
    # The evaluator is outside the training cluster: any index is accepted here.
    if task_type == TaskType.EVALUATOR:
        return task_type, task_id
    if task_type not in cluster_spec.jobs:
        raise ValueError(
            "%s is not a valid task_type in the cluster_spec:\n"
            "%s\n\n"
            "Note that these values may be coming from the TF_CONFIG "
            "environment variable." % (task_type, cluster_spec)
        )
    addresses = cluster_spec.job_tasks(task_type)
    if not 0 <= task_id < len(addresses):
        raise ValueError(
            "%d is not a valid task_id for task_type %s in the cluster_spec:\n"
            "%s\n\n"
            "Note that these values may be coming from the TF_CONFIG "
            "environment variable." % (task_id, task_type, cluster_spec)
        )
    return task_type, task_id


def _get_session_master(cluster_spec, task_type, task_id, tf_config):
    if _SESSION_MASTER_KEY in tf_config:
        return tf_config[_SESSION_MASTER_KEY]
    jobs = cluster_spec.jobs
    # A one-node cluster runs in-process: a direct session beats gRPC.
    if len(jobs) == 1 and len(cluster_spec.job_tasks(jobs[0])) == 1:
        return _LOCAL_MASTER
    return _GRPC_SCHEME + cluster_spec.job_tasks(task_type)[task_id]


def _get_eval_session_master(task_type, tf_config):
    if task_type == TaskType.EVALUATOR:
        return tf_config.get(_EVAL_SESSION_MASTER_KEY, _LOCAL_MASTER)
    return _LOCAL_MASTER


def _count_ps(cluster_spec):
    return len(cluster_spec.as_dict().get(TaskType.PS, []))


def _count_worker(cluster_spec, chief_task_type):
    jobs = cluster_spec.as_dict()
    return len(jobs.get(TaskType.WORKER, [])) + len(
        jobs.get(chief_task_type, [])
    )


def _get_global_id_in_cluster(
    cluster_spec, task_type, task_id, chief_task_type
):
    ordered_types = [chief_task_type]
    ordered_types.extend(
        t
        for t in sorted(cluster_spec.jobs)
        if t not in (chief_task_type, TaskType.PS)
    )
    if TaskType.PS in cluster_spec.jobs:
        ordered_types.append(TaskType.PS)
    next_global_id = 0
    for t in ordered_types:
        if t == task_type:
            return next_global_id + task_id
        next_global_id += len(cluster_spec.job_tasks(t))
    raise RuntimeError(
        f"Internal Error: `task_type` ({task_type}) is not in "
        f"cluster_spec ({cluster_spec})."
    )


def _validate_save_ckpt_with_replaced_keys(config, replaced_keys):
    save_steps = config.save_checkpoints_steps
    save_secs = config.save_checkpoints_secs
    if (
        "save_checkpoints_steps" in replaced_keys
        and "save_checkpoints_secs" in replaced_keys
    ):
        if save_steps is not None and save_secs is not None:
            raise ValueError(_SAVE_CKPT_ERR)
    elif "save_checkpoints_steps" in replaced_keys and save_steps is not None:
        config._save_checkpoints_secs = None
    elif "save_checkpoints_secs" in replaced_keys and save_secs is not None:
        config._save_checkpoints_steps = None


# Numeric properties: a value of another type is a TypeError naming it.
_INTEGER_PROPERTIES = (
    "save_summary_steps",
    "save_checkpoints_steps",
    "keep_checkpoint_max",
    "log_step_count_steps",
)
_NUMBER_PROPERTIES = (
    "save_checkpoints_secs",
    "keep_checkpoint_every_n_hours",
    "session_creation_timeout_secs",
)


def _validate_properties(config):
    for name in _INTEGER_PROPERTIES + _NUMBER_PROPERTIES:
        _args.check_number(
            getattr(config, name), name, integer=name in _INTEGER_PROPERTIES
        )

    def _validate(name, condition, message):
        value = getattr(config, name)
        if value is not None and not condition(value):
            raise ValueError(message)

    _validate("model_dir", lambda d: d, "model_dir should be non-empty")
    _validate(
        "save_summary_steps",
        lambda s: s >= 0,
        "save_summary_steps should be >= 0",
    )
    _validate(
        "save_checkpoints_steps",
        lambda s: s >= 0,
        "save_checkpoints_steps should be >= 0",
    )
    _validate(
        "save_checkpoints_secs",
        lambda s: s >= 0,
        "save_checkpoints_secs should be >= 0",
    )
    _validate(
        "session_config",
        lambda sc: isinstance(sc, tf.compat.v1.ConfigProto),
        "session_config must be instance of ConfigProto",
    )
    _validate(
        "keep_checkpoint_max",
        lambda k: k >= 0,
        "keep_checkpoint_max should be >= 0",
    )
    _validate(
        "keep_checkpoint_every_n_hours",
        lambda h: h > 0,
        "keep_checkpoint_every_n_hours should be > 0",
    )
    _validate(
        "log_step_count_steps",
        lambda s: s > 0,
        "log_step_count_steps should be > 0",
    )
    _validate(
        "tf_random_seed",
        lambda seed: isinstance(seed, int),
        "tf_random_seed must be integer.",
    )
    _validate(
        "experimental_max_worker_delay_secs",
        lambda delay: isinstance(delay, int),
        "experimental_max_worker_delay_secs must be an integer if set.",
    )
    _validate(
        "session_creation_timeout_secs",
        lambda t: t > 0,
        "session_creation_timeout_secs should be > 0",
    )
    _validate(
        "device_fn",
        lambda fn: callable(fn)
        and set(function_utils.fn_args(fn)) == _VALID_DEVICE_FN_ARGS,
        'device_fn must be callable with exactly one argument "op".',
    )
    _validate(
        "protocol",
        lambda p: p in (None, "grpc", "grpc+verbs"),
        "protocol should be grpc or grpc+verbs",
    )
    for name in _DISTRIBUTE_FIELDS:
        if getattr(config, name) is not None:
            raise ValueError(_DISTRIBUTE_ERROR.format(name=name))
