"""Sweeps on a real Ray cluster, as the README says (issue 13).

A test cluster: ``ray start --head`` on free ports (its own temp folder, token
authentication, a HOME of its own so ``~/.ray/auth_token`` is the test's) and a second
node on the same machine joined with ``RAY_AUTH_MODE=token ray start --address=…``. The
sweep runs with the README's command from another folder than the cluster's, so a relative
results folder would land elsewhere if ccsim did not make it absolute; its summary must
equal the joblib launcher's. Only the processes the test started are stopped (each
``ray start --block`` and what it started, by process group).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT
from raycluster import BIN, Cluster

# a two-node Ray cluster (about two minutes of Ray start-ups): make test-cluster, apart from make
# test so that CI's two cores finish it in ten minutes (test_sweep.py runs the Ray launcher)
pytestmark = [pytest.mark.slow, pytest.mark.cluster]

pytest.importorskip("ray")
pytest.importorskip("hydra_plugins.hydra_ray_launcher")

POINTS = ["scenario=single_queue", "run.hours=300", "run.replications=2", "run.progress=false",
          "run.write_contacts=false", "scenario.queue.agents=" + ",".join(map(str, range(11, 15)))]
README = ["hydra/launcher=ray", "+hydra.launcher.ray.init.address=auto"]


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "cluster")
    try:
        yield c
    finally:
        c.stop()


def _ccsim(cwd: Path, env: dict, *args: str, timeout: float = 600):
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(BIN / "ccsim"), "-m", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _reference(tmp_path: Path) -> subprocess.Popen:
    """The same sweep on the joblib launcher (started now, read with :func:`_read`)."""
    return subprocess.Popen([sys.executable, "-m", "sim.cli", "-m",
                             f"hydra.sweep.dir={tmp_path / 'joblib'}", "hydra/launcher=joblib",
                             *POINTS], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _read(proc: subprocess.Popen, tmp_path: Path) -> pd.DataFrame:
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    return pd.read_parquet(tmp_path / "joblib" / "summary.parquet")


def _summary(study: Path) -> pd.DataFrame:
    return pd.read_parquet(study / "summary.parquet")


def _sweep(planner: Path, env: dict, study: str) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "ccsim"), "-m", f"study={study}", *README, *POINTS],
                            cwd=planner, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _until(study: Path, proc: subprocess.Popen, seen) -> None:
    """Wait until a run folder of ``study`` satisfies ``seen`` (or the sweep ended)."""
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        runs = study / "runs"
        if runs.exists() and any(seen(r) for r in runs.iterdir()):
            return
        time.sleep(0.1)


def test_sweeps_on_a_two_node_cluster_as_the_readme_says(cluster, tmp_path):
    """In turn, on one cluster of two nodes: the README's command joins it (address=auto),
    writes every run where the sweep says although the workers start in another folder, and
    gives the joblib launcher's summary; the same over Ray Client (ray://); a node that cannot
    see the results folder stops the sweep before it starts (exit 2); a worker node lost
    mid-sweep costs only its runs; a lost head ends the command with one message (exit 1)
    and the same command, once the cluster is back, finishes the study."""
    joblib = _reference(tmp_path)
    cluster.start(workers=1)
    reference = _read(joblib, tmp_path)
    planner = tmp_path / "planner"                # not the folder the cluster started in
    planner.mkdir()
    steps = []
    t0 = time.time()

    out = _ccsim(planner, cluster.env, "study=on_cluster", *README, *POINTS)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    pd.testing.assert_frame_equal(_summary(planner / "results" / "on_cluster"), reference)
    assert not (cluster.base / "results").exists(), "a job wrote into the node's own folder"
    steps.append("address=auto" + f" ({time.time() - t0:.0f} s)")

    client = _ccsim(planner, cluster.env, "study=by_client", "hydra/launcher=ray",
                    f"+hydra.launcher.ray.init.address=ray://127.0.0.1:{cluster.client_port}",
                    *POINTS)
    assert client.returncode == 0, client.stderr[-3000:]
    pd.testing.assert_frame_equal(_summary(planner / "results" / "by_client"), reference)
    steps.append("ray://" + f" ({time.time() - t0:.0f} s)")

    if os.geteuid() == 0 and shutil.which("unshare"):
        # a node in a mount namespace of its own, where the results folder is another one
        hidden = planner / "results"
        node = cluster.add_worker("blind", prefix=[
            "unshare", "-m", "--propagation", "private", "sh", "-c",
            f'mount -t tmpfs tmpfs "{hidden}" && exec "$0" "$@"'])
        try:
            cluster.wait(node, timeout=60)
        except AssertionError:
            node = None                           # no mount namespaces here: step skipped
            steps.append("unreachable folder: SKIPPED (the blind node did not start)")
        if node is not None:
            blind = _ccsim(planner, cluster.env, "study=blind", *README, *POINTS)
            assert blind.returncode == 2, blind.stderr[-3000:]
            assert "not every node of the Ray cluster can write" in blind.stderr
            assert "Traceback" not in blind.stderr
            assert not (hidden / "blind").exists(), "nothing written"
            cluster.kill(node)
            steps.append("unreachable folder" + f" ({time.time() - t0:.0f} s)")

    # a worker node lost mid-sweep: its raylet killed once the first run is done
    worker = next(p for p in cluster.nodes if p.name == "worker0")
    lost = planner / "results" / "lost_node"
    proc = _sweep(planner, cluster.env, "lost_node")
    _until(lost, proc, lambda r: (r / "kpis.json").exists())
    assert proc.poll() is None, "the sweep ended before a node could be lost"
    done_before = {k: k.stat().st_mtime for k in (lost / "runs").glob("*/kpis.json")}
    cluster.kill(worker, "raylet")
    _, err = proc.communicate(timeout=600)
    steps.append(f"worker lost: the sweep itself ended with exit {proc.returncode} "
                 f"({time.time() - t0:.0f} s)")
    if proc.returncode != 0:                       # Ray could not retry: the re-run finishes
        again = _ccsim(planner, cluster.env, "study=lost_node", *README, *POINTS)
        assert again.returncode == 0, (err[-2000:], again.stderr[-3000:])
    assert "Traceback" not in err
    pd.testing.assert_frame_equal(_summary(lost), reference)
    # the lost node cost only its runs: those finished before it are untouched
    assert all(k.stat().st_mtime == t for k, t in done_before.items())

    # the head lost mid-sweep: one message, exit 1; the same command finishes the study
    cluster.kill(worker)
    cluster.wait(cluster.add_worker("worker1"))
    study = planner / "results" / "lost_head"
    proc = _sweep(planner, cluster.env, "lost_head")
    _until(study, proc, lambda r: r.name.startswith(".tmp-"))
    cluster.kill(cluster.nodes[0])
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("ccsim: the Ray cluster") and "run the same command again" in last, \
        last
    cluster.stop()
    cluster.start(workers=1)
    again = _ccsim(planner, cluster.env, "study=lost_head", *README, *POINTS)
    assert again.returncode == 0, again.stderr[-3000:]
    pd.testing.assert_frame_equal(_summary(study), reference)
    steps.append("head lost, resumed" + f" ({time.time() - t0:.0f} s)")
    print("cluster steps:", "; ".join(steps))
