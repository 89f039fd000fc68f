"""Invariants that hold for any scenario (hypothesis), and the time-weighted areas."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.areas import area_per_bin, step_area_per_bin
from analysis.tables import contacts_frame, intervals_frame
from sim.engine.model import simulate
from sim.engine.scenario import parse_run, parse_scenario

shift = st.fixed_dictionaries({
    "agents": st.integers(0, 6),
    "start_hour": st.sampled_from([0.0, 6.5, 8.0, 12.0]),
    "end_hour": st.sampled_from([13.0, 16.25, 24.0, 30.0]),
})
channel = st.fixed_dictionaries({
    "arrivals_per_hour": st.floats(0.0, 40.0),
    "handle": st.fixed_dictionaries({
        "mean_seconds": st.floats(30.0, 900.0),
        "distribution": st.sampled_from(["exponential", "lognormal", "fixed"]),
        "cv": st.floats(0.1, 2.0)}),
    "patience_seconds": st.one_of(st.none(), st.floats(5.0, 600.0)),
    "redial_probability": st.floats(0.0, 1.0),
    "redial_delay_seconds": st.floats(0.0, 1200.0),
    "priority_shares": st.sampled_from([[1.0], [0.3, 0.7], [0.2, 0.3, 0.5]]),
    "open_hours": st.sampled_from([{}, {"start_hour": 8.0, "end_hour": 16.0,
                                        "weekdays": [0, 1, 2, 3, 4]}]),
})


@st.composite
def scenarios(draw):
    chans = {"phone": draw(channel), "chat": draw(channel), "service_request": draw(channel)}
    pools = {
        "blended": {"skills": draw(st.sampled_from([["phone", "service_request"],
                                                    ["service_request", "phone"]])),
                    "shifts": draw(st.lists(shift, min_size=1, max_size=3)),
                    "wrap_up_seconds": draw(st.floats(0.0, 60.0))},
        "chat": {"skills": ["chat"], "concurrency": draw(st.integers(1, 4)),
                 "shifts": draw(st.lists(shift, min_size=1, max_size=2))},
    }
    return parse_scenario({"name": "h", "start_date": "2023-03-03", "channels": chans,
                           "pools": pools})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), hours=st.floats(5.0, 60.0), seed=st.integers(0, 2**32))
def test_engine_invariants(scenario, hours, seed):
    rec = simulate(scenario, parse_run({"hours": hours}), seed, 0)
    c = contacts_frame(rec, scenario.start_date)
    # every contact has exactly one of the outcomes; offered = answered + abandoned + waiting
    offered = c[c.outcome != "failed"]
    answered = offered.answer_s.notna()
    assert len(offered) == answered.sum() + (offered.outcome == "abandoned").sum() + \
        (offered.outcome == "open").sum()
    assert ((offered.outcome == "resolved") == answered).all()
    # no negative wait (from the raw times: wait_s itself is clipped at 0); answered contacts
    # start after arriving and end after starting
    abandoned = offered.outcome == "abandoned"
    assert (offered.end_s[abandoned] >= offered.arrival_s[abandoned]).all()
    assert (offered.answer_s[answered] >= offered.arrival_s[answered]).all()
    assert (offered.end_s[answered] >= offered.answer_s[answered]).all()
    # a redial belongs to an earlier need and comes after an abandoned attempt
    _check_redials(c)
    # busy never exceeds staffed, interval by interval, per pool
    channels, pools = scenario.agent_model()
    targets = {n: ch.answer_target_seconds for n, ch in channels.items()}
    skills = {n: p.skills for n, p in pools.items()}
    iv = intervals_frame(rec, scenario.start_date, 1800.0, targets, skills)
    for pool, sk in skills.items():
        rows = iv[iv.channel.isin(sk)]
        busy = rows.groupby("interval_start_s").agents_busy.sum()
        staffed = rows.groupby("interval_start_s").agents_staffed.first()
        assert (busy <= staffed + 1e-9).all(), f"pool {pool}: busy above staffed"


def _check_redials(c) -> None:
    """Each need starts with attempt 0; attempt k > 0 follows attempt k − 1 of the same need,
    which was abandoned, and arrives no earlier than that caller hung up."""
    first = c.groupby("need_id").attempt.min()
    assert (first == 0).all(), "a need without its first attempt"
    assert not c.duplicated(["need_id", "attempt"]).any(), "two contacts of one attempt"
    by = c.set_index(["need_id", "attempt"])
    redials = c[c.attempt > 0]
    if redials.empty:
        return
    before = by.loc[list(zip(redials.need_id, redials.attempt - 1))]
    assert (before.outcome.astype(str).to_numpy() == "abandoned").all(), \
        "a redial after an attempt that was not abandoned"
    assert (redials.arrival_s.to_numpy() >= before.end_s.to_numpy() - 1e-9).all(), \
        "a redial before the caller hung up"
    assert (before.channel.astype(str).to_numpy() == redials.channel.astype(str).to_numpy()).all()


@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 50), st.floats(0, 3)),
                max_size=30),
       st.lists(st.floats(0, 150), min_size=2, max_size=8, unique=True))
def test_area_per_bin_matches_brute_force(spans, edges):
    edges = np.sort(edges)
    starts = np.array([s for s, _, _ in spans])
    ends = starts + np.array([d for _, d, _ in spans])
    weights = np.array([w for _, _, w in spans])
    got = area_per_bin(starts, ends, weights, edges)
    expected = [sum(w * max(0.0, min(e, b) - max(s, a)) for s, e, w in zip(starts, ends, weights))
                for a, b in zip(edges[:-1], edges[1:])]
    np.testing.assert_allclose(got, expected, atol=1e-7)


def test_step_area_per_bin():
    # level 2 on [0, 10), 5 on [10, 30) until 30
    got = step_area_per_bin([0.0, 10.0], [2.0, 5.0], 30.0, [0.0, 5.0, 20.0, 30.0])
    np.testing.assert_allclose(got, [10.0, 10 + 50, 50.0])
