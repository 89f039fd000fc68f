"""The ``ccsim`` command: the one thin entry point that touches Hydra and files.

``ccsim scenario=NAME key=value …`` runs one scenario; ``ccsim -m …`` sweeps.
The engine (:mod:`sim.engine.model`) and the analysis (:mod:`analysis`) know nothing
of Hydra; this module composes the config, validates it, runs the
replications and writes the run directory (see :mod:`analysis.runio`).
"""

from __future__ import annotations

if __name__ == "__main__":       # python -m …: a Ctrl-C while the imports below load is one line
    from analysis.guard import quiet_start

    quiet_start("ccsim")

import dataclasses
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import hydra
import pandas as pd
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from analysis import runio
from analysis.guard import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    BadInput,
    Carried,
    Failure,
    disk_message,
    is_disk_error,
    one_line,
    raise_if_interrupted,
    run_command,
    write_traceback,
)
from analysis.impact import ImpactInputs, SegmentValue
from analysis.kpis import flatten, per_group_mean_ci, pool_totals, replication_kpis, summarise
from analysis.metrics import agent_volumes, load_definitions, log_metrics, monthly_table, volumes
from analysis.staffing import add_paid, monthly_fte, monthly_fte_summary, plan_frame, plan_text, roster_frame
from analysis.tables import contacts_frame, intervals_frame

from . import __version__
from .engine.estimate import RunEstimate, estimate_run, size_problems
from .engine.log import TooManyContacts
from .engine.model import simulate
from .engine.scenario import ConfigError, parse_run, parse_scenario, parse_seed
from .engine.validate import from_dict, to_dict
from .forecast import Staffer
from .sweep import RunSlot, progress_line, run_key
from .uncertainty import UncertaintySettings, apply, block, groups

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def _register_run_defaults() -> None:
    """The ``run`` config group's ``default``: made from :class:`RunSettings`, the one place
    of the run settings' defaults (conf/config.yaml names it in its defaults list)."""
    from hydra.core.config_store import ConfigStore

    from .engine.scenario import RunSettings

    ConfigStore.instance().store(group="run", name="default", node=to_dict(RunSettings()))


_register_run_defaults()
ROOT_KEYS = ("scenario", "run", "seed", "metrics", "study", "base_scenario", "uncertainty")
#: Run settings that do not change what a run computes: not part of its key.
NOT_IN_KEY = ("progress", "max_contacts", "max_memory_gb")
#: Hydra's and OmegaConf's errors: a bad override, a missing scenario, a YAML error in a
#: config file, an interpolation that does not resolve — bad input (exit 2).
HYDRA_USER_ERRORS = (HydraException, OmegaConfBaseException, yaml.YAMLError)


def validate_config(cfg: dict):
    """(scenario, run settings, seed, metric definitions) from the composed config; raises
    ConfigError."""
    problems = [f"{k} is not a known top-level key; allowed: {', '.join(ROOT_KEYS)}"
                for k in cfg if k not in ROOT_KEYS]
    problems += _name_problems(cfg.get("study"), "study", "a study name (results/<study>/)")
    problems += _name_problems(cfg.get("base_scenario"), "base_scenario", "a scenario name")
    parsed = {}

    def parse(key: str, how) -> None:
        try:
            parsed[key] = how(cfg.get(key), key)
        except ConfigError as exc:
            problems.extend(exc.problems)

    parse("scenario", parse_scenario)
    parse("run", parse_run)
    parse("seed", parse_seed)
    scenario = parsed.get("scenario")        # its own agent channels may be in its logs
    agent = scenario.registry.agent if scenario is not None else ()
    parse("metrics", lambda data, key: load_definitions(data, key, extra_channels=agent))
    if problems:
        raise ConfigError(problems)
    return parsed["scenario"], parsed["run"], parsed["seed"], parsed["metrics"]


def _name_problems(value, key: str, what: str) -> list[str]:
    """A study or scenario name: text of letters, digits and ``_ - . = , +`` (a study may
    have ``/`` between parts), not empty, no ``..``, not absolute."""
    import re

    if value is None:            # not given (a config composed without conf/config.yaml)
        return []
    ok = isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.=,+-]*"
                                                 + (r"(/[A-Za-z0-9_][A-Za-z0-9_.=,+-]*)*"
                                                    if key == "study" else ""), value) \
        and ".." not in value
    return [] if ok else [f"{key} = {value!r} is not allowed; allowed: {what}: letters, digits "
                          "and _ - . = , + (not empty, no '..')"]


@dataclass(frozen=True)
class PreparedRun:
    """A validated run, its key (:func:`sim.sweep.run_key`) and its estimated size."""

    scenario: object
    run: object
    seed: int
    defs: object
    key: str
    estimate: RunEstimate
    cases: tuple = ()                 # an uncertainty block: (scenario, replication) per row
    design: dict | None = None        # … and its rows' kinds and drawn inputs (kpis.json)

    @property
    def folder_name(self) -> str:
        return f"{self.scenario.name}-{self.key}"


def job_config(cfg: DictConfig) -> dict:
    """The composed config as plain data, without Hydra's own node, interpolations resolved
    (one that does not resolve, e.g. ``${oc.env:UNSET}``, is a ConfigError)."""
    try:
        if "hydra" not in cfg:
            return OmegaConf.to_container(cfg, resolve=True)
        data = OmegaConf.to_container(cfg, resolve=False)
        data.pop("hydra", None)
        return OmegaConf.to_container(OmegaConf.create(data), resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        raise ConfigError([(f"{key}: " if key else "") + one_line(exc).splitlines()[0]]) from None


#: The calendar the tables can hold (pandas' nanosecond timestamps span 1677–2262).
FIRST_DATE, LAST_DATE = "1678-01-01", "2261-12-31"


def _calendar_problems(scenario, run) -> list[str]:
    """The run's calendar must fit the tables' timestamps."""
    import datetime as dt

    start = dt.date.fromisoformat(scenario.start_date)
    first, last = dt.date.fromisoformat(FIRST_DATE), dt.date.fromisoformat(LAST_DATE)
    if start < first:
        return [f"scenario.start_date = {scenario.start_date!r} is too early; allowed: "
                f"{FIRST_DATE} to {LAST_DATE}"]
    if (last - start).days * 24.0 < run.hours:
        return [f"run.hours = {run.hours:g} from scenario.start_date = {scenario.start_date!r} "
                f"ends after {LAST_DATE}; allowed: a run that ends by then"]
    return []


def prepare_run(cfg: dict) -> PreparedRun:
    """Validate the config, estimate the run's size and key it; raises ConfigError (bad input
    or a run above ``run.max_contacts`` / ``run.max_memory_gb``)."""
    scenario, run, seed, defs = validate_config(cfg)
    settings = from_dict(UncertaintySettings, cfg.get("uncertainty") or {}, "uncertainty")
    cases, design = (), None
    if settings.sample is not None:          # an uncertainty study's block: one run per row
        cases, design = _block_cases(cfg["scenario"], scenario, settings)
        run = dataclasses.replace(run, replications=len(cases))
    est = estimate_run(scenario, run)
    problems = size_problems(est, run)
    if problems:
        raise ConfigError(problems, prefix="Refused before simulating")
    calendar = _calendar_problems(scenario, run)
    if calendar:
        raise ConfigError(calendar)
    run_settings = {k: v for k, v in to_dict(run).items() if k not in NOT_IN_KEY}
    parts = {"scenario": to_dict(scenario), "run": run_settings, "seed": seed,
             "metrics": to_dict(defs), "ccsim": __version__}
    if design is not None:
        parts["uncertainty"] = to_dict(settings)
    return PreparedRun(scenario, run, seed, defs, run_key(parts), est, cases, design)


def _block_cases(data: dict, scenario, settings) -> tuple[tuple, dict]:
    """The rows of the settings' base sample (:mod:`sim.uncertainty`), each a validated
    scenario run with the settings' replication (the same random numbers for every row)."""
    kinds, values = block(scenario.uncertain, settings)
    names = list(scenario.uncertain)
    cases, problems = [], []
    for kind, row in zip(kinds, values):
        try:
            cases.append((parse_scenario(apply(data, scenario, row)), settings.replication))
        except ConfigError as exc:
            drawn = ", ".join(f"{n} = {v:.4g}" for n, v in zip(names, row))
            problems += [f"uncertainty.sample {settings.sample}, row {kind} ({drawn}): {p}"
                         for p in exc.problems]
    if problems:
        raise ConfigError(problems)
    design = {"seed": settings.seed, "sample": settings.sample,
              "replication": settings.replication, "inputs": names,
              "groups": groups(scenario.uncertain),
              "rows": [{"kind": k, **{n: float(v) for n, v in zip(names, row)}}
                       for k, row in zip(kinds, values)]}
    return tuple(cases), design


def _progress(rep: int, n: int, started: float, contacts: int) -> None:
    elapsed = time.perf_counter() - started
    left = elapsed / (rep + 1) * (n - rep - 1)
    print(f"[ccsim] replication {rep + 1}/{n} done: {contacts:,} contacts, "
          f"{elapsed:.1f} s elapsed, about {left:.0f} s to go", file=sys.stderr, flush=True)


def impact_inputs(scenario) -> ImpactInputs:
    """The scenario's data for the customer-impact metrics (:mod:`analysis.impact`), as plain
    data: each segment's annual value and leave probabilities (none without customer
    journeys), and the channel the bot hands over to when it hands over cold."""
    segments = scenario.customers.segments if scenario.customers is not None else None
    values = None if not segments else {
        name: SegmentValue(seg.annual_value_eur, seg.leave_if_unresolved,
                           seg.leave_if_poor_experience) for name, seg in segments.items()}
    bot = scenario.digital.bot
    cold = bot is not None and bot.handover == "cold" and bot.handover_channel in scenario.channels
    return ImpactInputs(values, bot.handover_channel if cold else None)


def channel_closed_from(scenario) -> dict[str, str]:
    """Agent channel → the date from which the scenario closes it (``open_line_until``)."""
    return {name: ch.open_line_until for name, ch in scenario.channels.items()
            if ch.open_line_until is not None}


def _log_kpis(frame: pd.DataFrame, warmup_s: float, defs, impact: ImpactInputs | None = None):
    """Contact-log metrics and volumes of one replication (contacts after the warm-up),
    and its monthly table."""
    log = frame[frame["arrival_s"] >= warmup_s] if warmup_s > 0 else frame
    return ({"metrics": log_metrics(log, defs, impact),
             "volumes": volumes(log) | agent_volumes(log)}, monthly_table(log, defs))


def _add_cost(metrics: dict, agent_cost_eur: float) -> None:
    """The agent cost of the replication beside its log metrics, and per need."""
    metrics["agent_cost_eur"] = agent_cost_eur
    metrics["cost_per_need_eur"] = agent_cost_eur / metrics["needs"] if metrics["needs"] else None


def run_scenario(scenario, run, seed: int, out_dir: Path, defs=None, cases=(),
                 design: dict | None = None) -> dict:
    """Run every replication, write the tables and ``kpis.json`` (last, with the manifest of
    the files written); return the KPIs. On an error nothing is left half-written: the
    contact log's temporary file is removed and no ``kpis.json`` is written."""
    defs = defs or load_definitions()
    contacts = runio.TableWriter(out_dir / "contacts.parquet") if run.write_contacts else None
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        kpis = _replications(scenario, run, seed, out_dir, defs, contacts, pool, cases)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        if contacts is not None:
            contacts.abort()
        raise
    reg = scenario.registry
    kpis["channel_kinds"] = dict(zip(reg.names, reg.kinds))   # for the report (sim.engine.channels)
    kpis["channel_closed_from"] = channel_closed_from(scenario)
    if design is not None:            # the rows' drawn inputs: analysis.uncertainty
        kpis["uncertainty"] = design
    kpis["files"] = runio.manifest(out_dir)
    raise_if_interrupted()
    runio.write_json(out_dir / runio.KPIS_FILE, kpis)
    return kpis


def _replications(scenario, run, seed, out_dir, defs, contacts, pool, cases=()) -> dict:
    """Every replication; ``cases``: (scenario, replication number) of each, for rows."""
    intervals, per_rep, months, plans, rosters, plan = [], [], [], [], [], None
    staffer = Staffer(scenario, run, seed, run.progress) \
        if scenario.staffing.mode == "required" and not cases else None
    started = time.perf_counter()            # the replications' pace: after a forecast plan
    for rep in range(run.replications):
        sc, number = cases[rep] if cases else (scenario, rep)
        staffer = Staffer(sc, run, seed) if cases and sc.staffing.mode == "required" else staffer
        staffed = staffer.replication(number) if staffer else None
        if staffed:
            rec, plan = staffed.rec, staffed.plan
            plans.append(plan_frame(plan, sc.start_date, rep, staffed.floor,
                                    staffed.on_shift))
            rosters.append(roster_frame(staffed.shifts, sc.start_date, rep))
            plan.records = None                  # the tables below hold what is needed
        else:
            rec = simulate(sc, run, seed, number)
        # the agent KPIs and interval table run beside the contact table (2 cores); a row of
        # an uncertainty block may change a target or a cost: its own scenario's
        side = pool.submit(_agent_tables, rec, run, scenario.start_date, *_agent_facts(sc))
        frame = contacts_frame(rec, sc.start_date)
        if contacts is not None:
            contacts.append(frame)
        log_kpis, month_table = _log_kpis(frame, run.warmup_hours * 3600.0, defs,
                                          impact_inputs(sc))
        rep_kpis, interval_table = side.result()
        _staffed_kpis(rep_kpis, log_kpis, staffed, sc, run)
        _add_cost(log_kpis["metrics"], pool_totals(rep_kpis)["agent_cost_eur"])
        log_kpis["metrics"]["registered_share_end"] = rec.registered_share_end
        rep_kpis.update(log_kpis)
        months.append(month_table.assign(replication=rep))
        per_rep.append(rep_kpis)
        intervals.append(interval_table)
        if run.progress:
            _progress(rep, run.replications, started, len(rec.contacts["contact_id"]))
    pool.shutdown()
    if contacts is not None:
        contacts.close()
    runio.write_table(out_dir / "intervals.parquet", pd.concat(intervals, ignore_index=True))
    months = pd.concat(months, ignore_index=True)
    runio.write_table(out_dir / "monthly.parquet", months)
    runio.write_csv(out_dir / "monthly.csv",
                    per_group_mean_ci(months, "month", drop=("replication",)))
    if plans:
        _write_staffing(out_dir, plans, rosters, scenario, run, plan)
    reps = pd.DataFrame([{"replication": r, **flatten(k)} for r, k in enumerate(per_rep)])
    runio.write_table(out_dir / "replications.parquet", reps)
    out = {"scenario": scenario.name, "seed": seed, "replications": run.replications,
           "hours": run.hours, "warmup_hours": run.warmup_hours,
           "run_seconds": round(time.perf_counter() - started, 3), **summarise(per_rep)}
    if staffer and not cases:          # (rows: each its own plan, not one to describe)
        out["staffing"] = staffer.summary()
    return out


def _agent_tables(rec, run, start_date: str, targets, skills, costs):
    """(agent KPIs, interval table) of one replication."""
    return (replication_kpis(rec, run.warmup_hours * 3600.0, targets, skills, costs),
            intervals_frame(rec, start_date, run.interval_minutes * 60.0, targets, skills))


def _agent_facts(scenario) -> tuple[dict, dict, dict]:
    """Per agent channel its answer target; per pool its skills and hourly cost."""
    channels, pools = scenario.agent_model()
    return ({n: ch.answer_target_seconds for n, ch in channels.items()},
            {n: p.skills for n, p in pools.items()},
            {n: p.hourly_cost_eur for n, p in pools.items()})


def _staffed_kpis(rep_kpis: dict, log_kpis: dict, staffed, scenario, run) -> None:
    """Paid hours, cost and FTE per pool (a roster's breaks counted); with required staffing
    the roster's gap and the shares of intervals and days meeting the target."""
    add_paid(rep_kpis, scenario.staffing, run.hours - run.warmup_hours,
             staffed.paid_factor() if staffed else None)
    if staffed:
        staffed.add_kpis(rep_kpis, scenario, run)
        log_kpis["metrics"]["intervals_meeting_target"] = staffed.plan.met_share()


def _write_staffing(out_dir, plans, rosters, scenario, run, plan) -> None:
    """``staffing.parquet``, ``roster.csv`` and ``staffing_monthly.csv``; prints the plan."""
    table = pd.concat(plans, ignore_index=True)
    runio.write_table(out_dir / "staffing.parquet", table)
    runio.write_csv(out_dir / "roster.csv", pd.concat(rosters, ignore_index=True))
    months = monthly_fte(table, scenario.staffing, run.interval_minutes * 60.0)
    runio.write_csv(out_dir / "staffing_monthly.csv", monthly_fte_summary(months))
    print(plan_text(table, months, plan))


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def _task(cfg: DictConfig) -> None:
    """Hydra task: validate, run, write (see :func:`main` for how it ends).

    A single run writes to ``hydra.run.dir``; a job of a multirun is one run
    of the study in ``hydra.sweep.dir`` (:mod:`sim.sweep`): skipped when that
    run already finished, else written to a temporary folder and renamed.
    """
    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:
        _sweep_job(cfg, hc)
        return
    try:
        _single_run(cfg, hc)
    except Exception as exc:
        raise Carried(exc) from None    # past Hydra's own error printing, to run_command


def _single_run(cfg: DictConfig, hc) -> None:
    out_dir = Path(hc.runtime.output_dir)
    try:
        prep = prepare_run(job_config(cfg))
        _check_disk(prep, out_dir)
    except ConfigError as exc:
        message = str(exc)
        _try(lambda: runio.write_error(out_dir, message))
        raise
    try:
        kpis = execute(prep, out_dir, list(hc.overrides.task))
    except RunFailed as exc:
        if exc.bad_input:
            raise BadInput(f"Stopped: {exc.cause}; nothing but error.txt was kept in "
                           f"{out_dir}") from None
        raise Failure(f"the run failed ({exc.cause}); {exc.where(out_dir)}; only error.txt "
                      f"was kept in {out_dir}") from None
    print(summary_text(kpis))
    print(f"[ccsim] results: {out_dir}")


def _sweep_job(cfg: DictConfig, hc) -> None:
    """One run of a study; a failure is recorded (``runs/.failed-<run>/error.txt``) and the
    sweep goes on: the callback names it when the sweep ends (exit 1)."""
    study_dir = Path(hc.sweep.dir)
    say = lambda msg: print(f"[ccsim] {msg}", file=sys.stderr, flush=True)   # noqa: E731
    try:
        prep = prepare_run(job_config(cfg))        # every point was checked before the sweep
        slot = RunSlot(study_dir, prep.scenario.name, prep.key)
        claimed = slot.claim(say)
    except Exception as exc:  # noqa: BLE001 - told here; the sweep's end names the run
        say(f"job {' '.join(hc.overrides.task)} could not start "
            f"({type(exc).__name__}: {one_line(exc)}); the sweep goes on")
        return
    if not claimed:
        print(f"[ccsim] already finished, skipped: {slot.final}")
        _print_progress(study_dir)
        return
    try:
        kpis = execute(prep, slot.tmp, list(hc.overrides.task))
    except RunFailed as exc:
        failed = slot.fail()
        say(f"run {slot.name} failed ({exc.cause}); {exc.where(failed)}; the sweep goes on")
        return
    except BaseException:
        slot.abandon()
        raise
    try:
        slot.commit()
    except OSError as exc:
        slot.abandon()
        say(f"run {slot.name} could not be moved into place ({one_line(exc)}); the sweep goes on")
        return
    print(summary_text(kpis))
    print(f"[ccsim] results: {slot.final}")
    _print_progress(study_dir)


class RunFailed(Exception):
    """A run stopped on an error; its files were removed and ``error.txt`` written."""

    def __init__(self, cause: str, error_written: bool, traceback: bool = True,
                 bad_input: bool = False):
        super().__init__(cause)
        self.cause, self.error_written, self.traceback = cause, error_written, traceback
        self.bad_input = bad_input

    def where(self, folder: Path) -> str:
        what = "the traceback" if self.traceback else "the reason"
        return (f"{what} is in {Path(folder) / runio.ERROR_FILE}" if self.error_written
                else "error.txt could not be written")


def execute(prep: PreparedRun, out_dir: Path, overrides: list[str]) -> dict:
    """Write the run's configuration, run it and write its tables, ``kpis.json`` last.

    On an error every file of the run is removed and ``error.txt`` (the traceback) written
    in its place: :class:`RunFailed`. Interrupted (Ctrl-C), the files are removed too.
    """
    try:
        (Path(out_dir) / runio.ERROR_FILE).unlink(missing_ok=True)     # of an earlier attempt
        runio.write_yaml(out_dir / "scenario.yaml", to_dict(prep.scenario))
        runio.write_yaml(out_dir / "run.yaml", {"seed": prep.seed, "run": to_dict(prep.run),
                                                "overrides": overrides})
        return run_scenario(prep.scenario, prep.run, prep.seed, out_dir, prep.defs, prep.cases,
                            prep.design)
    except Exception as exc:
        _try(lambda: runio.remove_run_files(out_dir))
        if isinstance(exc, ConfigError):        # found while running: a roster's rules
            cause = str(exc)
            raise RunFailed(cause, _try(lambda: runio.write_error(out_dir, cause)),
                            traceback=False, bad_input=True) from exc
        if isinstance(exc, TooManyContacts):
            cause = (f"{exc}: the scenario runs away (for instance every abandoner redials "
                     "and no agent answers); check it, or raise run.max_contacts if the run is "
                     "meant to be this large")
            raise RunFailed(cause, _try(lambda: runio.write_error(out_dir, cause)),
                            traceback=False, bad_input=True) from exc
        if is_disk_error(exc):
            cause = disk_message(exc)
            raise RunFailed(cause, _try(lambda: runio.write_error(out_dir, cause)),
                            traceback=False) from exc
        cause = f"{type(exc).__name__}: {one_line(exc)}"
        written = write_traceback(exc, out_dir, "ccsim") == out_dir / runio.ERROR_FILE
        raise RunFailed(cause, written) from exc
    except BaseException:
        _try(lambda: runio.remove_run_files(out_dir))
        raise


def _try(action) -> bool:
    """Best effort (clean-up after a failure): True when ``action`` ran without an OSError."""
    try:
        action()
        return True
    except OSError:
        return False


def _check_disk(prep: PreparedRun, out_dir: Path) -> None:
    """Refuse a contact log that would not fit on the disk of ``out_dir``."""
    need = prep.estimate.disk_bytes
    if need <= 0:
        return
    probe = Path(out_dir)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need * 1.2 > free:
        raise ConfigError([f"the contact log would take about {_bytes(need)} and "
                           f"{probe} has {_bytes(free)} free; set run.write_contacts=false "
                           "or free some space"], prefix="Refused before simulating")


def _bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} bytes"


def main() -> None:
    """``ccsim``: run the Hydra task and end with a documented exit code (never a traceback):
    0 done, 1 failure (the traceback in the run's error.txt), 2 bad input, 130 interrupted."""
    os.environ["HYDRA_FULL_ERROR"] = "1"     # Hydra re-raises: the errors are told apart here
    code = run_command(_prog(), _run_task, user_errors=HYDRA_USER_ERRORS,
                       interrupted_hint=_interrupted_hint())
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        from .sweep import tidy_after_interrupt

        try:
            tidy_after_interrupt()
        except (OSError, KeyboardInterrupt):      # a second Ctrl-C: leave it to the re-run
            pass
    sys.exit(code)


def _run_task() -> None:
    try:
        try:
            _task()
        except Carried as carried:
            raise carried.exc from None
    except HYDRA_USER_ERRORS as exc:
        raise BadInput(hydra_message(exc)) from None
    except ValueError as exc:
        if _raised_by_hydra(exc):      # e.g. "Only one of --run, --multirun, --cfg …"
            raise BadInput(hydra_message(exc)) from None
        raise
    except Exception as exc:
        from .ray_cluster import lost_cluster_message

        message = lost_cluster_message(exc)
        if message:
            raise Failure(message) from None
        raise


def _raised_by_hydra(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and f"{os.sep}hydra{os.sep}" in tb.tb_frame.f_code.co_filename


def hydra_message(exc: BaseException) -> str:
    """One line for Hydra's and OmegaConf's errors (a bad override, a missing scenario, a
    YAML error in a config file), without Hydra's search-path listing."""
    import re

    text = str(exc)
    text = text.split("\nConfig search path:")[0]
    m = re.search(r"Could not override '([^']+)'", text)
    if m:
        key = m.group(1)
        return (f"{key} is not a known key, so it cannot be set; check its spelling "
                f"(`ccsim --cfg job` prints every key; a new entry of a mapping, such as a "
                f"per-intent value, is added with +{key}=…)")
    m = re.search(r"Could not find '([^'/]+)/([^']+)'", text)
    if m:
        group, name = m.groups()
        options = re.findall(r"^\t(\S+)$", text, flags=re.M)
        return (f"no {group} named {name!r}" + (f"; available: {', '.join(options)}"
                                               if options else ""))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = " ".join(lines) or type(exc).__name__
    if isinstance(exc, yaml.YAMLError):
        return f"a config file is not valid YAML: {text}"
    override = getattr(exc, "override", None)
    if override:
        return f"cannot read the override {override!r}: {text}"
    return text


def _prog() -> str:
    return Path(sys.argv[0]).name if Path(sys.argv[0]).name.startswith("ccsim") else "ccsim"


def _interrupted_hint() -> str:
    if any(a in ("-m", "--multirun") for a in sys.argv[1:]):
        return "finished runs are kept; run the same command again to resume"
    return "nothing of the run was kept"


def staff() -> None:
    """``ccsim-staff``: ``ccsim`` with ``scenario.staffing.mode=required`` — the same
    arguments; prints the required plan and writes ``staffing.parquet`` beside the run."""
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print("ccsim-staff: the required staffing plan of a scenario (the fewest agents per "
              "interval and pool that hold each channel's service-level target; Erlang C/A "
              "corrected by simulation).\nTakes the same arguments as ccsim, e.g.\n"
              "  ccsim-staff scenario=single_queue scenario.queue.arrivals_per_hour=200\n"
              "  ccsim-staff scenario=baseline run.replications=1\n"
              "Targets: scenario.staffing.service_level.<channel> (default 0.8); cost: "
              "scenario.staffing.shrinkage, scenario.staffing.fte_hours_per_month.\n"
              "Plan: scenario.staffing.plan=forecast (default: from plan_replications history "
              "replications, with a safety margin until target_confidence of the history's "
              "days meet the target; judged on the run's unseen days) or oracle (each "
              "replication for its own demand). A roster of allowed shifts "
              "(scenario.staffing.rules.*) fills the plan; the run is the roster's.\n"
              "Writes the run folder of ccsim plus staffing.parquet (intervals × pools), "
              "roster.csv (shifts per week, weekday and pool) and staffing_monthly.csv (FTE "
              "per month). ccsim --help lists every option.")
        return
    if not any(a.split("=")[0].lstrip("+~") == "scenario.staffing.mode" for a in sys.argv[1:]):
        sys.argv.append("scenario.staffing.mode=required")
    main()


def _print_progress(study_dir: Path) -> None:
    line = progress_line(study_dir)
    if line:
        print(line, file=sys.stderr, flush=True)


def _missing(v) -> bool:
    """None or NaN (a JSON null, or a rate of nothing)."""
    return v is None or v != v


def _num(v, fmt: str = "{:,.0f}", empty: str = "–") -> str:
    """A number of the summary, ``empty`` where there is none (never "nan")."""
    return empty if _missing(v) else fmt.format(v)


def _pct(block: dict, key: str) -> str:
    v, h = block.get(key), block.get(f"{key}_ci")
    if _missing(v):
        return "–"
    return f"{v:.1%}" + (f" ± {h:.1%}" if not _missing(h) and h > 0 else "")


def _impact_text(m: dict) -> str:
    """Unresolved needs and revenue at risk, shown wherever agent cost is."""
    revenue = m.get("revenue_at_risk_eur")
    return (f"unresolved needs {_num(m.get('unresolved_needs'))} "
            f"({_num(m.get('unresolved_share'), '{:.1%}')}), revenue at risk "
            + ("– (no customer segments)" if _missing(revenue) else f"{revenue:,.0f} EUR"))


def _channel_text(name: str, ch: dict, closed_from: str | None) -> str:
    """One agent channel's line: closed, without contacts, or its volumes and service."""
    if not ch.get("offered"):
        if closed_from is not None:
            return f"  {name}: closed (from {closed_from})"
        if ch.get("closed"):
            return f"  {name}: closed (every contact found it closed)"
        return f"  {name}: no contacts offered"
    asa = _num(ch.get("asa_seconds"), "{:.1f} s", "– (none answered)")
    text = (f"  {name}: offered {_num(ch.get('offered'))}, answered {_num(ch.get('answered'))}, "
            f"service level {_pct(ch, 'service_level')}, ASA {asa}, "
            f"abandoned {_pct(ch, 'p_abandon')}")
    return text + (f"; closed from {closed_from}" if closed_from is not None else "")


def summary_text(kpis: dict) -> str:
    """A few lines a planner reads after a run: the metric trap side by side, agent cost with
    what customers pay for it (unresolved needs, revenue at risk), service per channel.
    A run or channel without contacts says so, a closed channel says "closed": no empty
    rate is shown as a number."""
    m = kpis["metrics"]
    lines = [f"[ccsim] {kpis['scenario']}: {kpis['replications']} replication(s) × "
             f"{kpis['hours']:g} h, seed {kpis['seed']}"]
    if not (m.get("needs") or 0) and not any((ch.get("offered") or 0) + (ch.get("closed") or 0)
                                             for ch in kpis["channels"].values()):
        lines.append("  no contacts: nothing arrived during the run (counts are 0, rates empty)")
    else:
        lines.append(f"  online share of contacts (company) {_pct(m, 'online_share_of_contacts')}, "
                     f"online self-service share (thesis) {_pct(m, 'online_self_service_share')}, "
                     f"digital resolution share {_pct(m, 'digital_resolution_share')}")
    lines.append(f"  manual contacts {_num(m.get('manual_contacts') or 0)}, "
                 f"needs {_num(m.get('needs') or 0)}, "
                 f"agent cost {_num(kpis['totals'].get('agent_cost_eur') or 0)} EUR, "
                 + _impact_text(m))
    closed = kpis.get("channel_closed_from") or {}
    lines += [_channel_text(name, ch, closed.get(name)) for name, ch in kpis["channels"].items()]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    main()
