"""The compiled core of customer journeys: choice and digital steps for a batch of needs.

:func:`advance` runs each need of a batch through the channels that need no
agent until it is resolved, given up, or reaches an agent channel; it is the
hot path of :mod:`sim.journey` and is compiled with numba.

Random numbers are counter-based (:mod:`sim.counter_rng`): keyed by need,
attempt and the purpose of the draw, so a need gets the same numbers whatever
other needs did.

Outcome and channel codes are those of :mod:`sim.log` and
:data:`sim.journey_spec.CHANNELS`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .counter_rng import (
    choice_key,
    SLOT_BACK,
    SLOT_BOOKING,
    SLOT_DELAY,
    SLOT_DETAIL,
    SLOT_GIVE_UP,
    SLOT_LOGIN,
    SLOT_SUCCESS,
    uniform,
)

__all__ = ["advance", "N_OUT"]

PHONE, APPOINTMENT, CHAT, SERVICE_REQUEST, BOT, SELFSERVICE, WEBSHOP = 0, 1, 2, 3, 4, 5, 6
USER_ADMIN = 9
N_CH = 10
RESOLVED, FAILED, OPEN, ESCALATED = 0, 2, 3, 4
#: counters in ``counts``: digital rows, agent requests, come-backs, escalation marks
N_OUT = 4


@njit(cache=True)
def _mask(c, t, c_reg, c_api, breaks, time_mask, cust_mask, chat_login_from):
    """Bit mask of the channels customer c can use at time t."""
    m = time_mask[np.searchsorted(breaks, t, side="right") - 1]
    reg = 1 if t >= c_reg[c] else 0
    m &= cust_mask[reg * 2 + c_api[c]]
    if reg == 0 and t >= chat_login_from:
        m &= ~(1 << CHAT)
    return m


@njit(cache=True)
def booked_time(t, u, k, breaks, time_mask):
    """The time of a contact booked in channel k for t or later: t if k is open then,
    else evenly (uniform u) over k's next opening window; inf if none."""
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
    return breaks[j] + u * (end - breaks[j])


@njit(cache=True)
def _choose(c, intent, mask, prev, attempt, key, ckey, need, c_seg, c_ok, c_bad, c_guided, u0, after,
            guided_bonus, par):
    """A channel by the multinomial logit, or -1 to give up.

    Drawn by the Gumbel-max rule: each option's utility plus its own Gumbel
    noise (one counter-based draw per option), the largest wins. This is
    exactly the logit, and a change to one option's utility only moves the
    needs that switch to or from that option.
    """
    if attempt >= par[4]:
        return -1
    best = -np.inf
    pick = -1
    for k in range(N_CH):
        if (mask >> k) & 1:
            v = u0[c_seg[c], intent, k] + after[prev + 1, k]
            if k == c_ok[c]:
                v += par[0]
            if k == c_bad[c]:
                v -= par[1]
            if c_guided[c]:
                v += guided_bonus[k]
            v -= math.log(-math.log(uniform(ckey, need, attempt, k)))
            if v > best:
                best = v
                pick = k
    if attempt > 0 or pick < 0:
        v = par[2] + par[3] * attempt + after[prev + 1, N_CH]
        v -= math.log(-math.log(uniform(key, need, attempt, SLOT_GIVE_UP)))
        if v > best:
            pick = -1
    return pick


@njit(cache=True)
def advance(need_b, t_b, prev_b, attempt_b, esc_b, base_id,
            c_seg, c_reg, c_api, c_ok, c_bad, c_guided, need_c, need_i,
            u0, after, guided_bonus, par, breaks, time_mask, cust_mask,
            success, scale, login_fail, login_add, session, fcr, is_digital,
            key,
            d_need, d_channel, d_attempt, d_t, d_end, d_esc, d_outcome, d_target, d_reason,
            a_req, a_t, b_req, b_t, marks, counts):
    """Run a batch of needs (``*_b``: need, time, failed channel, attempts, escalate-from).

    ``par``: success bonus, failure penalty, give-up utility, give-up per
    attempt, max attempts, logged-in-only chat from (s), webshop target share,
    hard-to-use share, bot hand-over on (>0), mean return delay (s), end of
    the run (s), appointment lead time (s; the call is at the booked time).
    A customer whose next step would fall at or after the end of the run
    takes none: the contact before it is left OPEN (the matter was still open
    when the run ended), not escalated to a contact that never comes.
    Outputs, counted in ``counts``: digital contact rows ``d_*`` (ids
    ``base_id + row``); agent requests ``a_req`` (channel, need, attempt,
    escalated_from, failed channel, bot hand-over flag) at times ``a_t``;
    come-backs ``b_req`` (need, channel, attempt) at times ``b_t``; ``marks``:
    earlier contacts to mark escalated. ``key``: the random key (see module).
    """
    ckey = choice_key(key)
    nd = 0
    na = 0
    nb = 0
    nm = 0
    n_days = scale.shape[1]
    for j in range(need_b.shape[0]):
        need = need_b[j]
        t = t_b[j]
        prev = prev_b[j]
        attempt = attempt_b[j]
        esc = esc_b[j]
        c = need_c[need]
        intent = need_i[need]
        while True:
            if t >= par[10]:
                if esc >= base_id:
                    d_outcome[esc - base_id] = OPEN
                break
            mask = _mask(c, t, c_reg, c_api, breaks, time_mask, cust_mask, par[5])
            k = _choose(c, intent, mask, prev, attempt, key, ckey, need, c_seg, c_ok, c_bad,
                        c_guided, u0, after, guided_bonus, par)
            if k < 0:
                break
            if esc >= 0:
                if esc >= base_id:
                    d_outcome[esc - base_id] = ESCALATED
                else:
                    marks[nm] = esc
                    nm += 1
            if not is_digital[k]:
                if k == APPOINTMENT and par[11] > 0:     # the booked time, lead time ahead
                    t = booked_time(t + par[11], uniform(key, need, attempt, SLOT_BOOKING), k,
                                    breaks, time_mask)
                    if t >= par[10]:                    # after the end of the run: still open
                        if esc >= base_id:
                            d_outcome[esc - base_id] = OPEN
                        break
                a_req[na, 0] = k
                a_req[na, 1] = need
                a_req[na, 2] = attempt
                a_req[na, 3] = esc
                a_req[na, 4] = prev
                a_req[na, 5] = 0
                a_t[na] = t
                na += 1
                break
            day = min(int(t // 86400.0), n_days - 1)
            seg = c_seg[c]
            resolved = False
            target = -1
            reason = -1
            login_failed = False
            if k == SELFSERVICE or k == USER_ADMIN:
                if uniform(key, need, attempt, SLOT_LOGIN) < login_fail[seg] + login_add[day]:
                    login_failed = True
                    reason = 0
            if not login_failed:
                resolved = (uniform(key, need, attempt, SLOT_SUCCESS)
                            < success[k, intent] * scale[k, day])
                if resolved and k == WEBSHOP:
                    target = 1 if uniform(key, need, attempt, SLOT_DETAIL) < par[6] else 0
                elif not resolved and k == SELFSERVICE:
                    reason = 1 if uniform(key, need, attempt, SLOT_DETAIL) < par[7] else 2
            t_end = t + session[k]
            row = nd
            nd += 1
            d_need[row] = need
            d_channel[row] = k
            d_attempt[row] = attempt
            d_t[row] = t
            d_end[row] = t_end
            d_esc[row] = esc
            d_outcome[row] = RESOLVED if resolved else FAILED
            d_target[row] = target
            d_reason[row] = reason
            if resolved:
                c_ok[c] = k
                if uniform(key, need, attempt, SLOT_BACK) < 1.0 - fcr[k, intent]:
                    b_t[nb] = t_end - par[9] * math.log(
                        1.0 - uniform(key, need, attempt, SLOT_DELAY))
                    b_req[nb, 0] = need
                    b_req[nb, 1] = k
                    b_req[nb, 2] = attempt + 1
                    nb += 1
                break
            c_bad[c] = k
            if k == BOT and par[8] > 0 and t_end < par[10]:
                m_end = _mask(c, t_end, c_reg, c_api, breaks, time_mask, cust_mask, par[5])
                if (m_end >> CHAT) & 1 and u0[c_seg[c], intent, CHAT] > -np.inf:
                    d_outcome[row] = ESCALATED
                    a_req[na, 0] = CHAT
                    a_req[na, 1] = need
                    a_req[na, 2] = attempt + 1
                    a_req[na, 3] = base_id + row
                    a_req[na, 4] = BOT
                    a_req[na, 5] = 1
                    a_t[na] = t_end
                    na += 1
                    break
            prev = k
            attempt += 1
            esc = base_id + row
            t = t_end
    counts[0] = nd
    counts[1] = na
    counts[2] = nb
    counts[3] = nm
