"""`kb.experimental`: what the original exported as `tf.estimator.experimental`."""

from kerasbridge.canned.logit_fn_builders import dnn_logit_fn_builder
from kerasbridge.canned.logit_fn_builders import linear_logit_fn_builder
from kerasbridge.early_stopping import make_early_stopping_hook
from kerasbridge.early_stopping import stop_if_higher_hook
from kerasbridge.early_stopping import stop_if_lower_hook
from kerasbridge.early_stopping import stop_if_no_decrease_hook
from kerasbridge.early_stopping import stop_if_no_increase_hook
from kerasbridge.export._receivers import build_raw_supervised_input_receiver_fn
from kerasbridge.in_memory_evaluator import InMemoryEvaluatorHook
from kerasbridge.logit_fn import call_logit_fn
from kerasbridge.stop_at_checkpoint_step import make_stop_at_checkpoint_step_hook

__all__ = [
    "InMemoryEvaluatorHook",
    "build_raw_supervised_input_receiver_fn",
    "call_logit_fn",
    "dnn_logit_fn_builder",
    "linear_logit_fn_builder",
    "make_early_stopping_hook",
    "make_stop_at_checkpoint_step_hook",
    "stop_if_higher_hook",
    "stop_if_lower_hook",
    "stop_if_no_decrease_hook",
    "stop_if_no_increase_hook",
]
