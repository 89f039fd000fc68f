"""``ccsim-calibrate TARGETS.yaml``: fit named mechanism parameters to target figures.

A targets file names a scenario, the parameters to fit (dotted paths inside
the scenario, each with a start value, bounds and a tolerance) and the
figures to match::

    name: company_x
    scenario: company_x_2021          # the scenario whose parameters are fitted
    reference: company_x_2020         # needed by `change` targets
    seed: 20231
    replications: 1                   # per evaluation of the search
    check_replications: 3             # for the printed fit and its CIs
    parameters:
      choice.channel_constant.bot: {start: 0.0, lower: -2.0, upper: 2.0, tolerance: 0.1}
    targets:
      volumes.bot: {change: 0.21}     # +21 % over the reference scenario
      volumes.phone: {value: 310000}  # a yearly count
      volumes.chat.2021-10: {value: 5200}   # a monthly count

Figures: ``volumes.<channel>`` (as in ``kpis.json``), ``volumes.<channel>.<YYYY-MM>``
(the same rules, one calendar month), ``metrics.<key>`` and an agent channel's
``channels.<channel>.offered`` / ``.answered`` (as in ``kpis.json``). A ``change`` target
is a relative change against the reference scenario; a ``value`` target is
matched in relative terms. ``tolerance`` of a target: percentage points of
change (``change``) or relative error (``value``); default 0.01.

A parameter is a scenario key (set to the fitted value) or a named mechanism: its strength
is added to the reference scenario's value of every key it ``shift``s (one strength for
several channels: a mechanism, not a knob per figure)::

      digital_adoption:                 # one trend shared by the digital channels
        shift: [choice.channel_constant.bot, choice.channel_constant.webshop]
        start: 0.0, lower: -0.5, upper: 1.0, tolerance: 0.02
        about: "customers turn to digital channels year on year"

``assumptions:`` (a list of sentences) states what the fit takes as given — the report
shows them beside the fit, with the offered/answered split they imply for the agent
channels whose volumes are targets (``service.csv``, :func:`service_split`).

``extends: OTHER.yaml`` (a file beside it) takes that file's keys, its own replacing them
whole: a placebo is the real file with other targets, the same parameters and bounds.

The search is ``scipy.optimize.least_squares`` over the bounded parameters,
each evaluation a simulation with the same seed (common random numbers: the
same customers and needs for every trial, so differences come from the
parameters). Residuals are in units of each target's tolerance. The fit is
printed (target, simulated, CI, residual per figure) and written to
``results/calibration/<name>/`` as ``fit.csv`` and ``fitted.yaml``, a scenario
diff; ``--apply`` also writes the diff to the targets file's ``fit_file``.
How far to trust the fit (printed, and written beside ``fit.csv``):

* ``parameters.csv``: each parameter's standard error (from the Jacobian of the figures and
  their simulation noise, :func:`standard_errors`) and the figures that pin it, with a
  warning for one the figures do not identify or that ends at a bound;
* ``--check-seeds N``: the fit on seeds seed+1 … seed+N (``seeds.csv``): the figures' spread;
* ``--cross-validate``: leave-one-out — each figure predicted by a fit without it
  (``cross_validation.csv``: predicted vs published, the error in points, the sign).

``--apply`` writes these beside the fit file too (``<fit file>.checks.json``) for the
report. Exit status: 0 when every figure is within its tolerance, 1 when not, 2 for
bad input.
"""

from __future__ import annotations

if __name__ == "__main__":       # python -m …: a Ctrl-C while the imports below load is one line
    from analysis.guard import quiet_start

    quiet_start("ccsim-calibrate")

import argparse
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml

from .engine.validate import ConfigError, fail_if, from_dict

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("volumes.<channel>, volumes.<channel>.<YYYY-MM>, metrics.<key>, "
           "channels.<agent channel>.offered, channels.<agent channel>.answered")
#: an agent channel's counts as in ``kpis.json`` (:func:`analysis.metrics.agent_volumes`)
SERVICE_COUNTS = ("offered", "answered")
#: and the contacts not answered after which the need came back to the channel (a redial)
RETRIED = "retried"


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter to fit: a dotted path inside the scenario (the mapping key), set to the
    value; or a named mechanism (the key a name) whose strength is *added* to the value of
    each path in ``shift`` in the reference scenario (the change from the reference year: one
    digital adoption trend moving every digital channel's constant, say; without a reference,
    the scenario's own value); ``shift_down``: paths it moves the other way (one strength
    pulling customers from one channel to another). ``about``: what the mechanism is, for
    the report."""

    start: float
    lower: float
    upper: float
    tolerance: float = field(metadata={"min_exclusive": 0.0})
    shift: tuple[str, ...] = ()
    shift_down: tuple[str, ...] = ()
    about: str = ""

    def problems(self, key: str) -> list[str]:
        if not self.lower < self.upper:
            return [f"{key}: lower = {self.lower:g} and upper = {self.upper:g}; allowed: lower "
                    "below upper (a parameter with one value is not fitted: set it in the "
                    "scenario instead)"]
        return fail_if(not self.lower <= self.start <= self.upper, f"{key}.start", self.start,
                       f"it must lie within [lower, upper] = [{self.lower:g}, {self.upper:g}]")


@dataclass(frozen=True)
class TargetSpec:
    """One figure to match: ``change`` against the reference, or a ``value``."""

    change: float | None = None
    value: float | None = None
    tolerance: float = field(default=0.01, metadata={"min_exclusive": 0.0})

    def problems(self, key: str) -> list[str]:
        parts = key.split(".")[1:]
        given = {k: v for k, v in (("change", self.change), ("value", self.value))
                 if v is not None}
        return (fail_if((self.change is None) == (self.value is None), key, given,
                        "give exactly one of `change` (relative change against the "
                        "reference) or `value`")
                + _figure_problems(key, parts))


def _figure_problems(key: str, parts: list[str]) -> list[str]:
    """A figure's name: ``volumes.<channel>``, ``volumes.<channel>.<YYYY-MM>``,
    ``metrics.<key>``."""
    from analysis.metrics import METRIC_KEYS

    from .engine.journey_spec import CHANNELS

    name = ".".join(parts)
    if parts and parts[0] == "channels":
        return fail_if(len(parts) != 3 or parts[2] not in (*SERVICE_COUNTS, RETRIED)
                       or not re.fullmatch(r"[a-z][a-z0-9_]*", parts[1]), key, name,
                       "allowed: channels.<agent channel>." + ", .".join((*SERVICE_COUNTS, RETRIED)))
    if not parts or parts[0] not in ("volumes", "metrics") or len(parts) not in (2, 3) \
            or (parts[0] == "metrics" and len(parts) != 2):
        return [f"{key} is not a known figure; allowed: {FIGURES}"]
    if parts[0] == "metrics":
        return fail_if(parts[1] not in METRIC_KEYS, key, name,
                       "allowed: metrics." + ", metrics.".join(METRIC_KEYS))
    # a scenario's own channels are checked against its registry when it is composed
    out = fail_if(parts[1] not in CHANNELS and not re.fullmatch(r"[a-z][a-z0-9_]*", parts[1]),
                  key, name, "allowed: a channel: " + ", ".join(CHANNELS)
                  + " or one of the scenario's own")
    if len(parts) == 3:
        month = parts[2]
        ok = len(month) == 7 and month[4] == "-" and month[:4].isdigit() and \
            month[5:].isdigit() and 1 <= int(month[5:]) <= 12
        out += fail_if(not ok, key, month, "allowed: a calendar month as YYYY-MM (month 01 "
                       "to 12)")
    return out


@dataclass(frozen=True)
class TargetsFile:
    """The targets file as written (see the module docstring)."""

    name: str
    scenario: str
    parameters: dict[str, ParameterSpec]
    targets: dict[str, TargetSpec]
    reference: str | None = None
    seed: int = field(default=20231, metadata={"min": 0})
    replications: int = field(default=1, metadata={"min": 1})
    check_replications: int = field(default=3, metadata={"min": 1})
    overrides: tuple[str, ...] = ()
    max_evaluations: int = field(default=60, metadata={"min": 1})
    fit_file: str | None = None
    #: what the fit takes as given and does not test (the report shows them beside the fit)
    assumptions: tuple[str, ...] = ()

    @cached_property
    def fitted(self) -> list[Parameter]:
        """The parameters to fit, in file order."""
        return [Parameter(path, p.start, p.lower, p.upper, p.tolerance, tuple(p.shift),
                          p.about, tuple(p.shift_down))
                for path, p in self.parameters.items()]

    @cached_property
    def goals(self) -> list[Target]:
        """The figures to match, in file order."""
        return [Target(fig, "change" if t.change is not None else "value",
                       t.change if t.change is not None else t.value, t.tolerance)
                for fig, t in self.targets.items()]

    def problems(self, key: str) -> list[str]:
        shifted = [q for p in self.fitted if p.mechanism for q in p.paths]
        paths = [p.path for p in self.fitted if not p.mechanism]
        twice = sorted({q for q in paths if paths.count(q) > 1 or q in shifted})
        return (fail_if(not self.parameters, "parameters", {}, "name at least one to fit")
                + fail_if(bool(twice), "parameters", twice, "a key set by a parameter is moved "
                          "by no other (mechanisms' shifts of one key add up)")
                + fail_if(not self.targets, "targets", {}, "name at least one figure to match")
                + fail_if(any(t.change is not None for t in self.targets.values())
                          and not self.reference, "reference", self.reference,
                          "`change` targets need a reference scenario"))


@dataclass
class Parameter:
    path: str            # a scenario key, or the name of a mechanism that shifts ``shift``
    start: float
    lower: float
    upper: float
    tolerance: float
    shift: tuple[str, ...] = ()
    about: str = ""
    shift_down: tuple[str, ...] = ()

    @property
    def mechanism(self) -> bool:
        """A named mechanism (shifts keys from the reference), not a key set to the value."""
        return bool(self.shift or self.shift_down)

    @property
    def paths(self) -> tuple[str, ...]:
        """The scenario keys the parameter moves."""
        return self.shift + self.shift_down if self.mechanism else (self.path,)

    def sign(self, path: str) -> float:
        """+1 for a key the strength moves up, -1 for one it moves down."""
        return -1.0 if path in self.shift_down else 1.0

    def at_bound(self, v: float) -> str | None:
        """"lower"/"upper" when v is within a tolerance of that bound."""
        return ("lower" if v - self.lower < self.tolerance
                else "upper" if self.upper - v < self.tolerance else None)


@dataclass
class Target:
    figure: str
    kind: str           # "change" or "value"
    target: float
    tolerance: float = 0.01


def parse_spec(data) -> TargetsFile:
    """A validated targets file; raises ConfigError naming every bad key."""
    if not isinstance(data, dict):
        raise ConfigError(["the targets file must be a mapping with keys name, scenario, "
                           "parameters, targets (see sim/calibrate.py)"])
    return from_dict(TargetsFile, data, "")


# ------------------------------------------------------------ running the model
def compose(scenario: str, overrides: list[str]) -> dict:
    """The composed config (plain dict) of ``ccsim scenario=NAME overrides…``."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from .cli import CONF_DIR, hydra_message, job_config

    try:
        with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
            cfg = hydra_compose("config", overrides=[f"scenario={scenario}", *overrides])
    except (HydraException, OmegaConfBaseException, yaml.YAMLError) as exc:
        raise ConfigError([f"scenario {scenario!r} with overrides {overrides}: "
                           f"{hydra_message(exc)}"]) from None
    return job_config(cfg)


def _leaves(d: dict, prefix: str = "") -> list[str]:
    """The dotted paths of a nested mapping's leaves."""
    out = []
    for k, v in d.items():
        out += _leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    return out


def _parent(cfg: dict, path: str, key: str) -> tuple[dict, str]:
    """The mapping inside ``cfg["scenario"]`` that holds the last key of dotted ``path``, and
    that key; a ConfigError naming ``key`` when a parent is missing or not a mapping."""
    node = cfg["scenario"]
    keys = path.split(".")
    for i, k in enumerate(keys[:-1]):
        if not isinstance(node, dict) or k not in node:
            raise ConfigError([f"{key}: scenario has no {'.'.join(keys[:i + 1])}"])
        node = node[k]
    if not isinstance(node, dict):
        raise ConfigError([f"{key}: {'.'.join(keys[:-1])} is not a mapping"])
    return node, keys[-1]


def get_path(cfg: dict, path: str, key: str) -> float:
    """cfg["scenario"][a][b]… for path "a.b…" (a number; ``key`` names it in errors)."""
    node, last = _parent(cfg, path, key)
    if last not in node:
        raise ConfigError([f"{key}: scenario has no {path} (a mechanism's `shift` moves "
                           "values the scenario sets)"])
    if isinstance(node[last], bool) or not isinstance(node[last], (int, float)):
        raise ConfigError([f"{key}: scenario's {path} = {node[last]!r} is not a number"])
    return float(node[last])


def set_path(cfg: dict, path: str, value: float) -> None:
    """cfg["scenario"][a][b]… = value for path "a.b…"; the parent keys must exist."""
    node, last = _parent(cfg, path, f"parameters.{path}")
    node[last] = value


def figures(cfg: dict, replications: int, wanted: list[str]) -> dict[str, np.ndarray]:
    """Simulate ``replications`` of the config; each wanted figure per replication."""
    from analysis.metrics import (
        agent_volumes,
        log_channels,
        log_metrics,
        monthly_table,
        retried_contacts,
        volumes,
    )
    from analysis.tables import contacts_frame

    from .cli import validate_config
    from .engine.model import simulate

    scenario, run, seed, defs = validate_config(cfg)
    is_month = [f for f in wanted if f.startswith("volumes.") and len(f.split(".")) == 3]
    monthly = bool(is_month)
    asks_metrics = any(f.startswith("metrics.") for f in wanted)
    asks_service = any(f.startswith("channels.") for f in wanted)
    start = np.datetime64(scenario.start_date, "s")
    first, last = (str((start + np.timedelta64(int(s), "s")).astype("datetime64[M]"))
                   for s in (0, max(run.hours * 3600.0 - 1, 0)))
    outside = [f for f in is_month if not first <= f.split(".")[2] <= last]
    if outside:
        raise ConfigError([f"targets.{f}: the month is outside the simulated period "
                           f"({first} to {last}); allowed: a month in it" for f in outside])
    out = {f: np.full(replications, math.nan) for f in wanted}
    for rep in range(replications):
        columns = VOLUME_COLUMNS + (("answer_s", "need_id", "arrival_s") if asks_service
                                    else ())
        frame = contacts_frame(simulate(scenario, run, seed, rep), scenario.start_date,
                               None if monthly or asks_metrics else columns)
        values = {f"volumes.{k}": v for k, v in volumes(frame).items()}
        if asks_service:
            values.update({f"channels.{k.rsplit('_', 1)[0]}.{k.rsplit('_', 1)[1]}": v
                           for part in (agent_volumes(frame), retried_contacts(frame))
                           for k, v in part.items()})
        if asks_metrics:                  # half a second a simulated year: only when asked
            values.update({f"metrics.{k}": v for k, v in log_metrics(frame, defs).items()})
        if monthly:
            for row in monthly_table(frame, defs).to_dict("records"):
                values.update({f"volumes.{k}.{row['month']}": row[f"{k}_contacts"]
                               for k in log_channels(frame)})
        for f in wanted:
            if f not in values and (len(f.split(".")) == 2 or f.startswith("channels.")):
                known = sorted(k for k in values if k.count(".") == 1 or k[:9] == "channels.")
                raise ConfigError([f"targets.{f}: unknown figure; known: {', '.join(known)}"])
            out[f][rep] = values.get(f, 0.0)    # a month without such contacts counts 0
    return out


#: the contact-log columns yearly volumes are counted from (:func:`analysis.metrics.volumes`)
VOLUME_COLUMNS = ("channel", "outcome", "target_product")


class BudgetSpent(Exception):
    """The search used its ``max_evaluations`` simulations."""


def _figures_job(args):
    return figures(*args)


def _run_figures(jobs: list[tuple], processes: int) -> list[dict]:
    """:func:`figures` of each (config, replications, wanted), in parallel processes when
    ``processes`` > 1."""
    if processes > 1 and len(jobs) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(processes, len(jobs)),
                                 mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(_figures_job, jobs))
    return [_figures_job(j) for j in jobs]


class Fit:
    """The objective of the search: residuals of the targets, in tolerance units.

    Every simulation of the search counts towards ``max_evaluations`` (those of
    the Jacobian too); the best point seen is kept, so a search stopped by its
    budget still returns its best fit. With ``jobs`` > 1 the points of a
    Jacobian are simulated in parallel processes.
    """

    def __init__(self, spec: TargetsFile, progress: bool = True, jobs: int = 1,
                 reference: dict | None = None):
        self.spec = spec
        self.progress = progress
        self.jobs = max(1, int(jobs))
        overrides = [*spec.overrides, f"seed={spec.seed}"]
        self.base = compose(spec.scenario, overrides)
        self.origin = origin = (compose(spec.reference, overrides) if spec.reference
                                else self.base)
        self.shift_base = {path: get_path(origin, path, f"parameters.{p.path}.shift")
                           for p in spec.fitted if p.mechanism for path in p.paths}
        self.config([p.start for p in spec.fitted])     # bad parameter paths fail now
        self._check_stale_fit()
        self._check_channels()
        self.wanted = [t.figure for t in spec.goals]
        self.reference = reference     # the reference's figures (given: a fit of the same seed)
        if spec.reference and reference is None:
            self.reference = figures(origin, max(spec.replications, spec.check_replications),
                                     self.wanted)
        self._cache: dict[tuple, dict] = {}
        self.evaluations = 0
        self.best_x, self.best_cost = None, math.inf
        self.started = time.perf_counter()

    def _check_stale_fit(self) -> None:
        """The scenario may carry the last ``--apply`` (its fit file among its defaults): a key
        set there that no parameter sets now would stay in every trial and bias the fit — it
        fails now, naming the keys, instead."""
        if not self.spec.fit_file:
            return
        path = Path(self.spec.fit_file)
        path = path if path.is_absolute() else ROOT / path
        try:
            applied = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            return
        moved = {q for p in self.spec.fitted for q in p.paths}

        def carried(key: str) -> bool:           # the scenario has the applied value there
            node = self.base["scenario"]
            want = applied
            for k in key.split("."):
                if not isinstance(node, dict) or k not in node:
                    return False
                node, want = node[k], want[k]
            return node == want

        stale = sorted(k for k in _leaves(applied) if k not in moved and carried(k)
                       and not k.startswith("uncertain."))     # the fit's own errors
        if stale:
            raise ConfigError([f"fit_file {self.spec.fit_file} (applied to scenario "
                               f"{self.spec.scenario}) sets {', '.join(stale)}, which no "
                               "parameter of this fit sets: it would stay in every trial; "
                               "allowed: empty the file (keep its first line, `# @package "
                               "scenario`) and fit again"])

    def _check_channels(self) -> None:
        """Figures of channels the scenario does not have fail now, not after a simulation."""
        from .cli import validate_config

        reg = validate_config(self.base)[0].registry
        bad = [t.figure for t in self.spec.goals if t.figure.split(".")[0] == "volumes"
               and t.figure.split(".")[1] not in reg.names]
        errors = [f"targets.{f}: scenario {self.spec.scenario} has no channel "
                  f"{f.split('.')[1]!r}; allowed: {', '.join(reg.names)}" for f in bad]
        errors += [f"targets.{t.figure}: {t.figure.split('.')[1]!r} is not an agent channel "
                   f"of scenario {self.spec.scenario}; allowed: {', '.join(reg.agent)}"
                   for t in self.spec.goals if t.figure.split(".")[0] == "channels"
                   and t.figure.split(".")[1] not in reg.agent]
        if errors:
            raise ConfigError(errors)

    def agent_channels(self) -> tuple[str, ...]:
        """The scenario's agent channels whose volumes are targets, in target order."""
        from .cli import validate_config

        agent = validate_config(self.base)[0].registry.agent
        return tuple(dict.fromkeys(t.figure.split(".")[1] for t in self.spec.goals
                                   if t.figure.split(".")[0] == "volumes"
                                   and t.figure.split(".")[1] in agent))

    def config(self, x) -> dict:
        import copy

        cfg = copy.deepcopy(self.base)
        for path, v in self.values(x).items():
            set_path(cfg, path, v)
        return cfg

    def values(self, x) -> dict[str, float]:
        """Each scenario key the parameters move, and its value at x (a key shifted by
        several mechanisms: the reference's value plus their sum)."""
        out: dict[str, float] = {}
        for p, v in zip(self.spec.fitted, x):
            for path in p.paths:
                out[path] = out.get(path, self.shift_base.get(path, 0.0)) + p.sign(path) * float(v)
        return out

    @staticmethod
    def _key(x, replications: int) -> tuple:
        return tuple(np.round(np.asarray(x, float), 12)), replications

    def _evaluate(self, points: list, replications: int, counted: bool = True) -> None:
        """Simulate the points not yet in the cache (in parallel when jobs > 1)."""
        todo = []
        for x in points:
            key = self._key(x, replications)
            if key not in self._cache and key not in (self._key(y, replications) for y in todo):
                todo.append(np.asarray(x, float))
        if not todo:
            return
        if counted and self.evaluations + len(todo) > self.spec.max_evaluations:
            raise BudgetSpent
        results = _run_figures([(self.config(x), replications, self.wanted) for x in todo],
                               self.jobs)
        for x, raw in zip(todo, results):
            sim = {}
            for t in self.spec.goals:
                v = raw[t.figure]
                if t.kind == "change":
                    ref = self.reference[t.figure][:replications]
                    v = np.where(ref > 0, v / np.where(ref > 0, ref, 1.0) - 1.0, math.nan)
                sim[t.figure] = v
            self._cache[self._key(x, replications)] = sim
            if counted:
                self.evaluations += 1
                res = self._residuals_of(sim)
                cost = float(np.sum(np.nan_to_num(res, nan=1e3) ** 2))
                if cost < self.best_cost:
                    self.best_x, self.best_cost = x, cost
                if self.progress:
                    values = ", ".join(f"{p.path.split('.')[-1]}={v:.4g}"
                                       for p, v in zip(self.spec.fitted, x))
                    worst = int(np.argmax(np.nan_to_num(np.abs(res), nan=np.inf)))
                    print(f"[ccsim-calibrate] evaluation {self.evaluations}/"
                          f"{self.spec.max_evaluations}: {values}; worst residual "
                          f"{res[worst]:+.2f} tolerances ({self.wanted[worst]}) "
                          f"({time.perf_counter() - self.started:.0f} s)",
                          file=sys.stderr, flush=True)

    def simulated(self, x, replications: int, counted: bool = True) -> dict[str, np.ndarray]:
        """Per-replication simulated figures at x (changes as fractions for `change`);
        ``counted``: a simulation of the search (not of the final check)."""
        self._evaluate([x], replications, counted)
        return self._cache[self._key(x, replications)]

    def _residuals_of(self, sim: dict) -> np.ndarray:
        return np.array([_residual(t, float(np.mean(sim[t.figure]))) for t in self.spec.goals])

    def residuals(self, x, counted: bool = True) -> np.ndarray:
        return np.nan_to_num(self._residuals_of(self.simulated(x, self.spec.replications,
                                                               counted)), nan=1e3)

    def jacobian(self, x, counted: bool = True) -> np.ndarray:
        """Forward differences with a step of each parameter's tolerance: the simulated
        figures are smooth at that scale (many customers), not below it (each draw is
        a threshold), so scipy's default relative steps would see a flat function.
        ``counted``: simulations of the search (not of the checks after it)."""
        points, steps = [], []
        for i, p in enumerate(self.spec.fitted):
            h = p.tolerance if x[i] + p.tolerance <= p.upper else -p.tolerance
            xi = np.array(x, dtype=float)
            xi[i] += h
            points.append(xi)
            steps.append(h)
        self._evaluate([np.asarray(x, float), *points], self.spec.replications, counted)
        f0 = self.residuals(x, counted)
        jac = np.empty((len(f0), len(x)))
        for i, (xi, h) in enumerate(zip(points, steps)):
            jac[:, i] = (self.residuals(xi, counted) - f0) / h
        return jac


def _residual(t: Target, sim: float) -> float:
    if t.kind == "change":
        return (sim - t.target) / t.tolerance
    return (sim / t.target - 1.0) / t.tolerance if t.target else sim / t.tolerance


def fit(spec: TargetsFile, progress: bool = True, jobs: int = 1, reference: dict | None = None):
    """Run the search; returns (fitted values, fit table rows, the Fit).

    The fitted values are the best point the search simulated (smallest sum of
    squared residuals), also when ``max_evaluations`` stopped it.
    """
    from scipy.optimize import least_squares

    f = Fit(spec, progress, jobs, reference)
    x0 = np.array([p.start for p in spec.fitted])
    lo = np.array([p.lower for p in spec.fitted])
    hi = np.array([p.upper for p in spec.fitted])
    try:
        if not np.all(np.abs(f.residuals(x0)) <= 1.0):
            least_squares(f.residuals, x0, jac=f.jacobian, bounds=(lo, hi),
                          max_nfev=spec.max_evaluations, xtol=1e-3, ftol=1e-4)
    except BudgetSpent:
        if progress:
            print(f"[ccsim-calibrate] stopped after max_evaluations = {spec.max_evaluations} "
                  f"simulations; reporting the best point seen", file=sys.stderr)
    x = f.best_x
    rows = table(f, x)
    return x, rows, f


def table(f: Fit, x) -> list[dict]:
    """Target, simulated mean, CI half-width and residual per figure (check replications)."""
    from analysis.kpis import mean_ci

    sim = f.simulated(x, f.spec.check_replications, counted=False)
    rows = []
    for t in f.spec.goals:
        mean, half = mean_ci(list(sim[t.figure]))
        rows.append({"figure": t.figure, "kind": t.kind, "target": t.target,
                     "simulated": mean, "ci95": half, "tolerance": t.tolerance,
                     "residual_tolerances": _residual(t, mean)})
    return rows


# ------------------------------------------------------------ how much to trust a fit
#: a published change is given to 0.1 percentage point: its rounding is part of its noise
PUBLISHED_PRECISION = 0.001


def standard_errors(f: Fit, x) -> list[dict]:
    """Each parameter's standard error, from the Jacobian of the figures at the fit and the
    simulation noise of the figures the search matched, and the figures that pin it.

    The Jacobian: the search's own (forward differences of one tolerance per parameter, its
    replications, common random numbers). The noise of figure j: the variance of its
    per-replication value over the check replications, divided by the search's replications
    (what each evaluation of the search averaged), plus the published figure's rounding.
    Weighted least squares then gives the covariance ``(Jᵀ W J)⁻¹`` with ``W`` the inverse
    noise (a pseudo-inverse: a direction the figures do not see has no finite error). The
    figures that pin a parameter are those whose noise makes up most of its variance
    (``G = Cov Jᵀ W``: the parameter's response to each figure). A parameter is *not
    identified* when its standard error exceeds a quarter of its plausible range (its bounds),
    and flagged when it ends within a tolerance of a bound.
    """
    spec, reps = f.spec, f.spec.check_replications
    jac = _figure_jacobian(f, x)
    base = f.simulated(x, reps, counted=False)
    figs = [t.figure for t in spec.goals]
    if reps > 1:
        var = np.array([np.nanvar(base[k], ddof=1) for k in figs]) / spec.replications
    else:
        var = np.full(len(figs), math.nan)
    var = var + np.array([(PUBLISHED_PRECISION if t.kind == "change"
                           else PUBLISHED_PRECISION * abs(t.target)) ** 2 / 12
                          for t in spec.goals])
    rows = []
    ok = bool(np.all(np.isfinite(var)))
    if ok:
        w = 1.0 / var
        cov = np.linalg.pinv(jac.T @ (w[:, None] * jac))
        gain = cov @ (jac.T * w[None, :])                 # parameter i's response to figure j
        share = (gain * np.sqrt(var)[None, :]) ** 2
        share = share / np.maximum(share.sum(axis=1, keepdims=True), 1e-300)
    for i, p in enumerate(spec.fitted):
        se = float(math.sqrt(max(cov[i, i], 0.0))) if ok else math.nan
        seen = ok and float(np.abs(jac[:, i]).max()) > 0
        identified = bool(seen and se <= (p.upper - p.lower) / 4)
        pins = ([(figs[j], float(share[i, j])) for j in np.argsort(-share[i])
                 if share[i, j] >= 0.15] if ok else [])
        rows.append({"parameter": p.path, "value": float(x[i]), "se": se if seen else math.nan,
                     "lower": p.lower, "upper": p.upper, "at_bound": p.at_bound(float(x[i])) or "",
                     "identified": identified,
                     "pinned_by": "; ".join(f"{k.removeprefix('volumes.')} {v:.0%}"
                                            for k, v in pins[:3]),
                     "about": p.about})
    return rows


def _figure_jacobian(f: Fit, x) -> np.ndarray:
    """[figure, parameter]: the figures' change per unit of each parameter at x — the search's
    own Jacobian (:meth:`Fit.jacobian`, mostly simulated by its last step) in the figures'
    units instead of tolerances (:func:`_residual` undone)."""
    scale = np.array([t.tolerance * (t.target if t.kind == "value" and t.target else 1.0)
                      for t in f.spec.goals])
    return f.jacobian(x, counted=False) * scale[:, None]


def service_split(f: Fit, x) -> list[dict]:
    """What the fit implies for the agents' service, which the targets do not say: per agent
    channel whose volume is a target, the contacts offered to the agents' queue and those
    answered, in the reference and in the fitted scenario (check replications, the fit's
    seed). A volume target counts attempts; whether a change is fewer needs, fewer repeats or
    more callers getting through rests on the staffing the scenarios assume — this shows it."""
    from analysis.kpis import mean_ci

    channels = f.agent_channels()
    if not channels:
        return []
    wanted = [f"channels.{c}.{k}" for c in channels for k in (*SERVICE_COUNTS, RETRIED)]
    n = f.spec.check_replications
    named = [(f.spec.reference, f.origin)] if f.spec.reference else []
    named.append((f.spec.scenario, f.config(x)))
    results = _run_figures([(cfg, n, wanted) for _, cfg in named], f.jobs)
    out = []
    for (scenario, _), raw in zip(named, results):
        for c in channels:
            offered, answered = raw[f"channels.{c}.offered"], raw[f"channels.{c}.answered"]
            share, half = mean_ci(list(answered / np.maximum(offered, 1)))
            again, again_half = mean_ci(list(raw[f"channels.{c}.{RETRIED}"]
                                             / np.maximum(offered - answered, 1)))
            out.append({"scenario": scenario, "channel": c, "offered": float(offered.mean()),
                        "answered": float(answered.mean()), "answered_share": share,
                        "answered_share_ci95": half, "tried_again_share": again,
                        "tried_again_share_ci95": again_half})
    return out


def figures_on_seed(f: Fit, x, seed: int, progress: bool = False) -> list[dict]:
    """The fit table at x with another seed (the reference simulated with it too)."""
    import dataclasses

    other = Fit(dataclasses.replace(f.spec, seed=int(seed)), progress=progress, jobs=f.jobs)
    return [{**r, "seed": int(seed)} for r in table(other, x)]


def cross_validate(f: Fit, progress: bool = True) -> list[dict]:
    """Leave-one-out: for each figure, fit without it (from the file's start values, the same
    parameters and bounds) and predict it with the check replications."""
    import dataclasses

    spec, out = f.spec, []
    for k, t in enumerate(spec.goals):
        if progress:
            print(f"[ccsim-calibrate] cross-validation {k + 1}/{len(spec.goals)}: fitting "
                  f"without {t.figure}", file=sys.stderr, flush=True)
        rest = {fig: tt for fig, tt in spec.targets.items() if fig != t.figure}
        held = dataclasses.replace(spec, targets=rest)
        x_k, rows_k, _ = fit(held, progress=False, jobs=f.jobs, reference=f.reference)
        row = next(r for r in table(f, x_k) if r["figure"] == t.figure)
        same_sign = (row["simulated"] > 0) == (t.target > 0) if t.kind == "change" else None
        out.append({"figure": t.figure, "kind": t.kind, "published": t.target,
                    "predicted": row["simulated"], "ci95": row["ci95"],
                    "error": row["simulated"] - t.target, "same_sign": same_sign,
                    "others_within_tolerance": all(abs(r["residual_tolerances"]) <= 1.0
                                                   for r in rows_k),
                    **{f"fit.{p.path}": float(v) for p, v in zip(spec.fitted, x_k)}})
    return out


def fit_uncertainty(fitted, x, parameters: list[dict]) -> dict:
    """The fit's own uncertainty as a scenario's ``uncertain`` inputs
    (:class:`sim.engine.scenario.UncertainInput`): each fitted parameter (a mechanism: all
    its keys together) moved by a normal change of mean 0 and its standard error, cut at
    three standard errors and at its bounds; one group, ``calibration`` (an uncertainty study
    gives the fit's constants one index together). Parameters without a finite error are left
    out."""
    se = {r["parameter"]: r["se"] for r in parameters}
    out = {}
    for p, v in zip(fitted, x):
        e = se.get(p.path, math.nan)
        if not (isinstance(e, float) and math.isfinite(e) and e > 0):
            continue
        keys = p.shift if p.mechanism else (p.path,)
        out[f"fit_{p.path.replace('.', '_')}"] = {
            "path": list(keys), **({"shift_down": list(p.shift_down)} if p.shift_down else {}),
            "shift": True, "group": "calibration", "dist": "normal", "mean": 0.0,
            "sd": round(e, 6),
            "low": round(max(p.lower - float(v), -3 * e), 6),
            "high": round(min(p.upper - float(v), 3 * e), 6),
            "about": f"the fitted {p.path} ({float(v):+.4f}) ± its standard error"}
    return out


def diff_yaml(f: Fit, x, parameters: list[dict] | None = None) -> str:
    """The fitted parameters as a scenario diff (Hydra package ``scenario``); a mechanism's
    strength is named in a comment, its keys carry the values it gives; with the
    parameters' standard errors, their ``uncertain`` inputs (:func:`fit_uncertainty`)."""
    spec = f.spec
    tree: dict = {}
    for path, v in f.values(x).items():
        node = tree
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = round(float(v), 6)
    head = (f"# @package scenario\n# Fitted by `ccsim-calibrate` ({spec.name}): parameters of "
            f"scenario {spec.scenario}, seed {spec.seed}.\n")
    head += "".join(f"# {p.path} = {v:+.6f}, added to {spec.reference}'s "
                    f"{', '.join(p.shift)}"
                    + (f" and taken from its {', '.join(p.shift_down)}" if p.shift_down else "")
                    + "\n" for p, v in zip(spec.fitted, x) if p.mechanism)
    uncertain = fit_uncertainty(spec.fitted, x, parameters or [])
    tail = ("# the fit's standard errors, drawn by an uncertainty study (conf/uncertainty.yaml)\n"
            + yaml.safe_dump({"uncertain": uncertain}, sort_keys=False, allow_unicode=True)
            ) if uncertain else ""
    return head + yaml.safe_dump(tree, sort_keys=False) + tail


def _print(rows: list[dict], spec: TargetsFile, x) -> None:
    print(f"[ccsim-calibrate] {spec.name}: {spec.scenario}"
          + (f" against {spec.reference}" if spec.reference else "")
          + f", seed {spec.seed}, {spec.check_replications} replication(s)")
    for p, v in zip(spec.fitted, x):
        print(f"  {p.path} = {v:.4f}  (start {p.start}, bounds [{p.lower}, {p.upper}])")
    print(f"  {'figure':<34} {'target':>12} {'simulated':>12} {'± CI95':>10} {'residual':>9}")
    for r in rows:
        fmt = (lambda v: f"{v:+.1%}") if r["kind"] == "change" else (lambda v: f"{v:,.4g}")
        ci = "–" if r["ci95"] != r["ci95"] else (f"{r['ci95']:.1%}" if r["kind"] == "change"
                                                 else f"{r['ci95']:,.3g}")
        print(f"  {r['figure']:<34} {fmt(r['target']):>12} {fmt(r['simulated']):>12} {ci:>10} "
              f"{r['residual_tolerances']:>+9.2f}")
    print("  (residual in units of each figure's tolerance: |residual| <= 1 is a match)")


def main(argv: list[str] | None = None) -> int:
    """``ccsim-calibrate``: exit 0 every figure within its tolerance, 1 not (or a failure),
    2 bad input, 130 interrupted (:mod:`analysis.guard`)."""
    from analysis.guard import run_command

    return run_command("ccsim-calibrate", lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="ccsim-calibrate",
        description="Fit named mechanism parameters of a scenario so that simulated figures "
        "(yearly or monthly volumes per channel, metrics, or their change against a reference "
        "scenario) match targets; prints the fit and writes the fitted parameters as a "
        "scenario diff. See the module docstring of sim/calibrate.py for the file format. "
        "Exit status: 0 every figure within its tolerance, 1 not (or a failure), 2 bad input.")
    parser.add_argument("targets", type=Path, help="targets file (YAML)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default results/calibration/<name>)")
    parser.add_argument("--apply", action="store_true",
                        help="also write the fitted diff to the targets file's fit_file")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parallel simulations for the Jacobian (default: all cores, %(default)s)")
    parser.add_argument("--cross-validate", action="store_true",
                        help="leave-one-out: for each figure, fit without it and predict it; "
                        "writes cross_validation.csv")
    parser.add_argument("--check-seeds", type=int, default=0, metavar="N",
                        help="the fit on N other seeds (seed+1 … seed+N): the figures' spread; "
                        "writes seeds.csv")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        raise ConfigError([f"--jobs = {args.jobs}; allowed: 1 or more"])
    if args.check_seeds < 0:
        raise ConfigError([f"--check-seeds = {args.check_seeds}; allowed: 0 or more"])
    spec = parse_spec(load_targets(args.targets))
    if args.apply and not spec.fit_file:
        raise ConfigError(["--apply needs fit_file in the targets file"])
    x, rows, f = fit(spec, progress=not args.quiet, jobs=args.jobs)
    _print(rows, spec, x)
    errors = standard_errors(f, x)
    _print_errors(errors)
    service = service_split(f, x)
    _print_service(service)
    seeds = [r for k in range(1, args.check_seeds + 1)
             for r in figures_on_seed(f, x, spec.seed + k)]
    if seeds:
        _print_seeds(seeds, rows, spec)
    loo = cross_validate(f, progress=not args.quiet) if args.cross_validate else []
    if loo:
        _print_loo(loo)
    _write(args, f, x, {"fit": rows, "parameters": errors, "seeds": seeds,
                        "cross_validation": loo, "service": service})
    ok = all(abs(r["residual_tolerances"]) <= 1.0 for r in rows)
    if not ok:
        print("[ccsim-calibrate] not every figure is within its tolerance", file=sys.stderr)
    return 0 if ok else 1


def _write(args, f: Fit, x, tables: dict) -> None:
    """The fit's files in the output folder; with ``--apply`` the fit file and its checks."""
    import pandas as pd

    from analysis import runio

    spec = f.spec
    out = args.out or ROOT / "results" / "calibration" / spec.name
    files = {"fit": "fit.csv", "parameters": "parameters.csv", "seeds": "seeds.csv",
             "cross_validation": "cross_validation.csv", "service": "service.csv"}
    for key, name in files.items():
        if tables[key]:
            runio.write_csv(out / name, pd.DataFrame(tables[key]))
    text = diff_yaml(f, x, tables["parameters"])
    runio.write_text(out / "fitted.yaml", text)
    print(f"[ccsim-calibrate] fit: {out / 'fit.csv'}; parameters and their standard errors: "
          f"{out / 'parameters.csv'}; fitted scenario diff: {out / 'fitted.yaml'}"
          + (f"; other seeds: {out / 'seeds.csv'}" if tables["seeds"] else "")
          + (f"; leave-one-out: {out / 'cross_validation.csv'}"
             if tables["cross_validation"] else ""))
    if args.apply:
        target = Path(spec.fit_file) if Path(spec.fit_file).is_absolute() \
            else ROOT / spec.fit_file
        runio.write_text(target, text)
        checks = {"name": spec.name, "seed": spec.seed,
                  **{k: (v or None) for k, v in tables.items()}}
        runio.write_text(checks_path(target), json.dumps(checks, indent=1, default=_jsonable))
        print(f"[ccsim-calibrate] applied: {target} (and how far to trust it: "
              f"{checks_path(target)})")


def checks_path(fit_file: Path) -> Path:
    """Where ``--apply`` writes the fit's standard errors, other seeds and leave-one-out:
    beside the fit file (``<name>.checks.json``), so the report reads them with the fit."""
    return Path(fit_file).with_suffix(".checks.json")


def _jsonable(v):
    return float(v) if isinstance(v, (np.floating, np.integer)) else bool(v) \
        if isinstance(v, np.bool_) else str(v)


def load_targets(path: Path) -> dict:
    """The targets file as a mapping; ``extends: OTHER.yaml`` (beside it) takes every key of
    that file, the file's own keys replacing them whole (a placebo: the same parameters and
    bounds, other targets)."""
    def read(p: Path):
        try:
            return yaml.safe_load(p.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            detail = " ".join(str(exc).split())
            raise ConfigError([f"cannot read targets file {p}: {detail}"]) from None

    data = read(Path(path))
    if isinstance(data, dict) and "extends" in data:
        base_path = Path(path).parent / str(data["extends"])
        base = read(base_path)
        if not isinstance(base, dict) or "extends" in base:
            raise ConfigError([f"extends = {data['extends']!r}: {base_path} must be a targets "
                               "file that extends no other"])
        data = {**base, **{k: v for k, v in data.items() if k != "extends"}}
    return data


def _print_errors(errors: list[dict]) -> None:
    print("  parameter                                  fitted   ± SE     pinned by")
    for e in errors:
        se = "–" if e["se"] != e["se"] else f"{e['se']:.3f}"
        print(f"  {e['parameter']:<40} {e['value']:>8.3f} {se:>7}   {e['pinned_by'] or '–'}")
        if not e["identified"]:
            print(f"  WARNING: {e['parameter']} is not identified by the figures (standard "
                  f"error {se}, its range {e['lower']:g} … {e['upper']:g})", file=sys.stderr)
        if e["at_bound"]:
            print(f"  WARNING: {e['parameter']} = {e['value']:.4g} sits at its {e['at_bound']} "
                  "bound: the figures push it beyond its plausible range", file=sys.stderr)


def _print_service(service: list[dict]) -> None:
    if service:
        print("  what the fit implies for the agents (offered → answered, the staffing as the "
              "scenarios assume it):")
    for r in service:
        print(f"  {r['scenario']:<22} {r['channel']:<16} {r['offered']:>10,.0f} offered, "
              f"{r['answered']:>10,.0f} answered ({r['answered_share']:.1%}"
              + ("" if math.isnan(r["answered_share_ci95"])
                 else f" ± {r['answered_share_ci95']:.1%}")
              + f"); of the rest {r['tried_again_share']:.0%} "
              "came back to the channel")


def _print_seeds(seeds: list[dict], rows: list[dict], spec: TargetsFile) -> None:
    print(f"  on other seeds (the calibration seed {spec.seed} first):")
    by = {}
    for r in seeds:
        by.setdefault(r["figure"], []).append(r)
    for r in rows:
        others = by.get(r["figure"], [])
        fmt = (lambda v: f"{v:+.1%}") if r["kind"] == "change" else (lambda v: f"{v:,.4g}")
        vals = " ".join(fmt(o["simulated"]) for o in others)
        off = max([abs(o["simulated"] - o["target"]) for o in others] or [0.0])
        print(f"  {r['figure']:<34} {fmt(r['simulated']):>8} | {vals}   (at most "
              + (f"{off * 100:.1f} points" if r["kind"] == "change" else f"{off:,.4g}")
              + " off)")


def _print_loo(loo: list[dict]) -> None:
    print("  leave-one-out (each figure predicted by a fit without it):")
    for r in loo:
        if r["kind"] == "change":
            print(f"  {r['figure']:<34} published {r['published']:+.1%}, predicted "
                  f"{r['predicted']:+.1%} (error {r['error'] * 100:+.1f} points"
                  f"{'' if r['same_sign'] else ', the wrong sign'})")
        else:
            print(f"  {r['figure']:<34} published {r['published']:,.4g}, predicted "
                  f"{r['predicted']:,.4g}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
