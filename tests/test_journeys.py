"""Customer journeys: invariants of the contact log, directions of effects, reproducibility."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from analysis.metrics import log_metrics, validate_log, volumes
from analysis.tables import contacts_frame, intervals_frame
from sim.cli import CONF_DIR, validate_config
from sim.engine.model import simulate

SMALL = ["scenario.customers.accounts=6000", "scenario.customers.new_accounts_per_year=600",
         "run.hours=336", "run.warmup_hours=0"]


@functools.cache
def run_baseline(*overrides: str, seed: int = 5, replication: int = 0):
    """(scenario, records, contacts frame) of a two-week, small-population baseline."""
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("config", overrides=["scenario=baseline", *SMALL, *overrides])
    scenario, run, _, _ = validate_config(OmegaConf.to_container(cfg, resolve=True))
    rec = simulate(scenario, run, seed, replication)
    return scenario, rec, contacts_frame(rec, scenario.start_date)


def test_log_is_valid_and_escalations_point_back():
    _, rec, c = run_baseline()
    log = validate_log(c)           # escalated_from: an earlier contact of the same need
    esc = log[log.escalated_from.notna()]
    parents = log.set_index("contact_id").loc[esc.escalated_from.astype(int)]
    assert (parents.outcome == "escalated").all(), "escalated_from names an escalated contact"
    escalated = log[log.outcome == "escalated"]
    referenced = esc.escalated_from.astype(int).value_counts()
    assert referenced.max() == 1, "a contact is escalated to one channel only"
    assert set(escalated.contact_id) == set(referenced.index), \
        "every escalated contact is named by the contact it was handed to"


def test_each_need_ends_once():
    _, rec, c = run_baseline()
    # every need drawn makes at least one contact (a first choice never gives up while a
    # channel is open, and the support site always is), and no contact has a need not drawn
    assert set(c.need_id) == set(range(rec.needs))
    last = c.sort_values(["need_id", "arrival_s", "contact_id"]).drop_duplicates("need_id",
                                                                               keep="last")
    # a need ends with its last contact: resolved, given up (failed/abandoned) or still open
    assert last.outcome.isin(["resolved", "failed", "abandoned", "open"]).all()
    assert not (last.outcome == "escalated").any(), "an escalation always has a next contact"
    # a contact that failed in a digital channel ends its need (the customer gave up)
    digital_failed = c[(c.outcome == "failed") & ~c.channel.isin(["phone", "chat", "appointment",
                                                                    "service_request"])]
    assert digital_failed.contact_id.isin(last.contact_id).all()


def test_volumes_add_up_between_log_and_intervals():
    scenario, rec, c = run_baseline()
    channels, pools = scenario.agent_model()
    iv = intervals_frame(rec, scenario.start_date, 3600.0,
                         {n: ch.answer_target_seconds for n, ch in channels.items()},
                         {n: p.skills for n, p in pools.items()})
    vol = volumes(validate_log(c))
    kinds = dict(zip(rec.channels, rec.channel_kinds))
    for name, ch in channels.items():
        rows = iv[iv.channel == name].set_index("interval_start_s")
        assert rows.offered.sum() + rows.closed.sum() == vol[name], name
        # binned again here, from the contact table: arrivals per hour, answered, in target
        mine = c[(c.channel == name) & (c.outcome != "failed")]
        hour = (mine.arrival_s // 3600.0) * 3600.0
        offered = mine.groupby(hour).size().reindex(rows.index, fill_value=0)
        assert (offered == rows.offered).all(), name
        answered = mine.answer_s.notna()
        took = (mine.end_s if kinds[name] == "backlog" else mine.answer_s) - mine.arrival_s
        within = (answered & (took <= ch.answer_target_seconds)).groupby(hour).sum()
        assert (within.reindex(rows.index, fill_value=0) == rows.answered_within_target).all()
        assert (rows.answered + rows.abandoned <= rows.offered).all(), name


def test_customers_segments_and_intents_recorded():
    _, _, c = run_baseline()
    assert set(c.segment.dropna().unique()) == {"digital_first", "mixed", "personal"}
    assert c.intent.notna().all()
    assert c.customer_id.nunique() > 1000


def test_reproducible():
    a = run_baseline.__wrapped__(seed=9)[2]
    b = run_baseline.__wrapped__(seed=9)[2]
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("small", [0, 10**9])
def test_agent_contacts_logged_alike_one_by_one_or_in_batches(monkeypatch, small):
    """The SimPy engine's journeys log agent contacts with numpy in batches and one by one
    when few: the two paths must draw the same numbers and write the same rows (as the
    compiled engine's, which logs them one by one)."""
    import sim.engine.journey

    reference = run_baseline.__wrapped__(seed=4)[2]                  # the compiled engine
    monkeypatch.setattr(sim.engine.journey, "SMALL", small)
    pd.testing.assert_frame_equal(run_baseline.__wrapped__("run.engine=simpy", seed=4)[2],
                                  reference)


def _count(c, channel):
    return int((c.channel == channel).sum())


def _bot_to_chat(c) -> int:
    bots = set(c.contact_id[c.channel == "bot"])
    return int(c[c.channel == "chat"].escalated_from.isin(bots).sum())


def test_better_bot_containment_means_fewer_agent_chats():
    better_bot = ("scenario.digital.bot.success.default=0.6",
                  "scenario.digital.bot.success.billing=0.7",
                  "scenario.digital.bot.success.info=0.8",
                  "scenario.digital.bot.success.order=0.7")
    base = [run_baseline(seed=s)[2] for s in (5, 6)]
    better = [run_baseline(*better_bot, seed=s)[2] for s in (5, 6)]
    chats = [sum(_count(c, "chat") for c in runs) for runs in (base, better)]
    handed = [sum(_bot_to_chat(c) for c in runs) for runs in (base, better)]
    assert chats[1] < 0.95 * chats[0], f"higher containment → fewer agent chats: {chats}"
    assert handed[1] < 0.75 * handed[0], f"… fewer bot hand-overs to chat: {handed}"
    assert (better[0][better[0].channel == "bot"].outcome == "resolved").mean() > \
        (base[0][base[0].channel == "bot"].outcome == "resolved").mean()


def test_chat_closed_to_anonymous_users():
    _, _, base = run_baseline()
    _, _, closed = run_baseline("+scenario.channels.chat.logged_in_only_from=2023-01-02")
    assert _count(closed, "chat") < 0.9 * _count(base, "chat"), "logged-in-only chat → fewer chats"
    assert _count(closed, "bot") + _count(closed, "phone") > \
        _count(base, "bot") + _count(base, "phone"), "… and more bot or phone"


def test_phone_by_appointment_only_has_no_open_line_calls():
    _, _, base = run_baseline()
    _, _, appt = run_baseline("+scenario.channels.phone.open_line_until=2023-01-02")
    assert _count(base, "phone") > 0
    assert _count(appt, "phone") == 0, "no open-line calls once phone lines end"
    assert _count(appt, "appointment") > 2 * _count(base, "appointment")


def test_company_metric_differs_from_thesis_metric():
    _, _, c = run_baseline()
    m = log_metrics(validate_log(c))
    assert m["online_share_of_contacts"] > m["online_self_service_share"] + 0.1
    assert 0 < m["digital_resolution_share"] < 1


@pytest.mark.parametrize("cv", [0.0, 0.3])
def test_day_factor_spreads_daily_volume(cv):
    _, rec, c = run_baseline(f"scenario.needs.day_factor_cv={cv}", "scenario.needs.weekday=[1,1,1,1,1,1,1]")
    first = c.drop_duplicates("need_id")          # by when each need arose (a need may wait
    daily = first.groupby(first.need_arrival_s // 86400).size()   # for the phone's opening)
    ratio = daily.std() / daily.mean()
    if cv == 0:
        assert ratio < 0.1
    else:
        assert ratio > 0.2


from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

prob = st.floats(0.0, 1.0)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bot=prob, portal=prob, site=prob, fcr=prob, handover=st.sampled_from(["seamless", "cold",
                                                                          "none"]),
       phone_until=st.sampled_from(["null", "2023-01-05"]),
       chat_login=st.sampled_from(["null", "2023-01-03"]), seed=st.integers(0, 1000))
@example(bot=0.0, portal=0.75, site=0.5, fcr=0.125, handover="none", phone_until="null",
         chat_login="2023-01-03", seed=82)       # a webshop failure whose next step fell after the end
def test_journey_invariants_hold_for_any_parameters(bot, portal, site, fcr, handover, phone_until,
                                                    chat_login, seed):
    overrides = (f"scenario.digital.bot.success.default={bot}",
                 f"scenario.digital.selfservice.success.default={portal}",
                 f"scenario.digital.support_site.success.default={site}",
                 f"scenario.channels.phone.first_contact_resolution.default={fcr}",
                 f"scenario.digital.bot.handover={handover}",
                 f"+scenario.channels.phone.open_line_until={phone_until}",
                 f"+scenario.channels.chat.logged_in_only_from={chat_login}",
                 "scenario.customers.accounts=800", "run.hours=120")
    _, rec, c = run_baseline.__wrapped__(*overrides, seed=seed)
    log = validate_log(c)                                   # escalations point back, same need
    last = log.sort_values(["need_id", "start", "contact_id"]).drop_duplicates("need_id",
                                                                              keep="last")
    assert not (last.outcome == "escalated").any()
    assert (log.arrival_s < 120 * 3600).all(), "no contact starts after the end of the run"
    esc = log[log.escalated_from.notna()]
    assert log.set_index("contact_id").loc[esc.escalated_from.astype(int)].outcome.eq(
        "escalated").all()
    assert esc.escalated_from.is_unique
    if phone_until != "null":
        assert (log[log.channel == "phone"].start < pd.Timestamp(phone_until)).all()
    m = log_metrics(log)
    for k in ("online_share_of_contacts", "online_self_service_share", "digital_resolution_share"):
        assert m[k] != m[k] or 0.0 <= m[k] <= 1.0
    assert m["needs"] <= rec.needs


def test_common_random_numbers_need_by_need():
    """A higher bot constant moves a customer's first need only toward the bot: every
    other first choice is drawn from the same numbers (Gumbel-max, counter-based)."""
    _, _, a = run_baseline("run.hours=500", seed=3)
    _, _, b = run_baseline("run.hours=500", "scenario.choice.channel_constant.bot=0.5", seed=3)
    first = a.drop_duplicates("customer_id").need_id          # before any history
    fa = a.drop_duplicates("need_id").set_index("need_id").channel.loc[first]
    fb = b.drop_duplicates("need_id").set_index("need_id").channel.reindex(first)
    moved = fa != fb
    assert moved.sum() > 50
    assert (fb[moved] == "bot").all() and not (fa[moved] == "bot").any()


def test_counter_based_uniforms_are_uniform_and_distinct():
    from scipy import stats

    from sim.engine.counter_rng import uniform
    u = np.array([uniform(12345, n, a, s) for n in range(2000) for a in range(3) for s in range(4)])
    assert stats.kstest(u, "uniform").pvalue > 0.001
    assert len(np.unique(u)) == len(u)
    assert uniform(1, 5, 0, 0) != uniform(2, 5, 0, 0)
