"""Customer behaviour where the answer depends on it (issue 15): every failure and every closed
channel is followed by a choice of the logit, with named parameters.

* After a failed bot session the customer chooses: the bot's hand-over to chat, phone,
  another digital channel or giving up — in the shares the scenario's utilities give
  (checked against the logit's own probabilities, on the compiled core).
* After abandoning a queue, calling again is one of the options, and the willingness to
  try again falls attempt by attempt (``choice.retry_penalty_per_attempt``).
* A need arising while phone and chat are closed can wait for the opening
  (``choice.wait_for_opening_utility``), book a call, go digital or give up.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import by_when_needs_arose
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from analysis.tables import contacts_frame
from sim.cli import CONF_DIR, validate_config
from sim.engine.journey_core import CustomerState, advance, new_out
from sim.engine.journey_tables import journey_tables
from sim.engine.model import simulate

SMALL = ["scenario.customers.accounts=4000", "scenario.customers.new_accounts_per_year=400",
         "run.hours=336", "run.warmup_hours=0"]
DAY, HOUR = 86400.0, 3600.0


def _scenario(*overrides):
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("config", overrides=["scenario=baseline", *SMALL, *overrides])
    return validate_config(OmegaConf.to_container(cfg, resolve=True))


def _run(*overrides, seed=11):
    scenario, run, _, _ = _scenario(*overrides)
    return contacts_frame(simulate(scenario, run, seed, 0), scenario.start_date)


# ------------------------------------------------------- after a failed bot session
def _after_bot_failure(scenario, n: int, segment: int, intent: int, t: float):
    """What n fresh registered customers do right after a failed bot session at time t:
    (counts per option, the logit's probabilities per option); options are channel names
    and 'give_up'."""
    tab = journey_tables(scenario, 30 * DAY)
    tb, par, reg = tab.tables, tab.params, tab.registry
    bot = reg.code("bot")
    st = CustomerState(segment=np.full(n, segment), registered_from=np.zeros(n),
                       api=np.zeros(n, np.int64), ok=np.full(n, -1), bad=np.full(n, bot),
                       guided=np.zeros(n, np.int64), need_customer=np.arange(n),
                       need_intent=np.full(n, intent))
    out = new_out(n, par.max_attempts)
    need = np.arange(n)
    advance(need, np.full(n, t), np.full(n, bot), np.ones(n, np.int64), np.full(n, -1), 0,
            st, tb, par, 12345, out)
    nd, na = int(out.counts[0]), int(out.counts[1])
    chosen = np.full(n, -1)                       # the first choice: attempt 1
    first_digital = out.d_attempt[:nd] == 1
    chosen[out.d_need[:nd][first_digital]] = out.d_channel[:nd][first_digital]
    first_agent = out.a_req[:na, 2] == 1
    chosen[out.a_req[:na, 1][first_agent]] = out.a_req[:na, 0][first_agent]
    names = list(reg.names) + ["give_up"]
    counts = {nm: int((chosen == (k if nm != "give_up" else -1)).sum())
              for k, nm in enumerate(names)}
    # the logit, from the tables: every option open to a registered customer at t
    i = np.searchsorted(tb.breaks, t, side="right") - 1
    usable = (int(tb.time_mask[i]) | int(tb.book_mask[i])) & int(tb.cust_mask[2])
    u = {}
    for k, nm in enumerate(reg.names):
        if usable >> k & 1 and tb.u0[segment, intent, k] > -math.inf:
            v = tb.u0[segment, intent, k] + tb.after[bot + 1, k]
            if k == bot:
                v -= par.failure_penalty + par.retry_penalty * 1
            if k == par.handover_to:
                v += par.handover_utility
            u[nm] = v
    u["give_up"] = par.give_up_utility + par.give_up_per_attempt + tb.after[bot + 1, len(reg)]
    z = sum(math.exp(v) for v in u.values())
    return counts, {nm: math.exp(v) / z for nm, v in u.items()}


DIGITAL = ("bot", "selfservice", "webshop", "support_site", "api", "user_admin")


def _grouped(d: dict) -> dict:
    """phone (open line or booked), chat, another digital channel, a service request,
    give up."""
    return {"phone": d.get("phone", 0) + d.get("appointment", 0), "chat": d.get("chat", 0),
            "give_up": d.get("give_up", 0), "service_request": d.get("service_request", 0),
            "digital": sum(v for k, v in d.items() if k in DIGITAL)}


@pytest.mark.parametrize("overrides", [
    (),                                                          # cold hand-over (the base)
    ("scenario.digital.bot.handover=seamless",),                 # a more attractive hand-over
    ("scenario.choice.after_failure.bot.phone=2.5",                # the scenario prefers a call
     "scenario.digital.bot.handover=none"),
])
def test_a_failed_bot_session_leads_where_the_scenario_says(overrides):
    scenario, _, _, _ = _scenario(*overrides)
    n = 40_000
    counts, p = _after_bot_failure(scenario, n, segment=1, intent=0, t=DAY + 10 * HOUR)
    got, want = _grouped(counts), _grouped(p)
    assert sum(got.values()) == n
    for option in got:
        sd = math.sqrt(n * want[option] * (1 - want[option])) or 1.0
        assert abs(got[option] - n * want[option]) < 4.5 * sd, (option, got, want)
    assert min(want.values()) * n > 200, f"every way on is taken by some: {want}"


def test_the_hand_over_option_moves_with_its_utility():
    cold, _, _, _ = _scenario()
    seamless, _, _, _ = _scenario("scenario.digital.bot.handover=seamless",
                                  "scenario.digital.bot.seamless_handover_utility=3.5")
    none, _, _, _ = _scenario("scenario.digital.bot.handover=none")
    t = DAY + 10 * HOUR
    shares = [_grouped(_after_bot_failure(s, 20_000, 1, 0, t)[0])["chat"] / 20_000
              for s in (none, cold, seamless)]
    assert shares[0] < shares[1] < shares[2], shares


# ------------------------------------------------------- after abandoning a queue
def _call_again_by_attempt(c) -> dict:
    """Share of abandoned calls whose need's next contact is a call again, by attempt."""
    c = c.sort_values(["need_id", "arrival_s", "contact_id"])
    nxt = c.groupby("need_id").channel.shift(-1).astype(object)
    ab = (c.channel == "phone") & (c.outcome == "abandoned")
    again = nxt[ab].isin(["phone"])
    return {int(a): (float(g.mean()), len(g)) for a, g in again.groupby(c.attempt[ab])}


UNDERSTAFFED = ("scenario.pools.phone_agents.shifts=[{agents: 3, start_hour: 8.0, "
                "end_hour: 16.0, weekdays: [0, 1, 2, 3, 4]}]")


MANY = "scenario.customers.accounts=20000"


def test_calling_again_thins_out_attempt_by_attempt():
    by_attempt = _call_again_by_attempt(_run(UNDERSTAFFED, MANY))
    (p0, n0), (p1, n1), (p2, n2) = (by_attempt[a] for a in range(3))
    assert min(n0, n1, n2) >= 150, by_attempt
    assert p0 > p1 > p2, f"fewer call again at each attempt: {by_attempt}"
    se = math.sqrt(p0 * (1 - p0) / n0 + p2 * (1 - p2) / n2)
    assert p2 < p0 - 3 * se, f"… clearly so over two attempts: {by_attempt}"


def test_calling_again_is_the_customers_choice():
    """No redial outside the choice: with calling again made unattractive, (almost) no
    abandoned call is followed by another call."""
    c = _run(UNDERSTAFFED, MANY, "scenario.choice.after_failure.phone.phone=-30")
    by_attempt = _call_again_by_attempt(c)
    assert sum(n for _, n in by_attempt.values()) > 500
    assert all(p < 0.01 for p, _ in by_attempt.values()), by_attempt


def test_redial_probability_in_journeys_is_refused():
    from sim.cli import validate_config as vc  # noqa: F401  (the same path a user takes)
    with pytest.raises(Exception, match="redial_probability.*choice.after_failure.phone.phone"):
        _scenario("+scenario.channels.phone.redial_probability=0.3")


# ------------------------------------------------------- when phone and chat are closed
def _after_hours(c):
    """(needs arising while phone and chat are closed whose first contact is a call or chat
    at a later opening; the unresolved share of needs arising then; of needs arising in
    opening hours)."""
    c = by_when_needs_arose(c)
    first = c.groupby("need_id").head(1)
    waited = int((first.closed & first.channel.isin(["phone", "chat"])
                  & (first.arrival_s - first.need_arrival_s > 4 * HOUR)).sum())
    last = c.groupby("need_id").tail(1)
    unresolved = last.outcome != "resolved"
    return waited, float(unresolved[last.closed].mean()), float(unresolved[~last.closed].mean())


def test_waiting_for_the_opening_is_a_choice_its_utility_moves():
    low = _after_hours(_run("scenario.choice.wait_for_opening_utility=-3"))
    high = _after_hours(_run("scenario.choice.wait_for_opening_utility=1"))
    assert high[0] > 2 * low[0] + 50, f"more after-hours needs wait for the next opening: " \
        f"{low[0]} → {high[0]}"
    assert high[1] < low[1], f"… and fewer of them end unresolved: {low[1]:.3f} → {high[1]:.3f}"
