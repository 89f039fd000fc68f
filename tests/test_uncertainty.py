"""Uncertainty over the assumptions (issue 19): the design (sim/uncertainty.py), the study
(``ccsim -m … uncertainty.sample=range(…)``) and what it says (analysis/uncertainty.py).

* the design is Saltelli's on a seeded Sobol' sequence: reproducible, prefix-stable, each AB
  row differs from A in its own input only, every draw inside its distribution's range;
* an uncertain input sets its key, or (``shift``) moves several keys by the drawn change;
* bad ``uncertain`` entries fail before anything runs, naming the key;
* a toy with a known answer: one lever that drives the company metric and one that cannot
  touch it (a pool's hourly cost) — the indices rank them right and the idle lever's total
  index is zero; the study resumes after a lost run and gives the same tables.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from scipy import stats

from sim.engine.scenario import ConfigError, parse_scenario
from sim.uncertainty import UncertaintySettings, apply, block

QUEUE = {"name": "q", "queue": {"arrivals_per_hour": 100.0, "aht_seconds": 300.0,
                                "agents": 10}}


def _scenario(uncertain: dict):
    return parse_scenario({**QUEUE, "uncertain": uncertain})


UNCERTAIN = {"load": {"path": "queue.arrivals_per_hour", "dist": "triangular", "low": 80,
                      "peak": 100, "high": 140},
             "agents": {"path": "queue.agents", "dist": "uniform", "low": 8, "high": 12},
             "aht": {"path": ["queue.aht_seconds"], "dist": "normal", "mean": 0, "sd": 20,
                     "low": -30, "high": 30, "shift": True}}


def test_the_design_is_reproducible_prefix_stable_and_one_input_per_ab_row():
    sc = _scenario(UNCERTAIN)
    kinds, rows = block(sc.uncertain, UncertaintySettings(sample=5, seed=11))
    assert kinds == ["A", "AB:load", "AB:agents", "AB:aht", "B"]
    again = block(sc.uncertain, UncertaintySettings(sample=5, seed=11))[1]
    np.testing.assert_array_equal(rows, again)
    other = block(sc.uncertain, UncertaintySettings(sample=5, seed=12))[1]
    assert not np.allclose(rows, other)                        # the seed matters
    a, b = rows[0], rows[-1]
    for j in range(3):                                         # AB_j: A with B's input j
        expect = a.copy()
        expect[j] = b[j]
        np.testing.assert_array_equal(rows[1 + j], expect)
    draws = np.vstack([block(sc.uncertain, UncertaintySettings(sample=k, seed=11))[1][[0, -1]]
                       for k in range(64)])                   # the A and B rows: the draws
    assert (draws[:, 0] >= 80).all() and (draws[:, 0] <= 140).all()
    assert (draws[:, 1] >= 8).all() and (draws[:, 1] <= 12).all()
    assert (np.abs(draws[:, 2]) <= 30).all()
    assert abs(np.median(draws[:, 0]) - 105) < 6               # triangular 80, 100, 140
    # normal, sd 20, cut at 1.5 sd
    assert draws[:, 2].std() == pytest.approx(stats.truncnorm.std(-1.5, 1.5, scale=20), abs=1.5)


def test_the_inputs_of_a_group_cross_together():
    """The calibration's constants are one group: one AB row moves them all (one index)."""
    grouped = {k: dict(v) for k, v in UNCERTAIN.items()}
    grouped["load"]["group"] = grouped["aht"]["group"] = "g"
    sc = _scenario(grouped)
    kinds, rows = block(sc.uncertain, UncertaintySettings(sample=2, seed=11))
    assert kinds == ["A", "AB:g", "AB:agents", "B"]
    a, ab_g, ab_agents, b = rows
    np.testing.assert_array_equal(ab_g, [b[0], a[1], b[2]])
    np.testing.assert_array_equal(ab_agents, [a[0], b[1], a[2]])


def test_an_input_sets_its_key_or_moves_several_keys_together():
    data = {**QUEUE, "uncertain": UNCERTAIN}
    sc = parse_scenario(data)
    out = apply(data, sc, [120.0, 9.0, -10.0])
    assert out["queue"]["arrivals_per_hour"] == 120.0 and out["queue"]["agents"] == 9.0
    assert out["queue"]["aht_seconds"] == 290.0                 # shifted, not set
    assert data["queue"]["aht_seconds"] == 300.0                # the original is untouched
    two = {"up": {"path": ["queue.aht_seconds", "queue.arrivals_per_hour"], "shift": True,
                  "shift_down": ["queue.hourly_cost_eur"], "dist": "uniform", "low": 0,
                  "high": 1}}
    data = {**QUEUE, "uncertain": two}
    sc = parse_scenario(data)
    out = apply(data, sc, [0.5])
    assert out["queue"]["aht_seconds"] == 300.5 and out["queue"]["arrivals_per_hour"] == 100.5
    assert out["queue"]["hourly_cost_eur"] == sc.queue.hourly_cost_eur - 0.5   # a default


@pytest.mark.parametrize("entry, words", [
    ({"path": "queue.agents", "dist": "lognormal", "low": 1, "high": 2},
     ["uncertain.x.dist", "uniform", "triangular", "normal"]),
    ({"path": "queue.agents", "dist": "uniform", "low": 3}, ["uncertain.x.high is missing"]),
    ({"path": "queue.agents", "dist": "uniform", "low": 3, "high": 2}, ["must be below"]),
    ({"path": "queue.nothing", "dist": "uniform", "low": 1, "high": 2},
     ["uncertain.x", "'queue.nothing' is not a number"]),
    ({"path": "queue.agents", "dist": "triangular", "low": 1, "peak": 5, "high": 2},
     ["uncertain.x.peak", "low <= peak <= high"]),
    ({"path": "queue.agents", "dist": "normal", "mean": 1, "sd": -1}, ["uncertain.x.sd"]),
])
def test_bad_uncertain_inputs_fail_naming_the_key(entry, words):
    with pytest.raises(ConfigError) as err:
        _scenario({"x": entry})
    for w in words:
        assert w in str(err.value), (w, str(err.value))


#: the toy: improve_bot on a small unit for two weeks, with two uncertain inputs only — the
#: bot's containment gain (it moves the company metric) and the backoffice's hourly cost
#: (it cannot: the same random numbers give the same contacts whatever an hour costs)
TOY = ["scenario=improve_bot", "~scenario.uncertain",
       "+scenario.uncertain={bot:{path:bot.containment_gain,dist:uniform,low:0.0,high:0.3},"
       "cost:{path:pools.backoffice.hourly_cost_eur,dist:uniform,low:20,high:40}}",
       "uncertainty.sample=range(0,8)", "run.hours=336", "scenario.customers.accounts=12000",
       "run.write_contacts=false", "run.progress=false", "hydra/launcher=joblib",
       "base_scenario=improve_bot"]


def _sweep(study):
    out = subprocess.run([sys.executable, "-m", "sim.cli", "-m", f"hydra.sweep.dir={study}",
                          *TOY], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.mark.slow
def test_a_toy_with_a_known_answer_ranks_the_levers_and_resumes(tmp_path):
    study = tmp_path / "toy"
    _sweep(study)
    idx = pd.read_csv(study / "uncertainty_indices.csv")
    cm = idx[idx["answer"] == "online_share_of_contacts"].set_index("input")
    assert cm.loc["bot", "ST"] > 0.5 and cm.loc["bot", "S1"] > 0.5, cm
    assert cm.loc["cost", "ST"] == pytest.approx(0.0, abs=1e-9), cm    # it cannot matter
    assert cm.loc["bot", "S1"] > cm.loc["cost", "S1"]
    cost = idx[idx["answer"] == "agent_cost_eur"].set_index("input")
    assert cost.loc["cost", "ST"] > 0.05, cost                   # … but it moves the cost
    answers = pd.read_csv(study / "uncertainty.csv")
    p80 = answers[answers["answer"] == "online_share_of_contacts"].iloc[0]
    assert p80["draws"] == 16 and 0 <= p80["p_reaches_80_low"] <= p80["p_reaches_80"] \
        <= p80["p_reaches_80_high"] <= 1
    # a lost run (a killed job) is done again on the next call, the rest skipped, and the
    # tables are the same: the design and the random numbers come from the seeds
    runs = sorted((study / "runs").glob("improve_bot-*"))
    assert len(runs) == 8
    before = pd.read_csv(study / "uncertainty_rows.csv")
    import shutil

    shutil.rmtree(runs[3])
    again = _sweep(study)
    assert "8/8 runs done (7 finished before this sweep)" in again.stderr
    pd.testing.assert_frame_equal(pd.read_csv(study / "uncertainty_rows.csv"), before)
    rep = subprocess.run([sys.executable, "-m", "analysis.study_report", str(study)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert rep.returncode == 0, rep.stderr[-2000:]
    page = (study / "report.html").read_text()
    assert "reaches the 80 % digital target by the company" in page
    assert "of plausible cases (95 % interval" in page
    assert 'data-chart="uncertainty-indices"' in page
