"""Random sources of an agent channel: handle times, patience, redials (seconds).

Each source is a *fill* — ``fill(n)`` returns the next ``n`` numbers of its own stream —
so the SimPy engine can take them one at a time (:class:`sim.engine.streams.Draws`) and the
compiled engine in buffers (:mod:`sim.engine.fast`): the same numbers in the same order.
"""

from __future__ import annotations

import math

import numpy as np

from .scenario import HandleTime

__all__ = ["handle_fill", "exponential_fill", "uniform_fill", "channel_fills", "DRAW_SOURCES",
           "handle_shape", "lognormal_params"]

#: The random sources of an agent channel, each the stream ``<channel>.<source>``.
DRAW_SOURCES = ("handle", "patience", "redial", "redial_delay", "priority")


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """(mu, sigma) of the underlying normal for a lognormal with this mean and cv."""
    sigma2 = math.log1p(cv * cv)
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


def handle_shape(spec: HandleTime) -> tuple[int, float, float, float]:
    """(distribution code 0 fixed / 1 exponential / 2 lognormal, mean, mu, sigma): the handle
    time as the counter-based draws take it (:func:`sim.engine.counter_rng.contact_draw`)."""
    mu, sigma = lognormal_params(spec.mean_seconds, spec.cv) \
        if spec.distribution == "lognormal" else (0.0, 0.0)
    return (("fixed", "exponential", "lognormal").index(spec.distribution), spec.mean_seconds,
            mu, sigma)


def handle_fill(spec: HandleTime, rng: np.random.Generator):
    """Handle times in seconds following ``spec``."""
    mean = spec.mean_seconds
    if spec.distribution == "fixed":
        return lambda n: np.full(n, mean)
    if spec.distribution == "lognormal":
        mu, sigma = lognormal_params(mean, spec.cv)
        return lambda n: rng.lognormal(mu, sigma, n)
    return lambda n: rng.exponential(mean, n)


def exponential_fill(mean: float | None, rng: np.random.Generator):
    """Exponential draws of the given mean; ``None`` gives ``inf`` (never)."""
    if mean is None:
        return lambda n: np.full(n, math.inf)
    return lambda n: rng.exponential(mean, n)


def uniform_fill(rng: np.random.Generator):
    """Uniform(0, 1) draws."""
    return lambda n: rng.random(n)


def channel_fills(streams, name: str, spec) -> dict:
    """The fills of agent channel ``name`` (:data:`DRAW_SOURCES`), each its own named stream."""
    rng = {s: streams.rng(f"{name}.{s}") for s in DRAW_SOURCES}
    return {"handle": handle_fill(spec.handle, rng["handle"]),
            "patience": exponential_fill(spec.patience_seconds, rng["patience"]),
            "redial": uniform_fill(rng["redial"]),
            "redial_delay": exponential_fill(spec.redial_delay_seconds, rng["redial_delay"]),
            "priority": uniform_fill(rng["priority"])}
