"""`kb.experimental`: what the original exported as `tf.estimator.experimental`."""

from kerasbridge.early_stopping import make_early_stopping_hook
from kerasbridge.early_stopping import stop_if_higher_hook
from kerasbridge.early_stopping import stop_if_lower_hook
from kerasbridge.early_stopping import stop_if_no_decrease_hook
from kerasbridge.early_stopping import stop_if_no_increase_hook

__all__ = [
    "make_early_stopping_hook",
    "stop_if_higher_hook",
    "stop_if_lower_hook",
    "stop_if_no_decrease_hook",
    "stop_if_no_increase_hook",
]
