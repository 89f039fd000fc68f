"""Golden tables: a tiny run of small_centre must reproduce its stored intervals exactly.

A change in random streams, routing or KPI definitions shows up here first.
If the change is intended, regenerate with ``UPDATE_GOLDEN=1 make test`` and
say why in the commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from analysis.tables import intervals_frame
from sim.cli import CONF_DIR, validate_config
from sim.model import simulate

GOLDEN = Path(__file__).parent / "golden" / "small_centre_intervals.csv"


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


def test_small_centre_golden_intervals():
    got = _tiny_intervals()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        got.to_csv(GOLDEN, index=False)
    expected = pd.read_csv(GOLDEN)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, atol=1e-6)
