"""The training loop: a monitored training session over a TRAIN spec."""

import tensorflow as tf
from tensorflow.python.training import training_util

from kerasbridge._runtime import _checkpoints
from kerasbridge._runtime import _cluster
from kerasbridge._runtime import _graph
from kerasbridge._runtime import _inputs
from kerasbridge._runtime import _metrics
from kerasbridge._runtime import _model_fn
from kerasbridge._runtime import _saver_hook
from kerasbridge._runtime import _session
from kerasbridge._runtime import _warm_start
from kerasbridge.mode_keys import ModeKeys

_LOSS_SUMMARY_NAME = "loss"


def train(
    model_fn,
    input_fn,
    params,
    config,
    hooks,
    saving_listeners,
    warm_start_settings,
):
    """Builds the TRAIN graph and runs it until a hook asks to stop.

    Args:
        model_fn: The user's model function.
        input_fn: The user's input function.
        params: The Estimator's params dict.
        config: The Estimator's `RunConfig` (with `model_dir` set).
        hooks: Validated user hooks, including the stop-at-step hook.
        saving_listeners: Validated `CheckpointSaverListener`s.
        warm_start_settings: `WarmStartSettings` or None.

    Returns:
        The loss of the last step, or None if no step ran.

    Raises:
        ValueError: saving listeners without a checkpoint saver hook, or a
            model_dir checkpoint the graph cannot restore.
    """
    model_dir = config.model_dir
    device_fn = _cluster.training_device_fn(config)
    with _graph.call_graph(config, device_fn) as (graph, global_step):
        features, labels, input_hooks = _inputs.call_input_fn(
            input_fn, ModeKeys.TRAIN, params, config
        )
        # Ops of the step read the global step before the train op bumps it,
        # so hooks fetching that read see one consistent value per step.
        step_read = training_util._get_or_create_global_step_read(graph)
        with tf.control_dependencies([step_read]):
            spec = _model_fn.call_model_fn(
                model_fn, features, labels, ModeKeys.TRAIN, params, config
            )
        _metrics.localize_keras_metrics(spec.eval_metric_ops)
        checkpoint = _checkpoints.latest_checkpoint(model_dir)
        if warm_start_settings is not None and not checkpoint:
            _warm_start.apply_warm_start(warm_start_settings)
        _maybe_add_loss_summary(spec.loss)
        _checkpoints.ensure_saver(spec.scaffold, config)
        if checkpoint:
            _checkpoints.check_restorable(checkpoint, spec.scaffold)

        worker_hooks = list(input_hooks) + list(hooks)
        worker_hooks.append(tf.compat.v1.train.NanTensorHook(spec.loss))
        if config.log_step_count_steps is not None:
            worker_hooks.append(
                tf.compat.v1.train.LoggingTensorHook(
                    {"loss": spec.loss, "step": global_step},
                    every_n_iter=config.log_step_count_steps,
                )
            )
        worker_hooks.extend(spec.training_hooks)
        chief_hooks = _saver_hooks(config, spec, worker_hooks, saving_listeners)
        return _run_loop(config, spec, worker_hooks, chief_hooks)


def _maybe_add_loss_summary(loss):
    summaries = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.SUMMARIES)
    if not any(s.op.name == _LOSS_SUMMARY_NAME for s in summaries):
        tf.compat.v1.summary.scalar(_LOSS_SUMMARY_NAME, loss)


def _saver_hooks(config, spec, worker_hooks, saving_listeners):
    """The chief-only CheckpointSaverHook, wired to the saving listeners."""
    chief_hooks = []
    existing = [
        h
        for h in list(worker_hooks) + list(spec.training_chief_hooks)
        if isinstance(h, tf.compat.v1.train.CheckpointSaverHook)
    ]
    if config.save_checkpoints_secs or config.save_checkpoints_steps:
        if not existing:
            # TF's hook with graph.pbtxt written in the background (joined
            # before train() returns): same files, off the first step's path.
            hook = _saver_hook.CheckpointSaverHook(
                config.model_dir,
                save_secs=config.save_checkpoints_secs,
                save_steps=config.save_checkpoints_steps,
                scaffold=spec.scaffold,
                listeners=saving_listeners,
                save_graph_def=config.checkpoint_save_graph_def,
            )
            return [hook]
    if saving_listeners:
        if not existing:
            raise ValueError(
                "There should be a CheckpointSaverHook to use saving_listeners. "
                "Please set one of the RunConfig.save_checkpoints_steps or "
                "RunConfig.save_checkpoints_secs."
            )
        # A user-supplied saver hook takes the listeners, as in the original.
        existing[0]._listeners.extend(saving_listeners)
    return chief_hooks


def _run_loop(config, spec, worker_hooks, chief_hooks):
    writers = [h for h in chief_hooks if isinstance(h, _saver_hook.CheckpointSaverHook)]
    try:
        loss, ran_a_step = _steps(config, spec, worker_hooks, chief_hooks)
    except BaseException:
        for hook in writers:
            hook.join(raise_error=False)
        raise
    for hook in writers:
        hook.join()
    if not ran_a_step:
        tf.compat.v1.logging.warning(
            "Training with estimator made no steps. Perhaps input is empty or "
            "misspecified."
        )
    return loss


def _steps(config, spec, worker_hooks, chief_hooks):
    loss = None
    ran_a_step = False
    with _session.monitored_training_session(
        master=config.master,
        is_chief=config.is_chief,
        checkpoint_dir=config.model_dir,
        scaffold=spec.scaffold,
        hooks=worker_hooks,
        chief_only_hooks=tuple(chief_hooks) + tuple(spec.training_chief_hooks),
        save_summaries_steps=config.save_summary_steps,
        config=_cluster.session_config_for_graph(
            config.session_config,
            config.master,
            tf.compat.v1.get_default_graph(),
        ),
        max_wait_secs=config.session_creation_timeout_secs,
        log_step_count_steps=config.log_step_count_steps,
    ) as session:
        fetches = [spec.train_op, spec.loss]
        while not session.should_stop():
            _, loss = session.run(fetches)
            ran_a_step = True
    return loss, ran_a_step
