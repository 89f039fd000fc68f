"""Samplers for handle times, patience and delays (seconds)."""

from __future__ import annotations

import math

import numpy as np

from .scenario import HandleTime
from .streams import Draws

__all__ = ["handle_sampler", "exponential_sampler", "uniform_sampler", "lognormal_params"]


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """(mu, sigma) of the underlying normal for a lognormal with this mean and cv."""
    sigma2 = math.log1p(cv * cv)
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


def handle_sampler(spec: HandleTime, rng: np.random.Generator) -> Draws:
    """Handle times in seconds following ``spec``."""
    mean = spec.mean_seconds
    if spec.distribution == "fixed":
        return Draws(lambda n: np.full(n, mean))
    if spec.distribution == "lognormal":
        mu, sigma = lognormal_params(mean, spec.cv)
        return Draws(lambda n: rng.lognormal(mu, sigma, n))
    return Draws(lambda n: rng.exponential(mean, n))


def exponential_sampler(mean: float | None, rng: np.random.Generator) -> Draws:
    """Exponential draws of the given mean; ``None`` gives ``inf`` (never)."""
    if mean is None:
        return Draws(lambda n: np.full(n, math.inf))
    return Draws(lambda n: rng.exponential(mean, n))


def uniform_sampler(rng: np.random.Generator) -> Draws:
    """Uniform(0, 1) draws."""
    return Draws(lambda n: rng.random(n))
