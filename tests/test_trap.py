"""The metric trap, searched by a sweep (a smaller unit and grid than conf/trap.yaml).

Pushing customers to try the bot and the support site first raises the
company metric, which counts every digital attempt. The sweep asks whether it
can reach 80 % while manual contacts fall by less than 10 % (the trap seed
000 warns of), and shows what happens instead.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import study_summary

pytestmark = pytest.mark.slow    # a sweep of bot levels: make test, not make test-fast

GRID = ["scenario.choice.channel_constant.bot=0.365941,1.5,3,5",
        "scenario.choice.channel_constant.support_site=0.774459,3"]
SMALL = ["scenario=base_2023", "scenario.customers.accounts=20000",
         "scenario.customers.new_accounts_per_year=2000", "run.hours=2184", "run.replications=1",
         "run.write_contacts=false", "run.progress=false"]


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> pd.DataFrame:
    study = tmp_path_factory.mktemp("trap")
    s = study_summary(study, *SMALL, *GRID)
    base = s[(s["param:scenario.choice.channel_constant.bot"] == 0.365941)
             & (s["param:scenario.choice.channel_constant.support_site"] == 0.774459)].iloc[0]
    s["manual_change"] = s["manual_contacts"] / base["manual_contacts"] - 1.0
    s["company_change"] = s["online_share_of_contacts"] - base["online_share_of_contacts"]
    s["thesis_change"] = s["online_self_service_share"] - base["online_self_service_share"]
    print(s[["point", "online_share_of_contacts", "online_self_service_share",
             "digital_resolution_share", "manual_change"]].to_string())
    return s


def test_pushing_the_bot_raises_the_company_metric_while_the_thesis_metric_falls(grid):
    """The trap's shape: more bot sessions count as digital contacts, so the company metric
    rises by far more than manual contacts fall, while fewer needs are self-served."""
    bot = grid[grid["param:scenario.choice.channel_constant.support_site"] == 0.774459]
    bot = bot.sort_values("param:scenario.choice.channel_constant.bot")
    assert bot["online_share_of_contacts"].is_monotonic_increasing
    assert bot["online_self_service_share"].is_monotonic_decreasing
    mild = bot[bot["manual_change"] > -0.10]
    assert (mild["company_change"] > 0.05).any(), "company metric +5 pp with < 10 % fewer manual"


def test_reaching_80_percent_needs_far_fewer_manual_contacts_here(grid):
    """In this model the company metric reaches 80 % only with manual contacts down by more
    than 10 %: each manual contact avoided both lowers the denominator and usually means a
    digital contact that succeeded, so the strict trap does not occur on this grid."""
    at_80 = grid[grid["online_share_of_contacts"] >= 0.80]
    assert len(at_80) > 0
    assert (at_80["manual_change"] < -0.10).all()
