"""Nothing a user does loses results or shows a traceback (issue 12).

Each finding of the issue is reproduced here as a user would meet it: by the cases of
``tests/fault_catalogue.py`` named per finding (each runs the command in a subprocess and
checks the exit code, that no traceback is printed, the one-line message and what is left
on disk), and by the tests below for what needs more than one command: two identical sweeps
at once, a sweep killed with SIGKILL at random moments and resumed, and random malformed
contact logs (hypothesis).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import fault_catalogue as fc
import pandas as pd
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.runio import run_problems

pytestmark = pytest.mark.slow    # subprocesses, interrupted and concurrent sweeps (make test)

FINDINGS = {
    "1 two identical sweeps at once": [],            # test_two_identical_sweeps_at_once
    "2 no bound on size": [
        "ccsim too large: run.hours=1e7", "ccsim too large: arrivals 1e9",
        "ccsim too large: interval 0.0001 min", "ccsim too large: accounts 1e9",
        "ccsim sweep too large point"],
    "3 resume over a truncated kpis.json": [
        "resume over truncated kpis.json", "ccsim-report over truncated kpis.json",
        "analysis.study over truncated kpis.json"],
    "4 a run with no contacts": [
        "ccsim empty run: arrivals 0", "ccsim empty run: accounts 0",
        "ccsim empty run: needs.month all zero", "ccsim empty run: hours 0.0001",
        "ccsim empty run: warm-up just below hours"],
    "5 calibrate --jobs 2 message": [
        "calibrate: bounds that leave the schema's range (a login failure 0..1.5), --jobs 2"],
    "6 silent acceptance": [
        "metrics --definitions missing", "calibrate: month 13",
        "metrics: escalated_from itself", "metrics: escalation loop",
        "metrics: escalation loop of three", "metrics: header only"],
    "7 every point validated first": ["sweep bad last point", "sweep 400 points, 200 bad"],
    "8 tracebacks": [
        "ccsim scenario file: YAML syntax error", "ccsim scenario file: YAML duplicate key",
        "metrics: mixed time zones", "metrics --definitions YAML syntax error",
        "calibrate: lower = upper", "read-only run folder", "read-only study folder",
        "full disk, one run", "full disk, a sweep", "ccsim unset env",
        "ccsim-report over kpis.json = []", "resume over kpis.json = []",
        "Ctrl-C during a run", "Ctrl-C during a sweep (basic)"],
    "9 smaller": [
        "metrics: bad channel", "metrics: text need_id on the escalated row",
        "metrics: semicolons", "ccsim unknown key without +", "calibrate: inverted bounds",
        "ccsim empty run: small_centre closed all week"],
}


@pytest.fixture(scope="module")
def study_template(tmp_path_factory):
    """The catalogue's finished tiny study (copied and broken by the study cases)."""
    fc.STUDY = fc.make_study(tmp_path_factory.mktemp("template"))
    return fc.STUDY


def _case(label: str) -> fc.Case:
    found = [c for c in fc.cases() if c.label == label]
    assert len(found) == 1, f"no catalogue case {label!r}"
    return found[0]


@pytest.mark.parametrize("label", [label for labels in FINDINGS.values() for label in labels])
def test_finding(label, study_template, tmp_path):
    case = _case(label)
    outcome = fc.run_case(case, tmp_path)
    if outcome.message.startswith("skipped"):
        pytest.skip(outcome.message)
    assert outcome.clean, f"{label}: exit {outcome.rc}: {outcome.message}"


def test_a_sample_of_the_catalogue(study_template, tmp_path):
    """Every fifteenth quick case of the catalogue besides those above (all: make faults)."""
    named = {label for labels in FINDINGS.values() for label in labels}
    sample = [c for c in fc.cases() if c.quick and c.label not in named][::15]
    bad = [o for o in (fc.run_case(c, tmp_path) for c in sample) if not o.clean]
    assert not bad, "\n".join(f"{o.case.label}: exit {o.rc}: {o.message}" for o in bad)


# ---------------------------------------------------------------- two sweeps at once

SWEEP = ["scenario=single_queue", "run.hours=400", "run.replications=2", "run.progress=false",
         "scenario.queue.agents=13,14,15", "base_scenario=single_queue"]


def _sweep_proc(study: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", "-m", f"hydra.sweep.dir={study}",
                             *SWEEP, *extra], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_two_identical_sweeps_at_once(tmp_path, launcher):
    """Finding 1: the same sweep started twice, 0.3 s apart, into one study (contact log on):
    both end 0, every run complete, one summary equal to a sweep run alone."""
    alone = tmp_path / "alone"
    out = _sweep_proc(alone, f"hydra/launcher={launcher}")
    assert out.wait(timeout=600) == 0, out.stderr.read()[-2000:]
    shared = tmp_path / "shared"
    a = _sweep_proc(shared, f"hydra/launcher={launcher}")
    time.sleep(0.3)
    b = _sweep_proc(shared, f"hydra/launcher={launcher}")
    results = [(p.wait(timeout=600), *p.communicate()) for p in (a, b)]
    for rc, _, err in results:
        assert rc == 0 and "Traceback" not in err, err[-2000:]
    plan = json.loads((shared / "plan.json").read_text())
    assert len(set(plan["runs"])) == 3
    for name in plan["runs"]:
        assert run_problems(shared / "runs" / name) == [], name
        assert (shared / "runs" / name / "scenario.yaml").exists()
        assert (shared / "runs" / name / "contacts.parquet").exists()
    assert not list((shared / "runs").glob(".tmp-*"))
    pd.testing.assert_frame_equal(pd.read_parquet(shared / "summary.parquet"),
                                  pd.read_parquet(alone / "summary.parquet"))
    skipped = sum(out.count("already finished, skipped") for _, out, _ in results)
    assert skipped >= 3, "the second sweep waited for the first and skipped its runs"


def test_a_study_with_a_failed_run_does_not_exit_0(tmp_path):
    case = _case("sweep a failing run is named, the rest finish")
    outcome = fc.run_case(case, tmp_path)
    assert outcome.rc == 1 and outcome.clean, outcome.message


# ---------------------------------------------------------------- SIGKILL at random moments

KILL = ["scenario=single_queue", "run.hours=300", "run.replications=1", "run.progress=false",
        "run.write_contacts=false", "scenario.queue.agents=" + ",".join(map(str, range(10, 22)))]


def _kill_sweep(study: Path, delay: float, launcher: str) -> None:
    p = subprocess.Popen([sys.executable, "-m", "sim.cli", "-m", f"hydra.sweep.dir={study}", *KILL,
                          f"hydra/launcher={launcher}"], cwd=ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def test_sweeps_killed_at_random_moments_resume_to_the_same_summary(tmp_path):
    """SIGKILL (the whole process group) at random moments, twice per study, then the same
    command again: the summary equals an uninterrupted sweep's, nothing half-written stays."""
    whole = tmp_path / "whole"
    out = subprocess.run([sys.executable, "-m", "sim.cli", "-m", f"hydra.sweep.dir={whole}",
                          *KILL], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    reference = pd.read_parquet(whole / "summary.parquet")
    for seed in (1,):
        rng = random.Random(seed)
        study = tmp_path / f"killed-{seed}"
        for _attempt in range(2):
            launcher = rng.choice(["basic", "joblib"])
            _kill_sweep(study, rng.uniform(0.5, 6.0), launcher)
            for run in (study / "runs").iterdir() if (study / "runs").exists() else []:
                if not run.name.startswith("."):
                    assert run_problems(run) == [], f"seed {seed}: a broken run looks finished"
        again = subprocess.run([sys.executable, "-m", "sim.cli", "-m", f"hydra.sweep.dir={study}",
                                *KILL], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, (seed, again.stderr[-2000:])
        pd.testing.assert_frame_equal(pd.read_parquet(study / "summary.parquet"), reference)
        assert not list((study / "runs").glob(".tmp-*")), "stale temporary folders removed"


# ---------------------------------------------------------------- malformed logs (hypothesis)

GOOD = pd.DataFrame({
    "contact_id": [1, 2, 3, 4, 5, 6],
    "need_id": [1, 1, 2, 2, 3, 4],
    "customer_id": [10, 10, 11, 11, 12, 13],
    "channel": ["bot", "chat", "phone", "phone", "webshop", "selfservice"],
    "start": ["2023-01-02T09:00:00", "2023-01-02T09:05:00", "2023-01-02T10:00:00",
              "2023-01-02T10:20:00", "2023-01-02T11:00:00", "2023-01-02T12:00:00"],
    "outcome": ["escalated", "resolved", "abandoned", "resolved", "resolved", "failed"],
    "escalated_from": [None, 1, None, None, None, None],
    "target_product": ["", "", "", "", "true", ""],
})

DEFECTS = {
    "missing column": lambda d, r, x: d.drop(columns=[x.draw(st.sampled_from(list(d.columns)))]),
    "bad channel": lambda d, r, x: _set(d, r, "channel", x.draw(st.sampled_from(
        ["fax", "", "PHONE ", "e-mail", "7"]))),
    "bad outcome": lambda d, r, x: _set(d, r, "outcome", x.draw(st.sampled_from(
        ["lost", "", "ok", "resolved!"]))),
    "bad start": lambda d, r, x: _set(d, r, "start", x.draw(st.sampled_from(
        ["yesterday", "", "2023-13-01", "2023-02-30T10:00", "12:00", "99999-01-01", "now",
         "today", "1e5"]))),
    "mixed time zones": lambda d, r, x: _set(d, r, "start", "2023-01-02T10:00:00+02:00")
    if r > 0 else _set(d, 1, "start", "2023-01-02T09:05:00Z"),
    "empty id": lambda d, r, x: _set(d, r, x.draw(st.sampled_from(
        ["contact_id", "need_id", "customer_id"])), None),
    "duplicate contact_id": lambda d, r, x: _set(d, r, "contact_id", d["contact_id"].iloc[r - 1])
    if r > 0 else _set(d, 1, "contact_id", 1),
    "unknown reference": lambda d, r, x: _set(d, r, "escalated_from", 99),
    "self reference": lambda d, r, x: _set(d, r, "escalated_from", d["contact_id"].iloc[r]),
    "loop": lambda d, r, x: _set(_set(_set(d, 0, "escalated_from", 2), 0, "start",
                                      "2023-01-02T09:05:00"), 1, "escalated_from", 1),
    "other need": lambda d, r, x: _set(d, 3, "escalated_from", 1),
    "later start": lambda d, r, x: _set(d, 0, "escalated_from", 2),
    "bad target_product": lambda d, r, x: _set(d, r, "target_product", x.draw(st.sampled_from(
        ["maybe", "2", "yes please"]))),
    "text where integer ids": lambda d, r, x: _set(d, 1, "escalated_from", "abc"),
    "no rows": lambda d, r, x: d.iloc[0:0],
}


def _set(d: pd.DataFrame, row: int, col: str, value) -> pd.DataFrame:
    if col not in d.columns or row >= len(d):
        return d
    d = d.copy()
    d[col] = d[col].astype(object)
    d.loc[row, col] = value
    return d


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_malformed_logs_exit_2_with_one_line_naming_row_or_column(data, tmp_path_factory):
    """Random malformed logs (one or two defects, sometimes extra columns, CSV or parquet):
    ccsim-metrics exits 2 with one line naming a row or a column, never a traceback."""
    from analysis.metrics import LOG_COLUMNS, main

    frame = GOOD.copy()
    names = data.draw(st.lists(st.sampled_from(sorted(DEFECTS)), min_size=1, max_size=2,
                               unique=True), label="defects")
    for name in sorted(names, key=lambda n: n in ("missing column", "no rows")):
        row = data.draw(st.integers(0, len(frame) - 1), label="row") if len(frame) else 0
        frame = DEFECTS[name](frame, row, data)
    if data.draw(st.booleans(), label="extra columns"):
        frame = frame.assign(note="x", handle_s=1.5)
    as_parquet = data.draw(st.booleans(), label="parquet")
    duplicated = None
    if not as_parquet and len(frame.columns) and data.draw(st.booleans(), label="dup column"):
        duplicated = data.draw(st.sampled_from(list(frame.columns)), label="duplicated")
    folder = tmp_path_factory.mktemp("log")
    path = folder / ("log.parquet" if as_parquet else "log.csv")
    if as_parquet:
        try:
            frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}
                         ).to_parquet(path)
        except Exception:  # noqa: BLE001 - a frame pyarrow cannot write is no case
            frame.to_csv(path := folder / "log.csv", index=False)
    else:
        frame.to_csv(path, index=False)
        if duplicated:                       # a header naming one column twice
            lines = path.read_text().splitlines()
            lines = [f"{lines[0]},{duplicated}"] + [f"{ln},x" for ln in lines[1:]]
            path.write_text("\n".join(lines) + "\n")
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        rc = main([str(path)])
    message = err.getvalue().strip()
    assert rc == 2, (names, rc, message, out.getvalue()[:300])
    assert "Traceback" not in message and len(message.splitlines()) == 1, message
    assert message.startswith("ccsim-metrics: "), message
    named = ("row " in message or any(c in message for c in [*LOG_COLUMNS, *frame.columns])
             or "no contacts" in message)
    assert named, f"{names}: the message names no row or column: {message}"


def test_config_error_survives_pickling():
    """Finding 5 at its root: a ConfigError passed back from a worker process keeps its
    problems (the default pickling rebuilt it from its message, a problem per character)."""
    from sim.engine.validate import ConfigError

    exc = ConfigError(["scenario.queue.agents = -1 is out of range; allowed: >= 0"])
    back = pickle.loads(pickle.dumps(exc))
    assert back.problems == exc.problems and str(back) == str(exc)
    assert ". . ." not in str(back)


def test_ccsim_metrics_prints_no_numpy_wrappers(tmp_path):
    """Finding 9: a row message shows contact_id 4, not np.int64(4)."""
    from analysis.metrics import main

    (tmp_path / "log.csv").write_text(fc.LOG_HEAD + "\n".join(
        [*fc.LOG_ROWS[:3], "4,2,11,fax,2023-01-02T10:20:00,resolved,,"]) + "\n")
    err = io.StringIO()
    with redirect_stderr(err):
        assert main([str(tmp_path / "log.csv")]) == 2
    assert "(contact_id 4)" in err.getvalue() and "np." not in err.getvalue()


def test_summary_text_says_no_contacts_instead_of_nan():
    """Finding 9: a channel without contacts is 'no contacts offered', never 'nan%'."""
    from sim.cli import summary_text

    nan = float("nan")
    kpis = {"scenario": "x", "replications": 1, "hours": 1, "seed": 1,
            "metrics": {"needs": 0, "manual_contacts": 0, "online_share_of_contacts": None},
            "totals": {"agent_cost_eur": 0.0},
            "channels": {"phone": {"offered": 0, "service_level": nan, "asa_seconds": None,
                                   "p_abandon": nan, "closed": 0}}}
    text = summary_text(kpis)
    assert "nan" not in text and "no contacts" in text


FINALISER = """
import os, signal, sys
from analysis.guard import raise_if_interrupted, run_command

class Freed:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)      # the handler runs here, in the finaliser

def body():
    Freed()                                       # freed at once: the Ctrl-C is dropped
    print("after the finaliser", flush=True)
    raise_if_interrupted()
    print("result made final", flush=True)

sys.exit(run_command("ccsim", body))
"""


def test_a_ctrl_c_dropped_inside_a_finaliser_still_stops_the_command():
    """Python prints and drops an exception raised in ``__del__``: a Ctrl-C landing there
    (under load it did, once a run's arrays were freed) must still stop the command before
    it makes its result final, not let it finish with exit 0. (In a process of its own: a
    test worker's signals are not the test's.)"""
    out = subprocess.run([sys.executable, "-c", FINALISER], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 130, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["after the finaliser"]
    assert out.stderr.strip().splitlines()[-1] == "ccsim: interrupted"
