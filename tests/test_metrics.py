"""Contact-log metrics on small hand-made logs, worked out by hand; malformed logs rejected."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from analysis.metrics import LogError, MetricDefinitions, log_metrics, validate_log, volumes

# need, channel, outcome, escalated_from, target_product  (contact_id = row number)
HAND_LOG = [
    (1, "bot", "escalated", None, None),             # 1  bot hands over ...
    (1, "chat", "resolved", 1, None),                # 2  ... to chat: bot row double-counted
    (2, "support_site", "failed", None, None),       # 3
    (2, "phone", "abandoned", None, None),           # 4  not a manual contact
    (2, "phone", "resolved", None, None),            # 5
    (3, "selfservice", "escalated", None, None),     # 6  portal fails ...
    (3, "service_request", "resolved", 6, None),     # 7  ... service request: digital AND manual
    (4, "webshop", "resolved", None, True),          # 8  target product
    (5, "webshop", "resolved", None, False),         # 9  not a target product
    (6, "webshop", "resolved", None, None),          # 10 empty counts as target
    (7, "api", "resolved", None, None),              # 11
    (8, "user_admin", "resolved", None, None),       # 12
    (9, "support_site", "resolved", None, None),     # 13
    (10, "selfservice", "failed", None, None),       # 14 gives up
    (11, "bot", "resolved", None, None),             # 15
]


def hand_log(rows=HAND_LOG) -> pd.DataFrame:
    return pd.DataFrame({
        "contact_id": range(1, len(rows) + 1),
        "need_id": [r[0] for r in rows],
        "customer_id": [100 + r[0] for r in rows],
        "channel": [r[1] for r in rows],
        "start": pd.date_range("2023-01-02 08:00", periods=len(rows), freq="min"),
        "outcome": [r[2] for r in rows],
        "escalated_from": pd.array([r[3] for r in rows], dtype="Int64"),
        "target_product": pd.array([r[4] for r in rows], dtype="boolean"),
    })


def test_hand_worked_metrics():
    m = log_metrics(validate_log(hand_log()))
    # manual: chat(2), phone(5), service_request(7); the abandoned call (4) is not manual
    assert m["manual_contacts"] == 3
    # D = bot 1, 15 + service_request 7 + support_site 3, 13 + webshop 8, 10 = 7 → 7 / (7 + 3)
    assert m["online_share_of_contacts"] == pytest.approx(0.7)
    # S = api 11 + user_admin 12 = 2 → 2 / (2 + 3)
    assert m["online_self_service_share"] == pytest.approx(0.4)
    # 11 needs, need 10 gave up; resolved by digital: 4, 5, 6, 7, 8, 9, 11 → 7 of 10
    assert m["needs"] == 11 and m["unresolved_needs"] == 1
    assert m["digital_resolution_share"] == pytest.approx(0.7)
    # service_request row 7 + bot row 1 escalated to chat row 2
    assert m["double_counted_contacts"] == 2
    assert m["contacts_per_need"] == pytest.approx(15 / 11)


def test_company_metric_can_reach_80_percent_while_agents_stay_busy():
    """The trap: more bot sessions that hand over to chat raise D without removing manual work."""
    rows = []
    for need in range(1, 11):
        rows.append((need, "bot", "escalated", None, None))
        rows.append((need, "support_site", "failed", None, None))
    log = hand_log(rows)
    log["escalated_from"] = pd.array([None] * len(rows), dtype="Int64")
    extra = pd.DataFrame({"contact_id": range(100, 105), "need_id": range(1, 6),
                          "customer_id": 1, "channel": "chat",
                          "start": pd.Timestamp("2023-01-03"), "outcome": "resolved",
                          "escalated_from": pd.array([1, 3, 5, 7, 9], dtype="Int64"),
                          "target_product": pd.array([None] * 5, dtype="boolean")})
    m = log_metrics(validate_log(pd.concat([log, extra], ignore_index=True)))
    assert m["online_share_of_contacts"] == pytest.approx(20 / 25)   # 80 % "digital"
    assert m["online_self_service_share"] == 0.0                     # nothing self-served
    assert m["digital_resolution_share"] == 0.0                      # every resolution by an agent
    assert m["double_counted_contacts"] == 5


def test_definitions_are_data():
    d = MetricDefinitions(manual_excluded_outcomes=())
    assert log_metrics(validate_log(hand_log()), d)["manual_contacts"] == 4


def test_volumes_count_as_published():
    v = volumes(validate_log(hand_log()))
    assert v["phone"] == 2 and v["chat"] == 1 and v["service_request"] == 1
    assert v["selfservice"] == 0 and v["webshop"] == 2 and v["bot"] == 2
    assert v["support_site"] == 2 and v["api"] == 1 and v["user_admin"] == 1


@pytest.mark.parametrize("change, needles", [
    (lambda d: d.assign(channel=d.channel.where(d.index != 4, "fax")), ["row 5", "channel", "fax"]),
    (lambda d: d.assign(outcome=d.outcome.where(d.index != 2, "solved")),
     ["row 3", "outcome", "solved", "resolved, escalated, abandoned, failed"]),
    (lambda d: d.drop(columns=["need_id"]), ["missing column", "need_id"]),
    (lambda d: d.assign(escalated_from=pd.array([None] * 6 + [99] + [None] * 8, dtype="Int64")),
     ["row 7", "escalated_from", "99", "earlier contact of the same need"]),
    (lambda d: d.assign(escalated_from=pd.array([None] * 6 + [3] + [None] * 8, dtype="Int64")),
     ["row 7", "escalated_from", "same need"]),
    (lambda d: d.assign(start=d.start.astype(str).where(d.index != 0, "yesterday")),
     ["row 1", "start", "yesterday"]),
    (lambda d: d.assign(contact_id=[1] * 15), ["row 2", "contact_id", "unique"]),
])
def test_malformed_log_names_row_and_value(change, needles):
    with pytest.raises(LogError) as info:
        validate_log(change(hand_log()))
    for needle in needles:
        assert needle in str(info.value), f"{needle!r} not in {info.value}"


def test_escalation_must_point_back_in_time():
    log = hand_log()
    log.loc[0, "start"] = pd.Timestamp("2023-01-03")       # the bot row after its chat
    with pytest.raises(LogError, match="row 2"):
        validate_log(log)


def test_ccsim_metrics_reads_csv_and_parquet(tmp_path):
    log = hand_log()
    log.to_csv(tmp_path / "log.csv", index=False)
    log.to_parquet(tmp_path / "log.parquet")
    for name in ("log.csv", "log.parquet"):
        out = subprocess.run([sys.executable, "-m", "analysis.metrics", str(tmp_path / name)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)
        assert got["online_share_of_contacts"] == pytest.approx(0.7)
        assert got["needs"] == 11


def test_ccsim_metrics_rejects_bad_log(tmp_path):
    log = hand_log()
    log.loc[3, "outcome"] = "lost"
    log.to_csv(tmp_path / "bad.csv", index=False)
    out = subprocess.run([sys.executable, "-m", "analysis.metrics", str(tmp_path / "bad.csv")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "row 4" in out.stderr and "lost" in out.stderr
    assert "Traceback" not in out.stderr


def test_text_identifiers_and_csv_quirks(tmp_path):
    """Ids may be text; target_product may be TRUE/False/empty; escalated_from may read as 3.0."""
    log = hand_log()
    log["contact_id"] = [f"c{i}" for i in log.contact_id]
    log["need_id"] = [f"n{i}" for i in log.need_id]
    log["escalated_from"] = [None if pd.isna(e) else f"c{e}" for e in log.escalated_from]
    m = log_metrics(validate_log(log))
    assert m["online_share_of_contacts"] == pytest.approx(0.7)
    assert m["double_counted_contacts"] == 2 and m["needs"] == 11
    csv = hand_log()
    csv["target_product"] = ["", "", "", "", "", "", "", "TRUE", "False", "", "", "", "", "", ""]
    csv["escalated_from"] = [None, 1.0, None, None, None, None, 6.0] + [None] * 8
    csv.to_csv(tmp_path / "quirks.csv", index=False)
    from analysis.metrics import read_contact_log
    assert log_metrics(read_contact_log(tmp_path / "quirks.csv"))["online_share_of_contacts"] == \
        pytest.approx(0.7)
