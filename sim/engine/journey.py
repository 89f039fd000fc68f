"""Customer journeys: a need goes from channel to channel until it is resolved or given up.

The life of a need (:func:`sim.engine.journey_core.advance`, then the agent engine),
top to bottom:

1. At its time the customer chooses a channel (``journey_core.choose``, a
   multinomial logit over the channels open to this customer now, a booked
   channel to book and closed phone or chat to wait for, see
   :class:`sim.engine.journey_spec.Choice`), or gives up.
2. A digital channel (support site, bot, portal, webshop, API, user admin)
   is settled at once, without SimPy events: resolved with its success rate
   for the intent (times any dated event's factor), else failed. The portal
   first needs a working login. A resolved matter may come back later
   (first-contact resolution below 1) as a new contact of the same need.
3. A failed digital contact is *escalated* when the customer goes on: the
   customer chooses again, with the failed channel's ``after_failure``
   preferences (after a bot session, the bot's hand-over to chat is one of the
   options); the new contact names the failed one in ``escalated_from``.
   Giving up leaves it *failed*.
4. An agent channel (phone, appointment, chat, service request, or one of
   the scenario's own) becomes an arrival in the agent engine
   (:mod:`sim.engine.queues`) at the contact's time.
   Contacts passed on by the bot or portal take longer; a caller may be
   guided to self-service (a longer call now, registration and a digital lean
   later). An answered contact resolves the need unless it comes back
   (first-contact resolution); after an abandoned one the customer returns
   here and chooses: call again, another channel, or give up.
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

Agent contacts of a batch are logged together (:class:`AgentHandoff`:
handle time, priority, patience, guidance and whether the matter will come
back are drawn then) and each *enters* its queue at its own time, one SimPy
event; the agent engine does the rest.

Steps 1–3 are the hot path: :func:`sim.engine.journey_core.advance` runs them for a
batch of needs (all of an hour's new needs, or one need that moves on),
compiled with numba. The parts, each apart:

* the lookup tables of the scenario, built once (:mod:`sim.engine.journey_tables`);
* the customers and their needs, per replication (:func:`customer_state`);
* the batch driver on the SimPy side (:class:`Journeys`);
* the hand-off of agent contacts to the queues (:class:`AgentHandoff`).
"""

from __future__ import annotations

import heapq
import math
from array import array

import numpy as np

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
from .journey_core import CustomerState, advance, new_out
from .journey_tables import JourneyTables, journey_tables
from .log import ESCALATED, ContactLog
from .population import build_population, draw_needs

__all__ = ["Journeys", "AgentHandoff", "customer_state", "journey_key", "registered_share",
           "BATCH"]

HOUR = 3600.0
#: New needs (and matters coming back) are started in batches of this many seconds.
BATCH = HOUR
#: Up to this many agent contacts at once are logged one by one (numpy costs more).
SMALL = 8


def customer_state(scenario, horizon_s: float, streams) -> tuple[CustomerState, object, object]:
    """(the customers' state, the population, the needs) of one replication."""
    pop = build_population(scenario.customers, horizon_s, streams.rng("customers"),
                           scenario.guidance_campaign, streams.rng("customers.reminders"))
    needs = draw_needs(scenario.needs, scenario.customers, pop, scenario.start_date,
                       horizon_s, streams, scenario.proactive_notifications)
    n = len(pop.segment)
    state = CustomerState(
        segment=pop.segment.astype(np.int64), registered_from=pop.registered_from.astype(float),
        api=pop.api.astype(np.int64), ok=np.full(n, -1, dtype=np.int64),
        bad=np.full(n, -1, dtype=np.int64), guided=np.zeros(n, dtype=np.int64),
        need_customer=needs.customer.astype(np.int64), need_intent=needs.intent.astype(np.int64))
    return state, pop, needs


def journey_key(streams) -> int:
    """The key of a replication's counter-based draws (:mod:`sim.engine.counter_rng`)."""
    return int(streams.rng("journey.core").integers(0, 2**63, dtype=np.int64))


def registered_share(join_s: np.ndarray, registered_from: np.ndarray, t: float) -> float:
    """Share of the accounts that have joined by t that are registered at t."""
    joined = join_s <= t
    return float((registered_from[joined] <= t).mean()) if joined.any() else math.nan


class AgentHandoff:
    """Logs the agent contacts a batch asks for and lets each enter its queue at its time.

    Handle time, priority and patience are counter-based draws of the contact
    (:meth:`sim.engine.queues.ChannelQueue.draw_keyed`), times the matter's factor (its
    intent's complexity, ``handle.complexity_factor``); contacts passed on by the bot or
    the portal take ``escalated_handle_factor`` times longer (a cold bot
    hand-over adds its extra seconds); an agent may guide the customer to
    self-service; whether the matter comes back if an agent answers it is drawn
    here too (kept per need in :attr:`returns`, so a redial uses it).
    """

    def __init__(self, env, log: ContactLog, queues: dict, tab: JourneyTables, key: int,
                 need_intent: np.ndarray, return_mean_s: float):
        self.env, self.log, self.key, self.tab = env, log, key, tab
        reg = tab.registry
        self.queues = {reg.code(n): q for n, q in queues.items()}
        self.enters = [self.queues[k].enter if k in self.queues else None
                       for k in range(len(reg))]
        self.need_intent = need_intent
        self.return_mean = return_mean_s
        self.returns: dict = {}      # need → come-back delay (s) drawn for its agent contact
        self._p_back_list = tab.p_back.tolist()
        self._esc_list = tab.esc_factor.tolist()
        self._matter = tab.matter_factor.tolist()
        self._passed_on = tab.params.passed_on.tolist()
        self._guide = list(zip(tab.guide_p.tolist(), tab.guide_from.tolist(),
                               tab.guide_extra_s.tolist()))

    def __call__(self, req: np.ndarray, t: np.ndarray) -> None:
        """``req`` rows: channel, need, attempt, escalated_from, failed channel, bot
        hand-over; ``t``: each one's time (the core never asks at or after the end)."""
        if len(t) <= SMALL:                         # numpy costs more than it saves here
            for tt, row in sorted(zip(t.tolist(), req.tolist()), key=lambda x: x[0]):
                self.one(*row, tt)
            return
        order = np.argsort(t, kind="stable")        # ids in order of arrival within a batch
        req, t = req[order], t[order]
        k, need, attempt, esc, prev, handed = req.T
        handle, prio, patience, guided = self._draws(k, need, attempt, prev, handed > 0, t)
        self._returns(k, need, attempt)
        log = self.log
        base = len(log)
        log.extend(need=need, channel=k, attempt=attempt, t=t, handle=handle, priority=prio,
                   escalated_from=esc)
        if guided.any():
            log.guided.update((base + np.flatnonzero(guided)).tolist())
        env, enters = self.env, self.enters
        delays = np.maximum(t - env._now, 0.0).tolist()
        for cid, kk, dt, pa in zip(range(base, base + len(t)), k.tolist(), delays,
                                   patience.tolist()):
            At(env, dt, enters[kk], (cid, pa))

    def _draws(self, k, need, attempt, prev, handed, t):
        """(handle s, priority, patience s, guided) of a batch of agent contacts."""
        tab, n = self.tab, len(t)
        passed_on = handed | (tab.params.passed_on[np.maximum(prev, 0)] > 0) & (prev >= 0)
        scale = np.where(passed_on, tab.esc_factor[k], 1.0) \
            * tab.matter_factor[k, self.need_intent[need]]
        extra = np.where(handed, tab.cold_extra_s, 0.0)
        guided = np.zeros(n, dtype=bool)
        cand = np.flatnonzero((tab.guide_p[k] > 0) & (t >= tab.guide_from[k]))
        if len(cand):
            guided[cand] = uniforms(self.key, need[cand], attempt[cand], SLOT_GUIDE) \
                < tab.guide_p[k[cand]]
            extra[guided] += tab.guide_extra_s[k[guided]]
        handle, prio, patience = np.empty(n), np.empty(n, np.int64), np.empty(n)
        for code in np.unique(k).tolist():
            rows = np.flatnonzero(k == code)
            handle[rows], prio[rows], patience[rows] = self.queues[code].draw_keyed(
                need[rows], attempt[rows])
        return handle * scale + extra, prio, patience, guided

    def _returns(self, k, need, attempt) -> None:
        """Draw, per contact, whether its matter comes back once answered, and when."""
        back = uniforms(self.key, need, attempt, SLOT_AGENT_BACK) \
            < self.tab.p_back[k, self.need_intent[need]]
        for nd in need[~back].tolist():
            self.returns.pop(nd, None)
        delay = exponentials(self.key, need[back], attempt[back], SLOT_RETURN_DELAY,
                             self.return_mean)
        self.returns.update(zip(need[back].tolist(), delay.tolist()))

    def one(self, k, need, attempt, esc, prev, handed, t) -> None:
        """:meth:`__call__` for one contact: the same rules and draws, without arrays."""
        passed_on = handed or (prev >= 0 and self._passed_on[prev])
        scale = (self._esc_list[k] if passed_on else 1.0) \
            * self._matter[k][self.need_intent[need]]
        extra = self.tab.cold_extra_s if handed else 0.0
        key = self.key
        p, start, more = self._guide[k]
        guided = p > 0 and t >= start and uniform(key, need, attempt, SLOT_GUIDE) < p
        if guided:
            extra += more
        handle, prio, patience = self.queues[k].draw_keyed_one(need, attempt)
        if uniform(key, need, attempt, SLOT_AGENT_BACK) < self._p_back_list[k][self.need_intent[need]]:
            self.returns[need] = exponential(self.return_mean,
                                             uniform(key, need, attempt, SLOT_RETURN_DELAY))
        else:
            self.returns.pop(need, None)
        log = self.log
        cid = log.add(need, k, attempt, t, handle * scale + extra, prio, esc)
        if guided:
            log.guided.add(cid)
        At(self.env, max(t - self.env._now, 0.0), self.enters[k], (cid, patience))


def _entry_point(core, args):
    """The compiled entry point of a numba core for these arguments' types: calling it skips
    numba's type dispatch, which costs more (the records' fields are typed one by one) than a
    batch of one need. The driver's arguments keep their types (int64/float64 arrays, the
    records), so the entry point stays the right one. A plain-Python core: itself."""
    try:
        return core.overloads[tuple(core.typeof_pyval(a) for a in args)].entry_point
    except (AttributeError, KeyError):
        return core


class Journeys:
    """Runs every need of one replication through the channels (the batch driver)."""

    def __init__(self, env, scenario, log: ContactLog, queues: dict, pools: dict, streams,
                 horizon_s: float, core=advance):
        self.env = env
        self.log = log
        self.horizon = horizon_s
        self.tab = journey_tables(scenario, horizon_s)
        self.st, pop, needs = customer_state(scenario, horizon_s, streams)
        self.join_s = pop.join_s
        self.need_t = needs.time_s
        self.n_needs = len(self.need_t)
        self._core = core
        self._call = None             # the core's compiled entry point, once resolved
        self._key = journey_key(streams)
        self._max_attempts = scenario.choice.max_attempts
        self._out = new_out(4096, self._max_attempts)
        self._switch_mean = scenario.needs.switch_delay_seconds
        self.to_agents = AgentHandoff(env, log, queues, self.tab, self._key, self.st.need_intent,
                                      scenario.needs.return_delay_hours * HOUR)
        for q in queues.values():
            q.on_abandon = self._after_abandon
            q.key = self._key
        for p in pools.values():
            p.on_answer = self._after_answer
        self._answered = array("q")   # agent contacts answered since the last choice
        self._next_need = 0
        self._due: list = []          # heap of come-backs: (time, seq, need, channel, attempt)
        self._seq = 0
        self._next_tick = 0.0
        if self.n_needs:
            At(env, 0.0, self._batch)

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
            t = np.concatenate([self.need_t[a:b], [x[1] for x in back]]).astype(np.float64)
            prev = np.concatenate([np.full(b - a, -1), [x[2] for x in back]]).astype(np.int64)
            attempt = np.concatenate([np.zeros(b - a), [x[3] for x in back]]).astype(np.int64)
            if back:
                self.st.bad[self.st.need_customer[need[b - a:]]] = prev[b - a:]
            self._run(need, t, prev, attempt, np.full(n, -1, dtype=np.int64))
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
        self._run(np.array([need], dtype=np.int64), np.array([t], dtype=np.float64),
                  np.array([prev], dtype=np.int64), np.array([attempt], dtype=np.int64),
                  np.array([-1], dtype=np.int64))

    def _run(self, need, t, prev, attempt, esc) -> None:
        """Run a batch through the journey core, then act on its outputs."""
        if len(need) > self._out.a_t.shape[0]:
            self._out = new_out(len(need), self._max_attempts)
        out, log = self._out, self.log
        base = len(log)
        args = (need, t, prev, attempt, esc, base, self.st, self.tab.tables, self.tab.params,
                self._key, out)
        if self._call is None:
            self._core(*args)
            self._call = _entry_point(self._core, args)
        else:
            self._call(*args)
        nd, na, nb, nm = (int(x) for x in out.counts)
        if nd:
            log.extend(need=out.d_need[:nd], channel=out.d_channel[:nd],
                       attempt=out.d_attempt[:nd], t=out.d_t[:nd], end=out.d_end[:nd],
                       escalated_from=out.d_esc[:nd], outcome=out.d_outcome[:nd])
            for row in np.flatnonzero(out.d_target[:nd] >= 0).tolist():
                log.target_product[base + row] = int(out.d_target[row])
            for row in np.flatnonzero(out.d_reason[:nd] >= 0).tolist():
                log.reason[base + row] = int(out.d_reason[row])
        for cid in out.marks[:nm].tolist():
            log.outcome[cid] = ESCALATED
        if na:
            self.to_agents(out.a_req[:na], out.a_t[:na])
        for (nd_, k, at), tt in zip(out.b_req[:nb].tolist(), out.b_t[:nb].tolist()):
            self._come_back(tt, nd_, k, at)

    def registered_share(self, t: float) -> float:
        """Share of the accounts that have joined by t that are registered at t."""
        return registered_share(self.join_s, self.st.registered_from, t)

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
        cids, cust = cids[mine], self.st.need_customer[need[mine]]
        self.st.ok[cust] = np.frombuffer(log.channel, dtype=np.int8)[cids]   # in answer order
        if log.guided:
            g = np.array([c in log.guided for c in cids.tolist()], dtype=bool)
            self.st.guided[cust[g]] = 1
            reg = self.st.registered_from
            reg[cust[g]] = np.minimum(reg[cust[g]], self.env._now)

    def _comes_back(self, ev) -> None:
        need, k, attempt = ev._value
        self.st.bad[self.st.need_customer[need]] = k
        self._go_on(need, self.env._now, k, attempt)

    # ----------------------------------------------- hooks of the agent engine
    def _after_answer(self, cid: int) -> None:
        """An agent took the contact: the customer learns (before their next choice); the
        matter comes back if so drawn for it (:class:`AgentHandoff`)."""
        self._answered.append(cid)
        log = self.log
        need = log.need[cid]
        delay = self.to_agents.returns.pop(need, None)
        if delay is not None:
            self._come_back(log.end[cid] + delay, need, log.channel[cid], log.attempt[cid] + 1)

    def _after_abandon(self, cid: int) -> None:
        """An agent contact abandoned (no redial) or found the channel closed: move on."""
        log = self.log
        need = log.need[cid]
        if need >= self.n_needs:
            return
        k = log.channel[cid]
        self.st.bad[self.st.need_customer[need]] = k
        t = self.env._now + exponential(self._switch_mean,
                                        uniform(self._key, need, log.attempt[cid],
                                                SLOT_SWITCH_DELAY))
        if t < self._next_tick:
            self._go_on(need, t, k, log.attempt[cid] + 1)
        else:                                       # the batch of its hour starts it
            self._seq += 1
            heapq.heappush(self._due, (t, self._seq, need, k, log.attempt[cid] + 1))
