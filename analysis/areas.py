"""Time-weighted levels: the area of a sum of weighted busy spans per time bin."""

from __future__ import annotations

import numpy as np

__all__ = ["area_per_bin", "step_area_per_bin"]


def _cumulative_area(starts: np.ndarray, weights: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Σ w·max(0, t − s) for every t in ``at`` (the area of ramps starting at ``starts``)."""
    order = np.argsort(starts, kind="stable")
    s, w = starts[order], weights[order]
    cw = np.r_[0.0, np.cumsum(w)]
    cws = np.r_[0.0, np.cumsum(w * s)]
    k = np.searchsorted(s, at, side="right")
    return at * cw[k] - cws[k]


def area_per_bin(starts, ends, weights, edges) -> np.ndarray:
    """Area (level × seconds) of spans [start, end) with a weight each, in bins given by ``edges``.

    Exactly ∫ Σ_i w_i·1{start_i ≤ t < end_i} dt over each bin; O(n log n).
    """
    starts = np.asarray(starts, dtype=float)
    ends = np.asarray(ends, dtype=float)
    weights = np.broadcast_to(np.asarray(weights, dtype=float), starts.shape)
    edges = np.asarray(edges, dtype=float)
    if starts.size == 0:
        return np.zeros(len(edges) - 1)
    cum = _cumulative_area(starts, weights, edges) - _cumulative_area(ends, weights, edges)
    return np.diff(cum)


def step_area_per_bin(times, levels, end: float, edges) -> np.ndarray:
    """Area of a step function (level ``levels[i]`` from ``times[i]``, until ``end``) per bin."""
    times = np.asarray(times, dtype=float)
    stops = np.r_[times[1:], end]
    return area_per_bin(times, stops, np.asarray(levels, dtype=float), edges)
