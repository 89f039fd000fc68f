"""The lookup tables of customer journeys: built once per scenario and run length, frozen.

Everything the journey core looks up — utilities, success rates, factors per day, when each
channel is open and to whom — and the per-channel facts the agent hand-off needs, as arrays
indexed by the scenario's channel codes (:mod:`sim.engine.channels`). A replication only adds its
customers (:mod:`sim.engine.journey`); the tables of a scenario are shared by its replications.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .calendar import open_check
from .channels import Registry
from .journey_core import CoreParams, CoreTables
from .journey_spec import GIVE_UP, by_intent
from .population import day_index

__all__ = ["JourneyTables", "journey_tables"]

HOUR, DAY = 3600.0, 86400.0
#: digital channels whose roles the journey core knows by name
BOT, PORTAL, WEBSHOP, SUPPORT_SITE, API, USER_ADMIN = ("bot", "selfservice", "webshop",
                                                      "support_site", "api", "user_admin")
#: digital channels that need a working portal login (and registration)
LOGIN_CHANNELS = (PORTAL, USER_ADMIN)
#: a failure in these digital channels passes the matter on: the agent contact is harder
PASSING_ON = (BOT, PORTAL)
#: kinds of agent channel a customer can wait for when closed (a booked one is booked)
WAITABLE = ("live", "messaging")


@dataclass(frozen=True)
class JourneyTables:
    """The core's records and the agent hand-off's per-channel arrays (index = code)."""

    registry: Registry
    params: CoreParams
    tables: CoreTables
    p_back: np.ndarray             # [channel, intent] P(an answered matter comes back)
    esc_factor: np.ndarray         # [channel] handle-time factor of passed-on contacts
    matter_factor: np.ndarray      # [channel, intent] handle-time factor of the matter
    cold_extra_s: float            # extra handle time of a cold bot hand-over
    guide_p: np.ndarray            # [channel] P(an agent guides the customer to self-service)
    guide_from: np.ndarray         # [channel] … from this time (s)
    guide_extra_s: np.ndarray      # [channel] … making the contact this much longer (s)


def _seconds_from_start(start_date: str, date: str | None) -> float:
    """Seconds from the scenario start to 00:00 of ``date``; +inf for ``None``."""
    return math.inf if date is None else day_index(start_date, date) * DAY


_CACHE: dict = {}


def journey_tables(scenario, horizon_s: float) -> JourneyTables:
    """The tables of ``scenario`` for a run of ``horizon_s`` seconds (built once, then reused
    for the scenario's other replications)."""
    hit = _CACHE.get("last")
    if hit is not None and hit[0] is scenario and hit[1] == horizon_s:
        return hit[2]
    built = _build(scenario, horizon_s)
    _CACHE["last"] = (scenario, horizon_s, built)
    return built


def _build(sc, horizon_s: float) -> JourneyTables:
    reg = sc.registry
    intents = list(sc.needs.intents)
    digital = {reg.code(n): getattr(sc.digital, n) for n in reg.digital
               if getattr(sc.digital, n, None) is not None}
    success, fcr, session = _outcomes(sc, reg, digital, intents)
    scale, login_add = _dated_events(sc, reg, digital, horizon_s)
    u0, after, guided_bonus = _utilities(sc, reg, intents)
    offered = {reg.code(n) for n in sc.channels} | set(digital)
    until = np.array([_seconds_from_start(sc.start_date, sc.channels[n].open_line_until)
                      if n in sc.channels else math.inf for n in reg.names])
    breaks, time_mask = _availability(sc, reg, offered, until, horizon_s)
    book_mask, wait_mask, next_open = _openings(reg, breaks, time_mask)
    tables = CoreTables(u0=u0, after=after, guided_bonus=guided_bonus, breaks=breaks,
                        time_mask=time_mask, book_mask=book_mask, wait_mask=wait_mask,
                        next_open=next_open, cust_mask=_customer_masks(sc, reg),
                        success=success, scale=scale,
                        login_fail=np.array([s.login_failure_probability
                                             for s in sc.customers.segments.values()]),
                        login_add=login_add, session=session, fcr=fcr)
    params = _params(sc, reg, digital, horizon_s)
    per = {n: sc.channels.get(n) for n in reg.names}
    guide_from = np.array([_seconds_from_start(sc.start_date, c.guidance_from) if c else math.inf
                           for c in per.values()])
    bot = sc.digital.bot
    return JourneyTables(
        registry=reg, params=params, tables=tables, p_back=1.0 - fcr,
        esc_factor=np.array([c.escalated_handle_factor if c else 1.0 for c in per.values()]),
        matter_factor=_matter_factor(sc, per, intents),
        cold_extra_s=(bot.cold_extra_handle_seconds
                      if bot is not None and bot.handover == "cold" else 0.0),
        guide_p=np.array([c.guidance_probability if c else 0.0 for c in per.values()]),
        guide_from=guide_from,
        guide_extra_s=np.array([c.guidance_extra_seconds if c else 0.0 for c in per.values()]),
    )


def _matter_factor(sc, per: dict, intents: list[str]) -> np.ndarray:
    """[channel, intent]: how much longer (shorter) an agent contact is for the intent's
    complexity: 1 + the channel's ``handle.complexity_factor`` × (complexity − 0.5), ≥ 0.2."""
    cx = np.array([sc.needs.intents[i].complexity for i in intents])
    f = np.array([c.handle.complexity_factor if c else 0.0 for c in per.values()])
    return np.maximum(1.0 + f[:, None] * (cx[None, :] - 0.5), 0.2)


def _outcomes(sc, reg: Registry, digital: dict, intents: list[str]):
    """Digital success, first-contact resolution and session length per channel × intent."""
    n_ch = len(reg)
    success = np.zeros((n_ch, len(intents)))
    fcr = np.ones((n_ch, len(intents)))
    session = np.zeros(n_ch)
    for k, d in digital.items():
        success[k] = [by_intent(d.success, i, 0.5) for i in intents]
        fcr[k] = [by_intent(d.first_contact_resolution, i, 1.0) for i in intents]
        session[k] = d.session_seconds
    for name, c in sc.channels.items():
        fcr[reg.code(name)] = [by_intent(c.first_contact_resolution, i, 1.0) for i in intents]
    simple = _simplicity_weights(sc, intents)
    for name, gain, weights in ((BOT, sc.bot.containment_gain, simple),
                                (SUPPORT_SITE, sc.support_site.found_answer_gain, simple),
                                (PORTAL, sc.guidance_campaign.portal_success_gain, 1.0)):
        k = reg.code(name)
        if k in digital:
            success[k] = np.minimum(success[k] + gain * weights, 1.0)
    return success, fcr, session


def _simplicity_weights(sc, intents: list[str]) -> np.ndarray:
    """[intent]: how a better bot's or support site's gain falls on each intent — in
    proportion to its simplicity (1 − complexity), scaled so that the gain averaged over
    needs is the lever's figure: what a better bot or help content learns first are the
    simple questions (seed 004: simple matters suit digital channels)."""
    it = sc.needs.intents
    simple = np.array([1.0 - it[i].complexity for i in intents])
    mean = float(np.dot([it[i].share for i in intents], simple))
    return simple / mean if mean > 0 else np.ones(len(intents))


def _dated_events(sc, reg: Registry, digital: dict, horizon_s: float):
    """Success factors per channel and day, and extra login failures per day."""
    n_days = math.ceil(horizon_s / DAY) + 2
    scale = np.ones((len(reg), n_days))
    login_add = np.zeros(n_days)
    for ev in sc.needs.events:
        a = max(0, day_index(sc.start_date, ev.start_date))
        b = min(n_days - 1, day_index(sc.start_date, ev.end_date))
        if a > b:
            continue
        login_add[a:b + 1] += ev.login_failure_add
        targets = [reg.code(c) for c in ev.channels] or list(digital)
        scale[targets, a:b + 1] *= ev.success_factor
    return scale, login_add


def _utilities(sc, reg: Registry, intents: list[str]):
    """The static part of the logit utility, per segment × intent × channel; the after-failure
    preferences; the bonus of digital channels after an agent's guidance."""
    ch = sc.choice
    n_ch = len(reg)
    segs = list(sc.customers.segments.values())
    u0 = np.zeros((len(segs), len(intents), n_ch))
    for k, (name, kind) in enumerate(zip(reg.names, reg.kinds)):
        like = "phone" if kind == "booked" and ch.appointment_like_phone else name
        for s, seg in enumerate(segs):
            for i, iname in enumerate(intents):
                it = sc.needs.intents[iname]
                u0[s, i, k] = (ch.channel_constant.get(name, 0.0)
                               + seg.channel_utility.get(like, 0.0)
                               + it.channel_utility.get(like, 0.0)
                               + it.complexity * ch.complexity_utility.get(like, 0.0))
    # after[prev + 1]: row 0 is "nothing failed"; the last column is "give up"
    after = np.zeros((n_ch + 1, n_ch + 1))
    for prev, row in ch.after_failure.items():
        for name, v in row.items():
            after[reg.code(prev) + 1, n_ch if name == GIVE_UP else reg.code(name)] = v
    is_digital = np.array([k == "digital" for k in reg.kinds])
    guided_bonus = np.where(is_digital, ch.guided_digital_bonus, 0.0)
    r = sc.restrict_agent_services          # not served by agents: never chosen there
    for iname in r.intents:
        for name in r.channels or reg.agent:
            u0[:, intents.index(iname), reg.code(name)] = -np.inf
    return u0, after, guided_bonus


def _availability(sc, reg: Registry, offered: set, until: np.ndarray, horizon_s: float):
    """Which channels are open when: (break times s, bit mask of open channels from each)."""
    checks = {reg.code(n): open_check(c.open_hours, sc.start_date, horizon_s)
              for n, c in sc.channels.items()}
    breaks = {0.0} | {x for c in checks.values() for x in c.edges()}
    breaks |= {float(u) for u in until if u < math.inf}
    breaks = np.array(sorted(b for b in breaks if b <= horizon_s + DAY))
    masks = []
    for t in breaks:
        m = 0
        for k in offered:
            if not (k in checks and not checks[k](t)) and not t >= until[k]:
                m |= 1 << k
        masks.append(m)
    return breaks, np.array(masks, dtype=np.int64)


def _openings(reg: Registry, breaks: np.ndarray, time_mask: np.ndarray):
    """From each break: the booked channels that can be booked (they open again later), the
    closed channels of a waitable kind that open again later (bit masks), and when each
    channel opens next ([break, channel] s; inf: never)."""
    n, n_ch = len(breaks), len(reg)
    next_open = np.full((n, n_ch), np.inf)
    for i in range(n - 2, -1, -1):
        opens = time_mask[i + 1] & ~time_mask[i]
        for k in range(n_ch):
            next_open[i, k] = breaks[i + 1] if (opens >> k) & 1 else next_open[i + 1, k]
    later = (next_open < np.inf) @ (1 << np.arange(n_ch, dtype=np.int64))
    booked = sum(1 << k for k, kind in enumerate(reg.kinds) if kind == "booked")
    waitable = sum(1 << k for k, kind in enumerate(reg.kinds) if kind in WAITABLE)
    return (later & booked).astype(np.int64), (later & waitable & ~time_mask).astype(np.int64), \
        next_open


def _customer_masks(sc, reg: Registry) -> np.ndarray:
    """Channels a customer may use, by [registered × 2 + has API]: the portal's channels and
    registered-only agent channels need registration; the API needs an integration."""
    registered_only = sum(1 << reg.code(n) for n in LOGIN_CHANNELS) | sum(
        1 << reg.code(n) for n in sc.channels if sc.registered_only(n))
    api = 1 << reg.code(API)
    full = (1 << len(reg)) - 1
    return np.array([full & ~registered_only & ~api, full & ~registered_only,
                     full & ~api, full], dtype=np.int64)


def _params(sc, reg: Registry, digital: dict, horizon_s: float) -> CoreParams:
    ch = sc.choice
    bot, webshop, portal = (digital.get(reg.code(n)) for n in (BOT, WEBSHOP, PORTAL))
    hard = 1.0
    if portal is not None:
        total = portal.hard_to_use_weight + portal.could_not_find_weight
        hard = portal.hard_to_use_weight / total if total > 0 else 1.0
    target = bot.handover_channel if bot is not None else None
    handover = bot is not None and bot.handover != "none" and target in sc.channels
    handover_u = 0.0 if not handover else (bot.seamless_handover_utility
                                           if bot.handover == "seamless"
                                           else bot.cold_handover_utility)
    per = [sc.channels.get(n) for n in reg.names]
    login_only = np.array([_seconds_from_start(sc.start_date, c.logged_in_only_from)
                           if c is not None else math.inf for c in per])
    return CoreParams(
        success_bonus=float(ch.success_bonus), failure_penalty=float(ch.failure_penalty),
        give_up_utility=float(ch.give_up_utility),
        give_up_per_attempt=float(ch.give_up_per_attempt), max_attempts=int(ch.max_attempts),
        webshop_target_share=webshop.target_product_share if webshop else 1.0,
        hard_to_use_share=hard, return_delay_s=sc.needs.return_delay_hours * HOUR,
        horizon_s=float(horizon_s),
        retry_penalty=float(ch.retry_penalty_per_attempt),
        wait_utility=float(ch.wait_for_opening_utility),
        wait_per_hour=float(ch.wait_utility_per_hour), wait_spread_s=ch.wait_spread_hours * HOUR,
        bot=reg.code(BOT), handover_to=reg.code(target) if handover else -1,
        handover_utility=float(handover_u),
        bot_in_front=bool(handover and bot.in_front),
        webshop=reg.code(WEBSHOP), portal=reg.code(PORTAL),
        passed_on=np.array([n in PASSING_ON for n in reg.names], dtype=np.int8),
        lead_s=np.array([c.lead_time_hours * HOUR if c is not None and k == "booked" else -1.0
                         for c, k in zip(per, reg.kinds)]),
        login_only_from=login_only,
        login_only_first=float(login_only.min(initial=math.inf)),
        needs_login=np.array([n in LOGIN_CHANNELS for n in reg.names], dtype=np.int8),
        is_digital=np.array([k == "digital" for k in reg.kinds]),
    )
