"""Calling user functions with only the arguments they declare."""

import functools
import inspect


def fn_args(fn):
    """Returns the names of the arguments `fn` can take by name.

    `functools.partial` objects report the arguments still open; bound
    methods do not report `self`.

    Args:
        fn: A callable.

    Returns:
        A tuple of argument names.
    """
    if isinstance(fn, functools.partial):
        args = fn_args(fn.func)
        bound = set(fn.keywords or ())
        return tuple(a for a in args[len(fn.args) :] if a not in bound)
    if not inspect.isfunction(fn) and not inspect.ismethod(fn):
        if callable(fn) and hasattr(fn, "__call__"):
            fn = fn.__call__
    signature = inspect.signature(fn)
    return tuple(
        name
        for name, param in signature.parameters.items()
        if param.kind
        in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
    )
