"""The 2023 what-ifs with magnitudes, not only signs (issue 15, item 6).

Each lever's effect on manual contacts, unresolved needs, the company metric and agent
handling hours (answered agent contacts' handle time) is checked against a band derived
from the *base run's own counts* — an analyst's back-of-the-envelope, written out in
``scenarios/README.md`` ("What each lever should do, and how much") — so the simulation
must agree with first-order accounting to within the second-order effects (customers
learning, retries, queues):

* ``improve_bot``: manual contacts fall by about bot sessions × the containment gain ×
  the share of failed bot sessions that go on to an agent (``onward``), plus what the bot
  now in front of chat keeps from the chats not handed over by it: per intent, such chats ×
  (1 − (1 − containment) × ``onward``), containment being the base's plus the gain's share
  for the intent (in proportion to its simplicity);
* ``support_site_improvement``: likewise with support-site visits and its gain;
* ``proactive_notifications``: by about the reduction × manual contacts of billing and
  change needs;
* ``restrict_agent_services``: by most of the manual contacts of user-admin and info
  needs (all of them, less what other needs newly bring);
* ``end_open_phone_lines``: by less than the base's open-line calls, and unresolved needs
  rise;
* ``roadmap_2023``: by at least the largest single lever and at most the sum of all
  (levers overlap: a need resolved by one cannot be resolved again by another).

Hours saved per manual contact saved stay within a band around the base's hours per
manual contact (the contacts removed are neither free nor several times the average).
"""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from analysis.metrics import log_metrics
from analysis.tables import contacts_frame
from sim.cli import CONF_DIR, validate_config
from sim.engine.model import simulate

pytestmark = pytest.mark.slow

AGENT = ("phone", "appointment", "chat", "service_request")
LEVERS = ("end_open_phone_lines", "improve_bot", "guidance_campaign", "support_site_improvement",
          "proactive_notifications", "restrict_agent_services", "roadmap_2023")


def _run(name: str):
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("config", overrides=[f"scenario={name}", "run.hours=1500",
                                           "run.warmup_hours=0"])
    scenario, run, seed, _ = validate_config(OmegaConf.to_container(cfg, resolve=True))
    c = contacts_frame(simulate(scenario, run, seed, 0), scenario.start_date)
    m = log_metrics(c)
    answered = c[c.channel.isin(AGENT) & c.handle_s.notna()]
    c.attrs["scenario"] = scenario
    return c, {"metric": m["online_share_of_contacts"], "manual": m["manual_contacts"],
               "unresolved": m["unresolved_needs"], "hours": answered.handle_s.sum() / 3600}


def _onward_to_agents(c, channel: str) -> tuple[int, float]:
    """(sessions of a digital channel, share of its failed sessions that go on to an agent)."""
    s = c[c.channel == channel]
    failed = s[s.outcome != "resolved"]
    onward = c[c.escalated_from.isin(failed.contact_id)]
    return len(s), float(onward.channel.isin(AGENT).sum() / max(len(failed), 1))


@pytest.fixture(scope="module")
def runs():
    base_c, base = _run("base_2023")
    effects = {}
    for name in LEVERS:
        _, m = _run(name)
        effects[name] = {k: m[k] - base[k] for k in m}
    return base_c, base, effects


def _within(got: float, estimate: float, low: float, high: float, what: str) -> None:
    ratio = got / estimate
    assert low <= ratio <= high, f"{what}: simulated {got:+.0f} against {estimate:+.0f} " \
        f"derived ({ratio:.2f}x; band {low}-{high}x)"


def _kept_by_a_bot_in_front(c, onward: float, gain: float) -> float:
    """Manual contacts the bot keeps when it answers the chats it did not hand over."""
    sc = c.attrs["scenario"]
    intents = sc.needs.intents
    simple = {i: 1.0 - it.complexity for i, it in intents.items()}
    mean_simple = sum(it.share * simple[i] for i, it in intents.items())
    success = sc.digital.bot.success
    bots = c.contact_id[c.channel == "bot"]
    chats = c[(c.channel == "chat") & ~c.escalated_from.isin(bots)]
    kept = 0.0
    for intent, n in chats.intent.astype(str).value_counts().items():
        contained = min(1.0, success.get(intent, success.get("default", 0.5))
                        + gain * simple[intent] / mean_simple)
        kept += n * (1.0 - (1.0 - contained) * onward)
    return kept


def test_a_better_bot_and_support_site_save_what_their_gains_imply(runs):
    base_c, _, fx = runs
    for name, channel, gain in (("improve_bot", "bot", 0.10),
                                ("support_site_improvement", "support_site", 0.10)):
        sessions, onward = _onward_to_agents(base_c, channel)
        estimate = -sessions * gain * onward
        if name == "improve_bot":                 # the bot now answers every chat first
            estimate -= _kept_by_a_bot_in_front(base_c, onward, gain)
        _within(fx[name]["manual"], estimate, 0.5, 1.5, f"{name} manual")
        assert fx[name]["unresolved"] < 0, f"{name}: fewer unresolved needs"
    assert abs(fx["support_site_improvement"]["metric"]) < 0.01, \
        "a better support site moves needs within digital channels"
    assert fx["improve_bot"]["metric"] > 0.01, \
        "every chat now starts as a bot contact, which the company metric counts as digital"


def test_notifications_and_restrictions_remove_their_intents_contacts(runs):
    base_c, _, fx = runs
    manual = base_c[base_c.channel.isin(AGENT)]
    by_intent = manual.intent.value_counts()
    _within(fx["proactive_notifications"]["manual"],
            -0.10 * (by_intent["billing"] + by_intent["change"]), 0.6, 1.5,
            "proactive_notifications manual")
    _within(fx["restrict_agent_services"]["manual"],
            -(by_intent["user_admin"] + by_intent["info"]), 0.6, 1.0,
            "restrict_agent_services manual")
    assert fx["restrict_agent_services"]["unresolved"] > 0, "… some of them are left unresolved"
    assert fx["restrict_agent_services"]["metric"] > 0.05


def test_ending_open_lines_and_the_roadmap(runs):
    base_c, base, fx = runs
    calls = int((base_c.channel == "phone").sum())
    end = fx["end_open_phone_lines"]
    assert -calls < end["manual"] < -0.2 * calls, \
        f"fewer manual contacts, by less than the open-line calls ({calls}): {end['manual']}"
    assert end["unresolved"] > 0.3 * base["unresolved"], "… and clearly more unresolved needs"
    assert end["metric"] > 0.05
    singles = [fx[n]["manual"] for n in LEVERS if n != "roadmap_2023"]
    road = fx["roadmap_2023"]["manual"]
    assert sum(singles) <= road <= min(singles), \
        f"roadmap {road:+.0f} between the largest single lever {min(singles):+.0f} and " \
        f"the sum {sum(singles):+.0f}"


def test_hours_follow_the_contacts_removed(runs):
    _, base, fx = runs
    per_contact = base["hours"] / base["manual"]
    for name in ("end_open_phone_lines", "improve_bot", "support_site_improvement",
                 "proactive_notifications", "restrict_agent_services"):
        _within(fx[name]["hours"], fx[name]["manual"] * per_contact, 0.25, 2.0,
                f"{name} hours")
