"""Analytical staffing formulas: Erlang B, Erlang C (M/M/c) and Erlang A (M/M/c+M).

Units used throughout the public API
------------------------------------
* arrival rates are **contacts per hour** (``arrivals_per_hour``);
* handling times, answer targets and patience are **seconds**;
* offered load is in **Erlangs** (``A = lambda * AHT`` with consistent units,
  i.e. ``arrivals_per_hour / 3600 * aht_seconds``);
* probabilities, service levels and occupancy are fractions in ``[0, 1]``.

Definitions shared by :func:`erlang_c` and :func:`erlang_a`
-------------------------------------------------------------
* ``p_wait``: probability that an arriving contact finds all agents busy
  (by PASTA this equals the time-stationary ``P(N >= c)``).
* ``service_level``: ``P(answered AND wait <= target)`` over *all offered*
  contacts; contacts that abandon count in the denominator (they are misses).
* ``asa_seconds``: mean wait of *answered* contacts (those answered without
  waiting contribute a wait of zero).  ``inf`` for an unstable Erlang C system.
* ``p_abandon``: share of offered contacts that abandon (always 0 for Erlang C).
* ``occupancy``: mean number of busy agents divided by the number of agents.

Erlang A method (exact, no numerical integration)
--------------------------------------------------
The number in system ``N`` is a birth-death chain with
``pi_n ∝ A^n / n!`` (``n <= c``) and
``pi_{c+k} = pi_c * prod_{i=1..k} lambda / (c mu + i theta)``; it is evaluated in
log space (``gammaln`` for the head, a cumulative sum of log ratios for the
tail) and normalised with a log-sum-exp, so it is stable for thousands of
agents and for overloaded systems.  The whole sequence is log-concave, so the
tail is truncated once terms fall below ``1e-16`` of the largest term.

A tagged arrival that finds ``j = n - c`` contacts waiting ahead of it moves
from "k ahead" to "k-1 ahead" at rate ``a_k = c mu + k theta`` (``k = 0``: the
next completion serves it) and abandons at its own rate ``theta``.  Its
infinite-patience wait ``W_j = sum_{k=0..j} Exp(c mu + k theta)`` has Laplace
transform ``prod_k (beta + k) / (beta + k + s/theta)`` with ``beta = c mu /
theta``, which is the transform of ``-ln(U) / theta`` for
``U ~ Beta(beta, j + 1)``.  Its own patience is ``T ~ Exp(theta)`` independent
of ``W_j``, hence, with ``u0 = exp(-theta t)``:

* ``P(served | j) = E[U] = beta / (beta + j + 1) = c mu / (c mu + (j+1) theta)``
  (this equals the telescoping product ``h_j`` of the step-by-step recursion);
* ``P(served, wait <= t | j) = E[U 1{U >= u0}]
  = P(served | j) * I_{1-u0}(j + 1, beta + 1)`` (regularised incomplete beta);
* ``E[wait 1{served} | j] = P(served | j) * sum_{k=0..j} 1 / (c mu + (k+1) theta)``
  (conditionally on being served, the time spent with ``k`` ahead is
  ``Exp(c mu + (k+1) theta)``; this equals ``g_j`` of the recursion
  ``g_k = p_k (h_{k-1} / R_k + g_{k-1})``).

These closed forms are cross-checked in the tests against the recursion, a
matrix exponential of the tagged-customer generator, a linear solve of the
truncated full generator and an event simulation.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy.special import betainc, digamma, gammaln, logsumexp

__all__ = [
    "QueueFigures",
    "erlang_b",
    "erlang_c",
    "erlang_a",
    "min_agents",
]

SECONDS_PER_HOUR = 3600.0

#: Tail terms of the Erlang A stationary distribution smaller than this
#: fraction of the largest term are dropped.
TAIL_RELATIVE_CUTOFF = 1e-16
_LOG_TAIL_CUTOFF = math.log(TAIL_RELATIVE_CUTOFF)

#: Upper bound on the width of the window of waiting-line states kept for
#: Erlang A.  Only reached for heavily overloaded systems with an enormous mean
#: patience (the window is centred on the mode, its width ~ sqrt(A / eta)).
MAX_QUEUE_STATES = 1 << 22


@dataclass(frozen=True)
class QueueFigures:
    """Steady-state figures of a multi-agent queue.

    Attributes
    ----------
    agents:
        number of agents ``c``.
    offered_load_erlangs:
        ``A = lambda * AHT`` in Erlangs.
    p_wait:
        probability that an arriving contact finds all agents busy (PASTA).
    service_level:
        ``P(answered AND wait <= target)``; abandoned contacts are misses.
    asa_seconds:
        average speed of answer (mean wait of answered contacts), seconds;
        ``inf`` when an Erlang C system is unstable.
    p_abandon:
        share of offered contacts that abandon (0 for Erlang C).
    occupancy:
        mean number of busy agents divided by ``agents``.
    """

    agents: int
    offered_load_erlangs: float
    p_wait: float
    service_level: float
    asa_seconds: float
    p_abandon: float
    occupancy: float


# --------------------------------------------------------------------------
# argument validation
# --------------------------------------------------------------------------

def _real(name: str, value, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    x = float(value)
    if math.isnan(x):
        raise ValueError(f"{name} must be a number, got {value!r} (NaN is not allowed)")
    if math.isinf(x) and not allow_inf:
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def _non_negative(name: str, value, what: str = "") -> float:
    x = _real(name, value)
    if x < 0:
        raise ValueError(f"{name} must be >= 0{what}, got {value!r}")
    return x


def _positive(name: str, value, what: str = "", *, allow_inf: bool = False) -> float:
    x = _real(name, value, allow_inf=allow_inf)
    if not x > 0:
        raise ValueError(f"{name} must be > 0{what}, got {value!r}")
    return x


def _integer(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    n = int(value)
    if n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return n


def _fraction(name: str, value) -> float:
    x = _real(name, value)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return x


def _common_args(arrivals_per_hour, aht_seconds, answer_target_seconds):
    lam_h = _non_negative("arrivals_per_hour", arrivals_per_hour, " (contacts per hour)")
    aht = _positive("aht_seconds", aht_seconds, " (seconds)")
    target = _non_negative("answer_target_seconds", answer_target_seconds, " (seconds)")
    return lam_h, aht, target


def _patience(patience_seconds) -> float | None:
    """``None`` or ``inf`` mean "no abandonment"."""
    if patience_seconds is None:
        return None
    p = _positive(
        "patience_seconds",
        patience_seconds,
        " (mean patience in seconds; use None for no abandonment)",
        allow_inf=True,
    )
    return None if math.isinf(p) else p


# --------------------------------------------------------------------------
# Erlang B / C
# --------------------------------------------------------------------------

def erlang_b(load_erlangs: float, agents: int) -> float:
    """Erlang B blocking probability ``B(agents, load)`` of an M/M/c/c loss system.

    Parameters
    ----------
    load_erlangs:
        offered load ``A = lambda * mean holding time`` in Erlangs (>= 0).
    agents:
        number of servers ``c`` (integer >= 0; ``B(0, A) = 1``).

    Uses the numerically stable recursion ``B(0) = 1``,
    ``B(k) = A B(k-1) / (k + A B(k-1))`` (no factorials, no overflow).
    """
    a = _non_negative("load_erlangs", load_erlangs, " (Erlangs)")
    c = _integer("agents", agents, 0)
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def _erlang_c_figures(a: float, c: int, b: float, target: float, aht: float) -> QueueFigures:
    """Erlang C figures from the load, agents and the Erlang B value ``B(c, a)``."""
    if c <= a:
        return QueueFigures(
            agents=c,
            offered_load_erlangs=a,
            p_wait=1.0,
            service_level=0.0,
            asa_seconds=math.inf,
            p_abandon=0.0,
            occupancy=1.0,
        )
    p_wait = c * b / (c - a * (1.0 - b))
    p_wait = min(max(p_wait, 0.0), 1.0)
    sl = 1.0 - p_wait * math.exp(-(c - a) * target / aht)
    asa = p_wait * aht / (c - a)
    return QueueFigures(
        agents=c,
        offered_load_erlangs=a,
        p_wait=p_wait,
        service_level=min(max(sl, 0.0), 1.0),
        asa_seconds=asa,
        p_abandon=0.0,
        occupancy=a / c,
    )


def erlang_c(
    arrivals_per_hour: float,
    aht_seconds: float,
    agents: int,
    answer_target_seconds: float,
) -> QueueFigures:
    """Erlang C (M/M/c, infinite patience) figures.

    Parameters
    ----------
    arrivals_per_hour:
        Poisson arrival rate, contacts per hour (>= 0).
    aht_seconds:
        mean (exponential) handling time, seconds (> 0).
    agents:
        number of agents ``c`` (integer >= 1).
    answer_target_seconds:
        service-level answer target ``t``, seconds (>= 0).

    With ``A = lambda * AHT``: if ``c <= A`` the queue is unstable and
    ``p_wait = 1``, ``service_level = 0``, ``asa = inf``, ``occupancy = 1``.
    Otherwise ``p_wait = C = c B / (c - A (1 - B))`` (``B`` = Erlang B),
    ``service_level = 1 - C exp(-(c - A) t / AHT)``,
    ``asa = C AHT / (c - A)`` seconds and ``occupancy = A / c``.
    """
    lam_h, aht, target = _common_args(arrivals_per_hour, aht_seconds, answer_target_seconds)
    c = _integer("agents", agents, 1)
    a = lam_h / SECONDS_PER_HOUR * aht
    b = erlang_b(a, c) if c > a else 1.0
    return _erlang_c_figures(a, c, b, target, aht)


# --------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------

def _erlang_a_distribution(a: float, c: int, eta: float):
    """Stationary distribution of N for M/M/c+M in units of the service time.

    ``a`` = offered load (Erlangs, > 0), ``c`` = agents, ``eta = theta / mu`` =
    AHT / mean patience.  Returns ``(pi_head, j, pi_queue)`` where
    ``pi_head[n] = P(N = n)`` for ``n = 0..c-1`` and
    ``pi_queue[i] = P(N = c + j[i])``.  ``j`` always starts with 0 and is
    otherwise the contiguous window of queue lengths whose terms are at least
    ``TAIL_RELATIVE_CUTOFF`` times the largest term (the sequence is
    log-concave, so everything outside the window is below the cut-off).
    """
    n = np.arange(c + 1, dtype=float)
    log_head = n * math.log(a) - gammaln(n + 1.0)  # log(A^n / n!)
    log_pc = float(log_head[-1])
    log_a = math.log(a)
    beta = c / eta
    log_a_eta = log_a - math.log(eta)
    gl_beta1 = float(gammaln(beta + 1.0))

    def f(k: float) -> float:
        """log pi_{c+k} (unnormalised) in closed form: only used for searching."""
        return log_pc + k * log_a_eta - (float(gammaln(beta + k + 1.0)) - gl_beta1)

    # terms increase while A / (c + k eta) >= 1, i.e. up to k* = floor((A - c) / eta)
    k_star = int(math.floor((a - c) / eta)) if a > c else 0
    log_max = max(float(log_head.max()), f(k_star))
    thr = log_max + _LOG_TAIL_CUTOFF

    # k_hi: first k > k* whose term is below the threshold
    step = 1
    while f(k_star + step) >= thr:
        step *= 2
    lo, hi = k_star + step // 2, k_star + step  # f(lo) >= thr (or lo == k*), f(hi) < thr
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f(mid) >= thr:
            lo = mid
        else:
            hi = mid
    k_hi = hi
    # k_lo: first k >= 1 whose term reaches the threshold (1 if the head matters)
    if k_star <= 1 or f(1) >= thr:
        k_lo = 1
    else:
        lo, hi = 1, k_star  # f(lo) < thr <= f(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if f(mid) >= thr:
                hi = mid
            else:
                lo = mid
        k_lo = hi

    width = k_hi - k_lo
    if width > MAX_QUEUE_STATES:
        raise ValueError(
            "patience_seconds is too long for this overloaded system: the "
            f"waiting line would need {width} states, more than {MAX_QUEUE_STATES} "
            f"(offered load {a:.6g} Erlangs, agents {c}, AHT/patience {eta:.3g}); "
            "use a shorter patience or patience_seconds=None (Erlang C)"
        )
    k = np.arange(k_lo, k_hi, dtype=float)
    log_steps = log_a - np.log(c + k * eta)  # log(pi_{c+k} / pi_{c+k-1})
    # Work relative to the largest term: with long patience the log terms can
    # reach ~1e8 in absolute value, where a double only resolves ~1e-8.
    if k_lo == 1:
        log_tail = (log_pc - log_max) + np.cumsum(log_steps)
    else:  # anchor far out in the tail (the head is negligible here); the
        # anchor's rounding error is common to the whole window and cancels
        log_tail = (f(k_lo) - log_max) + np.concatenate([[0.0], np.cumsum(log_steps[1:])])
    log_all = np.concatenate([log_head - log_max, log_tail])
    pi = np.exp(log_all - logsumexp(log_all))
    j = np.concatenate([[0.0], k])
    return pi[:c], j, pi[c:]


def erlang_a(
    arrivals_per_hour: float,
    aht_seconds: float,
    agents: int,
    patience_seconds: float | None,
    answer_target_seconds: float,
) -> QueueFigures:
    """Erlang A (M/M/c+M: exponential patience, FCFS) figures.

    Parameters
    ----------
    arrivals_per_hour:
        Poisson arrival rate, contacts per hour (>= 0).
    aht_seconds:
        mean (exponential) handling time, seconds (> 0).
    agents:
        number of agents ``c`` (integer >= 1).
    patience_seconds:
        mean (exponential) patience of waiting contacts, seconds (> 0).
        ``None`` (or ``inf``) means no abandonment and returns
        :func:`erlang_c`.
    answer_target_seconds:
        service-level answer target, seconds (>= 0).

    The system is stable for any load.  ``p_wait = P(N >= c)``,
    ``p_abandon = theta E[queue] / lambda``, ``occupancy = E[min(N, c)] / c``,
    ``service_level = P(N < c) + sum_j pi_{c+j} P(served within t | j)`` and
    ``asa = sum_j pi_{c+j} E[wait 1{served} | j] / P(answered)``; see the module
    docstring for the exact closed forms used.
    """
    lam_h, aht, target = _common_args(arrivals_per_hour, aht_seconds, answer_target_seconds)
    c = _integer("agents", agents, 1)
    patience = _patience(patience_seconds)
    if patience is None:
        return erlang_c(lam_h, aht, c, target)

    a = lam_h / SECONDS_PER_HOUR * aht
    if a == 0.0:
        return QueueFigures(c, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)

    eta = aht / patience  # theta / mu
    pi_head, j, pi_q = _erlang_a_distribution(a, c, eta)

    p_free = float(pi_head.sum())  # P(N < c)
    p_wait = float(pi_q.sum())  # P(N >= c)
    mean_queue = float(np.dot(j, pi_q))
    p_abandon = min(1.0, eta * mean_queue / a)
    busy = float(np.dot(np.arange(c, dtype=float), pi_head)) + c * p_wait
    occupancy = min(1.0, busy / c)

    # tagged arrival finding j waiting ahead (times in units of AHT)
    beta = c / eta  # c mu / theta
    h = c / (c + (j + 1.0) * eta)  # P(served | j)
    # E[wait | served, j] / AHT = sum_{i=1..j+1} 1 / (c + i eta)
    if j.size < 2 or j[1] == 1.0:  # contiguous 0..J
        resid = np.cumsum(1.0 / (c + (j + 1.0) * eta))
    else:  # window starting far out: anchor with digamma, then accumulate
        anchor = (digamma(beta + j[1] + 2.0) - digamma(beta + 1.0)) / eta
        steps = np.cumsum(1.0 / (c + (j[2:] + 1.0) * eta))
        resid = np.concatenate([[1.0 / (c + eta)], anchor + np.concatenate([[0.0], steps])])
    g = h * resid  # E[wait 1{served} | j] / AHT
    x = -math.expm1(-target / patience)  # 1 - exp(-theta t)
    served_by_t = h * betainc(j + 1.0, beta + 1.0, x) if x > 0 else np.zeros_like(j)

    p_answered = p_free + float(np.dot(pi_q, h))
    service_level = p_free + float(np.dot(pi_q, served_by_t))
    asa = aht * float(np.dot(pi_q, g)) / p_answered if p_answered > 0 else 0.0

    return QueueFigures(
        agents=c,
        offered_load_erlangs=a,
        p_wait=min(max(p_wait, 0.0), 1.0),
        service_level=min(max(service_level, 0.0), 1.0),
        asa_seconds=asa,
        p_abandon=max(p_abandon, 0.0),
        occupancy=occupancy,
    )


# --------------------------------------------------------------------------
# staffing
# --------------------------------------------------------------------------

def min_agents(
    arrivals_per_hour: float,
    aht_seconds: float,
    answer_target_seconds: float,
    service_level_target: float,
    patience_seconds: float | None = None,
    max_agents: int = 10_000,
) -> int:
    """Fewest agents whose service level reaches ``service_level_target``.

    Parameters
    ----------
    arrivals_per_hour:
        contacts per hour (>= 0).
    aht_seconds:
        mean handling time, seconds (> 0).
    answer_target_seconds:
        answer target, seconds (>= 0).
    service_level_target:
        required ``P(answered within target)``, a fraction in ``[0, 1]``.
    patience_seconds:
        ``None`` (default) -> Erlang C, which additionally requires
        ``agents > offered load``; otherwise the mean patience in seconds and
        Erlang A is used.
    max_agents:
        search limit (integer >= 1); a ``ValueError`` is raised if the target
        cannot be met with at most this many agents.

    Erlang C: linear upward scan from ``floor(A) + 1`` carrying the Erlang B
    recursion along, so the cost is O(answer) in total.  Erlang A: the service
    level is non-decreasing in the number of agents, so a doubling search
    followed by bisection is used (O(log answer) evaluations).
    """
    lam_h, aht, target = _common_args(arrivals_per_hour, aht_seconds, answer_target_seconds)
    sl_target = _fraction("service_level_target", service_level_target)
    patience = _patience(patience_seconds)
    limit = _integer("max_agents", max_agents, 1)
    a = lam_h / SECONDS_PER_HOUR * aht

    def unreachable() -> ValueError:
        return ValueError(
            f"service_level_target={service_level_target!r} cannot be reached with "
            f"max_agents={max_agents!r} agents (offered load {a:.6g} Erlangs); "
            "raise max_agents or lower the target"
        )

    if patience is None:
        first = math.floor(a) + 1
        if first > limit:
            raise unreachable()
        b = 1.0
        for k in range(1, limit + 1):
            ab = a * b
            b = ab / (k + ab)
            if k >= first:
                if _erlang_c_figures(a, k, b, target, aht).service_level >= sl_target:
                    return k
        raise unreachable()

    def ok(k: int) -> bool:
        return erlang_a(lam_h, aht, k, patience, target).service_level >= sl_target

    lo, hi = 0, 1  # invariant: lo fails (0 agents never serve), hi is the probe
    while not ok(hi):
        if hi >= limit:
            raise unreachable()
        lo, hi = hi, min(2 * hi, limit)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
