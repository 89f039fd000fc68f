"""Reproducibility, directions of effects and mechanisms of the engine."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from conftest import queue_scenario, run_kpis

from analysis.tables import contacts_frame, intervals_frame
from sim.engine.model import simulate
from sim.engine.scenario import parse_run, parse_scenario
from sim.engine.streams import Streams

RUN = parse_run({"hours": 50.0})


def _table(scenario, seed=11, rep=0):
    return contacts_frame(simulate(scenario, RUN, seed, rep), scenario.start_date)


def test_same_seed_identical_tables():
    sc = queue_scenario(300.0, 180.0, 16, 120.0)
    pd.testing.assert_frame_equal(_table(sc), _table(sc))


def test_other_seed_or_replication_differs():
    sc = queue_scenario(300.0, 180.0, 16, 120.0)
    assert not _table(sc).equals(_table(sc, seed=12))
    assert not _table(sc).equals(_table(sc, rep=1))


def test_new_stream_leaves_others_unchanged():
    """Adding a random source (a stream name) never shifts the numbers of another."""
    s = Streams(5, 2)
    before = s.rng("phone.handle").random(5)
    s.rng("brand_new_source").random(1000)
    np.testing.assert_array_equal(before, Streams(5, 2).rng("phone.handle").random(5))
    assert not np.array_equal(before, s.rng("phone.patience").random(5))


def test_common_random_numbers_across_scenarios():
    """More agents change waits, not the arrivals or handle times drawn (same seed)."""
    a, b = _table(queue_scenario(300.0, 180.0, 16, 120.0)), _table(queue_scenario(300.0, 180.0,
                                                                                  20, 120.0))
    np.testing.assert_array_equal(a.arrival_s, b.arrival_s)
    both = a.merge(b, on="contact_id", suffixes=("_a", "_b"))
    served = both.answer_s_a.notna() & both.answer_s_b.notna()
    assert served.sum() > 1000
    np.testing.assert_array_equal(both.handle_s_a[served], both.handle_s_b[served])
    assert (both.wait_s_a > both.wait_s_b + 1e-9).any(), "more agents changed no wait"


def test_more_agents_lower_asa_and_abandonment():
    few = run_kpis(queue_scenario(300.0, 180.0, 15, 120.0), 100, 4)["channels"]["phone"]
    more = run_kpis(queue_scenario(300.0, 180.0, 18, 120.0), 100, 4)["channels"]["phone"]
    assert more["asa_seconds"] < few["asa_seconds"], "more agents → lower ASA"
    assert more["p_abandon"] < few["p_abandon"], "more agents → less abandonment"
    assert more["service_level"] > few["service_level"], "more agents → higher service level"


def test_infinite_servers_never_wait():
    k = run_kpis(queue_scenario(100.0, 180.0, 500, 60.0), 20, 2)["channels"]["phone"]
    assert k["p_wait"] == 0 and k["asa_seconds"] == 0 and k["p_abandon"] == 0


def _centre(**phone):
    base = {"arrivals_per_hour": 60.0, "handle": {"mean_seconds": 240.0},
            "patience_seconds": 60.0, **phone}
    return parse_scenario({"name": "c", "channels": {
        "phone": base, "chat": {"arrivals_per_hour": 40.0, "handle": {"mean_seconds": 300.0},
                                "patience_seconds": 120.0}},
        "pools": {"p": {"skills": ["phone"], "shifts": [{"agents": 3}]},
                  "c": {"skills": ["chat"], "concurrency": 3, "shifts": [{"agents": 2}]}}})


def test_redials_are_new_contacts_of_the_same_need():
    c = _table(_centre(redial_probability=1.0, redial_delay_seconds=60.0))
    phone = c[c.channel == "phone"]
    redials = phone[phone.attempt > 0]
    assert len(redials) > 0
    firsts = phone[phone.attempt == 0].set_index("need_id")
    assert redials.need_id.isin(firsts.index).all()
    assert (firsts.loc[redials.need_id[redials.attempt == 1]].outcome == "abandoned").all()
    none = _table(_centre(redial_probability=0.0))
    assert (none.attempt == 0).all()


def test_priority_class_zero_waits_less():
    c = _table(_centre(priority_shares=[0.3, 0.7]))
    phone = c[(c.channel == "phone") & c.answer_s.notna()]
    w = phone.groupby("priority").wait_s.mean()
    assert w[0] < w[1], f"class 0 should wait less than class 1: {w.to_dict()}"


def test_chat_concurrency_serves_several_chats_per_agent():
    rec = simulate(_centre(), RUN, 3, 0)
    c = contacts_frame(rec, "2023-01-02")
    chat = c[(c.channel == "chat") & c.answer_s.notna()].sort_values("answer_s")
    # at some moment more than 2 chats (agents) are in service at once, never more than 6 slots
    starts, ends = chat.answer_s.to_numpy(), chat.end_s.to_numpy()
    level = [np.sum((starts <= t) & (ends > t)) for t in starts]
    assert max(level) > 2 and max(level) <= 6


def test_closed_channel_contacts_fail_and_shifts_staff_only_open_hours():
    sc = parse_scenario({"name": "o", "channels": {"phone": {
        "arrivals_per_hour": 30.0, "handle": {"mean_seconds": 120.0},
        "open_hours": {"start_hour": 8, "end_hour": 16, "weekdays": [0, 1, 2, 3, 4]}}},
        "pools": {"p": {"skills": ["phone"], "shifts": [
            {"agents": 4, "start_hour": 8, "end_hour": 16, "weekdays": [0, 1, 2, 3, 4]}]}}})
    rec = simulate(sc, parse_run({"hours": 24 * 7}), 1, 0)
    c = contacts_frame(rec, sc.start_date)
    hour, day = c.start.dt.hour, c.start.dt.day_of_week
    open_ = (hour >= 8) & (hour < 16) & (day < 5)
    assert (c.outcome[~open_] == "failed").all() and (c.outcome[open_] != "failed").all()
    iv = intervals_frame(rec, sc.start_date, 3600.0, {"phone": 20.0}, {"p": ("phone",)})
    open_hour = (iv.interval_start.dt.hour >= 8) & (iv.interval_start.dt.hour < 16) \
        & (iv.interval_start.dt.day_of_week < 5)
    assert np.allclose(iv.agents_staffed[open_hour], 4.0)
    # closed: nobody staffed, but for agents finishing a call after 16:00 (overtime)
    overtime = (iv.interval_start.dt.hour == 16) & (iv.interval_start.dt.day_of_week < 5)
    assert np.allclose(iv.agents_staffed[~open_hour & ~overtime], 0.0)
    assert (iv.agents_staffed[overtime] < 1.0).all() and (iv.agents_staffed[overtime] > 0).any()


def test_service_requests_are_worked_only_during_shifts():
    sc = parse_scenario({"name": "b", "channels": {"service_request": {
        "arrivals_per_hour": 2.0, "handle": {"mean_seconds": 600.0},
        "answer_target_seconds": 86400.0}},
        "pools": {"back": {"skills": ["service_request"], "shifts": [
            {"agents": 2, "start_hour": 9, "end_hour": 17, "weekdays": [0, 1, 2, 3, 4]}]}}})
    c = contacts_frame(simulate(sc, parse_run({"hours": 24 * 14}), 1, 0), sc.start_date)
    started = pd.Timestamp(sc.start_date) + pd.to_timedelta(c.answer_s.dropna(), unit="s")
    assert ((started.dt.hour >= 9) & (started.dt.hour < 17) & (started.dt.day_of_week < 5)).all()
    # no patience given: a request waits until worked, or is still open at the end
    assert ((c.outcome == "open") == c.answer_s.isna()).all()


def test_fixed_and_lognormal_handle_times_have_their_mean():
    for dist, cv in (("fixed", 1.0), ("lognormal", 0.5)):
        sc = _centre()
        phone = dataclasses.replace(sc.channels["phone"], handle=dataclasses.replace(
            sc.channels["phone"].handle, distribution=dist, cv=cv))
        sc = dataclasses.replace(sc, channels={**sc.channels, "phone": phone})
        h = _table(sc).query("channel == 'phone'").handle_s.dropna()
        assert abs(h.mean() - 240.0) < 0.06 * 240.0
        if dist == "fixed":
            assert (h == 240.0).all()
        else:
            assert abs(h.std() / h.mean() - cv) < 0.1
