"""The compiled core of customer journeys: choice and digital steps for a batch of needs.

:func:`advance` runs each need of a batch through the channels that need no
agent until it is resolved, given up, or reaches an agent channel; it is the
hot path of :mod:`sim.engine.journey` and is compiled with numba.

Random numbers are counter-based (:mod:`sim.engine.counter_rng`): keyed by need,
attempt and the purpose of the draw, so a need gets the same numbers whatever
other needs did.

Outcome codes are those of :mod:`sim.engine.log`; channel codes those of the scenario's
registry (:mod:`sim.engine.channels`), passed in :class:`CoreParams` — the core names no
channel. Its inputs are three records (named tuples, which numba compiles as
records): :class:`CoreParams` (the choice model's constants and the channels'
roles), :class:`CoreTables` (lookup tables of the scenario, built once,
:mod:`sim.engine.journey_tables`) and :class:`CustomerState` (what customers know and
are, per replication); its outputs go to :class:`CoreOut` buffers.

:mod:`sim.engine.journey_reference` is the same core in plain, unhurried Python; a test
runs both on the same batches and compares them contact for contact.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .counter_rng import (
    SLOT_BACK,
    SLOT_BOOKING,
    SLOT_DELAY,
    SLOT_DETAIL,
    SLOT_GIVE_UP,
    SLOT_LOGIN,
    SLOT_SUCCESS,
    choice_key,
    uniform,
)

# The helpers are inlined into ``advance`` (``inline="always"``): the records are passed
# by value between compiled functions, and copying them per choice would cost more than
# the choice itself.
#
# ``advance`` is compiled without numba's reference counting (``_nrt=False``). It allocates
# nothing and returns nothing: it reads and writes arrays its caller owns for the whole
# call. With counting on, every use of a record's array (``tb.u0[...]``) and every inlined
# helper taking a record adds an atomic increment and decrement of the array's count —
# a third of the core's time, and why the record-based core ran about 1.5x slower than
# the earlier one of plain array arguments. Should the core ever allocate an array,
# numba refuses to compile it ("NRT required but not enabled"): it cannot go wrong
# silently. ``_nrt`` is numba's own switch, long-standing though not in its public docs.

__all__ = ["advance", "booked_time", "CoreParams", "CoreTables", "CustomerState", "CoreOut",
           "N_OUT", "RESOLVED", "FAILED", "OPEN", "ESCALATED", "WAIT"]

RESOLVED, FAILED, OPEN, ESCALATED = 0, 2, 3, 4
#: added to a channel code by :func:`choose`: wait for the channel's next opening
WAIT = 1 << 8
#: counters in ``CoreOut.counts``: digital rows, agent requests, come-backs, escalation marks
N_OUT = 4


class CoreParams(NamedTuple):
    """The choice model's constants and each channel's role in the journey core.

    Codes are registry codes (-1: the scenario has no such channel); per-channel
    arrays are indexed by code.
    """

    success_bonus: float          # utility of the channel where the customer last succeeded
    failure_penalty: float        # … subtracted for where the customer last failed
    give_up_utility: float
    give_up_per_attempt: float
    max_attempts: int
    webshop_target_share: float   # share of webshop orders that are target products
    hard_to_use_share: float      # of portal failures that are not a login: "hard to use"
    return_delay_s: float         # mean delay before a matter not really resolved comes back
    horizon_s: float              # end of the run
    retry_penalty: float          # utility off the channel that just failed, per attempt
    wait_utility: float           # of waiting for a closed channel's opening …
    wait_per_hour: float          # … and per hour until it opens
    wait_spread_s: float          # an awaited contact comes within this long of the opening
    bot: int                      # the chatbot (hands over when not contained)
    handover_to: int              # the channel the bot hands over to (-1: no hand-over)
    handover_utility: float       # of that hand-over, right after a failed bot session
    bot_in_front: bool            # a customer opening the hand-over channel meets the bot first
    webshop: int                  # records whether an order is a target product
    portal: int                   # records why a failed portal action failed
    passed_on: np.ndarray         # (int8) a failure here passes the matter on (harder contact)
    lead_s: np.ndarray            # booked channels: lead time (s) before the booked call; -1: not booked
    login_only_from: np.ndarray   # from this time (s) only logged-in customers can use it
    login_only_first: float       # the earliest of those (inf: no channel is ever so)
    needs_login: np.ndarray       # (int8) a portal login first, which may fail
    is_digital: np.ndarray        # (bool) settled in the core, no agent


class CoreTables(NamedTuple):
    """Lookup tables of one scenario and run length (:mod:`sim.engine.journey_tables`)."""

    u0: np.ndarray                # static logit utility [segment, intent, channel]
    after: np.ndarray             # [failed channel + 1, channel or give-up (last)]
    guided_bonus: np.ndarray      # [channel]: after an agent's guidance to self-service
    breaks: np.ndarray            # times (s) where what is open changes …
    time_mask: np.ndarray         # … and the bit mask of open channels from each
    book_mask: np.ndarray         # … booked channels that can be booked (a later opening)
    wait_mask: np.ndarray         # … closed channels a customer can wait for
    next_open: np.ndarray         # [break, channel] when a closed channel opens next (s)
    cust_mask: np.ndarray         # [registered × 2 + api]: channels a customer may use
    success: np.ndarray           # [channel, intent] digital success
    scale: np.ndarray             # [channel, day] success factor of dated events
    login_fail: np.ndarray        # [segment] portal login failure probability
    login_add: np.ndarray         # [day] more login failures of dated events
    session: np.ndarray           # [channel] session length (s) of a digital contact
    fcr: np.ndarray               # [channel, intent] a resolved matter stays resolved


class CustomerState(NamedTuple):
    """Customers and needs of one replication; ``ok``/``bad``/``guided`` change as they learn."""

    segment: np.ndarray           # [customer]
    registered_from: np.ndarray   # [customer] time (s) registered for self-service; inf: not
    api: np.ndarray               # [customer] 1: has an API integration
    ok: np.ndarray                # [customer] channel of the last success (-1)
    bad: np.ndarray               # [customer] channel of the last failure (-1)
    guided: np.ndarray            # [customer] 1: guided to self-service by an agent
    need_customer: np.ndarray     # [need]
    need_intent: np.ndarray       # [need]


class CoreOut(NamedTuple):
    """Output buffers of :func:`advance` (see there)."""

    d_need: np.ndarray
    d_channel: np.ndarray
    d_attempt: np.ndarray
    d_t: np.ndarray
    d_end: np.ndarray
    d_esc: np.ndarray
    d_outcome: np.ndarray
    d_target: np.ndarray
    d_reason: np.ndarray
    a_req: np.ndarray             # [row, 6]: channel, need, attempt, escalated_from, failed
    a_t: np.ndarray               #   channel, bot hand-over flag; a_t: its time
    b_req: np.ndarray             # [row, 3]: need, channel, attempt of a come-back; b_t: time
    b_t: np.ndarray
    marks: np.ndarray             # earlier contacts to mark escalated
    counts: np.ndarray            # N_OUT counters


def new_out(capacity: int, max_attempts: int) -> CoreOut:
    """Buffers for batches of up to ``capacity`` needs."""
    rows = capacity * (max_attempts + 1)
    i8 = np.int64
    return CoreOut(np.empty(rows, i8), np.empty(rows, i8), np.empty(rows, i8), np.empty(rows),
                   np.empty(rows), np.empty(rows, i8), np.empty(rows, i8), np.empty(rows, i8),
                   np.empty(rows, i8), np.empty((capacity, 6), i8), np.empty(capacity),
                   np.empty((capacity, 3), i8), np.empty(capacity), np.empty(capacity, i8),
                   np.zeros(N_OUT, i8))


@njit(cache=True, inline="always")
def available(c, t, st, tb, par):
    """(channels customer c can use at time t, closed ones c can wait for, the break index
    of t), the first two as bit masks; a booked channel counts as usable when it can be
    booked."""
    i = np.searchsorted(tb.breaks, t, side="right") - 1
    reg = 1 if t >= st.registered_from[c] else 0
    allowed = tb.cust_mask[reg * 2 + st.api[c]]
    if reg == 0 and t >= par.login_only_first:
        for k in range(par.login_only_from.shape[0]):
            if t >= par.login_only_from[k]:
                allowed &= ~(1 << k)
    return (tb.time_mask[i] | tb.book_mask[i]) & allowed, tb.wait_mask[i] & allowed, i


@njit(cache=True)
def booked_time(t, u, k, breaks, time_mask, spread_s=np.inf):
    """The time of a contact booked (or awaited) in channel k for t or later: t if k is open
    then, else evenly (uniform u) over the first ``spread_s`` of k's next opening window;
    inf if none."""
    n = breaks.shape[0]
    i = np.searchsorted(breaks, t, side="right") - 1
    if (time_mask[i] >> k) & 1:
        return t
    j = i + 1
    while j < n and not (time_mask[j] >> k) & 1:
        j += 1
    if j >= n:
        return np.inf
    m = j
    while m + 1 < n and (time_mask[m + 1] >> k) & 1:
        m += 1
    end = breaks[m + 1] if m + 1 < n else breaks[j] + 86400.0
    return breaks[j] + u * min(end - breaks[j], spread_s)


@njit(cache=True, inline="always")
def choose(c, intent, t, mask, wait, i, prev, attempt, key, ckey, need, st, tb, par):
    """A channel by the multinomial logit (``WAIT`` + its code: wait for its opening), or
    -1 to give up.

    Drawn by the Gumbel-max rule: each option's utility plus its own Gumbel
    noise (one counter-based draw per option: channel k's under ``ckey`` =
    :func:`choice_key` with slot k — now, or waiting for it, never both —
    giving up's under ``key``), the largest wins. This is exactly the logit,
    and a change to one option's utility only moves the needs that switch to or
    from that option.
    """
    if attempt >= par.max_attempts:
        return -1
    n_ch = tb.u0.shape[2]
    best = -np.inf
    pick = -1
    for k in range(n_ch):
        now = (mask >> k) & 1
        if now or (wait >> k) & 1:
            v = tb.u0[st.segment[c], intent, k] + tb.after[prev + 1, k]
            if k == st.ok[c]:
                v += par.success_bonus
            if k == st.bad[c]:
                v -= par.failure_penalty
            if k == prev:
                v -= par.retry_penalty * attempt
            if st.guided[c]:
                v += tb.guided_bonus[k]
            if not now:
                v += par.wait_utility + par.wait_per_hour * (tb.next_open[i, k] - t) / 3600.0
            elif prev == par.bot and k == par.handover_to:
                v += par.handover_utility
            v -= math.log(-math.log(uniform(ckey, need, attempt, k)))
            if v > best:
                best = v
                pick = k if now else k + WAIT
    if attempt > 0 or pick < 0:
        v = par.give_up_utility + par.give_up_per_attempt * attempt + tb.after[prev + 1, n_ch]
        v -= math.log(-math.log(uniform(key, need, attempt, SLOT_GIVE_UP)))
        if v > best:
            pick = -1
    return pick


@njit(cache=True, inline="always")
def _settle_digital(k, need, attempt, intent, seg, day, key, tb, par):
    """(resolved, target product, failure reason) of a digital contact."""
    target = -1
    reason = -1
    if par.needs_login[k]:
        if uniform(key, need, attempt, SLOT_LOGIN) < tb.login_fail[seg] + tb.login_add[day]:
            return False, target, 0                       # "not working": the login failed
    resolved = uniform(key, need, attempt, SLOT_SUCCESS) < tb.success[k, intent] * tb.scale[k, day]
    if resolved and k == par.webshop:
        target = 1 if uniform(key, need, attempt, SLOT_DETAIL) < par.webshop_target_share else 0
    elif not resolved and k == par.portal:
        reason = 1 if uniform(key, need, attempt, SLOT_DETAIL) < par.hard_to_use_share else 2
    return resolved, target, reason


@njit(cache=True, _nrt=False)  # no reference counting: see the note above the records
def advance(need_b, t_b, prev_b, attempt_b, esc_b, base_id, st, tb, par, key, out):
    """Run a batch of needs (``*_b``: need, time, failed channel, attempts, escalate-from).

    Each need goes through digital channels until it is resolved, given up, or
    reaches an agent channel (:func:`_walk`). Outputs, counted in ``out.counts``:
    digital contact rows ``out.d_*`` (ids ``base_id + row``); agent requests
    ``out.a_req`` at times ``out.a_t``; come-backs ``out.b_req`` at times
    ``out.b_t``; ``out.marks``: earlier contacts to mark escalated. ``key``: the
    random key (see module).
    """
    ckey = choice_key(key)
    out.counts[:] = 0
    for j in range(need_b.shape[0]):
        _walk(need_b[j], t_b[j], prev_b[j], attempt_b[j], esc_b[j], base_id, st, tb, par, key,
              ckey, out)


@njit(cache=True, inline="always")
def _walk(need, t, prev, attempt, esc, base_id, st, tb, par, key, ckey, out):
    """One need from time t until it reaches an agent, is resolved or given up. A customer
    whose next step would fall at or after the end of the run takes none: the contact before
    it is left OPEN (the matter was still open when the run ended), not escalated to a contact
    that never comes."""
    c = st.need_customer[need]
    intent = st.need_intent[need]
    while True:
        if t >= par.horizon_s:
            _left_open(out, esc, base_id)
            return
        mask, wait, i = available(c, t, st, tb, par)
        k = choose(c, intent, t, mask, wait, i, prev, attempt, key, ckey, need, st, tb, par)
        if k < 0:
            return
        if (k == par.handover_to and par.bot_in_front and prev != par.bot
                and (mask >> par.bot) & 1 and tb.u0[st.segment[c], intent, par.bot] > -np.inf):
            k = par.bot                                   # the bot answers the chat first
        if esc >= 0:
            _escalated(out, esc, base_id)
        if k >= WAIT or not par.is_digital[k]:
            _to_agent(k, need, attempt, esc, prev, t, base_id, tb, par, key, out)
            return
        row, t_end = _digital_contact(k, need, attempt, intent, c, t, esc, st, tb, par, key, out)
        if out.d_outcome[row] == RESOLVED:
            st.ok[c] = k
            if uniform(key, need, attempt, SLOT_BACK) < 1.0 - tb.fcr[k, intent]:
                back = t_end - par.return_delay_s * math.log(
                    1.0 - uniform(key, need, attempt, SLOT_DELAY))
                _come_back(out, need, k, attempt + 1, back)
            return
        st.bad[c] = k
        prev = k
        attempt += 1
        esc = base_id + row
        t = t_end


@njit(cache=True, inline="always")
def _digital_contact(k, need, attempt, intent, c, t, esc, st, tb, par, key, out):
    """Settle a digital contact now and write its row: (row, end time)."""
    day = min(int(t // 86400.0), tb.scale.shape[1] - 1)
    resolved, target, reason = _settle_digital(k, need, attempt, intent, st.segment[c], day,
                                               key, tb, par)
    t_end = t + tb.session[k]
    row = out.counts[0]
    out.counts[0] += 1
    out.d_need[row] = need
    out.d_channel[row] = k
    out.d_attempt[row] = attempt
    out.d_t[row] = t
    out.d_end[row] = t_end
    out.d_esc[row] = esc
    out.d_outcome[row] = RESOLVED if resolved else FAILED
    out.d_target[row] = target
    out.d_reason[row] = reason
    return row, t_end


@njit(cache=True, inline="always")
def _to_agent(k, need, attempt, esc, prev, t, base_id, tb, par, key, out):
    """An agent contact asked for: now; at the booked time (a booked channel, lead time
    ahead); or at the next opening (``WAIT`` + code). One right after a failed bot session
    in the hand-over channel is the bot's hand-over. A time at or after the end of the run:
    the matter is still open then, nothing is asked."""
    wait = k >= WAIT
    k = k - WAIT if wait else k
    if wait or par.lead_s[k] >= 0:
        u = uniform(key, need, attempt, SLOT_BOOKING)
        if wait:
            t = booked_time(t, u, k, tb.breaks, tb.time_mask, par.wait_spread_s)
        else:
            t = booked_time(t + par.lead_s[k], u, k, tb.breaks, tb.time_mask)
        if t >= par.horizon_s:
            _left_open(out, esc, base_id)
            return
    handed = 1 if (not wait and prev == par.bot and k == par.handover_to) else 0
    _request(out, k, need, attempt, esc, prev, handed, t)


@njit(cache=True, inline="always")
def _left_open(out, esc, base_id):
    """The need's last contact (of this batch) stays OPEN: its next step is after the run."""
    if esc >= base_id:
        out.d_outcome[esc - base_id] = OPEN


@njit(cache=True, inline="always")
def _escalated(out, esc, base_id):
    """The contact the customer moves on from was escalated (an older one: marked later)."""
    if esc >= base_id:
        out.d_outcome[esc - base_id] = ESCALATED
    else:
        out.marks[out.counts[3]] = esc
        out.counts[3] += 1


@njit(cache=True, inline="always")
def _come_back(out, need, k, attempt, t):
    """The matter resolved in channel k comes back at time t, one attempt later."""
    row = out.counts[2]
    out.b_req[row, 0] = need
    out.b_req[row, 1] = k
    out.b_req[row, 2] = attempt
    out.b_t[row] = t
    out.counts[2] += 1


@njit(cache=True, inline="always")
def _request(out, k, need, attempt, esc, prev, handed, t):
    """An agent contact asked for: channel k at time t (``a_req`` columns, see CoreOut)."""
    row = out.counts[1]
    out.a_req[row, 0] = k
    out.a_req[row, 1] = need
    out.a_req[row, 2] = attempt
    out.a_req[row, 3] = esc
    out.a_req[row, 4] = prev
    out.a_req[row, 5] = handed
    out.a_t[row] = t
    out.counts[1] += 1
