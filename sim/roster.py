"""A roster: interval requirements turned into shifts a roster can fill, by an integer program.

:func:`roster_week` covers one week's requirement of one pool (agents per interval) with
*tours* — one agent working the same shift (start, length, a break in the middle) on a set
of weekdays — at the fewest paid hours:

    minimise   Σ_tour paid_hours(tour) · y_tour
    subject to Σ_tour covers(tour, t) · y_tour ≥ required[t]   for every interval t of the week
               y_tour ∈ {0, 1, 2, …}

The tours are every combination the rules allow (:class:`sim.engine.scenario.RosterRules`):
a start among ``start_hours``, a length among ``shift_hours``, a set of the allowed
``weekdays`` whose hours lie within ``min_weekly_hours`` … ``max_weekly_hours``. A shift of
at least ``break_after_hours`` has a break of ``break_minutes`` in its middle (paid, off the
floor: it does not cover its intervals). ``scipy.optimize.milp`` (HiGHS) solves it; the
lower bound of any roster is the interval sum (required agent-hours), so the gap is
reported beside it.

Pools that share skills are staffed jointly before this step (the required plan of
:mod:`sim.staffing` simulates them together); the roster then fills each pool's own
requirement. :func:`roster_plan` does every week of a plan; nothing here touches files or
pandas (:mod:`analysis.staffing` writes ``roster.csv``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .engine.validate import ConfigError

__all__ = ["Tour", "WeekRoster", "RosterError", "tours", "roster_week", "roster_plan",
           "rostered_agents", "roster_rows", "roster_of"]

WEEK_S = 7 * 86400.0


class RosterError(ConfigError):
    """A requirement the rules cannot cover (names the pool, the interval and the rule): bad
    input, as any invalid setting (exit 2)."""

    def __init__(self, problem: str | list[str], prefix: str = "Invalid configuration"):
        super().__init__([problem] if isinstance(problem, str) else problem, prefix)


@dataclass(frozen=True)
class Tour:
    """One agent's week: ``start_hour`` and ``length_hours`` on each of ``weekdays``."""

    start_hour: float
    length_hours: float
    weekdays: tuple[int, ...]
    break_minutes: float

    @property
    def paid_hours(self) -> float:
        return self.length_hours * len(self.weekdays)


def tours(rules) -> list[Tour]:
    """Every tour the rules allow (start, length, weekdays within the weekly hours)."""
    out = []
    days = tuple(sorted(rules.weekdays))
    for start, length in itertools.product(sorted(rules.start_hours), sorted(rules.shift_hours)):
        if start + length > 24.0:
            continue                          # a shift ends on its own day
        brk = rules.break_minutes if length >= rules.break_after_hours else 0.0
        for k in range(1, len(days) + 1):
            if not rules.min_weekly_hours <= k * length <= rules.max_weekly_hours:
                continue
            out.extend(Tour(start, length, combo, brk) for combo in itertools.combinations(days, k))
    return out


def _coverage(tour_list: list[Tour], interval_s: float, breaks: bool = True) -> np.ndarray:
    """[interval of the week, tour]: 1 where the tour has an agent on the floor (``breaks``
    False: on shift, its break included)."""
    per_day = int(round(86400.0 / interval_s))
    n = 7 * per_day
    cover = np.zeros((n, len(tour_list)), dtype=np.int8)
    for j, t in enumerate(tour_list):
        a = int(round(t.start_hour * 3600.0 / interval_s))
        b = int(round((t.start_hour + t.length_hours) * 3600.0 / interval_s))
        on = np.zeros(per_day, dtype=np.int8)
        on[a:b] = 1
        if breaks and t.break_minutes > 0:
            k = max(1, int(round(t.break_minutes * 60.0 / interval_s)))
            mid = (a + b) // 2 - k // 2
            on[mid:mid + k] = 0
        for d in t.weekdays:
            cover[d * per_day:(d + 1) * per_day, j] = on
    return cover


@dataclass
class WeekRoster:
    """The tours chosen for one week (``agents[j]`` agents work ``tours[j]``) and what they
    put on the floor per interval of the week."""

    tours: list[Tour]
    agents: np.ndarray          # per tour
    on_floor: np.ndarray        # per interval of the week
    paid_hours: float
    lower_bound_hours: float    # the interval sum: required agent-hours
    on_shift: np.ndarray | None = None   # per interval, breaks included (what is paid)


def roster_week(required: np.ndarray, rules, interval_s: float, pool: str = "pool",
                week_label: str = "", tour_list: list[Tour] | None = None,
                cover: np.ndarray | None = None,
                shift_cover: np.ndarray | None = None) -> WeekRoster:
    """The cheapest roster covering ``required`` (agents per interval of a week from Monday
    00:00, ``7 · 24 · 3600 / interval_s`` values)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    tour_list = tours(rules) if tour_list is None else tour_list
    cover = _coverage(tour_list, interval_s) if cover is None else cover
    req = np.asarray(required, dtype=float)
    if len(req) != cover.shape[0]:
        raise ValueError(f"a week has {cover.shape[0]} intervals, got {len(req)}")
    need = req > 0
    hours = interval_s / 3600.0
    lower = float(req.sum() * hours)
    if not need.any():
        zero = np.zeros(len(req), dtype=np.int64)
        return WeekRoster(tour_list, np.zeros(len(tour_list), dtype=np.int64), zero, 0.0, 0.0,
                          zero)
    uncovered = need & (cover.sum(axis=1) == 0)
    if uncovered.any():
        t = int(np.flatnonzero(uncovered)[0])
        per_day = len(req) // 7
        day, minute = divmod(t, per_day)
        raise RosterError(
            f"staffing.rules: pool {pool} needs {req[t]:g} agents {week_label} on weekday "
            f"{day} at {minute * interval_s / 3600.0:05.2f} h, which no allowed shift covers "
            f"(weekdays {list(rules.weekdays)}, start_hours {list(rules.start_hours)}, "
            f"shift_hours {list(rules.shift_hours)}); allowed: rules whose shifts cover every "
            "interval with a requirement")
    rows = np.flatnonzero(need)
    helps = cover[rows].any(axis=0)                         # tours that help at all
    # a tour idle on one of its days (no requirement under its shift there) is dominated by
    # one without that day — tried first: a smaller program; all tours when it cannot cover
    per_day = len(req) // 7
    works = cover.reshape(7, per_day, -1).any(axis=1)
    useful = (cover * need[:, None]).reshape(7, per_day, -1).any(axis=1)
    busy = helps & ~(works & ~useful).any(axis=0)
    cols = np.flatnonzero(busy if (cover[np.ix_(rows, np.flatnonzero(busy))].sum(axis=1) > 0)
                          .all() else helps)
    a = cover[np.ix_(rows, cols)].astype(float)
    cost = np.array([tour_list[j].paid_hours for j in cols])
    res = milp(cost, integrality=np.ones(len(cols)), bounds=Bounds(0, np.inf),
               constraints=LinearConstraint(a, lb=req[rows], ub=np.inf),
               options={"time_limit": 30.0, "mip_rel_gap": 0.02})
    if res.x is None:
        raise RosterError(f"staffing.rules: no roster found for pool {pool} {week_label} "
                          f"({res.message})")
    agents = np.zeros(len(tour_list), dtype=np.int64)
    agents[cols] = np.round(res.x).astype(np.int64)
    on_floor = cover.astype(np.int64) @ agents
    short = on_floor < req - 1e-9
    if short.any():                     # rounding of a solver answer: add where short
        raise RosterError(f"staffing.rules: the roster of pool {pool} {week_label} leaves "
                          f"{int(short.sum())} intervals short")
    paid = float(sum(agents[j] * tour_list[j].paid_hours for j in np.flatnonzero(agents)))
    on_shift = _on_shift(tour_list, interval_s, agents, on_floor, shift_cover)
    return WeekRoster(tour_list, agents, on_floor, paid, lower, on_shift)


def _on_shift(tour_list, interval_s, agents, on_floor, shift_cover=None) -> np.ndarray:
    """Agents on shift per interval, breaks included (what is paid); with no breaks, the
    agents on the floor."""
    if not any(t.break_minutes for t in tour_list):
        return on_floor
    if shift_cover is None:
        shift_cover = _coverage(tour_list, interval_s, breaks=False)
    return shift_cover.astype(np.int64) @ agents


def roster_plan(agents: dict[str, np.ndarray], rules, interval_s: float,
                start_weekday: int) -> dict[str, list[tuple[int, WeekRoster]]]:
    """Every week of a plan (``agents[pool]`` per interval from the run's start, which falls
    on ``start_weekday``, 0 = Monday, at 00:00): per pool, (week number, its roster). The
    first and last weeks are padded with no requirement where the run does not cover them;
    a week whose requirement repeats an earlier one reuses its roster."""
    tour_list = tours(rules)
    if not tour_list:
        raise RosterError("staffing.rules allow no shift (no start, length and weekdays "
                          "within min_weekly_hours … max_weekly_hours); allowed: rules with "
                          "at least one")
    cover = _coverage(tour_list, interval_s)
    shift_cover = _coverage(tour_list, interval_s, breaks=False) \
        if any(t.break_minutes for t in tour_list) else None     # once, not per week
    per_week = cover.shape[0]
    offset = int(round(start_weekday * 86400.0 / interval_s))
    out: dict[str, list[tuple[int, WeekRoster]]] = {}
    for pool, need in agents.items():
        need = np.asarray(need, dtype=np.int64)
        padded = np.concatenate([np.zeros(offset, dtype=np.int64), need])
        weeks = math.ceil(len(padded) / per_week)
        padded = np.concatenate([padded, np.zeros(weeks * per_week - len(padded), np.int64)])
        seen: dict[bytes, WeekRoster] = {}
        rows = []
        for w in range(weeks):
            week = padded[w * per_week:(w + 1) * per_week]
            key = week.tobytes()
            if key not in seen:
                seen[key] = roster_week(week, rules, interval_s, pool, f"in week {w + 1}",
                                        tour_list, cover, shift_cover)
            rows.append((w, seen[key]))
        out[pool] = rows
    return out


def rostered_agents(weeks: list[tuple[int, WeekRoster]], n_intervals: int, interval_s: float,
                    start_weekday: int, on_shift: bool = False) -> np.ndarray:
    """The roster's agents on the floor per interval of the run (the plan's own indexing);
    ``on_shift``: on shift, breaks included (what is paid)."""
    offset = int(round(start_weekday * 86400.0 / interval_s))
    floor = np.concatenate([r.on_shift if on_shift else r.on_floor for _, r in weeks])
    return floor[offset:offset + n_intervals]


def roster_rows(weeks: list[tuple[int, WeekRoster]]):
    """(week, weekday, start hour, length hours, break minutes, agents) per shift worked:
    the tours of each week summed per weekday and shift."""
    out: dict[tuple, int] = {}
    for w, r in weeks:
        for j in np.flatnonzero(r.agents):
            t = r.tours[j]
            for d in t.weekdays:
                key = (w, d, t.start_hour, t.length_hours, t.break_minutes)
                out[key] = out.get(key, 0) + int(r.agents[j])
    return [(*k, n) for k, n in sorted(out.items())]


def roster_of(plan, scenario):
    """A required plan's roster under ``scenario.staffing.rules``: per pool the agents on the
    floor and on shift per interval of the run, and the weeks' rosters."""
    import datetime as dt

    start_weekday = dt.date.fromisoformat(scenario.start_date).weekday()
    n = {p: len(a) for p, a in plan.agents.items()}
    weeks = roster_plan(plan.agents, scenario.staffing.rules, plan.interval_seconds,
                        start_weekday)
    floor = {p: rostered_agents(w, n[p], plan.interval_seconds, start_weekday)
             for p, w in weeks.items()}
    on_shift = {p: rostered_agents(w, n[p], plan.interval_seconds, start_weekday, True)
                for p, w in weeks.items()}
    return floor, on_shift, weeks
