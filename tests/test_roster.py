"""The roster (sim/roster.py): shifts a roster can fill, covering every interval's requirement
with allowed shifts only, at paid hours close to the interval sum."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.roster import RosterError, roster_plan, roster_week, rostered_agents, tours

DT = 1800.0                       # half-hour intervals
PER_DAY = 48


def _rules(**kw):
    base = dict(start_hours=[7.0 + 0.5 * i for i in range(15)], shift_hours=[4.0, 6.0, 8.0],
                break_minutes=30.0, break_after_hours=6.0, weekdays=[0, 1, 2, 3, 4],
                min_weekly_hours=16.0, max_weekly_hours=40.0)
    base.update(kw)
    return SimpleNamespace(**base)


def _week(profile_by_hour: dict[float, int], days=range(5)) -> np.ndarray:
    req = np.zeros(7 * PER_DAY, dtype=np.int64)
    for d in days:
        for hour, n in profile_by_hour.items():
            req[d * PER_DAY + int(hour * 2)] = n
    return req


def test_a_flat_day_is_covered_by_full_time_tours_at_the_lower_bound():
    """Two agents 8–16 Monday to Friday, eight-hour shifts without a break: 8–16 tours whose
    days add up to two agents a day, paid hours equal to the interval sum (80 h)."""
    rules = _rules(shift_hours=[8.0], break_minutes=0.0)
    req = _week({8 + 0.5 * i: 2 for i in range(16)})
    r = roster_week(req, rules, DT)
    chosen = [(t, a) for t, a in zip(r.tours, r.agents) if a]
    assert {(t.start_hour, t.length_hours) for t, _ in chosen} == {(8.0, 8.0)}
    assert sum(a * len(t.weekdays) for t, a in chosen) == 10
    assert r.paid_hours == r.lower_bound_hours == 80.0
    assert (r.on_floor == req).all()


def test_the_roster_covers_every_interval_with_allowed_shifts_only():
    """A peaked, day-varying requirement: every interval covered, every tour allowed by the
    rules (start, length, weekdays, weekly hours, the break in the middle off the floor), and
    paid hours within 15 % of the interval sum."""
    rng = np.random.default_rng(5)
    rules = _rules()
    req = np.zeros(7 * PER_DAY, dtype=np.int64)
    for d in range(5):
        for i in range(16):                         # 8:00–16:00, a morning peak
            req[d * PER_DAY + 16 + i] = max(0, int(round(8 + 6 * np.sin(i / 5) + rng.normal())))
    r = roster_week(req, rules, DT)
    assert (r.on_floor >= req).all()
    for t, a in zip(r.tours, r.agents):
        if not a:
            continue
        assert t.start_hour in rules.start_hours and t.length_hours in rules.shift_hours
        assert set(t.weekdays) <= set(rules.weekdays)
        assert rules.min_weekly_hours <= t.paid_hours <= rules.max_weekly_hours
    assert r.lower_bound_hours <= r.paid_hours <= 1.15 * r.lower_bound_hours, \
        (r.paid_hours, r.lower_bound_hours)
    # a lone eight-hour tour has its half-hour break mid-shift: that interval is off the floor
    one = np.zeros(7 * PER_DAY, dtype=np.int64)
    one[16:32] = 1                                  # Monday 8–16
    lone = roster_week(one, _rules(shift_hours=[8.0], weekdays=[0], min_weekly_hours=8.0), DT)
    assert lone.agents.sum() == 2 and lone.on_floor[16:32].min() >= 1


def test_a_requirement_no_shift_covers_fails_with_the_interval_and_the_rule():
    req = _week({10.0: 3}, days=[5])                # Saturday 10:00
    with pytest.raises(RosterError, match=r"pool phone_agents needs 3 agents .* weekday 5 at "
                                          r"10.00 h, which no allowed shift covers"):
        roster_week(req, _rules(), DT, pool="phone_agents")
    with pytest.raises(RosterError, match="allow no shift"):
        roster_plan({"p": req}, _rules(min_weekly_hours=50.0), DT, 0)
    assert tours(_rules(start_hours=[20.0], shift_hours=[8.0])) == []   # past midnight


def test_a_plan_rostered_week_by_week_from_a_mid_week_start():
    """A run starting on a Wednesday: the first week is padded; the rostered agents on the
    run's own intervals cover the plan everywhere."""
    day = np.zeros(PER_DAY, dtype=np.int64)
    day[16:32] = 3
    weekdays = [2, 3, 4, 5, 6, 0, 1] * 3            # from Wednesday, three weeks
    plan = np.concatenate([day if d < 5 else np.zeros(PER_DAY, np.int64) for d in weekdays])
    weeks = roster_plan({"p": plan}, _rules(), DT, start_weekday=2)["p"]
    assert [w for w, _ in weeks] == [0, 1, 2, 3]
    floor = rostered_agents(weeks, len(plan), DT, start_weekday=2)
    assert len(floor) == len(plan) and (floor >= plan).all()


def test_the_reports_typical_week_is_the_median_full_week_and_its_gap_is_the_rosters():
    """analysis.staffing: of the full Monday-to-Sunday weeks, the one with the median required
    agent-hours (the lower of two; partial weeks at either end left out); its required hours,
    rostered paid hours, gap and peaks; the run's gap beside it."""
    import pandas as pd

    from analysis.staffing import typical_week, week_rows

    start = pd.Timestamp("2023-01-04")             # a Wednesday: the first week is partial
    n = (4 * 7 + 5) * PER_DAY                      # then four full weeks, to Sunday 5 February
    t = pd.Series(start + pd.to_timedelta(np.arange(n) * DT, unit="s"))
    monday = t.dt.normalize() - pd.to_timedelta(t.dt.day_of_week, unit="D")
    level = {pd.Timestamp("2023-01-09"): 3, pd.Timestamp("2023-01-16"): 1,
             pd.Timestamp("2023-01-23"): 2, pd.Timestamp("2023-01-30"): 4}
    office = ((t.dt.hour >= 8) & (t.dt.hour < 16)).to_numpy()
    agents = np.array([level.get(m, 9) for m in monday]) * office
    extra = (t.dt.hour == 8).to_numpy().astype(int)      # one more agent 8:00-9:00 every day
    frame = pd.DataFrame({"replication": 0, "start": t, "pool": "p", "agents": agents,
                          "rostered": agents + extra, "on_shift": agents + extra})
    frame = pd.concat([frame, frame.assign(replication=1)], ignore_index=True)
    week = typical_week(frame)
    assert week == pd.Timestamp("2023-01-23")      # levels 3 1 2 4: the lower median, 2
    row = week_rows(frame, week).loc["p"]
    assert row.required_hours == 2 * 8 * 7
    assert row.rostered_hours == 2 * 8 * 7 + 7
    assert row.gap == pytest.approx(7 / 112)
    assert (row.peak_required, row.peak_rostered) == (2, 3)
    assert row.year_gap == pytest.approx(extra.sum() / agents.sum())
