"""Every scenario and config composes, validates and smoke-runs; the CLI writes a full run folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sim.cli import CONF_DIR, prepare_run, run_scenario, validate_config

SCENARIOS = sorted(p.stem for p in (Path(CONF_DIR) / "scenario").glob("*.yaml"))
CONTACT_LOG_COLUMNS = ["contact_id", "need_id", "customer_id", "channel", "start", "outcome",
                       "escalated_from", "target_product"]
INTERVAL_COLUMNS = ["offered", "answered", "abandoned", "answered_within_target", "mean_wait_s",
                    "agents_staffed", "agents_busy"]


def _compose(overrides):
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        return OmegaConf.to_container(compose("config", overrides=overrides), resolve=True)


def test_scenarios_found():
    assert "single_queue" in SCENARIOS and len(SCENARIOS) >= 2


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_composes_validates_and_runs(name, tmp_path):
    scenario, run, seed, _ = validate_config(_compose([f"scenario={name}", "run.hours=30",
                                                    "run.warmup_hours=1", "run.replications=2",
                                                    "run.progress=false"]))
    kpis = run_scenario(scenario, run, seed, tmp_path)
    assert set(kpis["metrics"]) >= {"online_share_of_contacts", "manual_contacts", "needs"}
    assert (tmp_path / "kpis.json").exists()
    assert set(kpis["channels"]) == set(scenario.agent_model()[0])
    for ch in kpis["channels"].values():     # every offered contact ends one of three ways
        assert ch["offered"] == pytest.approx(ch["answered"] + ch["abandoned"]
                                              + ch["waiting_at_end"])
    assert sum(ch["offered"] + ch["closed"] for ch in kpis["channels"].values()) > 0


def test_cli_run_writes_complete_folder(tmp_path):
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "sim", "scenario=single_queue",
                          "scenario.queue.agents=15", "scenario.queue.patience_seconds=300",
                          "run.hours=20", "run.replications=2", "seed=3", f"hydra.run.dir={out}"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert str(out) in res.stdout
    for f in ("scenario.yaml", "run.yaml", "contacts.parquet", "intervals.parquet", "kpis.json",
              ".hydra/config.yaml"):
        assert (out / f).exists(), f
    kpis = json.loads((out / "kpis.json").read_text())
    phone = kpis["channels"]["phone"]
    for k in ("service_level", "asa_seconds", "p_wait", "p_abandon", "occupancy", "offered",
              "answered", "abandoned", "agent_cost_eur"):
        assert k in phone and f"{k}_ci" in phone
    contacts = pd.read_parquet(out / "contacts.parquet")
    assert list(contacts.columns[1:9]) == CONTACT_LOG_COLUMNS
    assert "wait_s" in contacts
    intervals = pd.read_parquet(out / "intervals.parquet")
    assert set(INTERVAL_COLUMNS) <= set(intervals.columns)
    assert (out / "scenario.yaml").read_text().count("agents: 15") == 1


def test_cli_multirun_sweeps(tmp_path):
    res = subprocess.run([sys.executable, "-m", "sim", "-m", "scenario=single_queue",
                          "scenario.queue.agents=13,15",
                          "run.hours=20", "run.replications=1", f"hydra.sweep.dir={tmp_path}"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    runs = sorted(tmp_path.glob("runs/*/kpis.json"))
    assert len(runs) == 2
    assert len(pd.read_parquet(tmp_path / "summary.parquet")) == 2


def test_help_lists_scenarios():
    res = subprocess.run([sys.executable, "-m", "sim", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "single_queue" in res.stdout and "run.hours" in res.stdout


@pytest.mark.parametrize("study", ["demo", "trap", "staffing", "uncertainty"])
def test_named_study_configs_compose_and_validate(study):
    """Every named study (conf/<study>.yaml): its sweep's scenarios exist, and each sweep
    point composes and validates."""
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose(study, return_hydra_config=True)
        params = dict(cfg.hydra.sweeper.params)
        names = str(params.pop("scenario", cfg.hydra.runtime.choices.get("scenario", "baseline")))
        assert set(names.split(",")) <= set(SCENARIOS)
        first = lambda v: str(v).removeprefix("range(").split(",")[0]     # noqa: E731
        fixed = [f"{k}={first(v)}" for k, v in params.items()]
        for name in names.split(","):
            point = compose(study, overrides=[f"scenario={name}", *fixed])
            plain = OmegaConf.to_container(point, resolve=False)
            plain.pop("hydra", None)
            scenario, run, seed, defs = validate_config(plain)
            assert run.hours == 8760 and scenario.name == name
            if study == "uncertainty":           # a block of its own inputs' design
                assert prepare_run(plain).design["sample"] == 0 and scenario.uncertain
    if study in ("staffing", "demo"):          # the demo's cost is at equal service
        assert scenario.staffing.mode == "required" and scenario.staffing.plan == "forecast"


def _leaves(node, prefix=""):
    """(dotted key, value) of every leaf of a nested mapping."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, f"{prefix}{k}.")
    else:
        yield prefix[:-1], node


LEVERS = sorted(p.stem for p in (Path(CONF_DIR) / "scenario" / "levers").glob("*.yaml"))


def test_the_roadmap_and_each_plan_carry_every_lever_diff_in_full():
    """A plan's diff lives once (scenarios/levers/); composing the roadmap must not let a later
    plan's base undo an earlier plan's change (it once reset the seamless hand-over and the
    agents' guidance)."""
    assert len(LEVERS) == 6
    road = _compose(["scenario=roadmap_2023"])["scenario"]
    base = _compose(["scenario=base_2023"])["scenario"]
    for lever in LEVERS:
        own = _compose([f"scenario={lever}"])["scenario"]
        diff = OmegaConf.to_container(OmegaConf.load(Path(CONF_DIR) / "scenario" / "levers"
                                                     / f"{lever}.yaml"))
        changed = 0
        for key, value in _leaves(diff):
            assert OmegaConf.select(OmegaConf.create(road), key) == value, f"roadmap: {key}"
            assert OmegaConf.select(OmegaConf.create(own), key) == value, f"{lever}: {key}"
            changed += OmegaConf.select(OmegaConf.create(base), key) != value
        assert changed, f"{lever} changes nothing over base_2023"
