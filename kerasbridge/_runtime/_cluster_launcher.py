"""A loopback TF_CONFIG cluster for development and tests.

`LocalCluster` runs one process per task (ps, chief, workers, evaluator) of
the same command, each with its own TF_CONFIG on free 127.0.0.1 ports. It
prefixes every output line with the task (`[worker:1] ...`) and keeps each
task's log in `log_dir/<type>-<index>.log`. `run()` is the launcher's
policy: start everything, wait for the chief and workers, then stop the ps
tasks (they serve until killed) and wait for the evaluator; the first task
that fails stops the others and its exit code is returned.

`python -m kerasbridge.cluster` is the command line over it.
"""

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

_HOST = "127.0.0.1"
_POLL_SECS = 0.1
_STOP_GRACE_SECS = 5
_PR_SET_PDEATHSIG = 1


def free_ports(count):
    """`count` distinct TCP ports that were free on 127.0.0.1 just now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((_HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _die_with_parent():
    """Asks Linux to SIGKILL the task if the launcher dies (best effort).

    A launcher killed without running its cleanup (SIGKILL, a test runner
    timing out) would otherwise leave ps tasks serving forever.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass


class LocalCluster:
    """One process per TF_CONFIG task of `command`, on loopback ports.

    Args:
        command: The argv every task runs (e.g. `["python", "train.py"]`).
        ps: Number of ps tasks.
        workers: Number of workers besides the chief.
        evaluator: Whether to run an evaluator task.
        log_dir: Where `<type>-<index>.log` files go (created).
        env: Extra environment variables for every task.
        echo: Print each task's output, prefixed, to this process's stdout.

    Raises:
        ValueError: A negative count or an empty command.
    """

    def __init__(
        self, command, ps=1, workers=1, evaluator=False, log_dir="cluster-logs",
        env=None, echo=True,
    ):
        if not command:
            raise ValueError("command must name the program every task runs.")
        if ps < 0 or workers < 0:
            raise ValueError(
                f"ps and workers must be >= 0, given ps={ps}, workers={workers}."
            )
        self.command = list(command)
        self.log_dir = os.fspath(log_dir)
        self._env = dict(env or {})
        self._echo = echo
        ports = free_ports(1 + workers + ps)
        self.cluster = {"chief": [f"{_HOST}:{ports[0]}"]}
        if workers:
            self.cluster["worker"] = [f"{_HOST}:{p}" for p in ports[1 : 1 + workers]]
        if ps:
            self.cluster["ps"] = [f"{_HOST}:{p}" for p in ports[1 + workers :]]
        self.tasks = [
            (job, index)
            for job in ("ps", "chief", "worker")
            for index in range(len(self.cluster.get(job, [])))
        ]
        if evaluator:
            self.tasks.append(("evaluator", 0))
        self._procs = {}
        self._threads = {}
        self._lock = threading.Lock()
        os.makedirs(self.log_dir, exist_ok=True)

    # -- one task ---------------------------------------------------------

    def tf_config(self, task_type, index=0):
        """The TF_CONFIG dict of one task."""
        return {
            "cluster": self.cluster,
            "task": {"type": task_type, "index": index},
        }

    def log_path(self, task_type, index=0):
        return os.path.join(self.log_dir, f"{task_type}-{index}.log")

    def start(self, task_type, index=0):
        """Starts (or restarts, if it has exited) one task's process.

        Raises:
            RuntimeError: The task is still running.
        """
        key = (task_type, index)
        proc = self._procs.get(key)
        if proc is not None and proc.poll() is None:
            raise RuntimeError(f"{task_type}:{index} is still running.")
        env = dict(os.environ)
        env.update(self._env)
        env["TF_CONFIG"] = json.dumps(self.tf_config(task_type, index))
        env.setdefault("PYTHONUNBUFFERED", "1")
        log = open(self.log_path(task_type, index), "ab")
        log.write(f"=== start {task_type}:{index} at {time.time():.3f}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            self.command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group, so stopping a task stops what it spawned.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._procs[key] = proc
        thread = threading.Thread(
            target=self._pump, args=(proc, log, f"[{task_type}:{index}] "),
            daemon=True,
        )
        thread.start()
        self._threads[key] = thread
        return proc

    def _pump(self, proc, log, prefix):
        with log:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                if self._echo:
                    text = prefix + line.decode("utf-8", "replace")
                    with self._lock:
                        sys.stdout.write(text)
                        sys.stdout.flush()
            proc.stdout.close()

    def pid(self, task_type, index=0):
        return self._procs[(task_type, index)].pid

    def poll(self, task_type, index=0):
        """The task's exit code, or None while it runs."""
        return self._procs[(task_type, index)].poll()

    def wait(self, task_type, index=0, timeout=None):
        """Waits for one task to exit and returns its exit code.

        Raises:
            subprocess.TimeoutExpired: It still runs after `timeout` secs.
        """
        key = (task_type, index)
        code = self._procs[key].wait(timeout)
        self._threads[key].join(timeout=_STOP_GRACE_SECS)
        return code

    def kill(self, task_type, index=0, sig=signal.SIGKILL):
        """Sends `sig` to one task's process group (if it still runs)."""
        proc = self._procs.get((task_type, index))
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, task_type, index=0):
        """SIGTERM, then SIGKILL after a grace period; waits for the exit."""
        proc = self._procs.get((task_type, index))
        if proc is None:
            return
        self.kill(task_type, index, signal.SIGTERM)
        try:
            proc.wait(_STOP_GRACE_SECS)
        except subprocess.TimeoutExpired:
            self.kill(task_type, index, signal.SIGKILL)
            proc.wait()
        self._threads[(task_type, index)].join(timeout=_STOP_GRACE_SECS)

    # -- the whole cluster ----------------------------------------------

    def start_all(self):
        for task_type, index in self.tasks:
            self.start(task_type, index)

    def stop_all(self):
        """Stops every task that still runs."""
        for task_type, index in reversed(list(self._procs)):
            self.stop(task_type, index)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop_all()

    def run(self, timeout=None):
        """Starts all tasks and runs them to completion.

        The ps tasks are stopped once the chief and all workers have exited
        with 0; then the evaluator is waited for. If any task exits with a
        non-zero code, or `timeout` seconds pass, every other task is
        stopped.

        Args:
            timeout: Seconds before giving up, or None.

        Returns:
            0 on success, the first failing task's exit code, or 124 on a
            timeout.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self.start_all()
            trainers = [t for t in self.tasks if t[0] in ("chief", "worker")]
            others = [t for t in self.tasks if t[0] == "evaluator"]
            code = self._wait_for(trainers + others, trainers, deadline)
            if code:
                return code
            for task in self.tasks:
                if task[0] == "ps":
                    self.stop(*task)
            return self._wait_for(others, others, deadline)
        finally:
            self.stop_all()

    def _wait_for(self, watched, needed, deadline):
        """Polls until every `needed` task exits 0 or a `watched` one fails."""
        while True:
            if all(self.poll(*t) == 0 for t in needed):
                return 0
            for task in watched:
                code = self.poll(*task)
                if code:
                    self._say(f"{task[0]}:{task[1]} exited with {code}; stopping.")
                    # A signal death (negative code) becomes 128 + signal.
                    return code if code > 0 else 128 - code
            if deadline is not None and time.monotonic() > deadline:
                self._say("timed out; stopping.")
                return 124
            time.sleep(_POLL_SECS)

    def _say(self, message):
        with self._lock:
            sys.stdout.write(f"[cluster] {message}\n")
            sys.stdout.flush()
