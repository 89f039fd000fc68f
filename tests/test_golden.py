"""Golden tables: a tiny run of small_centre must reproduce its stored intervals exactly.

A change in random streams, routing or KPI definitions shows up here first.
If the change is intended, regenerate with ``UPDATE_GOLDEN=1 make test`` and
say why in the commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from analysis.kpis import replication_kpis
from analysis.metrics import log_metrics, validate_log
from analysis.tables import contacts_frame, intervals_frame
from sim.cli import CONF_DIR, validate_config
from sim.engine.model import simulate

GOLDEN = Path(__file__).parent / "golden" / "small_centre_intervals.csv"
GOLDEN_JOURNEYS = Path(__file__).parent / "golden" / "journeys_contacts.csv"
GOLDEN_KPIS = Path(__file__).parent / "golden" / "journeys_kpis.json"


def _tiny_intervals() -> pd.DataFrame:
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("config", overrides=["scenario=small_centre", "run.hours=48",
                                           "run.warmup_hours=0", "seed=99"])
    scenario, run, seed, _ = validate_config(OmegaConf.to_container(cfg, resolve=True))
    channels, pools = scenario.agent_model()
    rec = simulate(scenario, run, seed, 0)
    iv = intervals_frame(rec, scenario.start_date, 3600.0,
                         {n: c.answer_target_seconds for n, c in channels.items()},
                         {n: p.skills for n, p in pools.items()})
    iv = iv[iv.offered + iv.agents_staffed > 0].drop(columns=["interval_start"])
    return iv.round(6).reset_index(drop=True)


def _update(path: Path, write) -> None:
    """With ``UPDATE_GOLDEN=1``: write the golden file and skip (a test comparing a file it
    has just written could not fail)."""
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        write(path)
        pytest.skip(f"{path.name} written (UPDATE_GOLDEN)")


def test_small_centre_golden_intervals():
    got = _tiny_intervals()
    _update(GOLDEN, lambda p: got.to_csv(p, index=False))
    expected = pd.read_csv(GOLDEN)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, atol=1e-6)


def _tiny_journeys():
    """Three days of a small baseline (900 accounts): every contact and the run's KPIs."""
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("config", overrides=["scenario=baseline", "run.hours=72", "seed=99",
                                           "scenario.customers.accounts=900",
                                           "scenario.customers.new_accounts_per_year=100"])
    scenario, run, seed, defs = validate_config(OmegaConf.to_container(cfg, resolve=True))
    channels, pools = scenario.agent_model()
    rec = simulate(scenario, run, seed, 0)
    c = contacts_frame(rec, scenario.start_date).drop(columns=["start"])
    kpis = replication_kpis(rec, 0.0, {n: ch.answer_target_seconds for n, ch in channels.items()},
                            {n: p.skills for n, p in pools.items()},
                            {n: p.hourly_cost_eur for n, p in pools.items()})
    kpis["metrics"] = log_metrics(validate_log(contacts_frame(rec, scenario.start_date)), defs)
    return c.round(6), json.loads(json.dumps(kpis, default=float))


def test_journeys_golden_contacts_and_kpis():
    """Customer journeys (choice, digital channels, hand-overs, agents) reproduce a stored
    contact table and KPIs exactly: a change in the journey core, the keyed random numbers
    or the hand-off shows here (regenerate with UPDATE_GOLDEN=1 and say why)."""
    got, kpis = _tiny_journeys()
    _update(GOLDEN_JOURNEYS, lambda p: (got.to_csv(p, index=False), GOLDEN_KPIS.write_text(
        json.dumps(kpis, indent=1, sort_keys=True))))
    expected = pd.read_csv(GOLDEN_JOURNEYS)
    assert len(got) > 200 and got.channel.nunique() >= 8
    for col in expected.columns:
        a, b = got[col], expected[col]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            np.testing.assert_allclose(pd.to_numeric(a, errors="coerce").astype(float),
                                       b.astype(float), atol=1e-6, err_msg=col)
        else:
            assert a.astype(str).replace({"<NA>": "nan"}).tolist() == \
                b.astype(str).replace({"<NA>": "nan"}).tolist(), col
    want = json.loads(GOLDEN_KPIS.read_text())
    assert json.dumps(kpis, sort_keys=True) == json.dumps(want, sort_keys=True)
