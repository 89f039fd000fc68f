"""Customer journeys: a need goes from channel to channel until it is resolved or given up.

The life of a need (``Journeys._step``), top to bottom:

1. At its time the customer chooses a channel (:meth:`Journeys._choose`, a
   multinomial logit over the channels open to this customer now, see
   :class:`sim.journey_spec.Choice`), or gives up.
2. A digital channel (support site, bot, portal, webshop, API, user admin)
   is settled at once, without SimPy events: resolved with its success rate
   for the intent (times any dated event's factor), else failed. The portal
   first needs a working login. A resolved matter may come back later
   (first-contact resolution below 1) as a new contact of the same need.
3. A failed digital contact is *escalated* when the customer goes on: a bot
   hands over to agent chat when chat is open to the customer (seamless or
   cold), otherwise the customer chooses again, with the failed channel's
   ``after_failure`` preferences; the new contact names the failed one in
   ``escalated_from``. Giving up leaves it *failed*.
4. An agent channel (phone, appointment, chat, service request) becomes an
   arrival in the agent engine (:mod:`sim.queues`) at the contact's time.
   Contacts passed on by the bot or portal take longer; a caller may be
   guided to self-service (a longer call now, registration and a digital lean
   later). An answered contact resolves the need unless it comes back
   (first-contact resolution); an abandoned one redials or returns here
   (another channel, or give up).

Customers learn: the channel where they last succeeded becomes likelier, the
one where they last failed less likely. Needs of one hour are started
together at the top of the hour (their contacts keep their own times), so a
customer's two needs within the same hour do not learn from each other.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from .calendar import open_check
from .distributions import exponential_sampler, uniform_sampler
from .events import At
from .journey_spec import CHANNELS, DIGITAL_CHANNELS, by_intent
from .log import ESCALATED, FAILED, RESOLVED, ContactLog
from .population import build_population, day_index, draw_needs

__all__ = ["Journeys"]

(PHONE, APPOINTMENT, CHAT, SERVICE_REQUEST, BOT, SELFSERVICE, WEBSHOP, SUPPORT_SITE, API,
 USER_ADMIN) = range(len(CHANNELS))
GIVE_UP = -1
PORTAL_LOGIN = (SELFSERVICE, USER_ADMIN)         # need a registered, working login
NEEDS_REGISTRATION = (SELFSERVICE, USER_ADMIN, SERVICE_REQUEST)
DIGITAL = frozenset(CHANNELS.index(c) for c in DIGITAL_CHANNELS)
HOUR = 3600.0


def _seconds_from_start(start_date: str, date: str | None) -> float:
    """Seconds from the scenario start to 00:00 of ``date``; +inf for ``None``."""
    return math.inf if date is None else day_index(start_date, date) * 86400.0


class Journeys:
    """Runs every need of one replication through the channels."""

    def __init__(self, env, scenario, log: ContactLog, queues: dict, pools: dict, streams,
                 horizon_s: float):
        self.env = env
        self.log = log
        self.queues = {CHANNELS.index(n): q for n, q in queues.items()}
        self.s = scenario
        self.intent_names = list(scenario.needs.intents)
        self._tables(scenario, horizon_s)
        pop = build_population(scenario.customers, horizon_s, streams.rng("customers"))
        self.c_seg = pop.segment.tolist()
        self.c_reg = pop.registered.astype(np.int8).tolist()
        self.c_api = pop.api.astype(np.int8).tolist()
        n = len(self.c_seg)
        self.c_ok, self.c_bad, self.c_guided = [-1] * n, [-1] * n, [0] * n
        needs = draw_needs(scenario.needs, scenario.customers, pop, scenario.start_date,
                           horizon_s, streams)
        self.n_customers = n
        self.need_t = needs.time_s.tolist()
        self.need_c = needs.customer.tolist()
        self.need_i = needs.intent.tolist()
        self.n_needs = len(self.need_t)
        self.need_arrays = (needs.customer, needs.intent, pop.segment)
        self._next_need = 0
        self.u_choice = uniform_sampler(streams.rng("journey.choice"))
        self.u_out = uniform_sampler(streams.rng("journey.outcome"))
        self.u_more = uniform_sampler(streams.rng("journey.detail"))
        self.return_delay = exponential_sampler(scenario.needs.return_delay_hours * HOUR,
                                                streams.rng("journey.return_delay"))
        self.switch_delay = exponential_sampler(scenario.needs.switch_delay_seconds,
                                                streams.rng("journey.switch_delay"))
        self._cache: dict = {}
        for q in queues.values():
            q.on_abandon = self._after_abandon
        for p in pools.values():
            p.on_answer = self._after_answer
        if self.need_t:
            At(env, 0.0, self._hour)

    # ---------------------------------------------------------------- tables
    def _tables(self, sc, horizon_s: float) -> None:
        """Per-channel, per-intent and per-day numbers as plain lists for the hot path."""
        intents, ch = self.intent_names, sc.channels
        horizon_days = math.ceil(horizon_s / 86400.0) + 2
        digital = {CHANNELS.index(n): getattr(sc.digital, n) for n in DIGITAL_CHANNELS}
        self.digital = {k: v for k, v in digital.items() if v is not None}
        self.offered = {CHANNELS.index(n) for n in ch} | set(self.digital)
        self.success = {k: [by_intent(d.success, i, 0.5) for i in intents]
                        for k, d in self.digital.items()}
        self.fcr = {k: [by_intent(d.first_contact_resolution, i, 1.0) for i in intents]
                    for k, d in self.digital.items()}
        self.fcr.update({CHANNELS.index(n): [by_intent(c.first_contact_resolution, i, 1.0)
                                             for i in intents] for n, c in ch.items()})
        self.session = {k: d.session_seconds for k, d in self.digital.items()}
        self.esc_factor = {CHANNELS.index(n): c.escalated_handle_factor for n, c in ch.items()}
        self.login_fail = [s.login_failure_probability for s in sc.customers.segments.values()]
        self.scale = {k: [1.0] * horizon_days for k in self.digital}
        self.login_add = [0.0] * horizon_days
        for ev in sc.needs.events:
            a = max(0, day_index(sc.start_date, ev.start_date))
            b = min(horizon_days - 1, day_index(sc.start_date, ev.end_date))
            targets = [CHANNELS.index(c) for c in ev.channels] or list(self.digital)
            for d in range(a, b + 1):
                self.login_add[d] += ev.login_failure_add
                for k in targets:
                    if k in self.scale:
                        self.scale[k][d] *= ev.success_factor
        self.is_open = {CHANNELS.index(n): open_check(c.open_hours, sc.start_date, horizon_s)
                        for n, c in ch.items()}
        phone = ch.get("phone")
        self.phone_until = _seconds_from_start(sc.start_date, phone and phone.open_line_until)
        self.guide_p = phone.guidance_probability if phone else 0.0
        self.guide_from = _seconds_from_start(sc.start_date, phone and phone.guidance_from)
        self.guide_extra = phone.guidance_extra_seconds if phone else 0.0
        chat = ch.get("chat")
        self.chat_login_from = _seconds_from_start(sc.start_date, chat and chat.logged_in_only_from)
        self.max_attempts = sc.choice.max_attempts
        self._availability_tables(horizon_s)

    # ------------------------------------------------------------ the driver
    def _hour(self, ev) -> None:
        """Start every need of the coming hour (each at its own time)."""
        end = self.env._now + HOUR
        t, i = self.need_t, self._next_need
        n = len(t)
        while i < n and t[i] < end:
            self._step(i, t[i], -1, 0, -1)
            i += 1
        self._next_need = i
        if i < n:
            At(self.env, HOUR, self._hour)

    # ------------------------------------------------------------- choosing
    def _available(self, c: int, t: float) -> int:
        """Bit mask of the channels this customer can use at time t."""
        mask = self._time_mask[bisect.bisect_right(self._time_breaks, t) - 1]
        mask &= self._customer_mask[self.c_reg[c] * 2 + self.c_api[c]]
        if t >= self.chat_login_from and not self.c_reg[c]:
            mask &= ~(1 << CHAT)
        return mask

    def _availability_tables(self, horizon_s: float) -> None:
        """Which channels are open when (a step function of time) and to whom."""
        breaks = {0.0}
        for check in self.is_open.values():
            breaks.update(check.edges())
        breaks.update(x for x in (self.phone_until,) if x < math.inf)
        self._time_breaks = sorted(b for b in breaks if b <= horizon_s)
        self._time_mask = []
        for t in self._time_breaks:
            mask = 0
            for k in self.offered:
                closed = k in self.is_open and not self.is_open[k](t)
                if not closed and not (k == PHONE and t >= self.phone_until):
                    mask |= 1 << k
            self._time_mask.append(mask)
        self._customer_mask = []
        for reg in (0, 1):
            for api in (0, 1):
                mask = ~0
                for k in NEEDS_REGISTRATION:
                    if not reg:
                        mask &= ~(1 << k)
                if not api:
                    mask &= ~(1 << API)
                self._customer_mask.append(mask)

    def _choose(self, c: int, intent: int, t: float, prev: int, attempt: int) -> int:
        """A channel code, or GIVE_UP; see :class:`sim.journey_spec.Choice`."""
        if attempt >= self.max_attempts:
            return GIVE_UP
        reg = self.c_reg[c]
        mask = (self._time_mask[bisect.bisect_right(self._time_breaks, t) - 1]
                & self._customer_mask[reg * 2 + self.c_api[c]])
        if not reg and t >= self.chat_login_from:
            mask &= ~(1 << CHAT)
        key = (self.c_seg[c], intent, mask, self.c_ok[c], self.c_bad[c], self.c_guided[c], prev,
               attempt)
        table = self._cache.get(key)
        if table is None:
            table = self._cache[key] = self._choice_table(*key)
        cum, options = table
        return options[bisect.bisect_right(cum, self.u_choice())]

    def _choice_table(self, seg, intent, mask, ok, bad, guided, prev, attempt):
        """Cumulative logit probabilities and the options they select."""
        ch = self.s.choice
        segment = list(self.s.customers.segments.values())[seg]
        it = self.s.needs.intents[self.intent_names[intent]]
        after = ch.after_failure.get(CHANNELS[prev], {}) if prev >= 0 else {}
        options, util = [], []
        for k, name in enumerate(CHANNELS):
            if not mask >> k & 1:
                continue
            like = "phone" if name == "appointment" and ch.appointment_like_phone else name
            u = (ch.channel_constant.get(name, 0.0) + segment.channel_utility.get(like, 0.0)
                 + it.channel_utility.get(like, 0.0)
                 + it.complexity * ch.complexity_utility.get(like, 0.0)
                 + (ch.success_bonus if k == ok else 0.0) - (ch.failure_penalty if k == bad else 0.0)
                 + (ch.guided_digital_bonus if guided and k in DIGITAL else 0.0)
                 + after.get(name, 0.0))
            options.append(k)
            util.append(u)
        if attempt > 0 or not options:
            options.append(GIVE_UP)
            util.append(ch.give_up_utility + ch.give_up_per_attempt * attempt
                        + after.get("give_up", 0.0))
        w = np.exp(np.asarray(util) - max(util))
        cum = (np.cumsum(w) / w.sum())[:-1].tolist()
        return cum, options

    # ---------------------------------------------------------- the journey
    def _step(self, need: int, t: float, prev: int, attempt: int, esc: int) -> None:
        """Go on with ``need`` at time ``t`` (see the module docstring).

        ``prev``: channel that just failed it (-1 if none); ``attempt``: contacts
        so far; ``esc``: a failed digital contact to escalate from (-1 if none).
        """
        c, intent = self.need_c[need], self.need_i[need]
        log = self.log
        while True:
            k = self._choose(c, intent, t, prev, attempt)
            if k == GIVE_UP:
                return
            if esc >= 0:
                log.outcome[esc] = ESCALATED
            if k not in DIGITAL:
                self._to_agent(k, need, c, intent, t, attempt, esc, prev)
                return
            cid, resolved = self._digital(k, need, c, intent, t, attempt, esc)
            t = log.end[cid]
            if resolved:
                self.c_ok[c] = k
                self._maybe_comes_back(k, need, intent, t, attempt + 1)
                return
            self.c_bad[c] = k
            if k == BOT and self._handover(need, c, intent, t, attempt + 1, cid):
                return
            prev, attempt, esc = k, attempt + 1, cid

    def _digital(self, k, need, c, intent, t, attempt, esc) -> tuple[int, bool]:
        """Log one digital contact at time t and settle it: (contact id, resolved?)."""
        day = min(int(t // 86400.0), len(self.login_add) - 1)
        log = self.log
        seg = self.c_seg[c]
        cid = log.add(need, k, attempt, t, math.nan, 0, esc, FAILED, t + self.session[k])
        if k in PORTAL_LOGIN and self.u_more() < self.login_fail[seg] + self.login_add[day]:
            log.reason[cid] = 0                                   # not working (login)
            return cid, False
        if self.u_out() < self.success[k][intent] * self.scale[k][day]:
            log.outcome[cid] = RESOLVED
            if k == WEBSHOP:
                log.target_product[cid] = int(self.u_more() < self.digital[k].target_product_share)
            return cid, True
        if k == SELFSERVICE:
            p = self.digital[k]
            hard = p.hard_to_use_weight / ((p.hard_to_use_weight + p.could_not_find_weight) or 1)
            log.reason[cid] = 1 if self.u_more() < hard else 2
        return cid, False

    def _handover(self, need, c, intent, t, attempt, bot_cid) -> bool:
        """Bot → agent chat when chat is open to the customer; True if handed over."""
        bot = self.digital[BOT]
        if bot.handover == "none" or CHAT not in self.queues:
            return False
        if not self._available(c, t) >> CHAT & 1:
            return False
        self.log.outcome[bot_cid] = ESCALATED
        extra = bot.cold_extra_handle_seconds if bot.handover == "cold" else 0.0
        self._schedule_agent(CHAT, need, c, intent, t, attempt, bot_cid,
                             self.esc_factor[CHAT], extra, 0)
        return True

    def _to_agent(self, k, need, c, intent, t, attempt, esc, prev) -> None:
        """Send the need to an agent channel at time t."""
        scale = self.esc_factor[k] if prev in (BOT, SELFSERVICE) else 1.0
        guided, extra = 0, 0.0
        if k == PHONE and t >= self.guide_from and self.u_more() < self.guide_p:
            guided, extra = 1, self.guide_extra
        self._schedule_agent(k, need, c, intent, t, attempt, esc, scale, extra, guided)

    def _schedule_agent(self, k, need, c, intent, t, attempt, esc, scale, extra, guided):
        At(self.env, max(0.0, t - self.env._now), self.queues[k].arrive_event,
           (need, attempt, (esc, scale, extra, guided)))

    def _maybe_comes_back(self, k, need, intent, t_end, attempt) -> None:
        """A resolved matter comes back later with probability 1 − first-contact resolution."""
        if self.u_more() < 1.0 - self.fcr[k][intent]:
            delay = t_end + self.return_delay() - self.env._now
            At(self.env, max(0.0, delay), self._comes_back, (need, k, attempt))

    def _comes_back(self, ev) -> None:
        need, k, attempt = ev._value
        self.c_bad[self.need_c[need]] = k
        self._step(need, self.env._now, k, attempt, -1)

    # ----------------------------------------------- hooks of the agent engine
    def _after_answer(self, cid: int) -> None:
        """An agent took the contact: the customer learns; guidance; maybe it comes back."""
        log = self.log
        need = log.need[cid]
        if need >= self.n_needs:
            return
        c, k = self.need_c[need], log.channel[cid]
        self.c_ok[c] = k
        if cid in log.guided:
            self.c_guided[c] = 1
            self.c_reg[c] = 1
        self._maybe_comes_back(k, need, self.need_i[need], log.end[cid], log.attempt[cid] + 1)

    def _after_abandon(self, cid: int) -> None:
        """An agent contact abandoned (no redial) or found the channel closed: move on."""
        log = self.log
        need = log.need[cid]
        if need >= self.n_needs:
            return
        k = log.channel[cid]
        self.c_bad[self.need_c[need]] = k
        self._step(need, self.env._now + self.switch_delay(), k, log.attempt[cid] + 1, -1)
