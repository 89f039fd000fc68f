"""Company X: the published 2020 → 2021 changes, reproduced by simulation — by a fit that
could fail.

Runs ``ccsim scenario=company_x_2020`` and ``ccsim scenario=company_x_2021``
as a user would (four replications each, the same seed, side by side on two
cores) and checks the published changes (seed 000, ch. 3.3, in
``conf/calibration/company_x.yaml``) against the simulated volumes, and that
each named mechanism shows where it acts. The fit has five mechanism strengths for the
seven figures; the service requests' and the support site's changes follow from them
(predicted, not fitted), every figure within 1.5 points. The same on two other seeds (within
3 points), and the placebo — the opposite story, the same parameters and bounds — must not
fit.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT

from analysis.kpis import mean_ci

pytestmark = pytest.mark.slow    # two simulated years of company X: make test, not make test-fast

TARGETS = yaml.safe_load((ROOT / "conf" / "calibration" / "company_x.yaml").read_text())["targets"]
BAND = 0.015          # the acceptance: within 1.5 percentage points
OTHER_SEEDS = (20232, 20233)
OTHER_BAND = 0.03     # on other seeds
PRECISION = 0.02      # CI half-width of a change over four paired replications
#: four: with three, the webshop change (a few thousand target-product orders) had a CI of
#: ±2.5 points under the random numbers of the choice keyed apart from purposes
REPLICATIONS = 4


def _both_years(tmp_path_factory, seed: int | None = None, replications=REPLICATIONS):
    out, procs = {}, {}
    for year in (2020, 2021):
        folder = tmp_path_factory.mktemp(f"company_x_{year}_{seed}")
        procs[year] = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", f"scenario=company_x_{year}",
             f"run.replications={replications}", *([f"seed={seed}"] if seed else []),
             f"hydra.run.dir={folder}", "run.progress=false", "run.write_contacts=false"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out[year] = folder
    for year, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=1200)
        assert proc.returncode == 0, stderr[-2000:]
        (out[year] / "stdout.txt").write_text(stdout)
    return out


@pytest.fixture(scope="module")
def years(tmp_path_factory):
    return _both_years(tmp_path_factory)


def _kpis(folder) -> dict:
    return json.loads((folder / "kpis.json").read_text())


def _volumes_per_replication(folder) -> pd.DataFrame:
    reps = pd.read_parquet(folder / "replications.parquet").set_index("replication")
    return reps[[c for c in reps.columns if c.startswith("volume.")]].rename(
        columns=lambda c: c.split(".", 1)[1])


def test_published_changes_reproduced(years):
    """kpis.json → volumes: each published change within 1.5 pp. The paired
    per-replication changes (same seed: common random numbers) give the CI,
    which must be narrow enough for the 1.5 pp statement to mean something."""
    k20, k21 = _kpis(years[2020])["volumes"], _kpis(years[2021])["volumes"]
    v20, v21 = _volumes_per_replication(years[2020]), _volumes_per_replication(years[2021])
    lines, bad = [], []
    for figure, t in TARGETS.items():
        channel = figure.split(".")[1]
        change = k21[channel] / k20[channel] - 1.0
        mean, half = mean_ci(list(v21[channel] / v20[channel] - 1.0))
        assert np.isclose(mean, change, atol=0.002), "kpis.json means are the replication means"
        lines.append(f"{channel}: target {t['change']:+.1%}, simulated {change:+.1%} "
                     f"(CI {mean - half:+.1%} … {mean + half:+.1%})")
        if not abs(change - t["change"]) <= BAND or not half < PRECISION:
            bad.append(lines[-1])
    print("\n".join(lines))
    assert not bad, "outside ±1.5 pp (or the CI too wide): " + "; ".join(bad)


def test_published_changes_hold_on_other_seeds(tmp_path_factory):
    """Other customers and needs (two other seeds, two replications each): every published
    change within 3 points."""
    bad = []
    for seed in OTHER_SEEDS:
        runs = _both_years(tmp_path_factory, seed, replications=2)
        k20, k21 = _kpis(runs[2020])["volumes"], _kpis(runs[2021])["volumes"]
        for figure, t in TARGETS.items():
            channel = figure.split(".")[1]
            change = k21[channel] / k20[channel] - 1.0
            if not abs(change - t["change"]) <= OTHER_BAND:
                bad.append(f"seed {seed} {channel}: {change:+.1%} for {t['change']:+.1%}")
    assert not bad, "; ".join(bad)


def test_the_fit_is_over_identified_and_inside_its_plausible_ranges():
    """Fewer free parameters than figures (at most five), each a bounded mechanism; calls'
    first-contact resolution at most 0.9 anywhere in the ranges; the fit recorded beside it
    ends at no bound and every parameter is pinned by the figures (standard error under a
    quarter of its range); the callers who are not answered try again (at least 20 %), and
    the answered/offered split the assumed staffing implies is recorded for the report."""
    from sim.calibrate import compose, get_path

    spec = yaml.safe_load((ROOT / "conf" / "calibration" / "company_x.yaml").read_text())
    params = spec["parameters"]
    assert len(params) <= 5 < len(spec["targets"])
    assert all(p.get("shift") for p in params.values()), "each a named mechanism's strength"
    ref = compose(spec["reference"], [])
    for name, p in params.items():
        for path in p["shift"]:
            if "first_contact_resolution" in path:
                top = get_path(ref, path, name) + p["upper"]
                assert top <= (0.9 if path.startswith("channels.phone.") else 1.0), (path, top)
    checks = json.loads((ROOT / "scenarios" / "fits" / "company_x_2021.checks.json").read_text())
    for e in checks["parameters"]:
        assert not e["at_bound"] and e["identified"], e
    service = {(r["scenario"], r["channel"]): r for r in checks["service"]}
    for year in ("company_x_2020", "company_x_2021"):
        phone = service[(year, "phone")]
        assert 0 < phone["answered"] < phone["offered"]
        assert phone["tried_again_share"] >= 0.2, phone


def test_the_opposite_story_does_not_fit(tmp_path):
    """The placebo — the six non-phone changes flipped, the same parameters, bounds and
    search — does not fit: exit 1, at least one figure more than 5 points off."""
    out = subprocess.run([sys.executable, "-m", "sim.calibrate",
                          str(ROOT / "conf" / "calibration" / "company_x_placebo.yaml"),
                          "--out", str(tmp_path), "--quiet", "--jobs", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert out.returncode == 1, out.stderr[-2000:]
    fit = pd.read_csv(tmp_path / "fit.csv")
    worst = (fit.simulated - fit.target).abs().max()
    assert worst > 0.05, fit[["figure", "target", "simulated"]].to_string()


def test_agent_chats_fall_after_chat_left_the_open_web_pages(years):
    """From 2021-09-01 chat is for logged-in users only: against the same month of
    2020, chats fall clearly more from September on than before it."""
    m20 = pd.read_parquet(years[2020] / "monthly.parquet")
    m21 = pd.read_parquet(years[2021] / "monthly.parquet")
    for m in (m20, m21):
        m["mm"] = m["month"].str[5:]
    ratio = (m21.groupby("mm").chat_contacts.mean() / m20.groupby("mm").chat_contacts.mean())
    before, after = ratio[ratio.index < "09"], ratio[ratio.index >= "09"]
    assert after.max() < before.min(), (before.round(3).to_dict(), after.round(3).to_dict())
    assert after.mean() < before.mean() - 0.08


def test_fewer_repeat_calls_per_caller_than_in_2020(years):
    a = _kpis(years[2020])["metrics"]
    b = _kpis(years[2021])["metrics"]
    key = "repeat_calls_per_caller"
    assert b[key] + b[f"{key}_ci"] < a[key] - a[f"{key}_ci"], (a[key], b[key])


def test_calls_longer_in_the_last_quarter_of_2021(years):
    """Agents guide callers to self-service from 2021-10-01: longer calls."""
    m21 = pd.read_parquet(years[2021] / "monthly.parquet")
    m20 = pd.read_parquet(years[2020] / "monthly.parquet")
    q4 = m21.month >= "2021-10"
    handle21 = m21.groupby(q4).phone_handle_mean_s.mean()
    handle20_q4 = m20[m20.month >= "2020-10"].phone_handle_mean_s.mean()
    assert handle21[True] > handle21[False] + 10.0
    assert handle21[True] > handle20_q4 + 10.0


def test_both_years_report_the_three_metrics_and_their_gap(years):
    for year in (2020, 2021):
        m = _kpis(years[year])["metrics"]
        company, thesis = m["online_share_of_contacts"], m["online_self_service_share"]
        digital = m["digital_resolution_share"]
        assert all(0.0 < v < 1.0 for v in (company, thesis, digital))
        assert company > thesis + 0.2, "the company metric reads far higher than the thesis's"
        out = (years[year] / "stdout.txt").read_text()
        for words in ("online share of contacts (company)", "online self-service share (thesis)",
                      "digital resolution share"):
            assert words in out
