"""The leadership report (``ccsim-report STUDY_DIR``), checked as its readers get it.

One small study, run as a planner would (``ccsim -m``: the base, two scenarios
and a swept bot parameter, on a smaller unit), then ``ccsim-report``:

* the page in a real browser — headless Chromium (Debian's ``chromium``; found
  on the PATH or installed with apt when the tests run as root, else the test
  is skipped and says why): no console errors, no network request, and every
  chart on the full-page screenshot with something drawn in it;
* the PDF has the same sections, chart titles and tables (text read back);
* every number of a table equals ``summary.parquet`` (cells carry the column
  and value; the shown text is that value formatted);
* the executive summary answers the 80 % question in its first two sentences;
* a study with a run missing names the incomplete scenario instead of failing;
* the same study gives the same bytes twice.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, SMALL_2023, run_sweep

pytestmark = pytest.mark.slow    # studies run end to end and a browser: make test, not make test-fast

CHARTS = ["channel-mix", "metric-trap", "cost-frontier", "cost-impact", "monthly", "service",
          "tornado"]
SECTIONS = ["Executive summary", "Charts", "Tables", "Assumptions"]
SMALL = [*SMALL_2023, "run.replications=3", "hydra/launcher=joblib"]


def _report(study: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis.study_report", str(study)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("report_study")
    out = run_sweep(d, "scenario=base_2023,end_open_phone_lines,roadmap_2023", *SMALL)
    assert out.returncode == 0, out.stderr[-3000:]
    out = run_sweep(d, "scenario=improve_bot", "scenario.bot.containment_gain=0.05,0.15", *SMALL)
    assert out.returncode == 0, out.stderr[-3000:]
    rep = _report(d)
    assert rep.returncode == 0, rep.stderr[-3000:]
    assert f"Report: {d / 'report.html'}" in rep.stdout
    return d


class _Cells(HTMLParser):
    """Every table cell with a summary value: (point, key, value, text); paragraphs; figures."""

    def __init__(self):
        super().__init__()
        self.cells, self.paragraphs, self.figures, self.h2 = [], [], [], []
        self._point, self._cell, self._p, self._h2 = "", None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self._point = a.get("data-point", "")
        elif tag == "td" and "data-key" in a:
            self._cell = [self._point, a["data-key"], a.get("data-value"), ""]
        elif tag == "p":
            self._p = [a.get("class"), ""]
        elif tag == "figure":
            self.figures.append(a.get("data-chart"))
        elif tag == "h2":
            self._h2 = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[3] += data
        if self._p is not None:
            self._p[1] += data
        if self._h2 is not None:
            self._h2 += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(tuple(self._cell))
            self._cell = None
        elif tag == "p" and self._p is not None:
            self.paragraphs.append(tuple(self._p))
            self._p = None
        elif tag == "h2":
            self.h2.append(self._h2)
            self._h2 = None


def _parse(path: Path) -> _Cells:
    p = _Cells()
    p.feed(path.read_text())
    return p


def _formatted(key: str, value: float) -> str:
    base = key.removesuffix("_diff")
    share = base.endswith(("_share", "service_level", "p_abandon", "_of_contacts", "_80"))
    if key.endswith("_diff") and base != "fte":
        return f"{value * 100:+.1f}" if share else f"{value:+,.0f}"
    if key == "p_company_metric_reaches_80":
        return f"{value * 100:.0f} %"
    if base == "fte":
        return f"{value:+,.1f}" if key.endswith("_diff") else f"{value:,.1f}"
    return f"{value * 100:.1f} %" if share else f"{value:,.0f}"


def test_every_number_in_the_tables_equals_the_summary(study):
    summary = pd.read_parquet(study / "summary.parquet").set_index("point")
    page = _parse(study / "report.html")
    checked = 0
    for point, key, value, text in page.cells:
        assert point in summary.index, f"row {point!r} is not a summary point"
        expected = summary.loc[point, key]
        if value is None:
            assert pd.isna(expected), (point, key)
            continue
        assert float(value) == expected, (point, key, value, expected)
        assert text.startswith(_formatted(key, expected)), (point, key, text)
        checked += 1
    assert set(summary.index) <= {c[0] for c in page.cells}
    assert checked >= 8 * len(summary)


def test_the_summary_answers_the_80_percent_question_first(study):
    summary = pd.read_parquet(study / "summary.parquet")
    page = _parse(study / "report.html")
    cls, text = page.paragraphs[1]          # after the subtitle
    assert cls == "answer"
    first, second = re.split(r"(?<=[.])\s+(?=[A-Z])", text)[:2]
    assert "80 %" in first and "company" in first
    assert "resolved digitally" in second and "80 %" in second
    cm, half = summary["online_share_of_contacts"], summary["online_share_of_contacts_ci95"]
    reaching = summary.loc[cm - half >= 0.80, "scenario"]
    if len(reaching):
        assert all(name in first for name in reaching)
    else:
        assert "none" in first
    assert "roadmap_2023" in text
    assert "agent cost" in text
    # a replication-only P(>= 80 %) is never shown without saying it is given the assumptions
    html = (study / "report.html").read_text()
    for m in re.finditer(r"of replications", html):
        assert "given" in html[m.start():m.start() + 160], html[m.start() - 80:m.start() + 80]
    assert "P(≥ 80 %) given the assumptions" in html
    assert "randomness only, given the scenario" in html


def test_the_summary_never_shows_cost_without_what_customers_pay(study):
    """Every scenario the executive summary names (but the base) has a sentence with its
    agent cost against the base, the change in unresolved needs and in revenue at risk —
    the numbers of summary.parquet; the cost table has them beside agent cost."""
    summary = pd.read_parquet(study / "summary.parquet").set_index("point")
    page = _parse(study / "report.html")
    text = page.paragraphs[1][1]
    sentences = re.split(r"(?<=\.)\s+", text)
    base = summary[(summary["scenario"] == "base_2023")
                   & summary.filter(like="param:").isna().all(axis=1)].index[0]
    labels = {point: _label(row) for point, row in summary.iterrows()}
    named = [p for p, lab in labels.items() if p != base and lab in text]
    assert named, text
    for point in named:
        row = summary.loc[point]
        said = [s for s in sentences if labels[point] in s and "agent cost" in s
                and "unresolved needs" in s and "revenue at risk" in s]
        assert said, (labels[point], text)
        unresolved = f"{abs(row['unresolved_needs_diff']):,.0f}"
        revenue = f"{abs(row['revenue_at_risk_eur_diff']):,.0f}"
        cost = f"{abs(row['agent_cost_eur_diff']):,.0f}"
        assert any(unresolved in s and revenue in s and cost in s for s in said), \
            (labels[point], unresolved, revenue, cost, said)
        verb = "rise" if row["unresolved_needs_diff"] > 0 else "fall"
        assert any(f"unresolved needs {verb} by {unresolved}" in s for s in said)
    keys = {key for _, key, _, _ in page.cells}
    assert {"agent_cost_eur", "unresolved_needs", "revenue_at_risk_eur",
            "unresolved_needs_diff", "revenue_at_risk_eur_diff"} <= keys


def _label(row) -> str:
    from analysis.study_report import _label as label

    return label(row.rename(None))


def test_the_page_has_every_section_and_chart(study):
    page = _parse(study / "report.html")
    assert page.h2 == SECTIONS
    assert page.figures == CHARTS
    text = (study / "report.html").read_text()
    assert "<script" not in text and "http://" not in text.replace("http://www.w3.org", "")
    assert "https://" not in text


def test_the_pdf_has_the_same_sections(study):
    from pypdf import PdfReader

    reader = PdfReader(study / "report.pdf")
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    page = _parse(study / "report.html")
    assert len(reader.pages) >= 4
    for title in SECTIONS + ["Channel mix per scenario", "Which lever matters most",
                             "Headline metrics per scenario", "The calibration fit"]:
        assert title in text, title
    assert text.index("Executive summary") < text.index("Charts") < text.index("Tables") \
        < text.index("Assumptions")
    images = sum(len(p.images) for p in reader.pages)
    assert images == len(page.figures)


def test_the_same_study_gives_the_same_report(study, tmp_path):
    copy = tmp_path / study.name          # the folder name is the study name in the title
    shutil.copytree(study, copy)
    assert _report(copy).returncode == 0
    for name in ("report.html", "report.pdf"):
        assert (copy / name).read_bytes() == (study / name).read_bytes(), name


def test_a_study_with_missing_runs_names_the_incomplete_scenario(study, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(study, partial)
    # the first sweep's plan, with one of its runs gone (as if killed before it finished)
    run_sweep_plan = partial / "plan.json"
    import json

    plan = json.loads(run_sweep_plan.read_text())
    plan["jobs"].append(["scenario=restrict_agent_services", *SMALL_2023])
    run_sweep_plan.write_text(json.dumps(plan))
    roadmap = next((partial / "runs").glob("roadmap_2023-*"))
    roadmap.rename(partial / "runs" / f".tmp-{roadmap.name}-12345")
    (partial / "runs" / f".tmp-{roadmap.name}-12345" / "kpis.json").unlink()
    out = _report(partial)
    assert out.returncode == 0, out.stderr
    page = _parse(partial / "report.html")
    warning = [t for c, t in page.paragraphs if c == "warning"]
    assert len(warning) == 1
    assert "restrict_agent_services (0 of 1 runs finished" in warning[0]
    assert "roadmap_2023" in warning[0]
    summary = pd.read_parquet(partial / "summary.parquet")
    assert "roadmap_2023" not in set(summary["scenario"])      # rebuilt from finished runs
    html = (partial / "report.html").read_text()
    assert "restrict_agent_services (incomplete: no finished run)" in html
    assert "roadmap_2023 (incomplete: no finished run)" in html


def test_report_errors_name_the_folder(tmp_path):
    out = _report(tmp_path / "nowhere")
    assert out.returncode == 2 and "no such folder" in out.stderr
    out = _report(tmp_path)
    assert out.returncode == 2 and "not a study folder" in out.stderr
    assert not (tmp_path / "report.html").exists()


# ------------------------------------------------------------------ the real browser

def _chromium() -> str:
    """Debian's Chromium: found, or installed with apt (root only); else skip, saying why."""
    for p in (os.environ.get("CCSIM_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
              shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if p and Path(p).exists():
            return p
    why = "no Chromium on this machine (set CCSIM_CHROMIUM or apt-get install chromium)"
    if shutil.which("apt-get") and os.geteuid() == 0:
        with open("/tmp/ccsim-chromium-install.lock", "w") as lock:   # one install per machine
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not Path("/usr/bin/chromium").exists():
                env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
                cmd = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
                out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
                if out.returncode != 0:
                    subprocess.run(["apt-get", "update"], capture_output=True, env=env,
                                   timeout=600)
                    out = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                         timeout=1200)
                why += f"; apt-get install chromium failed: {out.stderr.strip()[-300:]}"
        if Path("/usr/bin/chromium").exists():
            return "/usr/bin/chromium"
    pytest.skip(why)


def test_the_page_renders_in_chromium_offline_with_every_chart(study, tmp_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    from PIL import Image, ImageStat

    browser_path = _chromium()
    url = (study / "report.html").as_uri()
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=browser_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url) if r.url != url else None)
        page.goto(url, wait_until="load")
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        boxes = {c: page.locator(f"#chart-{c} svg").bounding_box() for c in CHARTS}
        browser.close()
    assert errors == [] and requests == []
    image = Image.open(shot).convert("L")
    for chart, box in boxes.items():
        assert box and box["width"] > 600 and box["height"] > 200, (chart, box)
        assert box["y"] + box["height"] <= image.height, chart
        crop = image.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]),
                           int(box["y"] + box["height"])))
        stat = ImageStat.Stat(crop)
        dark = sum(crop.histogram()[:128]) / (crop.width * crop.height)
        assert stat.stddev[0] > 20 and dark > 0.01, (chart, stat.stddev, dark)


def test_a_study_without_its_base_still_reports(study, tmp_path):
    """No base run: no paired differences, said in the summary; the swept parameter's lever is
    measured from its lowest setting; every chart is still drawn."""
    nobase = tmp_path / "nobase"
    shutil.copytree(study, nobase)
    shutil.rmtree(next((nobase / "runs").glob("base_2023-*")))
    (nobase / "summary.parquet").unlink()
    out = _report(nobase)
    assert out.returncode == 0, out.stderr
    page = _parse(nobase / "report.html")
    assert page.figures == CHARTS
    answer = page.paragraphs[1][1]
    assert "The base scenario base_2023 has no finished run" in answer
    assert "bot.containment_gain 0.05 → 0.15" in (nobase / "report.html").read_text()


def test_the_calibration_section_says_what_the_fit_predicts_unfitted():
    """Leave-one-out and other seeds, in a manager's words (from the fit's checks file)."""
    from analysis.study_report import _trust_blocks

    checks = {"cross_validation": [
        {"figure": "volumes.bot", "published": 0.21, "predicted": 0.17, "error": -0.04,
         "same_sign": True},
        {"figure": "volumes.webshop", "published": 0.08, "predicted": -0.02, "error": -0.10,
         "same_sign": False}],
        "seeds": [{"seed": 20232, "simulated": -0.15, "target": -0.165},
                  {"seed": 20233, "simulated": -0.19, "target": -0.165}]}
    words, table, seeds = _trust_blocks(checks)
    assert "predicts the bot change (+21.0%) to within 4.0 points" in words
    assert "the webshop change with the wrong sign (-2.0% for +8.0%)" in words
    assert "right for 1 of 2 figures it was not fitted to" in words
    assert [c.text for c in table.rows[1]] == ["webshop", "+8.0%", "-2.0%", "-10.0", "no"]
    assert "On 2 other seeds" in seeds and "within 2.5 points" in seeds
    assert _trust_blocks({}) == []


def test_the_calibration_section_states_its_assumptions_and_what_they_imply():
    """The targets file's assumptions, and the answered/offered split they imply (from the
    fit's checks): the published fall in calls is read as fewer unanswered attempts."""
    from analysis.study_report import _assumption_blocks

    spec = {"assumptions": ["the 2020 staffing as set."]}
    service = [{"scenario": "y2020", "channel": "phone", "offered": 1000.0, "answered": 560.0,
                "answered_share": 0.56, "answered_share_ci95": 0.01, "tried_again_share": 0.7},
               {"scenario": "y2021", "channel": "phone", "offered": 840.0, "answered": 610.0,
                "answered_share": 0.726, "answered_share_ci95": 0.01,
                "tried_again_share": 0.75}]
    words, table = _assumption_blocks(spec, {"service": service})
    assert "Taken as given, not fitted or tested: the 2020 staffing as set." in words
    assert "in y2020 56% of 1,000 phone contacts offered to the agents are answered (560)" in words
    assert "phone contacts' -16.0% comes with answered contacts +8.9%" in words
    assert "mostly in unanswered attempts" in words
    assert [c.text for c in table.rows[1]] == ["y2021", "phone", "840", "610", "72.6% ± 1.0%",
                                               "75%"]
    service[1].update(answered=400.0)            # answered fall as much: no such reading
    assert "mostly in answered contacts" in _assumption_blocks(spec, {"service": service})[0]
    assert _assumption_blocks({}, {}) == []


def test_a_cell_too_long_for_a_page_is_cut_in_the_pdf_not_fatal():
    """A table row cannot break across PDF pages: a very long cell (a scenario with hundreds
    of changed values) once crashed the whole report; now it is cut, and says so."""
    from analysis.report_model import Cell, Report, Section, Table
    from analysis.report_pdf import render_pdf

    long = "; ".join(f"key.{i}: 1 → 2" for i in range(3000))
    table = Table("x", "a table", ["scenario", "in words", "values"],
                  [[Cell("a"), Cell("b"), Cell(long)]], [""])
    pdf = render_pdf(Report("title", "subtitle", [Section("s", "S", [table])]))
    from io import BytesIO

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages)
    assert "cut here: the whole text is in report.html" in text
