"""The journey core in plain Python: a readable reference for :func:`sim.engine.journey_core.advance`.

Same inputs, same outputs, same counter-based random numbers — written to be read, not to be
fast (about a hundred times slower). A test runs a journey scenario with each core and
compares the contact logs contact for contact (``tests/test_journeys.py``); the driver takes
either (``Journeys(…, core=advance_reference)``).

One need's walk, as the module docstring of :mod:`sim.engine.journey` tells it:

1. at time t, the customer sees the channels open to them (opening hours, registration, API,
   logged-in-only channels; a booked channel whenever it can be booked) and the closed ones
   they could wait for (phone and chat until they open), and chooses one by the logit (or
   gives up);
2. an agent channel ends the walk here: the need is handed to the agent engine (a booked
   channel at its booked time, an awaited one at its opening; chat right after a failed bot
   session is the bot's hand-over);
3. a digital channel settles at once: resolved (maybe coming back later) or failed; the
   customer then chooses again after the session, with one attempt more and the failed
   channel remembered.
"""

from __future__ import annotations

import math

import numpy as np

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
from .journey_core import ESCALATED, FAILED, OPEN, RESOLVED, WAIT, booked_time

__all__ = ["advance_reference"]

_uniform = uniform.py_func
_choice_key = choice_key.py_func
_booked_time = booked_time.py_func
DAY = 86400.0
GIVE_UP = -1


def _draw(key, need, attempt, slot) -> float:
    with np.errstate(over="ignore"):          # the hash multiplies modulo 2**64
        return _uniform(key, need, attempt, slot)


def _gumbel(u: float) -> float:
    return -math.log(-math.log(u))


class _Outputs:
    """The rows one batch writes, counted as it goes (see :class:`sim.engine.journey_core.CoreOut`)."""

    def __init__(self, out, base_id: int):
        self.out, self.base_id = out, base_id
        self.digital = self.agent = self.back = self.marks = 0

    def digital_contact(self, need, k, attempt, t, t_end, esc, outcome, target, reason) -> int:
        o, row = self.out, self.digital
        o.d_need[row], o.d_channel[row], o.d_attempt[row] = need, k, attempt
        o.d_t[row], o.d_end[row], o.d_esc[row] = t, t_end, esc
        o.d_outcome[row], o.d_target[row], o.d_reason[row] = outcome, target, reason
        self.digital += 1
        return row

    def set_outcome(self, contact_id: int, outcome: int) -> None:
        """Mark an earlier contact: in this batch's rows, or (an older one) for the driver."""
        if contact_id >= self.base_id:
            self.out.d_outcome[contact_id - self.base_id] = outcome
        elif outcome == ESCALATED:
            self.out.marks[self.marks] = contact_id
            self.marks += 1

    def agent_request(self, k, need, attempt, esc, prev, handed, t) -> None:
        self.out.a_req[self.agent] = (k, need, attempt, esc, prev, handed)
        self.out.a_t[self.agent] = t
        self.agent += 1

    def come_back(self, need, k, attempt, t) -> None:
        self.out.b_req[self.back] = (need, k, attempt)
        self.out.b_t[self.back] = t
        self.back += 1

    def close(self) -> None:
        self.out.counts[:] = (self.digital, self.agent, self.back, self.marks)


class _World:
    """What the customer can see and what channels do, read from the tables by name."""

    def __init__(self, st, tb, par, key):
        self.st, self.tb, self.par, self.key = st, tb, par, key
        self.choice_key = _choice_key(key)
        self.n_channels = tb.u0.shape[2]

    def options(self, customer: int, t: float) -> list[tuple[int, bool]]:
        """(code, now) of the channels this customer can use at t (now: True; a booked
        channel whenever it can be booked) or wait for (now: False), in code order."""
        tb, st, par = self.tb, self.st, self.par
        period = int(np.searchsorted(tb.breaks, t, side="right")) - 1
        registered = t >= st.registered_from[customer]
        allowed = int(tb.cust_mask[2 * registered + st.api[customer]])
        usable = int(tb.time_mask[period]) | int(tb.book_mask[period])
        out = []
        for k in range(self.n_channels):
            logged_in_only = t >= par.login_only_from[k]
            if not allowed >> k & 1 or (logged_in_only and not registered):
                continue
            if usable >> k & 1:
                out.append((k, True))
            elif int(tb.wait_mask[period]) >> k & 1:
                out.append((k, False))
        return out

    def utility(self, customer, intent, k, now, t, failed_channel, attempt) -> float:
        st, tb, par = self.st, self.tb, self.par
        u = tb.u0[st.segment[customer], intent, k] + tb.after[failed_channel + 1, k]
        if k == st.ok[customer]:
            u += par.success_bonus                 # worked last time
        if k == st.bad[customer]:
            u -= par.failure_penalty               # failed last time
        if k == failed_channel:
            u -= par.retry_penalty * attempt       # trying the same again, less willing each time
        if st.guided[customer]:
            u += tb.guided_bonus[k]                # an agent showed the way to self-service
        if not now:                                # closed: wait for it to open
            period = int(np.searchsorted(tb.breaks, t, side="right")) - 1
            u += par.wait_utility + par.wait_per_hour * (tb.next_open[period, k] - t) / 3600.0
        elif failed_channel == par.bot and k == par.handover_to:
            u += par.handover_utility              # the bot offers to hand the matter over
        return u

    def choose(self, need, customer, intent, t, failed_channel, attempt) -> int:
        """The option with the highest utility + Gumbel noise (a channel's code, ``WAIT`` +
        its code to wait for it), or GIVE_UP."""
        if attempt >= self.par.max_attempts:
            return GIVE_UP
        scored = {k if now else k + WAIT:
                  self.utility(customer, intent, k, now, t, failed_channel, attempt)
                  + _gumbel(_draw(self.choice_key, need, attempt, k))
                  for k, now in self.options(customer, t)}
        scored = {k: v for k, v in scored.items() if v > -math.inf}   # not offered to this need
        best = max(scored, key=lambda k: (scored[k], -(k % WAIT))) if scored else GIVE_UP
        best_value = scored[best] if scored else -math.inf
        if attempt > 0 or best == GIVE_UP:         # never giving up before a first try
            give_up = (self.par.give_up_utility + self.par.give_up_per_attempt * attempt
                       + self.tb.after[failed_channel + 1, self.n_channels]
                       + _gumbel(_draw(self.key, need, attempt, SLOT_GIVE_UP)))
            if give_up > best_value:
                return GIVE_UP
        return best

    def settle_digital(self, k, need, attempt, intent, segment, day):
        """(resolved, target product or -1, failure reason or -1) of a digital contact."""
        tb, par, key = self.tb, self.par, self.key
        if par.needs_login[k] and _draw(key, need, attempt, SLOT_LOGIN) \
                < tb.login_fail[segment] + tb.login_add[day]:
            return False, -1, 0                    # "not working": the login failed
        resolved = _draw(key, need, attempt, SLOT_SUCCESS) < tb.success[k, intent] * tb.scale[k, day]
        target = reason = -1
        if resolved and k == par.webshop:
            target = int(_draw(key, need, attempt, SLOT_DETAIL) < par.webshop_target_share)
        elif not resolved and k == par.portal:
            reason = 1 if _draw(key, need, attempt, SLOT_DETAIL) < par.hard_to_use_share else 2
        return resolved, target, reason


def _walk(world: _World, rows: _Outputs, need, t, failed_channel, attempt, esc) -> None:
    """One need, from time t, until it reaches an agent, is resolved or given up."""
    st, tb, par, key = world.st, world.tb, world.par, world.key
    customer, intent = st.need_customer[need], st.need_intent[need]
    while True:
        if t >= par.horizon_s:                     # the next step would be after the run
            if esc >= rows.base_id:
                rows.set_outcome(esc, OPEN)
            return
        k = world.choose(need, customer, intent, t, failed_channel, attempt)
        if k == GIVE_UP:
            return
        if k == par.handover_to and par.bot_in_front and failed_channel != par.bot \
                and (par.bot, True) in world.options(customer, t) \
                and tb.u0[st.segment[customer], intent, par.bot] > -math.inf:
            k = par.bot                            # the bot answers the chat first
        if esc >= 0:
            rows.set_outcome(esc, ESCALATED)
        if k >= WAIT or not par.is_digital[k]:
            _to_agent(rows, par, tb, key, k, need, attempt, esc, failed_channel, t)
            return
        day = min(int(t // DAY), tb.scale.shape[1] - 1)
        resolved, target, reason = world.settle_digital(k, need, attempt, intent,
                                                        st.segment[customer], day)
        t_end = t + tb.session[k]
        row = rows.digital_contact(need, k, attempt, t, t_end, esc,
                                   RESOLVED if resolved else FAILED, target, reason)
        if resolved:
            st.ok[customer] = k
            if _draw(key, need, attempt, SLOT_BACK) < 1.0 - tb.fcr[k, intent]:
                delay = -par.return_delay_s * math.log(1.0 - _draw(key, need, attempt, SLOT_DELAY))
                rows.come_back(need, k, attempt + 1, t_end + delay)
            return
        st.bad[customer] = k
        failed_channel, attempt, esc, t = k, attempt + 1, rows.base_id + row, t_end


def _to_agent(rows: _Outputs, par, tb, key, k, need, attempt, esc, failed_channel, t) -> None:
    """Hand the need to an agent channel: now, at the booked time (lead time ahead), or at the
    channel's next opening (waiting); nothing if that is after the run (the matter stays
    open). Chat right after a failed bot session is the bot's hand-over."""
    waiting = k >= WAIT
    k = k - WAIT if waiting else k
    if waiting or par.lead_s[k] >= 0:
        u = _draw(key, need, attempt, SLOT_BOOKING)
        t = _booked_time(t, u, k, tb.breaks, tb.time_mask, par.wait_spread_s) if waiting \
            else _booked_time(t + par.lead_s[k], u, k, tb.breaks, tb.time_mask, math.inf)
        if t >= par.horizon_s:
            if esc >= rows.base_id:
                rows.set_outcome(esc, OPEN)
            return
    handed = int(not waiting and failed_channel == par.bot and k == par.handover_to)
    rows.agent_request(k, need, attempt, esc, failed_channel, handed, t)


def advance_reference(need_b, t_b, prev_b, attempt_b, esc_b, base_id, st, tb, par, key,
                      out) -> None:
    """:func:`sim.engine.journey_core.advance`, in plain Python."""
    world, rows = _World(st, tb, par, int(key)), _Outputs(out, base_id)
    for j in range(len(need_b)):
        _walk(world, rows, int(need_b[j]), float(t_b[j]), int(prev_b[j]), int(attempt_b[j]),
              int(esc_b[j]))
    rows.close()
