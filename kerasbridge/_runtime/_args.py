"""Calling user functions with only the arguments they declare."""

import functools
import inspect
import numbers


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


def check_number(value, name, integer=True):
    """Raises a TypeError naming `name` unless `value` is a number.

    Public numeric arguments (`steps`, `max_steps`, `throttle_secs`, ...)
    are checked before they are compared, so `steps='10'` says which argument
    is wrong instead of failing inside a comparison.

    Args:
        value: The argument's value (None is accepted: "not given").
        name: The argument's name, for the message.
        integer: Whether the argument must be an integer.

    Returns:
        `value`.

    Raises:
        TypeError: `value` is not None, not a number (or not an integer),
            or a bool.
    """
    kind = numbers.Integral if integer else numbers.Real
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, kind)
    ):
        wanted = "an integer" if integer else "a number"
        raise TypeError(
            f"{name} must be {wanted}, given {type(value).__name__}: "
            f"{value!r}"
        )
    return value
