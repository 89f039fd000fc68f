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
