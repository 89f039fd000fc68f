"""Weekly time windows (shifts, opening hours) laid out over the simulated horizon.

Times are seconds from the scenario's ``start_date`` at 00:00.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import math

import numpy as np

__all__ = ["windows", "step_levels", "OpenCheck", "open_check"]


def windows(start_date: str, horizon_seconds: float, start_hour: float, end_hour: float,
            weekdays: tuple[int, ...]) -> list[tuple[float, float]]:
    """The [open, close) windows, in seconds, of a weekly pattern over the horizon.

    A window starting the day before the run (a night shift) is included when
    it reaches into the run.
    """
    first_weekday = _dt.date.fromisoformat(start_date).weekday()
    days = math.ceil(horizon_seconds / 86400.0) + 1
    out = []
    for day in range(-1, days):
        if (first_weekday + day) % 7 not in weekdays:
            continue
        a, b = (day * 24 + start_hour) * 3600.0, (day * 24 + end_hour) * 3600.0
        if b > 0 and a < horizon_seconds:
            out.append((max(a, 0.0), min(b, horizon_seconds)))
    return out


def step_levels(changes: list[tuple[float, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Turn (time, +/- delta) pairs into a step function: change times and the level from each.

    The first time is always 0.0; equal times are merged.
    """
    if not changes:
        return np.array([0.0]), np.array([0])
    t = np.array([c[0] for c in changes] + [0.0])
    d = np.array([c[1] for c in changes] + [0])
    order = np.argsort(t, kind="stable")
    times, idx = np.unique(t[order], return_index=True)
    level = np.cumsum(d[order])
    # level after all changes at each unique time: take the last index of each group
    last = np.r_[idx[1:] - 1, len(order) - 1]
    return times, level[last]


class OpenCheck:
    """Answers "is the channel open at time t?" from its opening windows."""

    def __init__(self, wins: list[tuple[float, float]], always: bool):
        self.always = always
        self._starts = [w[0] for w in wins]
        self._ends = [w[1] for w in wins]

    def bounds(self) -> tuple[list[float], list[float]]:
        """The opening windows' starts and ends (sorted; empty when always open)."""
        return self._starts, self._ends

    def edges(self) -> list[float]:
        """Every time the open state may change."""
        return self._starts + self._ends

    def __call__(self, t: float) -> bool:
        if self.always:
            return True
        i = bisect.bisect_right(self._starts, t) - 1
        return i >= 0 and t < self._ends[i]


def open_check(hours, start_date: str, horizon_seconds: float) -> OpenCheck:
    """The :class:`OpenCheck` of weekly opening hours (``start_hour``, ``end_hour``, ``weekdays``)."""
    always = hours.start_hour <= 0 and hours.end_hour >= 24 and len(set(hours.weekdays)) == 7
    wins = [] if always else windows(start_date, horizon_seconds, hours.start_hour,
                                     hours.end_hour, hours.weekdays)
    return OpenCheck(wins, always)
