"""The compiled engine (``run.engine=fast``): the SimPy engine's agent side (:mod:`sim.engine.queues`,
:mod:`sim.engine.agents`) and its journey driver (:mod:`sim.engine.journey`: hourly batches,
the hand-off of agent contacts, the hooks after an answer or an abandon) as one numba event
loop, calling the journey core (:func:`sim.engine.journey_core.advance`) in place.

It is the SimPy engine rule for rule, in the same order, so that both give the same contact
log for the same seed (tests/test_fast_engine.py compares them contact for contact):

* one event list ordered by (time, sequence number) — SimPy's order, since every event of
  the SimPy engine is an :class:`sim.engine.events.At` of normal priority numbered as it is
  scheduled; events are scheduled here in the same order, and their times are the same
  floating-point sums (``now + delay``);
* the events are those of the SimPy engine: a pool's capacity change, a direct arrival, an
  agent slot freeing up, a waiting contact's deadline, a redial, an hour's batch of needs,
  a contact entering its queue, a matter coming back;
* the queues are FIFO lists per priority class (a linked list through the contacts), with
  the same lazy abandonment (:meth:`sim.engine.queues.ChannelQueue.next_waiting`);
* random numbers are the same: counter-based draws with journeys, and otherwise the
  channels' streams in order, which the driver (:mod:`sim.engine.fast`) puts in buffers.

Nothing here allocates: the driver owns every array. When a buffer runs short (contacts,
events, the staffing log, come-backs, answers, the core's output, random numbers) the loop
stops *between* events with a status saying which; the driver enlarges it and calls again.

Speed and compile time: the helpers are inlined into :func:`run_loop`, which is compiled
without reference counting (``_nrt=False``, as the journey core): a call that passes the
records would copy them and count references to every array in them, which cost 4x the
loop's time. Each helper is inlined at one call site only (the loop funnels every entry to
a queue, every pull of a waiting contact, through one place), so the first compile after an
install takes about 35 s on the development machine and later runs load it from numba's
cache in about 0.4 s. The journeys' rarer steps (a batch, the core's run, moving on after
an abandon) stay separate functions.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .counter_rng import (
    SLOT_AGENT_BACK,
    SLOT_GUIDE,
    SLOT_REDIAL,
    SLOT_REDIAL_DELAY,
    SLOT_RETURN_DELAY,
    SLOT_SWITCH_DELAY,
    contact_draw,
    exponential,
    uniform,
)
from .journey_core import advance

__all__ = ["Contacts", "Events", "Agents", "Journey", "run_loop", "finish_queues", "DONE",
           "GROW_CONTACTS", "GROW_EVENTS", "GROW_STAFFED", "REFILL", "TOO_MANY", "GROW_OUT",
           "GROW_DUE", "GROW_ANSWERED"]

RESOLVED, ABANDONED, FAILED, OPEN, ESCALATED = 0, 1, 2, 3, 4
#: event kinds
EV_CAPACITY, EV_ARRIVE, EV_DONE, EV_EXPIRE, EV_REDIAL, EV_BATCH, EV_ENTER, EV_BACK = range(8)
#: what the loop returns
(DONE, GROW_CONTACTS, GROW_EVENTS, GROW_STAFFED, REFILL, TOO_MANY, GROW_OUT, GROW_DUE,
 GROW_ANSWERED) = range(9)
#: a handed-off batch of up to this many agent contacts is logged one by one in the SimPy
#: engine (:data:`sim.engine.journey.SMALL`), which checks the contact limit per contact
SMALL = 8
#: counters in ``Journey.count``
J_NEXT_NEED, J_ANSWERED, J_DUE, J_DUE_SEQ, J_GUIDED = 0, 1, 2, 3, 4
#: counters in ``Agents.count``
N_CONTACTS, N_EVENTS, SEQ, N_STAFFED = 0, 1, 2, 3
#: random streams per channel (rows of ``Agents.draws``), in ``_draws`` order of the model
D_HANDLE, D_PATIENCE, D_REDIAL, D_REDIAL_DELAY, D_PRIORITY = 0, 1, 2, 3, 4


class Contacts(NamedTuple):
    """The contact log (row = contact id) and each contact's place in its queue."""

    need: np.ndarray        # int64
    channel: np.ndarray     # int8: registry code
    priority: np.ndarray    # int8
    attempt: np.ndarray     # int32
    escalated_from: np.ndarray  # int64 (-1)
    arrival: np.ndarray     # float64 s
    handle: np.ndarray
    answer: np.ndarray
    end: np.ndarray
    outcome: np.ndarray     # int8
    pool: np.ndarray        # int8
    deadline: np.ndarray    # float64: arrival + patience, while waiting
    next: np.ndarray        # int64: the next contact of its priority class' queue (-1)
    target: np.ndarray      # int8: a webshop order of a target product (1), not (0), -1
    reason: np.ndarray      # int8: why a portal action failed (-1)
    guided: np.ndarray      # int8: an agent guided the customer to self-service


class Events(NamedTuple):
    """The event list: a binary heap of rows, ordered by (t, seq)."""

    t: np.ndarray           # float64
    seq: np.ndarray         # int64
    kind: np.ndarray        # int8
    a: np.ndarray           # int64: pool, queue, contact or need
    b: np.ndarray           # int64: arrival index, redial flag, channel of a come-back
    d: np.ndarray           # int64: attempt of a come-back
    f: np.ndarray           # float64: agents of a capacity change, patience of an entry


class Agents(NamedTuple):
    """Queues, pools, arrivals, staffing log and random buffers of one replication.

    Queues are numbered in the scenario's channel order (``q``); ``q_code`` is each one's
    registry code. Lists per queue or pool are flat with offsets (``x_off[i]:x_off[i+1]``).
    """

    q_code: np.ndarray          # [q] registry code
    code_q: np.ndarray          # [registry code] queue (-1: not an agent channel)
    q_classes: np.ndarray       # [q] priority classes
    q_cum_off: np.ndarray       # [q + 1] offsets into q_cum
    q_cum: np.ndarray           # cumulative priority shares but the last, per queue
    q_head: np.ndarray          # [q, class] first waiting contact (-1)
    q_tail: np.ndarray          # [q, class] last waiting contact (-1)
    q_pools_off: np.ndarray     # [q + 1]
    q_pools: np.ndarray         # pools serving each queue, in routing order
    q_redial_p: np.ndarray      # [q] probability to redial after abandoning
    q_always: np.ndarray        # [q] 1: always open
    q_open_off: np.ndarray      # [q + 1] offsets into q_starts / q_ends
    q_starts: np.ndarray        # opening windows [start, end)
    q_ends: np.ndarray
    p_skills_off: np.ndarray    # [pool + 1]
    p_skills: np.ndarray        # queues a pool serves, in skill order
    p_conc: np.ndarray          # [pool] concurrency
    p_wrap: np.ndarray          # [pool] wrap-up s
    p_cap: np.ndarray           # [pool] slots (float: a staffing plan may give fractions)
    p_busy: np.ndarray          # [pool] busy slots
    arr_off: np.ndarray         # [q + 1] offsets into arr_t
    arr_t: np.ndarray           # pre-drawn direct arrival times per queue
    arr_first: np.ndarray       # [q] need id of each queue's first direct arrival
    q_dist: np.ndarray          # [q] handle time: 0 fixed, 1 exponential, 2 lognormal …
    q_mean: np.ndarray          # [q] … its mean, and the lognormal's mu and sigma
    q_mu: np.ndarray
    q_sigma: np.ndarray
    q_patience: np.ndarray      # [q] mean patience (inf: none)
    q_redial_mean: np.ndarray   # [q] mean redial delay
    draws: np.ndarray           # [q, stream, n] random buffers (runs without journeys)
    draw_pos: np.ndarray        # [q, stream] next unused
    draw_len: np.ndarray        # [q, stream] filled
    st_pool: np.ndarray         # staffing log: pool, time, staffed agents
    st_t: np.ndarray
    st_n: np.ndarray
    count: np.ndarray           # N_CONTACTS, N_EVENTS, SEQ, N_STAFFED
    clock: np.ndarray           # [0]: now; [1]: time of the contact that broke the limit


class Journey(NamedTuple):
    """The journeys' side of a replication (:class:`sim.engine.journey.Journeys` and
    :class:`sim.engine.journey.AgentHandoff`): the hourly batches, the come-backs waiting for
    their batch, the hand-off of agent contacts and the hooks after an answer or an abandon,
    with the journey core (:func:`sim.engine.journey_core.advance`) called in place.
    ``active`` 0: a run without journeys (then every array is a stub). With journeys every
    draw of an agent contact is counter-based under ``key`` (:mod:`sim.engine.counter_rng`)."""

    active: int
    key: int
    n_needs: int
    batch_s: float
    switch_mean: float
    return_mean: float
    cold_extra: float
    horizon: float
    need_t: np.ndarray          # [need] when it arises (s), sorted
    p_back: np.ndarray          # [channel, intent] an answered matter comes back
    esc_factor: np.ndarray      # [channel] handle-time factor of a passed-on contact
    matter: np.ndarray          # [channel, intent] handle-time factor of the matter
    guide_p: np.ndarray         # [channel] an agent guides to self-service …
    guide_from: np.ndarray      # … from this time (s) …
    guide_extra: np.ndarray     # … taking this much longer (s)
    ret: np.ndarray             # [need] come-back delay drawn for its agent contact (NaN: none)
    answered: np.ndarray        # agent contacts answered since the last batch
    due: Events                 # come-backs for a later batch (a = need, b = channel,
                                #   d = attempt), a heap by (t, seq) as the event list
    b_need: np.ndarray          # the batch handed to the core
    b_t: np.ndarray
    b_prev: np.ndarray
    b_att: np.ndarray
    b_esc: np.ndarray
    order: np.ndarray           # the hand-off's order of agent contacts
    count: np.ndarray           # J_NEXT_NEED, J_ANSWERED, J_DUE, J_DUE_SEQ, J_GUIDED
    tick: np.ndarray            # [0]: start of the next batch


# ------------------------------------------------------------------ the event list
@njit(cache=True, inline="always")
def _before(h, i, j):
    return h.t[i] < h.t[j] or (h.t[i] == h.t[j] and h.seq[i] < h.seq[j])


@njit(cache=True, inline="always")
def _swap(h, i, j):
    h.t[i], h.t[j] = h.t[j], h.t[i]
    h.seq[i], h.seq[j] = h.seq[j], h.seq[i]
    h.kind[i], h.kind[j] = h.kind[j], h.kind[i]
    h.a[i], h.a[j] = h.a[j], h.a[i]
    h.b[i], h.b[j] = h.b[j], h.b[i]
    h.d[i], h.d[j] = h.d[j], h.d[i]
    h.f[i], h.f[j] = h.f[j], h.f[i]


@njit(cache=True, inline="always")
def _heap_push(h, count, n_at, seq_at, t, kind, a, b, f, d):
    """Add a row to heap ``h`` (``count[n_at]`` rows), numbered ``count[seq_at]``."""
    i = count[n_at]
    count[n_at] = i + 1
    h.t[i] = t
    h.seq[i] = count[seq_at]
    count[seq_at] += 1
    h.kind[i], h.a[i], h.b[i], h.d[i], h.f[i] = kind, a, b, d, f
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(h, i, parent):
            break
        _swap(h, i, parent)
        i = parent


@njit(cache=True, inline="always")
def _heap_pop(h, count, n_at):
    """Remove the first row of heap ``h``, moving it past the heap's end; return that row."""
    n = count[n_at] - 1
    count[n_at] = n
    _swap(h, 0, n)
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        m = left
        if left + 1 < n and _before(h, left + 1, left):
            m = left + 1
        if not _before(h, m, i):
            break
        _swap(h, i, m)
        i = m
    return n


@njit(cache=True, inline="always")
def push(ev, ag, t, kind, a, b, f, d=0):
    """Schedule an event at time ``t`` (numbered after every event scheduled before it)."""
    _heap_push(ev, ag.count, N_EVENTS, SEQ, t, kind, a, b, f, d)


@njit(cache=True, inline="always")
def _pop(ev, ag):
    """Remove the first event; return its row (past the heap's end)."""
    return _heap_pop(ev, ag.count, N_EVENTS)


@njit(cache=True, inline="always")
def _due_push(jr, t, need, k, attempt):
    """Journeys._due: heappush (t, seq, need, k, attempt)."""
    _heap_push(jr.due, jr.count, J_DUE, J_DUE_SEQ, t, 0, need, k, 0.0, attempt)


# ------------------------------------------------------------------ the agent side
@njit(cache=True, inline="always")
def _draw(ag, q, stream):
    i = ag.draw_pos[q, stream]
    ag.draw_pos[q, stream] = i + 1
    return ag.draws[q, stream, i]


@njit(cache=True, inline="always")
def _is_open(ag, q, t):
    if ag.q_always[q]:
        return True
    a, b = ag.q_open_off[q], ag.q_open_off[q + 1]
    i = a + np.searchsorted(ag.q_starts[a:b], t, side="right") - 1
    return i >= a and t < ag.q_ends[i]


@njit(cache=True, inline="always")
def _log_staffed(ag, p, now):
    i = ag.count[N_STAFFED]
    ag.count[N_STAFFED] = i + 1
    ag.st_pool[i] = p
    ag.st_t[i] = now
    ag.st_n[i] = max(ag.p_cap[p], float(ag.p_busy[p])) / ag.p_conc[p]


@njit(cache=True, inline="always")
def _add(c, ag, need, k, prio, attempt, esc, t, handle, end, outcome):
    """ContactLog.add (without the limit: the callers check it as the SimPy engine does)."""
    cid = ag.count[N_CONTACTS]
    ag.count[N_CONTACTS] = cid + 1
    c.need[cid] = need
    c.channel[cid] = k
    c.priority[cid] = prio
    c.attempt[cid] = attempt
    c.escalated_from[cid] = esc
    c.arrival[cid] = t
    c.handle[cid] = handle
    c.answer[cid] = np.nan
    c.end[cid] = end
    c.outcome[cid] = outcome
    c.pool[cid] = -1
    c.target[cid] = -1
    c.reason[cid] = -1
    c.guided[cid] = 0
    return cid


@njit(cache=True, inline="always")
def _begin(c, ev, ag, jr, st, p, cid, now):
    """AgentPool.begin: serve ``cid`` now (the slot is already counted busy)."""
    handle = c.handle[cid]
    c.answer[cid] = now
    c.end[cid] = now + handle
    c.outcome[cid] = RESOLVED
    c.pool[cid] = p
    push(ev, ag, now + (handle + ag.p_wrap[p]), EV_DONE, p, 0, 0.0)
    if jr.active:
        _after_answer(c, ev, ag, jr, cid, now)


@njit(cache=True, inline="always")
def _next_waiting(c, ag, q, now):
    """ChannelQueue.next_waiting: the first contact still waiting, or -1 (lazy abandons)."""
    for k in range(ag.q_classes[q]):
        while ag.q_head[q, k] >= 0:
            cid = ag.q_head[q, k]
            nxt = c.next[cid]
            ag.q_head[q, k] = nxt
            if nxt < 0:
                ag.q_tail[q, k] = -1
            if c.outcome[cid] != OPEN:
                continue
            if c.deadline[cid] < now:
                c.outcome[cid] = ABANDONED
                c.end[cid] = c.deadline[cid]
                continue
            return cid
    return -1


@njit(cache=True, inline="always")
def _pull(c, ev, ag, jr, st, p, now):
    """AgentPool._pull: begin the next waiting contact of the pool's skills, if any."""
    for j in range(ag.p_skills_off[p], ag.p_skills_off[p + 1]):
        cid = _next_waiting(c, ag, ag.p_skills[j], now)
        if cid >= 0:
            _begin(c, ev, ag, jr, st, p, cid, now)
            return True
    return False


@njit(cache=True, inline="always")
def _enter(c, ev, ag, jr, st, tb, par, out, q, cid, prio, now, patience, limit):
    """ChannelQueue._enter: closed, answered now, or wait with a deadline. False: the contact
    limit was passed (by what the journey did next)."""
    if not _is_open(ag, q, now):
        c.outcome[cid] = FAILED
        c.end[cid] = now
        if jr.active:
            return _after_abandon(c, ev, ag, jr, st, tb, par, out, cid, now, limit)
        return True
    for j in range(ag.q_pools_off[q], ag.q_pools_off[q + 1]):
        p = ag.q_pools[j]
        if ag.p_busy[p] < ag.p_cap[p]:
            ag.p_busy[p] += 1
            _begin(c, ev, ag, jr, st, p, cid, now)
            return True
    deadline = now + patience
    c.deadline[cid] = deadline
    c.next[cid] = -1
    tail = ag.q_tail[q, prio]
    if tail >= 0:
        c.next[tail] = cid
    else:
        ag.q_head[q, prio] = cid
    ag.q_tail[q, prio] = cid
    if deadline < np.inf:
        redial = False
        if ag.q_redial_p[q] > 0.0:
            u = uniform(jr.key, c.need[cid], c.attempt[cid], SLOT_REDIAL) if jr.active \
                else _draw(ag, q, D_REDIAL)
            redial = u < ag.q_redial_p[q]
        if redial or jr.active:
            push(ev, ag, now + patience, EV_EXPIRE, cid, 1 if redial else 0, 0.0)
    return True


@njit(cache=True, inline="always")
def _keyed_draw(ag, key, q, need, attempt):
    """ChannelQueue.draw_keyed_one: (handle s, priority class, patience s) of (need, attempt)."""
    a, b = ag.q_cum_off[q], ag.q_cum_off[q + 1]
    return contact_draw(key, need, attempt, ag.q_dist[q], ag.q_mean[q], ag.q_mu[q],
                        ag.q_sigma[q], ag.q_cum[a:b], ag.q_patience[q])


@njit(cache=True, inline="always")
def _arrival(c, ag, jr, q, need, attempt, now):
    """ChannelQueue.arrive, up to entering: draw and log; (contact id, priority, patience)."""
    if jr.active:
        handle, prio, patience = _keyed_draw(ag, jr.key, q, need, attempt)
    else:
        prio = 0
        if ag.q_classes[q] > 1:
            a, b = ag.q_cum_off[q], ag.q_cum_off[q + 1]
            prio = np.searchsorted(ag.q_cum[a:b], _draw(ag, q, D_PRIORITY), side="right")
        handle = _draw(ag, q, D_HANDLE)
        patience = _draw(ag, q, D_PATIENCE)
    cid = _add(c, ag, need, ag.q_code[q], prio, attempt, -1, now, handle, np.nan, OPEN)
    return cid, prio, patience


# ------------------------------------------------------------------ the journeys' side
@njit(cache=True, inline="always")
def _come_back(ev, ag, jr, t, need, k, attempt, now):
    """Journeys._come_back: at its time if before the next batch, else with that batch."""
    if t < jr.tick[0]:
        push(ev, ag, now + max(0.0, t - now), EV_BACK, need, k, 0.0, attempt)
    else:
        _due_push(jr, t, need, k, attempt)


@njit(cache=True, inline="always")
def _after_answer(c, ev, ag, jr, cid, now):
    """Journeys._after_answer: learn at the next batch; a matter drawn to come back does."""
    jr.answered[jr.count[J_ANSWERED]] = cid
    jr.count[J_ANSWERED] += 1
    need = c.need[cid]
    if need < jr.n_needs and not math.isnan(jr.ret[need]):
        delay = jr.ret[need]
        jr.ret[need] = np.nan
        _come_back(ev, ag, jr, c.end[cid] + delay, need, np.int64(c.channel[cid]),
                   np.int64(c.attempt[cid]) + 1, now)


@njit(cache=True, _nrt=False)   # called, not inlined: see the note above
def _after_abandon(c, ev, ag, jr, st, tb, par, out, cid, now, limit):
    """Journeys._after_abandon: the customer moves on after a switching delay."""
    need = c.need[cid]
    if need >= jr.n_needs:
        return True
    k = np.int64(c.channel[cid])
    attempt = np.int64(c.attempt[cid])
    st.bad[st.need_customer[need]] = k
    t = now + exponential(jr.switch_mean, uniform(jr.key, need, attempt, SLOT_SWITCH_DELAY))
    if t < jr.tick[0]:
        jr.b_need[0], jr.b_t[0], jr.b_prev[0], jr.b_att[0], jr.b_esc[0] = \
            need, t, k, attempt + 1, -1
        return _run_core(c, ev, ag, jr, st, tb, par, out, np.int64(1), now, limit)
    _due_push(jr, t, need, k, attempt + 1)
    return True


@njit(cache=True, inline="always")
def _latest(t, n):
    """The latest of the first ``n`` times (the SimPy engine's ``np.max``: NaN-free here)."""
    m = 0.0
    for i in range(n):
        m = max(m, t[i])
    return m


@njit(cache=True, _nrt=False)   # called, not inlined: see the note above
def _run_core(c, ev, ag, jr, st, tb, par, out, n, now, limit):
    """Journeys._run: the core on the first ``n`` needs of the batch buffers, then its
    digital contacts logged, escalations marked, agent contacts handed off, come-backs
    planned. False: the contact limit is passed."""
    base = ag.count[N_CONTACTS]
    advance(jr.b_need[:n], jr.b_t[:n], jr.b_prev[:n], jr.b_att[:n], jr.b_esc[:n], base, st,
            tb, par, jr.key, out)
    nd, na, nb, nm = out.counts[0], out.counts[1], out.counts[2], out.counts[3]
    if nd:
        if base + nd > limit:
            ag.clock[1] = _latest(out.d_t, nd)
            return False
        for r in range(nd):
            cid = _add(c, ag, out.d_need[r], out.d_channel[r], 0, out.d_attempt[r],
                       out.d_esc[r], out.d_t[r], np.nan, out.d_end[r], out.d_outcome[r])
            c.target[cid] = out.d_target[r]
            c.reason[cid] = out.d_reason[r]
    for r in range(nm):
        c.outcome[out.marks[r]] = ESCALATED
    if na and not _hand_off(c, ev, ag, jr, st, par, out, na, now, limit):
        return False
    for r in range(nb):
        _come_back(ev, ag, jr, out.b_t[r], out.b_req[r, 0], out.b_req[r, 1], out.b_req[r, 2],
                   now)
    return True


@njit(cache=True, inline="always")
def _hand_off(c, ev, ag, jr, st, par, out, na, now, limit):
    """AgentHandoff: log the agent contacts in order of their times (stable), each entering
    its queue at its time. False: the contact limit is passed."""
    order = jr.order
    for i in range(na):                        # stable insertion sort: mostly in order already
        j = i
        while j > 0 and out.a_t[order[j - 1]] > out.a_t[i]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = i
    if na > SMALL and ag.count[N_CONTACTS] + na > limit:
        ag.clock[1] = _latest(out.a_t, na)
        return False
    key = jr.key
    for i in range(na):
        r = order[i]
        k, need, attempt = out.a_req[r, 0], out.a_req[r, 1], out.a_req[r, 2]
        esc, prev, handed = out.a_req[r, 3], out.a_req[r, 4], out.a_req[r, 5]
        t = out.a_t[r]
        intent = st.need_intent[need]
        passed_on = handed > 0 or (prev >= 0 and par.passed_on[prev] > 0)
        scale = (jr.esc_factor[k] if passed_on else 1.0) * jr.matter[k, intent]
        extra = jr.cold_extra if handed > 0 else 0.0
        guided = jr.guide_p[k] > 0 and t >= jr.guide_from[k] \
            and uniform(key, need, attempt, SLOT_GUIDE) < jr.guide_p[k]
        if guided:
            extra += jr.guide_extra[k]
        handle, prio, patience = _keyed_draw(ag, key, ag.code_q[k], need, attempt)
        if uniform(key, need, attempt, SLOT_AGENT_BACK) < jr.p_back[k, intent]:
            jr.ret[need] = exponential(jr.return_mean,
                                       uniform(key, need, attempt, SLOT_RETURN_DELAY))
        else:
            jr.ret[need] = np.nan
        cid = _add(c, ag, need, k, prio, attempt, esc, t, handle * scale + extra, np.nan, OPEN)
        if na <= SMALL and cid + 1 > limit:
            ag.clock[1] = t
            return False
        if guided:
            c.guided[cid] = 1
            jr.count[J_GUIDED] += 1
        push(ev, ag, now + max(t - now, 0.0), EV_ENTER, cid, 0, patience)
    return True


@njit(cache=True, inline="always")
def _learn(c, jr, st, now):
    """Journeys._learn: what customers learned from agent contacts answered since the last
    batch (the channel of the last success; guidance registers them)."""
    n = jr.count[J_ANSWERED]
    jr.count[J_ANSWERED] = 0
    for i in range(n):
        cid = jr.answered[i]
        need = c.need[cid]
        if need < jr.n_needs:
            st.ok[st.need_customer[need]] = c.channel[cid]
    if jr.count[J_GUIDED] > 0:
        for i in range(n):
            cid = jr.answered[i]
            need = c.need[cid]
            if need < jr.n_needs and c.guided[cid]:
                cust = st.need_customer[need]
                st.guided[cust] = 1
                st.registered_from[cust] = min(st.registered_from[cust], now)


@njit(cache=True, _nrt=False)   # called, not inlined: see the note above
def _batch(c, ev, ag, jr, st, tb, par, out, now, limit):
    """Journeys._batch: start every need of the coming hour and every come-back due in it."""
    end = now + jr.batch_s
    _learn(c, jr, st, now)
    a = jr.count[J_NEXT_NEED]
    b = np.searchsorted(jr.need_t, end, side="left")
    n = 0
    for i in range(a, b):
        jr.b_need[n], jr.b_t[n], jr.b_prev[n], jr.b_att[n], jr.b_esc[n] = i, jr.need_t[i], -1, 0, -1
        n += 1
    first_back = n
    while jr.count[J_DUE] > 0 and jr.due.t[0] < end:
        r = _heap_pop(jr.due, jr.count, J_DUE)
        jr.b_need[n], jr.b_t[n], jr.b_prev[n] = jr.due.a[r], max(jr.due.t[r], now), jr.due.b[r]
        jr.b_att[n], jr.b_esc[n] = jr.due.d[r], -1
        n += 1
    for i in range(first_back, n):
        st.bad[st.need_customer[jr.b_need[i]]] = jr.b_prev[i]
    if n and not _run_core(c, ev, ag, jr, st, tb, par, out, n, now, limit):
        return False
    jr.count[J_NEXT_NEED] = b
    jr.tick[0] = end
    if b < jr.n_needs or jr.count[J_DUE] > 0 or end < jr.horizon:
        push(ev, ag, now + jr.batch_s, EV_BATCH, 0, 0, 0.0)
    return True


# ------------------------------------------------------------------ the loop
@njit(cache=True, inline="always")
def _room(c, ev, ag, jr, out, margin):
    """-1 when every buffer but the random numbers' (:func:`_draw_budget`) has room for the
    next event, else the status asking for it: an event logs at most a batch's contacts (the
    core's output rows) and schedules at most an entry per agent contact, a come-back per
    need, and per agent slot an answer, its end and its matter's coming back."""
    rows_d, rows_a, rows_b = out.d_need.shape[0], out.a_t.shape[0], out.b_t.shape[0]
    if ag.count[N_CONTACTS] + rows_d + rows_a + 2 >= c.need.shape[0]:
        return GROW_CONTACTS
    if ag.count[N_EVENTS] + 2 * margin + rows_a + rows_b + 2 >= ev.t.shape[0]:
        return GROW_EVENTS
    if ag.count[N_STAFFED] + margin >= ag.st_t.shape[0]:
        return GROW_STAFFED
    if jr.active:
        if jr.count[J_DUE] + rows_b + margin + 2 >= jr.due.t.shape[0]:
            return GROW_DUE
        if jr.count[J_ANSWERED] + margin + 2 >= jr.answered.shape[0]:
            return GROW_ANSWERED
        if ev.kind[0] == EV_BATCH:
            ahead = np.searchsorted(jr.need_t, ev.t[0] + jr.batch_s, side="left") \
                - jr.count[J_NEXT_NEED] + jr.count[J_DUE]
            if ahead > rows_a:
                return GROW_OUT
    return -1


@njit(cache=True, inline="always")
def _draw_budget(ag, jr):
    """Events that surely find a random number in every buffer (each takes at most one from
    each): checked once per budget, not per event. Journeys draw by key: no limit."""
    if jr.active:
        return np.int64(1) << 62
    budget = np.int64(1) << 62
    for q in range(ag.q_code.shape[0]):
        for s in range(ag.draw_len.shape[1]):
            budget = min(budget, ag.draw_len[q, s] - ag.draw_pos[q, s] - 1)
    return budget


@njit(cache=True, inline="always")
def _expire(c, ev, ag, jr, st, tb, par, out, cid, redial, now, limit):
    """ChannelQueue._expire: abandon if still waiting, then redial or move on."""
    if c.outcome[cid] != OPEN:
        return True
    c.outcome[cid] = ABANDONED
    c.end[cid] = now
    if redial:
        q = ag.code_q[c.channel[cid]]
        if jr.active:
            delay = exponential(ag.q_redial_mean[q],
                                uniform(jr.key, c.need[cid], c.attempt[cid], SLOT_REDIAL_DELAY))
        else:
            delay = _draw(ag, q, D_REDIAL_DELAY)
        push(ev, ag, now + delay, EV_REDIAL, cid, 0, 0.0)
    elif jr.active:
        return _after_abandon(c, ev, ag, jr, st, tb, par, out, cid, now, limit)
    return True


@njit(cache=True, inline="always")
def _slots(c, ev, ag, jr, st, p, done, agents, now):
    """AgentPool._done (``done``: the freed slot takes the next contact, if any, else is
    free) and AgentPool._set_capacity (``agents`` from now: new slots take waiting
    contacts), in one place so the loop inlines the pull of a contact once."""
    if not done:
        ag.p_cap[p] = agents * ag.p_conc[p]
    while done or ag.p_busy[p] < ag.p_cap[p]:
        got = _pull(c, ev, ag, jr, st, p, now)
        if done:
            if not got:
                ag.p_busy[p] -= 1
            break
        if not got:
            break
        ag.p_busy[p] += 1
    if not done:
        _log_staffed(ag, p, now)


@njit(cache=True, _nrt=False, nogil=True)   # allocates nothing; releases the GIL (threads)
def run_loop(c, ev, ag, jr, st, tb, par, out, horizon, limit, margin):
    """Process events in order until the run ends (DONE) or a buffer needs the driver."""
    budget = _draw_budget(ag, jr)
    while ag.count[N_EVENTS] > 0:
        if ev.t[0] >= horizon:                 # SimPy's ``until`` comes first at the horizon
            return DONE
        status = _room(c, ev, ag, jr, out, margin)
        if status >= 0:
            return status
        if budget <= 0:
            budget = _draw_budget(ag, jr)
            if budget <= 0:
                return REFILL
        budget -= 1
        r = _pop(ev, ag)
        now = ev.t[r]
        ag.clock[0] = now
        kind, a, b, d, f = ev.kind[r], ev.a[r], ev.b[r], ev.d[r], ev.f[r]
        ok = True
        enter = -1                              # a contact entering its queue now
        if kind == EV_DONE and ag.p_busy[a] > ag.p_cap[a]:
            ag.p_busy[a] -= 1                   # AgentPool._done, an agent on overtime leaves
            _log_staffed(ag, a, now)
        elif kind == EV_DONE or kind == EV_CAPACITY:
            _slots(c, ev, ag, jr, st, a, kind == EV_DONE, f, now)
        elif kind == EV_ENTER:                  # ChannelQueue.enter
            enter, q, prio, patience = a, ag.code_q[c.channel[a]], c.priority[a], f
        elif kind == EV_ARRIVE or kind == EV_REDIAL:
            if kind == EV_ARRIVE:               # _ArrivalDriver._fire
                q, need, attempt = a, ag.arr_first[a] + b, np.int64(0)
            else:                               # ChannelQueue._redial
                q, need, attempt = ag.code_q[c.channel[a]], c.need[a], np.int64(c.attempt[a]) + 1
            enter, prio, patience = _arrival(c, ag, jr, q, need, attempt, now)
            if enter + 1 > limit:
                ag.clock[1] = now
                return TOO_MANY
        elif kind == EV_EXPIRE:
            ok = _expire(c, ev, ag, jr, st, tb, par, out, a, b, now, limit)
        elif kind == EV_BATCH:
            ok = _batch(c, ev, ag, jr, st, tb, par, out, now, limit)
        else:                                   # EV_BACK: Journeys._comes_back
            st.bad[st.need_customer[a]] = b
            jr.b_need[0], jr.b_t[0], jr.b_prev[0], jr.b_att[0], jr.b_esc[0] = a, now, b, d, -1
            ok = _run_core(c, ev, ag, jr, st, tb, par, out, np.int64(1), now, limit)
        if enter >= 0:
            ok = _enter(c, ev, ag, jr, st, tb, par, out, q, enter, prio, now, patience, limit)
        if kind == EV_ARRIVE and ok:            # the channel's next direct arrival
            j = ag.arr_off[a] + b + 1
            if j < ag.arr_off[a + 1]:
                push(ev, ag, now + (ag.arr_t[j] - now), EV_ARRIVE, a, b + 1, 0.0)
        if not ok:
            return TOO_MANY
    return DONE


@njit(cache=True)
def finish_queues(c, ag, horizon):
    """ChannelQueue.finish for every queue: contacts past their deadline abandoned."""
    for q in range(ag.q_code.shape[0]):
        for k in range(ag.q_classes[q]):
            cid = ag.q_head[q, k]
            while cid >= 0:
                if c.outcome[cid] == OPEN and c.deadline[cid] < horizon:
                    c.outcome[cid] = ABANDONED
                    c.end[cid] = c.deadline[cid]
                cid = c.next[cid]
            ag.q_head[q, k] = -1
            ag.q_tail[q, k] = -1
