"""Uncertainty over a scenario's assumptions: the design of an uncertainty study.

A scenario declares its uncertain inputs as data (``scenario.uncertain``,
:class:`sim.engine.scenario.UncertainInput`): a bot's gain, a booking hurdle's size, a
fitted constant with its standard error. An uncertainty study (``conf/uncertainty.yaml``)
draws them with Saltelli's scheme on a scrambled Sobol' sequence (SALib, seeded by
``uncertainty.seed``): base sample ``i`` is one *block* of ``G + 2`` rows (G groups) — A (every input
from the first half of the sequence's point), one row per input with that input taken from
the second half (AB), and B. A block is one job of the sweep (``uncertainty.sample=i``), so
the study runs on any launcher, resumes and can be extended: the sequence is prefix-stable,
so base sample 7 is the same whether 8 or 64 are drawn.

Every row of every block is simulated with the same random numbers (replication
``uncertainty.replication``, default 0): a difference between two rows is the assumptions',
not the dice — the indices' estimators take the answer as a function of the inputs alone,
and random numbers that changed from block to block would be a hidden input (measured on a
toy: it swamped a lever's index). The answers are then those of one set of random numbers;
over a year the replications differ by a tenth of a point, far less than the assumptions.
:mod:`analysis.uncertainty` turns the rows into P(company metric ≥ 80 %) over the
assumptions and Sobol' indices.

Nothing here touches files, Hydra or pandas.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field

import numpy as np

from .engine.validate import ConfigError

__all__ = ["UncertaintySettings", "block", "apply", "groups", "row_kinds"]


@dataclass(frozen=True)
class UncertaintySettings:
    """``uncertainty``: the design's ``seed``, the base sample this job runs (None: an
    ordinary run, the scenario's own values) and the ``replication`` whose random numbers
    every row of every block shares."""

    sample: int | None = field(default=None, metadata={"min": 0})
    seed: int = field(default=2023, metadata={"min": 0})
    replication: int = field(default=0, metadata={"min": 0})


def groups(uncertain: dict) -> list[str]:
    """Per input its group in the design (its ``group``, else its own name)."""
    return [u.group or name for name, u in uncertain.items()]


def row_kinds(group_list: list[str]) -> list[str]:
    """The rows of a block: ``A``, ``AB:<group>`` per group (first-appearance order), ``B``."""
    return ["A", *[f"AB:{g}" for g in dict.fromkeys(group_list)], "B"]


def _unit_block(group_list: list[str], seed: int, sample: int) -> np.ndarray:
    """Rows ``sample·(G+2)`` … of Saltelli's design on the unit cube (first order; G the
    groups: the inputs of a group cross from B together)."""
    from SALib.sample import sobol

    d, g = len(group_list), len(set(group_list))
    problem = {"num_vars": d, "names": [f"x{k}" for k in range(d)], "bounds": [[0, 1]] * d,
               "groups": list(group_list) if g < d else None}
    with warnings.catch_warnings():         # a count that is not a power of two: fine here,
        warnings.simplefilter("ignore")     # the sequence is read as a prefix
        rows = sobol.sample(problem, sample + 1, calc_second_order=False, seed=seed)
    return rows[sample * (g + 2):(sample + 1) * (g + 2)]


def _ppf(u: np.ndarray, spec) -> np.ndarray:
    """The input's values at the unit-cube points ``u`` (its inverse distribution)."""
    from scipy import stats

    if spec.dist == "uniform":
        return spec.low + u * (spec.high - spec.low)
    if spec.dist == "triangular":
        width = spec.high - spec.low
        return stats.triang.ppf(u, c=(spec.peak - spec.low) / width, loc=spec.low, scale=width)
    lo = -np.inf if spec.low is None else (spec.low - spec.mean) / spec.sd
    hi = np.inf if spec.high is None else (spec.high - spec.mean) / spec.sd
    return stats.truncnorm.ppf(u, lo, hi, loc=spec.mean, scale=spec.sd)


def block(uncertain: dict, settings: UncertaintySettings) -> tuple[list[str], np.ndarray]:
    """(row kinds, values [row, input]) of the settings' base sample; the inputs in the
    order of ``uncertain``."""
    names = list(uncertain)
    if not names:
        raise ConfigError(["scenario.uncertain is empty: an uncertainty study needs the "
                           "scenario's uncertain inputs; allowed: a mapping of names to "
                           "{path, dist, low, high, …} (scenarios/README.md)"])
    group_list = groups(uncertain)
    u = _unit_block(group_list, settings.seed, settings.sample)
    values = np.column_stack([_ppf(u[:, k], uncertain[n]) for k, n in enumerate(names)])
    return row_kinds(group_list), values


def apply(data: dict, scenario, values) -> dict:
    """A copy of the plain scenario dict ``data`` (parsed: ``scenario``) with each uncertain
    input's drawn value: set at its key(s), or (``shift``) added to the scenario's value
    there and taken from its ``shift_down`` keys."""
    out = copy.deepcopy(data)
    for spec, v in zip(scenario.uncertain.values(), values):
        moves = [(p, 1.0) for p in spec.path] + [(p, -1.0) for p in spec.shift_down]
        for path, sign in moves:
            *parents, leaf = path.split(".")
            node = out
            for part in parents:
                node = node.setdefault(part, {})
            was = float(scenario.value_at(path))
            node[leaf] = was + sign * float(v) if spec.shift else float(v)
    return out
