"""The 2023 what-if scenarios: their effects point the right way, with paired CIs.

One study of the base and the seven scenarios, run as a planner would
(``ccsim -m study=… scenario=…`` on both cores), on a smaller unit (12,000
accounts, one quarter, four replications) so the suite stays fast. The
summary's paired differences against ``base_2023`` (same seed, replication by
replication) carry the 95 % CIs that the assertions use.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SMALL_2023, study_summary

pytestmark = pytest.mark.slow    # a study of every 2023 scenario: make test, not make test-fast

SCENARIOS = ["base_2023", "end_open_phone_lines", "improve_bot", "guidance_campaign",
             "support_site_improvement", "proactive_notifications", "restrict_agent_services",
             "roadmap_2023"]
SMALL = [*SMALL_2023, "run.replications=4"]


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> pd.DataFrame:
    study = tmp_path_factory.mktemp("study_2023")
    return study_summary(study, f"scenario={','.join(SCENARIOS)}", *SMALL).set_index("scenario")


def _up(row, col):
    """The paired difference is above zero, CI included."""
    return row[f"{col}_diff"] - row[f"{col}_diff_ci95"] > 0


def _down(row, col):
    return row[f"{col}_diff"] + row[f"{col}_diff_ci95"] < 0


def test_every_scenario_ran_against_the_base(summary):
    assert set(summary.index) == set(SCENARIOS)
    assert (summary.loc["base_2023", "manual_contacts_diff"] == 0)


def test_ending_open_lines_removes_calls_and_raises_the_company_metric(summary):
    row = summary.loc["end_open_phone_lines"]
    assert row["volume.phone"] == 0 and summary.loc["base_2023", "volume.phone"] > 1000
    assert _up(row, "volume.appointment")
    assert _up(row, "online_share_of_contacts")


def test_a_better_bot_lowers_agent_chats(summary):
    row = summary.loc["improve_bot"]
    assert _down(row, "volume.chat")
    assert _up(row, "digital_resolution_share")


def test_guidance_raises_registration_and_portal_use(summary):
    row = summary.loc["guidance_campaign"]
    assert _up(row, "registered_share_end")
    assert _up(row, "volume.selfservice")


def test_the_other_levers_act_where_they_should(summary):
    assert _up(summary.loc["support_site_improvement"], "digital_resolution_share")
    assert _down(summary.loc["proactive_notifications"], "needs")
    restricted = summary.loc["restrict_agent_services"]
    assert _down(restricted, "manual_contacts")


def test_the_roadmap_lowers_manual_contacts_and_agent_cost(summary):
    row = summary.loc["roadmap_2023"]
    assert _down(row, "manual_contacts")
    assert _down(row, "agent_cost_eur")
    assert row["online_share_of_contacts"] > summary.loc["base_2023", "online_share_of_contacts"]
