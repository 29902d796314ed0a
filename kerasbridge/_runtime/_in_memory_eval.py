"""Evaluation graphs fed with a training session's variable values.

`InMemoryEvaluatorHook` builds the EVAL graph once (`build`) and evaluates
it as often as it likes (`run`): each run opens a session on that graph whose
`init_fn` assigns the training session's current values to the variables of
the same name, instead of restoring a checkpoint.
"""

import tensorflow as tf

from kerasbridge._runtime import _evaluate
from kerasbridge._runtime import _graph
from kerasbridge._runtime import _inputs
from kerasbridge._runtime import _metrics
from kerasbridge._runtime import _summaries
from kerasbridge.mode_keys import ModeKeys


class EvalGraph:
    """The EVAL graph of an Estimator, with an op that loads variable values.

    Args:
        estimator: The `kb.Estimator` to evaluate.
        input_fn: The evaluation `input_fn`.
        hooks: `SessionRunHook`s run during each evaluation.

    Raises:
        ValueError: the spec's scaffold has a custom saver or init_fn.
    """

    def __init__(self, estimator, input_fn, hooks):
        config = estimator.config
        with _graph.call_graph(config) as (graph, global_step):
            features, labels, input_hooks = _inputs.call_input_fn(
                input_fn, ModeKeys.EVAL, estimator.params, config
            )
            spec = estimator.model_fn(features, labels, ModeKeys.EVAL, config)
            if spec.scaffold.saver is not None:
                raise ValueError("InMemoryEvaluator does not support custom saver")
            if spec.scaffold.init_fn is not None:
                raise ValueError(
                    "InMemoryEvaluator does not support custom init_fn"
                )
            value_ops, update_op = _metrics.build_eval_metrics(spec)
            self._final_ops = _evaluate.final_metric_ops(value_ops, global_step)
            self._update_op = update_op
            self._variables = {
                v.op.name: v for v in tf.compat.v1.global_variables()
            }
            self._placeholders = {
                name: tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape)
                for name, v in self._variables.items()
            }
            self._scaffold = spec.scaffold
        self._graph = graph
        self._hooks = list(input_hooks) + list(hooks) + list(
            spec.evaluation_hooks
        )
        self._session_config = config.session_config
        self._assign_op = None

    @property
    def variable_names(self):
        """Names (without `:0`) of the graph's global variables."""
        return sorted(self._variables)

    def load_op_for(self, names):
        """Builds (once) the op assigning the placeholders of `names`."""
        if self._assign_op is None:
            with self._graph.as_default():
                self._assign_op = tf.group(
                    *[
                        self._variables[n].assign(self._placeholders[n])
                        for n in sorted(names)
                    ]
                )
            self._loaded_names = sorted(names)
        return self._assign_op

    def run(self, values, steps, eval_dir):
        """Evaluates with `values` (name -> array) as the variables.

        Args:
            values: The training session's variable values by name.
            steps: Batches to evaluate, or None for the whole input.
            eval_dir: Where the results summary is written.

        Returns:
            The dict of metric values plus `loss` and `global_step`.
        """
        feed = {self._placeholders[n]: values[n] for n in self._loaded_names}

        def load(scaffold, session):
            del scaffold
            session.run(self._assign_op, feed_dict=feed)

        final_ops_hook = tf.compat.v1.train.FinalOpsHook(self._final_ops)
        with self._graph.as_default():
            scaffold = tf.compat.v1.train.Scaffold(
                init_fn=load, copy_from_scaffold=self._scaffold
            )
            creator = tf.compat.v1.train.ChiefSessionCreator(
                scaffold=scaffold, config=self._session_config
            )
            with tf.compat.v1.train.MonitoredSession(
                session_creator=creator,
                hooks=self._hooks + [final_ops_hook],
            ) as session:
                _evaluate.run_batches(session, self._update_op, steps)
            results = final_ops_hook.final_ops_values
            _summaries.write_eval_results(
                eval_dir, results, results[_metrics.GLOBAL_STEP_KEY], None
            )
        return results
