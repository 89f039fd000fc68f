"""The leadership comparison report of a study: ``ccsim-report STUDY_DIR``.

Reads a study folder (``results/<study>/``: ``summary.parquet``, ``runs.csv``,
``plan.json`` and the runs' ``scenario.yaml`` and ``monthly.parquet``) and
writes ``report.html`` — one self-contained page: styles and charts inline,
no scripts, no network requests — and ``report.pdf`` with the same sections:

1. **Executive summary**: which scenarios reach the 80 % target by the
   company metric and by the digital resolution share, at what agent cost and
   service level against the base — and, for every scenario named, what customers
   pay for the saving (unresolved needs, revenue at risk) — with confidence: the
   answer first;
2. **Charts** (grey-print readable, units on every axis);
3. **Tables**: headline metrics with 95 % CIs and the paired difference to
   the base; cost next to unresolved needs and revenue at risk, and service levels;
   replications and run time;
4. **Assumptions**: each scenario's diff against the base in words and
   values, the calibration fit of company X, and the source of each figure.

Every number of a summary row is printed from ``summary.parquet`` (the HTML
cells carry the column and the exact value, which a test compares). A study
whose runs are partly missing is reported with its incomplete scenarios named
(planned runs from ``plan.json``, runs being written as ``runs/.tmp-*``);
the summary is rebuilt from the finished runs when it is missing or older
than them.
"""

from __future__ import annotations

if __name__ == "__main__":       # python -m …: a Ctrl-C while the imports below load is one line
    from analysis.guard import quiet_start

    quiet_start("ccsim-report")

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from .guard import BadInput, folder_problem, run_command
from .report_model import Cell, Report, Section, Table, channel_label
from .runio import KPIS_FILE
from .sources import DOCUMENTS, SEEDS_FOLDER, SOURCES, cite
from .staffing import typical_week, week_rows
from .study import (
    COMPANY_METRIC,
    TARGET,
    broken_runs,
    channel_kinds,
    finished_runs,
    write_summary,
)

__all__ = ["Study", "load_study",
           "build_report", "write_report", "main"]

REVENUE = "revenue_at_risk_eur"
#: what a replication-only P(≥ 80 %) measures, said wherever it is shown
P80_GIVEN = ("P(≥ 80 %) is the share of replications whose company metric reaches 80 %: it "
             "measures the simulation's randomness only, given the scenario's assumptions "
             "(a bot's gain, a hurdle's size, the fitted constants) — not how sure the answer "
             "is when those assumptions are themselves uncertain; an uncertainty study "
             "(conf/uncertainty.yaml) gives the chance over the assumptions' ranges.")
#: how the report explains revenue at risk (analysis/impact.py)
REVENUE_DEFINITION = ("each customer's annual value × the probability of leaving after an "
                      "unresolved need or a poor experience, assumptions of the scenario's "
                      "segments")
METRICS = {"online_share_of_contacts": "company metric",
           "online_self_service_share": "thesis metric",
           "digital_resolution_share": "digital resolution",
           "manual_contacts": "manual contacts a year"}


# ---------------------------------------------------------------- formats

def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def pct(v, digits: int = 1) -> str:
    return "–" if _nan(v) else f"{v * 100:.{digits}f} %"


def pp(v, digits: int = 1) -> str:
    return "–" if _nan(v) else f"{v * 100:+.{digits}f} pp"


def count(v) -> str:
    return "–" if _nan(v) else f"{v:,.0f}"


def signed(v) -> str:
    return "–" if _nan(v) else f"{v:+,.0f}"


def _ci(text: str, half, fmt) -> str:
    """``text ± half`` in the half-width's unit: "64.5 % ± 0.1 pp", "+18.4 ± 0.1 pp"."""
    if text == "–" or _nan(half) or half == 0:
        return text
    h = fmt(half).lstrip("+")
    if text.endswith(" pp") and h.endswith(" pp"):
        text = text[:-3]
    return f"{text} ± {h}"


# ---------------------------------------------------------------- the study

@dataclass
class Study:
    dir: Path
    base: str
    summary: pd.DataFrame          # one row per finished run, as in summary.parquet
    labels: dict                   # point -> short label for charts and tables
    run_dirs: dict                 # point -> run folder
    run_seconds: dict              # point -> run time in seconds
    planned: dict                  # scenario -> number of planned runs (plan.json)
    finished: dict                 # scenario -> number of finished runs
    incomplete: list               # (scenario, what) of runs planned or started, not finished
    kinds: dict                    # channel -> kind (sim.engine.channels), as the runs recorded them

    @property
    def agent_channels(self) -> list[str]:
        return [c for c, k in self.kinds.items() if k != "digital"]

    @property
    def digital_channels(self) -> list[str]:
        return [c for c, k in self.kinds.items() if k == "digital"]

    @property
    def base_row(self):
        rows = self.summary[(self.summary["scenario"] == self.base) & self._no_params()]
        return rows.iloc[0] if len(rows) else None

    def points(self) -> list[str]:
        """The summary's points with the base first, then in the summary's order."""
        base = self.base_row
        points = list(self.summary["point"])
        if base is not None:
            points.remove(base["point"])
            points.insert(0, base["point"])
        return points

    def rows(self):
        """(point, summary row) in :meth:`points` order."""
        s = self.summary.set_index("point", drop=False)
        return [(p, s.loc[p]) for p in self.points()]

    @property
    def staffing(self) -> str:
        """'required', 'fixed' or 'mixed': how the study's runs were staffed."""
        modes = {(self.scenario_config(p).get("staffing") or {}).get("mode", "fixed")
                 for p in self.summary["point"]}
        return modes.pop() if len(modes) == 1 else ("mixed" if modes else "fixed")

    def _no_params(self):
        params = [c for c in self.summary.columns if c.startswith("param:")]
        if not params:
            return pd.Series(True, index=self.summary.index)
        return self.summary[params].isna().all(axis=1)

    def monthly(self, point: str) -> pd.DataFrame | None:
        path = self.run_dirs.get(point)
        if path is None or not (path / "monthly.parquet").exists():
            return None
        return pd.read_parquet(path / "monthly.parquet")

    def staffing_frame(self, point: str) -> pd.DataFrame | None:
        """The run's ``staffing.parquet`` when it was rostered (required staffing), else None."""
        path = self.run_dirs.get(point)
        if path is None or not (path / "staffing.parquet").exists():
            return None
        frame = pd.read_parquet(path / "staffing.parquet")
        return frame if "on_shift" in frame.columns else None

    def typical_week(self):
        """(Monday, the base's staffing frame) of the base's typical week
        (:func:`analysis.staffing.typical_week`), or None without a rostered base run."""
        base = self.base_row
        frame = None if base is None else self.staffing_frame(base["point"])
        monday = None if frame is None else typical_week(frame)
        return None if monday is None else (monday, frame)

    def scenario_config(self, point: str) -> dict:
        path = self.run_dirs.get(point)
        return yaml.safe_load((path / "scenario.yaml").read_text()) if path else {}


def _label(row) -> str:
    params = [f"{k[6:].removeprefix('scenario.')}={_short(v)}" for k, v in row.items()
              if k.startswith("param:") and not _nan(v)]
    return row["scenario"] + (" · " + ", ".join(params) if params else "")


def _short(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _overrides(run_dir: Path) -> list[str]:
    meta = yaml.safe_load((run_dir / "run.yaml").read_text()) or {}
    return sorted(o for o in meta.get("overrides", []) if not o.startswith("study="))


def _scenario_of(overrides, default) -> str:
    for o in overrides:
        if o.startswith("scenario="):
            return o.partition("=")[2]
    return default or "?"


def _multirun_base(study_dir: Path) -> str | None:
    """The base scenario Hydra recorded in ``multirun.yaml`` (studies without ``plan.json``)."""
    path = study_dir / "multirun.yaml"
    if not path.exists():
        return None
    return (yaml.safe_load(path.read_text()) or {}).get("base_scenario")


def _plan(study_dir: Path) -> dict:
    """``plan.json`` of the study ({} when absent or unreadable: the report still runs)."""
    path = study_dir / "plan.json"
    try:
        plan = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return plan if isinstance(plan, dict) else {}


def _stale(summary_path: Path, runs_csv: Path, done: list[Path]) -> bool:
    """Whether the summary must be rebuilt: missing, unreadable, or not of these runs."""
    try:
        if not summary_path.exists() or not runs_csv.exists():
            return True
        pq_rows = pd.read_parquet(summary_path, columns=["point"])
        folders = set(pd.read_csv(runs_csv)["folder"])
        return (folders != {r.name for r in done} or len(pq_rows) == 0
                or any((r / KPIS_FILE).stat().st_mtime > summary_path.stat().st_mtime
                       for r in done))
    except Exception:  # noqa: BLE001 - anything unreadable is rebuilt
        return True


def _tmp_run(tmp_name: str) -> str:
    """The run folder a temporary folder is for: ``.tmp-<run>-<host>-<pid>-<random>`` (older
    ccsim: ``.tmp-<run>-<pid>``)."""
    rest = tmp_name[len(".tmp-"):]
    parts = rest.split("-")
    if len(parts) >= 5 and parts[-2].isdigit():
        return "-".join(parts[:-3])
    return rest.rsplit("-", 1)[0]


def load_study(study_dir) -> Study:
    """Read a study folder; rebuild its summary when missing or older than its runs."""
    study_dir = Path(study_dir)
    if not study_dir.is_dir():
        raise FileNotFoundError(folder_problem(study_dir))
    plan = _plan(study_dir)
    if not plan and not (study_dir / "runs").is_dir():
        raise FileNotFoundError(f"{study_dir} is not a study folder (no runs/ and no plan.json); "
                                "a study is what `ccsim -m study=NAME …` writes")
    base = plan.get("base_scenario") or _multirun_base(study_dir) or "baseline"
    done = finished_runs(study_dir)
    summary_path = study_dir / "summary.parquet"
    runs_csv = study_dir / "runs.csv"
    if done and _stale(summary_path, runs_csv, done):
        write_summary(study_dir, base)
    summary = pd.read_parquet(summary_path) if done else pd.DataFrame(
        columns=["point", "scenario", "seed", "replications"])
    times = pd.read_csv(runs_csv) if done else None
    run_dirs, run_seconds = {}, {}
    if times is not None:
        for t in times.itertuples():
            run_dirs[t.point] = study_dir / "runs" / t.folder
            run_seconds[t.point] = t.run_seconds
    labels = {r["point"]: _label(r) for _, r in summary.iterrows()}

    finished = summary["scenario"].value_counts().to_dict()
    done_overrides = {tuple(_overrides(r)) for r in done}
    default = plan.get("default_scenario")
    planned, incomplete = {}, []
    for job in plan.get("jobs", []):
        ov = tuple(sorted(o for o in job if not o.startswith("study=")))
        name = _scenario_of(ov, default)
        planned[name] = planned.get(name, 0) + 1
        if ov not in done_overrides:
            incomplete.append((name, " ".join(ov) or "(no overrides)"))
    runs = study_dir / "runs"
    finished_names = {r.name for r in done}
    for run, why in broken_runs(study_dir):
        name = run.name.rsplit("-", 1)[0]
        incomplete.append((name, f"not complete ({why}); run the sweep again to repair it"))
    for tmp in sorted(runs.glob(".tmp-*")) if runs.is_dir() else []:
        run_name = _tmp_run(tmp.name)
        if run_name in finished_names:
            continue                  # a leftover of an attempt that another process finished
        name = run_name.rsplit("-", 1)[0]
        if not any(n == name for n, _ in incomplete):
            incomplete.append((name, f"started, not finished ({tmp.name})"))
    return Study(study_dir, base, summary, labels, run_dirs, run_seconds, planned, finished,
                 incomplete, channel_kinds(done))


# ---------------------------------------------------------------- the sections

def _reach_value(v, h) -> str:
    """'yes' when the CI's lower end reaches the target, 'maybe' when the CI covers it, else 'no'."""
    h = 0.0 if _nan(h) else h
    if _nan(v):
        return "no"
    if v - h >= TARGET:
        return "yes"
    return "maybe" if v + h >= TARGET else "no"


def _names(labels: list[str], limit: int = 3) -> str:
    shown = labels[:limit]
    text = ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1]
    return text + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _fte(v) -> str:
    return "–" if _nan(v) else f"{v:,.1f}"


def _staffing_phrase(study: Study) -> str:
    if study.staffing == "required":
        return f"at equal service ({_promise(study)})"
    return {
            "fixed": "at the staffing each scenario sets (fixed shifts, so service levels "
                     "differ)",
            "mixed": "with some scenarios on fixed shifts and some on required staffing (not "
                     "at equal service)"}[study.staffing]


def _promise(study: Study) -> str:
    """How the study's scenarios were staffed to the same promise (the base's settings)."""
    base = study.base_row
    st = (study.scenario_config(base["point"] if base is not None else study.points()[0])
          .get("staffing") or {})
    conf = st.get("target_confidence", 0.9)
    if st.get("plan", "forecast") == "forecast":
        return ("every scenario staffed to the same promise — each agent channel's service "
                f"level on at least {pct(conf, 0)} of days — by a plan made from a forecast of "
                "its own demand and filled with whole shifts")
    return ("every scenario staffed to the same targets by a plan for each replication's own "
            "demand, filled with whole shifts")


def _service_phrase(study: Study, row) -> str:
    parts = []
    base = study.base_row
    for ch in [c for c in study.agent_channels if study.kinds[c] != "backlog"]:
        col = f"{ch}.service_level"
        if col not in row or _nan(row[col]) or _nan(row.get(f"{ch}.offered")) \
                or not row[f"{ch}.offered"]:
            continue
        text = f"{channel_label(ch)} {pct(row[col], 0)}"
        if base is not None and row["point"] != base["point"] and not _nan(base.get(col)):
            text += f" (base {pct(base[col], 0)})"
        parts.append(text)
    return ", ".join(parts) if parts else "no agent channel with contacts"


def _change(d, h, unit: str = "") -> str:
    """'by 1,234 ± 56 EUR' for a paired difference (its size; the verb says the sign)."""
    return f"by {_ci(count(abs(d)), h, count)}{unit}"


def _sign(v) -> int:
    return int(v > 0) - int(v < 0)


def _rel(d, base_value) -> str:
    """' (+3.1 %)': a difference relative to the base value ('' when there is none)."""
    if _nan(d) or _nan(base_value) or not base_value:
        return ""
    return f" ({pp(d / base_value).replace(' pp', ' %')})"


def impact_phrase(study: Study, row, relative_cost: bool = False) -> str:
    """What a scenario saves in agent cost and what customers pay for it, against the base:
    'saves 120,000 ± 4,000 EUR of agent cost a year, while unresolved needs rise by 1,200
    ± 90 (+3.1 %) and revenue at risk by 85,000 ± 9,000 EUR a year'."""
    base = study.base_row
    d, ud, rd = (row.get(f"{k}_diff") for k in ("agent_cost_eur", "unresolved_needs", REVENUE))
    if _nan(d) or _nan(ud):
        return "has no paired difference against the base (its runs have other seeds)"
    h = row.get("agent_cost_eur_diff_ci95")
    cost = ("leaves agent cost unchanged" if d == 0 else
            f"{'saves' if d < 0 else 'adds'} {_change(d, h)[3:]} EUR of agent cost a year"
            + (_rel(d, base["agent_cost_eur"]) if relative_cost else ""))
    verb = {-1: "fall", 0: "stay the same", 1: "rise"}[_sign(ud)]
    unresolved = f"unresolved needs {verb}" + ("" if ud == 0 else (
        f" {_change(ud, row.get('unresolved_needs_diff_ci95'))}"
        + _rel(ud, base["unresolved_needs"])))
    if _nan(rd):
        revenue = "revenue at risk is not known (the scenario has no customer segments)"
    else:
        same = _sign(rd) == _sign(ud) != 0
        rverb = "" if same else {-1: " falls", 0: " stays the same", 1: " rises"}[_sign(rd)]
        revenue = f"revenue at risk{rverb}" + ("" if rd == 0 else (
            f" {_change(rd, row.get(f'{REVENUE}_diff_ci95'), ' EUR a year')}"))
    return f"{cost}, while {unresolved} and {revenue}"


def _reach_sentences(study: Study) -> tuple[list[str], list[str], str]:
    """The answer to the 80 % question (company metric, then digital resolution), the
    points these two sentences name, and the point the summary goes on with (the first
    reaching the target, else the highest)."""
    s, lab = study.summary, study.labels
    n = len(s)
    reach = {r["point"]: _reach_value(r[COMPANY_METRIC], r.get(f"{COMPANY_METRIC}_ci95"))
             for _, r in s.iterrows()}
    yes = [p for p in s["point"] if reach[p] == "yes"]
    maybe = [p for p in s["point"] if reach[p] == "maybe"]
    best = s.loc[s[COMPANY_METRIC].idxmax()]

    def cm(p):
        r = s[s["point"] == p].iloc[0]
        return (f"{lab[p]} {pct(r[COMPANY_METRIC])}" +
                (f" (in {pct(r['p_company_metric_reaches_80'], 0)} of replications, given "
                 "its assumptions)"
                 if "p_company_metric_reaches_80" in r else ""))

    scen = f"the {n} scenario{'s' if n != 1 else ''} studied"
    if yes:
        first = (f"By the company's own metric (online share of contacts), "
                 f"{len(yes)} of {scen} reach{'es' if len(yes) == 1 else ''} the 80 % digital "
                 f"target: {_names([cm(p) for p in yes])}.")
    else:
        first = (f"By the company's own metric (online share of contacts), none of {scen} "
                 f"reaches the 80 % digital target with confidence; the highest is "
                 f"{lab[best['point']]} at {pct(best[COMPANY_METRIC])}.")
    if maybe:
        first = first[:-1] + (f"; {_names([lab[p] for p in maybe])} "
                              f"{'is' if len(maybe) == 1 else 'are'} within the confidence "
                              "interval of it.")
    dr = "digital_resolution_share"
    dr_yes = [r["point"] for _, r in s.iterrows()
              if _reach_value(r[dr], r.get(f"{dr}_ci95")) == "yes"]
    dbest = s.loc[s[dr].idxmax()]
    if dr_yes:
        second = (f"By the share of needs actually resolved digitally, "
                  f"{_names([f'{lab[p]} ({pct(s[s.point == p].iloc[0][dr])})' for p in dr_yes])} "
                  f"reach{'es' if len(dr_yes) == 1 else ''} 80 %.")
    else:
        second = (f"By the share of needs actually resolved digitally, none reaches 80 %: the "
                  f"highest is {lab[dbest['point']]} at {pct(dbest[dr])}.")
    shown = _NAMES_SHOWN
    named = ((yes[:shown] if yes else [best["point"]]) + maybe[:shown]
             + (dr_yes[:shown] if dr_yes else [dbest["point"]]))
    return [first, second], named, (yes[0] if yes else best["point"])


_NAMES_SHOWN = 3       # scenarios a list of the summary names (the rest are counted)


def _cost_sentences(study: Study, pick) -> list[str]:
    """The picked scenario's agent cost against the base, what customers pay for it, its
    service levels and FTE; then the metric trap in numbers."""
    base, lab = study.base_row, study.labels
    text = [f"Against the base {lab[base['point']]} ({count(base['agent_cost_eur'])} EUR of "
            f"agent cost a year), {lab[pick['point']]} "
            f"{impact_phrase(study, pick, relative_cost=True)}; "
            f"{_staffing_phrase(study)}, with service levels {_service_phrase(study, pick)}."]
    if "fte_diff" in pick and not _nan(pick["fte_diff"]):
        fte = _ci(f"{pick['fte_diff']:+.1f}", pick.get("fte_diff_ci95"), _fte)
        text[-1] = text[-1][:-1] + (f"; that is {fte} full-time agents "
                                    f"({_fte(pick['fte'])} against {_fte(base['fte'])}).")
    m, md = pick["manual_contacts"], pick["manual_contacts_diff"]
    dr = "digital_resolution_share"
    text.append(
        f"The company metric overstates the shift: in {lab[pick['point']]} it reads "
        f"{pct(pick[COMPANY_METRIC])}, while {pct(pick[dr])} of needs are resolved "
        f"digitally, the thesis metric is {pct(pick['online_self_service_share'])} and "
        f"{count(m)} manual contacts a year remain ({signed(md)}, "
        f"{pp(md / base['manual_contacts'], 0).replace(' pp', ' %')} against the base).")
    return text


def executive_summary(study: Study) -> list[str]:
    """The answer to the 80 % question first, then cost next to what customers pay for it
    (unresolved needs, revenue at risk: for every scenario named), service, the trap and
    confidence."""
    s = study.summary
    if s.empty:
        return ["No run of this study has finished yet, so there is no answer to the 80 % "
                "question; the runs still missing are listed below."]
    reps = sorted(set(int(r) for r in s["replications"]))
    text, named, pick = _reach_sentences(study)
    base = study.base_row
    rows = s.set_index("point", drop=False)
    if base is not None:
        if pick != base["point"]:
            text += _cost_sentences(study, rows.loc[pick])
        others = [p for p in dict.fromkeys(named) if p not in (base["point"], pick)]
        text += [f"Against the same base, {study.labels[p]} {impact_phrase(study, rows.loc[p])}."
                 for p in others]
    else:
        text.append(f"The base scenario {study.base} has no finished run, so no difference "
                    "against it is shown.")
    text.append(
        f"Each figure is the mean of {', '.join(map(str, reps))} replication(s) per scenario; "
        "± is the 95 % confidence interval, and differences against the base are paired "
        "replication by replication (the same customers and random numbers), so a difference "
        "whose interval excludes zero is real for this model. Revenue at risk is "
        f"{REVENUE_DEFINITION} (listed with the sources at the end).")
    return [" ".join(text)]


def _incomplete_paragraphs(study: Study) -> list[str]:
    if not study.incomplete:
        return []
    by = {}
    for name, what in study.incomplete:
        by.setdefault(name, []).append(what)
    parts = []
    for name, whats in sorted(by.items()):
        planned = study.planned.get(name)
        done = study.finished.get(name, 0)
        counts = f"{done} of {planned} runs finished" if planned else f"{done} runs finished"
        parts.append(f"{name} ({counts}; missing: {'; '.join(whats)})")
    return ["Incomplete study: " + "; ".join(parts) + ". Figures for these scenarios are "
            "missing or partial; run the same sweep command again to complete them (finished "
            "runs are skipped)."]


def _value_cell(row, key, fmt, ci_fmt=None) -> Cell:
    v = row.get(key)
    text = fmt(v)
    h = row.get(f"{key}_ci95")
    if ci_fmt and not _nan(h) and text != "–":
        text = _ci(text, h, ci_fmt)
    return Cell(text, key, None if _nan(v) else float(v))


def _diff_cell(row, key, fmt, is_base) -> Cell:
    if is_base:
        return Cell("base")
    d = row.get(f"{key}_diff")
    return Cell(_ci(fmt(d), row.get(f"{key}_diff_ci95"), fmt), f"{key}_diff",
                None if _nan(d) else float(d))


def headline_table(study: Study) -> Table:
    base = study.base_row
    cols = ["scenario"]
    rows, points = [], []
    spec = [("online_share_of_contacts", pct, pp), ("online_self_service_share", pct, pp),
            ("digital_resolution_share", pct, pp), ("manual_contacts", count, signed)]
    for key, _, _ in spec:
        cols += [METRICS[key], "Δ vs base"]
    cols += ["P(≥ 80 %) given the assumptions"]
    for _, r in study.rows():
        is_base = base is not None and r["point"] == base["point"]
        cells = [Cell(study.labels[r["point"]])]
        for key, fmt, dfmt in spec:
            cells += [_value_cell(r, key, fmt, dfmt if fmt is pct else count),
                      _diff_cell(r, key, dfmt, is_base)]
        cells.append(_value_cell(r, "p_company_metric_reaches_80", lambda v: pct(v, 0)))
        rows.append(cells)
        points.append(r["point"])
    rows, points = _add_missing_rows(study, rows, points, len(cols))
    return Table("headline", "Headline metrics per scenario: mean ± 95 % CI over replications; "
                 "Δ is the paired difference to the base (pp for shares) ± 95 % CI. Company "
                 "metric: online share of contacts; thesis metric: online self-service share; "
                 "digital resolution: share of resolved needs resolved in a digital channel. "
                 f"{P80_GIVEN}", cols, rows, points)


def cost_table(study: Study) -> Table:
    base = study.base_row
    cols = ["scenario", "agent cost (EUR/year)", "Δ vs base (EUR/year)",
            "unresolved needs (a year)", "Δ vs base (needs)", "revenue at risk (EUR/year)",
            "Δ vs base (EUR/year)", "agent hours (h/year)",
            "Δ vs base (h/year)", "paid cost incl. shrinkage (EUR/year)", "Δ vs base (EUR/year)",
            "FTE", "Δ vs base (FTE)", "replications", "run time (s)"]
    rows, points = [], []
    for _, r in study.rows():
        is_base = base is not None and r["point"] == base["point"]
        secs = study.run_seconds.get(r["point"])
        rows.append([Cell(study.labels[r["point"]]),
                     _value_cell(r, "agent_cost_eur", count, count),
                     _diff_cell(r, "agent_cost_eur", signed, is_base),
                     _value_cell(r, "unresolved_needs", count, count),
                     _diff_cell(r, "unresolved_needs", signed, is_base),
                     _value_cell(r, REVENUE, count, count),
                     _diff_cell(r, REVENUE, signed, is_base),
                     _value_cell(r, "agent_hours", count, count),
                     _diff_cell(r, "agent_hours", signed, is_base),
                     _value_cell(r, "paid_cost_eur", count, count),
                     _diff_cell(r, "paid_cost_eur", signed, is_base),
                     _value_cell(r, "fte", _fte, _fte),
                     _diff_cell(r, "fte", lambda v: "–" if _nan(v) else f"{v:+,.1f}", is_base),
                     _value_cell(r, "replications", lambda v: f"{v:.0f}"),
                     Cell("–" if _nan(secs) else f"{secs:.0f}")])
        points.append(r["point"])
    rows, points = _add_missing_rows(study, rows, points, len(cols))
    return Table("cost", f"Agent cost and hours per scenario, {_staffing_phrase(study)}: "
                 "staffed hours × hourly cost, next to what customers pay for it — needs "
                 f"left unresolved and the revenue at risk ({REVENUE_DEFINITION}; – without "
                 "customer segments) — and paid cost and FTE including shrinkage "
                 "(breaks, training, absence); mean ± 95 % CI, Δ the paired difference to the "
                 "base; the replications and the run time of each scenario's run."
                 + _one_plan_note(study),
                 cols, rows, points)


def service_table(study: Study) -> Table:
    chans = [c for c in study.agent_channels if f"{c}.service_level" in study.summary.columns]
    waits = [c for c in chans if study.kinds[c] != "backlog"]   # a backlog is not abandoned
    cols = ["scenario"] + [f"{channel_label(c)}: service level" for c in chans]
    cols += [f"{channel_label(c)}: abandoned" for c in waits]
    rows, points = [], []
    for _, r in study.rows():
        cells = [Cell(study.labels[r["point"]])]
        cells += [_value_cell(r, f"{c}.service_level", pct, pp) for c in chans]
        cells += [_value_cell(r, f"{c}.p_abandon", pct, pp) for c in waits]
        rows.append(cells)
        points.append(r["point"])
    rows, points = _add_missing_rows(study, rows, points, len(cols))
    return Table("service", "Service level per agent channel (answered within the channel's "
                 "target / offered; service requests: handled within their due time) and the "
                 "share abandoned, mean ± 95 % CI; – where a scenario sends no contact there.",
                 cols, rows, points)


def _one_plan_note(study: Study) -> str:
    if study.staffing != "required" or "forecast" not in {
            (study.scenario_config(p).get("staffing") or {}).get("plan", "forecast")
            for p in study.points()}:
        return ""
    return (" A forecast plan is made once per scenario (on replications of its own, not the "
            "ones run) and its roster serves every replication, so paid cost and FTE hardly "
            "vary between replications: their ± leaves out the forecast's own error, which "
            "the service levels on the run's days show.")


def roster_table(study: Study) -> Table | None:
    """Required against rostered agents in the base's typical week, per scenario and pool
    (required staffing with a roster); None when the study has no rostered base."""
    week = study.typical_week()
    if week is None:
        return None
    monday, _ = week
    cols = ["scenario", "pool", "required agent-hours (week)", "rostered paid hours (week)",
            "roster over required (week)", "roster over required (year)",
            "peak required agents", "peak rostered agents"]
    rows, points = [], []
    for p, _r in study.rows():
        frame = study.staffing_frame(p)
        if frame is None:
            continue
        for pool, w in week_rows(frame, monday).iterrows():
            rows.append([Cell(study.labels[p]), Cell(str(pool)), Cell(count(w.required_hours)),
                         Cell(count(w.rostered_hours)), Cell(pct(w.gap)), Cell(pct(w.year_gap)),
                         Cell(f"{w.peak_required:.0f}"), Cell(f"{w.peak_rostered:.0f}")])
            points.append(p)
    return Table("roster", f"Required and rostered agents in a typical week (the week of "
                 f"{monday.date().isoformat()}: of the base's full weeks, the one with the "
                 "median required agent-hours; the same calendar week for every scenario): "
                 "required agent-hours are the interval sum of the staffing plan, the least "
                 "any roster pays; rostered paid hours are the shifts the roster's integer "
                 "program chose under the staffing rules (shift starts, lengths, weekdays, "
                 "weekly hours), breaks included, before shrinkage; the gap is what whole "
                 "shifts cost over the requirement, in that week and over the run.",
                 cols, rows, points)


def _add_missing_rows(study: Study, rows, points, width):
    shown = set(study.summary["scenario"]) if not study.summary.empty else set()
    for name in sorted({n for n, _ in study.incomplete} - shown):
        rows.append([Cell(f"{name} (incomplete: no finished run)")]
                    + [Cell("–") for _ in range(width - 1)])
        points.append("")
    return rows, points


def _flat(d, prefix="") -> dict:
    out = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def _show(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return "[" + ", ".join(_show(x) if not isinstance(x, dict) else
                               "{" + ", ".join(f"{k}: {_show(y)}" for k, y in x.items()) + "}"
                               for x in v) + "]"
    return "none" if v is None else str(v)


def scenario_diffs(study: Study) -> list:
    """Each scenario's description and its values that differ from the base's."""
    base = study.base_row
    if base is None:
        return ["The base scenario has no finished run; diffs cannot be shown."]
    bcfg = _flat(study.scenario_config(base["point"]))
    blocks = []
    rows = []
    for _, r in study.rows():
        if r["point"] == base["point"]:
            continue
        cfg = study.scenario_config(r["point"])
        flat = _flat(cfg)
        keys = sorted(k for k in set(flat) | set(bcfg)          # its uncertain assumptions:
                      if k not in ("name", "description")          # an uncertainty study's
                      and not k.startswith("uncertain.") and flat.get(k) != bcfg.get(k))
        changes = "; ".join(f"{k}: {_show(bcfg.get(k))} → {_show(flat.get(k))}" for k in keys)
        rows.append([Cell(study.labels[r["point"]]), Cell(cfg.get("description", "")),
                     Cell(changes or "no change")])
    base_cfg = study.scenario_config(base["point"])
    blocks.append(f"The base is {study.labels[base['point']]}: "
                  f"{base_cfg.get('description', '')}")
    blocks.append(Table("diffs", "Each scenario against the base: what it means, and every "
                        "value that differs (base → scenario).",
                        ["scenario", "in words", "values (base → scenario)"], rows,
                        [""] * len(rows)))
    return blocks


def calibration_blocks(study: Study) -> list:
    """The company X fit as the sweep recorded it (``calibrations.json`` in the study)."""
    try:
        recorded = json.loads((study.dir / "calibrations.json").read_text())["company_x"]
        spec, fit_values = recorded["spec"], recorded["fit"] or {}
    except (OSError, ValueError, KeyError, TypeError):
        return ["The company X calibration was not recorded with this study (a study from "
                "before ccsim recorded it, or one run without its calibration files)."]
    conf, fit = recorded["spec_file"], recorded["fit_file"]
    fitted = _flat(dict(fit_values))
    base = study.base_row
    carried = None
    if base is not None:
        bcfg = _flat(study.scenario_config(base["point"]))
        carried = all(bcfg.get(k) == v for k, v in fitted.items())
    checks = recorded.get("checks") or {}
    if checks.get("parameters"):
        rows = [[Cell(e["parameter"]), Cell(f"{e['value']:.3g}"),
                 Cell("–" if e["se"] is None or e["se"] != e["se"] else f"± {e['se']:.2g}"),
                 Cell(f"{e['lower']:g} … {e['upper']:g}"), Cell(e.get("pinned_by") or "–")]
                for e in checks["parameters"]]
        head = ["parameter (mechanism)", "fitted", "standard error", "plausible range",
                "pinned by (share of its uncertainty)"]
    else:
        rows = [[Cell(k), Cell(f"{spec['parameters'][k]['start']:g}"), Cell(f"{v:g}"),
                 Cell(f"{spec['parameters'][k]['lower']:g} … {spec['parameters'][k]['upper']:g}")]
                for k, v in fitted.items() if k in spec["parameters"]]
        head = ["parameter", "start", "fitted", "bounds"]
    targets = ", ".join(f"{k.removeprefix('volumes.')} {t['change']:+.1%}"
                        for k, t in spec["targets"].items())
    n_par, n_fig = len(spec["parameters"]), len(spec["targets"])
    intro = (f"Company X is calibrated by `ccsim-calibrate {conf}`: {n_par} "
             f"strengths of the 2021 mechanisms (scenario {spec['scenario']}) are fitted so "
             f"that the simulated change from {spec['reference']} to {spec['scenario']} "
             f"reproduces the {n_fig} published 2020 → 2021 contact volumes "
             f"({cite('000', where='ch. 3.3')}): {targets}. The fit is {fit}. "
             + ("With fewer parameters than figures the fit could fail: what it reproduces "
                "is evidence for its mechanisms."
                if n_par < n_fig else
                "With as many parameters as figures (or more) the fit can reproduce almost any "
                "story: treat it as a description, not as evidence."))
    if carried is not None:
        intro += (" The base of this study carries the fit." if carried else
                  " The base of this study does not use this fit (its values differ).")
    blocks = [intro, Table("calibration", "The calibration fit for company X: each fitted "
                           "parameter, and where the fit recorded them its standard error (from "
                           "the simulation noise of the figures) and the figures that pin it.",
                           head, rows,
                           [""] * len(rows))]
    return blocks + _assumption_blocks(spec, checks) + _trust_blocks(checks)


def _assumption_blocks(spec: dict, checks: dict) -> list:
    """What the fit takes as given, and the agents' answered/offered split it implies (a
    figure nobody published: it shows what the assumption decides)."""
    given = [str(a).strip().rstrip(".") for a in spec.get("assumptions") or []]
    service = checks.get("service") or []
    if not given and not service:
        return []
    text = ("Taken as given, not fitted or tested: " + "; ".join(given) + "."
            if given else "")
    by = {}
    for r in service:
        by.setdefault(r["channel"], []).append(r)
    for channel, rows in by.items():
        years = "; ".join(f"in {r['scenario']} {r['answered_share']:.0%} of "
                          f"{r['offered']:,.0f} {channel} contacts offered to the agents are "
                          f"answered ({r['answered']:,.0f})" for r in rows)
        text += f" What that implies (simulated, not a published figure): {years}."
        if len(rows) == 2 and rows[0]["offered"] > 0 and rows[0]["answered"] > 0:
            d_off = rows[1]["offered"] / rows[0]["offered"] - 1
            d_ans = rows[1]["answered"] / rows[0]["answered"] - 1
            unanswered = abs(d_ans - d_off) > abs(d_ans)      # the gap is the larger part
            text += (f" So the {channel} contacts' {d_off:+.1%} comes with answered contacts "
                     f"{d_ans:+.1%}: the change is mostly in "
                     + ("unanswered attempts (and the redials after them)" if unanswered
                        else "answered contacts")
                     + "; another staffing would tell the same published figure differently.")
    rows = [[Cell(r["scenario"]), Cell(r["channel"]), Cell(f"{r['offered']:,.0f}"),
             Cell(f"{r['answered']:,.0f}"),
             Cell(f"{r['answered_share']:.1%} ± {r['answered_share_ci95']:.1%}"),
             Cell(f"{r['tried_again_share']:.0%}" if "tried_again_share" in r else "–")]
            for r in service]
    out = [text.strip()]
    if rows:
        out.append(Table("calibration_service", "What the fitted model implies for the agent "
                         "channels (simulated at the fit, not published): contacts offered to "
                         "the agents, answered, the answered share (95 % CI), and the share of "
                         "the unanswered whose need came back to the channel (tried again).",
                         ["scenario", "channel", "offered", "answered", "answered share",
                          "tried again"],
                         rows, [""] * len(rows)))
    return out


def _trust_blocks(checks: dict) -> list:
    """Leave-one-out and other seeds, in words a manager reads."""
    out = []
    loo = checks.get("cross_validation") or []
    if loo:
        rows, words = [], []
        for r in loo:
            name = r["figure"].removeprefix("volumes.")
            err = abs(r["error"]) * 100
            rows.append([Cell(name), Cell(f"{r['published']:+.1%}"), Cell(f"{r['predicted']:+.1%}"),
                         Cell(f"{r['error'] * 100:+.1f}"),
                         Cell("yes" if r["same_sign"] else "no")])
            words.append(f"the {name} change ({r['published']:+.1%}) to within "
                         f"{err:.1f} points" if r["same_sign"] else
                         f"the {name} change with the wrong sign ({r['predicted']:+.1%} for "
                         f"{r['published']:+.1%})")
        right = sum(1 for r in loo if r["same_sign"])
        out.append(f"Held out, one at a time: the model, fitted without a figure, predicts "
                   f"{'; '.join(words)}. It gets the direction right for {right} of "
                   f"{len(loo)} figures it was not fitted to.")
        out.append(Table("leave_one_out", "Leave-one-out: each published change predicted by "
                         "a fit made without it (error in percentage points).",
                         ["figure", "published", "predicted without it", "error (points)",
                          "right direction"], rows, [""] * len(rows)))
    seeds = checks.get("seeds") or []
    if seeds:
        worst = max(abs(r["simulated"] - r["target"]) for r in seeds) * 100
        out.append(f"On {len({r['seed'] for r in seeds})} other seeds (other random customers "
                   f"and needs) the fitted model stays within {worst:.1f} points of every "
                   "published change.")
    return out


def sources_table() -> Table:
    """Each figure and its source (author and year, where in it, the reference number)."""
    rows = [[Cell(what), Cell(src)] for what, src in SOURCES]
    return Table("sources", "The source of each figure: author and year of the document, "
                 "where in it, and its number in the references below.",
                 ["figure", "source"], rows, [""] * len(rows))


def references_blocks() -> list:
    """The source documents as a reader cites them (a paragraph each), then their files as a
    footnote."""
    docs = sorted(DOCUMENTS.values(), key=lambda d: d.number)
    files = "; ".join(f"[{d.number}] {d.file}" for d in docs)
    return (["References (the source documents, in Finnish; titles glossed in English in "
             "brackets; n.d. and unknown where a document does not say):"]
            + [f"[{d.number}] {d.reference}" for d in docs]
            + [f"Note: the documents are stored as the seed files of the domain "
               f"({SEEDS_FOLDER}): {files}."])


def build_report(study: Study, charts: bool = True) -> Report:
    """The report's content (sections of paragraphs, tables and charts); an uncertainty
    study's is its own (:mod:`analysis.uncertainty_report`)."""
    from . import charts as ch
    from .uncertainty_report import load_uncertainty, uncertainty_report

    unc = load_uncertainty(study.dir)
    if unc is not None:
        return uncertainty_report(study, unc, charts)

    summary = executive_summary(study) + _incomplete_paragraphs(study)
    sections = [Section("summary", "Executive summary", summary)]
    if not study.summary.empty and charts:
        sections.append(Section("charts", "Charts", ch.all_charts(study)))
    tables = [headline_table(study), cost_table(study), service_table(study),
              roster_table(study)]
    sections.append(Section("tables", "Tables", [t for t in tables if t is not None]))
    sections.append(Section("assumptions", "Assumptions",
                            scenario_diffs(study) + calibration_blocks(study)
                            + [sources_table()] + references_blocks()))
    n = len(study.summary)
    subtitle = (f"Study {study.dir.name}: {n} scenario run{'s' if n != 1 else ''} against the "
                f"base {study.base}; the company's target is {pct(TARGET, 0)} digital.")
    return Report("Does the plan reach 80 % digital, and what does it cost?", subtitle, sections)


def write_report(study_dir) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.pdf`` into the study folder; return their paths."""
    from .report_html import render_html
    from .report_pdf import render_pdf
    from .runio import write_bytes, write_text

    study = load_study(study_dir)
    report = build_report(study)
    html = write_text(study.dir / "report.html", render_html(report))
    pdf = write_bytes(study.dir / "report.pdf", render_pdf(report))
    return html, pdf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ccsim-report",
        description="Write the leadership comparison report of a study: STUDY_DIR/report.html "
        "(one self-contained page) and STUDY_DIR/report.pdf (the same sections).")
    parser.add_argument("study_dir", type=Path, help="a study folder, e.g. results/demo")
    args = parser.parse_args(argv)

    def body() -> int:
        try:
            html, pdf = write_report(args.study_dir)
        except FileNotFoundError as exc:
            raise BadInput(str(exc)) from None
        print(f"Report: {html}\nPDF:    {pdf}")
        return 0

    return run_command("ccsim-report", body, error_folder=lambda: args.study_dir)


if __name__ == "__main__":
    raise SystemExit(main())
