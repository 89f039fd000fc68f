"""Bad inputs and faults, each tried as a user would, with its outcome checked (``make faults``).

Every case runs one command in a subprocess (from a folder of its own) and is *clean* when:

* the exit code is one the case allows (2 bad input, 1 failure, 130/143 interrupted, 0 fine);
* nothing printed is a Python traceback, and a failure ends with one line ``<command>: …``;
* its own check holds (for instance: no ``kpis.json`` after bad input, every run of a study
  complete and its summary equal to an uninterrupted one).

``python tests/fault_catalogue.py`` runs them all on both cores and prints one line each and
the count handled cleanly (exit 1 when any is not); ``--only TEXT`` runs the cases whose label
contains TEXT; ``--list`` lists them. ``tests/test_faults.py`` runs a share of them in
``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SQ = ["scenario=single_queue", "run.hours=20", "run.replications=1"]
SC = ["scenario=small_centre", "run.hours=48", "run.replications=1"]
BL = ["run.hours=24", "run.replications=1", "scenario.customers.accounts=2000"]
TINY_SWEEP = ["scenario=single_queue", "run.hours=50", "run.replications=1",
              "run.write_contacts=false", "run.progress=false"]


@dataclass
class Case:
    """One bad input or fault. ``argv``: the command; ``{d}`` is the case's own folder."""

    label: str
    argv: list[str]
    expect: tuple[int, ...] = (2,)
    setup: Callable[[Path], None] | None = None
    check: Callable[[Path, subprocess.CompletedProcess], str | None] | None = None
    interrupt: tuple[float, int] | None = None     # (seconds, signal) to the process group
    needs_root: bool = False
    env: dict | None = None                        # more environment variables
    quick: bool = True                             # part of make test's sample
    timeout: float = 300.0
    kind: str = field(default="")


def cmd(name: str, *args: str) -> list[str]:
    return [str(BIN / name), *args]


def ccsim(*args: str) -> list[str]:
    return cmd("ccsim", *args, "hydra.run.dir={d}/run")


def sweep(*args: str) -> list[str]:
    return cmd("ccsim", "-m", "hydra.sweep.dir={d}/study", *args)


# ---------------------------------------------------------------- checks

def no_kpis(d: Path, out) -> str | None:
    found = list(d.rglob("kpis.json"))
    return f"kpis.json written after bad input: {found[0]}" if found else None


def nothing_written(d: Path, out) -> str | None:
    if (d / "study").exists():
        return f"the study folder was created: {sorted(p.name for p in (d / 'study').iterdir())}"
    return no_kpis(d, out)


def run_complete(d: Path, out) -> str | None:
    from analysis.runio import run_problems

    problems = run_problems(d / "run")
    return f"run not complete: {problems}" if problems else None


def only_error_txt(d: Path, out) -> str | None:
    run = d / "run"
    if not run.exists():
        return None
    left = sorted(p.name for p in run.iterdir() if p.name not in (".hydra", "cli.log"))
    return None if left in ([], ["error.txt"]) else f"left in the run folder: {left}"


def message_has(*needles: str):
    def check(d: Path, out) -> str | None:
        text = out.stderr + out.stdout
        missing = [n for n in needles if n not in text]
        return f"message lacks {missing}" if missing else None
    return check


def message_lacks(*needles: str):
    def check(d: Path, out) -> str | None:
        text = out.stderr + out.stdout
        found = [n for n in needles if n in text]
        return f"message has {found}" if found else None
    return check


def both(*checks):
    def check(d: Path, out) -> str | None:
        for c in checks:
            problem = c(d, out)
            if problem:
                return problem
        return None
    return check


def study_complete(n: int, reference: Path | None = None):
    """Every planned run complete, the summary present (and equal to ``reference``)."""
    def check(d: Path, out) -> str | None:
        import pandas as pd

        from analysis.runio import run_problems
        study = d / "study"
        plan = json.loads((study / "plan.json").read_text())
        bad = [r for r in set(plan["runs"]) if run_problems(study / "runs" / r)]
        if bad or len(set(plan["runs"])) != n:
            return f"runs not complete: {bad} of {len(set(plan['runs']))}"
        if reference is not None:
            got = pd.read_parquet(study / "summary.parquet")
            want = pd.read_parquet(reference)
            try:
                pd.testing.assert_frame_equal(got, want)
            except AssertionError as exc:
                return f"summary differs from an uninterrupted sweep: {str(exc)[:200]}"
        elif not (study / "summary.parquet").exists():
            return "no summary.parquet"
        leftovers = list((study / "runs").glob(".tmp-*"))
        return f"temporary folders left: {leftovers}" if leftovers else None
    return check


# ---------------------------------------------------------------- set-ups

def write(name: str, text: str | bytes):
    def setup(d: Path) -> None:
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
    return setup


LOG_HEAD = "contact_id,need_id,customer_id,channel,start,outcome,escalated_from,target_product\n"
LOG_ROWS = ["1,1,10,bot,2023-01-02T09:00:00,escalated,,",
            "2,1,10,chat,2023-01-02T09:05:00,resolved,1,",
            "3,2,11,phone,2023-01-02T10:00:00,abandoned,,",
            "4,2,11,phone,2023-01-02T10:20:00,resolved,,",
            "5,3,12,webshop,2023-01-02T11:00:00,resolved,,true"]


def log(rows=None, head: str = LOG_HEAD, name: str = "log.csv"):
    return write(name, head + "\n".join(LOG_ROWS if rows is None else rows) + "\n")


def log_with(row: int, new: str, name: str = "log.csv"):
    rows = list(LOG_ROWS)
    rows[row] = new
    return log(rows, name=name)


def parquet_log(change: Callable, name: str = "log.parquet"):
    def setup(d: Path) -> None:
        import io

        import pandas as pd
        frame = pd.read_csv(io.StringIO(LOG_HEAD + "\n".join(LOG_ROWS)))
        change(frame).to_parquet(d / name)
    return setup


def targets(change: Callable[[dict], None] | None = None, name: str = "t.yaml"):
    good = {"name": "x", "scenario": "baseline", "seed": 1, "replications": 1,
            "check_replications": 1, "max_evaluations": 2,
            "overrides": ["scenario.customers.accounts=2000", "run.hours=200"],
            "parameters": {"choice.channel_constant.bot": {"start": 0.0, "lower": -1.0,
                                                           "upper": 1.0, "tolerance": 0.1}},
            "targets": {"volumes.bot": {"value": 1000}}}

    def setup(d: Path) -> None:
        import yaml
        data = json.loads(json.dumps(good))
        if change:
            change(data)
        (d / name).write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return setup


def scenario_file(text: str, name: str = "mine"):
    return write(f"conf/scenario/{name}.yaml", text)


STUDY: Path | None = None        # a finished tiny study, made once (make_study)


def make_study(base: Path) -> Path:
    study = base / "study-template"
    out = subprocess.run(cmd("ccsim", "-m", f"hydra.sweep.dir={study}", *TINY_SWEEP,
                             "scenario.queue.agents=13,14", "base_scenario=single_queue"),
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"could not make the template study: {out.stderr[-2000:]}")
    return study


def copy_study(change: Callable[[Path], None] | None = None):
    def setup(d: Path) -> None:
        shutil.copytree(STUDY, d / "study")
        if change:
            change(d / "study")
    return setup


def first_run(study: Path) -> Path:
    return sorted(p for p in (study / "runs").iterdir() if not p.name.startswith("."))[0]


def in_first_run(name: str, data: str | bytes | None):
    def change(study: Path) -> None:
        path = first_run(study) / name
        if data is None:
            path.unlink()
        elif isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
    return change


def truncate_in_first_run(name: str, keep: int = 100):
    def change(study: Path) -> None:
        path = first_run(study) / name
        path.write_bytes(path.read_bytes()[:keep])
    return change


def mount_tmpfs(size: str, read_only: bool = False):
    """A small (or read-only) file system at {d}/mnt; needs root (tmpfs)."""
    def setup(d: Path) -> None:
        mnt = d / "mnt"
        mnt.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       check=True)
        (mnt / "study" / "runs").mkdir(parents=True)
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
    return setup


# ---------------------------------------------------------------- the cases

def cases() -> list[Case]:
    out: list[Case] = []
    add = out.append

    # ---- ccsim: bad values, each must name its key (exit 2, no kpis.json)
    bad_values = [
        ("queue.agents=-1", [*SQ, "scenario.queue.agents=-1"], "scenario.queue.agents"),
        ("queue.agents=abc", [*SQ, "scenario.queue.agents=abc"], "scenario.queue.agents"),
        ("queue.agents=1.5", [*SQ, "scenario.queue.agents=1.5"], "scenario.queue.agents"),
        ("queue.agents=[]", [*SQ, "scenario.queue.agents=[]"], "scenario.queue.agents"),
        ("queue.agents={}", [*SQ, "scenario.queue.agents={}"], "scenario.queue.agents"),
        ("queue.agents=null", [*SQ, "scenario.queue.agents=null"], "scenario.queue.agents"),
        ("queue.agents=true", [*SQ, "scenario.queue.agents=true"], "scenario.queue.agents"),
        ("queue.arrivals=-5", [*SQ, "scenario.queue.arrivals_per_hour=-5"], "arrivals_per_hour"),
        ("queue.arrivals=inf", [*SQ, "scenario.queue.arrivals_per_hour=inf"], "arrivals_per_hour"),
        ("queue.arrivals=nan", [*SQ, "scenario.queue.arrivals_per_hour=nan"], "arrivals_per_hour"),
        ("queue.aht=0", [*SQ, "scenario.queue.aht_seconds=0"], "aht_seconds"),
        ("queue.aht=-1", [*SQ, "scenario.queue.aht_seconds=-1"], "aht_seconds"),
        ("queue.patience=0", [*SQ, "scenario.queue.patience_seconds=0"], "patience_seconds"),
        ("queue.patience=-3", [*SQ, "scenario.queue.patience_seconds=-3"], "patience_seconds"),
        ("queue.target=-1", [*SQ, "scenario.queue.answer_target_seconds=-1"], "answer_target"),
        ("queue.cost=-1", [*SQ, "scenario.queue.hourly_cost_eur=-1"], "hourly_cost_eur"),
        ("queue.agnts typo", [*SQ, "scenario.queue.agnts=3"], "agnts"),
        ("+queue.agnts typo", [*SQ, "+scenario.queue.agnts=3"], "agnts"),
        ("~queue.agents (required)", [*SQ, "~scenario.queue.agents"], "scenario.queue.agents"),
        ("run.hours=0", [*SQ, "run.hours=0"], "run.hours"),
        ("run.hours=-1", [*SQ, "run.hours=-1"], "run.hours"),
        ("run.hours=abc", [*SQ, "run.hours=abc"], "run.hours"),
        ("run.hours=inf", [*SQ, "run.hours=inf"], "run.hours"),
        ("run.warmup>=hours", [*SQ, "run.warmup_hours=20"], "run.warmup_hours"),
        ("run.warmup=-1", [*SQ, "run.warmup_hours=-1"], "run.warmup_hours"),
        ("run.replications=0", [*SQ, "run.replications=0"], "run.replications"),
        ("run.replications=1.5", [*SQ, "run.replications=1.5"], "run.replications"),
        ("run.interval=0", [*SQ, "run.interval_minutes=0"], "run.interval_minutes"),
        ("run.write_contacts=maybe", [*SQ, "run.write_contacts=maybe"], "run.write_contacts"),
        ("run.progress=2", [*SQ, "run.progress=2"], "run.progress"),
        ("run.max_contacts=0", [*SQ, "run.max_contacts=0"], "run.max_contacts"),
        ("run.max_memory_gb=0", [*SQ, "run.max_memory_gb=0"], "run.max_memory_gb"),
        ("run.engine=turbo", [*SQ, "run.engine=turbo"], "run.engine"),
        ("run.speed unknown", [*SQ, "+run.speed=2"], "run.speed"),
        ("seed=-1", [*SQ, "seed=-1"], "seed"),
        ("seed=x", [*SQ, "seed=x"], "seed"),
        ("seed=1.5", [*SQ, "seed=1.5"], "seed"),
        ("seed=null", [*SQ, "seed=null"], "seed"),
        ("unknown top-level key", [*SQ, "+colour=blue"], "colour"),
        ("study=''", [*SQ, "study="], "study"),
        ("study=../x", [*SQ, "study=../x"], "study"),
        ("study=/abs", [*SQ, "study=/tmp/x"], "study"),
        ("base_scenario=5", [*SQ, "base_scenario=5"], "base_scenario"),
        ("start_date bad", [*SQ, "scenario.start_date=2023-02-30"], "start_date"),
        ("start_date text", [*SQ, "scenario.start_date=soon"], "start_date"),
        ("start_date 1500", [*SQ, "scenario.start_date=1500-01-01"], "start_date"),
        ("run past 2262", [*SQ, "scenario.start_date=2261-12-01", "run.hours=8760"], "run.hours"),
        ("redial=1.5", [*SC, "scenario.channels.phone.redial_probability=1.5"], "redial_prob"),
        ("redial=-0.1", [*SC, "scenario.channels.phone.redial_probability=-0.1"], "redial_prob"),
        ("priority shares", [*SC, "scenario.channels.phone.priority_shares=[0.5,0.6]"],
         "priority_shares"),
        ("handle distribution", [*SC, "scenario.channels.phone.handle.distribution=gamma"],
         "lognormal"),
        ("handle cv=-1", [*SC, "scenario.channels.phone.handle.cv=-1"], "handle.cv"),
        ("profile.hour 23 values", [*SC, "scenario.channels.chat.profile.hour=[1,1,1]"],
         "profile.hour"),
        ("profile.month negative",
         [*SC, "scenario.channels.chat.profile.month=[1,1,1,1,1,1,1,1,1,1,1,-1]"],
         "profile.month"),
        ("open_hours end<start", [*SC, "scenario.channels.chat.open_hours.end_hour=4"],
         "end_hour"),
        ("open_hours weekday 7", [*SC, "scenario.channels.chat.open_hours.weekdays=[7]"],
         "weekdays"),
        ("open_hours hour 50", [*SC, "scenario.channels.chat.open_hours.end_hour=50"],
         "end_hour"),
        ("skills email", [*SC, "scenario.pools.chat_agents.skills=[email]"], "email"),
        ("concurrency on phone", [*SC, "scenario.pools.phone_agents.concurrency=2"],
         "concurrency"),
        ("shift agents -1", [*SC, "scenario.pools.chat_agents.shifts=[{agents: -1}]"],
         "agents"),
        ("channel without pool", [*SC, "scenario.pools.chat_agents.skills=[phone]",
                                  "scenario.pools.chat_agents.concurrency=1"],
         "scenario.channels.chat"),
        ("unknown channel", [*SC, "+scenario.channels.email={arrivals_per_hour: 1}"], "email"),
        ("guidance_from date", [*SC, "+scenario.channels.phone.guidance_from=someday"],
         "guidance_from"),
        ("staffing.mode", [*SQ, "scenario.staffing.mode=magic"], "fixed, required"),
        ("staffing.service_level 2", [*SQ, "scenario.staffing.service_level.phone=2"],
         "service_level"),
        ("staffing.shrinkage 1", [*SQ, "scenario.staffing.shrinkage=1"], "shrinkage"),
        ("staffing.service_level email", [*SQ, "+scenario.staffing.service_level.email=0.8"],
         "email"),
        ("segments share sum", [*BL, "scenario.customers.segments.mixed.share=0.9"],
         "scenario.customers.segments"),
        ("accounts -5", [*BL, "scenario.customers.accounts=-5"], "accounts"),
        ("needs_per_year -1", [*BL, "scenario.customers.segments.mixed.needs_per_year=-1"],
         "needs_per_year"),
        ("registered_share 2", [*BL, "scenario.customers.segments.mixed.registered_share=2"],
         "registered_share"),
        ("intent share sum", [*BL, "scenario.needs.intents.billing.share=0.9"], "intent"),
        ("needs.hour 3 values", [*BL, "scenario.needs.hour=[1,1,1]"], "needs.hour"),
        ("needs.month all zero ok-shape", [*BL, "scenario.needs.month=[0,0]"], "needs.month"),
        ("day_factor_cv -0.1", [*BL, "scenario.needs.day_factor_cv=-0.1"], "day_factor_cv"),
        ("event end before start",
         [*BL, "+scenario.needs.events=[{start_date: '2023-03-01', end_date: '2023-02-01'}]"],
         "end_date"),
        ("event unknown intent",
         [*BL, "+scenario.needs.events=[{start_date: '2023-03-01', end_date: '2023-03-09', "
               "intents: [weather]}]"], "weather"),
        ("max_attempts 0", [*BL, "scenario.choice.max_attempts=0"], "max_attempts"),
        ("utility unknown channel", [*BL, "+scenario.choice.channel_constant.fax=1"], "fax"),
        ("bot success 1.3", [*BL, "scenario.digital.bot.success.info=1.3"], "success.info"),
        ("bot success unknown intent", [*BL, "+scenario.digital.bot.success.weather=0.5"],
         "weather"),
        ("bot handover", [*BL, "scenario.digital.bot.handover=warm"], "handover"),
        ("restrict intents unknown", [*BL, "+scenario.restrict_agent_services.intents=[weather]"],
         "weather"),
        ("guidance campaign gain 2",
         [*BL, "scenario.guidance_campaign.invitation_registration_gain=2"],
         "invitation_registration_gain"),
        ("choice missing", [*BL, "~scenario.choice"], "choice"),
        ("both queue and channels", [*SC, "+scenario.queue={arrivals_per_hour: 1, "
                                           "aht_seconds: 1, agents: 1}"], "not both"),
    ]
    for label, args, needle in bad_values:
        add(Case(f"ccsim bad value: {label}", ccsim(*args), (2,),
                 check=both(no_kpis, message_has(needle)), kind="bad value"))

    # ---- ccsim: Hydra-level and file-level errors
    add(Case("ccsim unknown scenario", ccsim("scenario=no_such", "run.hours=1"), (2,),
             check=both(no_kpis, message_has("single_queue")), kind="config"))
    add(Case("ccsim unknown metrics", ccsim("metrics=no_such", *SQ), (2,),
             check=message_has("default"), kind="config"))
    add(Case("ccsim unknown key without +", ccsim(*SQ, "colour=blue"), (2,),
             check=message_has("colour"), kind="config"))
    add(Case("ccsim override syntax", ccsim(*SQ, "scenario.queue.agents=[1,"), (2,),
             check=message_has("scenario.queue.agents"), kind="config"))
    add(Case("ccsim override no value", ccsim(*SQ, "scenario.queue.agents"), (2,), kind="config"))
    add(Case("ccsim unset env", ccsim(*SQ, "run.hours=${oc.env:CCSIM_UNSET_VAR}"), (2,),
             check=message_has("CCSIM_UNSET_VAR"), kind="config"))
    add(Case("ccsim bad interpolation", ccsim(*SQ, "run.hours=${no.such.key}"), (2,),
             kind="config"))
    add(Case("ccsim unknown resolver", ccsim(*SQ, "run.hours=${nope:1}"), (2,), kind="config"))
    add(Case("ccsim unknown launcher", cmd("ccsim", "-m", "hydra.sweep.dir={d}/study", *SQ,
                                           "hydra/launcher=nope"), (2,), kind="config"))
    for label, text, needle in [
        ("YAML syntax error", "name: mine\nqueue:\n  agents: [1,\n", "mine.yaml"),
        ("YAML duplicate key", "name: mine\nqueue:\n  agents: 3\n  agents: 4\n", "duplicate"),
        ("YAML tab", "name: mine\n\tqueue: 3\n", "mine.yaml"),
        ("YAML a list", "- 1\n- 2\n", "scenario"),
        ("YAML empty", "", "scenario"),
        ("YAML binary", "\x00\x01\x02", "mine"),
        ("YAML wrong types", "name: mine\nqueue: {arrivals_per_hour: x, aht_seconds: 1, "
                             "agents: 1}\n", "arrivals_per_hour"),
        ("YAML unknown key", "name: mine\nqueue: {arrivals_per_hour: 1, aht_seconds: 1, "
                             "agents: 1}\nweather: sunny\n", "weather"),
    ]:
        add(Case(f"ccsim scenario file: {label}",
                 cmd("ccsim", "--config-dir", "{d}/conf", "scenario=mine", "run.hours=10",
                     "run.replications=1", "hydra.run.dir={d}/run"), (2,),
                 setup=scenario_file(text), check=both(no_kpis, message_has(needle)),
                 kind="config file"))
    add(Case("ccsim --config-dir missing", cmd("ccsim", "--config-dir", "{d}/nothing", *SQ,
                                               "hydra.run.dir={d}/run"), (0, 2), kind="config"))
    add(Case("ccsim --config-name missing", cmd("ccsim", "--config-name", "nope", *SQ), (2,),
             kind="config"))

    # ---- ccsim: too large (refused before simulating, exit 2, in seconds)
    for label, args in [("run.hours=1e7", ["scenario=single_queue", "run.hours=10000000"]),
                        ("arrivals 1e9", ["scenario=single_queue",
                                          "scenario.queue.arrivals_per_hour=1e9"]),
                        ("interval 0.0001 min", ["scenario=single_queue",
                                                 "run.interval_minutes=0.0001"]),
                        ("accounts 1e9", ["scenario.customers.accounts=1000000000"]),
                        ("needs_per_year 1e9",
                         ["scenario.customers.segments.mixed.needs_per_year=1e9"]),
                        ("replications 1e7 with intervals",
                         ["scenario=single_queue", "run.replications=10000000"]),
                        ("small_centre arrivals 1e8",
                         ["scenario=small_centre", "scenario.channels.phone.arrivals_per_hour=1e8"]),
                        ("max_contacts lowered", ["scenario=single_queue", "run.max_contacts=100"]),
                        ("max_memory lowered", ["scenario=single_queue", "run.max_memory_gb=0.01"])]:
        add(Case(f"ccsim too large: {label}", ccsim(*args), (2,),
                 check=both(no_kpis, message_has("run.max_")), kind="size"))
    for label, args in [("run.hours=1e308", ["scenario=single_queue", "run.hours=1e308"]),
                        ("arrivals 1e308", ["scenario=single_queue",
                                            "scenario.queue.arrivals_per_hour=1e308"]),
                        ("accounts 2^63-1", ["scenario.customers.accounts=9223372036854775807"]),
                        ("replications 2^63-1", ["scenario=single_queue",
                                                 "run.replications=9223372036854775807"]),
                        ("new accounts 1e12 a year",
                         ["scenario.customers.new_accounts_per_year=1e12", "run.hours=10"])]:
        add(Case(f"ccsim too large: {label}", ccsim(*args), (2,),
                 check=both(no_kpis, message_has("run.max_")), kind="size"))
    for label, args in [("seed 10^23", ["seed=99999999999999999999999"]),
                        ("agents 2^63-1", ["scenario.queue.agents=9223372036854775807"]),
                        ("handle time 1e300 s", ["scenario.queue.aht_seconds=1e300"]),
                        ("patience 1e-300 s", ["scenario.queue.patience_seconds=1e-300"]),
                        ("run.hours 1e-300", ["run.hours=1e-300"]),
                        ("interval 1e308 min", ["run.interval_minutes=1e308"]),
                        ("max_contacts 2^63-1", ["run.max_contacts=9223372036854775807"])]:
        add(Case(f"ccsim extreme but valid: {label}",
                 ccsim("scenario=single_queue", "run.hours=10", "run.replications=1", *args),
                 (0,), check=run_complete, kind="extreme"))
    add(Case("ccsim extreme but valid: baseline, giving up never pays",
             ccsim(*BL, "run.hours=48", "scenario.choice.max_attempts=100000",
                   "scenario.choice.give_up_utility=-1000"), (0,), check=run_complete,
             kind="extreme"))
    add(Case("ccsim extreme but valid: baseline, no delays between attempts",
             ccsim(*BL, "run.hours=48", "scenario.needs.switch_delay_seconds=0",
                   "scenario.needs.return_delay_hours=0"), (0,), check=run_complete,
             kind="extreme"))
    add(Case("ccsim extreme but valid: a million chats per agent",
             ccsim(*SC, "scenario.pools.chat_agents.concurrency=1000000"), (0,),
             check=run_complete, kind="extreme"))
    add(Case("ccsim runaway redials (every abandoner redials, no agents)",
             ccsim("scenario=small_centre", "scenario.channels.phone.redial_probability=1",
                   "scenario.channels.phone.redial_delay_seconds=0",
                   "scenario.channels.phone.patience_seconds=0.001",
                   "scenario.pools.phone_agents.shifts=[]", "run.hours=100",
                   "run.replications=1", "run.max_contacts=300000"), (2,),
             check=both(only_error_txt, message_has("runs away")), kind="size", quick=False))
    add(Case("ccsim sweep too large point", sweep(*TINY_SWEEP, "run.hours=50,100000000"), (2,),
             check=both(nothing_written, message_has("point 2 of 2")), kind="size"))

    # ---- ccsim: empty runs are valid runs (exit 0, zero counts)
    for label, args in [("arrivals 0", ["scenario=single_queue",
                                        "scenario.queue.arrivals_per_hour=0"]),
                        ("accounts 0", ["scenario.customers.accounts=0",
                                        "scenario.customers.new_accounts_per_year=0"]),
                        ("needs.month all zero",
                         ["scenario.needs.month=[0,0,0,0,0,0,0,0,0,0,0,0]"]),
                        ("hours 0.0001", ["scenario=single_queue", "run.hours=0.0001"]),
                        ("warm-up just below hours", ["scenario=single_queue", "run.hours=10",
                                                      "run.warmup_hours=9.99999"]),
                        ("small_centre closed all week",
                         ["scenario=small_centre",
                          "scenario.channels.phone.open_hours.weekdays=[]",
                          "scenario.channels.chat.open_hours.weekdays=[]",
                          "scenario.channels.service_request.arrivals_per_hour=0"]),
                        ("no agents on duty", ["scenario=single_queue", "scenario.queue.agents=0"]),
                        ("baseline one hour at night", ["run.hours=1"]),
                        ("staffing required, no contacts",
                         ["scenario=single_queue", "scenario.queue.arrivals_per_hour=0",
                          "scenario.staffing.mode=required"])]:
        add(Case(f"ccsim empty run: {label}", ccsim(*args, "run.replications=2",
                                                  *([] if "run.hours" in " ".join(args)
                                                    else ["run.hours=48"])), (0,),
                 check=both(run_complete, message_lacks("nan"),
                            message_has("no contacts") if "agents" not in label
                            and "night" not in label else message_lacks("nan")),
                 kind="empty run"))

    # ---- sweeps: every point validated before the first simulation
    add(Case("sweep bad last point", sweep(*TINY_SWEEP, "scenario.queue.agents=13,14,-1"), (2,),
             check=both(nothing_written, message_has("point 3 of 3", "scenario.queue.agents")),
             kind="sweep"))
    add(Case("sweep every point bad", sweep(*TINY_SWEEP, "scenario.queue.agents=-1,-2"), (2,),
             check=nothing_written, kind="sweep"))
    add(Case("sweep bad scenario among points", sweep(*TINY_SWEEP, "scenario=single_queue,nope"),
             (2,), check=both(nothing_written, message_has("nope")), kind="sweep"))
    add(Case("sweep unknown key in a point", sweep(*TINY_SWEEP, "scenario.queue.agnts=1,2"),
             (2,), check=both(nothing_written, message_has("agnts")), kind="sweep"))
    add(Case("sweep syntax", sweep(*TINY_SWEEP, "scenario.queue.agents=1,,2"), (2,),
             check=nothing_written, kind="sweep"))
    add(Case("sweep bad range", sweep(*TINY_SWEEP, "scenario.queue.agents=range(a)"), (2,),
             check=nothing_written, kind="sweep"))
    add(Case("sweep 400 points, 200 bad", sweep(*TINY_SWEEP, "scenario.queue.agents=range(1,201)",
                                                "run.hours=50,-1"), (2,),
             check=both(nothing_written, message_has("more of the 400 points")), kind="sweep"))
    add(Case("sweep study=''", cmd("ccsim", "-m", *TINY_SWEEP, "study="), (2,), kind="sweep"))
    add(Case("sweep fine", sweep(*TINY_SWEEP, "scenario.queue.agents=13,14"), (0,),
             check=study_complete(2), kind="sweep"))
    add(Case("sweep of empty runs, then its report",
             ["sh", "-c", f"{BIN / 'ccsim'} -m hydra.sweep.dir={{d}}/study "
                          + " ".join(TINY_SWEEP) + " scenario.queue.arrivals_per_hour=0,1 "
                          f"base_scenario=single_queue && {BIN / 'ccsim-report'} {{d}}/study"],
             (0,), check=study_complete(2), kind="empty run"))
    add(Case("two different sweeps into one study, a report and a summary meanwhile",
             ["sh", "-c", "{ccsim} -m hydra.sweep.dir={d}/study {args} scenario.queue.agents=13,14 "
                          "& sleep 0.4; {ccsim} -m hydra.sweep.dir={d}/study {args} "
                          "scenario.queue.agents=14,15 & sleep 1; {report} {d}/study; "
                          "{py} -m analysis.study {d}/study; wait %1 && wait %2 && "
                          "{report} {d}/study"
              .format(ccsim=BIN / "ccsim", report=BIN / "ccsim-report", py=sys.executable,
                      args=" ".join([*TINY_SWEEP, "run.hours=1500"]), d="{d}")],
             (0,), check=lambda d, o: None if len([p for p in (d / "study" / "runs").iterdir()
                                                   if not p.name.startswith(".")]) == 3
             else "not three runs", kind="concurrent"))
    add(Case("sweep a failing run is named, the rest finish",
             sweep("scenario=small_centre", "run.hours=100", "run.replications=1",
                   "run.write_contacts=false", "scenario.pools.phone_agents.shifts=[]",
                   "scenario.channels.phone.redial_delay_seconds=0",
                   "scenario.channels.phone.patience_seconds=0.001", "run.max_contacts=300000",
                   "scenario.channels.phone.redial_probability=0.3,1"), (1,),
             check=both(message_has("did not finish", "error.txt"),
                        lambda d, o: None if len([p for p in (d / "study" / "runs").iterdir()
                                                  if not p.name.startswith(".")]) == 1
                        and (d / "study" / "summary.parquet").exists()
                        else "the finished run or the summary was not kept"), kind="sweep"))

    # ---- a study folder broken on disk: resume repairs, report and summary name it
    add(Case("resume over truncated kpis.json",
             sweep(*TINY_SWEEP, "scenario.queue.agents=13,14", "base_scenario=single_queue"),
             (0,), setup=copy_study(truncate_in_first_run("kpis.json")),
             check=study_complete(2, reference=None), kind="study"))
    add(Case("resume over kpis.json = []",
             sweep(*TINY_SWEEP, "scenario.queue.agents=13,14", "base_scenario=single_queue"),
             (0,), setup=copy_study(in_first_run("kpis.json", "[]")),
             check=study_complete(2), kind="study"))
    add(Case("resume over a missing replications.parquet",
             sweep(*TINY_SWEEP, "scenario.queue.agents=13,14", "base_scenario=single_queue"),
             (0,), setup=copy_study(in_first_run("replications.parquet", None)),
             check=study_complete(2), kind="study"))
    add(Case("resume over a truncated intervals.parquet",
             sweep(*TINY_SWEEP, "scenario.queue.agents=13,14", "base_scenario=single_queue"),
             (0,), setup=copy_study(truncate_in_first_run("intervals.parquet")),
             check=study_complete(2), kind="study"))
    for label, change in [("truncated kpis.json", truncate_in_first_run("kpis.json")),
                          ("kpis.json = []", in_first_run("kpis.json", "[]")),
                          ("kpis.json binary", in_first_run("kpis.json", b"\xff\xfe\x00")),
                          ("kpis.json missing", in_first_run("kpis.json", None)),
                          ("run.yaml missing", in_first_run("run.yaml", None)),
                          ("run.yaml garbage", in_first_run("run.yaml", ": : :\n- [")),
                          ("replications.parquet truncated",
                           truncate_in_first_run("replications.parquet")),
                          ("summary.parquet truncated",
                           lambda s: (s / "summary.parquet").write_bytes(b"PAR1")),
                          ("runs.csv garbage", lambda s: (s / "runs.csv").write_text("x\n\x00")),
                          ("plan.json garbage", lambda s: (s / "plan.json").write_text("{")),
                          ("plan.json a list", lambda s: (s / "plan.json").write_text("[1]")),
                          ("a stray file in runs/", lambda s: (s / "runs" / "notes.txt")
                           .write_text("hi")),
                          ("an empty run folder", lambda s: (s / "runs" / "single_queue-0")
                           .mkdir())]:
        add(Case(f"ccsim-report over {label}", cmd("ccsim-report", "{d}/study"), (0,),
                 setup=copy_study(change), kind="study"))
        add(Case(f"analysis.study over {label}",
                 [sys.executable, "-m", "analysis.study", "{d}/study"], (0,),
                 setup=copy_study(change), kind="study"))
    add(Case("ccsim-report no such folder", cmd("ccsim-report", "{d}/nope"), (2,),
             check=message_has("no such folder"), kind="study"))
    add(Case("ccsim-report a file", cmd("ccsim-report", "{d}/f.txt"), (2,),
             setup=write("f.txt", "x"), kind="study"))
    add(Case("ccsim-report empty folder", cmd("ccsim-report", "{d}"), (2,),
             check=message_has("not a study folder"), kind="study"))
    add(Case("ccsim-report study without runs", cmd("ccsim-report", "{d}/s"), (0, 2),
             setup=lambda d: (d / "s" / "runs").mkdir(parents=True), kind="study"))
    add(Case("ccsim-report no argument", cmd("ccsim-report"), (2,), kind="study"))
    add(Case("analysis.study no such folder",
             [sys.executable, "-m", "analysis.study", "{d}/nope"], (2,), kind="study"))
    add(Case("analysis.study not a study", [sys.executable, "-m", "analysis.study", "{d}"], (2,),
             kind="study"))
    add(Case("analysis.study no finished run",
             [sys.executable, "-m", "analysis.study", "{d}/s"], (1,),
             setup=lambda d: (d / "s" / "runs").mkdir(parents=True), kind="study"))
    add(Case("analysis.report no such folder",
             [sys.executable, "-m", "analysis.report", "{d}/nope"], (2,), kind="study"))
    add(Case("analysis.report over a truncated run",
             [sys.executable, "-m", "analysis.report", "{d}/study"], (0,),
             setup=copy_study(truncate_in_first_run("kpis.json")), kind="study"))

    # ---- ccsim-metrics: malformed logs (exit 2, the row or column named)
    metrics = lambda *a: cmd("ccsim-metrics", *a)          # noqa: E731
    add(Case("metrics good log", metrics("{d}/log.csv"), (0,), setup=log(), kind="log"))
    for label, setup, needle in [
        ("missing file", None, "no such file"),
        ("a folder", lambda d: (d / "log.csv").mkdir(), "folder"),
        ("empty file", write("log.csv", ""), "empty"),
        ("header only", log([]), "no contacts"),
        ("missing column", log(head="contact_id,need_id\n", rows=["1,1"]), "missing column"),
        ("duplicate column", log(head=LOG_HEAD.strip() + ",channel\n",
                                 rows=[r + ",bot" for r in LOG_ROWS]), "more than once"),
        ("semicolons", write("log.csv", (LOG_HEAD + "\n".join(LOG_ROWS)).replace(",", ";")),
         "--sep"),
        ("tabs", write("log.csv", (LOG_HEAD + "\n".join(LOG_ROWS)).replace(",", "\t")), "--sep"),
        ("bad channel", log_with(3, "4,2,11,fax,2023-01-02T10:20:00,resolved,,"), "fax"),
        ("bad outcome", log_with(3, "4,2,11,phone,2023-01-02T10:20:00,lost,,"), "lost"),
        ("empty channel", log_with(3, "4,2,11,,2023-01-02T10:20:00,resolved,,"), "channel"),
        ("bad start", log_with(0, "1,1,10,bot,yesterday,escalated,,"), "yesterday"),
        ("empty start", log_with(0, "1,1,10,bot,,escalated,,"), "start"),
        ("start 2023-13-01", log_with(0, "1,1,10,bot,2023-13-01,escalated,,"), "start"),
        ("start year 99999", log_with(0, "1,1,10,bot,99999-01-01T00:00:00,escalated,,"),
         "start"),
        ("mixed time zones", log_with(2, "3,2,11,phone,2023-01-02T10:00:00+02:00,abandoned,,"),
         "time-zone"),
        ("empty contact_id", log_with(2, ",2,11,phone,2023-01-02T10:00:00,abandoned,,"),
         "contact_id"),
        ("duplicate contact_id", log_with(2, "2,2,11,phone,2023-01-02T10:00:00,abandoned,,"),
         "unique"),
        ("empty need_id", log_with(2, "3,,11,phone,2023-01-02T10:00:00,abandoned,,"), "need_id"),
        ("empty customer_id", log_with(2, "3,2,,phone,2023-01-02T10:00:00,abandoned,,"),
         "customer_id"),
        ("escalated_from unknown", log_with(1, "2,1,10,chat,2023-01-02T09:05:00,resolved,99,"),
         "99"),
        ("escalated_from itself", log_with(1, "2,1,10,chat,2023-01-02T09:05:00,resolved,2,"),
         "itself"),
        ("escalation loop", log(["1,1,10,bot,2023-01-02T09:00:00,escalated,2,",
                                 "2,1,10,chat,2023-01-02T09:00:00,resolved,1,"]), "loop"),
        ("escalation loop of three", log(["1,1,10,bot,2023-01-02T09:00:00,escalated,3,",
                                          "2,1,10,chat,2023-01-02T09:00:00,escalated,1,",
                                          "3,1,10,phone,2023-01-02T09:00:00,resolved,2,"]),
         "loop"),
        ("escalated from another need",
         log_with(3, "4,2,11,phone,2023-01-02T10:20:00,resolved,1,"), "need"),
        ("escalated from a later contact",
         log_with(0, "1,1,10,bot,2023-01-02T09:00:00,escalated,2,"), "after"),
        ("escalated_from text among integer ids",
         log_with(1, "2,1,10,chat,2023-01-02T09:05:00,resolved,abc,"), "escalated_from"),
        ("text need_id on the escalated row",
         log_with(1, "2,abc,10,chat,2023-01-02T09:05:00,resolved,1,"), "need_id"),
        ("target_product maybe", log_with(4, "5,3,12,webshop,2023-01-02T11:00:00,resolved,,maybe"),
         "target_product"),
        ("binary garbage", write("log.csv", bytes(range(256)) * 10), "log.csv"),
        ("parquet that is text", write("log.parquet", LOG_HEAD), "parquet"),
        ("CSV that is parquet", None, "log.csv"),
        ("non-UTF-8 text", write("log.csv", (LOG_HEAD + "\n".join(LOG_ROWS)).encode("latin-1")
                                 + "\n6,4,13,bot,2023-01-02T12:00:00,resolved,,ä\n"
                                 .encode("latin-1")), "UTF-8"),
        ("parquet: start as numbers", parquet_log(lambda f: f.assign(start=range(len(f)))),
         "start"),
        ("parquet: ids as booleans", parquet_log(lambda f: f.assign(contact_id=[True] * len(f))),
         "contact_id"),
        ("parquet: contact_id NaN", parquet_log(lambda f: f.assign(
            contact_id=[1.0, float("nan"), 3.0, 4.0, 5.0])), "contact_id"),
        ("parquet: channel numbers", parquet_log(lambda f: f.assign(channel=range(len(f)))),
         "channel"),
        ("parquet: missing column", parquet_log(lambda f: f.drop(columns=["outcome"])),
         "outcome"),
        ("parquet: mixed time zones as datetimes", parquet_log(lambda f: f.assign(
            start=__import__("pandas").to_datetime(f["start"]).dt.tz_localize("UTC"))), None),
        ("too large for --max-file-gb", log(), "--max-file-gb"),
    ]:
        path = "{d}/log.parquet" if label.startswith("parquet") else "{d}/log.csv"
        argv = metrics(path)
        expect = (2,)
        if label == "CSV that is parquet":
            setup = parquet_log(lambda f: f, name="log.csv")
        if label == "too large for --max-file-gb":
            argv = metrics(path, "--max-file-gb", "0.0000001")
        if label == "parquet: mixed time zones as datetimes":
            expect = (0,)
        add(Case(f"metrics: {label}", argv, expect, setup=setup,
                 check=both(message_has(needle), message_lacks("np.int", "np.float"))
                 if needle else None, kind="log"))
    for label, text, needle in [("missing", None, "no such file"),
                                ("YAML syntax error", "x: [1,\n", "YAML"),
                                ("unknown key", "colours: [phone]\n", "colours"),
                                ("unknown channel", "manual_channels: [fax]\n", "fax"),
                                ("a list", "- 1\n", "mapping"),
                                ("wrong type", "manual_channels: 3\n", "manual_channels"),
                                ("bad outcome", "manual_excluded_outcomes: [lost]\n", "lost")]:
        setup = (lambda d, t=text: (log()(d), (d / "defs.yaml").write_text(t))) if text \
            else log()
        add(Case(f"metrics --definitions {label}",
                 metrics("{d}/log.csv", "--definitions", "{d}/defs.yaml"), (2,),
                 setup=setup, check=message_has(needle), kind="log"))
    add(Case("metrics no argument", metrics(), (2,), kind="log"))
    add(Case("metrics /dev/zero", metrics("/dev/zero"), (2,), check=message_has("regular file"),
             kind="log"))
    add(Case("metrics --definitions a folder", metrics("{d}/log.csv", "--definitions", "{d}"),
             (2,), setup=log(), check=message_has("not a file"), kind="log"))
    add(Case("ccsim-report /dev/null", cmd("ccsim-report", "/dev/null"), (2,),
             check=message_has("not a folder"), kind="study"))
    add(Case("analysis.study /dev/null", [sys.executable, "-m", "analysis.study", "/dev/null"],
             (2,), check=message_has("not a folder"), kind="study"))
    add(Case("calibrate /dev/null", cmd("ccsim-calibrate", "/dev/null"), (2,), kind="targets"))
    add(Case("calibrate a folder", cmd("ccsim-calibrate", "{d}"), (2,), kind="targets"))
    add(Case("metrics --sep ';' reads semicolons", metrics("{d}/log.csv", "--sep", ";"), (0,),
             setup=write("log.csv", (LOG_HEAD + "\n".join(LOG_ROWS)).replace(",", ";")),
             kind="log"))

    # ---- ccsim-calibrate: bad targets files (exit 2, nothing written)
    calib = lambda *a: cmd("ccsim-calibrate", "{d}/t.yaml", "--out", "{d}/out", "--quiet", *a)  # noqa: E731
    for label, change, needle in [
        ("missing file", None, "cannot read"),
        ("YAML syntax error", "name: [x,\n", "cannot read"),
        ("not a mapping", "- 1\n", "mapping"),
        ("unknown key", lambda t: t.update(colour=1), "colour"),
        ("lower = upper", lambda t: t["parameters"]["choice.channel_constant.bot"].update(
            lower=1.0, upper=1.0, start=1.0), "lower below upper"),
        ("inverted bounds", lambda t: t["parameters"]["choice.channel_constant.bot"].update(
            lower=300, upper=100, start=200), "lower below upper"),
        ("start outside bounds", lambda t: t["parameters"]["choice.channel_constant.bot"]
         .update(start=5), "start"),
        ("tolerance 0", lambda t: t["parameters"]["choice.channel_constant.bot"]
         .update(tolerance=0), "tolerance"),
        ("month 13", lambda t: t["targets"].update({"volumes.phone.2023-13": {"value": 1}}),
         "2023-13"),
        ("month outside the run", lambda t: t["targets"].update(
            {"volumes.phone.2019-05": {"value": 1}}), "outside the simulated period"),
        ("unknown figure", lambda t: t["targets"].update({"speed.bot": {"value": 1}}),
         "speed.bot"),
        ("unknown channel", lambda t: t["targets"].update({"volumes.fax": {"value": 1}}),
         "volumes.fax"),
        ("unknown metric", lambda t: t["targets"].update({"metrics.joy": {"value": 1}}),
         "metrics.joy"),
        ("change without reference", lambda t: t["targets"].update(
            {"volumes.chat": {"change": 0.1}}), "reference"),
        ("change and value", lambda t: t["targets"].update(
            {"volumes.chat": {"change": 0.1, "value": 3}}), "exactly one"),
        ("no parameters", lambda t: t.update(parameters={}), "parameters"),
        ("unknown parameter path", lambda t: t["parameters"].update(
            {"choice.nothing.bot": {"start": 0, "lower": -1, "upper": 1, "tolerance": 0.1}}),
         "choice.nothing"),
        ("unknown scenario", lambda t: t.update(scenario="nope"), "nope"),
        ("bad override", lambda t: t.update(overrides=["run.hours=-1"]), "run.hours"),
        ("seed -3", lambda t: t.update(seed=-3), "seed"),
        ("replications 0", lambda t: t.update(replications=0), "replications"),
        # the start is valid; the Jacobian's step (in a worker process) leaves [0, 1]
        ("bounds that leave the schema's range (a login failure 0..1.5), --jobs 2",
         lambda t: t.update(parameters={
             "customers.segments.mixed.login_failure_probability": {
                 "start": 0.95, "lower": 0.0, "upper": 1.5, "tolerance": 0.1},
             "choice.channel_constant.bot": {"start": 0.0, "lower": -1.0, "upper": 1.0,
                                             "tolerance": 0.1}},
             max_evaluations=6),
         "scenario.customers.segments.mixed.login_failure_probability = 1.05"),
        ("a redial probability in customer journeys",
         lambda t: t.update(parameters={
             "channels.phone.redial_probability": {"start": 0.3, "lower": 0.0, "upper": 0.6,
                                                   "tolerance": 0.1}}, max_evaluations=2),
         "choice.after_failure.phone.phone"),
    ]:
        setup = None if label == "missing file" else (
            write("t.yaml", change) if isinstance(change, str) else targets(change))
        extra = ("--jobs", "2") if "--jobs 2" in label else ()
        add(Case(f"calibrate: {label}", calib(*extra), (2,), setup=setup,
                 check=both(message_has(needle), lambda d, o: "results written" if
                            (d / "out").exists() else None),
                 kind="targets", quick=label not in ("month outside the run", "unknown scenario")))
    add(Case("calibrate --jobs 0", calib("--jobs", "0"), (2,), setup=targets(), kind="targets"))
    add(Case("calibrate no argument", cmd("ccsim-calibrate"), (2,), kind="targets"))

    # ---- Ray: a cluster that cannot be reached is said before any run
    try:
        import hydra_plugins.hydra_ray_launcher  # noqa: F401
        has_ray = True
    except ImportError:
        has_ray = False
    if has_ray:
        ray_sweep = sweep(*TINY_SWEEP, "scenario.queue.agents=13,14", "hydra/launcher=ray")
        add(Case("ray: address=auto, RAY_ADDRESS names a port nobody listens on",
                 [*ray_sweep, "+hydra.launcher.ray.init.address=auto"], (2,),
                 env={"RAY_ADDRESS": "127.0.0.1:9"},
                 check=both(nothing_written, message_has("nothing answers")), kind="ray"))
        add(Case("ray: a GCS address nobody listens on",
                 [*ray_sweep, "+hydra.launcher.ray.init.address=127.0.0.1:9"], (2,),
                 check=both(nothing_written, message_has("is the cluster running")),
                 kind="ray"))
        add(Case("ray: a Ray Client address nobody listens on",
                 [*ray_sweep, "+hydra.launcher.ray.init.address=ray://127.0.0.1:9"], (2,),
                 check=nothing_written, kind="ray", quick=False))
        add(Case("ray: a bad point is named before Ray starts",
                 [*ray_sweep[:-1], "scenario.queue.agents=13,-1", "hydra/launcher=ray"], (2,),
                 check=both(nothing_written, message_has("point 2 of 2")), kind="ray"))
        add(Case("ray: in this process, with a stale RAY_ADDRESS",
                 [*ray_sweep], (0,), env={"RAY_ADDRESS": "127.0.0.1:9"},
                 check=study_complete(2), kind="ray", quick=False))

    # ---- ccsim-staff
    add(Case("ccsim-staff --help", cmd("ccsim-staff", "--help"), (0,), kind="staff"))
    add(Case("ccsim-staff bad value", cmd("ccsim-staff", *SQ, "scenario.queue.agents=-1",
                                          "hydra.run.dir={d}/run"), (2,),
             check=no_kpis, kind="staff"))
    add(Case("ccsim-staff bad mode", cmd("ccsim-staff", *SQ, "scenario.staffing.mode=magic",
                                         "hydra.run.dir={d}/run"), (2,), kind="staff"))
    add(Case("ccsim-staff service level 1.2", cmd("ccsim-staff", *SQ,
                                                  "scenario.staffing.service_level.phone=1.2",
                                                  "hydra.run.dir={d}/run"), (2,), kind="staff"))

    # ---- faults: interrupts, kills, two sweeps at once, full and read-only disks
    add(Case("Ctrl-C during a run", ccsim("scenario=single_queue", "run.hours=30000",
                                          "run.replications=3"), (130,),
             interrupt=(4.0, signal.SIGINT), check=only_error_txt, kind="fault", quick=False))
    add(Case("SIGTERM during a run", ccsim("scenario=single_queue", "run.hours=30000",
                                           "run.replications=3"), (143,),
             interrupt=(4.0, signal.SIGTERM), check=only_error_txt, kind="fault", quick=False))
    for launcher in ("basic", "joblib"):
        add(Case(f"Ctrl-C during a sweep ({launcher})",
                 # about 20 s of runs (4 × 9,000 h): the Ctrl-C at 5 s lands inside the sweep
                 # on a fast machine too (3,000 h finished in under 5 s on a fresh clone)
                 sweep(*TINY_SWEEP, "run.hours=9000", "scenario.queue.agents=13,14,15,16",
                       f"hydra/launcher={launcher}"), (130,),
                 interrupt=(5.0, signal.SIGINT),
                 check=lambda d, o: (f"temporary folders left: {list((d / 'study' / 'runs').glob('.tmp-*'))}"
                                     if list((d / "study" / "runs").glob(".tmp-*")) else None),
                 kind="fault", quick=False))
    for prog, argv in [("ccsim", ccsim(*SQ)), ("ccsim sweep", sweep(*TINY_SWEEP)),
                       ("ccsim-metrics", cmd("ccsim-metrics", "{d}/log.csv")),
                       ("ccsim-report", cmd("ccsim-report", "{d}")),
                       ("ccsim-calibrate", cmd("ccsim-calibrate", "{d}/t.yaml")),
                       ("analysis.study", [sys.executable, "-m", "analysis.study", "{d}"]),
                       ("python -m sim", [sys.executable, "-m", "sim", *SQ])]:
        for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            add(Case(f"{signal.Signals(sig).name} while {prog} starts", argv, (code,),
                     interrupt=(0.25, sig), kind="fault",
                     setup=targets() if prog == "ccsim-calibrate" else None))
    add(Case("read-only run folder", cmd("ccsim", *SQ, "hydra.run.dir={d}/mnt/run"), (1,),
             setup=mount_tmpfs("1m", read_only=True), needs_root=True,
             check=message_has("read-only"), kind="fault"))
    add(Case("read-only study folder", sweep(*TINY_SWEEP, "hydra.sweep.dir={d}/mnt/study",
                                             "scenario.queue.agents=13,14"), (1,),
             setup=mount_tmpfs("1m", read_only=True), needs_root=True,
             check=message_has("read-only"), kind="fault"))
    add(Case("full disk, one run", cmd("ccsim", "scenario=single_queue", "run.hours=2000",
                                       "run.replications=1", "run.write_contacts=false",
                                       "hydra.run.dir={d}/mnt/run"), (1,),
             setup=both_setup(mount_tmpfs("120k"), fill("mnt", 60_000)), needs_root=True,
             check=both(message_has("No space left"),
                        lambda d, o: None if not list((d / "mnt" / "run").glob("*.parquet"))
                        and not list((d / "mnt" / "run").glob(".*.tmp"))
                        else "files left after a full disk"), kind="fault"))
    add(Case("full disk, contact log refused before the run",
             cmd("ccsim", "scenario=single_queue", "run.hours=20000", "run.replications=1",
                 "hydra.run.dir={d}/mnt/run"), (2,),
             setup=mount_tmpfs("1m"), needs_root=True, check=message_has("write_contacts=false"),
             kind="fault"))
    add(Case("full disk, a sweep", sweep(*TINY_SWEEP, "hydra.sweep.dir={d}/mnt/study",
                                         "run.hours=2000", "scenario.queue.agents=13,14"), (1,),
             setup=both_setup(mount_tmpfs("150k"), fill("mnt", 80_000)), needs_root=True,
             check=message_has("incomplete"), kind="fault"))
    add(Case("report into a read-only study", cmd("ccsim-report", "{d}/mnt/study"), (1,),
             setup=both_setup(mount_tmpfs("20m"), copy_into_mount, remount_ro),
             needs_root=True, check=message_has("read-only"), kind="fault"))
    return out


def both_setup(*steps):
    def setup(d: Path) -> None:
        for s in steps:
            s(d)
    return setup


def fill(folder: str, keep_free: int):
    """Fill the file system at {d}/folder until about ``keep_free`` bytes are left."""
    def setup(d: Path) -> None:
        free = shutil.disk_usage(d / folder).free
        (d / folder / "filler").write_bytes(b"\0" * max(free - keep_free, 0))
    return setup


def copy_into_mount(d: Path) -> None:
    shutil.rmtree(d / "mnt" / "study")
    shutil.copytree(STUDY, d / "mnt" / "study")


def remount_ro(d: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(d / "mnt")], check=True)


# ---------------------------------------------------------------- running

@dataclass
class Outcome:
    case: Case
    rc: int | None
    clean: bool
    message: str
    seconds: float


def _cleanup_mounts(d: Path) -> None:
    mnt = d / "mnt"
    if mnt.exists() and os.path.ismount(mnt):
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def run_case(case: Case, base: Path) -> Outcome:
    d = Path(tempfile.mkdtemp(prefix="case-", dir=base))
    started = time.perf_counter()
    try:
        if case.needs_root and os.geteuid() != 0:
            return Outcome(case, None, True, "skipped: needs root (tmpfs)", 0.0)
        if case.setup:
            try:
                case.setup(d)
            except subprocess.CalledProcessError as exc:
                return Outcome(case, None, True, f"skipped: set-up failed ({exc})", 0.0)
        argv = [a.replace("{d}", str(d)) for a in case.argv]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(case.env or {})}
        env.pop("HYDRA_FULL_ERROR", None)
        if case.interrupt:
            p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, start_new_session=True, env=env)
            time.sleep(case.interrupt[0])
            os.killpg(p.pid, case.interrupt[1])
            stdout, stderr = p.communicate(timeout=case.timeout)
            out = subprocess.CompletedProcess(argv, p.returncode, stdout, stderr)
        else:
            out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True,
                                 timeout=case.timeout, env=env)
        text = out.stdout + out.stderr
        lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else ""
        problems = []
        if out.returncode not in case.expect:
            problems.append(f"exit {out.returncode}, expected {case.expect} (last line: "
                            f"{last[:300]!r})")
        if "Traceback" in text:
            problems.append("a traceback was printed")
        if argv[0] == "sh":
            prog = Path(argv[2].split("&&")[-1].split()[0]).name
        elif "python" in Path(argv[0]).name:
            prog = {"sim": "ccsim", "sim.cli": "ccsim"}.get(argv[2], argv[2])
        else:
            prog = Path(argv[0]).name
        if out.returncode not in (0,) and not last.startswith(f"{prog}:"):
            problems.append(f"the last line does not start with '{prog}:'")
        if case.check and not problems:
            try:
                extra = case.check(d, out)
            except Exception as exc:  # noqa: BLE001 - a check that cannot look is a failure
                extra = f"the check failed: {type(exc).__name__}: {exc}"
            if extra:
                problems.append(extra)
        message = "; ".join(problems) if problems else (last or "(no message)")
        return Outcome(case, out.returncode, not problems, message,
                       time.perf_counter() - started)
    except subprocess.TimeoutExpired:
        return Outcome(case, None, False, f"timed out after {case.timeout:.0f} s",
                       time.perf_counter() - started)
    finally:
        _cleanup_mounts(d)
        shutil.rmtree(d, ignore_errors=True)


def main(argv=None) -> int:
    global STUDY
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the cases whose label contains this")
    parser.add_argument("--list", action="store_true", help="list the cases")
    parser.add_argument("--quick", action="store_true", help="only the quick cases")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    chosen = [c for c in cases() if args.only in c.label and (c.quick or not args.quick)]
    if args.list:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)      # `--list | head` ends quietly
        for c in chosen:
            print(f"{c.kind:12} {c.label}")
        print(f"{len(chosen)} cases")
        return 0
    base = Path(tempfile.mkdtemp(prefix="ccsim-faults-"))
    try:
        STUDY = make_study(base)
        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = list(pool.map(lambda c: run_case(c, base), chosen))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for o in outcomes:
        mark = "ok  " if o.clean else "FAIL"
        print(f"{mark} [{o.case.kind}] {o.case.label} → exit {o.rc}: {o.message[:240]}")
    clean = sum(o.clean for o in outcomes)
    print(f"\n{clean} of {len(outcomes)} handled cleanly")
    return 0 if clean == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
