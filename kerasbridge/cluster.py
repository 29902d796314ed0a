"""Run a training script as a loopback TF_CONFIG cluster.

    python -m kerasbridge.cluster --ps 1 --workers 2 --evaluator -- python train.py

starts one process per task (the ps tasks, one chief, the workers and an
optional evaluator), each running the command with its own TF_CONFIG on
free 127.0.0.1 ports. Output lines are prefixed with the task
(`[worker:0] ...`) and kept in `--log-dir/<type>-<index>.log`. When the chief
and the workers have finished, the ps tasks are stopped and the evaluator
is waited for. The exit code is 0, the first failing task's code (the other
tasks are then stopped), or 124 after `--timeout` seconds.

The script calls `kb.train_and_evaluate` (every task runs the same script;
TF_CONFIG tells each what it is) and must use a `model_dir` all tasks see.
`LocalCluster` is the same thing as a Python object, for tests.
"""

import argparse
import sys

from kerasbridge._runtime._cluster_launcher import LocalCluster
from kerasbridge._runtime._cluster_launcher import free_ports

__all__ = ["LocalCluster", "free_ports", "main"]


def main(argv=None):
    """Parses the launcher's arguments, runs the cluster, returns its code."""
    parser = argparse.ArgumentParser(
        prog="python -m kerasbridge.cluster",
        description="Run COMMAND as a loopback TF_CONFIG cluster.",
    )
    parser.add_argument("--ps", type=int, default=1, help="ps tasks (default 1)")
    parser.add_argument(
        "--workers", type=int, default=1,
        help="workers besides the chief (default 1)",
    )
    parser.add_argument(
        "--evaluator", action="store_true", help="also run an evaluator task"
    )
    parser.add_argument(
        "--log-dir", default="cluster-logs",
        help="directory for <type>-<index>.log (default ./cluster-logs)",
    )
    parser.add_argument(
        "--timeout", type=float, default=None,
        help="stop everything after this many seconds (exit code 124)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        parser.error("give the command to run after --")
    try:
        cluster = LocalCluster(
            command, ps=args.ps, workers=args.workers,
            evaluator=args.evaluator, log_dir=args.log_dir,
        )
    except ValueError as error:
        parser.error(str(error))
    return cluster.run(timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
