"""The leadership report of an uncertainty study (``conf/uncertainty.yaml``): the 80 %
question answered over the assumptions' ranges, the spread of each answer, and which
assumption moves it most (:mod:`analysis.uncertainty` computes the figures)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import yaml

from .report_model import Cell, Report, Section, Table
from .study import COMPANY_METRIC, TARGET

__all__ = ["load_uncertainty", "uncertainty_report"]


def load_uncertainty(study_dir: Path) -> dict | None:
    """The study's uncertainty tables (None for an ordinary study)."""
    d = Path(study_dir)
    if not (d / "uncertainty.csv").exists():
        return None
    read = lambda name: pd.read_csv(d / name) if (d / name).exists() \
        and (d / name).stat().st_size > 1 else pd.DataFrame()   # noqa: E731
    return {"answers": read("uncertainty.csv"), "indices": read("uncertainty_indices.csv"),
            "rows": read("uncertainty_rows.csv")}


def _pct(v, digits=0) -> str:
    return "–" if v is None or v != v else f"{v * 100:.{digits}f} %"


def _value(answer: str, v) -> str:
    if v != v:
        return "–"
    return _pct(v, 1) if answer.endswith("_share") or answer == COMPANY_METRIC else f"{v:,.0f}"


def _inputs(study, scenario: str) -> dict:
    """The scenario's uncertain inputs as its run recorded them (scenario.yaml)."""
    for path in study.run_dirs.values():
        if path.name.startswith(f"{scenario}-") and (path / "scenario.yaml").exists():
            return (yaml.safe_load((path / "scenario.yaml").read_text()) or {}).get(
                "uncertain") or {}
    return {}


def _ranking(indices: pd.DataFrame, scenario: str, answer: str = COMPANY_METRIC) -> list:
    g = indices[(indices["scenario"] == scenario) & (indices["answer"] == answer)]
    return list(g.sort_values("ST", ascending=False).itertuples())


def _summary(study, unc: dict) -> list[str]:
    a, idx = unc["answers"], unc["indices"]
    cm = a[a["answer"] == COMPANY_METRIC]
    text = []
    for r in cm.itertuples():
        s = (f"Over the plausible range of its assumptions ({r.draws} draws of "
             f"{len(_inputs(study, r.scenario))} uncertain inputs, {r.blocks} blocks), "
             f"{r.scenario} reaches the {TARGET * 100:.0f} % digital target by the company's "
             "metric in "
             f"{_pct(r.p_reaches_80)} of plausible cases (95 % interval "
             f"{_pct(r.p_reaches_80_low)}–{_pct(r.p_reaches_80_high)}); its company metric lies "
             f"between {_pct(r.p05, 1)} and {_pct(r.p95, 1)} (5 % and 95 % points, median "
             f"{_pct(r.p50, 1)}).")
        top = [t for t in _ranking(idx, r.scenario) if t.ST > 0.05][:3]
        if top:
            s += (" What moves it most: " + "; ".join(
                f"{t.input} (total index {t.ST:.2f} ± {t.ST_ci95:.2f}, alone "
                f"{t.S1:.2f} ± {t.S1_ci95:.2f})" for t in top) + ".")
        text.append(s)
    text.append("These chances are over the assumptions' ranges — the plans' guesses and the "
                "fit's standard errors listed below — every draw on the same random numbers, "
                "so the spread is the assumptions', not the dice's; every draw is run "
                f"{_staffing_basis(study)}. The P(≥ 80 %) of an ordinary study is something "
                "else: the share of its replications reaching 80 % with the assumptions fixed "
                "at their planned values, which measures only the dice.")
    return [" ".join(text)]


def _staffing_basis(study) -> str:
    if study.staffing == "required":
        return "at equal service (each draw staffed to the same promise from its own forecast)"
    return ("at each scenario's own shifts (fixed staffing: its service levels and agent cost "
            "are not at equal service; scenario.staffing.mode=required staffs every draw, "
            "about 20 s more a row)")


def _distribution_chart(unc: dict):
    from matplotlib.figure import Figure

    from .charts import WIDTH, _chart, _target_line

    rows = unc["rows"]
    draws = rows[rows["kind"].isin(["A", "B"])]
    scen = sorted(draws["scenario"].unique())
    fig = Figure(figsize=(WIDTH, 1.2 + 0.6 * len(scen)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(scen))[::-1]
    for yi, s in zip(y, scen):
        v = draws.loc[draws["scenario"] == s, COMPANY_METRIC].to_numpy(dtype=float) * 100
        ax.boxplot([v], positions=[yi], vert=False, widths=0.5, whis=(5, 95),
                   showfliers=False, medianprops={"color": "black"})
        jitter = (np.arange(len(v)) % 7 - 3) * 0.04
        ax.plot(v, yi + jitter, "o", markersize=2.5, color="#555555", alpha=0.7)
    _target_line(ax, axis="x")
    ax.set_yticks(y, scen)
    ax.set_xlabel("company metric (%), one point per draw of the assumptions")
    ax.legend(loc="lower right", frameon=False)
    return _chart(fig, "uncertainty-distribution", "The company metric over the assumptions",
                  "Per scenario, every draw of its uncertain inputs (points), with the box from "
                  "the 25 % to the 75 % point, the median and whiskers at the 5 % and 95 % "
                  "points; the dashed line is the 80 % target.")


def _indices_chart(unc: dict):
    from matplotlib.figure import Figure

    from .charts import WIDTH, _chart

    idx = unc["indices"]
    idx = idx[idx["answer"] == COMPANY_METRIC]
    scen = sorted(idx["scenario"].unique())
    sizes = [max(len(idx[idx["scenario"] == s]), 1) for s in scen]
    fig = Figure(figsize=(WIDTH, 0.9 + 0.32 * sum(sizes) + 0.5 * len(scen)),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(scen), 1, squeeze=False,
                                      height_ratios=[n + 1.5 for n in sizes])[:, 0])
    right = max(1.05, float((idx["ST"] + idx["ST_ci95"]).max()) + 0.05) if len(idx) else 1.05
    for ax, s in zip(axes, scen):
        g = idx[idx["scenario"] == s].sort_values("ST")
        y = np.arange(len(g))
        ax.barh(y + 0.2, g["ST"].clip(lower=0), 0.4, xerr=g["ST_ci95"], color="#444444",
                label="total (ST)", error_kw={"linewidth": 0.6})
        ax.barh(y - 0.2, g["S1"].clip(lower=0), 0.4, xerr=g["S1_ci95"], color="white",
                edgecolor="black", hatch="//", label="alone (S1)", error_kw={"linewidth": 0.6})
        ax.set_yticks(y, g["input"])
        ax.set_title(s, loc="left")
        ax.set_xlim(0, right)
        ax.axvline(1.0, color="black", linewidth=0.5, linestyle=":")
    axes[0].legend(loc="lower right", frameon=False)
    axes[-1].set_xlabel("Sobol' index of the company metric (share of its variance)")
    return _chart(fig, "uncertainty-indices", "Which assumption matters most",
                  "Per scenario and uncertain input, the share of the company metric's variance "
                  "over the assumptions that the input explains alone (first-order S1, hatched) "
                  "and with its interactions (total ST, dark), with bootstrap 95 % intervals; "
                  "an input whose total index is near zero does not matter for the answer. "
                  "Estimates from a few dozen blocks can stray past 1 within their interval.")


def _tables(unc: dict) -> list[Table]:
    a = unc["answers"]
    rows = []
    for r in a.itertuples():
        p80 = "" if r.answer != COMPANY_METRIC else (
            f"{_pct(r.p_reaches_80)} ({_pct(r.p_reaches_80_low)}–{_pct(r.p_reaches_80_high)})")
        rows.append([Cell(r.scenario), Cell(r.label), Cell(_value(r.answer, r.mean)),
                     Cell(_value(r.answer, r.p05)), Cell(_value(r.answer, r.p50)),
                     Cell(_value(r.answer, r.p95)), Cell(p80 or "–"), Cell(f"{r.draws}")])
    answers = Table("uncertainty-answers", "Each answer over the assumptions: the mean and the "
                    "5 %, 50 % and 95 % points over the draws of the uncertain inputs; for the "
                    "company metric the share of draws reaching 80 % with its Wilson 95 % "
                    "interval.", ["scenario", "answer", "mean", "5 %", "median", "95 %",
                                  "P(≥ 80 %) over the assumptions", "draws"], rows,
                    [""] * len(rows))
    idx = unc["indices"]
    idx = idx[idx["answer"] == COMPANY_METRIC].sort_values(["scenario", "ST"],
                                                            ascending=[True, False])
    irows = [[Cell(r.scenario), Cell(r.input), Cell(f"{r.S1:.2f} ± {r.S1_ci95:.2f}"),
              Cell(f"{r.ST:.2f} ± {r.ST_ci95:.2f}"), Cell(f"{r.blocks}")]
             for r in idx.itertuples()]
    indices = Table("uncertainty-indices", "Sobol' indices of the company metric per uncertain "
                    "input (SALib, Saltelli's design; ± the bootstrap 95 % interval): S1 alone, "
                    "ST with its interactions.", ["scenario", "input", "S1", "ST", "blocks"],
                    irows, [""] * len(irows))
    return [answers, indices]


def _assumptions(study, unc: dict) -> list:
    out = []
    for s in sorted(unc["answers"]["scenario"].unique()):
        rows = []
        for name, u in _inputs(study, s).items():
            dist = {"uniform": f"uniform {u.get('low')} … {u.get('high')}",
                    "triangular": f"triangular {u.get('low')} … {u.get('peak')} … "
                                  f"{u.get('high')}",
                    "normal": f"normal, mean {u.get('mean')}, sd {u.get('sd')}"
                              + (f", cut at {u.get('low')} … {u.get('high')}"
                                 if u.get("low") is not None else "")}[u.get("dist", "uniform")]
            keys = ", ".join(u.get("path") or [])
            if u.get("shift"):
                keys = "added to " + keys + (f"; taken from {', '.join(u['shift_down'])}"
                                             if u.get("shift_down") else "")
            rows.append([Cell(name), Cell(keys), Cell(dist), Cell(u.get("about") or "")])
        out.append(Table(f"uncertain-{s}", f"The uncertain inputs of {s} (its `uncertain:` "
                         "block).", ["input", "scenario keys", "distribution", "what it is"],
                         rows, [""] * len(rows)))
    return out


def uncertainty_report(study, unc: dict, charts: bool = True) -> Report:
    sections = [Section("summary", "Executive summary", _summary(study, unc))]
    if charts and not unc["rows"].empty:
        from .charts import STYLE

        with matplotlib.rc_context(STYLE):
            figs = [_distribution_chart(unc)]
            if not unc["indices"].empty:
                figs.append(_indices_chart(unc))
        sections.append(Section("charts", "Charts", figs))
    sections.append(Section("tables", "Tables", _tables(unc)))
    sections.append(Section("assumptions", "Assumptions", _assumptions(study, unc)))
    n = unc["answers"]["scenario"].nunique()
    return Report("How sure is the answer? The 80 % question over the assumptions",
                  f"Uncertainty study {study.dir.name}: {n} scenario{'s' if n != 1 else ''}, "
                  "each over the ranges of its uncertain inputs.", sections)

