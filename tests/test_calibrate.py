"""ccsim-calibrate: recovers known parameters within their standard errors, reports how far
to trust a fit (leave-one-out, other seeds, a mechanism shifting several keys, a placebo file
extending another); rejects bad targets files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.calibrate import compose, figures, fit, main, parse_spec, set_path
from sim.engine.validate import ConfigError

SMALL = ["scenario.customers.accounts=20000", "scenario.customers.new_accounts_per_year=2000",
         "run.hours=672", "run.warmup_hours=0"]
TRUE = {"choice.channel_constant.bot": 0.6, "digital.webshop.target_product_share": 0.8}
START = {"choice.channel_constant.bot": -0.2, "digital.webshop.target_product_share": 0.4}
BOUNDS = {"choice.channel_constant.bot": (-1.5, 1.5),
          "digital.webshop.target_product_share": (0.0, 1.0)}
TOL = 0.1


def _targets(tmp_path, wanted=("volumes.bot", "volumes.webshop")) -> dict:
    cfg = compose("baseline", SMALL)
    for path, v in TRUE.items():
        set_path(cfg, path, v)
    sim = figures(cfg, 1, list(wanted))
    return {
        "name": "recover", "scenario": "baseline", "seed": int(cfg["seed"]), "overrides": SMALL,
        "replications": 1, "check_replications": 3, "max_evaluations": 30,
        "fit_file": str(tmp_path / "fit.yaml"),
        "parameters": {p: {"start": START[p], "lower": BOUNDS[p][0], "upper": BOUNDS[p][1],
                           "tolerance": TOL}
                       for p in TRUE},
        "targets": {f: {"value": float(sim[f][0]), "tolerance": 0.02} for f in wanted},
    }


def test_recovers_known_parameters(tmp_path, capsys):
    spec_file = tmp_path / "targets.yaml"
    spec_file.write_text(yaml.safe_dump(_targets(tmp_path)))
    rc = main([str(spec_file), "--out", str(tmp_path / "out"), "--apply", "--quiet"])
    assert rc == 0, capsys.readouterr()
    fitted = yaml.safe_load((tmp_path / "out" / "fitted.yaml").read_text())
    assert (tmp_path / "fit.yaml").read_text() == (tmp_path / "out" / "fitted.yaml").read_text()
    for path, true in TRUE.items():
        node = fitted
        for k in path.split("."):
            node = node[k]
        assert abs(node - true) <= TOL, (path, node, true)
        assert abs(START[path] - true) > TOL        # the fit started elsewhere
    table = (tmp_path / "out" / "fit.csv").read_text()
    assert "volumes.bot" in table and "residual_tolerances" in table
    errors = pd.read_csv(tmp_path / "out" / "parameters.csv").set_index("parameter")
    for path, true in TRUE.items():
        row = errors.loc[path]
        assert 0 < row.se < (row.upper - row.lower) / 4 and row.identified, row
        assert abs(row.value - true) <= row.se, f"{path}: {row.value} vs {true} ± {row.se}"
    checks = json.loads((tmp_path / "fit.checks.json").read_text())
    assert [p["parameter"] for p in checks["parameters"]] == list(TRUE)


def test_a_mechanism_leave_one_out_other_seeds_and_a_placebo_file(tmp_path, capsys):
    """One named mechanism shifts two channels' constants from the reference scenario's
    values; leave-one-out refits without each figure and predicts it; other seeds give the
    spread; a file extending this one with other targets keeps its parameters and bounds."""
    cfg = compose("baseline", SMALL)
    for k in ("bot", "webshop"):
        set_path(cfg, f"choice.channel_constant.{k}",
                 cfg["scenario"]["choice"]["channel_constant"][k] + 0.5)
    wanted = ["volumes.bot", "volumes.webshop", "volumes.phone"]
    ref, sim = figures(compose("baseline", SMALL), 1, wanted), figures(cfg, 1, wanted)
    spec = {"name": "mech", "scenario": "baseline", "reference": "baseline", "overrides": SMALL,
            "replications": 1, "check_replications": 2, "max_evaluations": 20,
            "parameters": {"digital_push": {
                "shift": ["choice.channel_constant.bot", "choice.channel_constant.webshop"],
                "start": 0.0, "lower": -1.0, "upper": 1.5, "tolerance": 0.05,
                "about": "more customers try the bot and the webshop"}},
            "targets": {f: {"change": float(sim[f][0] / ref[f][0] - 1), "tolerance": 0.02}
                        for f in wanted}}
    (tmp_path / "mech.yaml").write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    assert main([str(tmp_path / "mech.yaml"), "--out", str(out), "--quiet", "--cross-validate",
                 "--check-seeds", "1"]) == 0, capsys.readouterr().err
    fitted = yaml.safe_load((out / "fitted.yaml").read_text())["choice"]["channel_constant"]
    base = cfg["scenario"]["choice"]["channel_constant"]
    assert abs(fitted["bot"] - base["bot"]) < 0.1 and abs(fitted["webshop"] - base["webshop"]) < 0.1
    loo = pd.read_csv(out / "cross_validation.csv").set_index("figure")
    assert sorted(loo.index) == sorted(wanted) and loo.same_sign.all()
    assert (loo.error.abs() < 0.05).all(), loo       # one mechanism: each figure predicted
    seeds = pd.read_csv(out / "seeds.csv")
    assert set(seeds.seed) == {spec.get("seed", 20231) + 1} and len(seeds) == 3
    # the placebo: the same parameter and bounds, the bot's change flipped: it cannot fit
    (tmp_path / "placebo.yaml").write_text(yaml.safe_dump({
        "extends": "mech.yaml", "name": "placebo",
        "targets": {**spec["targets"], "volumes.bot": {
            "change": -spec["targets"]["volumes.bot"]["change"], "tolerance": 0.02}}}))
    assert main([str(tmp_path / "placebo.yaml"), "--out", str(tmp_path / "p"), "--quiet"]) == 1
    placebo = pd.read_csv(tmp_path / "p" / "fit.csv").set_index("figure")
    assert placebo.residual_tolerances.abs().max() > 2.5


def test_bad_targets_files_fail_with_the_key(tmp_path, capsys):
    good = {"name": "x", "scenario": "baseline",
            "parameters": {"choice.channel_constant.bot": {"start": 0.0, "lower": -1.0,
                                                           "upper": 1.0, "tolerance": 0.1}},
            "targets": {"volumes.bot": {"change": 0.2}}, "reference": "baseline"}
    parse_spec(good)
    cases = [
        ({**good, "colour": 1}, "colour is not a known key"),
        ({**good, "reference": None}, "`change` targets need a reference scenario"),
        ({**good, "targets": {"volumes.bot": {"change": 0.2, "value": 3}}}, "exactly one of"),
        ({**good, "targets": {"speed.bot": {"value": 3}}},
         "targets.speed.bot is not a known figure; allowed: volumes.<channel>"),
        ({**good, "targets": {"volumes.phone.2023-13": {"value": 3}}},
         "targets.volumes.phone.2023-13 = '2023-13' is not allowed; allowed: a calendar month"),
        ({**good, "targets": {"volumes.fax": {"value": 3}}},
         "targets.volumes.fax: scenario baseline has no channel 'fax'; allowed: phone"),
        ({**good, "targets": {"metrics.happiness": {"value": 3}}},
         "allowed: metrics.needs, metrics.unresolved_needs"),
        ({**good, "parameters": {"a.b": {"start": 5, "lower": 0, "upper": 1, "tolerance": 0.1}}},
         "parameters.a.b.start = 5.0 is not allowed; it must lie within [lower, upper] = [0, 1]"),
        ({**good, "parameters": {"a.b": {"start": 1, "lower": 1, "upper": 1, "tolerance": 0.1}}},
         "parameters.a.b: lower = 1 and upper = 1; allowed: lower below upper"),
        ({**good, "parameters": {"a.b": {"start": 200, "lower": 300, "upper": 100,
                                         "tolerance": 1}}},
         "parameters.a.b: lower = 300 and upper = 100; allowed: lower below upper"),
        ({**good, "parameters": {"a.b": {"start": "x", "lower": 0, "upper": 1, "tolerance": 1}}},
         "parameters.a.b.start = 'x' is not a number"),
        ({**good, "seed": -3}, "seed = -3 is out of range; allowed: >= 0"),
        ({**good, "targets": {"volumes.bot": {"change": 0.2, "tolerance": 0}}},
         "targets.volumes.bot.tolerance = 0.0 is out of range"),
        ([1, 2], "the targets file must be a mapping"),
    ]
    for data, message in cases:
        path = tmp_path / "t.yaml"
        path.write_text(yaml.safe_dump(data))
        assert main([str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "o").exists(), "a bad targets file writes nothing"
    path.write_text(yaml.safe_dump({**good, "parameters": {"choice.nothing.bot": {
        "start": 0.0, "lower": -1.0, "upper": 1.0, "tolerance": 0.1}}}))
    assert main([str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "parameters.choice.nothing.bot: scenario has no choice.nothing" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.yaml"), "--quiet"]) == 2


def test_every_simulation_counts_toward_max_evaluations(tmp_path, monkeypatch):
    """The Jacobian's simulations count too; a search stopped by its budget reports
    the best point it simulated, with the targets file's seed."""
    import sim.calibrate as calibrate

    data = {**_targets(tmp_path), "max_evaluations": 4, "seed": 777}
    spec = parse_spec(data)
    simulated = []                       # (replications) of every simulation of the search
    real = calibrate._figures_job
    monkeypatch.setattr(calibrate, "_figures_job",
                        lambda args: simulated.append(args[1]) or real(args))
    x, rows, f = fit(spec, progress=False)
    assert f.base["seed"] == 777
    searched = [r for r in simulated if r == spec.replications]
    # every simulation at the search's replications was counted, the Jacobian's included
    # (a start and one step per parameter: more than one), and the budget held
    assert f.evaluations == len(searched) and len(TRUE) < f.evaluations <= 4
    # the answer is the best point simulated, by the cost of what was simulated there
    costs = {k: float(np.sum(np.nan_to_num(f._residuals_of(v), nan=1e3) ** 2))
             for k, v in f._cache.items() if k[1] == spec.replications}
    assert f.best_cost == min(costs.values())
    assert costs[f._key(x, spec.replications)] == f.best_cost and len(rows) == 2


def test_monthly_figures_add_up_to_the_year():
    cfg = compose("baseline", ["scenario.customers.accounts=3000", "run.hours=1500"])
    months = ["2023-01", "2023-02", "2023-03"]
    got = figures(cfg, 1, ["volumes.bot", *(f"volumes.bot.{m}" for m in months)])
    assert got["volumes.bot"][0] == sum(got[f"volumes.bot.{m}"][0] for m in months) > 0
    with pytest.raises(ConfigError, match="outside the simulated period"):
        figures(cfg, 1, ["volumes.bot.2024-05"])     # a month the run cannot match


def test_service_figures_offered_answered_and_tried_again():
    """``channels.<c>.offered/answered`` are kpis.json's counts; ``retried`` counts the
    unanswered contacts whose need came back to the channel (hand-worked log first)."""
    from analysis.metrics import agent_volumes, retried_contacts

    log = pd.DataFrame({
        "need_id":   [1, 1, 2, 2, 3, 3, 4],
        "channel":   ["phone", "phone", "phone", "chat", "phone", "phone", "phone"],
        "arrival_s": [10.0, 50.0, 5.0, 9.0, 1.0, 2.0, 7.0],
        "answer_s":  [np.nan, 60.0, np.nan, 12.0, np.nan, np.nan, np.nan],
        "outcome":   ["abandoned", "resolved", "abandoned", "resolved", "failed", "abandoned",
                      "abandoned"],
    })
    # need 1 redials after an unanswered call (1); need 2 goes to chat (0); need 3 found the
    # line closed (not offered) and then was not answered, nothing after (0); need 4: 0
    assert retried_contacts(log, ("phone", "chat")) == {"phone_retried": 1, "chat_retried": 0}
    cfg = compose("baseline", SMALL)
    for shift in cfg["scenario"]["pools"]["phone_agents"]["shifts"]:
        shift["agents"] = 3                       # short-staffed: callers give up and redial
    wanted = ["channels.phone.offered", "channels.phone.answered", "channels.phone.retried"]
    got = {k: v[0] for k, v in figures(cfg, 1, wanted).items()}
    from analysis.tables import contacts_frame
    from sim.cli import validate_config
    from sim.engine.model import simulate

    scenario, run, seed, _ = validate_config(cfg)
    frame = contacts_frame(simulate(scenario, run, seed, 0), scenario.start_date)
    kp = agent_volumes(frame)
    assert got["channels.phone.offered"] == kp["phone_offered"] > got["channels.phone.answered"]
    assert got["channels.phone.answered"] == kp["phone_answered"]
    assert 0 < got["channels.phone.retried"] <= kp["phone_offered"] - kp["phone_answered"]
    for bad, message in [("channels.bot.offered", "'bot' is not an agent channel"),
                         ("channels.phone.speed", "allowed: channels.<agent channel>.offered")]:
        spec = {"name": "x", "scenario": "baseline", "overrides": SMALL,
                "parameters": {"choice.channel_constant.bot": {
                    "start": 0.0, "lower": -1.0, "upper": 1.0, "tolerance": 0.1}},
                "targets": {bad: {"value": 3}}}
        with pytest.raises(ConfigError, match=message):
            from sim.calibrate import Fit
            Fit(parse_spec(spec), progress=False)


def test_a_stale_fit_applied_to_the_scenario_fails_before_fitting(tmp_path, monkeypatch):
    """A key the last --apply set that no parameter sets now would stay in every trial:
    the fit refuses to start, naming it (the scenario here carries it through an override,
    as a scenario carries its fit file)."""
    data = _targets(tmp_path)
    (tmp_path / "fit.yaml").write_text("# @package scenario\nchoice:\n  channel_constant:\n"
                                       "    support_site: 0.123\n")
    spec = parse_spec({**data, "overrides": [*SMALL,
                                             "scenario.choice.channel_constant.support_site=0.123"]})
    with pytest.raises(ConfigError, match=r"sets choice.channel_constant.support_site, which "
                                          r"no parameter of this fit sets"):
        fit(spec, progress=False)
    fit(parse_spec({**data, "max_evaluations": 1}), progress=False)   # not carried: it fits


def test_a_mechanism_may_move_one_channel_up_and_another_down():
    """``shift_down``: one strength pulls customers from one channel to another (the keys
    move by +v and −v from the scenario's values); a key no mechanism may move twice."""
    from sim.calibrate import Fit, diff_yaml

    spec = {"name": "x", "scenario": "baseline", "overrides": SMALL,
            "parameters": {"portal_over_site": {
                "shift": ["choice.channel_constant.selfservice"],
                "shift_down": ["choice.channel_constant.support_site"],
                "start": 0.0, "lower": -1.0, "upper": 1.0, "tolerance": 0.1}},
            "targets": {"volumes.selfservice": {"value": 1000}}}
    f = Fit(parse_spec(spec), progress=False)
    base = f.base["scenario"]["choice"]["channel_constant"]
    moved = f.values([0.25])
    assert moved["choice.channel_constant.selfservice"] == pytest.approx(base["selfservice"] + 0.25)
    assert moved["choice.channel_constant.support_site"] == pytest.approx(base["support_site"] - 0.25)
    assert "and taken from its choice.channel_constant.support_site" in diff_yaml(f, [0.25])
    twice = {**spec, "parameters": {**spec["parameters"], "choice.channel_constant.support_site": {
        "start": 0.0, "lower": -1.0, "upper": 1.0, "tolerance": 0.1}}}
    with pytest.raises(ConfigError, match="a key set by a parameter is moved by no other"):
        parse_spec(twice)
