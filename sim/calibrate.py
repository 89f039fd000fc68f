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
(the same rules, one calendar month) and ``metrics.<key>``. A ``change`` target
is a relative change against the reference scenario; a ``value`` target is
matched in relative terms. ``tolerance`` of a target: percentage points of
change (``change``) or relative error (``value``); default 0.01.

The search is ``scipy.optimize.least_squares`` over the bounded parameters,
each evaluation a simulation with the same seed (common random numbers: the
same customers and needs for every trial, so differences come from the
parameters). Residuals are in units of each target's tolerance. The fit is
printed (target, simulated, CI, residual per figure) and written to
``results/calibration/<name>/`` as ``fit.csv`` and ``fitted.yaml``, a scenario
diff; ``--apply`` also writes the diff to the targets file's ``fit_file``.
Exit status: 0 when every figure is within its tolerance, 1 when not, 2 for
bad input.
"""

from __future__ import annotations

if __name__ == "__main__":       # python -m …: a Ctrl-C while the imports below load is one line
    from analysis.guard import quiet_start

    quiet_start("ccsim-calibrate")

import argparse
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
FIGURES = "volumes.<channel>, volumes.<channel>.<YYYY-MM>, metrics.<key>"


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter to fit: a dotted path inside the scenario (the mapping key)."""

    start: float
    lower: float
    upper: float
    tolerance: float = field(metadata={"min_exclusive": 0.0})

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

    @cached_property
    def fitted(self) -> list[Parameter]:
        """The parameters to fit, in file order."""
        return [Parameter(path, p.start, p.lower, p.upper, p.tolerance)
                for path, p in self.parameters.items()]

    @cached_property
    def goals(self) -> list[Target]:
        """The figures to match, in file order."""
        return [Target(fig, "change" if t.change is not None else "value",
                       t.change if t.change is not None else t.value, t.tolerance)
                for fig, t in self.targets.items()]

    def problems(self, key: str) -> list[str]:
        return (fail_if(not self.parameters, "parameters", {}, "name at least one to fit")
                + fail_if(not self.targets, "targets", {}, "name at least one figure to match")
                + fail_if(any(t.change is not None for t in self.targets.values())
                          and not self.reference, "reference", self.reference,
                          "`change` targets need a reference scenario"))


@dataclass
class Parameter:
    path: str
    start: float
    lower: float
    upper: float
    tolerance: float


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


def set_path(cfg: dict, path: str, value: float) -> None:
    """cfg["scenario"][a][b]… = value for path "a.b…"; the parent keys must exist."""
    node = cfg["scenario"]
    keys = path.split(".")
    for i, k in enumerate(keys[:-1]):
        if not isinstance(node, dict) or k not in node:
            raise ConfigError([f"parameters.{path}: scenario has no "
                               f"{'.'.join(keys[:i + 1])}"])
        node = node[k]
    if not isinstance(node, dict):
        raise ConfigError([f"parameters.{path}: {'.'.join(keys[:-1])} is not a mapping"])
    node[keys[-1]] = value


def figures(cfg: dict, replications: int, wanted: list[str]) -> dict[str, np.ndarray]:
    """Simulate ``replications`` of the config; each wanted figure per replication."""
    from analysis.metrics import log_channels, log_metrics, monthly_table, volumes
    from analysis.tables import contacts_frame

    from .cli import validate_config
    from .engine.model import simulate

    scenario, run, seed, defs = validate_config(cfg)
    monthly = any(len(f.split(".")) == 3 for f in wanted)
    start = np.datetime64(scenario.start_date, "s")
    first, last = (str((start + np.timedelta64(int(s), "s")).astype("datetime64[M]"))
                   for s in (0, max(run.hours * 3600.0 - 1, 0)))
    outside = [f for f in wanted if len(f.split(".")) == 3
               and not first <= f.split(".")[2] <= last]
    if outside:
        raise ConfigError([f"targets.{f}: the month is outside the simulated period "
                           f"({first} to {last}); allowed: a month in it" for f in outside])
    out = {f: np.full(replications, math.nan) for f in wanted}
    for rep in range(replications):
        frame = contacts_frame(simulate(scenario, run, seed, rep), scenario.start_date)
        values = {f"volumes.{k}": v for k, v in volumes(frame).items()}
        values.update({f"metrics.{k}": v for k, v in log_metrics(frame, defs).items()})
        if monthly:
            for row in monthly_table(frame, defs).to_dict("records"):
                values.update({f"volumes.{k}.{row['month']}": row[f"{k}_contacts"]
                               for k in log_channels(frame)})
        for f in wanted:
            if f not in values and len(f.split(".")) == 2:
                raise ConfigError([f"targets.{f}: unknown figure; known: "
                                   f"{', '.join(sorted(k for k in values if k.count('.') == 1))}"])
            out[f][rep] = values.get(f, 0.0)    # a month without such contacts counts 0
    return out


class BudgetSpent(Exception):
    """The search used its ``max_evaluations`` simulations."""


def _figures_job(args):
    return figures(*args)


class Fit:
    """The objective of the search: residuals of the targets, in tolerance units.

    Every simulation of the search counts towards ``max_evaluations`` (those of
    the Jacobian too); the best point seen is kept, so a search stopped by its
    budget still returns its best fit. With ``jobs`` > 1 the points of a
    Jacobian are simulated in parallel processes.
    """

    def __init__(self, spec: TargetsFile, progress: bool = True, jobs: int = 1):
        self.spec = spec
        self.progress = progress
        self.jobs = max(1, int(jobs))
        overrides = [*spec.overrides, f"seed={spec.seed}"]
        self.base = compose(spec.scenario, overrides)
        self.config([p.start for p in spec.fitted])     # bad parameter paths fail now
        self._check_channels()
        self.wanted = [t.figure for t in spec.goals]
        self.reference = None
        if spec.reference:
            self.reference = figures(compose(spec.reference, overrides),
                                     max(spec.replications, spec.check_replications), self.wanted)
        self._cache: dict[tuple, dict] = {}
        self.evaluations = 0
        self.best_x, self.best_cost = None, math.inf
        self.started = time.perf_counter()

    def _check_channels(self) -> None:
        """Figures of channels the scenario does not have fail now, not after a simulation."""
        from .cli import validate_config

        names = validate_config(self.base)[0].registry.names
        bad = [t.figure for t in self.spec.goals if t.figure.split(".")[0] == "volumes"
               and t.figure.split(".")[1] not in names]
        if bad:
            raise ConfigError([f"targets.{f}: scenario {self.spec.scenario} has no channel "
                               f"{f.split('.')[1]!r}; allowed: {', '.join(names)}" for f in bad])

    def config(self, x) -> dict:
        import copy

        cfg = copy.deepcopy(self.base)
        for p, v in zip(self.spec.fitted, x):
            set_path(cfg, p.path, float(v))
        return cfg

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
        jobs = [(self.config(x), replications, self.wanted) for x in todo]
        if self.jobs > 1 and len(jobs) > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(min(self.jobs, len(jobs)),
                                     mp_context=mp.get_context("fork")) as pool:
                results = list(pool.map(_figures_job, jobs))
        else:
            results = [_figures_job(j) for j in jobs]
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

    def residuals(self, x) -> np.ndarray:
        return np.nan_to_num(self._residuals_of(self.simulated(x, self.spec.replications)),
                             nan=1e3)

    def jacobian(self, x) -> np.ndarray:
        """Forward differences with a step of each parameter's tolerance: the simulated
        figures are smooth at that scale (many customers), not below it (each draw is
        a threshold), so scipy's default relative steps would see a flat function."""
        points, steps = [], []
        for i, p in enumerate(self.spec.fitted):
            h = p.tolerance if x[i] + p.tolerance <= p.upper else -p.tolerance
            xi = np.array(x, dtype=float)
            xi[i] += h
            points.append(xi)
            steps.append(h)
        self._evaluate([np.asarray(x, float), *points], self.spec.replications)
        f0 = self.residuals(x)
        jac = np.empty((len(f0), len(x)))
        for i, (xi, h) in enumerate(zip(points, steps)):
            jac[:, i] = (self.residuals(xi) - f0) / h
        return jac


def _residual(t: Target, sim: float) -> float:
    if t.kind == "change":
        return (sim - t.target) / t.tolerance
    return (sim / t.target - 1.0) / t.tolerance if t.target else sim / t.tolerance


def fit(spec: TargetsFile, progress: bool = True, jobs: int = 1):
    """Run the search; returns (fitted values, fit table rows, the Fit).

    The fitted values are the best point the search simulated (smallest sum of
    squared residuals), also when ``max_evaluations`` stopped it.
    """
    from scipy.optimize import least_squares

    f = Fit(spec, progress, jobs)
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


def diff_yaml(spec: TargetsFile, x) -> str:
    """The fitted parameters as a scenario diff (Hydra package ``scenario``)."""
    tree: dict = {}
    for p, v in zip(spec.fitted, x):
        node = tree
        keys = p.path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = round(float(v), 6)
    head = (f"# @package scenario\n# Fitted by `ccsim-calibrate` ({spec.name}): parameters of "
            f"scenario {spec.scenario}, seed {spec.seed}.\n")
    return head + yaml.safe_dump(tree, sort_keys=False)


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
    args = parser.parse_args(argv)
    if args.jobs < 1:
        raise ConfigError([f"--jobs = {args.jobs}; allowed: 1 or more"])
    try:
        data = yaml.safe_load(args.targets.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError([f"cannot read targets file {args.targets}: {detail}"]) from None
    spec = parse_spec(data)
    if args.apply and not spec.fit_file:
        raise ConfigError(["--apply needs fit_file in the targets file"])
    x, rows, _ = fit(spec, progress=not args.quiet, jobs=args.jobs)
    import pandas as pd

    from analysis import runio

    out = args.out or ROOT / "results" / "calibration" / spec.name
    _print(rows, spec, x)
    runio.write_csv(out / "fit.csv", pd.DataFrame(rows))
    text = diff_yaml(spec, x)
    runio.write_text(out / "fitted.yaml", text)
    print(f"[ccsim-calibrate] fit: {out / 'fit.csv'}; fitted parameters: {out / 'fitted.yaml'}")
    if args.apply:
        target = (ROOT / spec.fit_file) if not Path(spec.fit_file).is_absolute() else Path(spec.fit_file)
        runio.write_text(target, text)
        print(f"[ccsim-calibrate] applied: {target}")
    ok = all(abs(r["residual_tolerances"]) <= 1.0 for r in rows)
    if not ok:
        print("[ccsim-calibrate] not every figure is within its tolerance", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
