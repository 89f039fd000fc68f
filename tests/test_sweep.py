"""Studies: a sweep writes its runs and summary, and a killed sweep resumes without redoing runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_sweep

pytestmark = pytest.mark.slow    # sweeps on every launcher: make test, not make test-fast

TINY = ["run.hours=60", "run.replications=2", "run.progress=false",
        "run.write_contacts=false"]


def _sweep(study_dir, *overrides, scenario="single_queue", **kw):
    return run_sweep(study_dir, *TINY, f"scenario={scenario}", *overrides, **kw)


def _finished(study_dir):
    runs = study_dir / "runs"
    return sorted(p for p in runs.iterdir() if (p / "kpis.json").exists()) if runs.exists() else []


def test_sweep_writes_runs_progress_and_summary(tmp_path):
    study = tmp_path / "agents"
    out = _sweep(study, "scenario.queue.agents=12,13,14", "base_scenario=single_queue")
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(_finished(study)) == 3
    assert "3/3 runs done" in out.stderr and "0 left" in out.stderr
    s = pd.read_parquet(study / "summary.parquet")
    assert list(s["param:scenario.queue.agents"]) == [12, 13, 14]
    assert s["phone.service_level"].is_monotonic_increasing        # more agents, better service
    assert s["phone.service_level_ci95"].gt(0).all()
    assert (study / "summary.csv").exists() and (study / "runs.csv").exists()
    assert not list((study / "runs").glob(".tmp-*")), "no temporary folder left behind"
    from analysis.report import build_report
    report = build_report(study).read_text()
    assert "## The study: every point against the base" in report
    assert sum(f"| scenario.queue.agents={a} |" in report for a in (12, 13, 14)) == 3


def test_paired_difference_against_the_base_run(tmp_path):
    """Runs of one study from two sweeps: the base scenario without swept overrides is the
    base; the other run's difference is paired replication by replication."""
    study = tmp_path / "pair"
    base = _sweep(study, "base_scenario=single_queue")
    fewer = _sweep(study, "base_scenario=single_queue", "scenario.queue.agents=12")
    assert base.returncode == 0 and fewer.returncode == 0, fewer.stderr[-2000:]
    s = pd.read_parquet(study / "summary.parquet").set_index("point")
    assert list(s.index) == ["", "scenario.queue.agents=12"]
    assert s.loc["", "phone.service_level_diff"] == 0.0
    row = s.loc["scenario.queue.agents=12"]
    assert row["phone.service_level_diff"] < 0
    assert abs(row["phone.service_level_diff"] - (row["phone.service_level"]
                                                  - s.loc["", "phone.service_level"])) < 1e-12
    unpaired = (row["phone.service_level_ci95"] ** 2
                + s.loc["", "phone.service_level_ci95"] ** 2) ** 0.5
    assert row["phone.service_level_diff_ci95"] < unpaired, "common random numbers pay off"
    # paired replication by replication: the CI is that of the per-replication differences
    from analysis.kpis import mean_ci

    level = {}
    for run in (study / "runs").glob("single_queue-*"):
        agents = yaml.safe_load((run / "scenario.yaml").read_text())["queue"]["agents"]
        reps = pd.read_parquet(run / "replications.parquet").set_index("replication")
        level[agents] = reps["phone.service_level"]
    mean, half = mean_ci(list(level[12] - level[14]))
    assert mean == pytest.approx(row["phone.service_level_diff"])
    assert half == pytest.approx(row["phone.service_level_diff_ci95"])


def test_scenarios_with_different_channels_in_one_summary(tmp_path):
    out = _sweep(tmp_path / "mixed", "base_scenario=single_queue",
                 scenario="single_queue,small_centre")
    assert out.returncode == 0, out.stderr[-2000:]
    s = pd.read_parquet(tmp_path / "mixed" / "summary.parquet").set_index("scenario")
    assert pd.notna(s.loc["small_centre", "phone.service_level_diff"])    # both have phone
    assert pd.isna(s.loc["small_centre", "chat.service_level_diff"])      # the base has no chat


def test_killed_sweep_resumes_without_redoing_finished_runs(tmp_path):
    points = "scenario.queue.agents=" + ",".join(str(a) for a in range(11, 31))   # 20 runs
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim.cli", "-m", f"hydra.sweep.dir={killed}", *TINY,
           "scenario=single_queue", points]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while len(_finished(killed)) < 5 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: (p / "kpis.json").stat().st_mtime_ns for p in _finished(killed)}
    assert 5 <= len(before) < 20, "killed midway"
    for p in (killed / "runs").iterdir():            # nothing half-written looks finished
        assert p.name.startswith((".tmp-", ".locks")) or (p / "kpis.json").exists()
    assert not (killed / "summary.parquet").exists()

    again = _sweep(killed, points, "hydra/launcher=joblib")
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("already finished, skipped") == len(before)
    after = {p.name: (p / "kpis.json").stat().st_mtime_ns for p in _finished(killed)}
    assert len(after) == 20
    assert all(after[name] == t for name, t in before.items()), "finished runs were not redone"
    assert not list((killed / "runs").glob(".tmp-*"))

    whole = tmp_path / "whole"
    assert _sweep(whole, points, "hydra/launcher=joblib").returncode == 0
    pd.testing.assert_frame_equal(pd.read_parquet(killed / "summary.parquet"),
                                  pd.read_parquet(whole / "summary.parquet"))


def test_local_parallel_and_ray_launchers_give_the_same_summary(tmp_path):
    """The same sweep on the basic (one process), joblib (all cores) and Ray (a local
    cluster) launchers: the same runs and the same summary."""
    points = "scenario.queue.agents=12,13,14"
    summaries = {}
    launchers = ["basic", "joblib"]
    missing = None
    try:
        import hydra_plugins.hydra_ray_launcher  # noqa: F401
        import ray  # noqa: F401
        launchers.append("ray")
    except ImportError as exc:
        missing = f"Ray launcher not tested: {exc}; make test installs the extra (.[ray])"
    for launcher in launchers:
        study = tmp_path / launcher
        out = _sweep(study, points, f"hydra/launcher={launcher}", timeout=600)
        assert out.returncode == 0, (launcher, out.stderr[-3000:])
        summaries[launcher] = pd.read_parquet(study / "summary.parquet")
    for launcher in launchers[1:]:
        pd.testing.assert_frame_equal(summaries["basic"], summaries[launcher])
    if missing:
        pytest.skip(missing)


def test_a_point_run_again_after_its_scenario_changed_counts_once(tmp_path, capsys):
    """A scenario edited between two sweeps of one study gives the point a new run folder
    (its key is the configuration's) beside the old one: the summary takes the run the
    study's plan names (else the newest) and says which it left out."""
    import json
    import shutil

    from analysis.study import write_summary

    study = tmp_path / "edited"
    assert _sweep(study, "base_scenario=single_queue").returncode == 0
    (run,) = _finished(study)
    old = run.parent / (run.name[:-4] + "0ld0")
    shutil.copytree(run, old)
    reps = pd.read_parquet(old / "replications.parquet")
    reps["phone.service_level"] = 0.0
    reps.to_parquet(old / "replications.parquet")
    kpis = json.loads((old / "kpis.json").read_text())      # its manifest: the new size
    kpis["files"]["replications.parquet"] = (old / "replications.parquet").stat().st_size
    (old / "kpis.json").write_text(json.dumps(kpis))
    os.utime(old / "kpis.json", (1, 1))                     # the older run
    write_summary(study, "single_queue")
    s = pd.read_parquet(study / "summary.parquet")
    assert len(s) == 1 and s["phone.service_level"].iloc[0] > 0.5
    assert old.name in capsys.readouterr().err
    plan = json.loads((study / "plan.json").read_text())
    (study / "plan.json").write_text(json.dumps({**plan, "runs": [old.name]}))
    write_summary(study, "single_queue")                    # the planned run wins
    assert pd.read_parquet(study / "summary.parquet")["phone.service_level"].iloc[0] == 0.0
