"""The leadership report never shows agent cost alone: on a made-up study summary (no
simulation), every scenario the executive summary names comes with its change in
unresolved needs and revenue at risk; the cost-impact chart and the cost table cope with
scenarios without customer segments (no revenue at risk)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.study_report import Study, _label, cost_table, executive_summary, impact_phrase

NAN = math.nan


def _row(point, scenario, cm, dr, cost_d, unres_d, rev_d, **extra):
    base_cost, base_unres, base_rev = 1_000_000.0, 4_000.0, 2_000_000.0
    row = {"point": point, "scenario": scenario, "seed": 1, "replications": 3,
           "online_share_of_contacts": cm, "online_share_of_contacts_ci95": 0.01,
           "p_company_metric_reaches_80": 1.0 if cm >= 0.8 else 0.0,
           "digital_resolution_share": dr, "digital_resolution_share_ci95": 0.01,
           "online_self_service_share": 0.3, "manual_contacts": 20_000.0,
           "manual_contacts_diff": -1000.0, "manual_contacts_diff_ci95": 10.0,
           "agent_cost_eur": base_cost + cost_d, "agent_cost_eur_diff": cost_d,
           "agent_cost_eur_diff_ci95": 500.0,
           "unresolved_needs": base_unres + unres_d, "unresolved_needs_diff": unres_d,
           "unresolved_needs_diff_ci95": 30.0,
           "revenue_at_risk_eur": base_rev + rev_d, "revenue_at_risk_eur_diff": rev_d,
           "revenue_at_risk_eur_diff_ci95": 1000.0,
           "phone.service_level": 0.8, "phone.offered": 100.0}
    row.update(extra)
    return row


def _study(rows) -> Study:
    summary = pd.DataFrame(rows)
    labels = {r["point"]: _label(r) for _, r in summary.iterrows()}
    return Study(Path("/nonexistent/made_up"), "base", summary, labels, {}, {}, {}, {}, [],
                 {"phone": "live", "bot": "digital"})


STUDY = [
    _row("scenario=base", "base", 0.62, 0.50, 0.0, 0.0, 0.0),
    # reaches 80 % and saves cost, customers pay
    _row("scenario=cut", "cut", 0.86, 0.70, -250_000.0, 900.0, 300_000.0),
    # within the CI of 80 %: named too
    _row("scenario=close", "close", 0.795, 0.60, -10_000.0, -50.0, 20_000.0),
    # highest digital resolution (named in the second sentence), costs more, helps customers
    _row("scenario=care", "care", 0.70, 0.78, 40_000.0, -600.0, -400_000.0),
    # never named
    _row("scenario=quiet", "quiet", 0.60, 0.40, 0.0, 10.0, 0.0),
]


def _sentences(study) -> tuple[str, list[str]]:
    text = " ".join(executive_summary(study))
    return text, re.split(r"(?<=\.)\s+", text)


def test_every_named_scenario_has_cost_unresolved_and_revenue():
    study = _study(STUDY)
    text, sentences = _sentences(study)
    named = [p for p, lab in study.labels.items() if lab in text and p != "scenario=base"]
    assert set(named) == {"scenario=cut", "scenario=close", "scenario=care"}
    for point in named:
        said = [s for s in sentences if study.labels[point] in s and "agent cost" in s
                and "unresolved needs" in s and "revenue at risk" in s]
        assert len(said) == 1, (point, text)
    assert ("cut saves 250,000 ± 500 EUR of agent cost a year (-25.0 %), while unresolved "
            "needs rise by 900 ± 30 (+22.5 %) and revenue at risk by 300,000 ± 1,000 EUR a "
            "year") in text
    assert ("care adds 40,000 ± 500 EUR of agent cost a year, while unresolved needs fall by "
            "600 ± 30 (-15.0 %) and revenue at risk by 400,000 ± 1,000 EUR a year") in text
    # directions that differ get their own verb
    assert ("close saves 10,000 ± 500 EUR of agent cost a year, while unresolved needs fall "
            "by 50 ± 30 (-1.2 %) and revenue at risk rises by 20,000 ± 1,000 EUR a year") in text
    assert "quiet" not in text


def test_without_segments_revenue_at_risk_is_said_unknown():
    rows = [dict(r, revenue_at_risk_eur=NAN, revenue_at_risk_eur_diff=NAN,
                 revenue_at_risk_eur_diff_ci95=NAN) for r in STUDY]
    study = _study(rows)
    phrase = impact_phrase(study, study.summary.iloc[1])
    assert phrase.endswith("revenue at risk is not known (the scenario has no customer "
                           "segments)")
    assert "nan" not in " ".join(executive_summary(study)).lower()
    table = cost_table(study)
    texts = [c.text for row in table.rows for c in row]
    assert "nan" not in " ".join(texts).lower()
    i = table.columns.index("revenue at risk (EUR/year)")
    assert {row[i].text for row in table.rows} == {"–"}


def test_the_cost_table_puts_customer_impact_beside_agent_cost():
    table = cost_table(_study(STUDY))
    i = table.columns.index("agent cost (EUR/year)")
    assert table.columns[i + 2:i + 6] == ["unresolved needs (a year)", "Δ vs base (needs)",
                                          "revenue at risk (EUR/year)", "Δ vs base (EUR/year)"]
    cut = table.rows[table.points.index("scenario=cut")]
    assert (cut[i + 3].key, cut[i + 3].value) == ("unresolved_needs_diff", 900.0)
    assert (cut[i + 5].key, cut[i + 5].value) == ("revenue_at_risk_eur_diff", 300_000.0)


@pytest.mark.parametrize("segments", [True, False])
def test_the_cost_impact_chart_draws_with_and_without_segments(segments):
    import matplotlib

    from analysis import charts

    rows = STUDY if segments else [dict(r, revenue_at_risk_eur_diff=NAN) for r in STUDY]
    with matplotlib.rc_context(charts.STYLE):
        chart = charts.cost_impact(_study(rows))
    assert chart.id == "cost-impact" and chart.png[:4] == b"\x89PNG"
    assert "no customer segments" in chart.svg or segments
