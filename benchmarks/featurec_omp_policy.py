"""featurec under each OpenMP wait policy, each in a fresh process.

numba's OpenMP threads either spin between parallel regions (ACTIVE, or
libgomp's default of ~300k spins before sleeping), sleep at once (PASSIVE,
what `import featurec` sets unless the variable is already set), or spin a
chosen number of times first (GOMP_SPINCOUNT with the policy unset). The
setting must be in the environment before numba starts its threads, hence
one subprocess per setting; the settings take turns, round after round, so
load from other processes hits them alike.

Prints the median ms of a `t(features)` call (Criteo-like set, `S8`
strings, 16 distinct batches per pass) at batch 256 and 4,096, and the load
average. Run it on an idle machine and on a busy one (e.g. with
`python -c "while True: pass" &` once per core alongside):

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/featurec_omp_policy.py [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

SETTINGS = {
    "PASSIVE (featurec's default)": {"OMP_WAIT_POLICY": "PASSIVE"},
    "ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE"},
    "libgomp default (unset, 300k spins)": {"OMP_WAIT_POLICY": ""},
    "spin 10k then sleep": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "10000"},
    "1 thread": {"OMP_WAIT_POLICY": "PASSIVE", "NUMBA_NUM_THREADS": "1"},
}

_CHILD = r"""
import json, os, sys, time, statistics
sys.path.insert(0, {bench_dir!r}); sys.path.insert(0, {repo_dir!r})
if not os.environ.get("OMP_WAIT_POLICY"):
    os.environ.pop("OMP_WAIT_POLICY", None)
    import featurec  # sets PASSIVE by default: undo it for the 'unset' rows
    os.environ.pop("OMP_WAIT_POLICY", None)
import featurec_vs_feature_column as bench
import featurec
t = featurec.compile(bench.build_columns()); t.set_embedding_tables(bench.make_tables())
out = {{}}
for batch in (256, 4096):
    bs = bench.batches_of(bench.make_data(16 * batch), batch)
    for b in bs: t(b)
    per_pass = []
    for _ in range(5):
        s = time.perf_counter()
        for b in bs: t(b)
        per_pass.append((time.perf_counter() - s) / len(bs) * 1e3)
    out[batch] = statistics.median(per_pass)
print(json.dumps(out))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bench_dir = os.path.dirname(os.path.abspath(__file__))
    child = _CHILD.format(bench_dir=bench_dir, repo_dir=os.path.dirname(bench_dir))
    times = {name: {256: [], 4096: []} for name in SETTINGS}
    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for name, env in SETTINGS.items():
            full = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env)
            if env.get("OMP_WAIT_POLICY") == "":
                full.pop("OMP_WAIT_POLICY")
            proc = subprocess.run([sys.executable, "-c", child], env=full, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-3000:])
            got = json.loads(proc.stdout.strip().splitlines()[-1])
            for batch in (256, 4096):
                times[name][batch].append(got[str(batch)])
        loads.append(os.getloadavg()[0])
    print(f"{os.cpu_count()} logical CPUs; 1-min load average during the rounds: "
          f"{', '.join(f'{x:.1f}' for x in loads)}")
    print("\n| setting | batch 256 ms/call (median of rounds) | batch 4,096 ms/call |")
    print("|---|---:|---:|")
    for name in SETTINGS:
        print(f"| {name} | {statistics.median(times[name][256]):.2f} | {statistics.median(times[name][4096]):.2f} |")


if __name__ == "__main__":
    main()
