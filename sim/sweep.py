"""Studies: resumable sweeps (``ccsim -m study=NAME …``) and their summary.

In a multirun every job is one *run*, keyed by a hash of its validated
scenario, run settings, seed, metric definitions and the ccsim version
(:func:`run_key`). The
run is written to ``results/<study>/runs/.tmp-<name>-<key>-<pid>/`` and
renamed to ``runs/<name>-<key>/`` only when complete (``kpis.json`` written
last), so a killed sweep never leaves a half-written run that looks finished.
Running the same sweep again skips every run whose folder exists and redoes
the rest (stale temporary folders of that key are removed first).

:class:`StudyCallback` (a Hydra callback, ``conf/config.yaml``) counts the
jobs when the sweep starts, so each job can print a progress line (runs done,
runs left, time to go), records them in ``plan.json`` (the base scenario and
every job's overrides, so the report can name runs still missing), and
writes the study summary (:mod:`analysis.study`) when the sweep ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

from hydra.experimental.callback import Callback

__all__ = ["run_key", "RunSlot", "StudyCallback", "progress_line"]

SWEEP_FILE = ".sweep.json"
PROGRESS_FILE = ".sweep.progress"
PLAN_FILE = "plan.json"   # the study's planned runs: the report names what is missing


def run_key(parts: dict) -> str:
    """A stable hash of the plain-data parts of a run (key order does not matter)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class RunSlot:
    """Where one run of a study goes: its final folder, and a temporary one to write."""

    def __init__(self, study_dir: Path, name: str, key: str):
        self.study_dir = Path(study_dir)
        runs = self.study_dir / "runs"
        self.final = runs / f"{name}-{key}"
        self._stale = f".tmp-{name}-{key}-*"
        self.tmp = runs / f".tmp-{name}-{key}-{os.getpid()}"

    @property
    def done(self) -> bool:
        return (self.final / "kpis.json").exists()

    def begin(self) -> Path:
        """A fresh temporary folder (leftovers of killed attempts at this run removed)."""
        for old in self.final.parent.glob(self._stale):
            shutil.rmtree(old, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        return self.tmp

    def commit(self) -> None:
        """Rename the finished temporary folder into place."""
        try:
            os.rename(self.tmp, self.final)
        except OSError:                       # another job finished the same run first
            shutil.rmtree(self.tmp, ignore_errors=True)


def progress_line(study_dir: Path, skipped: bool) -> str | None:
    """Record one more job of the running sweep; return its progress line."""
    study_dir = Path(study_dir)
    try:
        sweep = json.loads((study_dir / SWEEP_FILE).read_text())
    except (OSError, ValueError):
        return None
    with open(study_dir / PROGRESS_FILE, "a") as f:       # one short line: an atomic append
        f.write("skipped\n" if skipped else "ran\n")
    lines = (study_dir / PROGRESS_FILE).read_text().split()
    done, ran = len(lines), lines.count("ran")
    left = max(sweep["jobs"] - done, 0)
    elapsed = time.time() - sweep["started"]
    to_go = elapsed / ran * left if ran else 0.0
    return (f"[ccsim] study {study_dir.name}: {done}/{sweep['jobs']} runs done "
            f"({done - ran} already finished before), {left} left, about {_duration(to_go)} to go")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def planned_jobs(config) -> list[list[str]]:
    """The overrides of every job the basic sweeper makes of this multirun's overrides."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    text = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    overrides = OverridesParser.create().parse_overrides(text)
    return [list(job) for batch in BasicSweeper.split_arguments(overrides, None) for job in batch]


def write_plan(study_dir: Path, plan: list[list[str]], config) -> None:
    """``plan.json``: the base scenario, the default scenario and every job's overrides."""
    choices = config.hydra.runtime.get("choices") or {}
    text = json.dumps({"base_scenario": config.get("base_scenario") or "baseline",
                       "default_scenario": choices.get("scenario"),
                       "jobs": plan}, indent=1)
    tmp = study_dir / f".{PLAN_FILE}.{os.getpid()}"
    tmp.write_text(text)
    os.replace(tmp, study_dir / PLAN_FILE)


class StudyCallback(Callback):
    """Hydra callback: progress bookkeeping at the start, the summary at the end."""

    def on_multirun_start(self, config, **kwargs) -> None:
        study_dir = Path(config.hydra.sweep.dir)
        study_dir.mkdir(parents=True, exist_ok=True)
        plan = planned_jobs(config)
        jobs = len(plan)
        write_plan(study_dir, plan, config)
        (study_dir / PROGRESS_FILE).write_text("")
        (study_dir / SWEEP_FILE).write_text(json.dumps({"jobs": jobs, "started": time.time()}))
        print(f"[ccsim] study {study_dir.name}: {jobs} runs → {study_dir}", file=sys.stderr,
              flush=True)

    def on_multirun_end(self, config, **kwargs) -> None:
        from analysis.study import write_summary

        study_dir = Path(config.hydra.sweep.dir)
        path = write_summary(study_dir, config.get("base_scenario") or "baseline")
        for name in (SWEEP_FILE, PROGRESS_FILE):
            (study_dir / name).unlink(missing_ok=True)
        if path is not None:
            print(f"[ccsim] study summary: {path}", flush=True)
            print(f"[ccsim] leadership report: ccsim-report {study_dir}", flush=True)
