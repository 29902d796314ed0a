"""Error types raised by the Keras adapter."""


class FormattedKeyError(KeyError, ValueError):
    """A missing-key error whose message keeps its newlines.

    `KeyError` reprs its message (quotes, escaped newlines), which makes the
    multi-line "Expected keys / Missed keys" text of the original
    `model_to_estimator` unreadable. This class prints the message as is.
    It is both a `KeyError` (as in the original) and a `ValueError` (as the
    rest of kerasbridge raises for bad user input), so either `except` works.
    """

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


def missing_keys_error(obj_name, order_name, expected, received):
    """Builds the original's error for a dict that lacks model keys.

    Args:
        obj_name: What the user passed, e.g. `'features'` or `'labels'`.
        order_name: What the keys name in the model, e.g. `'inputs'`.
        expected: The keys the model needs.
        received: The keys the user passed.

    Returns:
        A `FormattedKeyError` (not raised).
    """
    missed = set(expected) - set(received)
    return FormattedKeyError(
        f"The dictionary passed into {obj_name} does not cover requested "
        f"{order_name} keys defined in the keras model."
        f"\n\tExpected keys: {set(expected)}"
        f"\n\t{obj_name} keys: {set(received)}"
        f"\n\tMissed keys: {missed}"
    )
