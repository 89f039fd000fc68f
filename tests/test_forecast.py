"""Staffing from a forecast, judged on unseen days (``scenario.staffing.plan``, sim/forecast.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
from conftest import ROOT

from sim.forecast import HISTORY, MAX_MARGIN

FOUR_WEEKS = ["scenario=small_centre", "run.hours=672", "run.replications=2",
              "run.progress=false", "run.write_contacts=false"]


def _staff(tmp_path, *overrides):
    out = subprocess.run([sys.executable, "-c", "import sys; from sim.cli import staff; "
                          "sys.argv[0] = 'ccsim-staff'; staff()", *FOUR_WEEKS, *overrides,
                          f"hydra.run.dir={tmp_path}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads((tmp_path / "kpis.json").read_text())


def test_a_forecast_plan_is_made_on_history_and_judged_on_the_runs_days(tmp_path):
    """One plan for every replication (made from history replications of their own random
    numbers, with the margin that held the promise there), one roster covering it, and per
    channel the shares of intervals and days that met the target on the run's days."""
    kpis = _staff(tmp_path)
    st = kpis["staffing"]
    assert st["plan"] == "forecast" and st["plan_replications"] == 3
    margins = st["safety_margin_agents"]
    assert set(margins) == {"phone_agents", "chat_agents"}
    assert all(0 <= m <= MAX_MARGIN for m in margins.values())
    tried = st["margins_tried"]
    assert tried[0]["margins"] == {p: 0 for p in margins} and tried[-1]["margins"] == margins
    # the margins grew one agent at a time where the history fell short, and stopped at the
    # first that kept the promise (or at the largest tried)
    held = [t["worst_days_share"] >= st["target_confidence"] for t in tried]
    assert held[-1] or MAX_MARGIN in margins.values()
    assert not any(held[:-1])
    for a, b in zip(tried, tried[1:]):
        assert all(b["margins"][p] - a["margins"][p] in (0, 1) for p in margins)
        assert b["margins"] != a["margins"]
    judged = {ch: v for ch, v in st["history_days_meeting_target"].items()
              if ch != "service_request"}        # a backlog keeps its monthly promise
    assert min(judged.values()) == tried[-1]["worst_days_share"]
    assert (st["margin_paid_hours"] > 0) == any(margins.values())
    for ch in ("phone", "chat", "service_request"):
        c = kpis["channels"][ch]
        for key in ("intervals_meeting_target", "days_meeting_target"):
            assert 0.0 <= c[key] <= 1.0 and f"{key}_ci" in c, (ch, key, c)
    plan = pd.read_parquet(tmp_path / "staffing.parquet")
    by_rep = [g.sort_values(["pool", "start"]).agents.to_numpy()
              for _, g in plan.groupby("replication")]
    assert np.array_equal(*by_rep), "one forecast plan for every replication"
    assert (plan.rostered >= plan.agents).all()
    assert HISTORY > 10_000


def test_an_oracle_plan_reports_its_roster_on_unseen_days(tmp_path):
    kpis = _staff(tmp_path, "scenario.staffing.plan=oracle")
    assert kpis["staffing"] == {"plan": "oracle"}
    for ch in ("phone", "chat"):
        c = kpis["channels"][ch]
        assert 0.0 <= c["unseen_days_meeting_target"] <= 1.0
        assert 0.0 <= c["days_meeting_target"] <= 1.0


def test_replications_run_on_threads_give_the_records_of_one_run_after_another():
    """A forecast's history runs on threads (the compiled loop releases the GIL): each
    replication's records are exactly those it gives alone — no state shared between runs."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from sim.cli import validate_config
    from sim.engine.model import simulate
    from sim.staffing import simulate_many

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["scenario=base_2023", "run.hours=336",
                                           "scenario.customers.accounts=12000"])
    sc, run, seed, _ = validate_config(OmegaConf.to_container(cfg, resolve=True))
    _, pools = sc.agent_model()         # a day of many agents, then few: queues and redials
    steps = {p: (np.array([0.0, 86400.0]), np.array([30.0, 3.0])) for p in pools}
    reps = [4, 5, 6]
    together = simulate_many(sc, run, seed, reps, steps)
    for rep, rec in zip(reps, together):
        alone = simulate(sc, run, seed, rep, staffing=steps)
        assert rec.contacts.keys() == alone.contacts.keys()
        for key, column in alone.contacts.items():
            np.testing.assert_array_equal(rec.contacts[key], column, err_msg=f"{rep} {key}")
