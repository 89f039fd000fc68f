"""Counter-based random numbers for customer journeys: one number per (need, attempt, purpose).

Each draw is a hash (splitmix64) of a key, the need, the contact's attempt
number and the purpose of the draw (a *slot*). A need therefore gets the same
numbers whatever other needs did, so two scenarios run with the same seed
differ only where their difference acts: common random numbers need by need,
not only stream by stream. The key comes from the ``journey.core`` stream of
:mod:`sim.engine.streams`; each slot is in effect its own independent stream, so the
one-stream-per-source discipline holds.

Slots 0–5 are the journey core's (login, success, detail, come-back, its
delay, the choice's noise of giving up); 16 and up are the agent side's
(handle time, priority class, patience, guidance, come-back after an agent,
its delay, redial, redial delay, the delay before moving on, the booked time
of an appointment). The choice's noise of channel k is keyed apart from all
purposes: under :func:`choice_key` of the key, with slot = the channel's code
(< :data:`sim.engine.channels.MAX_CHANNELS`), so a scenario with more channels reuses no purpose's
numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["uniform", "uniforms", "exponential", "exponentials", "contact_draw",
           "contact_draws", "choice_key"]

SLOT_LOGIN, SLOT_SUCCESS, SLOT_DETAIL, SLOT_BACK, SLOT_DELAY, SLOT_GIVE_UP = 0, 1, 2, 3, 4, 5
(SLOT_HANDLE, SLOT_HANDLE_2, SLOT_PRIORITY, SLOT_PATIENCE, SLOT_GUIDE, SLOT_AGENT_BACK,
 SLOT_RETURN_DELAY, SLOT_REDIAL, SLOT_REDIAL_DELAY, SLOT_SWITCH_DELAY, SLOT_BOOKING) = range(16, 27)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_CHOICE_DOMAIN = np.uint64(0x63686F6963650001)   # "choice", 1


@njit(cache=True)
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def choice_key(key):
    """The key of the choice's per-channel noise: a domain of its own, derived from ``key``."""
    return np.int64(_mix(np.uint64(key) ^ _CHOICE_DOMAIN) >> np.uint64(1))


@njit(cache=True)
def uniform(key, need, attempt, slot):
    """A uniform on [0, 1) for (need, attempt, slot < 32) under ``key`` (splitmix64)."""
    z = _mix(np.uint64(key) + np.uint64((need << 24) | (attempt << 5) | slot) * _GOLDEN)
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def uniforms(key, need, attempt, slot):
    """:func:`uniform` for arrays of needs and attempts (int64)."""
    out = np.empty(need.shape[0])
    for i in range(need.shape[0]):
        out[i] = uniform(key, need[i], attempt[i], slot)
    return out


@njit(cache=True)
def exponential(mean, u):
    """An exponential duration of the given mean from a uniform (``inf`` mean: never)."""
    if mean == np.inf:
        return np.inf
    return -mean * np.log1p(-u)


@njit(cache=True)
def contact_draw(key, need, attempt, dist, mean, mu, sigma, cum_shares, patience_mean):
    """(handle s, priority class, patience s) of the contact (need, attempt).

    ``dist``: 0 fixed (``mean``), 1 exponential (``mean``), 2 lognormal
    (``mu``, ``sigma``; the normal by Box–Muller from two uniforms);
    ``cum_shares``: cumulative shares of the priority classes but the last.
    """
    if dist == 0:
        handle = mean
    elif dist == 1:
        handle = exponential(mean, uniform(key, need, attempt, SLOT_HANDLE))
    else:
        u1 = 1.0 - uniform(key, need, attempt, SLOT_HANDLE)
        u2 = uniform(key, need, attempt, SLOT_HANDLE_2)
        handle = np.exp(mu + sigma * np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2))
    prio = 0
    if cum_shares.shape[0]:
        prio = np.searchsorted(cum_shares, uniform(key, need, attempt, SLOT_PRIORITY),
                               side="right")
    return handle, prio, exponential(patience_mean, uniform(key, need, attempt, SLOT_PATIENCE))


@njit(cache=True)
def contact_draws(key, need, attempt, dist, mean, mu, sigma, cum_shares, patience_mean):
    """:func:`contact_draw` for arrays of contacts."""
    n = need.shape[0]
    handle, prio, patience = np.empty(n), np.empty(n, np.int64), np.empty(n)
    for i in range(n):
        handle[i], prio[i], patience[i] = contact_draw(key, need[i], attempt[i], dist, mean, mu,
                                                       sigma, cum_shares, patience_mean)
    return handle, prio, patience


@njit(cache=True)
def exponentials(key, need, attempt, slot, mean):
    """:func:`exponential` of :func:`uniform` for arrays of needs and attempts."""
    out = np.empty(need.shape[0])
    for i in range(need.shape[0]):
        out[i] = exponential(mean, uniform(key, need[i], attempt[i], slot))
    return out
