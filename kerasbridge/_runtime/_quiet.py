"""Silencing the TF deprecation warnings kerasbridge's own code triggers.

kerasbridge builds graphs with TF's v1 APIs on purpose (that is what the
Estimator workflow is made of); TF prints a deprecation warning the first
time some of them run, which a user cannot act on. Only the calls our code
makes are wrapped: deprecations the user's own code triggers (in a model_fn,
an input_fn, ...) still print, once each, as TF prints them.
"""

import contextlib

from tensorflow.python.util import deprecation as _deprecation


@contextlib.contextmanager
def own_deprecations():
    """Suppresses TF deprecation warnings inside the block.

    The switch is TF's process-wide one (TF's own `deprecation.silence()`
    does not restore it when the block raises; this does), so keep the block
    to kerasbridge's own calls.
    """
    previous = _deprecation._PRINT_DEPRECATION_WARNINGS  # noqa: SLF001
    _deprecation._PRINT_DEPRECATION_WARNINGS = False  # noqa: SLF001
    try:
        yield
    finally:
        _deprecation._PRINT_DEPRECATION_WARNINGS = previous  # noqa: SLF001
