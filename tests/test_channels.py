"""Channels as data (sim/engine/channels.py) and the journey core's readable reference.

* The plain-Python journey core (sim/engine/journey_reference.py) and the compiled one give the same
  contacts, contact for contact, on journey scenarios that use every channel role (bot
  hand-over, portal logins, booked calls, logged-in-only chat, guidance, restrictions).
* A planner adds channels in a scenario file only: the issue's ``with_email`` YAML, written
  to a temporary folder, runs; its channels are chosen and show in contacts.parquet,
  kpis.json (channels, volumes, kinds), the metrics (manual contacts) and the report.
* The registry keeps the built-in codes; the core's codes come from it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from analysis.tables import contacts_frame
from sim.cli import CONF_DIR, validate_config
from sim.engine.channels import BUILTIN, registry
from sim.engine.journey_reference import advance_reference
from sim.engine.model import simulate

WITH_EMAIL = (ROOT / "scenarios" / "with_email.yaml").read_text()
SMALL = ["scenario.customers.accounts=1500", "scenario.customers.new_accounts_per_year=300",
         "run.hours=240", "run.warmup_hours=0"]


def _compose(*overrides):
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("config", overrides=list(overrides))
    return validate_config(OmegaConf.to_container(cfg, resolve=True))


@pytest.mark.parametrize("name, extra", [
    ("baseline", []),
    ("company_x_2021", ["scenario.start_date=2021-08-25"]),   # logged-in-only chat, guidance
    ("end_open_phone_lines", []),                              # booked calls only
    ("restrict_agent_services", []),
    ("improve_bot", []),                                       # the bot answers chats first
    ("with_email", []),
])
def test_the_reference_core_gives_the_same_contacts(name, extra):
    scenario, run, seed, _ = _compose(f"scenario={name}", *SMALL, *extra)
    fast = contacts_frame(simulate(scenario, run, seed, 0), scenario.start_date)
    slow = contacts_frame(simulate(scenario, dataclasses.replace(run, engine="simpy"), seed, 0,
                                   journey_core=advance_reference), scenario.start_date)
    assert len(fast) > 500
    assert (fast.channel.astype(str) == "bot").any()
    later = fast[fast.arrival_s - fast.need_arrival_s > 4 * 3600]      # waited or booked
    assert later.channel.astype(str).isin(["phone", "chat", "appointment"]).any()
    pd.testing.assert_frame_equal(fast, slow)


def test_a_planner_adds_channels_in_a_scenario_file_only(tmp_path):
    folder = tmp_path / "scenario"        # the config group, on hydra.searchpath
    folder.mkdir()
    (folder / "with_email_tmp.yaml").write_text(WITH_EMAIL.replace("name: with_email",
                                                                   "name: with_email_tmp"))
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", f"hydra.searchpath=[file://{tmp_path}]",
         "scenario=with_email_tmp", "run.hours=336", "run.replications=2", "run.progress=false",
         "scenario.customers.accounts=20000", f"hydra.run.dir={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    kpis = json.loads((out / "kpis.json").read_text())
    c = pd.read_parquet(out / "contacts.parquet")
    monthly = pd.read_parquet(out / "monthly.parquet")
    for name, kind in (("email", "backlog"), ("messaging", "messaging")):
        assert kpis["channel_kinds"][name] == kind
        mine = c[c.channel == name]
        assert len(mine) > 100, f"customers chose {name} {len(mine)} times"
        assert mine.answer_s.notna().any() and (mine.pool.notna() == mine.answer_s.notna()).all()
        assert kpis["channels"][name]["offered"] > 0
        assert kpis["volumes"][name] == pytest.approx(
            c[c.channel == name].groupby("replication").size().mean())
        assert f"{name}_contacts" in monthly.columns
    # the backlog channel is measured by completion within its due time, not by answer wait
    email = c[(c.channel == "email") & c.answer_s.notna()]
    late_answer = email[(email.end_s - email.arrival_s <= 86400.0) & (email.wait_s > 120)]
    assert len(late_answer) > 0                # answered after a wait, still within the day
    # manual contacts count both new agent channels (abandoned excluded)
    agent = ["phone", "appointment", "chat", "service_request", "email", "messaging"]
    manual = c[c.channel.isin(agent) & (c.outcome != "abandoned")].groupby("replication").size()
    assert kpis["metrics"]["manual_contacts"] == pytest.approx(manual.mean())
    # messaging shares the chat pool's slots: concurrency 3 for both channels
    assert set(c[c.channel.isin(["chat", "messaging"]) & c.pool.notna()].pool) == {"chat_agents"}


def test_the_report_shows_channels_it_does_not_know(tmp_path):
    from analysis.report_model import Chart, Table
    from analysis.study_report import build_report, load_study

    study = tmp_path / "study"
    folder = tmp_path / "scenario"        # the config group, on hydra.searchpath
    folder.mkdir()
    (folder / "with_email_tmp.yaml").write_text(WITH_EMAIL.replace("name: with_email",
                                                                   "name: with_email_tmp"))
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "-m", f"hydra.searchpath=[file://{tmp_path}]",
         "scenario=baseline,with_email_tmp", "run.hours=168", "run.replications=2",
         "run.progress=false", "run.write_contacts=false", "scenario.customers.accounts=5000",
         f"hydra.sweep.dir={study}"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    copied = tmp_path / "elsewhere" / "study"        # the report reads its folder only
    shutil.copytree(study, copied)
    shutil.rmtree(study)
    s = load_study(copied)
    assert s.kinds["email"] == "backlog" and "messaging" in s.agent_channels
    report = build_report(s)                       # the charts too, with channels they do not name
    blocks = [b for sec in report.sections for b in sec.blocks]
    columns = [c for b in blocks if isinstance(b, Table) for c in b.columns]
    assert "email: service level" in columns and "messaging: abandoned" in columns
    assert "email: abandoned" not in columns       # a backlog is not abandoned
    assert {b.id for b in blocks if isinstance(b, Chart)} >= {"channel-mix", "service"}
    # the calibration fit as the sweep recorded it, not as the repository has it now
    text = " ".join(b for b in blocks if isinstance(b, str))
    assert "Company X is calibrated by `ccsim-calibrate conf/calibration/company_x.yaml`" in text


def test_the_registry_keeps_the_built_in_codes_and_adds_in_order():
    reg = registry({"email": "backlog", "phone": None, "messaging": "messaging"})
    assert reg.names[:10] == BUILTIN
    assert reg.names[10:] == ("email", "messaging")
    assert reg.kind("phone") == "live" and reg.kind("email") == "backlog"
    assert reg.agent == ("phone", "appointment", "chat", "service_request", "email",
                         "messaging")
    assert registry({"email": None}).kind("email") is None   # a missing kind is not guessed


def test_the_core_reads_channel_codes_from_the_registry():
    """A scenario whose channels come in another order still hands the bot over to chat, and
    the codes the core writes name the channels of the registry."""
    scenario, run, seed, _ = _compose("scenario=with_email", *SMALL)
    rec = simulate(scenario, run, seed, 0)
    c = contacts_frame(rec, scenario.start_date)
    handed = c[c.escalated_from.notna() & (c.channel == "chat")]
    source = c.set_index("contact_id").loc[handed.escalated_from.astype(np.int64), "channel"]
    assert len(handed) and set(source.astype(str)) <= {"bot", "selfservice", "support_site",
                                                        "webshop"}
    # the codes in the log name the registry's channels: email and messaging rows exist
    assert {"email", "messaging"} <= set(c.channel.astype(str))
