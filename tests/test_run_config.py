"""RunConfig fields, validation, replace(), TF_CONFIG parsing, model_dir rules."""

import json
import logging
import pathlib

import pytest
import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from kerasbridge import run_config as run_config_lib
from kerasbridge.run_config import RunConfig
from kerasbridge.run_config import TaskType
from kerasbridge.run_config import get_default_session_config
from kerasbridge.run_config import maybe_overwrite_model_dir_and_session_config

CLUSTER = {
    "chief": ["host0:2222"],
    "ps": ["host1:2222", "host2:2222"],
    "worker": ["host3:2222", "host4:2222", "host5:2222"],
}


@pytest.fixture(autouse=True)
def _no_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)


def _set_tf_config(monkeypatch, **tf_config):
    monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))


# --- defaults and checkpoint interval rules ----------------------------------


def test_defaults():
    config = RunConfig()
    assert config.model_dir is None
    assert config.tf_random_seed is None
    assert config.save_summary_steps == 100
    assert config.save_checkpoints_secs == 600
    assert config.save_checkpoints_steps is None
    assert config.session_config is None
    assert config.keep_checkpoint_max == 5
    assert config.keep_checkpoint_every_n_hours == 10000
    assert config.log_step_count_steps == 100
    assert config.train_distribute is None and config.eval_distribute is None
    assert config.device_fn is None and config.protocol is None
    assert config.experimental_max_worker_delay_secs is None
    assert config.session_creation_timeout_secs == 7200
    assert config.checkpoint_save_graph_def is True
    # Local, non-distributed defaults.
    assert config.cluster_spec.as_dict() == {}
    assert config.task_type == TaskType.WORKER and config.task_id == 0
    assert config.master == "" and config.evaluation_master == ""
    assert config.is_chief is True
    assert config.num_ps_replicas == 0 and config.num_worker_replicas == 1
    assert config.global_id_in_cluster == 0
    assert config.service is None


@pytest.mark.parametrize(
    "kwargs, steps, secs",
    [
        ({"save_checkpoints_steps": 7}, 7, None),
        ({"save_checkpoints_secs": 30}, None, 30),
        (
            {"save_checkpoints_steps": None, "save_checkpoints_secs": None},
            None,
            None,
        ),
        ({"save_checkpoints_steps": None}, None, None),
        ({"save_checkpoints_steps": 5, "save_checkpoints_secs": None}, 5, None),
    ],
)
def test_checkpoint_interval_defaults(kwargs, steps, secs):
    config = RunConfig(**kwargs)
    assert (config.save_checkpoints_steps, config.save_checkpoints_secs) == (
        steps,
        secs,
    )


def test_both_checkpoint_intervals_rejected():
    with pytest.raises(
        ValueError,
        match="^`save_checkpoints_steps` and `save_checkpoints_secs` cannot be both set.$",
    ):
        RunConfig(save_checkpoints_steps=10, save_checkpoints_secs=10)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"model_dir": ""}, "model_dir should be non-empty."),
        ({"save_summary_steps": -1}, "save_summary_steps should be >= 0"),
        (
            {"save_checkpoints_steps": -1},
            "save_checkpoints_steps should be >= 0",
        ),
        ({"save_checkpoints_secs": -1}, "save_checkpoints_secs should be >= 0"),
        (
            {"session_config": {"a": 1}},
            "session_config must be instance of ConfigProto",
        ),
        ({"keep_checkpoint_max": -1}, "keep_checkpoint_max should be >= 0"),
        (
            {"keep_checkpoint_every_n_hours": 0},
            "keep_checkpoint_every_n_hours should be > 0",
        ),
        ({"log_step_count_steps": 0}, "log_step_count_steps should be > 0"),
        ({"tf_random_seed": 1.5}, "tf_random_seed must be integer."),
        (
            {"experimental_max_worker_delay_secs": 2.5},
            "experimental_max_worker_delay_secs must be an integer if set.",
        ),
        (
            {"session_creation_timeout_secs": 0},
            "session_creation_timeout_secs should be > 0",
        ),
        (
            {"device_fn": lambda operation: ""},
            'device_fn must be callable with exactly one argument "op".',
        ),
        (
            {"device_fn": "/cpu:0"},
            'device_fn must be callable with exactly one argument "op".',
        ),
        ({"protocol": "http"}, "protocol should be grpc or grpc+verbs"),
    ],
)
def test_invalid_values_raise_original_messages(kwargs, message):
    with pytest.raises(ValueError) as error:
        RunConfig(**kwargs)
    assert str(error.value) == message


def test_valid_optional_values_are_kept(tmp_path):
    def device_fn(op):
        return "/cpu:0"

    session_config = tf.compat.v1.ConfigProto(log_device_placement=True)
    config = RunConfig(
        model_dir=tmp_path,  # PathLike is resolved to str
        tf_random_seed=3,
        device_fn=device_fn,
        protocol="grpc",
        session_config=session_config,
        keep_checkpoint_max=0,
        experimental_max_worker_delay_secs=5,
    )
    assert config.model_dir == str(tmp_path)
    assert config.tf_random_seed == 3
    assert config.device_fn is device_fn
    assert config.protocol == "grpc"
    assert config.session_config is session_config
    assert config.keep_checkpoint_max == 0


@pytest.mark.parametrize(
    "field", ["train_distribute", "eval_distribute", "experimental_distribute"]
)
def test_distribution_strategies_are_rejected(field):
    with pytest.raises(
        ValueError, match=f"`{field}` is not supported by kerasbridge yet"
    ):
        RunConfig(**{field: tf.distribute.get_strategy()})
    with pytest.raises(ValueError, match=f"`{field}` is not supported"):
        RunConfig().replace(**{field: object()})


# --- replace -----------------------------------------------------------------


def test_replace_returns_a_new_validated_config():
    config = RunConfig(tf_random_seed=1)
    new = config.replace(tf_random_seed=2, save_summary_steps=3)
    assert (new.tf_random_seed, new.save_summary_steps) == (2, 3)
    assert config.tf_random_seed == 1  # original untouched
    with pytest.raises(ValueError, match="^log_step_count_steps should be > 0$"):
        config.replace(log_step_count_steps=0)


def test_replace_rejects_non_replaceable_properties():
    with pytest.raises(ValueError) as error:
        RunConfig().replace(task_type="chief")
    assert str(error.value) == (
        "Replacing task_type is not supported. Allowed properties are "
        f"{run_config_lib._DEFAULT_REPLACEABLE_LIST}."
    )


def test_replace_one_checkpoint_interval_clears_the_other():
    by_steps = RunConfig().replace(save_checkpoints_steps=5)
    assert (
        by_steps.save_checkpoints_steps,
        by_steps.save_checkpoints_secs,
    ) == (5, None)
    by_secs = by_steps.replace(save_checkpoints_secs=9)
    assert (by_secs.save_checkpoints_steps, by_secs.save_checkpoints_secs) == (
        None,
        9,
    )
    with pytest.raises(ValueError, match="cannot be both set"):
        RunConfig().replace(save_checkpoints_steps=1, save_checkpoints_secs=1)
    both_off = RunConfig().replace(
        save_checkpoints_steps=None, save_checkpoints_secs=None
    )
    assert (
        both_off.save_checkpoints_steps,
        both_off.save_checkpoints_secs,
    ) == (None, None)


def test_replace_keeps_tf_config_properties(monkeypatch):
    _set_tf_config(monkeypatch, cluster=CLUSTER, task={"type": "worker", "index": 2})
    config = RunConfig().replace(tf_random_seed=4)
    assert config.task_type == "worker" and config.task_id == 2
    assert config.master == "grpc://host5:2222"


def test_default_session_config():
    session_config = get_default_session_config()
    assert isinstance(session_config, tf.compat.v1.ConfigProto)
    assert session_config.allow_soft_placement
    assert (
        session_config.graph_options.rewrite_options.meta_optimizer_iterations
        == rewriter_config_pb2.RewriterConfig.ONE
    )


# --- TF_CONFIG without a cluster ---------------------------------------------


def test_tf_config_without_cluster_uses_session_masters(monkeypatch):
    _set_tf_config(
        monkeypatch,
        task={"type": "worker", "index": 0},
        session_master="grpc://localhost:1",
        eval_session_master="grpc://localhost:2",
    )
    config = RunConfig()
    assert config.master == "grpc://localhost:1"
    assert config.evaluation_master == "grpc://localhost:2"
    assert config.is_chief and config.num_worker_replicas == 1


@pytest.mark.parametrize(
    "task, message",
    [
        (
            {"type": "ps"},
            'If "cluster" is not set in TF_CONFIG, task type must be WORKER.',
        ),
        (
            {"type": "worker", "index": 1},
            'If "cluster" is not set in TF_CONFIG, task index must be 0.',
        ),
    ],
)
def test_tf_config_without_cluster_must_be_worker_zero(monkeypatch, task, message):
    _set_tf_config(monkeypatch, task=task)
    with pytest.raises(ValueError) as error:
        RunConfig()
    assert str(error.value) == message


# --- TF_CONFIG with a chief cluster ------------------------------------------


@pytest.mark.parametrize(
    "task_type, task_id, master, is_chief, global_id",
    [
        ("chief", 0, "grpc://host0:2222", True, 0),
        ("worker", 0, "grpc://host3:2222", False, 1),
        ("worker", 1, "grpc://host4:2222", False, 2),
        ("worker", 2, "grpc://host5:2222", False, 3),
        ("ps", 0, "grpc://host1:2222", False, 4),
        ("ps", 1, "grpc://host2:2222", False, 5),
    ],
)
def test_cluster_properties(
    monkeypatch, task_type, task_id, master, is_chief, global_id
):
    _set_tf_config(
        monkeypatch, cluster=CLUSTER, task={"type": task_type, "index": task_id}
    )
    config = RunConfig()
    assert config.cluster_spec == tf.train.ClusterSpec(CLUSTER)
    assert (config.task_type, config.task_id) == (task_type, task_id)
    assert config.master == master
    assert config.evaluation_master == ""
    assert config.is_chief is is_chief
    assert config.num_ps_replicas == 2
    assert config.num_worker_replicas == 4
    assert config.global_id_in_cluster == global_id


def test_global_ids_order_other_jobs_alphabetically_before_ps(monkeypatch):
    cluster = {
        "chief": ["c:1"],
        "ps": ["p:1"],
        "worker": ["w:1"],
        "aux": ["a:1", "a:2"],
    }
    expected = {
        ("chief", 0): 0,
        ("aux", 0): 1,
        ("aux", 1): 2,
        ("worker", 0): 3,
        ("ps", 0): 4,
    }
    for (task_type, task_id), global_id in expected.items():
        _set_tf_config(
            monkeypatch,
            cluster=cluster,
            task={"type": task_type, "index": task_id},
        )
        assert RunConfig().global_id_in_cluster == global_id


def test_single_node_cluster_runs_in_process(monkeypatch):
    _set_tf_config(
        monkeypatch,
        cluster={"chief": ["host0:2222"]},
        task={"type": "chief", "index": 0},
    )
    config = RunConfig()
    assert config.master == ""
    assert config.is_chief and config.num_worker_replicas == 1


def test_session_master_overrides_cluster_address(monkeypatch):
    _set_tf_config(
        monkeypatch,
        cluster=CLUSTER,
        task={"type": "worker", "index": 0},
        session_master="grpc://elsewhere:1",
    )
    assert RunConfig().master == "grpc://elsewhere:1"


def test_task_index_may_be_a_string(monkeypatch):
    _set_tf_config(monkeypatch, cluster=CLUSTER, task={"type": "worker", "index": "1"})
    assert RunConfig().task_id == 1


@pytest.mark.parametrize(
    "cluster, task, message",
    [
        (
            {"worker": ["h:1"]},
            {"type": "worker", "index": 0},
            'If "cluster" is set in TF_CONFIG, it must have one "chief" node.',
        ),
        (
            {"chief": ["h:1", "h:2"]},
            {"type": "chief", "index": 0},
            'The "cluster" in TF_CONFIG must have only one "chief" node.',
        ),
        (
            CLUSTER,
            {"index": 0},
            'If "cluster" is set in TF_CONFIG, task type must be set.',
        ),
        (
            CLUSTER,
            {"type": "worker"},
            'If "cluster" is set in TF_CONFIG, task index must be set.',
        ),
        (
            CLUSTER,
            {"type": "worker", "index": -1},
            "Task index must be non-negative number.",
        ),
    ],
)
def test_invalid_cluster_task_messages(monkeypatch, cluster, task, message):
    _set_tf_config(monkeypatch, cluster=cluster, task=task)
    with pytest.raises(ValueError) as error:
        RunConfig()
    assert str(error.value) == message


def test_task_type_and_index_must_exist_in_cluster(monkeypatch):
    _set_tf_config(monkeypatch, cluster=CLUSTER, task={"type": "gpu", "index": 0})
    with pytest.raises(
        ValueError, match="^gpu is not a valid task_type in the cluster_spec:\n"
    ) as error:
        RunConfig()
    assert "Note that these values may be coming from the TF_CONFIG" in str(error.value)
    _set_tf_config(monkeypatch, cluster=CLUSTER, task={"type": "worker", "index": 3})
    with pytest.raises(
        ValueError,
        match="^3 is not a valid task_id for task_type worker in the cluster_spec:\n",
    ):
        RunConfig()


def test_evaluator_is_outside_the_training_cluster(monkeypatch):
    _set_tf_config(
        monkeypatch,
        cluster=CLUSTER,
        task={"type": "evaluator", "index": 3},  # any index is accepted here
        eval_session_master="grpc://eval:1",
    )
    config = RunConfig()
    assert config.cluster_spec.as_dict() == {}
    assert (config.task_type, config.task_id) == ("evaluator", 3)
    assert config.master == ""
    assert config.evaluation_master == "grpc://eval:1"
    assert config.num_ps_replicas == 0 and config.num_worker_replicas == 0
    assert config.is_chief is False
    assert config.global_id_in_cluster is None
    assert config.session_config is None  # no device filters for evaluators


# --- TF_CONFIG with a legacy `master` cluster --------------------------------


def test_master_cluster(monkeypatch):
    cluster = {"master": ["m:1"], "ps": ["p:1"], "worker": ["w:1", "w:2"]}
    _set_tf_config(monkeypatch, cluster=cluster, task={"type": "master", "index": 0})
    config = RunConfig()
    assert config.is_chief and config.master == "grpc://m:1"
    assert config.num_worker_replicas == 3 and config.num_ps_replicas == 1
    assert config.global_id_in_cluster == 0
    _set_tf_config(monkeypatch, cluster=cluster, task={"type": "worker", "index": 1})
    worker = RunConfig()
    assert not worker.is_chief and worker.global_id_in_cluster == 2


@pytest.mark.parametrize(
    "cluster, task, message",
    [
        (
            {"master": ["m:1"], "chief": ["c:1"]},
            {"type": "master", "index": 0},
            "If `master` node exists in `cluster`, job `chief` is not supported.",
        ),
        (
            {"master": ["m:1"], "worker": ["w:1"]},
            {"type": "evaluator", "index": 0},
            "If `master` node exists in `cluster`, task_type `evaluator` is not supported.",
        ),
        (
            {"master": ["m:1", "m:2"]},
            {"type": "master", "index": 0},
            'The "cluster" in TF_CONFIG must have only one "master" node.',
        ),
    ],
)
def test_master_cluster_errors(monkeypatch, cluster, task, message):
    _set_tf_config(monkeypatch, cluster=cluster, task=task)
    with pytest.raises(ValueError) as error:
        RunConfig()
    assert str(error.value) == message


# --- distributed session config defaults -------------------------------------


@pytest.mark.parametrize(
    "cluster, task_type, task_id, filters",
    [
        (CLUSTER, "chief", 0, ["/job:ps", "/job:chief"]),
        (CLUSTER, "worker", 2, ["/job:ps", "/job:worker/task:2"]),
        (
            CLUSTER,
            "ps",
            1,
            ["/job:ps", "/job:worker", "/job:chief", "/job:master"],
        ),
        (
            {"master": ["m:1"], "ps": ["p:1"]},
            "master",
            0,
            ["/job:ps", "/job:master"],
        ),
    ],
)
def test_distributed_default_device_filters(
    monkeypatch, cluster, task_type, task_id, filters
):
    _set_tf_config(
        monkeypatch, cluster=cluster, task={"type": task_type, "index": task_id}
    )
    session_config = RunConfig().session_config
    assert list(session_config.device_filters) == filters
    assert session_config.allow_soft_placement


def test_explicit_session_config_is_not_overwritten_in_cluster(monkeypatch):
    _set_tf_config(monkeypatch, cluster=CLUSTER, task={"type": "worker", "index": 0})
    session_config = tf.compat.v1.ConfigProto(log_device_placement=True)
    assert RunConfig(session_config=session_config).session_config is session_config


# --- service and model_dir in TF_CONFIG --------------------------------------


def test_service_must_be_a_dict(monkeypatch):
    _set_tf_config(monkeypatch, service={"name": "x"})
    assert RunConfig().service == {"name": "x"}
    _set_tf_config(monkeypatch, service="x")
    with pytest.raises(TypeError) as error:
        RunConfig()
    assert str(error.value) == (
        "If \"service\" is set in TF_CONFIG, it must be a dict. Given <class 'str'>"
    )


def test_model_dir_from_tf_config(monkeypatch, tmp_path):
    _set_tf_config(monkeypatch, model_dir=str(tmp_path))
    assert RunConfig().model_dir == str(tmp_path)
    assert RunConfig(model_dir=str(tmp_path)).model_dir == str(tmp_path)
    with pytest.raises(ValueError) as error:
        RunConfig(model_dir=str(tmp_path / "other"))
    assert str(error.value) == (
        "`model_dir` provided in RunConfig construct, if set, must have the same "
        "value as the model_dir in TF_CONFIG. "
        f"model_dir: {tmp_path / 'other'}\nTF_CONFIG[\"model_dir\"]: {tmp_path}.\n"
    )
    _set_tf_config(monkeypatch, model_dir="")
    with pytest.raises(
        ValueError, match="^model_dir in TF_CONFIG should be non-empty.$"
    ):
        RunConfig()


# --- maybe_overwrite_model_dir_and_session_config ----------------------------


def test_reconcile_fills_config_and_session_config(tmp_path):
    config = maybe_overwrite_model_dir_and_session_config(None, str(tmp_path))
    assert isinstance(config, RunConfig)
    assert config.model_dir == str(tmp_path)
    assert config.session_config == get_default_session_config()
    user_session = tf.compat.v1.ConfigProto(log_device_placement=True)
    config = maybe_overwrite_model_dir_and_session_config(
        RunConfig(session_config=user_session), pathlib.Path(tmp_path)
    )
    assert (
        config.session_config is not None and config.session_config.log_device_placement
    )
    assert config.model_dir == str(tmp_path)


def test_reconcile_uses_config_model_dir_and_detects_conflicts(tmp_path):
    config = RunConfig(model_dir=str(tmp_path))
    assert maybe_overwrite_model_dir_and_session_config(config, None).model_dir == str(
        tmp_path
    )
    same = maybe_overwrite_model_dir_and_session_config(config, str(tmp_path))
    assert same.model_dir == str(tmp_path)
    with pytest.raises(ValueError) as error:
        maybe_overwrite_model_dir_and_session_config(config, "/elsewhere")
    assert str(error.value) == (
        "`model_dir` are set both in constructor and `RunConfig`, but with "
        f"different values. In constructor: '/elsewhere', in `RunConfig`: '{tmp_path}' "
    )
    # As in the original, '' is "unset" only when the config has no model_dir.
    with pytest.raises(ValueError, match="set both in constructor and `RunConfig`"):
        maybe_overwrite_model_dir_and_session_config(config, "")


@pytest.mark.parametrize("model_dir", [None, ""])
def test_reconcile_without_model_dir_uses_temp_dir(
    monkeypatch, tmp_path, caplog, model_dir
):
    temp_dir = str(tmp_path / "tmpdir")
    monkeypatch.setattr(run_config_lib.tempfile, "mkdtemp", lambda: temp_dir)
    with caplog.at_level(logging.WARNING):
        config = maybe_overwrite_model_dir_and_session_config(None, model_dir)
    assert config.model_dir == temp_dir
    assert f"Using temporary folder as model directory: {temp_dir}" in caplog.text


def test_reconcile_rejects_non_run_config():
    with pytest.raises(ValueError) as error:
        maybe_overwrite_model_dir_and_session_config({"model_dir": "x"}, None)
    assert str(error.value) == (
        "config must be an instance of `RunConfig`, but provided {'model_dir': 'x'}."
    )
