"""Required staffing (``scenario.staffing.mode=required``, ``ccsim-staff``).

* the published worked example: 100 calls per 30 min, AHT 180 s, 80 % in 20 s
  needs 14 agents; with 300 s mean patience the plan is the Erlang A minimum,
  and simulation agrees (that many agents hold the target, one fewer does not);
* the baseline year: the plan meets each channel's target in at least 95 % of
  its staffed intervals in simulation, and one agent fewer in an interval the
  plan marks binding (not overstaffed) breaks the target there;
* at equal service the roadmap needs fewer FTE and costs less than the base
  (paired CIs), and the summary carries FTE and paid cost;
* bad staffing settings fail with the key and the allowed values.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SMALL_2023, study_summary

from analysis.erlang import erlang_a, min_agents
from sim.engine.model import simulate
from sim.engine.scenario import parse_run, parse_scenario
from sim.staffing import _months, interval_service, required_plan


def _single_queue(patience=None, agents=14, staffing="required"):
    return parse_scenario({"name": "worked_example", "queue": {
        "arrivals_per_hour": 200.0, "aht_seconds": 180.0, "agents": agents,
        "patience_seconds": patience, "answer_target_seconds": 20.0},
        "staffing": {"mode": staffing}})


def test_the_worked_example_needs_14_agents():
    plan = required_plan(_single_queue(), parse_run({"hours": 48}), 1, 0)
    assert plan.flat() == {"agents": 14}
    assert plan.method == "erlang"


def test_with_300_s_patience_the_plan_is_the_erlang_a_minimum_and_simulation_agrees():
    n = min_agents(200.0, 180.0, 20.0, 0.8, 300.0)
    plan = required_plan(_single_queue(300.0), parse_run({"hours": 48}), 1, 0)
    assert plan.flat() == {"agents": n}
    assert erlang_a(200.0, 180.0, n - 1, 300.0, 20.0).service_level < 0.8
    run = parse_run({"hours": 3000, "warmup_hours": 10})
    for agents, holds in ((n, True), (n - 1, False)):
        rec = simulate(_single_queue(300.0, agents, "fixed"), run, 7, 0)
        c = rec.contacts
        kept = c["arrival_s"] >= 36000
        wait = np.where(np.isnan(c["answer_s"]), np.inf, c["answer_s"] - c["arrival_s"])[kept]
        sl = float(np.mean(wait <= 20.0))
        half = 1.96 * np.sqrt(sl * (1 - sl) / kept.sum()) * 10   # ×10: calls are correlated
        assert (sl - half >= 0.8) if holds else (sl + half < 0.8), (agents, sl, half)


def test_ccsim_staff_prints_one_line_for_a_flat_queue(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from sim.cli import staff; sys.argv[0] = "
         "'ccsim-staff'; staff()", "scenario=single_queue",
         "scenario.queue.arrivals_per_hour=200", "run.hours=100", "run.replications=1",
         "run.progress=false", f"hydra.run.dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "phone: 14 agents" in out.stdout.splitlines()
    table = pd.read_parquet(tmp_path / "staffing.parquet")
    assert set(table["agents"]) == {14} and set(table["pool"]) == {"agents"}
    assert {"start", "binding", "offered", "meets_target"} <= set(table.columns)
    months = pd.read_csv(tmp_path / "staffing_monthly.csv")
    assert {"month", "pool", "fte", "fte_ci95", "paid_hours"} <= set(months.columns)
    # the roster (default rules: starts 0–20 h, 4/6/8 h shifts, any weekday, 16–40 h a week)
    # covers the plan in every interval with allowed shifts; the run is the roster's
    assert (table["rostered"] >= table["agents"]).all()
    roster = pd.read_csv(tmp_path / "roster.csv")
    assert list(roster.columns) == ["replication", "week", "pool", "weekday", "start_hour",
                                    "length_hours", "break_minutes", "agents"]
    assert set(roster.length_hours) <= {4.0, 6.0, 8.0} and roster.start_hour.between(0, 20).all()
    assert (roster.start_hour + roster.length_hours <= 24).all() and (roster.agents > 0).all()
    assert any(line.startswith("roster of agents: paid hours +") for line in out.stdout.splitlines())
    kpis = json.loads((tmp_path / "kpis.json").read_text())
    assert 0 <= kpis["pools"]["agents"]["roster_gap"] < 0.1


@pytest.mark.slow
def test_the_baseline_year_plan_holds_its_targets_and_binding_intervals_are_tight(root):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from sim.cli import validate_config

    with initialize_config_dir(config_dir=str(root / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["scenario=baseline", "run.replications=1",
                                           "run.hours=2880",        # four months: Jan-Apr
                                           "scenario.staffing.mode=required"])
    sc, run, seed, _ = validate_config(OmegaConf.to_container(cfg, resolve=True))
    plan = required_plan(sc, run, seed, 0)
    # (a) every channel meets its target in >= 95 % of its staffed intervals with contacts
    for ch, met in plan.meets.items():
        pool = plan.channel_pool[ch]
        staffed = (plan.agents[pool] > 0) & (met >= 0)
        share = float((met[staffed] == 1).mean())
        print(f"{ch}: target met in {share:.1%} of {int(staffed.sum())} staffed intervals")
        assert share >= 0.95, (ch, share)
    # (b) one agent fewer where the plan is binding breaks the target there: spaced
    # intervals (two days apart) of the interval pools, whole months of the backlog pool
    channels, _ = sc.agent_model()
    targets = {c: s.answer_target_seconds for c, s in channels.items()}
    dt, n = plan.interval_seconds, len(plan.agents["phone_agents"])
    month = _months(sc.start_date, dt, n)
    trial = {p: a.copy() for p, a in plan.agents.items()}
    picked = []
    for pool in ("phone_agents", "chat_agents"):
        idx = np.flatnonzero(plan.binding[pool])
        for j in idx[:: max(1, len(idx) // 12)]:
            if all(abs(j - q) >= 96 for _, q in picked):
                picked.append((pool, j))
                trial[pool][j] -= 1
    months = np.unique(month[plan.binding["backoffice"]])[1:-1]
    for m in months:
        trial["backoffice"][(month == m) & (plan.agents["backoffice"] > 0)] -= 1
    rec = simulate(sc, run, seed, 0, staffing={p: (np.arange(n) * dt, a.astype(float))
                                                for p, a in trial.items()})
    serv = interval_service(rec, dt, n, targets, run.hours * 3600.0)
    broke = []
    for pool, j in picked:
        chans = [c for c, p in plan.channel_pool.items() if p == pool]
        broke.append(any(serv[c][0][j] > 0 and serv[c][1][j] < plan.targets[c][month[j]]
                         * serv[c][0][j] for c in chans))
    off, ok = serv["service_request"]
    for m in months:
        sel = month == m
        broke.append(ok[sel].sum() < plan.targets["service_request"][m] * off[sel].sum())
    places = [f"{pool}@{j}" for pool, j in picked] + [f"backoffice@month{m}" for m in months]
    print(f"one agent fewer broke the target in {sum(broke)} of {len(broke)} binding places; "
          "held: " + ", ".join(pl for pl, b in zip(places, broke) if not b))
    assert len(picked) >= 15 and len(months) >= 2
    # customers learn and redial, so demand at an interval moves a little with every change
    # elsewhere: a few binding phone intervals may hold by a point (measured: 23 of 24 break)
    assert np.mean(broke) >= 0.85, (np.mean(broke), len(broke))


SMALL = [*SMALL_2023, "run.replications=2", "scenario.staffing.mode=required"]


@pytest.mark.slow
def test_at_equal_service_the_roadmap_needs_fewer_fte_and_costs_less(tmp_path):
    s = study_summary(tmp_path / "study", "scenario=base_2023,end_open_phone_lines,roadmap_2023",
                      *SMALL).set_index("scenario")
    for col in ("fte", "paid_cost_eur", "paid_hours", "intervals_meeting_target"):
        assert col in s.columns and f"{col}_diff_ci95" in s.columns
    # equal service: each scenario's forecast plan keeps the promise (every answered channel
    # meets its target on at least target_confidence, 0.9, of the days) on the run's days,
    # which it has not seen (measured: 0.97-1.0)
    for ch in ("phone", "appointment", "chat"):
        days = s[f"{ch}.days_meeting_target"].dropna()
        assert len(days) and (days >= 0.9).all(), (ch, days.to_dict())
    road = s.loc["roadmap_2023"]
    assert road["fte_diff"] + road["fte_diff_ci95"] < 0
    assert road["paid_cost_eur_diff"] + road["paid_cost_eur_diff_ci95"] < 0
    # paid cost is staffed cost grossed up by shrinkage (0.3 by default)
    base = s.loc["base_2023"]
    assert base["paid_cost_eur"] == pytest.approx(base["agent_cost_eur"] / 0.7, rel=1e-9)
    # the report says its cost is at equal service, shows the base's typical week required
    # against rostered, a row per scenario and pool, and every lever's cost in the tornado
    rep = subprocess.run([sys.executable, "-m", "analysis.study_report", str(tmp_path / "study")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rep.returncode == 0, rep.stderr[-2000:]
    page = (tmp_path / "study" / "report.html").read_text()
    assert "at equal service (every scenario staffed to the same promise" in page
    assert 'data-chart="roster"' in page and 'id="table-roster"' in page
    table = page[page.index('id="table-roster"'):]
    table = table[:table.index("</table>")]
    for name in ("base_2023", "end_open_phone_lines", "roadmap_2023"):
        assert table.count(f"<td>{name}</td>") >= 2, name          # a row per staffed pool
    from analysis.charts import levers
    from analysis.study_report import load_study

    for label, _, (lo, hi) in levers(load_study(tmp_path / "study")):
        assert lo == 0 and hi < 0, (label, hi)        # each lever saves agent cost here


@pytest.mark.parametrize("override, words", [
    ("scenario.staffing.mode=always", ["scenario.staffing.mode", "fixed", "required"]),
    ("scenario.staffing.service_level.phone=1.5", ["service_level.phone", "<= 1"]),
    ("+scenario.staffing.service_level.fax=0.8", ["service_level.fax", "phone"]),
    ("scenario.staffing.shrinkage=1", ["scenario.staffing.shrinkage", "< 1"]),
    ("scenario.staffing.rules.weekdays=[7]", ["scenario.staffing.rules.weekdays", "<= 6"]),
    ("scenario.staffing.rules.max_weekly_hours=10",
     ["scenario.staffing.rules.max_weekly_hours", "at least min_weekly_hours"]),
])
def test_bad_staffing_settings_fail_with_the_key_and_the_allowed_values(tmp_path, override,
                                                                         words):
    out = subprocess.run([sys.executable, "-m", "sim.cli", override, "run.hours=10",
                          f"hydra.run.dir={tmp_path}"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2, out.stderr[-2000:]
    for w in words:
        assert w in out.stderr, (w, out.stderr[-1000:])
    assert not (tmp_path / "kpis.json").exists()


def test_a_requirement_the_roster_rules_cannot_cover_is_bad_input(tmp_path):
    """A queue open around the clock, shifts allowed Monday to Friday only: exit 2, the
    message names the pool, the weekday and hour, and the rules; no kpis.json."""
    out = subprocess.run(
        [sys.executable, "-m", "sim.cli", "scenario=single_queue", "run.hours=200",
         "run.replications=1", "scenario.staffing.mode=required",
         "scenario.staffing.rules.weekdays=[0,1,2,3,4]", f"hydra.run.dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "pool agents needs" in out.stderr and "weekday 5 at 00.00 h" in out.stderr
    assert "no allowed shift covers" in out.stderr
    assert not (tmp_path / "kpis.json").exists()
