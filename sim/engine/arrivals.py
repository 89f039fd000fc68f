"""Non-stationary Poisson arrivals from month, weekday and hour-of-day profiles."""

from __future__ import annotations

import datetime as _dt

import numpy as np

from .scenario import Profile

__all__ = ["calendar_hours", "hourly_rates", "poisson_arrivals"]


def calendar_hours(start_date: str, n_hours: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(month 0–11, weekday 0=Monday–6, hour 0–23) of each simulated hour from ``start_date``."""
    start = np.datetime64(_dt.date.fromisoformat(start_date), "h")
    t = start + np.arange(n_hours).astype("timedelta64[h]")
    month = t.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (t.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    hour = t.astype(np.int64) % 24
    return month, weekday, hour


def hourly_rates(arrivals_per_hour: float, profile: Profile, start_date: str,
                 n_hours: int) -> np.ndarray:
    """Arrival rate (per hour) in each simulated hour: base rate × month × weekday × hour."""
    month, weekday, hour = calendar_hours(start_date, n_hours)
    return (arrivals_per_hour * np.asarray(profile.month)[month]
            * np.asarray(profile.weekday)[weekday] * np.asarray(profile.hour)[hour])


def poisson_arrivals(rng: np.random.Generator, rates_per_hour: np.ndarray,
                     horizon_seconds: float) -> np.ndarray:
    """Sorted arrival times (seconds) of a Poisson process, constant rate within each hour.

    The last hour is cut at ``horizon_seconds``.
    """
    starts = np.arange(len(rates_per_hour)) * 3600.0
    lengths = np.clip(horizon_seconds - starts, 0.0, 3600.0)
    counts = rng.poisson(rates_per_hour * lengths / 3600.0)
    times = np.repeat(starts, counts) + rng.random(counts.sum()) * np.repeat(lengths, counts)
    return np.sort(times)
