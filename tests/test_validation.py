"""Bad input fails before any simulation, names the key and what is allowed, leaves no kpis.json."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sim.cli import validate_config
from sim.engine.scenario import ConfigError

GOOD_QUEUE = {"arrivals_per_hour": 200.0, "aht_seconds": 180.0, "agents": 14,
              "patience_seconds": None, "answer_target_seconds": 20.0}
GOOD_RUN = {"hours": 10.0, "warmup_hours": 0.0, "replications": 1}


def config(queue=None, run=None, seed=1, **extra):
    return {"scenario": {"name": "x", "queue": {**GOOD_QUEUE, **(queue or {})}},
            "run": {**GOOD_RUN, **(run or {})}, "seed": seed, **extra}


def channels_config(phone=None, pool=None, extra=None):
    """A phone channel and pool; ``extra``: more channels (name → fields), each with a pool."""
    phone = {"arrivals_per_hour": 10.0, "redial_probability": 0.3, **(phone or {})}
    pool = {"skills": ["phone"], "shifts": [{"agents": 3}], **(pool or {})}
    pools = {"a": pool, **{f"p{i}": {"skills": [n]} for i, n in enumerate(extra or {})}}
    return {"scenario": {"name": "c", "channels": {"phone": phone, **(extra or {})},
                         "pools": pools}, "run": GOOD_RUN, "seed": 1}


def problems_of(cfg) -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    return str(info.value)


@pytest.mark.parametrize("cfg, needles", [
    (config(queue={"agents": -3}), ["scenario.queue.agents", "-3", ">= 0"]),
    (config(queue={"arrivals_per_hour": -1.0}), ["scenario.queue.arrivals_per_hour", ">= 0"]),
    (config(queue={"agnts": 3}), ["scenario.queue.agnts", "not a known key", "agents"]),
    (config(queue={"agents": "abc"}), ["scenario.queue.agents", "'abc'", "integer"]),
    (config(queue={"aht_seconds": "fast"}), ["scenario.queue.aht_seconds", "number"]),
    (config(queue={"patience_seconds": 0}), ["scenario.queue.patience_seconds", "> 0"]),
    (config(run={"hours": 0}), ["run.hours", "> 0"]),
    (config(run={"hours": -5}), ["run.hours", "> 0"]),
    (config(run={"warmup_hours": 20}), ["run.warmup_hours", "below run.hours"]),
    (config(run={"replications": 0}), ["run.replications", ">= 1"]),
    (config(run={"speed": 2}), ["run.speed", "not a known key"]),
    (config(seed=-1), ["seed", ">= 0"]),
    (config(seed="x"), ["seed", "integer"]),
    (config(bogus=1), ["bogus", "top-level"]),
    (channels_config(phone={"redial_probability": 1.5}),
     ["scenario.channels.phone.redial_probability", "1.5", "<= 1"]),
    (channels_config(phone={"redial_probability": -0.1}),
     ["scenario.channels.phone.redial_probability", ">= 0"]),
    (channels_config(phone={"priority_shares": [0.5, 0.6]}),
     ["scenario.channels.phone.priority_shares", "summing to 1"]),
    (channels_config(phone={"handle": {"distribution": "gamma"}}),
     ["scenario.channels.phone.handle.distribution", "exponential, lognormal, fixed"]),
    (channels_config(pool={"skills": ["email"]}), ["scenario.pools.a.skills", "email", "phone"]),
    (channels_config(pool={"concurrency": 3}), ["scenario.pools.a.concurrency", "messaging"]),
    (channels_config(extra={"email": {}}), ["scenario.channels.email.kind",
                                            "live, booked, messaging, backlog"]),
    (channels_config(extra={"bot": {}}), ["scenario.channels.bot", "digital channel"]),
    (channels_config(extra={"E-mail": {"kind": "backlog"}}), ["scenario.channels.E-mail",
                                                              "lower-case"]),
    (channels_config(extra={"email": {"kind": "fax"}}), ["scenario.channels.email.kind",
                                                         "live, booked"]),
    (channels_config(pool={"shifts": [{"agents": 2, "start_hour": 16, "end_hour": 8}]}),
     ["scenario.pools.a.shifts[0].end_hour", "after start_hour"]),
    (channels_config(phone={"profile": {"hour": [1.0] * 23}}),
     ["scenario.channels.phone.profile.hour", "24"]),
])
def test_bad_input_names_key_and_allowed(cfg, needles):
    message = problems_of(cfg)
    for needle in needles:
        assert needle in message, f"expected {needle!r} in: {message}"


def test_all_problems_reported_at_once():
    message = problems_of(config(queue={"agents": -1, "aht_seconds": -2.0}, run={"hours": 0}))
    for key in ("scenario.queue.agents", "scenario.queue.aht_seconds", "run.hours"):
        assert key in message


def test_both_or_neither_queue_forms_rejected():
    cfg = config()
    cfg["scenario"]["channels"] = channels_config()["scenario"]["channels"]
    assert "not both" in problems_of(cfg)


def test_channel_without_pool_rejected():
    cfg = channels_config()
    cfg["scenario"]["channels"]["chat"] = {"arrivals_per_hour": 1.0}
    assert "scenario.channels.chat has no pool" in problems_of(cfg)


def test_valid_config_passes():
    scenario, run, seed, _ = validate_config(config())
    assert scenario.queue.agents == 14 and run.hours == 10.0 and seed == 1


def _ccsim(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "sim", "scenario=single_queue", *args,
                           f"hydra.run.dir={tmp_path}"],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, needle", [
    (["scenario.queue.agents=-3"], "scenario.queue.agents"),
    (["scenario.queue.agents=abc"], "scenario.queue.agents"),
    (["+scenario.queue.agnts=3"], "agnts"),
    (["scenario.queue.agnts=3"], "agnts"),
    (["run.hours=0"], "run.hours"),
    (["scenario=no_such_scenario"], "single_queue"),
])
def test_cli_user_error_exits_nonzero_without_traceback_or_kpis(tmp_path, args, needle):
    out = _ccsim(tmp_path / "run", *args)
    assert out.returncode != 0
    assert needle in out.stderr + out.stdout
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "run" / "kpis.json").exists()


def _baseline(change):
    import yaml

    from sim.cli import CONF_DIR
    data = yaml.safe_load(open(f"{CONF_DIR}/scenario/baseline.yaml"))
    change(data)
    return {"scenario": data, "run": GOOD_RUN, "seed": 1}


@pytest.mark.parametrize("change, needles", [
    (lambda d: d["digital"]["bot"]["success"].update(info=1.3),
     ["scenario.digital.bot.success.info", "1.3", "<= 1"]),
    (lambda d: d["digital"]["bot"]["success"].update(weather=0.5),
     ["scenario.digital.bot.success.weather", "not an intent", "billing"]),
    (lambda d: d["customers"]["segments"]["mixed"].update(share=0.6),
     ["scenario.customers.segments", "sum to 1"]),
    (lambda d: d["customers"].update(accounts=-5), ["scenario.customers.accounts", ">= 0"]),
    (lambda d: d["needs"].update(day_factor_cv=-0.1), ["scenario.needs.day_factor_cv", ">= 0"]),
    (lambda d: d["channels"]["chat"].update(logged_in_only_from="2023-13-01"),
     ["scenario.channels.chat.logged_in_only_from", "ISO date"]),
    (lambda d: d["choice"]["after_failure"]["bot"].update(fax=1.0),
     ["scenario.choice.after_failure.bot.fax", "not a channel"]),
    (lambda d: d["digital"]["bot"].update(handover="warm"),
     ["scenario.digital.bot.handover", "seamless, cold, none"]),
    (lambda d: d.pop("choice"), ["customer journeys need all of", "choice"]),
])
def test_bad_journey_input_names_key_and_allowed(change, needles):
    message = problems_of(_baseline(change))
    for needle in needles:
        assert needle in message, f"expected {needle!r} in: {message}"
