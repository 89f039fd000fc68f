"""Customer journeys: a need goes from channel to channel until it is resolved or given up.

The life of a need (:func:`sim.journey_core.advance`, then the agent engine),
top to bottom:

1. At its time the customer chooses a channel (``journey_core._choose``, a
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
5. At the end of the run a need may still be open: waiting in a queue, or
   its next step would fall after the end. Its last contact is then
   ``open``; no contact is logged after the end of the run.

Customers learn: the channel where they last succeeded becomes likelier, the
one where they last failed less likely. Needs of one hour (new ones, and
matters coming back) are started together at the top of the hour (their
contacts keep their own times), so a customer's two needs within the same
hour do not learn from each other; likewise a success with an agent counts
from the next top of the hour. Failures (an abandoned call) count at once,
and the customer moves on after ``switch_delay_seconds``.

Agent contacts of a batch are logged together (:meth:`Journeys._to_agents`:
handle time, priority, patience, guidance and whether the matter will come
back are drawn then) and each *enters* its queue at its own time, one SimPy
event; the agent engine does the rest.

Steps 1–3 are the hot path: :func:`sim.journey_core.advance` runs them for a
batch of needs (all of an hour's new needs, or one need that moves on),
compiled with numba; this module owns the state, the SimPy side and the
random streams.
"""

from __future__ import annotations

import heapq
import math
from array import array

import numpy as np

from .calendar import open_check
from .counter_rng import (
    SLOT_AGENT_BACK,
    SLOT_GUIDE,
    SLOT_RETURN_DELAY,
    SLOT_SWITCH_DELAY,
    exponential,
    exponentials,
    uniform,
    uniforms,
)
from .events import At
from .journey_core import N_OUT, advance
from .journey_spec import CHANNELS, DIGITAL_CHANNELS, by_intent
from .log import ESCALATED, ContactLog
from .population import build_population, day_index, draw_needs

__all__ = ["Journeys"]

(PHONE, APPOINTMENT, CHAT, SERVICE_REQUEST, BOT, SELFSERVICE, WEBSHOP, SUPPORT_SITE, API,
 USER_ADMIN) = range(len(CHANNELS))
N_CH = len(CHANNELS)
NEEDS_REGISTRATION = (SELFSERVICE, USER_ADMIN, SERVICE_REQUEST)
IS_DIGITAL = np.array([c in DIGITAL_CHANNELS for c in CHANNELS])
HOUR, DAY = 3600.0, 86400.0
#: New needs (and matters coming back) are started in batches of this many seconds.
BATCH = HOUR
#: Up to this many agent contacts at once are logged one by one (numpy costs more).
SMALL = 8


def _seconds_from_start(start_date: str, date: str | None) -> float:
    """Seconds from the scenario start to 00:00 of ``date``; +inf for ``None``."""
    return math.inf if date is None else day_index(start_date, date) * DAY


class Journeys:
    """Runs every need of one replication through the channels."""

    def __init__(self, env, scenario, log: ContactLog, queues: dict, pools: dict, streams,
                 horizon_s: float):
        self.env = env
        self.log = log
        self.s = scenario
        self.horizon = horizon_s
        self.queues = {CHANNELS.index(n): q for n, q in queues.items()}
        self._enters = [self.queues[k].enter if k in self.queues else None for k in range(N_CH)]
        pop = build_population(scenario.customers, horizon_s, streams.rng("customers"),
                               scenario.guidance_campaign, streams.rng("customers.reminders"))
        self.join_s = pop.join_s
        self.c_seg = pop.segment.astype(np.int64)
        self.c_api = pop.api.astype(np.int64)
        self.c_reg = pop.registered_from.astype(float)     # registered from (s; inf: not)
        n = len(self.c_seg)
        self.c_ok = np.full(n, -1, dtype=np.int64)
        self.c_bad = np.full(n, -1, dtype=np.int64)
        self.c_guided = np.zeros(n, dtype=np.int64)
        needs = draw_needs(scenario.needs, scenario.customers, pop, scenario.start_date,
                           horizon_s, streams, scenario.proactive_notifications)
        self.need_t = needs.time_s
        self.need_c = needs.customer.astype(np.int64)
        self.need_i = needs.intent.astype(np.int64)
        self.n_needs = len(self.need_t)
        self._tables(scenario, horizon_s)
        self._par = self._core_parameters()
        self._p_back = 1.0 - self.fcr                     # P(comes back) per channel, intent
        self._p_back_list = self._p_back.tolist()
        self._esc_list = self.esc_factor.tolist()
        bot = self.digital.get(BOT)
        self._cold_extra = (bot.cold_extra_handle_seconds
                            if bot is not None and bot.handover == "cold" else 0.0)
        self._rng_core = streams.rng("journey.core")
        self._key = int(self._rng_core.integers(0, 2**63, dtype=np.int64))
        self._buffers(4096)
        self._return_mean = scenario.needs.return_delay_hours * HOUR
        self._switch_mean = scenario.needs.switch_delay_seconds
        for q in queues.values():
            q.on_abandon = self._after_abandon
            q.key = self._key
        for p in pools.values():
            p.on_answer = self._after_answer
        self._answered = array("q")   # agent contacts answered since the last choice
        self._returns: dict = {}      # need → come-back delay (s) drawn for its agent contact
        self._next_need = 0
        self._due: list = []          # heap of come-backs: (time, seq, need, channel, attempt)
        self._seq = 0
        self._next_tick = 0.0
        if self.n_needs:
            At(env, 0.0, self._batch)

    # ---------------------------------------------------------------- tables
    def _tables(self, sc, horizon_s: float) -> None:
        """Utilities, success rates, factors per day and availability, as arrays."""
        intents = list(sc.needs.intents)
        ch = sc.channels
        n_days = math.ceil(horizon_s / DAY) + 2
        self.digital = {k: getattr(sc.digital, CHANNELS[k]) for k in range(N_CH)
                        if IS_DIGITAL[k] and getattr(sc.digital, CHANNELS[k]) is not None}
        offered = {CHANNELS.index(n) for n in ch} | set(self.digital)
        self.success = np.zeros((N_CH, len(intents)))
        self.fcr = np.ones((N_CH, len(intents)))
        self.session = np.zeros(N_CH)
        for k, d in self.digital.items():
            self.success[k] = [by_intent(d.success, i, 0.5) for i in intents]
            self.fcr[k] = [by_intent(d.first_contact_resolution, i, 1.0) for i in intents]
            self.session[k] = d.session_seconds
        for name, c in ch.items():
            self.fcr[CHANNELS.index(name)] = [by_intent(c.first_contact_resolution, i, 1.0)
                                              for i in intents]
        for k, gain in ((BOT, sc.bot.containment_gain),
                        (SUPPORT_SITE, sc.support_site.found_answer_gain),
                        (SELFSERVICE, sc.guidance_campaign.portal_success_gain)):
            if k in self.digital:
                self.success[k] = np.minimum(self.success[k] + gain, 1.0)
        self.esc_factor = np.ones(N_CH)
        for n, c in ch.items():
            self.esc_factor[CHANNELS.index(n)] = c.escalated_handle_factor
        self.login_fail = np.array([s.login_failure_probability
                                    for s in sc.customers.segments.values()])
        self.scale = np.ones((N_CH, n_days))
        self.login_add = np.zeros(n_days)
        for ev in sc.needs.events:
            a = max(0, day_index(sc.start_date, ev.start_date))
            b = min(n_days - 1, day_index(sc.start_date, ev.end_date))
            if a > b:
                continue
            self.login_add[a:b + 1] += ev.login_failure_add
            targets = [CHANNELS.index(c) for c in ev.channels] or list(self.digital)
            self.scale[targets, a:b + 1] *= ev.success_factor
        phone, chat = ch.get("phone"), ch.get("chat")
        self.phone_until = _seconds_from_start(sc.start_date, phone and phone.open_line_until)
        self.guide_p = phone.guidance_probability if phone else 0.0
        self.guide_from = _seconds_from_start(sc.start_date, phone and phone.guidance_from)
        self.guide_extra = phone.guidance_extra_seconds if phone else 0.0
        self.chat_login_from = _seconds_from_start(sc.start_date, chat and chat.logged_in_only_from)
        self._utilities(sc, intents)
        self._availability(sc, offered, horizon_s)

    def _utilities(self, sc, intents: list[str]) -> None:
        """The static part of the logit utility, per segment × intent × channel."""
        ch = sc.choice
        segs = list(sc.customers.segments.values())
        self.u0 = np.zeros((len(segs), len(intents), N_CH))
        for k, name in enumerate(CHANNELS):
            like = "phone" if name == "appointment" and ch.appointment_like_phone else name
            for s, seg in enumerate(segs):
                for i, iname in enumerate(intents):
                    it = sc.needs.intents[iname]
                    self.u0[s, i, k] = (ch.channel_constant.get(name, 0.0)
                                        + seg.channel_utility.get(like, 0.0)
                                        + it.channel_utility.get(like, 0.0)
                                        + it.complexity * ch.complexity_utility.get(like, 0.0))
        # after_failure[prev + 1]: row 0 is "nothing failed"; last column is "give up"
        self.after = np.zeros((N_CH + 1, N_CH + 1))
        for prev, row in ch.after_failure.items():
            for name, v in row.items():
                col = N_CH if name == "give_up" else CHANNELS.index(name)
                self.after[CHANNELS.index(prev) + 1, col] = v
        self.guided_bonus = np.where(IS_DIGITAL, ch.guided_digital_bonus, 0.0)
        r = sc.restrict_agent_services          # not served by agents: never chosen there
        for iname in r.intents:
            for name in r.channels:
                self.u0[:, intents.index(iname), CHANNELS.index(name)] = -np.inf

    def _availability(self, sc, offered: set, horizon_s: float) -> None:
        """Which channels are open when (a step function of time) and to whom (bit masks)."""
        checks = {CHANNELS.index(n): open_check(c.open_hours, sc.start_date, horizon_s)
                  for n, c in sc.channels.items()}
        breaks = {0.0} | {x for c in checks.values() for x in c.edges()}
        if self.phone_until < math.inf:
            breaks.add(self.phone_until)
        self._breaks = np.array(sorted(b for b in breaks if b <= horizon_s + DAY))
        masks = []
        for t in self._breaks:
            m = 0
            for k in offered:
                if not (k in checks and not checks[k](t)) and not (k == PHONE and t >= self.phone_until):
                    m |= 1 << k
            masks.append(m)
        self._time_mask = np.array(masks, dtype=np.int64)
        registered_only = sum(1 << k for k in NEEDS_REGISTRATION)
        full = (1 << N_CH) - 1
        self._customer_mask = np.array([full & ~registered_only & ~(1 << API),
                                        full & ~registered_only,
                                        full & ~(1 << API), full], dtype=np.int64)

    def _core_parameters(self) -> np.ndarray:
        ch, bot = self.s.choice, self.digital.get(BOT)
        webshop, portal = self.digital.get(WEBSHOP), self.digital.get(SELFSERVICE)
        hard = 1.0
        if portal is not None:
            total = portal.hard_to_use_weight + portal.could_not_find_weight
            hard = portal.hard_to_use_weight / total if total > 0 else 1.0
        handover = bot is not None and bot.handover != "none" and CHAT in self.queues
        appointment = self.s.channels.get("appointment")
        return np.array([ch.success_bonus, ch.failure_penalty, ch.give_up_utility,
                         ch.give_up_per_attempt, ch.max_attempts, self.chat_login_from,
                         webshop.target_product_share if webshop else 1.0, hard,
                         1.0 if handover else 0.0,
                         self.s.needs.return_delay_hours * HOUR, self.horizon,
                         appointment.lead_time_hours * HOUR if appointment else 0.0])

    def _buffers(self, capacity: int) -> None:
        """Output buffers of the compiled core, for batches of up to ``capacity`` needs."""
        rows = capacity * (self.s.choice.max_attempts + 1)
        self._cap = capacity
        self._d = (np.empty(rows, np.int64), np.empty(rows, np.int64), np.empty(rows, np.int64),
                   np.empty(rows), np.empty(rows), np.empty(rows, np.int64),
                   np.empty(rows, np.int64), np.empty(rows, np.int64), np.empty(rows, np.int64))
        self._a = (np.empty((capacity, 6), np.int64), np.empty(capacity))
        self._b = (np.empty((capacity, 3), np.int64), np.empty(capacity))
        self._marks = np.empty(capacity, np.int64)
        self._counts = np.zeros(N_OUT, np.int64)

    # ------------------------------------------------------------ the driver
    def _batch(self, ev) -> None:
        """Start every need of the coming batch (an hour), and every come-back due in it.

        Each contact keeps its own time; what customers learned is taken as it
        stands at the start of the batch.
        """
        now = self.env._now
        end = now + BATCH
        self._learn()
        a = self._next_need
        b = int(np.searchsorted(self.need_t, end, side="left"))
        back = []
        while self._due and self._due[0][0] < end:
            t, _, need, k, attempt = heapq.heappop(self._due)
            back.append((need, max(t, now), k, attempt))
        n = b - a + len(back)
        if n:
            need = np.concatenate([np.arange(a, b), [x[0] for x in back]]).astype(np.int64)
            t = np.concatenate([self.need_t[a:b], [x[1] for x in back]])
            prev = np.concatenate([np.full(b - a, -1), [x[2] for x in back]]).astype(np.int64)
            attempt = np.concatenate([np.zeros(b - a), [x[3] for x in back]]).astype(np.int64)
            if back:
                self.c_bad[self.need_c[need[b - a:]]] = prev[b - a:]
            self._run(need, t, prev, attempt, np.full(n, -1))
        self._next_need = b
        self._next_tick = end
        if b < self.n_needs or self._due or end < self.horizon:
            At(self.env, BATCH, self._batch)

    def _come_back(self, t: float, need: int, k: int, attempt: int) -> None:
        """A matter that was not really resolved comes back at time t."""
        if t < self._next_tick:
            At(self.env, max(0.0, t - self.env._now), self._comes_back, (need, k, attempt))
        else:
            self._seq += 1
            heapq.heappush(self._due, (t, self._seq, need, k, attempt))

    def _go_on(self, need: int, t: float, prev: int, attempt: int) -> None:
        """One need goes on at time t (it came back, or its customer moves on)."""
        self._run(np.array([need]), np.array([t]), np.array([prev]), np.array([attempt]),
                  np.array([-1]))

    def _run(self, need, t, prev, attempt, esc) -> None:
        """Run a batch through :func:`sim.journey_core.advance`, then act on its outputs."""
        n = len(need)
        if n > self._cap:
            self._buffers(n)
        log = self.log
        base = len(log)
        d, (a_req, a_t), (b_req, b_t), counts = self._d, self._a, self._b, self._counts
        advance(need, t, prev, attempt, esc, base,
                self.c_seg, self.c_reg, self.c_api, self.c_ok, self.c_bad, self.c_guided,
                self.need_c, self.need_i, self.u0, self.after, self.guided_bonus, self._par,
                self._breaks, self._time_mask, self._customer_mask, self.success, self.scale,
                self.login_fail, self.login_add, self.session, self.fcr, IS_DIGITAL,
                self._key, *d, a_req, a_t, b_req, b_t, self._marks, counts)
        nd, na, nb, nm = (int(x) for x in counts)
        if nd:
            log.extend(need=d[0][:nd], channel=d[1][:nd], attempt=d[2][:nd], t=d[3][:nd],
                       end=d[4][:nd], escalated_from=d[5][:nd], outcome=d[6][:nd])
            for row in np.flatnonzero(d[7][:nd] >= 0).tolist():
                log.target_product[base + row] = int(d[7][row])
            for row in np.flatnonzero(d[8][:nd] >= 0).tolist():
                log.reason[base + row] = int(d[8][row])
        for cid in self._marks[:nm].tolist():
            log.outcome[cid] = ESCALATED
        if na:
            self._to_agents(a_req[:na], a_t[:na])
        for (nd_, k, at), tt in zip(b_req[:nb].tolist(), b_t[:nb].tolist()):
            self._come_back(tt, nd_, k, at)

    def _to_agents(self, req: np.ndarray, t: np.ndarray) -> None:
        """Log a batch's agent contacts (``req`` rows: channel, need, attempt,
        escalated_from, failed channel, bot hand-over) and let each arrive at its time t.

        Handle time, priority and patience are counter-based draws of the contact
        (:meth:`sim.queues.ChannelQueue.draw_keyed`); contacts passed on by the bot or
        the portal take ``escalated_handle_factor`` times longer (a cold bot
        hand-over adds its extra seconds); a phone caller may be guided to
        self-service; whether the matter comes back if an agent answers it is
        drawn here too (kept per need, so a redial uses it).
        """
        if len(t) <= SMALL:                         # numpy costs more than it saves here
            for tt, row in sorted(zip(t.tolist(), req.tolist()), key=lambda x: x[0]):
                self._to_agent(*row, tt)
            return
        # (the core never asks for a contact at or after the end of the run)
        order = np.argsort(t, kind="stable")        # ids in order of arrival within a batch
        req, t = req[order], t[order]
        n = len(t)
        k, need, attempt, esc, prev, handed = req.T
        handed = handed > 0
        passed_on = handed | (prev == BOT) | (prev == SELFSERVICE)
        scale = np.where(passed_on, self.esc_factor[k], 1.0)
        extra = np.where(handed, self._cold_extra, 0.0)
        guided = np.zeros(n, dtype=bool)
        cand = np.flatnonzero((k == PHONE) & (t >= self.guide_from))
        if len(cand):
            guided[cand] = uniforms(self._key, need[cand], attempt[cand], SLOT_GUIDE) < self.guide_p
            extra[guided] += self.guide_extra
        handle, prio, patience = np.empty(n), np.empty(n, np.int64), np.empty(n)
        for code in np.unique(k).tolist():
            rows = np.flatnonzero(k == code)
            handle[rows], prio[rows], patience[rows] = self.queues[code].draw_keyed(need[rows],
                                                                                  attempt[rows])
        back = uniforms(self._key, need, attempt, SLOT_AGENT_BACK) < self._p_back[k, self.need_i[need]]
        returns = self._returns
        for nd in need[~back].tolist():
            returns.pop(nd, None)
        delay = exponentials(self._key, need[back], attempt[back], SLOT_RETURN_DELAY,
                             self._return_mean)
        returns.update(zip(need[back].tolist(), delay.tolist()))
        log = self.log
        base = len(log)
        log.extend(need=need, channel=k, attempt=attempt, t=t, handle=handle * scale + extra,
                   priority=prio, escalated_from=esc)
        if guided.any():
            log.guided.update((base + np.flatnonzero(guided)).tolist())
        env, enters = self.env, self._enters
        delays = np.maximum(t - env._now, 0.0).tolist()
        for cid, kk, dt, pa in zip(range(base, base + n), k.tolist(), delays, patience.tolist()):
            At(env, dt, enters[kk], (cid, pa))

    def _to_agent(self, k, need, attempt, esc, prev, handed, t) -> None:
        """:meth:`_to_agents` for one contact: the same rules and draws, without arrays."""
        if handed or prev == BOT or prev == SELFSERVICE:
            scale = self._esc_list[k]
        else:
            scale = 1.0
        extra = self._cold_extra if handed else 0.0
        key = self._key
        guided = (k == PHONE and t >= self.guide_from
                  and uniform(key, need, attempt, SLOT_GUIDE) < self.guide_p)
        if guided:
            extra += self.guide_extra
        handle, prio, patience = self.queues[k].draw_keyed_one(need, attempt)
        if uniform(key, need, attempt, SLOT_AGENT_BACK) < self._p_back_list[k][self.need_i[need]]:
            self._returns[need] = exponential(self._return_mean,
                                              uniform(key, need, attempt, SLOT_RETURN_DELAY))
        else:
            self._returns.pop(need, None)
        log = self.log
        cid = log.add(need, k, attempt, t, handle * scale + extra, prio, esc)
        if guided:
            log.guided.add(cid)
        At(self.env, max(t - self.env._now, 0.0), self._enters[k], (cid, patience))

    def registered_share(self, t: float) -> float:
        """Share of the accounts that have joined by t that are registered at t."""
        joined = self.join_s <= t
        return float((self.c_reg[joined] <= t).mean()) if joined.any() else math.nan

    def _learn(self) -> None:
        """What customers learned from agent contacts answered since the last choice."""
        buf = self._answered
        if not buf:
            return
        log = self.log
        cids = np.frombuffer(buf, dtype=np.int64).copy()
        del buf[:]
        need = np.frombuffer(log.need, dtype=np.int64)[cids]
        mine = need < self.n_needs
        cids, cust = cids[mine], self.need_c[need[mine]]
        self.c_ok[cust] = np.frombuffer(log.channel, dtype=np.int8)[cids]   # in answer order
        if log.guided:
            g = np.array([c in log.guided for c in cids.tolist()], dtype=bool)
            self.c_guided[cust[g]] = 1
            self.c_reg[cust[g]] = np.minimum(self.c_reg[cust[g]], self.env._now)

    def _comes_back(self, ev) -> None:
        need, k, attempt = ev._value
        self.c_bad[self.need_c[need]] = k
        self._go_on(need, self.env._now, k, attempt)

    # ----------------------------------------------- hooks of the agent engine
    def _after_answer(self, cid: int) -> None:
        """An agent took the contact: the customer learns (before their next choice); the
        matter comes back if so drawn for it (:meth:`_to_agents`)."""
        self._answered.append(cid)
        log = self.log
        need = log.need[cid]
        delay = self._returns.pop(need, None)
        if delay is not None:
            self._come_back(log.end[cid] + delay, need, log.channel[cid], log.attempt[cid] + 1)

    def _after_abandon(self, cid: int) -> None:
        """An agent contact abandoned (no redial) or found the channel closed: move on."""
        log = self.log
        need = log.need[cid]
        if need >= self.n_needs:
            return
        k = log.channel[cid]
        self.c_bad[self.need_c[need]] = k
        t = self.env._now + exponential(self._switch_mean,
                                        uniform(self._key, need, log.attempt[cid], SLOT_SWITCH_DELAY))
        if t < self._next_tick:
            self._go_on(need, t, k, log.attempt[cid] + 1)
        else:                                       # the batch of its hour starts it
            self._seq += 1
            heapq.heappush(self._due, (t, self._seq, need, k, log.attempt[cid] + 1))
