"""The journey core in plain Python: a readable reference for :func:`sim.engine.journey_core.advance`.

Same inputs, same outputs, same counter-based random numbers — written to be read, not to be
fast (about a hundred times slower). A test runs a journey scenario with each core and
compares the contact logs contact for contact (``tests/test_journeys.py``); the driver takes
either (``Journeys(…, core=advance_reference)``).

One need's walk, as the module docstring of :mod:`sim.engine.journey` tells it:

1. at time t, the customer sees the channels open to them (opening hours, registration, API,
   logged-in-only channels) and chooses one by the logit (or gives up);
2. an agent channel ends the walk here: the need is handed to the agent engine (a booked
   channel at its booked time);
3. a digital channel settles at once: resolved (maybe coming back later) or failed; a failed
   bot session may be handed over to chat; otherwise the customer chooses again after the
   session, with one attempt more and the failed channel remembered.
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
from .journey_core import ESCALATED, FAILED, OPEN, RESOLVED, booked_time

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

    def open_channels(self, customer: int, t: float) -> list[int]:
        """Codes of the channels this customer can use at t, in code order."""
        tb, st, par = self.tb, self.st, self.par
        period = int(np.searchsorted(tb.breaks, t, side="right")) - 1
        registered = t >= st.registered_from[customer]
        allowed = int(tb.time_mask[period]) & int(tb.cust_mask[2 * registered
                                                                + st.api[customer]])
        out = []
        for k in range(self.n_channels):
            logged_in_only = t >= par.login_only_from[k]
            if allowed >> k & 1 and (registered or not logged_in_only):
                out.append(k)
        return out

    def utility(self, customer, intent, k, failed_channel) -> float:
        st, tb, par = self.st, self.tb, self.par
        u = tb.u0[st.segment[customer], intent, k] + tb.after[failed_channel + 1, k]
        if k == st.ok[customer]:
            u += par.success_bonus                 # worked last time
        if k == st.bad[customer]:
            u -= par.failure_penalty               # failed last time
        if st.guided[customer]:
            u += tb.guided_bonus[k]                # an agent showed the way to self-service
        return u

    def choose(self, need, customer, intent, t, failed_channel, attempt) -> int:
        """The channel with the highest utility + Gumbel noise, or GIVE_UP."""
        if attempt >= self.par.max_attempts:
            return GIVE_UP
        scored = {k: self.utility(customer, intent, k, failed_channel)
                  + _gumbel(_draw(self.choice_key, need, attempt, k))
                  for k in self.open_channels(customer, t)}
        scored = {k: v for k, v in scored.items() if v > -math.inf}   # not offered to this need
        best = max(scored, key=lambda k: (scored[k], -k)) if scored else GIVE_UP
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
        if esc >= 0:
            rows.set_outcome(esc, ESCALATED)
        if not par.is_digital[k]:
            if par.lead_s[k] > 0:                  # booked: the call is at the booked time
                t = _booked_time(t + par.lead_s[k], _draw(key, need, attempt, SLOT_BOOKING), k,
                                 tb.breaks, tb.time_mask)
                if t >= par.horizon_s:
                    if esc >= rows.base_id:
                        rows.set_outcome(esc, OPEN)
                    return
            rows.agent_request(k, need, attempt, esc, failed_channel, 0, t)
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
        chat = par.handover_to
        if k == par.bot and chat >= 0 and t_end < par.horizon_s \
                and chat in world.open_channels(customer, t_end) \
                and tb.u0[st.segment[customer], intent, chat] > -math.inf:
            rows.set_outcome(rows.base_id + row, ESCALATED)
            rows.agent_request(chat, need, attempt + 1, rows.base_id + row, k, 1, t_end)
            return
        failed_channel, attempt, esc, t = k, attempt + 1, rows.base_id + row, t_end


def advance_reference(need_b, t_b, prev_b, attempt_b, esc_b, base_id, st, tb, par, key,
                      out) -> None:
    """:func:`sim.engine.journey_core.advance`, in plain Python."""
    world, rows = _World(st, tb, par, int(key)), _Outputs(out, base_id)
    for j in range(len(need_b)):
        _walk(world, rows, int(need_b[j]), float(t_b[j]), int(prev_b[j]), int(attempt_b[j]),
              int(esc_b[j]))
    rows.close()
