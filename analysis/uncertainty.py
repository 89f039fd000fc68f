"""What an uncertainty study says: the answer over the assumptions' ranges, and which
assumption moves it most.

An uncertainty study (``conf/uncertainty.yaml``, :mod:`sim.uncertainty`) runs, per scenario,
blocks of Saltelli's design over the scenario's ``uncertain`` inputs; each block's rows
(A, one AB per input, B) share their random numbers. From the finished blocks:

* **the distribution** of each answer over the assumptions: the A and B rows are draws of
  the inputs from their distributions (a scrambled Sobol' sequence), two per block — mean,
  5 %, 50 % and 95 % points;
* **P(company metric ≥ 80 %) over the assumptions**: the share of those draws that reach
  the target, with a Wilson 95 % interval (the quasi-random draws are at least as even as
  independent ones, so the interval is on the safe side);
* **Sobol' indices** per input (or group of inputs: the calibration's constants) and answer
  (SALib's estimators, first order S1 and total ST with bootstrap 95 % intervals): S1 the
  share of the answer's variance the input explains alone, ST with everything it interacts
  with; an input with ST near 0 does not matter.

``uncertainty_rows.csv`` (every row, its inputs and answers), ``uncertainty.csv`` (per
scenario and answer: mean, quantiles, P(≥ 80 %) for the company metric) and
``uncertainty_indices.csv`` (per scenario, answer and input: S1, ST and their intervals)
are written beside the study's summary. Nothing here imports SimPy.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .runio import write_csv
from .study import COMPANY_METRIC, TARGET

__all__ = ["ANSWERS", "study_rows", "answers", "indices", "wilson", "write_uncertainty"]

#: the answers an uncertainty study reports, and how the report names them
ANSWERS = {COMPANY_METRIC: "company metric", "online_self_service_share": "thesis metric",
           "digital_resolution_share": "digital resolution",
           "agent_cost_eur": "agent cost (EUR/year)", "unresolved_needs": "unresolved needs"}


def study_rows(runs: list[dict]) -> pd.DataFrame:
    """Every row of every finished block: scenario, sample, kind, the inputs (``in:<name>``)
    and the answers (one row per replication of the block's run)."""
    frames = []
    for r in runs:
        design = r.get("uncertainty")
        if not design:
            continue
        reps = r["reps"].set_index("replication").sort_index()
        rows = pd.DataFrame(design["rows"])
        if len(rows) != len(reps):
            continue                                  # not a whole block: left out
        frame = pd.DataFrame({"scenario": r["scenario"], "sample": design["sample"],
                              "row": np.arange(len(rows)), "kind": rows["kind"]})
        for name in design["inputs"]:
            frame[f"in:{name}"] = rows[name].to_numpy()
        for col in ANSWERS:
            frame[col] = pd.to_numeric(reps[col], errors="coerce").to_numpy() \
                if col in reps.columns else math.nan
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson 95 % interval of a share k / n."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


def answers(rows: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and answer, over the A and B rows (the draws of the inputs): draws,
    mean, 5 / 50 / 95 % points; for the company metric P(≥ 80 %) and its interval."""
    out = []
    for scen, g in rows.groupby("scenario", sort=True):
        draws = g[g["kind"].isin(["A", "B"])]
        for col, label in ANSWERS.items():
            v = draws[col].dropna().to_numpy(dtype=float)
            if not len(v):
                continue
            row = {"scenario": scen, "answer": col, "label": label, "draws": len(v),
                   "blocks": g["sample"].nunique(), "mean": float(v.mean()),
                   "p05": float(np.quantile(v, 0.05)), "p50": float(np.quantile(v, 0.5)),
                   "p95": float(np.quantile(v, 0.95))}
            if col == COMPANY_METRIC:
                k = int((v >= TARGET).sum())
                row["p_reaches_80"] = k / len(v)
                row["p_reaches_80_low"], row["p_reaches_80_high"] = wilson(k, len(v))
            out.append(row)
    return pd.DataFrame(out)


def indices(rows: pd.DataFrame, groups: dict[str, list[str]] | None = None,
            seed: int = 0) -> pd.DataFrame:
    """Per scenario, answer and input group (``groups[scenario]``: each input's group; an
    input alone by default): Sobol' S1 and ST with their 95 % intervals (SALib, first order;
    the blocks in sample order)."""
    from SALib.analyze import sobol

    out = []
    for scen, g in rows.groupby("scenario", sort=True):
        names = [c[3:] for c in g.columns if c.startswith("in:") and g[c].notna().all()]
        member = (groups or {}).get(scen) or names
        uniq = list(dict.fromkeys(member))
        g = g.sort_values(["sample", "row"])
        d = len(uniq)
        if d == 0 or len(g) % (d + 2) or len(g) < 2 * (d + 2):
            continue
        problem = {"num_vars": len(names), "names": names, "bounds": [[0, 1]] * len(names),
                   "groups": list(member) if d < len(names) else None}
        for col, label in ANSWERS.items():
            y = g[col].to_numpy(dtype=float)
            if not np.isfinite(y).all() or np.ptp(y) == 0:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = sobol.analyze(problem, y, calc_second_order=False, num_resamples=200,
                                    seed=seed)
            for k, name in enumerate(uniq):
                out.append({"scenario": scen, "answer": col, "label": label, "input": name,
                            "S1": float(res["S1"][k]), "S1_ci95": float(res["S1_conf"][k]),
                            "ST": float(res["ST"][k]), "ST_ci95": float(res["ST_conf"][k]),
                            "blocks": len(g) // (d + 2)})
    return pd.DataFrame(out)


def write_uncertainty(study_dir: Path, runs: list[dict]) -> None:
    """``uncertainty_rows.csv``, ``uncertainty.csv`` and ``uncertainty_indices.csv``."""
    rows = study_rows(runs)
    if rows.empty:
        return
    write_csv(Path(study_dir) / "uncertainty_rows.csv", rows)
    write_csv(Path(study_dir) / "uncertainty.csv", answers(rows))
    groups = {r["scenario"]: r["uncertainty"].get("groups") for r in runs if r.get("uncertainty")}
    write_csv(Path(study_dir) / "uncertainty_indices.csv", indices(rows, groups))
