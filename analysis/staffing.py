"""A staffing plan as tables, and what agents cost: paid hours, cost and FTE.

Definitions (``scenario.staffing``, :class:`sim.engine.scenario.Staffing`):

* staffed hours: agents on duty × hours (``agent_hours``, as every run reports);
* **paid hours** = staffed hours / (1 − ``shrinkage``): breaks, training and
  absence are paid but not on the floor;
* **paid cost** = paid hours × the pool's hourly cost (``paid_cost_eur``);
* **FTE** = paid hours per month / ``fte_hours_per_month`` (``fte``: the
  mean over the run's months).

``staffing.parquet`` (:func:`plan_frame`): one row per replication, interval
and pool: ``start`` (timestamp), ``agents``, ``binding`` (one agent fewer
made a target fall clearly short there, :mod:`sim.staffing`), ``offered``
(contacts of the pool's channels arriving in the interval) and
``meets_target`` (every channel of the pool with contacts met its target;
missing when none arrived).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .kpis import per_group_mean_ci

__all__ = ["add_paid", "plan_frame", "roster_frame", "monthly_fte", "monthly_fte_summary",
           "plan_text", "roster_gap", "typical_week", "week_of", "week_rows", "HOURS_PER_MONTH"]

HOURS_PER_MONTH = 8760.0 / 12.0


def add_paid(rep_kpis: dict, staffing, run_hours: float,
             paid_factor: dict[str, float] | None = None) -> dict:
    """Add ``paid_hours``, ``paid_cost_eur`` and ``fte`` to every pool of one replication.
    ``paid_factor[pool]``: a roster's hours on shift per hour on the floor (its breaks)."""
    months = run_hours / HOURS_PER_MONTH
    for name, pool in rep_kpis.get("pools", {}).items():
        factor = (paid_factor or {}).get(name, 1.0)
        paid = pool["agent_hours"] * factor / (1.0 - staffing.shrinkage)
        cost_per_hour = pool["agent_cost_eur"] / pool["agent_hours"] if pool["agent_hours"] else 0
        pool["paid_hours"] = paid
        pool["paid_cost_eur"] = paid * cost_per_hour
        pool["fte"] = paid / months / staffing.fte_hours_per_month
    return rep_kpis


def roster_frame(shifts: dict[str, list[tuple]], start_date: str,
                 replication: int) -> pd.DataFrame:
    """``roster.csv``: per replication, week (its Monday), pool, weekday and shift, the agents
    who work it. ``shifts[pool]``: (week number from the run's first Monday, weekday, start
    hour, length hours, break minutes, agents) as :func:`sim.roster.roster_rows` gives."""
    start = pd.Timestamp(start_date)
    monday = start - pd.Timedelta(days=start.weekday())
    rows = [(replication, (monday + pd.Timedelta(weeks=w)).date().isoformat(), pool, d,
             start_h, length, brk, n)
            for pool, ws in shifts.items() for w, d, start_h, length, brk, n in ws]
    return pd.DataFrame(rows, columns=["replication", "week", "pool", "weekday", "start_hour",
                                       "length_hours", "break_minutes", "agents"])


def plan_frame(plan, start_date: str, replication: int, rostered: dict | None = None,
               on_shift: dict | None = None) -> pd.DataFrame:
    """One row per interval and pool of a :class:`sim.staffing.StaffingPlan` (``agents``:
    required); with a roster, ``rostered`` (on the floor) and ``on_shift`` (paid)."""
    dt = plan.interval_seconds
    frames = []
    for pool, agents in plan.agents.items():
        n = len(agents)
        chans = [ch for ch, p in plan.channel_pool.items() if p == pool]
        offered = np.zeros(n, dtype=np.int64)
        met = np.ones(n, dtype=bool)
        any_offered = np.zeros(n, dtype=bool)
        for ch in chans:
            m = plan.meets.get(ch)
            if m is None:
                continue
            any_offered |= m >= 0
            met &= m != 0
        if plan.records is not None:
            offered = _offered(plan.records, chans, dt, n)
        frames.append(pd.DataFrame({
            "replication": np.full(n, replication, dtype=np.int32),
            "start": np.datetime64(start_date, "ns")
            + (np.arange(n) * dt * 1e9).astype("timedelta64[ns]"),
            "pool": pd.Categorical([pool] * n, categories=list(plan.agents)),
            "agents": agents.astype(np.int32),
            **({"rostered": rostered[pool].astype(np.int32),
                "on_shift": on_shift[pool].astype(np.int32)} if rostered else {}),
            "binding": plan.binding[pool],
            "offered": offered,
            "meets_target": pd.arrays.BooleanArray(met, ~any_offered),
        }))
    return pd.concat(frames, ignore_index=True)


def _offered(records, chans: list[str], dt: float, n: int) -> np.ndarray:
    c = records.contacts
    codes = [records.channels.index(ch) for ch in chans]
    m = np.isin(c["channel_code"], codes) & (c["outcome_code"] != records.outcomes.index("failed"))
    j = np.minimum((c["arrival_s"][m] // dt).astype(np.int64), n - 1)
    return np.bincount(j, minlength=n)


def monthly_fte(frame: pd.DataFrame, staffing, interval_seconds: float) -> pd.DataFrame:
    """Per replication, month and pool: required, staffed (with a roster: rostered on the
    floor) and paid hours (with a roster: on shift, breaks included) and FTE."""
    h = interval_seconds / 3600.0
    rostered = "rostered" in frame.columns
    f = frame.assign(month=frame["start"].dt.strftime("%Y-%m"),
                     required_hours=frame["agents"] * h,
                     staffed_hours=frame["rostered" if rostered else "agents"] * h,
                     paid=frame["on_shift" if rostered else "agents"] * h)
    out = f.groupby(["replication", "month", "pool"], observed=True)[
        ["required_hours", "staffed_hours", "paid"]].sum().reset_index()
    out["paid_hours"] = out.pop("paid") / (1.0 - staffing.shrinkage)
    out["fte"] = out["paid_hours"] / staffing.fte_hours_per_month
    return out


def monthly_fte_summary(months: pd.DataFrame) -> pd.DataFrame:
    """Per month and pool: the mean and 95 % CI half-width over replications of the staffed
    and paid hours and FTE (``staffing_monthly.csv``)."""
    return per_group_mean_ci(months, ["month", "pool"], drop=("replication",))


def plan_text(frame: pd.DataFrame, months: pd.DataFrame, plan) -> str:
    """What ``ccsim-staff`` prints: one line per pool for a flat plan; else per pool the
    mean agents by weekday and hour (replication 0) and FTE per month."""
    flat = plan.flat()
    if flat is not None:
        return "\n".join(
            [f"{', '.join(ch for ch, p in plan.channel_pool.items() if p == pool) or pool}: "
             f"{n} agents" for pool, n in flat.items()] + roster_gap_lines(frame))
    lines = roster_gap_lines(frame)
    f = frame[frame["replication"] == frame["replication"].min()]
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    for pool, g in f.groupby("pool", observed=True):
        chans = ", ".join(ch for ch, p in plan.channel_pool.items() if p == pool)
        grid = (g.assign(day=g["start"].dt.day_of_week, hour=g["start"].dt.hour)
                .groupby(["day", "hour"])["agents"].mean().unstack(fill_value=0.0))
        hours = [h for h in grid.columns if grid[h].max() > 0]
        lines.append(f"{pool} ({chans}): mean agents by weekday and hour")
        if hours:
            lines.append("      " + "".join(f"{h:>5d}" for h in hours))
            for d, row in grid.iterrows():
                if row[hours].max() > 0:
                    lines.append(f"  {days[d]} " + "".join(f"{row[h]:5.1f}" for h in hours))
        m = months[months["pool"] == pool].groupby("month")["fte"].mean()
        lines.append("  FTE per month: " + ", ".join(f"{k}: {v:.1f}" for k, v in m.items()))
    return "\n".join(lines)


def roster_gap(frame: pd.DataFrame) -> pd.DataFrame:
    """Per pool (mean over replications): required agent-hours (the interval sum, the lower
    bound of any roster), rostered hours on shift, and the gap between them."""
    if "on_shift" not in frame.columns:
        return pd.DataFrame()
    per = frame.groupby(["replication", "pool"], observed=True)[["agents", "on_shift"]].sum()
    g = per.groupby("pool", observed=True).mean()
    return pd.DataFrame({"required_agent_intervals": g["agents"],
                         "rostered_agent_intervals": g["on_shift"],
                         "gap": g["on_shift"] / g["agents"].where(g["agents"] > 0) - 1.0})


def roster_gap_lines(frame: pd.DataFrame) -> list[str]:
    gap = roster_gap(frame)
    return [f"roster of {pool}: paid hours {r.gap:+.1%} over the required agent-hours (the "
            "interval sum, the least any roster pays)" for pool, r in gap.iterrows()
            if r.required_agent_intervals > 0]


def typical_week(frame: pd.DataFrame) -> pd.Timestamp | None:
    """The Monday of the run's *typical week*: of the full weeks (Monday to Sunday inside the
    run), the one whose required agent-hours (all pools, the first replication) are the
    median — a lower median for an even count. None for a run shorter than a week."""
    f = frame[frame["replication"] == frame["replication"].min()]
    monday = f["start"].dt.normalize() - pd.to_timedelta(f["start"].dt.day_of_week, unit="D")
    per = f.groupby(monday)["agents"].agg(["sum", "size"])
    full = per[per["size"] == per["size"].max()]
    days = f.groupby(monday)["start"].agg(lambda s: s.dt.normalize().nunique())
    full = full[days.loc[full.index] == 7]
    if full.empty:
        return None
    order = full["sum"].sort_values(kind="stable")
    return pd.Timestamp(order.index[(len(order) - 1) // 2])


def week_of(frame: pd.DataFrame, monday: pd.Timestamp) -> pd.DataFrame:
    """The first replication's rows of the week from ``monday``, with ``hour_of_week``."""
    f = frame[frame["replication"] == frame["replication"].min()]
    f = f[(f["start"] >= monday) & (f["start"] < monday + pd.Timedelta(days=7))]
    return f.assign(hour_of_week=(f["start"] - monday).dt.total_seconds() / 3600.0)


def week_rows(frame: pd.DataFrame, monday: pd.Timestamp) -> pd.DataFrame:
    """Per pool, in the week from ``monday`` and over the run: required agent-hours (the
    interval sum), rostered paid hours (on shift), the gap, and the peak required and
    rostered agents of the week (a roster's run: ``rostered`` and ``on_shift`` columns)."""
    h = (frame["start"].iloc[1] - frame["start"].iloc[0]).total_seconds() / 3600.0 \
        if len(frame) > 1 else 0.5
    week = week_of(frame, monday)
    year = roster_gap(frame)
    out = week.groupby("pool", observed=True).agg(
        required_hours=("agents", "sum"), rostered_hours=("on_shift", "sum"),
        peak_required=("agents", "max"), peak_rostered=("rostered", "max"))
    out[["required_hours", "rostered_hours"]] *= h
    out["gap"] = out["rostered_hours"] / out["required_hours"].where(out["required_hours"] > 0) - 1
    out["year_gap"] = year["gap"].reindex(out.index)
    return out[out["required_hours"] > 0]
