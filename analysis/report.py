"""A plain-text (Markdown) summary of every finished run under a folder.

``python -m analysis.report DIR`` reads each ``DIR/**/kpis.json`` with its
``scenario.yaml`` and writes ``DIR/report.md``: per run the agent channels'
KPIs with 95 % CIs, agent hours and cost next to unresolved needs and revenue at
risk, and for one-queue scenarios the
Erlang C / Erlang A figures beside the simulated ones. Runs without
``kpis.json`` are listed as incomplete.
"""

from __future__ import annotations

if __name__ == "__main__":       # python -m …: a Ctrl-C while the imports below load is one line
    from analysis.guard import quiet_start

    quiet_start("analysis.report")

import argparse
import sys
from pathlib import Path

import yaml

from .erlang import erlang_a, erlang_c
from .guard import BadInput, folder_problem, run_command
from .runio import load_kpis, run_problems, write_text

__all__ = ["build_report", "main"]

COLUMNS = [("service_level", "service level", "{:.1%}"), ("asa_seconds", "ASA (s)", "{:.1f}"),
           ("p_wait", "P(wait)", "{:.1%}"), ("p_abandon", "abandoned", "{:.1%}"),
           ("occupancy", "occupancy", "{:.1%}"), ("offered", "offered", "{:,.0f}"),
           ("agent_cost_eur", "agent cost (EUR)", "{:,.0f}")]


METRIC_ROWS = [
    ("online_share_of_contacts", "online share of contacts (company metric)", "{:.1%}"),
    ("online_self_service_share", "online self-service share (thesis metric)", "{:.1%}"),
    ("digital_resolution_share", "digital resolution share (needs resolved digitally)", "{:.1%}"),
    ("manual_contacts", "manual contacts", "{:,.0f}"),
    ("double_counted_contacts", "double-counted contacts", "{:,.0f}"),
    ("needs", "needs", "{:,.0f}"),
    ("unresolved_needs", "unresolved needs", "{:,.0f}"),
    ("contacts_per_need", "contacts per need", "{:.2f}"),
    ("cost_per_need_eur", "agent cost per need (EUR)", "{:.2f}"),
    ("unresolved_share", "unresolved share of needs", "{:.1%}"),
    ("customers_with_unresolved", "customers with an unresolved need", "{:,.0f}"),
    ("resolution_hours_mean", "time to resolution, mean (h)", "{:.1f}"),
    ("resolution_hours_p90", "time to resolution, 90th percentile (h)", "{:.1f}"),
    ("contacts_per_resolved_need", "contacts per resolved need", "{:.2f}"),
    ("revenue_at_risk_eur", "revenue at risk (EUR)", "{:,.0f}"),
]


def _cell(block: dict, key: str, fmt: str) -> str:
    value, half = block.get(key), block.get(f"{key}_ci")
    if value is None or value != value:          # missing, or NaN: nothing to show
        return "–"
    text = fmt.format(value)
    if half is not None and half == half and half > 0:
        text += " ± " + fmt.format(half).rstrip("%") + ("%" if fmt.endswith("%}") else "")
    return text


def _revenue(m: dict) -> str:
    text = _cell(m, "revenue_at_risk_eur", "{:,.0f}")
    return "– (no customer segments)" if text == "–" else f"{text} EUR"


def _theory_row(scenario: dict) -> list[str] | None:
    q = scenario.get("queue")
    if not q:
        return None
    args = (q["arrivals_per_hour"], q["aht_seconds"], q["agents"])
    f = (erlang_c(*args, q["answer_target_seconds"]) if q["patience_seconds"] is None
         else erlang_a(*args, q["patience_seconds"], q["answer_target_seconds"]))
    name = "Erlang C" if q["patience_seconds"] is None else "Erlang A"
    vals = {"service_level": f.service_level, "asa_seconds": f.asa_seconds, "p_wait": f.p_wait,
            "p_abandon": f.p_abandon, "occupancy": f.occupancy}
    return [f"phone ({name}, theory)"] + [fmt.format(vals[k]) if k in vals else ""
                                          for k, _, fmt in COLUMNS]


def _run_section(run_dir: Path, root: Path) -> list[str]:
    kpis = load_kpis(run_dir)
    scenario = yaml.safe_load((run_dir / "scenario.yaml").read_text())
    lines = [f"## {kpis['scenario']} — `{run_dir.relative_to(root)}`", "",
             f"{scenario.get('description', '')}", "",
             f"{kpis['replications']} replications × {kpis['hours']:g} h "
             f"(first {kpis['warmup_hours']:g} h left out), seed {kpis['seed']}, "
             f"run time {kpis.get('run_seconds', 0):.1f} s. Values: mean ± 95 % CI half-width.",
             "", "| channel | " + " | ".join(c[1] for c in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for name, block in kpis["channels"].items():
        lines.append(f"| {name} | " + " | ".join(_cell(block, k, f) for k, _, f in COLUMNS) + " |")
    theory = _theory_row(scenario)
    if theory:
        lines.append("| " + " | ".join(theory) + " |")
    t = kpis["totals"]
    m, v = kpis.get("metrics"), kpis.get("volumes") or {}
    lines += ["", f"Staffed agent hours: {_cell(t, 'agent_hours', '{:,.0f}')}; "
              f"agent cost: {_cell(t, 'agent_cost_eur', '{:,.0f}')} EUR; "
              f"unresolved needs: {_cell(m or {}, 'unresolved_needs', '{:,.0f}')}; "
              f"revenue at risk: {_revenue(m or {})}.", ""]
    if m and any(v.get(ch) for ch in ("bot", "selfservice", "support_site", "webshop")):
        lines += ["The metric trap, side by side (contact log; seed 000's definitions):", "",
                  "| metric | value |", "|---|---|"]
        lines += [f"| {label} | {_cell(m, key, fmt)} |" for key, label, fmt in METRIC_ROWS]
        lines.append("")
    return lines


# (key, label, value format, difference format, scale of the difference): shares differ in pp
STUDY_COLUMNS = [("online_share_of_contacts", "company metric", "{:.1%}", "{:+.2f} pp", 100),
                 ("online_self_service_share", "thesis metric", "{:.1%}", "{:+.2f} pp", 100),
                 ("digital_resolution_share", "digital resolution", "{:.1%}", "{:+.2f} pp", 100),
                 ("manual_contacts", "manual contacts", "{:,.0f}", "{:+,.0f}", 1),
                 ("agent_cost_eur", "agent cost (EUR)", "{:,.0f}", "{:+,.0f}", 1),
                 ("unresolved_needs", "unresolved needs", "{:,.0f}", "{:+,.0f}", 1),
                 ("revenue_at_risk_eur", "revenue at risk (EUR)", "{:,.0f}", "{:+,.0f}", 1)]


def _study_section(root: Path) -> list[str]:
    """The study's summary (``summary.parquet``): each point against the base, paired."""
    import pandas as pd

    path = root / "summary.parquet"
    if not path.exists():
        return []
    try:
        s = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - a truncated summary is said, not shown
        return [f"**The study summary cannot be read** ({type(exc).__name__}); rebuild it with "
                f"`python -m analysis.study {root}`.", ""]
    lines = ["## The study: every point against the base", "",
             "Mean over replications, then in brackets the paired difference to the base run "
             "(same seed, replication by replication) ± 95 % CI half-width; P(≥ 80 %): share of "
             "replications whose company metric reaches the 80 % target — simulation noise "
             "only, given the scenario's assumptions.", "",
             "| point | " + " | ".join(c[1] for c in STUDY_COLUMNS) + " | P(≥ 80 %) |",
             "|---" * (len(STUDY_COLUMNS) + 2) + "|"]
    for _, r in s.iterrows():
        cells = []
        for key, _, fmt, dfmt, scale in STUDY_COLUMNS:
            text = fmt.format(r[key]) if key in r and r[key] == r[key] else "–"
            d, h = r.get(f"{key}_diff"), r.get(f"{key}_diff_ci95")
            if d is not None and d == d:
                ci = dfmt.format(h * scale).lstrip("+") if h == h else ""
                text += f" ({dfmt.format(d * scale)}" + (f" ± {ci})" if ci else ")")
            cells.append(text)
        p80 = r.get("p_company_metric_reaches_80")
        label = r["point"] or r["scenario"]
        lines.append(f"| {label} | " + " | ".join(cells)
                     + f" | {'–' if p80 is None or p80 != p80 else f'{p80:.0%}'} |")
    return lines + [""]


def build_report(root: Path) -> Path:
    """Write ``root/report.md`` from the runs below ``root``; return its path."""
    root = Path(root)
    configs = sorted(p.parent for p in root.rglob("scenario.yaml"))
    if not configs:
        raise FileNotFoundError(f"no runs (scenario.yaml) below {root}")
    lines = [f"# ccsim report: {root}", ""]
    configs = [d for d in configs if not any(part.startswith(".tmp-") or
                                             part.startswith(".failed-")
                                             for part in d.relative_to(root).parts)]
    incomplete = [d for d in configs if run_problems(d)]
    if incomplete:
        lines += ["**Incomplete runs (not finished, or files missing):** "
                  + ", ".join(f"`{d.relative_to(root)}` ({run_problems(d)[0]})"
                              for d in incomplete), ""]
    lines += _study_section(root)
    for d in configs:
        if d not in incomplete:
            lines += _run_section(d, root)
    return write_text(root / "report.md", "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a run or sweep folder under results/")
    args = parser.parse_args(argv)

    def body() -> int:
        if not args.folder.is_dir():
            raise BadInput(folder_problem(args.folder))
        try:
            path = build_report(args.folder)
        except FileNotFoundError as exc:
            raise BadInput(str(exc)) from None
        print(f"Report: {path}")
        return 0

    return run_command("analysis.report", body, error_folder=lambda: args.folder)


if __name__ == "__main__":
    sys.exit(main())
