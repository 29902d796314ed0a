"""Finding, checking and reading name-based checkpoints in a model_dir."""

import contextlib
import glob
import os

import tensorflow as tf
from tensorflow.python.ops import resource_variable_ops

_GraphKeys = tf.compat.v1.GraphKeys
# Set on the DataLossError `reading` raises, so outer `reading`s pass it on.
_REPORTED = "_kerasbridge_reported_checkpoint"


def latest_checkpoint(model_dir):
    """Returns the newest checkpoint prefix in `model_dir`, or None."""
    return tf.train.latest_checkpoint(model_dir)


def require_checkpoint(model_dir):
    """Returns the latest checkpoint or raises as the original did.

    Raises:
        ValueError: `model_dir` holds no checkpoint.
    """
    path = latest_checkpoint(model_dir)
    if not path:
        raise ValueError(
            f"Could not find trained model in model_dir: {model_dir}."
        )
    return path


def resolve_checkpoint(checkpoint_path, model_dir, purpose):
    """The checkpoint an evaluate/predict call restores from, or None.

    With no checkpoint anywhere, the original logs and runs on freshly
    initialised variables; so do we.

    Args:
        checkpoint_path: The user's `checkpoint_path` argument, or None.
        model_dir: The Estimator's model_dir.
        purpose: "evaluate" or "predict", for the log line.

    Returns:
        A checkpoint prefix or None.

    Raises:
        ValueError: `checkpoint_path` names no checkpoint.
    """
    if checkpoint_path:
        if os.path.isdir(checkpoint_path):
            resolved = tf.train.latest_checkpoint(checkpoint_path)
            if not resolved:
                raise ValueError(
                    f"checkpoint_path {checkpoint_path!r} is a directory "
                    "without checkpoints."
                )
            return resolved
        if not _is_checkpoint_prefix(checkpoint_path):
            raise ValueError(
                f"checkpoint_path {checkpoint_path!r} does not name a checkpoint."
            )
        return checkpoint_path
    path = latest_checkpoint(model_dir)
    if not path:
        # The original logged this at INFO; a warning is easier to notice.
        tf.compat.v1.logging.warning(
            "Could not find trained model in model_dir: %s, running "
            "initialization to %s.",
            model_dir,
            purpose,
        )
    return path


def _is_checkpoint_prefix(path):
    # V2 checkpoints are `<prefix>.index` + data files; V1 is a single file.
    return tf.io.gfile.exists(path + ".index") or (
        tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path)
    )


def global_step_in(model_dir):
    """The global step stored in the latest checkpoint, 0 without one.

    Raises:
        tf.errors.DataLossError: The checkpoint's files cannot be read.
    """
    path = latest_checkpoint(model_dir)
    if not path:
        return 0
    try:
        with reading(path):
            return int(tf.train.load_variable(path, "global_step"))
    except (tf.errors.NotFoundError, ValueError):
        return 0


@contextlib.contextmanager
def reading(checkpoint_path):
    """Turns a failure to read `checkpoint_path`'s files into one clear error.

    A truncated or garbled checkpoint fails in many ways depending on which
    file is damaged and who reads it: `IndexError` from the checkpoint
    reader, a bare `OpError` ("not an sstable"), `DataLossError` (checksum)
    or `OutOfRangeError` (short read) from `RestoreV2`. Inside this context
    each becomes a `tf.errors.DataLossError` naming the damaged file and how
    to fall back to an earlier checkpoint. Other errors (e.g. a variable
    missing from the checkpoint) pass through.

    Args:
        checkpoint_path: The checkpoint prefix being read.

    Raises:
        tf.errors.DataLossError: Reading the checkpoint failed.
    """
    try:
        yield
    except (IndexError, tf.errors.DataLossError, tf.errors.OutOfRangeError) as err:
        if getattr(err, _REPORTED, False):
            raise  # Already reported by an inner `reading`.
        raise corrupt_checkpoint_error(checkpoint_path, err) from err
    except tf.errors.OpError as err:
        # The checkpoint reader raises the base class for an unreadable
        # index file.
        if type(err) is not tf.errors.OpError:
            raise
        raise corrupt_checkpoint_error(checkpoint_path, err) from err


def corrupt_checkpoint_error(checkpoint_path, err):
    """The `DataLossError` for an unreadable checkpoint (see `reading`)."""
    checkpoint_path = os.fspath(checkpoint_path)
    damaged = _damaged_files(checkpoint_path)
    model_dir = os.path.dirname(checkpoint_path) or "."
    earlier = _earlier_checkpoints(model_dir, checkpoint_path)
    detail = _error_detail(err)
    if earlier:
        choices = ", ".join(repr(os.path.basename(p)) for p in earlier)
        fallback = (
            f"To fall back to an earlier checkpoint, edit {os.path.join(model_dir, 'checkpoint')} "
            f"so that model_checkpoint_path names one of {choices} (training "
            "then resumes from it), or pass checkpoint_path= with an earlier "
            "prefix to evaluate/predict/export_saved_model."
        )
    else:
        fallback = (
            "There is no earlier checkpoint to fall back to: delete the "
            f"damaged {os.path.basename(checkpoint_path)}.* files and the "
            f"{os.path.join(model_dir, 'checkpoint')} file to start again, or "
            "pass checkpoint_path= with a good checkpoint."
        )
    message = (
        f"The checkpoint {checkpoint_path} is corrupt or incomplete: cannot "
        f"read {' / '.join(damaged)} ({type(err).__name__}: {detail}). "
        + fallback
    )
    error = tf.errors.DataLossError(None, None, message)
    setattr(error, _REPORTED, True)
    return error


def _error_detail(err):
    """The line of an error message that says what went wrong."""
    message = getattr(err, "message", None) or str(err)
    lines = [line for line in message.splitlines() if line.strip()]
    # Session errors wrap it in "Graph execution error:" and a traceback.
    useful = [
        line
        for line in lines
        if not line[0].isspace()
        and not line.startswith(("Graph execution error", "Detected at node", "Node: "))
    ]
    return (useful or lines or [type(err).__name__])[0]


def _damaged_files(checkpoint_path):
    """The index file if it cannot be parsed, else the data file(s)."""
    index = checkpoint_path + ".index"
    if not tf.io.gfile.exists(index):
        # A V1 checkpoint is one file.
        return [checkpoint_path]
    try:
        reader = tf.train.load_checkpoint(checkpoint_path)
    except Exception:  # pylint: disable=broad-except
        return [index]
    shards = sorted(glob.glob(glob.escape(checkpoint_path) + ".data-*"))
    bad = []
    for name in reader.get_variable_to_shape_map():
        try:
            reader.get_tensor(name)
        except Exception:  # pylint: disable=broad-except
            bad = shards
            break
    return bad or shards or [index]


def _earlier_checkpoints(model_dir, checkpoint_path):
    state = tf.train.get_checkpoint_state(model_dir)
    if state is None:
        return []
    paths = list(state.all_model_checkpoint_paths)
    keep = []
    for path in paths:
        full = path if os.path.isabs(path) else os.path.join(model_dir, path)
        if os.path.normpath(full) == os.path.normpath(checkpoint_path):
            break
        keep.append(full)
    return keep


def default_saver(config):
    """The Saver the original Estimator added when the model_fn made none."""
    return tf.compat.v1.train.Saver(
        sharded=True,
        max_to_keep=config.keep_checkpoint_max,
        keep_checkpoint_every_n_hours=config.keep_checkpoint_every_n_hours,
        defer_build=True,
        save_relative_paths=True,
    )


def ensure_saver(scaffold, config):
    """Registers the default Saver unless the graph or scaffold has one."""
    if scaffold.saver is None and not tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.SAVERS
    ):
        tf.compat.v1.add_to_collection(
            tf.compat.v1.GraphKeys.SAVERS, default_saver(config)
        )


def check_restorable(checkpoint_path, scaffold):
    """Fails before any session work when `checkpoint_path` cannot restore.

    Compares the graph's saveable variables (names and shapes) with the
    checkpoint, so a mismatched model_dir gets one clear error instead of a
    restore failure half-way through session creation. Graphs with a custom
    Saver are left to that Saver.

    Args:
        checkpoint_path: The checkpoint prefix that will be restored.
        scaffold: The spec's `Scaffold`.

    Raises:
        ValueError: Variables are missing from the checkpoint or have other
            shapes there.
    """
    if scaffold.saver is not None:
        return
    savers = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.SAVERS)
    if savers and any(s._var_list is not None for s in savers):
        return
    with reading(checkpoint_path):
        stored = tf.train.load_checkpoint(
            checkpoint_path
        ).get_variable_to_shape_map()
    missing, mismatched = [], []
    for name, shape in _graph_saveables():
        if name not in stored:
            missing.append(name)
        elif shape is not None and list(stored[name]) != shape:
            mismatched.append(
                f"{name}: graph {shape} vs checkpoint {stored[name]}"
            )
    if missing or mismatched:
        lines = [
            f"The checkpoint {checkpoint_path} does not match the model_fn's variables."
        ]
        if missing:
            lines.append(f"Missing from the checkpoint: {sorted(missing)}.")
        if mismatched:
            lines.append(
                "Different shapes: " + "; ".join(sorted(mismatched)) + "."
            )
        lines.append(
            "Use a model_dir written by this model_fn, or warm_start_from to "
            "initialise from another model's checkpoint."
        )
        raise ValueError(" ".join(lines))


def _graph_saveables():
    """(checkpoint name, full shape) for each global variable of the graph."""
    seen = set()
    variables = tf.compat.v1.global_variables() + tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.SAVEABLE_OBJECTS
    )
    for variable in variables:
        slice_info = getattr(variable, "_save_slice_info", None)
        if slice_info is not None:
            name, shape = slice_info.full_name, list(slice_info.full_shape)
        elif isinstance(variable, tf.Variable):
            name = variable.op.name
            shape = (
                variable.shape.as_list()
                if variable.shape.is_fully_defined()
                else None
            )
        else:
            # Custom saveables carry their own key scheme; skip them.
            continue
        if name not in seen:
            seen.add(name)
            yield name, shape


def lean_restore_variables():
    """The variables the default Saver would restore, if one op can do it.

    The default `Saver` restores `global_variables()` plus the
    `SAVEABLE_OBJECTS` collection. When that is just resource variables with
    unique names, whole (not partitioned) and on local devices, one
    `RestoreV2` op plus an assignment per variable does the same without
    building the Saver's save ops.

    Returns:
        The global variables, or None when a real `Saver` is needed (a Saver
        registered in the graph, custom saveables, partitioned, reference or
        remote variables, or duplicate names, which the Saver reports).
    """
    if tf.compat.v1.get_collection(
        _GraphKeys.SAVERS
    ) or tf.compat.v1.get_collection(_GraphKeys.SAVEABLE_OBJECTS):
        return None
    variables = tf.compat.v1.global_variables()
    names = set()
    for variable in variables:
        if (
            not isinstance(
                variable, resource_variable_ops.BaseResourceVariable
            )
            or variable._save_slice_info is not None
            or tf.DeviceSpec.from_string(variable.device).job is not None
            or variable.op.name in names
        ):
            return None
        names.add(variable.op.name)
    return variables


def build_restore_op(checkpoint_path, variables):
    """An op restoring `variables` from `checkpoint_path` by name.

    What the default Saver's restore op does for these variables: read each
    one's `op.name` key on the CPU and assign it to the variable.

    Args:
        checkpoint_path: The checkpoint prefix (fixed in the graph).
        variables: Resource variables, from `lean_restore_variables`.

    Returns:
        An `Operation`.
    """
    with tf.name_scope("restore"):
        with tf.device("/device:CPU:0"):
            values = tf.raw_ops.RestoreV2(
                prefix=tf.constant(os.fspath(checkpoint_path)),
                tensor_names=tf.constant([v.op.name for v in variables]),
                shape_and_slices=tf.constant([""] * len(variables)),
                dtypes=[v.dtype.base_dtype for v in variables],
            )
        assigns = []
        for variable, value in zip(variables, values):
            with tf.device(variable.device):
                assigns.append(
                    tf.raw_ops.AssignVariableOp(
                        resource=variable.handle, value=value
                    )
                )
        return tf.group(*assigns, name="restore_all")


def run_restore(session, restore_op, checkpoint_path):
    """Runs `restore_op`, failing as `Saver.restore` does.

    Raises:
        tf.errors.NotFoundError: A variable's key is missing from the
            checkpoint.
        tf.errors.InvalidArgumentError: A stored tensor does not fit its
            variable (e.g. another dtype).
    """
    tf.compat.v1.logging.info(
        "Restoring parameters from %s", os.fspath(checkpoint_path)
    )
    try:
        with reading(checkpoint_path):
            session.run(restore_op)
    except tf.errors.NotFoundError as err:
        raise _restore_error(
            err, "a Variable name or other graph key that is missing"
        ) from err
    except tf.errors.InvalidArgumentError as err:
        raise _restore_error(
            err, "a mismatch between the current graph and the graph"
        ) from err


def _restore_error(err, reason):
    # The message and error class `Saver.restore` raises.
    message = (
        f"Restoring from checkpoint failed. This is most likely due to "
        f"{reason} from the checkpoint. Please ensure that you have not "
        "altered the graph expected based on the checkpoint. Original "
        f"error:\n\n{err.message}"
    )
    return type(err)(err.node_def, err.op, message)
