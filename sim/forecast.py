"""Staffing from a forecast, judged on unseen days (``scenario.staffing.plan``).

``oracle`` (what :func:`sim.staffing.required_plan` does per replication): each replication
is staffed for its *own* realised demand — a plan nobody could make in advance.

``forecast`` (the default): the plan is made from **history** — ``staffing.plan_replications``
replications with their own random numbers (replication numbers from :data:`HISTORY` on,
never among a run's) — and then judged on the run's replications, days it has not seen:

1. the history's requirement is searched on the history replications **together**
   (:func:`sim.staffing.pooled_plan`): the load is their mean, and an interval gets one more
   agent while the contacts of all of them together miss its target there — the expected
   service level of the interval, not one replication's luck (their simulations run on
   threads);
2. a **safety margin** of ``m`` agents in every staffed interval of a pool (m = 0, 1, 2, …,
   per pool) grows, one agent at a time in the pools whose channels fall short, until on
   the history replications simulated with it every channel meets its target on at least
   ``staffing.target_confidence`` of the days with contacts (the promise is made on
   history, not on the days it is judged on). A backlog channel (service requests) keeps
   its monthly promise, which the plan's own search holds: a request created on a Friday
   afternoon is due over the weekend, so its days are reported, not promised;
3. :mod:`sim.roster` fills the requirement with shifts; the run's replications are
   simulated with that roster.

:func:`service_shares` judges any run: per agent channel the share of intervals and of days
(with contacts) whose contacts met the target (answered within the target wait; a backlog:
completed within its due time) — ``channels.<channel>.intervals_meeting_target`` and
``days_meeting_target`` of ``kpis.json``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .engine.channels import measured_by_completion
from .engine.model import simulate
from .roster import roster_of, roster_rows
from .staffing import StaffingPlan, _steps, interval_service, met, pooled_plan, required_plan, simulate_many

__all__ = ["HISTORY", "UNSEEN", "ForecastPlan", "forecast_plan", "service_shares", "judge",
           "Staffer", "StaffedRun"]

#: the replication number of the first history replication (its own random numbers: the
#: streams are keyed by replication number, and no run has a million replications)
HISTORY = 1_000_000
#: the replication number of the first unseen replication an oracle plan is tried on
UNSEEN = 2_000_000
#: the largest safety margin tried (agents per staffed interval of a pool)
MAX_MARGIN = 6


def service_shares(rec, scenario, run) -> dict[str, dict[str, float]]:
    """Per agent channel: ``intervals_meeting_target`` and ``days_meeting_target``, the
    shares of intervals and of days with contacts where the promised share
    (``staffing.service_level``) of them met the target."""
    channels, _ = scenario.agent_model()
    dt = run.interval_minutes * 60.0
    horizon = run.hours * 3600.0
    n_int = math.ceil(horizon / dt)
    answer_t = {ch: spec.answer_target_seconds for ch, spec in channels.items()}
    serv = interval_service(rec, dt, n_int, answer_t, horizon)
    per_day = max(1, int(round(86400.0 / dt)))
    day = np.arange(n_int) // per_day
    out = {}
    for ch, (off, ok) in serv.items():
        t = scenario.staffing.target(ch)
        d_off, d_ok = np.bincount(day, off), np.bincount(day, ok)
        out[ch] = {"intervals_meeting_target": _share(off, ok, t),
                   "days_meeting_target": _share(d_off, d_ok, t)}
    return out


def _share(offered: np.ndarray, ok: np.ndarray, target: float) -> float:
    m = offered > 0
    return float(met(offered[m], ok[m], target).mean()) if m.any() else math.nan


@dataclass
class ForecastPlan:
    """The forecast requirement (``agents``, margin included), what it was made from and
    how it held on its history."""

    plan: StaffingPlan                 # agents: the requirement with the margin
    margin: dict[str, int]             # per pool: agents added per staffed interval
    history_days: dict[str, float]     # per channel: days meeting target on the history
    required_hours: dict[str, float]   # per pool: the requirement's agent-hours, no margin
    margin_hours: dict[str, float]     # per pool: the margin's agent-hours
    tried: list[tuple[dict, float]] = field(default_factory=list)  # (margins, worst share)


def forecast_plan(scenario, run, seed: int,
                  progress: Callable[[str], None] | None = None) -> ForecastPlan:
    """Steps 1 and 2 of the module docstring."""
    say = progress or (lambda _msg: None)
    st = scenario.staffing
    history = [HISTORY + k for k in range(st.plan_replications)]
    say(f"the requirement of {len(history)} history replications together")
    first, recs = pooled_plan(scenario, run, seed, history, say)
    base = {p: a.copy() for p, a in first.agents.items()}
    dt = first.interval_seconds
    reg = scenario.registry        # a backlog's promise is monthly (the plan's own search)
    judged = [ch for ch in first.channel_pool if not measured_by_completion(reg.kind(ch))]
    tried, margin, sims = [], {p: 0 for p in base}, first.simulations
    while True:
        agents = {p: np.where(a > 0, a + margin[p], 0) for p, a in base.items()}
        if tried or recs is None:  # margin 0 was judged on the search's last simulations
            recs = simulate_many(scenario, run, seed, history, _steps(agents, dt))
            sims += len(recs)
        shares = _days_met(recs, scenario, run)
        seen = {ch: shares[ch] for ch in judged if not math.isnan(shares.get(ch, math.nan))}
        worst = min(seen.values()) if seen else 1.0
        tried.append((dict(margin), worst))
        say(f"margins {margin}: the worst channel meets its target on {worst:.1%} of the "
            f"history's days (promise {st.target_confidence:.0%})")
        short = {first.channel_pool[ch] for ch, v in seen.items() if v < st.target_confidence}
        grow = [p for p in short if margin[p] < MAX_MARGIN]
        if not grow:
            break
        for p in grow:              # one more agent where a pool's channel falls short
            margin[p] += 1
    hours = dt / 3600.0
    required = {p: float(a.sum() * hours) for p, a in base.items()}
    extra = {p: float((agents[p] - a).sum() * hours) for p, a in base.items()}
    plan = StaffingPlan(dt, agents, {p: np.zeros(len(a), dtype=bool) for p, a in agents.items()},
                        first.channel_pool, first.targets, method="forecast", simulations=sims)
    return ForecastPlan(plan, margin, shares, required, extra, tried)


def _days_met(recs, scenario, run) -> dict[str, float]:
    """Per agent channel the share of days meeting the target, over the replications."""
    met = {}
    for rec in recs:
        for ch, sh in service_shares(rec, scenario, run).items():
            met.setdefault(ch, []).append(sh["days_meeting_target"])
    return {ch: float(np.nanmean(v)) for ch, v in met.items()}


def judge(plan: StaffingPlan, rec, scenario) -> StaffingPlan:
    """A copy of ``plan`` with ``meets`` (per channel and interval: 1 met, 0 missed, -1 no
    contact) and ``records`` from the run ``rec`` it was tried on."""
    channels, _ = scenario.agent_model()
    n_int = len(next(iter(plan.agents.values())))
    answer_t = {ch: spec.answer_target_seconds for ch, spec in channels.items()}
    serv = interval_service(rec, plan.interval_seconds, n_int, answer_t,
                            n_int * plan.interval_seconds)
    meets = {ch: np.where(off > 0, met(off, ok, scenario.staffing.target(ch)).astype(np.int8),
                          -1) for ch, (off, ok) in serv.items()}
    return StaffingPlan(plan.interval_seconds, plan.agents, plan.binding, plan.channel_pool,
                        plan.targets, meets, plan.method, plan.simulations, rec)


@dataclass
class StaffedRun:
    """One replication run with a plan's roster: the records, the plan judged on them, the
    roster's agents on the floor and on shift per pool, its shifts (``roster.csv`` rows) and,
    for an oracle plan, its roster's shares on a replication it has not seen."""

    rec: object
    plan: StaffingPlan
    floor: dict[str, np.ndarray]
    on_shift: dict[str, np.ndarray]
    shifts: dict[str, list[tuple]]
    unseen: dict[str, dict[str, float]] | None = None

    def paid_factor(self) -> dict[str, float]:
        """Per pool the roster's hours on shift per hour on the floor (its breaks)."""
        return {p: self.on_shift[p].sum() / max(self.floor[p].sum(), 1) for p in self.floor}

    def add_kpis(self, rep_kpis: dict, scenario, run) -> None:
        """``pools.<pool>.roster_gap`` (paid hours over the plan's interval sum, the least any
        roster pays) and per channel the shares of intervals and days meeting the target."""
        for p, a in self.plan.agents.items():
            if a.sum() > 0:
                rep_kpis["pools"][p]["roster_gap"] = self.on_shift[p].sum() / a.sum() - 1.0
        for ch, shares in service_shares(self.rec, scenario, run).items():
            rep_kpis["channels"][ch].update(shares)
            if self.unseen is not None:
                rep_kpis["channels"][ch]["unseen_days_meeting_target"] = \
                    self.unseen[ch]["days_meeting_target"]


class Staffer:
    """Required staffing of a run's replications: a forecast plan and its roster made once
    (``staffing.plan: forecast``), or an oracle plan per replication."""

    def __init__(self, scenario, run, seed: int, progress: bool = False):
        self.scenario, self.run, self.seed, self.progress = scenario, run, seed, progress
        self.forecast = None
        if scenario.staffing.plan == "forecast":
            say = self._say("forecast") or (lambda _msg: None)
            started = time.perf_counter()
            self.forecast = forecast_plan(scenario, run, seed, say)
            self.floor, self.on_shift, weeks = roster_of(self.forecast.plan, scenario)
            self.shifts = {p: roster_rows(w) for p, w in weeks.items()}
            say(f"plan and roster ready in {time.perf_counter() - started:.1f} s "
                f"({self.forecast.plan.simulations} simulations); now the run's replications")

    def _say(self, who: str):
        if not self.progress:
            return None
        import sys

        return lambda msg: print(f"[ccsim] staffing ({who}): {msg}", file=sys.stderr, flush=True)

    def replication(self, rep: int) -> StaffedRun:
        sc, run, seed = self.scenario, self.run, self.seed
        if self.forecast is not None:          # one plan and roster, judged on the run's days
            steps = _steps(self.floor, self.forecast.plan.interval_seconds)
            rec = simulate(sc, run, seed, rep, staffing=steps)
            return StaffedRun(rec, judge(self.forecast.plan, rec, sc), self.floor, self.on_shift,
                              self.shifts)
        plan = required_plan(sc, run, seed, rep, self._say(f"replication {rep + 1}"))
        floor, on_shift, weeks = roster_of(plan, sc)
        steps = _steps(floor, plan.interval_seconds)
        # the run is the roster's: its agents on the floor (at least the plan everywhere) …
        rec = simulate(sc, run, seed, rep, staffing=steps)
        # … and the same roster on days it has not seen (a replication of its own numbers)
        unseen = service_shares(simulate(sc, run, seed, UNSEEN + rep, staffing=steps), sc, run)
        return StaffedRun(rec, judge(plan, rec, sc), floor, on_shift,
                          {p: roster_rows(w) for p, w in weeks.items()}, unseen)

    def summary(self) -> dict:
        """``kpis.json`` → ``staffing``: how the plan was made; for a forecast its safety
        margin, what the margin costs over the run (paid: shrinkage on top) and how the
        history held."""
        st = self.scenario.staffing
        fc = self.forecast
        if fc is None:
            return {"plan": "oracle"}
        _, pools = self.scenario.agent_model()
        cost = sum(h * pools[p].hourly_cost_eur for p, h in fc.margin_hours.items())
        return {"plan": "forecast", "plan_replications": st.plan_replications,
                "target_confidence": st.target_confidence,
                "safety_margin_agents": fc.margin,
                "history_days_meeting_target": fc.history_days,
                "margin_paid_hours": sum(fc.margin_hours.values()) / (1 - st.shrinkage),
                "margin_paid_cost_eur": cost / (1 - st.shrinkage),
                "margins_tried": [{"margins": m, "worst_days_share": w} for m, w in fc.tried]}
