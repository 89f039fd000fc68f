"""Sweep speed (``make bench``): a study of one-year runs on all local cores, and on Ray.

Runs ``ccsim -m`` over N seeds of the baseline year (one replication each,
no contact log) with the joblib launcher (all cores), the Ray launcher in this
process (``ray``), and the README's cluster command on a cluster started for the
bench on this machine (``cluster1``: one node with every core; ``cluster2``: two
nodes sharing the cores), and prints the wall time of each sweep against
the sum of its runs' own times (``runs.csv``), and against N times the time
of a run alone (a few runs one after another on the basic launcher; runs in
parallel slow each other down, so this ratio is the stricter one). On two
cores a sweep that uses both takes about half the sum; the target is at most
0.6 of it.
Prints figures only: speed is measured here, never asserted in the tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def sweep(launcher: str, runs: int, folder: Path) -> tuple[float, float]:
    """(wall seconds, sum of the runs' own seconds) of one sweep."""
    seeds = ",".join(str(s) for s in range(1, runs + 1))
    env, cluster = dict(os.environ), None
    if launcher.startswith("cluster"):
        sys.path.insert(0, str(Path(__file__).parent))
        from raycluster import Cluster

        nodes = int(launcher[len("cluster"):])
        cores = os.cpu_count() or 2
        cluster = Cluster(folder.parent / f"{launcher}-nodes", cpus_per_node=max(cores // nodes, 1))
        cluster.start(workers=nodes - 1)
        env = cluster.env
        chosen = ["hydra/launcher=ray", "+hydra.launcher.ray.init.address=auto"]
    else:
        chosen = [f"hydra/launcher={launcher}"]
    cmd = [sys.executable, "-m", "sim.cli", "-m", *chosen,
           f"hydra.sweep.dir={folder}", "scenario=baseline", "run.hours=8760",
           "run.replications=1", "run.write_contacts=false", "run.progress=false", f"seed={seeds}"]
    started = time.perf_counter()
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    finally:
        wall = time.perf_counter() - started
        if cluster is not None:
            cluster.stop()
    if out.returncode != 0:
        raise SystemExit(f"{launcher} sweep failed:\n{out.stderr[-3000:]}")
    run_times = pd.read_csv(folder / "runs.csv")["run_seconds"]
    assert len(run_times) == runs, f"{launcher}: {len(run_times)} of {runs} runs finished"
    return wall, float(run_times.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="one-year runs per sweep (40)")
    parser.add_argument("--launchers", default="joblib,ray,cluster1,cluster2",
                        help="comma-separated: joblib, ray (in this process), clusterN (the "
                        "README's command on a local cluster of N nodes)")
    parser.add_argument("--alone", type=int, default=4,
                        help="runs one after another for the time of a run alone (4)")
    args = parser.parse_args()
    print(f"sweep bench: {args.runs} one-year baseline runs per launcher, "
          f"{os.cpu_count()} cores")
    tmp = Path(tempfile.mkdtemp(prefix="ccsim_sweep_bench_"))
    try:
        _, alone = sweep("basic", args.alone, tmp / "alone")
        alone /= args.alone
        print(f"  a run alone: {alone:.1f} s (mean of {args.alone} in one process)", flush=True)
        walls = {}
        for launcher in args.launchers.split(","):
            wall, total = sweep(launcher, args.runs, tmp / launcher)
            walls[launcher] = wall
            print(f"  {launcher:>8}: wall {wall:7.1f} s; sum of its run times {total:7.1f} s, "
                  f"ratio {wall / total:.2f}; {args.runs} × a run alone "
                  f"{args.runs * alone:7.1f} s, ratio {wall / (args.runs * alone):.2f} "
                  f"(target <= 0.60); {args.runs / wall * 3600:.0f} run-years/hour", flush=True)
        for a, b in (("cluster2", "cluster1"), ("cluster2", "joblib"), ("cluster1", "joblib"),
                     ("ray", "joblib")):
            if a in walls and b in walls:
                print(f"  wall {a} / {b}: {walls[a] / walls[b]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
