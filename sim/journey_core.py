"""The compiled core of customer journeys: choice and digital steps for a batch of needs.

:func:`advance` runs each need of a batch through the channels that need no
agent until it is resolved, given up, or reaches an agent channel; it is the
hot path of :mod:`sim.journey` and is compiled with numba. It draws its random
numbers from a block of uniforms that the caller fills from its own numpy
stream, so the stream discipline (one stream per source) is kept.

Outcome and channel codes are those of :mod:`sim.log` and
:data:`sim.journey_spec.CHANNELS`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["advance", "N_OUT"]

PHONE, APPOINTMENT, CHAT, SERVICE_REQUEST, BOT, SELFSERVICE, WEBSHOP = 0, 1, 2, 3, 4, 5, 6
USER_ADMIN = 9
N_CH = 10
RESOLVED, FAILED, OPEN, ESCALATED = 0, 2, 3, 4
#: counters in ``counts``: digital rows, agent requests, come-backs, escalation marks, uniforms used
N_OUT = 5


@njit(cache=True)
def _mask(c, t, c_reg, c_api, breaks, time_mask, cust_mask, chat_login_from):
    """Bit mask of the channels customer c can use at time t."""
    m = time_mask[np.searchsorted(breaks, t, side="right") - 1]
    reg = c_reg[c]
    m &= cust_mask[reg * 2 + c_api[c]]
    if reg == 0 and t >= chat_login_from:
        m &= ~(1 << CHAT)
    return m


@njit(cache=True)
def _choose(c, intent, mask, prev, attempt, u, c_seg, c_ok, c_bad, c_guided, u0, after,
            guided_bonus, par):
    """A channel by the multinomial logit (one uniform ``u``), or -1 to give up."""
    if attempt >= par[4]:
        return -1
    util = np.empty(N_CH + 1)
    best = -np.inf
    options = 0
    for k in range(N_CH):
        if (mask >> k) & 1:
            v = u0[c_seg[c], intent, k] + after[prev + 1, k]
            if k == c_ok[c]:
                v += par[0]
            if k == c_bad[c]:
                v -= par[1]
            if c_guided[c]:
                v += guided_bonus[k]
            util[k] = v
            options += 1
            best = max(best, v)
        else:
            util[k] = -np.inf
    if attempt > 0 or options == 0:
        util[N_CH] = par[2] + par[3] * attempt + after[prev + 1, N_CH]
        best = max(best, util[N_CH])
    else:
        util[N_CH] = -np.inf
    total = 0.0
    for k in range(N_CH + 1):
        util[k] = math.exp(util[k] - best) if util[k] > -np.inf else 0.0
        total += util[k]
    target = u * total
    acc = 0.0
    last = -1
    for k in range(N_CH + 1):
        if util[k] > 0.0:
            last = k
            acc += util[k]
            if target < acc:
                return -1 if k == N_CH else k
    return -1 if last == N_CH else last


@njit(cache=True)
def advance(need_b, t_b, prev_b, attempt_b, esc_b, base_id,
            c_seg, c_reg, c_api, c_ok, c_bad, c_guided, need_c, need_i,
            u0, after, guided_bonus, par, breaks, time_mask, cust_mask,
            success, scale, login_fail, login_add, session, fcr, is_digital,
            uniforms, cursor,
            d_need, d_channel, d_attempt, d_t, d_end, d_esc, d_outcome, d_target, d_reason,
            a_req, a_t, b_req, b_t, marks, counts):
    """Run a batch of needs (``*_b``: need, time, failed channel, attempts, escalate-from).

    ``par``: success bonus, failure penalty, give-up utility, give-up per
    attempt, max attempts, logged-in-only chat from (s), webshop target share,
    hard-to-use share, bot hand-over on (>0), mean return delay (s), end of
    the run (s). A customer whose next step would fall at or after the end of
    the run takes none: the contact before it is left OPEN (the matter was
    still open when the run ended), not escalated to a contact that never comes.
    Outputs, counted in ``counts``: digital contact rows ``d_*`` (ids
    ``base_id + row``); agent requests ``a_req`` (channel, need, attempt,
    escalated_from, failed channel, bot hand-over flag) at times ``a_t``;
    come-backs ``b_req`` (need, channel, attempt) at times ``b_t``; ``marks``:
    earlier contacts to mark escalated; and the uniforms used (new cursor).
    """
    nd = 0
    na = 0
    nb = 0
    nm = 0
    cur = cursor
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
            k = _choose(c, intent, mask, prev, attempt, uniforms[cur], c_seg, c_ok, c_bad,
                        c_guided, u0, after, guided_bonus, par)
            cur += 1
            if k < 0:
                break
            if esc >= 0:
                if esc >= base_id:
                    d_outcome[esc - base_id] = ESCALATED
                else:
                    marks[nm] = esc
                    nm += 1
            if not is_digital[k]:
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
                if uniforms[cur] < login_fail[seg] + login_add[day]:
                    login_failed = True
                    reason = 0
                cur += 1
            if not login_failed:
                resolved = uniforms[cur] < success[k, intent] * scale[k, day]
                cur += 1
                if resolved and k == WEBSHOP:
                    target = 1 if uniforms[cur] < par[6] else 0
                    cur += 1
                elif not resolved and k == SELFSERVICE:
                    reason = 1 if uniforms[cur] < par[7] else 2
                    cur += 1
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
                if uniforms[cur] < 1.0 - fcr[k, intent]:
                    b_t[nb] = t_end - par[9] * math.log(1.0 - uniforms[cur + 1])
                    b_req[nb, 0] = need
                    b_req[nb, 1] = k
                    b_req[nb, 2] = attempt + 1
                    nb += 1
                cur += 2
                break
            c_bad[c] = k
            if k == BOT and par[8] > 0 and t_end < par[10]:
                m_end = _mask(c, t_end, c_reg, c_api, breaks, time_mask, cust_mask, par[5])
                if (m_end >> CHAT) & 1:
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
    counts[4] = cur
