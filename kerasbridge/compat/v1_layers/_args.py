"""Argument normalisation shared by the convolution and pooling layers."""


def normalize_tuple(value, n, name):
    """Returns `value` as an n-tuple of ints (an int is repeated).

    Raises:
        ValueError: naming `name` if `value` is neither an int nor n ints.
    """
    if isinstance(value, int):
        return (value,) * n
    try:
        values = tuple(value)
    except TypeError:
        raise ValueError(
            f"The `{name}` argument must be a tuple of {n} integers. "
            f"Received: {value}"
        ) from None
    if len(values) != n or not all(isinstance(v, int) for v in values):
        raise ValueError(
            f"The `{name}` argument must be a tuple of {n} integers. "
            f"Received: {value}"
        )
    return values


def normalize_padding(value, allow_causal=False):
    """Returns 'valid', 'same' (or 'causal'), lower-cased.

    Raises:
        ValueError: with the original's message for anything else.
    """
    padding = value.lower() if isinstance(value, str) else value
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if padding not in allowed:
        raise ValueError(
            'The `padding` argument must be a list/tuple or one of "valid", '
            '"same" (or "causal", only for `Conv1D). Received: ' + str(value)
        )
    return padding


def normalize_data_format(value):
    """Returns 'channels_last' or 'channels_first'.

    Raises:
        ValueError: with the original's message for anything else.
    """
    data_format = "channels_last" if value is None else value.lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            'The `data_format` argument must be one of "channels_first", '
            f'"channels_last". Received: {value}'
        )
    return data_format


def nn_data_format(data_format, rank):
    """The `tf.nn` spelling (`NHWC`, `NCW`, ...) of a Keras data format."""
    spatial = {1: "W", 2: "HW", 3: "DHW"}[rank]
    if data_format == "channels_last":
        return "N" + spatial + "C"
    return "NC" + spatial


def conv_output_length(length, filter_size, padding, stride, dilation=1):
    """Output length of a convolution/pooling along one axis (or None)."""
    if length is None:
        return None
    dilated = filter_size + (filter_size - 1) * (dilation - 1)
    if padding in ("same", "causal"):
        out = length
    else:
        out = length - dilated + 1
    return (out + stride - 1) // stride


def deconv_output_length(length, filter_size, padding, stride, dilation=1):
    """Output length of a transposed convolution along one axis."""
    dilated = filter_size + (filter_size - 1) * (dilation - 1)
    if padding == "valid":
        return length * stride + max(dilated - stride, 0)
    return length * stride
