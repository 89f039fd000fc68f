"""Customer-impact metrics (analysis/impact.py) on a tiny log worked out by hand, the
volumes offered and answered, and the run summary's wording for closed channels."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from analysis.impact import ImpactInputs, SegmentValue, customer_impact
from analysis.metrics import agent_volumes, log_metrics, need_order, validate_log, volumes

SEGMENTS = {"big": SegmentValue(10_000.0, 0.2, 0.1), "small": SegmentValue(2_000.0, 0.5, 0.25)}
CUSTOMER_SEGMENT = {"A": "big", "B": "small", "C": "small", "D": "big", "E": "big"}
NAN = math.nan

# need, customer, channel, outcome, escalated_from, arrival_s, answer_s, end_s
# (contact_id = row number; start = 2023-01-02 + arrival_s)
HAND_LOG = [
    (1, "A", "phone", "abandoned", None, 0, NAN, 60),           # 1  abandoned ...
    (1, "A", "phone", "abandoned", None, 600, NAN, 700),        # 2  ... twice: poor experience
    (1, "A", "phone", "resolved", None, 1200, 1230, 1500),      # 3  resolved after 1500 s
    (2, "A", "selfservice", "resolved", None, 3600, NAN, 3900),  # 4  300 s
    (3, "B", "bot", "escalated", None, 7200, NAN, 7400),        # 5  the bot hands over ...
    (3, "B", "chat", "resolved", 5, 7400, 7420, 8000),          # 6  ... to chat: 800 s
    (4, "B", "support_site", "failed", None, 10000, NAN, 10100),  # 7
    (4, "B", "phone", "failed", None, 10200, NAN, 10200),       # 8  the line is closed: gives up
    (5, "C", "phone", "abandoned", None, 20000, NAN, 20100),    # 9  abandoned once: not poor
    (5, "C", "phone", "resolved", None, 21000, 21010, 21600),   # 10 1600 s
    (6, "D", "chat", "open", None, 30000, NAN, NAN),            # 11 still waiting at the end
    (7, "C", "bot", "escalated", None, 40000, NAN, 40200),      # 12 the bot hands over ...
    (7, "C", "chat", "resolved", 12, 40200, 40230, 40900),      # 13 ... to chat: 900 s
    (8, "E", "selfservice", "escalated", None, 50000, NAN, 50300),  # 14 the portal, not the bot,
    (8, "E", "chat", "resolved", 14, 50300, 50310, 51200),      # 15 ... hands over: 1200 s
]


def hand_log(rows=HAND_LOG, segments: bool = True) -> pd.DataFrame:
    arrival = np.array([r[5] for r in rows], dtype=float)
    df = pd.DataFrame({
        "contact_id": range(1, len(rows) + 1),
        "need_id": [r[0] for r in rows],
        "customer_id": [r[1] for r in rows],
        "channel": [r[2] for r in rows],
        "start": pd.Timestamp("2023-01-02") + pd.to_timedelta(arrival, unit="s"),
        "outcome": [r[3] for r in rows],
        "escalated_from": pd.array([r[4] for r in rows], dtype="Int64"),
        "target_product": pd.array([None] * len(rows), dtype="boolean"),
        "arrival_s": arrival,
        "answer_s": [float(r[6]) for r in rows],
        "end_s": [float(r[7]) for r in rows],
    })
    if segments:
        df["segment"] = pd.Categorical(df["customer_id"].map(CUSTOMER_SEGMENT))
    return validate_log(df)


def impact(df, inputs=None) -> dict:
    order, starts = need_order(df)
    return customer_impact(df, order, starts, inputs)


COLD = ImpactInputs(SEGMENTS, cold_handover_channel="chat")
SEAMLESS = ImpactInputs(SEGMENTS, cold_handover_channel=None)


def test_hand_worked_customer_impact():
    m = impact(hand_log(), COLD)
    # 8 needs; need 4 gave up (its last contact found the line closed), need 6 is still open
    assert m["unresolved_share"] == pytest.approx(2 / 8)
    assert m["customers_with_unresolved"] == 2                       # B and D
    # resolved needs 1, 2, 3, 5, 7, 8: first start → end of the resolving contact
    seconds = np.array([1500, 300, 800, 1600, 900, 1200])
    assert m["resolution_hours_mean"] == pytest.approx(6300 / 6 / 3600)
    # 90th percentile, linear: sorted 300 800 900 1200 1500 1600, position 0.9 × 5 = 4.5
    assert m["resolution_hours_p90"] == pytest.approx(1550 / 3600)
    assert m["resolution_hours_p90"] == pytest.approx(np.quantile(seconds, 0.9) / 3600)
    # contacts of the resolved needs: 3 + 1 + 2 + 2 + 2 + 2 = 12, over 6 needs
    assert m["contacts_per_resolved_need"] == pytest.approx(2.0)
    # A poor (two abandoned calls) 10,000 × 0.1; B unresolved 2,000 × 0.5; C poor (cold
    # hand-over of need 7) 2,000 × 0.25; D unresolved 10,000 × 0.2; E nothing (its chat came
    # from the portal, not the bot)
    assert m["revenue_at_risk_eur"] == pytest.approx(1000 + 1000 + 500 + 2000 + 0)


def test_a_seamless_hand_over_is_no_poor_experience():
    """Without a cold hand-over C keeps its need 5's single abandoned call: no risk."""
    assert impact(hand_log(), SEAMLESS)["revenue_at_risk_eur"] == pytest.approx(4000)


def test_an_unresolved_need_outweighs_a_poor_experience():
    """A customer with both counts once, at the unresolved probability."""
    rows = HAND_LOG + [(9, "A", "phone", "failed", None, 60000, NAN, 60000)]
    m = impact(hand_log(rows), COLD)
    assert m["customers_with_unresolved"] == 3
    assert m["revenue_at_risk_eur"] == pytest.approx(10_000 * 0.2 + 1000 + 500 + 2000)


def test_the_row_order_does_not_matter():
    df = hand_log()
    shuffled = validate_log(df.sample(frac=1.0, random_state=3))
    assert impact(shuffled, COLD) == pytest.approx(impact(df, COLD))


def test_revenue_at_risk_is_nan_without_segment_values_or_segments():
    assert math.isnan(impact(hand_log(), None)["revenue_at_risk_eur"])
    assert math.isnan(impact(hand_log(segments=False), COLD)["revenue_at_risk_eur"])
    partial = hand_log()
    partial["segment"] = partial["segment"].where(partial["customer_id"] != "E")
    assert math.isnan(impact(partial, COLD)["revenue_at_risk_eur"])
    # the rest needs no segment
    assert impact(hand_log(segments=False), None)["unresolved_share"] == pytest.approx(0.25)


def test_a_segment_without_values_is_an_error():
    with pytest.raises(ValueError, match="segment.*small.*known: big"):
        impact(hand_log(), ImpactInputs({"big": SEGMENTS["big"]}))


def test_resolution_time_needs_arrival_and_end():
    m = impact(hand_log().drop(columns=["end_s"]), COLD)
    assert math.isnan(m["resolution_hours_mean"]) and math.isnan(m["resolution_hours_p90"])
    assert m["contacts_per_resolved_need"] == pytest.approx(2.0)


def test_log_metrics_carries_the_impact_keys():
    m = log_metrics(hand_log(), impact=COLD)
    assert m["needs"] == 8 and m["unresolved_needs"] == 2
    assert m["unresolved_share"] == m["unresolved_needs"] / m["needs"]
    assert m["revenue_at_risk_eur"] == pytest.approx(4500)
    assert math.isnan(log_metrics(hand_log())["revenue_at_risk_eur"])


def test_an_empty_log_has_no_impact():
    empty = hand_log().iloc[:0]
    m = impact(empty, COLD)
    assert m["customers_with_unresolved"] == 0 and m["revenue_at_risk_eur"] == 0.0
    assert math.isnan(m["unresolved_share"]) and math.isnan(m["resolution_hours_mean"])


def test_volumes_offered_and_answered():
    df = hand_log()
    v = agent_volumes(df)
    # phone: 6 rows as published; one found the line closed; two answered
    assert volumes(df)["phone"] == 6
    assert v["phone_offered"] == 5 and v["phone_answered"] == 2
    # chat: 4 rows, all reached the queue, one still waiting
    assert v["chat_offered"] == 4 and v["chat_answered"] == 3
    assert v["service_request_offered"] == 0 and "bot_offered" not in v
    assert "phone_answered" not in agent_volumes(df.drop(columns=["answer_s"]))


# ------------------------------------------------------------------ a run, end to end

def _composed(*overrides):
    """(scenario, run, seed, definitions) as ``ccsim`` composes them."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from sim.cli import CONF_DIR, validate_config

    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("config", overrides=list(overrides))
    return validate_config(OmegaConf.to_container(cfg, resolve=True))


def test_a_run_reports_impact_and_volumes_as_its_channels(tmp_path):
    from sim.cli import run_scenario, summary_text

    scenario, run, seed, defs = _composed(
        "scenario=base_2023", "scenario.customers.accounts=2000",
        "scenario.customers.new_accounts_per_year=500", "run.hours=168", "run.replications=2",
        "run.write_contacts=false", "run.progress=false")
    kpis = run_scenario(scenario, run, seed, tmp_path, defs)
    m, v = kpis["metrics"], kpis["volumes"]
    for key in ("unresolved_share", "customers_with_unresolved", "resolution_hours_mean",
                "resolution_hours_p90", "contacts_per_resolved_need", "revenue_at_risk_eur"):
        assert key in m and f"{key}_ci" in m, key
    assert m["revenue_at_risk_eur"] > 0
    for name in ("phone", "chat"):
        assert v[f"{name}_offered"] == kpis["channels"][name]["offered"]
        assert v[f"{name}_answered"] == kpis["channels"][name]["answered"]
        assert v[f"{name}_answered"] <= v[f"{name}_offered"] <= v[name]
    months = pd.read_parquet(tmp_path / "monthly.parquet")
    assert {"unresolved_share", "resolution_hours_p90", "phone_offered"} <= set(months.columns)
    assert "revenue_at_risk_eur" not in months.columns      # a yearly figure, not a monthly one
    text = summary_text(kpis)
    assert "unresolved needs" in text and "revenue at risk" in text and "EUR" in text


def test_the_summary_says_closed_and_never_nan():
    from sim.cli import summary_text

    nan = float("nan")
    channel = {"offered": 0, "answered": 0, "service_level": nan, "service_level_ci": nan,
               "asa_seconds": nan, "p_abandon": nan, "closed": 0}
    kpis = {"scenario": "x", "replications": 2, "hours": 24, "seed": 1,
            "metrics": {"needs": 10, "manual_contacts": nan, "unresolved_needs": 3,
                        "unresolved_share": 0.3, "revenue_at_risk_eur": nan,
                        "online_share_of_contacts": nan},
            "totals": {"agent_cost_eur": nan},
            "channels": {"phone": dict(channel),
                         "chat": dict(channel, offered=5, answered=4, service_level=0.8,
                                      asa_seconds=nan, p_abandon=0.2),
                         "appointment": dict(channel, closed=3)},
            "channel_closed_from": {"phone": "2023-01-01", "chat": "2023-06-01"}}
    text = summary_text(kpis)
    assert "nan" not in text.lower()
    assert "phone: closed (from 2023-01-01)" in text
    assert "chat: offered 5, answered 4" in text and "closed from 2023-06-01" in text
    assert "appointment: closed (every contact found it closed)" in text
    assert "revenue at risk – (no customer segments)" in text
    assert "unresolved needs 3 (30.0%)" in text


# ------------------------------------------------------------------ cost

def _year_like_log(rng, contacts=1_500_000, needs=1_000_000, customers=60_000):
    """A synthetic log the size of a baseline year (contacts of a need in time order)."""
    need = np.sort(np.r_[np.arange(needs), rng.integers(0, needs, contacts - needs)])
    arrival = np.sort(rng.random(contacts) * 3.15e7)
    channels = np.array(["phone", "chat", "bot", "selfservice", "support_site"])
    channel = channels[rng.integers(0, len(channels), contacts)]
    outcome = np.array(["resolved", "escalated", "abandoned", "failed"])[
        rng.choice(4, contacts, p=[0.7, 0.15, 0.1, 0.05])]
    prev = np.r_[-1, np.arange(contacts - 1)]
    same = np.r_[False, need[1:] == need[:-1]]
    esc = np.where(same & (channel == "chat") & (rng.random(contacts) < 0.5), prev + 1, 0)
    cust = rng.integers(0, customers, needs)[need]
    return pd.DataFrame({
        "contact_id": np.arange(1, contacts + 1), "need_id": need, "customer_id": cust,
        "channel": pd.Categorical(channel), "start": pd.Timestamp("2023-01-02")
        + pd.to_timedelta(arrival, unit="s"), "outcome": pd.Categorical(outcome),
        "escalated_from": pd.arrays.IntegerArray(esc, esc == 0),
        "segment": pd.Categorical(np.array(["big", "small"])[cust % 2]),
        "arrival_s": arrival, "end_s": arrival + 300.0})


@pytest.mark.slow
def test_the_impact_metrics_cost_well_under_a_second_a_year():
    df = _year_like_log(np.random.default_rng(1))
    order, starts = need_order(df)
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        m = customer_impact(df, order, starts, COLD)
        best = min(best, time.perf_counter() - t)
    assert m["revenue_at_risk_eur"] > 0
    assert best < 0.5, f"customer_impact took {best:.2f} s on a year-sized log"
