"""Required staffing: per interval and pool, the fewest agents that hold each channel's promise.

``scenario.staffing.mode=required`` (see :class:`sim.engine.scenario.Staffing`).
For one replication, :func:`required_plan`

1. **measures the load**: one simulation with ample agents gives, per
   interval (``run.interval_minutes``) and agent channel, the contacts offered
   and their handle time (+ wrap-up) — customer journeys, redials and
   come-backs included;
2. **starts from the formulas**: per interval and pool, Erlang C on the
   pool's combined load gives the fewest agents for the strictest target of
   its channels (Erlang A's hang-ups are offset by redials and queues carried
   over between intervals, which Erlang ignores); a chat
   pool with concurrency k is sized in chat slots, then divided by k;
   backlog channels (a due time of hours or days: service requests) get one
   level per month inside the pool's working hours (its shifts), starting
   from the month's work and found by bisection in the rounds of step 3;
3. **corrects by simulation** with the same random numbers (common random
   numbers, so a change of plan is the only change): an interval whose
   service level misses its target gets one more agent, until at most
   ``staffing.allowed_misses`` of the staffed intervals miss (default 2 %) or
   ``staffing.max_rounds`` is used (time-varying load, queues carried over,
   redials, chat slots and shared skills, which the formulas ignore);
4. **trims**: every staffed interval tries one agent fewer (a third of the
   intervals at a time, so neighbours interfere little); where the targets
   still hold there the agent goes; a repair round (as in 3) adds back where
   that broke a neighbour;
5. **verifies**: the same one-agent-fewer test on the final plan marks the
   intervals where a target then falls clearly short there (by more than
   ``BINDING_MARGIN``, 8 points; a backlog month: short at all) ``binding``
   (not overstaffed); the plan is not changed. The margin is there because
   customers learn and redial: an agent fewer anywhere changes later demand a
   little, so a miss by a point or two in the test run may not repeat when
   only that interval loses an agent.

Several replications together (a forecast's history, :mod:`sim.forecast`):
:func:`pooled_plan` runs steps 1 to 3 on their pooled contacts — the load is their mean,
an interval misses when all their contacts there together miss (the expected service
level, steadier than one replication's, so no trim is needed) — with their simulations on
threads (:func:`simulate_many`).

A flat single queue that Erlang models exactly (one channel and pool,
exponential handle time, no wrap-up, no redials, one concurrency, flat load
around the clock) takes the formula's answer without simulation.

A backlog channel's target is checked per month, for requests created in
the month; where the pool's working hours cannot reach it even with ample
agents (a request created on Friday afternoon and due in two days waits for
Monday), the target is capped at what ample agents reach (minus 2 points) and
the plan says so (``targets``).

Nothing here touches files or pandas: :mod:`analysis.staffing` turns the plan
into ``staffing.parquet``, paid hours, cost and FTE.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from analysis.erlang import min_agents

from .engine.calendar import windows
from .engine.channels import measured_by_completion
from .engine.log import OUTCOMES
from .engine.model import RunRecords, simulate

__all__ = ["StaffingPlan", "required_plan", "pooled_plan", "interval_service", "met"]

AMPLE = 400                       # agents per pool when measuring the load
VERIFY_PHASES = 3                 # binding is tested with one agent fewer in 1/3 of the intervals
BINDING_MARGIN = 0.08             # ... and counts where the service level then falls this far short
_FAILED = OUTCOMES.index("failed")


@dataclass
class StaffingPlan:
    """Agents per interval and pool, and how the plan was found.

    ``agents[pool]`` and ``binding[pool]`` are arrays over the intervals
    (``interval_seconds`` long, from the run's start); ``binding`` marks
    intervals where one agent fewer broke a target there. ``targets[ch]`` is
    the service-level target used per month (backlog channels: capped at
    what ample agents reach). ``meets[ch]``: per interval, 1 met, 0 missed,
    -1 no contact offered, in the final simulation (``records``).
    """

    interval_seconds: float
    agents: dict[str, np.ndarray]
    binding: dict[str, np.ndarray]
    channel_pool: dict[str, str]
    targets: dict[str, np.ndarray]
    meets: dict[str, np.ndarray] = field(default_factory=dict)
    method: str = "erlang+simulation"
    simulations: int = 0
    records: RunRecords | None = None

    def steps(self) -> dict:
        """Pool → (times s, agents from each time): what :func:`sim.engine.model.simulate` takes."""
        return _steps(self.agents, self.interval_seconds)

    def met_share(self) -> float:
        """Share of (channel, interval) pairs with contacts that met their target."""
        met = np.concatenate([m[m >= 0] for m in self.meets.values()])
        return float(met.mean()) if len(met) else math.nan

    def flat(self) -> dict[str, int] | None:
        """Pool → agents when every interval has the same number, else None."""
        if all(len(set(a.tolist())) == 1 for a in self.agents.values()):
            return {p: int(a[0]) for p, a in self.agents.items()}
        return None


def _steps(agents: dict, interval_s: float) -> dict:
    """Per pool the times where the number of agents changes, and the number from then."""
    out = {}
    for p, a in agents.items():
        change = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
        out[p] = (change * interval_s, a[change].astype(float))
    return out


def simulate_many(scenario, run, seed: int, replications: list[int], staffing: dict) -> list:
    """The replications with the same staffing, on threads (the compiled engine's loop
    releases the GIL; each run has its own random numbers and buffers, so the records are
    those of one run after another)."""
    if len(replications) == 1:
        return [simulate(scenario, run, seed, replications[0], staffing=staffing)]
    workers = min(len(replications), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda rep: simulate(scenario, run, seed, rep, staffing=staffing),
                             replications))


def interval_service(rec: RunRecords, interval_s: float, n_int: int,
                     answer_targets: dict[str, float], horizon: float) -> dict:
    """Per agent channel: (offered, within target) per interval of arrival.

    Offered excludes contacts that found the channel closed; abandoned and
    still-waiting contacts are misses. For a backlog channel "within target"
    is completed within the due time (:func:`sim.engine.channels.measured_by_completion`),
    and requests created within the due time of the end of the run are left out
    (they could not be finished).
    """
    c = rec.contacts
    code, outcome = c["channel_code"], c["outcome_code"]
    arrival, answer, end = c["arrival_s"], c["answer_s"], c["end_s"]
    out = {}
    for ch, target in answer_targets.items():
        k = rec.channels.index(ch)
        completion = measured_by_completion(rec.channel_kinds[k])
        m = (code == k) & (outcome != _FAILED)
        if completion:
            m &= arrival <= horizon - target
        a = arrival[m]
        measure = (end[m] if completion else answer[m]) - a
        ok = ~np.isnan(answer[m]) & (measure <= target)
        j = np.minimum((a // interval_s).astype(np.int64), n_int - 1)
        out[ch] = (np.bincount(j, minlength=n_int), np.bincount(j, weights=ok, minlength=n_int))
    return out


def met(offered, within, target):
    """The one rule of a met promise: at least ``target`` of the offered contacts within the
    target (elementwise; a rounding hair below counts as met)."""
    return within >= target * offered - 1e-9


def _per_month(month: np.ndarray, values: np.ndarray, n_months: int) -> np.ndarray:
    """Sum of per-interval ``values`` per month (``month``: each interval's month index)."""
    return np.bincount(month, weights=values, minlength=n_months)


def _months(start_date: str, interval_s: float, n_int: int) -> np.ndarray:
    t = np.datetime64(start_date, "s") + (np.arange(n_int) * interval_s).astype("timedelta64[s]")
    m = t.astype("datetime64[M]").astype(np.int64)
    return m - m[0]


def _exact_single_queue(scenario, channels, pools) -> bool:
    """One stationary M/M/c(+M) queue: Erlang is exact, no simulation needed."""
    if scenario.has_journeys or len(channels) != 1 or len(pools) != 1:
        return False
    (ch,), (p,) = channels.values(), pools.values()
    prof = ch.profile
    flat = all(len(set(v)) == 1 for v in (prof.month, prof.weekday, prof.hour))
    always = ch.open_hours.start_hour == 0 and ch.open_hours.end_hour >= 24 \
        and len(ch.open_hours.weekdays) == 7
    return (flat and always and ch.handle.distribution == "exponential"
            and ch.redial_probability == 0 and p.wrap_up_seconds == 0 and p.concurrency == 1)


class _Formula:
    """Memoised minimum agents of Erlang C / A (:func:`analysis.erlang.min_agents`)."""

    def __init__(self):
        self._memo = {}

    def __call__(self, lam_h: float, aht: float, target_s: float, sl: float,
                 patience: float | None) -> int:
        if lam_h <= 0 or aht <= 0:
            return 0
        key = (round(lam_h, 1), round(aht), target_s, sl, None if patience is None
               else round(patience))
        if key not in self._memo:
            try:
                self._memo[key] = min_agents(key[0], key[1], target_s, sl, key[4],
                                             max_agents=5000)
            except ValueError:
                self._memo[key] = 5000
        return self._memo[key]


def required_plan(scenario, run, seed: int, replication: int,
                  progress: Callable[[str], None] | None = None) -> StaffingPlan:
    """The required staffing plan of one replication: the steps of the module docstring."""
    search = _PlanSearch(scenario, run, seed, [replication], progress)
    if _exact_single_queue(scenario, *scenario.agent_model()):
        return search.erlang_only()
    search.measure_load()                       # 1.
    search.erlang_start()                       # 2.
    search.repair("round")                      # 3.
    search.trim()                               # 4.
    recs = search.repair("repair", search=False)
    binding = search.verify()                   # 5.
    plan = StaffingPlan(search.dt, search.agents, binding, search.primary, search.targets,
                        simulations=search.sims)
    return search.finish(plan, recs)


def pooled_plan(scenario, run, seed: int, replications: list[int],
                progress: Callable[[str], None] | None = None) -> tuple[StaffingPlan, list]:
    """The requirement of several replications together (a forecast's history): steps 1 to 3
    of the module docstring on their pooled contacts — the load is their mean, an interval
    misses when the contacts of all of them together miss (the expected service level, not
    one replication's luck). No trim: the search comes from below on a steadier measure.
    Returns the plan (its agents, the channels' pools and targets: what a forecast builds
    on, not judged here) and the last simulation of each replication at the plan (None for
    a queue Erlang models exactly: its plan is the formula's, no simulation)."""
    search = _PlanSearch(scenario, run, seed, list(replications), progress)
    if _exact_single_queue(scenario, *scenario.agent_model()):
        return search.erlang_only(simulate=False), None
    search.measure_load()
    search.erlang_start()
    recs = search.repair("round")
    plan = StaffingPlan(search.dt, search.agents, {p: np.zeros(search.n_int, dtype=bool)
                                                    for p in search.agents},
                        search.primary, search.targets, simulations=search.sims)
    return plan, recs


class _PlanSearch:
    """The state of one staffing search: the plan so far and the facts it is judged by.

    ``agents[pool]``: agents per interval; ``targets[ch]``: the promised share per month;
    ``primary[ch]``: the pool that plans for a channel (the first with it as first skill);
    backlog pools (every channel measured by completion) get one level per month inside
    ``work_window[pool]``, found by bisection between ``lo`` (fails) and ``hi`` (holds).
    """

    def __init__(self, scenario, run, seed: int, replications: list[int], progress):
        self.say = progress or (lambda _msg: None)
        self.scenario, self.run, self.seed, self.replications = scenario, run, seed, replications
        self.channels, self.pools = scenario.agent_model()
        self.st = scenario.staffing
        self.horizon = run.hours * 3600.0
        self.dt = run.interval_minutes * 60.0
        self.n_int = math.ceil(self.horizon / self.dt)
        self.answer_t = {ch: spec.answer_target_seconds for ch, spec in self.channels.items()}
        self.sl_t = {ch: self.st.target(ch) for ch in self.channels}
        reg = scenario.registry
        self.code = {ch: reg.code(ch) for ch in self.channels}
        self.backlog = {ch for ch in self.channels if measured_by_completion(reg.kind(ch))}
        self.primary = {}
        for ch in self.channels:
            firsts = [p for p, spec in self.pools.items() if spec.skills[0] == ch]
            self.primary[ch] = (firsts or [p for p, spec in self.pools.items()
                                           if ch in spec.skills])[0]
        self.month = _months(scenario.start_date, self.dt, self.n_int)
        self.n_months = int(self.month.max()) + 1
        self.formula = _Formula()
        self.sims = 0
        self.agents = {p: np.zeros(self.n_int, dtype=np.int64) for p in self.pools}
        self.targets, self.lam, self.aht = {}, {}, {}
        self.work_window, self.work_floor, self.level, self.lo, self.hi = {}, {}, {}, {}, {}

    def sim(self, agents: dict) -> list[RunRecords]:
        """Every replication of the search with these agents (the same random numbers each
        time: a change of plan is the only change)."""
        self.sims += len(self.replications)
        return simulate_many(self.scenario, self.run, self.seed, self.replications,
                             _steps(agents, self.dt))

    def service(self, recs: list[RunRecords]) -> dict:
        """Per agent channel (offered, within target) per interval, the replications pooled."""
        out = {}
        for rec in recs:
            for ch, (off, ok) in interval_service(rec, self.dt, self.n_int, self.answer_t,
                                                  self.horizon).items():
                o, k = out.get(ch, (0, 0))
                out[ch] = (o + off, k + ok)
        return out

    def finish(self, plan: StaffingPlan, recs=None) -> StaffingPlan:
        """Attach the final simulation (run now if not given; the first replication's) and,
        per channel and interval, whether the target held there (the replications pooled);
        a backlog's promise is kept month by month."""
        if recs is None:
            recs = self.sim(plan.agents)
            plan.simulations += len(recs)
        plan.records = recs[0]
        month, n_months = self.month, self.n_months
        for ch, (off, ok) in self.service(recs).items():
            t = plan.targets[ch][month]
            if ch in self.backlog:
                mo, mk = _per_month(month, off, n_months), _per_month(month, ok, n_months)
                off, ok = np.where(off > 0, mo[month], 0), mk[month]
            plan.meets[ch] = np.where(off > 0, met(off, ok, t).astype(np.int8), -1)
        return plan

    def erlang_only(self, simulate: bool = True) -> StaffingPlan:
        """A stationary single queue: the formula is exact, no simulation (``simulate``: one
        run of the plan to judge it)."""
        (ch, spec), (p, _) = next(iter(self.channels.items())), next(iter(self.pools.items()))
        prof = spec.profile
        n = self.formula(spec.arrivals_per_hour * prof.month[0] * prof.weekday[0] * prof.hour[0],
                         spec.handle.mean_seconds, self.answer_t[ch], self.sl_t[ch],
                         spec.patience_seconds)
        plan = StaffingPlan(self.dt, {p: np.full(self.n_int, n, dtype=np.int64)},
                            {p: np.ones(self.n_int, dtype=bool)}, self.primary,
                            {ch: np.full(self.n_months, self.sl_t[ch])}, method="erlang")
        self.say(f"{ch}: Erlang {'A' if spec.patience_seconds else 'C'} gives {n} agents "
                 "(a stationary single queue: the formula is exact)")
        return self.finish(plan) if simulate else plan

    # 1. ------------------------------------------------------------------ the load
    def measure_load(self) -> None:
        """Offered contacts and work per interval and channel, with ample agents everywhere;
        a backlog's target capped at what ample agents reach in its pool's working hours."""
        self.say("measuring the load with ample agents")
        n_int, month, n_months, dt = self.n_int, self.month, self.n_months, self.dt
        ample = self.sim({p: np.full(n_int, AMPLE, dtype=np.int64) for p in self.pools})
        service = self.service(ample)
        k = len(ample)
        for ch in self.channels:
            cnt, work = self._load(ample, ch)
            self.lam[ch] = cnt / k / dt * 3600.0
            mcnt, mwork = _per_month(month, cnt, n_months), _per_month(month, work, n_months)
            month_aht = np.where(mcnt > 0, mwork / np.maximum(mcnt, 1),
                                 mwork.sum() / max(mcnt.sum(), 1))
            self.aht[ch] = np.where(cnt >= 20, work / np.maximum(cnt, 1), month_aht[month])
        for ch in self.channels:
            self.targets[ch] = np.full(n_months, self.sl_t[ch])
            if ch in self.backlog:
                mo, mk = (_per_month(month, x, n_months) for x in service[ch])
                reach = np.where(mo > 0, mk / np.maximum(mo, 1), 1.0)
                self.targets[ch] = np.minimum(self.targets[ch], np.maximum(reach - 0.02, 0.0))

    def _load(self, recs: list[RunRecords], ch: str) -> tuple[np.ndarray, np.ndarray]:
        """Answered contacts of ``ch`` and their work (handle + wrap-up, seconds) per
        interval of arrival, the replications summed."""
        wrap = self.pools[self.primary[ch]].wrap_up_seconds
        cnt = np.zeros(self.n_int)
        work = np.zeros(self.n_int)
        for rec in recs:
            c = rec.contacts
            m = (c["channel_code"] == self.code[ch]) & ~np.isnan(c["answer_s"])
            j = np.minimum((c["arrival_s"][m] // self.dt).astype(np.int64), self.n_int - 1)
            cnt += np.bincount(j, minlength=self.n_int)
            work += np.bincount(j, weights=c["handle_s"][m] + wrap, minlength=self.n_int)
        return cnt, work

    # 2. ------------------------------------------------------------ the formulas' start
    def erlang_start(self) -> None:
        for p, spec in self.pools.items():
            mine = [ch for ch in self.channels if self.primary[ch] == p]
            live = [ch for ch in mine if ch not in self.backlog]
            if live:
                self._live_start(p, spec, live)
            elif mine:
                self._backlog_start(p, spec, mine)
        for p in self.work_window:
            self.level[p] = np.array([int(self.agents[p][self.month == m].max(initial=0))
                                      for m in range(self.n_months)])
            self.lo[p] = self.work_floor[p].copy()
            self.hi[p] = np.full(self.n_months, -1, dtype=np.int64)
        self.say(f"Erlang start: {_total_hours(self.agents, self.dt):,.0f} agent hours")

    def _live_start(self, p: str, spec, live: list[str]) -> None:
        """Erlang C on the pool's combined load, one agent below it (the search comes from
        below; redials and queues carried over add what hang-ups save)."""
        lam_p = sum(self.lam[ch] for ch in live)
        with np.errstate(invalid="ignore", divide="ignore"):
            aht_p = np.where(lam_p > 0, sum(self.lam[ch] * self.aht[ch] for ch in live) / lam_p,
                             0.0)
        tgt = min(self.answer_t[ch] for ch in live)
        sl = max(self.sl_t[ch] for ch in live)
        for j in np.flatnonzero(lam_p > 0):
            slots = self.formula(float(lam_p[j]), float(aht_p[j]), tgt, sl, None)
            self.agents[p][j] = max(math.ceil(slots / spec.concurrency) - 1, 1)

    def _backlog_start(self, p: str, spec, mine: list[str]) -> None:
        """A backlog pool: one level per month in its working hours (its shifts)."""
        n_int, dt, month, n_months = self.n_int, self.dt, self.month, self.n_months
        win = np.zeros(n_int, dtype=bool)
        for sh in spec.shifts:
            for a, b in windows(self.scenario.start_date, self.horizon, sh.start_hour,
                                sh.end_hour, sh.weekdays):
                win[int(a // dt):int(math.ceil(b / dt))] = True
        if not win.any():
            win[:] = True
        self.work_window[p] = win
        work_h = sum(_per_month(month, self.lam[ch] * self.aht[ch] * dt / 3600.0 / 3600.0,
                                n_months) for ch in mine)
        open_h = _per_month(month, win * dt / 3600.0, n_months)
        need = work_h / np.maximum(open_h, 1e-9) / spec.concurrency
        level = np.ceil(need / 0.85)
        # well below the month's work fails for sure: the lower end of the bisection
        self.work_floor[p] = np.maximum(np.ceil(need) - 2, 0).astype(np.int64)
        self.agents[p] = np.where(win, level[month], 0).astype(np.int64)

    # checks --------------------------------------------------------------------------
    def check(self, recs: list[RunRecords]) -> dict[str, np.ndarray]:
        """Pool → per interval: 0 every channel met its target, 1 one missed, 2 one missed
        by more than ``BINDING_MARGIN`` (backlog months: 1 when missed); replications pooled."""
        month, n_months = self.month, self.n_months
        serv = self.service(recs)
        out = {p: np.zeros(self.n_int, dtype=np.int64) for p in self.pools}
        for ch, (off, ok) in serv.items():
            p = self.primary[ch]
            if ch in self.backlog:
                mo, mk = _per_month(month, off, n_months), _per_month(month, ok, n_months)
                bad = (mo > 0) & (mk < self.targets[ch] * mo - 1e-9)
                where = self.work_window[p] if p in self.work_window else self.agents[p] > 0
                out[p] = np.maximum(out[p], bad[month] & where)
            else:
                t = self.targets[ch][month]
                miss = (off > 0) & ~met(off, ok, t)
                clear = miss & (ok < (t - BINDING_MARGIN) * off - 1e-9)
                out[p] = np.maximum(out[p], miss.astype(np.int64) + clear)
        return out

    def _set_backlog(self, p: str) -> None:
        self.agents[p] = np.where(self.work_window[p], self.level[p][self.month],
                                  0).astype(np.int64)

    def _bisect(self, p: str, bad_month: np.ndarray) -> bool:
        """One bisection step per month; True when every month is settled at its fewest."""
        lo, hi, cur = self.lo, self.hi, self.level[p]
        lo[p] = np.where(bad_month, np.maximum(lo[p], cur), lo[p])
        hi[p] = np.where(~bad_month, cur, hi[p])
        unknown = hi[p] < 0
        nxt = np.where(unknown, np.maximum(2 * lo[p], lo[p] + 1), (lo[p] + hi[p]) // 2)
        nxt = np.where(~unknown & (nxt <= lo[p]), hi[p], nxt)
        settled = ~unknown & (hi[p] - lo[p] <= 1) & (cur == hi[p])
        self.level[p] = np.where(settled, cur, nxt)
        self._set_backlog(p)
        return bool(settled.all())

    # 3. ------------------------------------------------------------ correct by simulation
    def repair(self, label: str, search: bool = True) -> list[RunRecords]:
        """Add an agent where a target is missed until at most ``allowed_misses`` of the
        intervals with contacts miss one (backlog pools: bisect their monthly levels)."""
        agents, pools, windows_ = self.agents, self.pools, self.work_window
        for r in range(self.st.max_rounds):
            recs = self.sim(agents)
            bad = self.check(recs)
            total = sum(int((b > 0).sum()) for p, b in bad.items() if p not in windows_)
            live = sum(int(((agents[p] > 0) | (bad[p] > 0)).sum()) for p in pools
                       if p not in windows_)
            settled = True
            for p in windows_:
                bad_month = _per_month(self.month, bad[p] > 0, self.n_months) > 0
                settled &= self._bisect(p, bad_month) if search else not bad_month.any()
                if not search:
                    self.level[p] += bad_month
                    self._set_backlog(p)
            self.say(f"{label} {r + 1}: {total} of {live} staffed interval(s) below target"
                     + ("" if not windows_ else
                        f"; backlog months {'settled' if settled else 'still searched'}"))
            if total <= self.st.allowed_misses * live and settled:
                return recs
            for p in pools:
                if p not in windows_:
                    agents[p] += bad[p] > 0
        return self.sim(agents)

    def one_fewer(self, phase: int, backlog_too: bool, phases: int = 3):
        """Try one agent fewer in a third of the staffed intervals (backlog pools: every
        month, in phase 0): (tried, broke there, broke clearly there) per pool."""
        trial = {p: a.copy() for p, a in self.agents.items()}
        tried = {}
        for p in self.pools:
            t = (self.agents[p] > 0) & (np.arange(self.n_int) % phases == phase)
            if p in self.work_window:
                t = (self.agents[p] > 0) & (phase == 0) & backlog_too
            tried[p] = t
            trial[p][t] -= 1
        bad = self.check(self.sim(trial))
        broke, clear = {}, {}
        for p in self.pools:
            if p in self.work_window:
                months = np.unique(self.month[(bad[p] > 0) & tried[p]])
                broke[p] = tried[p] & np.isin(self.month, months)
                clear[p] = broke[p]
            else:
                broke[p] = tried[p] & (bad[p] > 0)
                clear[p] = tried[p] & (bad[p] > 1)
        return tried, broke, clear

    # 4. ---------------------------------------------------------------------- trim
    def trim(self) -> None:
        """One agent fewer where the targets still hold there (intervals the start already
        overstaffed); backlog levels are settled by bisection and left alone."""
        for phase in range(3):
            tried, broke, _ = self.one_fewer(phase, backlog_too=False)
            for p in self.pools:
                self.agents[p] -= tried[p] & ~broke[p]
            fewer = sum(int((t & ~b).sum()) for t, b in zip(tried.values(), broke.values()))
            self.say(f"trim {phase + 1}/3: {fewer} interval(s) with one agent fewer")

    # 5. ---------------------------------------------------------------------- verify
    def verify(self) -> dict[str, np.ndarray]:
        """Which staffed intervals break clearly with one agent fewer (not overstaffed)."""
        binding = {p: np.zeros(self.n_int, dtype=bool) for p in self.pools}
        for phase in range(VERIFY_PHASES):
            _, _, clear = self.one_fewer(phase, backlog_too=True, phases=VERIFY_PHASES)
            for p in self.pools:
                binding[p] |= clear[p]
        self.say("verified: " + ", ".join(
            f"{p} {int(binding[p].sum())} of {int((self.agents[p] > 0).sum())} staffed "
            "intervals binding" for p in self.pools))
        return binding


def _total_hours(agents: dict, dt: float) -> float:
    return sum(float(a.sum()) for a in agents.values()) * dt / 3600.0
