"""A study's summary: every finished run of a sweep, one row per sweep point.

A study folder (``results/<study>/``, written by ``ccsim -m study=NAME …``)
holds one folder per run under ``runs/``, each with ``run.yaml`` (seed, run
settings, the sweep overrides that made it and its key) and
``replications.parquet`` (every KPI per replication); a run is finished when
its ``kpis.json`` exists. :func:`summarise_study` turns them into one table,
written by :func:`write_summary` as ``summary.parquet`` and ``summary.csv``:

* ``point`` (the overrides that differ between the study's runs, e.g.
  ``scenario=improve_bot scenario.bot.containment_gain=0.1``), ``scenario``,
  ``seed``, ``replications``, and one ``param:<key>`` column per swept key;
* for every KPI column ``X`` of ``replications.parquet``: ``X`` (mean over
  replications) and ``X_ci95`` (95 % CI half-width, Student t);
* the paired difference against the base point (the run of the base
  scenario without other swept overrides, same seed): ``X_diff`` and
  ``X_diff_ci95`` from replication-by-replication differences (common random
  numbers), NaN when there is no base run or the seeds differ;
* ``p_company_metric_reaches_80``: the share of replications whose company
  metric (``online_share_of_contacts``) is at least 0.80.

Rows are sorted by point, so the same finished runs give the same table
whichever order they were run in. Run times live in ``runs.csv`` (not in the
summary, which must not depend on the machine's speed).
"""

from __future__ import annotations

if __name__ == "__main__":       # python -m …: a Ctrl-C while the imports below load is one line
    from analysis.guard import quiet_start

    quiet_start("analysis.study")

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .kpis import mean_ci
from .runio import load_kpis, run_problems, write_csv, write_table

__all__ = ["finished_runs", "current_runs", "broken_runs", "summarise_study", "write_summary",
           "main", "TARGET"]

TARGET = 0.80          # the company's digital target
COMPANY_METRIC = "online_share_of_contacts"


def _run_folders(study_dir: Path) -> list[Path]:
    runs = Path(study_dir) / "runs"
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if p.is_dir() and not p.name.startswith("."))


def finished_runs(study_dir: Path) -> list[Path]:
    """Run folders under ``study_dir/runs`` that are complete (sorted; see
    :func:`analysis.runio.run_problems`)."""
    return [p for p in _run_folders(study_dir) if not run_problems(p)]


def broken_runs(study_dir: Path) -> list[tuple[Path, str]]:
    """Run folders that are not complete runs, with the first reason (a run being written
    lives in a ``.tmp-`` folder and is not listed)."""
    out = []
    for p in _run_folders(study_dir):
        problems = run_problems(p)
        if problems:
            out.append((p, problems[0]))
    return out


def _point(overrides: list[str]) -> str:
    return " ".join(sorted(overrides))


def _value(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def _load(run: Path) -> dict:
    meta = yaml.safe_load((run / "run.yaml").read_text()) or {}
    overrides = [o for o in meta.get("overrides", []) if not o.startswith("study=")]
    kpis = load_kpis(run)
    return {"folder": run.name, "point": _point(overrides), "overrides": overrides,
            "scenario": kpis["scenario"], "seed": kpis["seed"],
            "run_seconds": kpis.get("run_seconds"),
            "uncertainty": kpis.get("uncertainty"),     # an uncertainty study's block
            "reps": pd.read_parquet(run / "replications.parquet")}


def channel_kinds(runs: list[Path]) -> dict[str, str]:
    """Channel → kind (:mod:`sim.engine.channels`) over the runs, as each recorded it in kpis.json
    (runs from before it did: the built-in channels), in code order."""
    from sim.engine.channels import BUILTIN_KINDS

    kinds = dict(BUILTIN_KINDS)
    for run in runs:
        try:
            kinds.update(json.loads((run / "kpis.json").read_text()).get("channel_kinds", {}))
        except (OSError, ValueError):
            continue
    return kinds


def summarise_study(study_dir: Path, base: str = "baseline") -> pd.DataFrame:
    """One row per finished run (sweep point); see the module docstring."""
    return _summarise(current_runs(study_dir)[0], base)


def current_runs(study_dir: Path) -> tuple[list[dict], list[str]]:
    """The finished runs, one per sweep point and seed, and the folders left out: a point run
    again after its scenario changed has a new folder (its key is the configuration's) beside
    the old one; the run the study's ``plan.json`` names wins, else the newest."""
    study_dir = Path(study_dir)
    try:
        planned = set(json.loads((study_dir / "plan.json").read_text()).get("runs") or [])
    except (OSError, ValueError, AttributeError):
        planned = set()
    best: dict[tuple, dict] = {}
    left = []
    for r in finished_runs(study_dir):
        run = _load(r)
        run["rank"] = (run["folder"] in planned, (r / "kpis.json").stat().st_mtime)
        key = (run["point"], run["seed"])
        if key in best:
            keep, drop = sorted([best[key], run], key=lambda x: x["rank"], reverse=True)
            best[key] = keep
            left.append(drop["folder"])
        else:
            best[key] = run
    return sorted(best.values(), key=lambda x: x["folder"]), sorted(left)


def _summarise(runs: list[dict], base: str) -> pd.DataFrame:
    if not runs:
        return pd.DataFrame()
    common = set.intersection(*(set(r["overrides"]) for r in runs))   # not swept: same for all
    for r in runs:
        r["overrides"] = sorted(set(r["overrides"]) - common)
        r["point"] = _point(r["overrides"])
    bases = {r["seed"]: r for r in runs
             if r["scenario"] == base and all(o.startswith(("scenario=", "seed="))
                                              for o in r["overrides"])}
    rows = []
    for r in sorted(runs, key=lambda r: (r["point"], r["seed"])):
        reps = r["reps"].set_index("replication").sort_index()
        row = {"point": r["point"], "scenario": r["scenario"], "seed": r["seed"],
               "replications": len(reps)}
        for o in r["overrides"]:
            key, _, value = o.partition("=")
            if key != "scenario":
                row[f"param:{key.lstrip('+')}"] = _value(value)
        b = bases.get(r["seed"])
        breps = b["reps"].set_index("replication") if b is not None else None
        paired = reps.index.intersection(breps.index) if breps is not None else []
        for col in reps.columns:
            x = pd.to_numeric(reps[col], errors="coerce")
            row[col], row[f"{col}_ci95"] = mean_ci(list(x))
            if len(paired) and col in breps.columns:
                d = x.loc[paired] - pd.to_numeric(breps[col], errors="coerce").loc[paired]
                row[f"{col}_diff"], row[f"{col}_diff_ci95"] = mean_ci(list(d))
            else:
                row[f"{col}_diff"] = row[f"{col}_diff_ci95"] = math.nan
        if COMPANY_METRIC in reps.columns:
            row["p_company_metric_reaches_80"] = float(np.mean(reps[COMPANY_METRIC] >= TARGET))
        rows.append(row)
    return pd.DataFrame(rows)


def write_summary(study_dir: Path, base: str = "baseline") -> Path | None:
    """Write ``summary.parquet``, ``summary.csv`` and ``runs.csv``; None if no run finished."""
    study_dir = Path(study_dir)
    runs, left = current_runs(study_dir)
    if left:
        print(f"[ccsim] summary of {study_dir.name}: left out {len(left)} run(s) of an earlier "
              f"configuration of the same points: {', '.join(left)}", file=sys.stderr)
    table = _summarise(runs, base)       # also sets each run's point as the summary names it
    times = pd.DataFrame([{"folder": r["folder"], "point": r["point"], "seed": r["seed"],
                           "run_seconds": r["run_seconds"]} for r in runs])
    if table.empty:
        return None
    write_table(study_dir / "summary.parquet", table)
    write_csv(study_dir / "summary.csv", table)
    write_csv(study_dir / "runs.csv", times)
    if any(r["uncertainty"] for r in runs):
        from .uncertainty import write_uncertainty

        write_uncertainty(study_dir, runs)
    return study_dir / "summary.parquet"


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.study STUDY``: rebuild the summary (exit codes: analysis.guard)."""
    from .guard import run_command

    return run_command("analysis.study", lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    from .guard import BadInput, Failure, folder_problem

    parser = argparse.ArgumentParser(
        prog="python -m analysis.study",
        description="Summarise a study folder (results/<study>/): one row per finished run "
        "with means, 95 %% CIs and paired differences against the base scenario. Runs that "
        "are not complete are named and left out. Exit status: 0 done, 1 no finished run or "
        "the summary cannot be written, 2 bad input.")
    parser.add_argument("study_dir", type=Path)
    parser.add_argument("--base", default="baseline", help="base scenario (default: baseline)")
    args = parser.parse_args(argv)
    if not args.study_dir.is_dir():
        raise BadInput(folder_problem(args.study_dir))
    if not (args.study_dir / "runs").is_dir():
        raise BadInput(f"{args.study_dir} is not a study folder (no runs/); a study is what "
                       "`ccsim -m study=NAME …` writes")
    for run, why in broken_runs(args.study_dir):
        print(f"analysis.study: left out {run.name}: {why}; run the sweep again to repair it",
              file=sys.stderr)
    path = write_summary(args.study_dir, args.base)
    if path is None:
        raise Failure(f"no finished run under {args.study_dir / 'runs'}; nothing to summarise")
    print(f"[ccsim] summary: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
