"""Customers and their needs over the run, drawn in bulk with numpy.

Nothing here depends on what happens in the run, so it is drawn before the
run starts, each source from its own stream: the accounts (segment,
registration, API integration, joining time) and the needs (time, customer,
intent). Only the journeys (:mod:`sim.engine.journey`) are path-dependent.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

import numpy as np

from .arrivals import calendar_hours
from .journey_spec import Customers, GuidanceCampaign, Needs, ProactiveNotifications

__all__ = ["Population", "build_population", "NeedArrivals", "draw_needs", "day_index",
           "HOURS_PER_YEAR"]

HOURS_PER_YEAR = 8760.0


def day_index(start_date: str, date: str) -> int:
    """Days from the scenario start to ``date`` (negative if before)."""
    return (_dt.date.fromisoformat(date) - _dt.date.fromisoformat(start_date)).days


@dataclass(frozen=True)
class Population:
    """Accounts: segment code, registered, API integration, joining time (s; 0 = from
    the start), and the time from which each is registered (s; inf: not during the run)."""

    segment: np.ndarray
    registered: np.ndarray
    api: np.ndarray
    join_s: np.ndarray
    registered_from: np.ndarray


def build_population(spec: Customers, horizon_s: float, rng: np.random.Generator,
                     campaign: GuidanceCampaign | None = None,
                     reminder_rng: np.random.Generator | None = None) -> Population:
    """Existing accounts plus accounts created at a steady rate during the run.

    A guidance ``campaign`` raises the registered share of new accounts (the
    invitation) and registers some of the rest ``reminder_days`` after they
    join (the reminder, drawn from ``reminder_rng``); the same uniforms decide
    registration with or without it, so scenarios share their customers.
    """
    seg = list(spec.segments.values())
    n_new = rng.poisson(spec.new_accounts_per_year * horizon_s / 3600.0 / HOURS_PER_YEAR)
    n = spec.accounts + n_new
    join = np.r_[np.zeros(spec.accounts), np.sort(rng.random(n_new) * horizon_s)]
    shares = np.array([s.share for s in seg])
    segment = np.searchsorted(np.cumsum(shares / shares.sum())[:-1], rng.random(n), side="right")
    new = np.arange(n) >= spec.accounts
    gain = campaign.invitation_registration_gain if campaign else 0.0
    reg_share = np.where(new, np.minimum(np.array([s.new_registered_share for s in seg])[segment]
                                         + gain, 1.0),
                         np.array([s.registered_share for s in seg])[segment])
    registered = rng.random(n) < reg_share
    api = rng.random(n) < np.array([s.api_share for s in seg])[segment]
    registered_from = np.where(registered, join, np.inf)
    if campaign is not None and campaign.reminder_registration_share > 0 and reminder_rng:
        reminded = new & ~registered & (reminder_rng.random(n) < campaign.reminder_registration_share)
        registered_from[reminded] = join[reminded] + campaign.reminder_days * 86400.0
    return Population(segment.astype(np.int8), registered, api, join, registered_from)


@dataclass(frozen=True)
class NeedArrivals:
    """Needs sorted by time: arrival (s), customer id, intent code."""

    time_s: np.ndarray
    customer: np.ndarray
    intent: np.ndarray


def _profile(needs: Needs, start_date: str, n_hours: int) -> np.ndarray:
    """Hourly multipliers, normalised so that a year starting at ``start_date`` averages 1."""
    def raw(n):
        month, weekday, hour = calendar_hours(start_date, n)
        return (np.asarray(needs.month)[month] * np.asarray(needs.weekday)[weekday]
                * np.asarray(needs.hour)[hour])
    mean = raw(int(HOURS_PER_YEAR)).mean()
    return raw(n_hours) / mean if mean > 0 else raw(n_hours)


def _day_factors(cv: float, n_days: int, rng: np.random.Generator) -> np.ndarray:
    """Lognormal day-level volume factors of mean 1 and coefficient of variation ``cv``."""
    if cv <= 0:
        return np.ones(n_days)
    sigma = math.sqrt(math.log1p(cv * cv))
    return rng.lognormal(-sigma * sigma / 2.0, sigma, n_days)


def _event_multipliers(needs: Needs, start_date: str, n_hours: int) -> np.ndarray:
    """(hours × intents) need-rate multipliers of the dated events."""
    names = list(needs.intents)
    mult = np.ones((n_hours, len(names)))
    hour_day = np.arange(n_hours) // 24
    for ev in needs.events:
        a, b = day_index(start_date, ev.start_date), day_index(start_date, ev.end_date)
        rows = (hour_day >= a) & (hour_day <= b)
        cols = [names.index(i) for i in ev.intents] if ev.intents else list(range(len(names)))
        mult[np.ix_(rows, cols)] *= ev.need_factor
    return mult


def draw_needs(needs: Needs, customers: Customers, pop: Population, start_date: str,
               horizon_s: float, streams,
               notify: ProactiveNotifications | None = None) -> NeedArrivals:
    """Needs of the run: per hour and intent a Poisson count, then a customer each.

    Rate in hour h for intent i: Σ_segments active accounts × needs_per_year /
    8760 × profile(h) × day factor × intent share × event multipliers. The
    customer is drawn in proportion to the segments' need rates among accounts
    that have joined by then.

    Proactive notifications (``notify``) then drop needs: of their intents with
    probability ``need_reduction``, and of an event's extra needs (the part
    above 1 of its need factor) with ``event_need_reduction``. Every need
    draws its uniform from its own stream whether or not a scenario thins, so
    the needs that remain are the same needs as without notifications.
    """
    n_hours = math.ceil(horizon_s / 3600.0)
    seg = list(customers.segments.values())
    hour_start = np.arange(n_hours) * 3600.0
    per_seg = [np.sort(pop.join_s[pop.segment == k]) for k in range(len(seg))]
    active = np.stack([np.searchsorted(j, hour_start, side="right") for j in per_seg], axis=1)
    seg_rate = active * np.array([s.needs_per_year for s in seg]) / HOURS_PER_YEAR
    days = _day_factors(needs.day_factor_cv, n_hours // 24 + 1, streams.rng("needs.day_factor"))
    base = seg_rate.sum(axis=1) * _profile(needs, start_date, n_hours) * days[np.arange(n_hours) // 24]
    shares = np.array([i.share for i in needs.intents.values()])
    lengths = np.clip(horizon_s - hour_start, 0.0, 3600.0) / 3600.0
    events = _event_multipliers(needs, start_date, n_hours)
    lam = base[:, None] * shares[None, :] * events
    rng = streams.rng("needs.arrivals")
    counts = rng.poisson(lam * lengths[:, None])
    hour_of = np.repeat(np.repeat(np.arange(n_hours), len(shares)), counts.ravel())
    intent = np.repeat(np.tile(np.arange(len(shares)), n_hours), counts.ravel())
    t = hour_start[hour_of] + rng.random(hour_of.size) * 3600.0 * lengths[hour_of]
    order = np.argsort(t, kind="stable")
    t, intent, hour_of = t[order], intent[order], hour_of[order]
    customer = _pick_customers(t, hour_of, seg_rate, per_seg, pop, streams.rng("needs.customer"))
    keep = customer >= 0
    if notify is not None and (notify.need_reduction > 0 or notify.event_need_reduction > 0):
        names = list(needs.intents)
        drop = np.zeros(len(t))
        listed = np.isin(intent, [names.index(i) for i in notify.intents])
        drop[listed] = notify.need_reduction
        f = events[hour_of, intent]
        extra = np.where(f > 1.0, (f - 1.0) / f, 0.0) * notify.event_need_reduction
        drop = 1.0 - (1.0 - drop) * (1.0 - extra)
        keep &= streams.rng("needs.notifications").random(len(t)) >= drop
    return NeedArrivals(t[keep], customer[keep], intent[keep].astype(np.int8))


def _pick_customers(t, hour_of, seg_rate, per_seg, pop, rng) -> np.ndarray:
    """A customer per need: a segment by its need rate, then an account that has joined."""
    w = seg_rate[hour_of]
    total = w.sum(axis=1)
    cum = np.cumsum(w, axis=1) / np.where(total > 0, total, 1.0)[:, None]
    segment = (rng.random(len(t))[:, None] > cum).sum(axis=1)
    segment = np.minimum(segment, len(per_seg) - 1)
    u = rng.random(len(t))
    customer = np.full(len(t), -1, dtype=np.int64)
    for k, joins in enumerate(per_seg):
        m = segment == k
        n_active = np.searchsorted(joins, t[m], side="right")
        ids = np.flatnonzero(pop.segment == k)[np.argsort(pop.join_s[pop.segment == k],
                                                          kind="stable")]
        idx = np.minimum((u[m] * n_active).astype(np.int64), np.maximum(n_active - 1, 0))
        customer[m] = np.where(n_active > 0, ids[idx] if ids.size else -1, -1)
    return customer
