"""The compiled engine (``run.engine=fast``, the default) is the SimPy engine (``simpy``, the
reference), contact for contact.

Same scenario, same seed: every column of the contact log and every pool's staffing log
are identical (not close: equal, NaN where NaN) — on the shipped scenarios (customer
journeys included: a month of each, the baseline's whole year), on a required-staffing plan
of fractional agents, on random small centres (hypothesis: fixed handle times give exact
ties in time, three priority classes, pools sharing skills, chat concurrency, no patience,
redials, opening hours), and in the files a user gets (``contacts.parquet``,
``intervals.parquet``). A runaway stops with the same message. The Erlang C/A tests run on
both engines (tests/test_theory.py).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from hydra import compose, initialize_config_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from sim.cli import CONF_DIR, validate_config
from sim.engine.log import TooManyContacts
from sim.engine.model import simulate
from sim.engine.scenario import parse_run, parse_scenario


def _load(name: str, *overrides: str):
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("config", overrides=[f"scenario={name}", *overrides])
    return validate_config(OmegaConf.to_container(cfg, resolve=True))


def _both(scenario, run, seed: int, replication: int = 0, **kw):
    a = simulate(scenario, dataclasses.replace(run, engine="simpy"), seed, replication, **kw)
    b = simulate(scenario, dataclasses.replace(run, engine="fast"), seed, replication, **kw)
    return a, b


def assert_same_records(a, b) -> None:
    assert set(a.contacts) == set(b.contacts)
    n = len(a.contacts["contact_id"])
    assert len(b.contacts["contact_id"]) == n, (n, len(b.contacts["contact_id"]))
    for k, col in a.contacts.items():
        other = b.contacts[k]
        assert col.dtype == other.dtype, k
        if not np.array_equal(col, other, equal_nan=col.dtype.kind == "f"):
            first = int(np.flatnonzero(~((col == other) | (np.isnan(col) & np.isnan(other))
                                         if col.dtype.kind == "f" else col == other))[0])
            raise AssertionError(f"column {k} differs first at contact {first}: "
                                 f"simpy {col[first]!r}, fast {other[first]!r}")
    assert a.staffed.keys() == b.staffed.keys()
    for p in a.staffed:
        for x, y in zip(a.staffed[p], b.staffed[p]):
            np.testing.assert_array_equal(x, y, err_msg=f"staffing log of {p}")
    for f in ("channels", "channel_kinds", "pools", "pool_concurrency", "pool_wrap_seconds",
              "needs", "horizon_seconds", "replication"):
        assert getattr(a, f) == getattr(b, f), f


SHIPPED = [("small_centre", 2000), ("single_queue", 300), ("baseline", 744),
           ("company_x_2020", 744), ("company_x_2021", 744), ("base_2023", 744),
           ("end_open_phone_lines", 744), ("improve_bot", 744), ("support_site_improvement", 744),
           ("guidance_campaign", 744), ("proactive_notifications", 744),
           ("restrict_agent_services", 744), ("roadmap_2023", 744), ("with_email", 744)]


def test_every_shipped_scenario_is_listed():
    shipped = {p.stem for p in (ROOT / "scenarios").glob("*.yaml")}
    assert shipped == {name for name, _ in SHIPPED}


@pytest.mark.parametrize("name, hours", SHIPPED, ids=[n for n, _ in SHIPPED])
def test_shipped_scenarios_contact_for_contact(name, hours):
    sc, run, seed, _ = _load(name, f"run.hours={hours}")
    for rep in ((1,) if sc.has_journeys else (0, 1)):     # replication 0: the files test
        a, b = _both(sc, run, seed, rep)
        assert len(a.contacts["contact_id"]) > 1000
        assert_same_records(a, b)


def test_a_required_staffing_plan_of_fractional_agents():
    sc, run, seed, _ = _load("small_centre", "run.hours=400")
    dt = 1800.0
    n = int(run.hours * 3600 / dt)
    rng = np.random.default_rng(5)
    plan = {p: (np.arange(n) * dt, rng.integers(0, 12, n) + rng.choice([0.0, 0.5], n))
            for p in ("phone_agents", "chat_agents")}
    a, b = _both(sc, run, seed, 0, staffing=plan)
    assert_same_records(a, b)


def _centre(draw_handle, classes, conc, patience, redial, open_from, agents, lam, fixed):
    shares = [1.0 / classes] * classes
    shares[-1] = 1.0 - sum(shares[:-1])
    handle = ({"mean_seconds": draw_handle, "distribution": "fixed"} if fixed else
              {"mean_seconds": draw_handle, "distribution": "lognormal", "cv": 0.9})
    return parse_scenario({
        "name": "random_centre", "start_date": "2024-03-04",
        "channels": {
            "phone": {"arrivals_per_hour": lam, "handle": handle, "patience_seconds": patience,
                      "redial_probability": redial, "redial_delay_seconds": 120.0,
                      "priority_shares": shares,
                      "open_hours": {"start_hour": open_from, "end_hour": 20.0,
                                     "weekdays": [0, 1, 2, 3, 4, 5]}},
            "chat": {"arrivals_per_hour": lam / 2, "handle": {"mean_seconds": 300.0,
                                                             "distribution": "exponential"},
                     "patience_seconds": 200.0},
            "service_request": {"arrivals_per_hour": 2.0,
                                "handle": {"mean_seconds": 600.0, "distribution": "fixed"},
                                "answer_target_seconds": 86400.0},
        },
        "pools": {
            "generalists": {"skills": ["phone", "chat", "service_request"],
                            "wrap_up_seconds": 15.0,
                            "shifts": [{"agents": agents, "start_hour": 7.0, "end_hour": 15.0},
                                       {"agents": agents + 1, "start_hour": 13.0,
                                        "end_hour": 21.0}]},
            "chatters": {"skills": ["chat"] if conc > 1 else ["chat", "phone"], "concurrency": conc,
                         "shifts": [{"agents": 1, "start_hour": 9.0, "end_hour": 17.0}]},
        },
    })


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(handle=st.sampled_from([60.0, 180.0, 420.0]), classes=st.integers(1, 3),
       conc=st.integers(1, 3), patience=st.sampled_from([None, 30.0, 300.0]),
       redial=st.sampled_from([0.0, 0.5, 0.9]), open_from=st.sampled_from([0.0, 8.0]),
       agents=st.integers(0, 6), lam=st.sampled_from([10.0, 60.0]), fixed=st.booleans(),
       seed=st.integers(0, 10_000))
def test_random_centres_contact_for_contact(handle, classes, conc, patience, redial,
                                            open_from, agents, lam, fixed, seed):
    sc = _centre(handle, classes, conc, patience, redial, open_from, agents, lam, fixed)
    a, b = _both(sc, parse_run({"hours": 120}), seed)
    assert_same_records(a, b)


def test_a_runaway_stops_with_the_same_message_on_both_engines():
    sc = _centre(600.0, 1, 1, 5.0, 1.0, 0.0, 0, 400.0, True)  # nobody answers, all redial
    run = parse_run({"hours": 200, "max_contacts": 5000})
    messages = []
    for engine in ("simpy", "fast"):
        with pytest.raises(TooManyContacts) as err:
            simulate(sc, dataclasses.replace(run, engine=engine), 1, 0)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "5,000" in messages[0]


@pytest.mark.slow
def test_the_baseline_year_contact_for_contact():
    sc, run, seed, _ = _load("baseline", "run.hours=8760")
    a, b = _both(sc, run, seed, 0)
    assert len(a.contacts["contact_id"]) > 1_000_000
    assert_same_records(a, b)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["small_centre", "single_queue", "company_x_2021"])
def test_the_files_a_user_gets_are_identical(tmp_path, name):
    """``ccsim`` on both engines, a month (the single queue 200 hours, 40,000 calls; company X
    400 hours): the same contacts.parquet and intervals.parquet.
    (The baseline: its whole year contact for contact above.)"""
    frames = {}
    for engine in ("simpy", "fast"):
        hours = {"single_queue": 200, "company_x_2021": 400}.get(name, 744)   # SimPy: slow
        out = subprocess.run([sys.executable, "-m", "sim.cli", f"scenario={name}",
                              f"run.hours={hours}", "run.replications=2", "run.progress=false",
                              f"run.engine={engine}", f"hydra.run.dir={tmp_path / engine}"],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        frames[engine] = {f: pd.read_parquet(tmp_path / engine / f"{f}.parquet")
                          for f in ("contacts", "intervals")}
    for f in ("contacts", "intervals"):
        assert len(frames["simpy"][f]) > 500
        pd.testing.assert_frame_equal(frames["simpy"][f], frames["fast"][f])


@pytest.mark.parametrize("name, hours", [("small_centre", 400), ("baseline", 300)])
def test_buffers_that_grow_many_times_change_nothing(monkeypatch, name, hours):
    """Every buffer of the compiled engine (contacts, events, staffing log, come-backs,
    answers, the core's output, random numbers) starts nearly empty and grows while running:
    the run stops between events, is enlarged and goes on — the same contacts."""
    import sim.engine.fast as fast

    monkeypatch.setattr(fast, "START_ROWS", 2)
    monkeypatch.setattr(fast, "START_SHARE", 0.0)
    sc, run, seed, _ = _load(name, f"run.hours={hours}")
    a, b = _both(sc, run, seed, 1)
    assert_same_records(a, b)
    sc = _centre(180.0, 2, 2, 60.0, 0.9, 8.0, 1, 60.0, False)     # redials: random buffers
    a, b = _both(sc, parse_run({"hours": 200}), seed)
    assert_same_records(a, b)


def test_journeys_beside_direct_arrivals():
    """A journey scenario whose agent channels also take direct arrivals (drawn by key, as
    every contact of a journey run): the same contacts."""
    sc, run, seed, _ = _load("baseline", "run.hours=300",
                             "+scenario.channels.phone.arrivals_per_hour=20",
                             "+scenario.channels.chat.arrivals_per_hour=5")
    a, b = _both(sc, run, seed, 0)
    assert (a.contacts["customer_id"] < 0).sum() > 1000       # the direct arrivals' contacts
    assert_same_records(a, b)
