"""Shared helpers for the tests: build scenarios and run replications in-process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the same examples every time (a red CI run can be reproduced); elsewhere
# hypothesis explores new ones, and prints any failing case to add as an @example.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from analysis.kpis import replication_kpis, summarise  # noqa: E402
from sim.engine.model import simulate  # noqa: E402
from sim.engine.scenario import parse_run, parse_scenario  # noqa: E402


def queue_scenario(arrivals_per_hour, aht_seconds, agents, patience_seconds=None,
                   answer_target_seconds=20.0):
    """A validated single-queue (M/M/c+M) scenario."""
    return parse_scenario({"name": "test_queue", "queue": {
        "arrivals_per_hour": arrivals_per_hour, "aht_seconds": aht_seconds, "agents": agents,
        "patience_seconds": patience_seconds, "answer_target_seconds": answer_target_seconds}})


def run_kpis(scenario, hours, replications=5, warmup_hours=0.0, seed=7, engine="simpy"):
    """Simulate and summarise; returns the kpis dict shape of kpis.json (without files)."""
    run = parse_run({"hours": hours, "warmup_hours": warmup_hours,
                     "replications": replications, "engine": engine})
    channels, pools = scenario.agent_model()
    targets = {n: ch.answer_target_seconds for n, ch in channels.items()}
    skills = {n: p.skills for n, p in pools.items()}
    costs = {n: p.hourly_cost_eur for n, p in pools.items()}
    per = [replication_kpis(simulate(scenario, run, seed, r), warmup_hours * 3600.0, targets,
                            skills, costs) for r in range(replications)]
    return summarise(per)


#: A smaller unit of the 2023 studies (12,000 accounts, one quarter, no contact log), paired
#: against base_2023: the setting the study tests share (they add replications and launchers).
SMALL_2023 = ["scenario.customers.accounts=12000", "scenario.customers.new_accounts_per_year=4000",
              "run.hours=2184", "run.write_contacts=false", "run.progress=false",
              "base_scenario=base_2023"]


def run_sweep(study_dir, *overrides: str, timeout: float = 1800):
    """``ccsim -m hydra.sweep.dir=STUDY overrides…`` in a subprocess, as a user would run it."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "sim.cli", "-m", f"hydra.sweep.dir={study_dir}",
                           *overrides], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def study_summary(study_dir, *overrides: str):
    """Run a study on every core (:func:`run_sweep`) and return its ``summary.parquet``."""
    import pandas as pd

    out = run_sweep(study_dir, "hydra/launcher=joblib", *overrides)
    assert out.returncode == 0, out.stderr[-3000:]
    return pd.read_parquet(Path(study_dir) / "summary.parquet")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def by_when_needs_arose(contacts):
    """The contact table sorted by need then time, with ``closed``: the need arose while
    phone and chat are closed (weekends, before 8 or from 16 on; ``need_arrival_s``), so
    tests of after-hours behaviour classify needs one way."""
    import pandas as pd

    arose = contacts.start - pd.to_timedelta(contacts.arrival_s - contacts.need_arrival_s,
                                             unit="s")
    hour = arose.dt.hour + arose.dt.minute / 60
    closed = ((arose.dt.day_of_week >= 5) | (hour < 8) | (hour >= 16)).to_numpy()
    return contacts.assign(closed=closed).sort_values(["need_id", "arrival_s", "contact_id"])


#: Test files by their measured cost on one core (``pytest --durations``), heaviest first.
#: ``make test`` runs files whole on each core (``--dist loadfile``: a module's fixture runs
#: once) and starts the heaviest first, so the two cores of CI finish together instead of one
#: core starting the longest file at the end.
HEAVY_FIRST = ("test_company_x", "test_faults", "test_ray_cluster", "test_fast_engine",
               "test_sweep", "test_report", "test_theory", "test_staffing",
               "test_scenarios_2023", "test_trap", "test_levers", "test_residual")


def pytest_configure(config):
    """Compile the fast engine once, in the controlling process, before the workers (and the
    ccsim processes the tests start) would each compile it at the same time on a fresh
    clone; later it loads from numba's cache in well under a second."""
    if not hasattr(config, "workerinput"):
        from sim.engine.fast import warm_up

        warm_up()


def pytest_collection_modifyitems(items):
    def weight(item):
        name = Path(str(item.fspath)).stem
        return HEAVY_FIRST.index(name) if name in HEAVY_FIRST else len(HEAVY_FIRST)
    items.sort(key=weight)                   # stable: a file keeps its own order
