"""Run a benchmark's workload under the original `tf.estimator` beside ours.

Absolute figures of the original do not carry between machines, so a
benchmark that compares with it runs the same workload under a TF 2.15 +
tensorflow-estimator 2.15 interpreter (`--original-python PATH`) in the same
run, rounds alternating ours, original, ours, original, ..., and reports the
ratio of the medians. Each side is one long-lived worker process running the
benchmark script itself, so both sides are warm and measured alike.

In the benchmark script (stdlib only at import time here, so the same script
text loads under both interpreters):

    import _original
    _original.add_option(parser)                        # --original-python
    sides = _original.start(__file__, args.original_python)
    results = _original.interleave(sides, "train", rounds=5, steps=2000)
    _original.ratio(results, "steps_per_sec")           # None without it
    ...
    if __name__ == "__main__":
        if _original.is_worker():
            _original.serve({"train": bench_train})     # the workload
        else:
            main()

and in the workload, `_original.tf_estimator()` is `tf.estimator` on both
sides (kerasbridge's via `kb.install()` on ours, tensorflow_estimator on the
original's); `_original.model_to_estimator()` likewise.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import traceback

SETUP = (
    "python3 -m venv v215 && v215/bin/pip install "
    "tensorflow-cpu==2.15.1 tensorflow-estimator==2.15.0"
)
NO_RATIO = (
    "no ratio against the original was measured: pass --original-python "
    "PATH (a TF 2.15 + tensorflow-estimator 2.15 interpreter; make one "
    f"with `{SETUP}`) to run it side by side"
)
OURS, ORIGINAL = "ours", "original"

_SIDE_VAR = "KERASBRIDGE_BENCH_SIDE"
_WORKER_FLAG = "--bench-worker"
_PROBE = (
    "import json, importlib.metadata as m, platform\n"
    "import tensorflow as tf\n"
    "info = {'python': platform.python_version(), 'tensorflow': tf.__version__}\n"
    "try:\n"
    "    info['tensorflow_estimator'] = m.version('tensorflow-estimator')\n"
    "    tf.estimator.Estimator\n"
    "except Exception as e:\n"
    "    info['error'] = repr(e)\n"
    "print(json.dumps(info))\n"
)


def add_option(parser):
    """Adds `--original-python PATH` to an `argparse` parser."""
    parser.add_argument(
        "--original-python",
        metavar="PATH",
        help="a TF 2.15 + tensorflow-estimator 2.15 interpreter: run the "
        "same workload under it, interleaved with ours, and print the ratio "
        f"of medians (make one with: {SETUP})",
    )


def check_interpreter(path):
    """Checks that `path` runs TF with `tf.estimator` (the original).

    Args:
        path: the interpreter given as `--original-python`.

    Returns:
        A dict of its versions: `python`, `tensorflow`, `tensorflow_estimator`.

    Raises:
        ValueError: `path` is not an executable, or has no `tf.estimator`.
    """
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ValueError(
            f"--original-python: {path!r} is not an executable file; make "
            f"one with: {SETUP}"
        )
    probe = subprocess.run(
        [path, "-c", _PROBE],
        env=_env(ORIGINAL),
        capture_output=True,
        text=True,
    )
    lines = probe.stdout.strip().splitlines()
    info = json.loads(lines[-1]) if probe.returncode == 0 and lines else None
    if info is None or "error" in info:
        stderr = probe.stderr.strip().splitlines() or ["no output"]
        reason = info["error"] if info else stderr[-1]
        raise ValueError(
            f"--original-python: {path!r} cannot run tf.estimator "
            f"({reason}); make one with: {SETUP}"
        )
    if not info["tensorflow"].startswith("2.15"):
        print(
            f"warning: --original-python has TF {info['tensorflow']}, not "
            "2.15: the ratios compare with that version",
            file=sys.stderr,
        )
    return info


class Worker:
    """One side's worker process: runs the script's workload on request."""

    def __init__(self, side, python, script):
        self.side = side
        self.python = python
        self._log = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            [python, os.path.abspath(script), _WORKER_FLAG],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=_env(side),
            text=True,
        )
        self._info = None

    @property
    def info(self):
        """The worker's versions (and for ours, the kerasbridge it imports)."""
        if self._info is None:
            self._info = self.call("_info")
        return self._info

    def call(self, name, **kwargs):
        """Runs workload `name(**kwargs)` in the worker; returns its result.

        Raises:
            RuntimeError: the workload raised, or the worker died (its
                traceback or the tail of its stderr is in the message).
        """
        try:
            self._process.stdin.write(json.dumps([name, kwargs]) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        except BrokenPipeError:
            line = ""
        reply = json.loads(line) if line else {"error": self._stderr_tail()}
        if "error" in reply:
            raise RuntimeError(f"{self.side} worker ({self.python}), "
                               f"{name}():\n{reply['error']}")
        return reply["result"]

    def close(self):
        if self._process.poll() is None:
            self._process.stdin.close()
            self._process.wait(timeout=60)
        self._log.close()

    def _stderr_tail(self):
        self._process.wait(timeout=60)
        self._log.seek(0)
        return self._log.read()[-3000:] or f"exit {self._process.returncode}"


def start(script, original_python=None):
    """Starts the workers: ours, and the original's if a path is given.

    Args:
        script: the benchmark script (`__file__`); each worker runs it.
        original_python: `--original-python`, or None.

    Returns:
        A dict side -> `Worker`, ours first.

    Raises:
        ValueError: `original_python` is not a usable interpreter.
    """
    if original_python:
        check_interpreter(original_python)
    sides = {OURS: Worker(OURS, sys.executable, script)}
    if original_python:
        sides[ORIGINAL] = Worker(ORIGINAL, original_python, script)
    return sides


def stop(sides):
    for worker in sides.values():
        worker.close()


def interleave(sides, name, rounds, **kwargs):
    """Runs workload `name` `rounds` times per side, sides alternating.

    Returns:
        A dict side -> list of the workload's results, one per round.
    """
    results = {side: [] for side in sides}
    for _ in range(rounds):
        for side, worker in sides.items():
            results[side].append(worker.call(name, **kwargs))
    return results


def medians(results, key):
    """Median of `result[key]` over the rounds, per side."""
    return {
        side: statistics.median(r[key] for r in rounds)
        for side, rounds in results.items()
    }


def ratio(results, key):
    """Median of ours / median of the original's, or None without it."""
    if ORIGINAL not in results:
        return None
    m = medians(results, key)
    return m[OURS] / m[ORIGINAL]


def describe(sides):
    """Lines naming the machine, its load and each side's versions."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            names = [l.split(":", 1)[1].strip() for l in f
                     if l.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [f"machine: {cpu}, {os.cpu_count()} logical CPUs, "
             f"{platform.system()} {platform.release()}; load average {load}"]
    for side, worker in sides.items():
        versions = ", ".join(f"{k} {v}" for k, v in worker.info.items())
        lines.append(f"{side}: {worker.python} ({versions})")
    if ORIGINAL not in sides:
        lines.append(NO_RATIO)
    return lines


# --- worker side -----------------------------------------------------------


def is_worker():
    """True when this process is a worker started by `start`."""
    return _WORKER_FLAG in sys.argv[1:]


def side():
    """`"ours"` or `"original"`: the side this process measures."""
    return os.environ.get(_SIDE_VAR, OURS)


def tf_estimator():
    """`tf.estimator` of this side (kerasbridge's after `kb.install()`)."""
    import tensorflow as tf

    if side() == OURS:
        import kerasbridge

        return kerasbridge.install()
    return tf.estimator


def model_to_estimator():
    """`model_to_estimator` of this side."""
    if side() == OURS:
        import kerasbridge

        return kerasbridge.model_to_estimator
    import tensorflow as tf

    return tf.keras.estimator.model_to_estimator


def serve(workloads):
    """The worker loop: runs `workloads[name](**kwargs)` per request line.

    Replies go to a private copy of stdout; the process's stdout goes to
    stderr, so library prints cannot corrupt them.
    """
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    workloads = dict(workloads, _info=_versions)
    for line in sys.stdin:
        name, kwargs = json.loads(line)
        try:
            reply = {"result": workloads[name](**kwargs)}
        except Exception:  # Reported to the parent, which raises.
            reply = {"error": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def _versions():
    import importlib.metadata as metadata

    import tensorflow as tf

    info = {"python": platform.python_version(), "tensorflow": tf.__version__}
    info["keras"] = metadata.version("keras")
    if side() == ORIGINAL:
        info["tensorflow_estimator"] = metadata.version("tensorflow-estimator")
    else:
        # Which checkout is measured: the editable install's, unless
        # PYTHONPATH names another.
        import kerasbridge

        info["kerasbridge"] = os.path.dirname(kerasbridge.__file__)
    return info


def _env(side_name):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env[_SIDE_VAR] = side_name
    if side_name == ORIGINAL:
        # Paths meant for our interpreter must not leak into the other one.
        for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            env.pop(name, None)
    return env
