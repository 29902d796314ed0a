"""One evaluation pass over a checkpoint: the original's `_evaluate_once`."""

import tensorflow as tf

from kerasbridge._runtime import _checkpoints
from kerasbridge._runtime import _graph
from kerasbridge._runtime import _inputs
from kerasbridge._runtime import _metrics
from kerasbridge._runtime import _model_fn
from kerasbridge._runtime import _session
from kerasbridge._runtime import _summaries
from kerasbridge._runtime import _warm_start
from kerasbridge.mode_keys import ModeKeys


def evaluate(
    model_fn,
    input_fn,
    params,
    config,
    steps,
    hooks,
    checkpoint_path,
    eval_dir,
    warm_start_settings,
):
    """Builds the EVAL graph, runs the metric updates, returns final values.

    Args:
        model_fn: The user's model function.
        input_fn: The user's input function.
        params: The Estimator's params dict.
        config: The Estimator's `RunConfig`.
        steps: Number of batches to evaluate, or None for the whole input.
        hooks: Validated user hooks.
        checkpoint_path: A checkpoint prefix, or None to use the latest one.
        eval_dir: Where the results summary is written.
        warm_start_settings: Applied when no checkpoint exists, or None.

    Returns:
        A dict of metric values plus `loss` and `global_step`.

    Raises:
        ValueError: A reserved metric name, or a checkpoint that does not
            match the graph.
    """
    checkpoint = _checkpoints.resolve_checkpoint(
        checkpoint_path, config.model_dir, "evaluate"
    )
    with _graph.call_graph(config) as (graph, global_step):
        features, labels, input_hooks = _inputs.call_input_fn(
            input_fn, ModeKeys.EVAL, params, config
        )
        spec = _model_fn.call_model_fn(
            model_fn, features, labels, ModeKeys.EVAL, params, config
        )
        value_ops, update_op = _metrics.build_eval_metrics(spec)
        if checkpoint is None and warm_start_settings is not None:
            _warm_start.apply_warm_start(warm_start_settings)
        final_ops = final_metric_ops(value_ops, global_step)
        eval_step = _eval_step_variable()
        with tf.control_dependencies([update_op]):
            step_update = eval_step.assign_add(1, read_value=False)
        scaffold = _with_default_local_init(spec.scaffold)
        if checkpoint:
            _checkpoints.check_restorable(checkpoint, scaffold)

        final_ops_hook = tf.compat.v1.train.FinalOpsHook(final_ops)
        all_hooks = (
            list(input_hooks)
            + list(hooks)
            + list(spec.evaluation_hooks)
            + [final_ops_hook]
        )
        tf.compat.v1.logging.info("Starting evaluation of %s", checkpoint)
        with _session.monitored_session(
            scaffold,
            checkpoint,
            config.evaluation_master,
            _session.with_pruned_placement(
                config.session_config, config.evaluation_master
            ),
            all_hooks,
        ) as session:
            done = run_batches(session, step_update, steps)
        results = final_ops_hook.final_ops_values
        tf.compat.v1.logging.info(
            "Finished evaluation after %d steps. Saving dict for global step "
            "%d: %s",
            done,
            results[_metrics.GLOBAL_STEP_KEY],
            _format(results),
        )
        _summaries.write_eval_results(
            eval_dir, results, results[_metrics.GLOBAL_STEP_KEY], checkpoint
        )
    return results


def final_metric_ops(value_ops, global_step):
    """The values an evaluation reports: the metrics plus `global_step`."""
    final_ops = dict(value_ops)
    final_ops[_metrics.GLOBAL_STEP_KEY] = tf.identity(global_step)
    return final_ops


def run_batches(session, update_op, steps):
    """Runs `update_op` until the input ends or `steps` batches; returns the count."""
    done = 0
    try:
        while not session.should_stop():
            session.run(update_op)
            done += 1
            if steps is not None and done >= steps:
                break
    except tf.errors.OutOfRangeError:
        # The input ended: what MonitoredSession's exit treats as the normal end.
        pass
    return done


def _eval_step_variable():
    """The local batch counter evaluation hooks can read."""
    return tf.compat.v1.Variable(
        0,
        dtype=tf.int64,
        name="eval_step",
        trainable=False,
        collections=[
            tf.compat.v1.GraphKeys.LOCAL_VARIABLES,
            tf.compat.v1.GraphKeys.EVAL_STEP,
        ],
    )


def _with_default_local_init(scaffold):
    """Keeps the default local initialisation next to a custom one."""
    if scaffold.local_init_op is None:
        return scaffold
    local_init = tf.group(
        tf.compat.v1.train.Scaffold.default_local_init_op(),
        scaffold.local_init_op,
    )
    return tf.compat.v1.train.Scaffold(
        local_init_op=local_init, copy_from_scaffold=scaffold
    )


def _format(results):
    return ", ".join(f"{k} = {v}" for k, v in sorted(results.items()))
