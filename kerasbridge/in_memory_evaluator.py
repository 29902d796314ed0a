"""`InMemoryEvaluatorHook`: evaluate during training without a checkpoint."""

import numbers

import tensorflow as tf

from kerasbridge._runtime import _in_memory_eval


class InMemoryEvaluatorHook(tf.compat.v1.train.SessionRunHook):
    """Evaluates the model every `every_n_iter` training steps, in memory.

    The evaluation graph is built once; each evaluation copies the training
    session's current variable values into it (no checkpoint is read) and
    writes its summary to `model_dir/eval[_name]`. It evaluates once when the
    training session is created and once at the end of training.

    Example:
        evaluator = kb.experimental.InMemoryEvaluatorHook(est, eval_input_fn)
        est.train(train_input_fn, hooks=[evaluator])

    Args:
        estimator: The `kb.Estimator` being trained.
        input_fn: The evaluation `input_fn`, as for `estimator.evaluate`.
        steps: Batches per evaluation, or None for the whole input.
        hooks: `SessionRunHook`s run inside each evaluation.
        name: Evaluation name (summaries go to `eval_<name>`).
        every_n_iter: Evaluate every this many training steps.

    Attributes:
        results: The metric dicts of the evaluations so far, in order (a
            kerasbridge addition; the original only wrote summaries).

    Raises:
        ValueError: `every_n_iter` is not positive, or the estimator is
            configured for a cluster (single machine only), or (at `begin`)
            the model uses a custom saver or init_fn.
    """

    def __init__(
        self,
        estimator,
        input_fn,
        steps=None,
        hooks=None,
        name=None,
        every_n_iter=100,
    ):
        if (
            every_n_iter is None
            or not isinstance(every_n_iter, numbers.Integral)
            or every_n_iter <= 0
        ):
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        config = estimator.config
        if config.num_ps_replicas > 0 or config.num_worker_replicas > 1:
            raise ValueError(
                "InMemoryEvaluator supports only single machine (aka Local) "
                "setting."
            )
        hooks = list(hooks or [])
        for hook in hooks:
            if not isinstance(hook, tf.compat.v1.train.SessionRunHook):
                raise TypeError(
                    f"All hooks must be SessionRunHook instances, given: {hook}"
                )
        self._estimator = estimator
        self._input_fn = input_fn
        self._steps = steps
        self._hooks = hooks
        self._eval_dir = estimator.eval_dir(name)
        self._timer = tf.compat.v1.train.SecondOrStepTimer(
            every_steps=every_n_iter
        )
        self._eval_graph = None
        self.results = []

    def begin(self):
        """Builds the evaluation graph (once per training call)."""
        self._timer.reset()
        self._iter_count = 0
        self._eval_graph = _in_memory_eval.EvalGraph(
            self._estimator, self._input_fn, self._hooks
        )

    def after_create_session(self, session, coord):
        """Evaluates the model as training starts."""
        del coord
        if tf.compat.v1.get_collection(
            tf.compat.v1.GraphKeys.SAVEABLE_OBJECTS
        ):
            raise ValueError(
                "InMemoryEvaluator does not support saveables other than "
                "global variables."
            )
        train_variables = {
            v.op.name: v for v in tf.compat.v1.global_variables()
        }
        shared = set(train_variables) & set(self._eval_graph.variable_names)
        self._train_variables = {n: train_variables[n] for n in shared}
        self._eval_graph.load_op_for(shared)
        self._evaluate(session)

    def after_run(self, run_context, run_values):
        """Evaluates every `every_n_iter` steps."""
        del run_values
        self._iter_count += 1
        if self._timer.should_trigger_for_step(self._iter_count):
            self._evaluate(run_context.session)

    def end(self, session):
        """Evaluates the final model."""
        self._evaluate(session)

    def _evaluate(self, train_session):
        values = train_session.run(self._train_variables)
        self.results.append(
            self._eval_graph.run(values, self._steps, self._eval_dir)
        )
        self._timer.update_last_triggered_step(self._iter_count)
