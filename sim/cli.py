"""The ``ccsim`` command: the one thin entry point that touches Hydra and files.

``ccsim scenario=NAME key=value …`` runs one scenario; ``ccsim -m …`` sweeps.
The engine (:mod:`sim.model`) and the analysis (:mod:`analysis`) know nothing
of Hydra; this module composes the config, validates it, runs the
replications and writes the run directory (see :mod:`analysis.runio`).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hydra
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from analysis import runio
from analysis.erlang import min_agents
from analysis.kpis import flatten, per_group_mean_ci, pool_totals, replication_kpis, summarise
from analysis.metrics import load_definitions, log_metrics, monthly_table, volumes
from analysis.staffing import add_paid, monthly_fte, monthly_fte_summary, plan_frame, plan_text
from analysis.tables import contacts_frame, intervals_frame

from . import __version__
from .model import simulate
from .scenario import ConfigError, parse_run, parse_scenario, parse_seed
from .staffing import required_plan
from .sweep import RunSlot, progress_line, run_key
from .validate import to_dict

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")
ROOT_KEYS = ("scenario", "run", "seed", "metrics", "study", "base_scenario")


def validate_config(cfg: dict):
    """(scenario, run settings, seed) from the composed config; raises ConfigError."""
    problems = [f"{k} is not a known top-level key; allowed: {', '.join(ROOT_KEYS)}"
                for k in cfg if k not in ROOT_KEYS]
    parsed = []
    for parse, key in ((parse_scenario, "scenario"), (parse_run, "run"), (parse_seed, "seed"),
                       (load_definitions, "metrics")):
        try:
            parsed.append(parse(cfg.get(key), key))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return tuple(parsed)


def _progress(rep: int, n: int, started: float, contacts: int) -> None:
    elapsed = time.perf_counter() - started
    left = elapsed / (rep + 1) * (n - rep - 1)
    print(f"[ccsim] replication {rep + 1}/{n} done: {contacts:,} contacts, "
          f"{elapsed:.1f} s elapsed, about {left:.0f} s to go", file=sys.stderr, flush=True)


def _log_kpis(frame: pd.DataFrame, warmup_s: float, defs, agent_cost_eur: float):
    """Contact-log metrics and volumes of one replication (contacts after the warm-up),
    and its monthly table."""
    log = frame[frame["arrival_s"] >= warmup_s] if warmup_s > 0 else frame
    metrics = log_metrics(log, defs)
    metrics["agent_cost_eur"] = agent_cost_eur
    metrics["cost_per_need_eur"] = agent_cost_eur / metrics["needs"] if metrics["needs"] else None
    return {"metrics": metrics, "volumes": volumes(log)}, monthly_table(log, defs)


def run_scenario(scenario, run, seed: int, out_dir: Path, defs=None) -> dict:
    """Run every replication, write the tables and ``kpis.json`` (last); return the KPIs."""
    defs = defs or load_definitions()
    channels, pools = scenario.agent_model()
    targets = {n: ch.answer_target_seconds for n, ch in channels.items()}
    skills = {n: p.skills for n, p in pools.items()}
    costs = {n: p.hourly_cost_eur for n, p in pools.items()}
    intervals, per_rep, months, plans, plan = [], [], [], [], None
    contacts = runio.TableWriter(out_dir / "contacts.parquet") if run.write_contacts else None
    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=1)
    required = scenario.staffing.mode == "required"
    for rep in range(run.replications):
        if required:
            say = (lambda msg, r=rep: print(f"[ccsim] staffing, replication {r + 1}: {msg}",
                                            file=sys.stderr, flush=True)) if run.progress else None
            plan = required_plan(scenario, run, seed, rep, min_agents, say)
            rec = plan.records
            plans.append(plan_frame(plan, scenario.start_date, rep))
            plan.records = None                  # the tables below hold what is needed
        else:
            rec = simulate(scenario, run, seed, rep)
        # the agent KPIs and interval table run beside the contact table (2 cores)
        side = pool.submit(lambda r=rec: (
            replication_kpis(r, run.warmup_hours * 3600.0, targets, skills, costs),
            intervals_frame(r, scenario.start_date, run.interval_minutes * 60.0, targets,
                            skills)))
        frame = contacts_frame(rec, scenario.start_date)
        if contacts is not None:
            contacts.append(frame)
        rep_kpis, interval_table = side.result()
        add_paid(rep_kpis, scenario.staffing, run.hours - run.warmup_hours)
        cost = pool_totals(rep_kpis)["agent_cost_eur"]
        log_kpis, month_table = _log_kpis(frame, run.warmup_hours * 3600.0, defs, cost)
        log_kpis["metrics"]["registered_share_end"] = rec.registered_share_end
        if required:
            log_kpis["metrics"]["intervals_meeting_target"] = plan.met_share()
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
        table = pd.concat(plans, ignore_index=True)
        runio.write_table(out_dir / "staffing.parquet", table)
        months = monthly_fte(table, scenario.staffing, run.interval_minutes * 60.0)
        runio.write_csv(out_dir / "staffing_monthly.csv", monthly_fte_summary(months))
        print(plan_text(table, months, plan))
    reps = pd.DataFrame([{"replication": r, **flatten(k)} for r, k in enumerate(per_rep)])
    runio.write_table(out_dir / "replications.parquet", reps)
    kpis = {"scenario": scenario.name, "seed": seed, "replications": run.replications,
            "hours": run.hours, "warmup_hours": run.warmup_hours,
            "run_seconds": round(time.perf_counter() - started, 3), **summarise(per_rep)}
    runio.write_json(out_dir / runio.KPIS_FILE, kpis)
    return kpis


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    """Hydra task: validate, run, write. User errors exit with status 2 and no traceback.

    A single run writes to ``hydra.run.dir``; a job of a multirun is one run
    of the study in ``hydra.sweep.dir`` (:mod:`sim.sweep`): skipped when that
    run already finished, else written to a temporary folder and renamed.
    """
    hc = HydraConfig.get()
    out_dir = Path(hc.runtime.output_dir)
    try:
        scenario, run, seed, defs = validate_config(OmegaConf.to_container(cfg, resolve=True))
    except ConfigError as exc:
        runio.write_error(out_dir, str(exc))
        print(f"ccsim: {exc}", file=sys.stderr)
        sys.exit(2)
    overrides = list(hc.overrides.task)
    slot = None
    if hc.mode == RunMode.MULTIRUN:
        study_dir = Path(hc.sweep.dir)
        run_settings = {k: v for k, v in to_dict(run).items() if k != "progress"}
        key = run_key({"scenario": to_dict(scenario), "run": run_settings, "seed": seed,
                       "metrics": to_dict(defs), "ccsim": __version__})
        slot = RunSlot(study_dir, scenario.name, key)
        if slot.done:
            print(f"[ccsim] already finished, skipped: {slot.final}")
            _print_progress(study_dir, skipped=True)
            return
        out_dir = slot.begin()
    runio.write_yaml(out_dir / "scenario.yaml", to_dict(scenario))
    runio.write_yaml(out_dir / "run.yaml", {"seed": seed, "run": to_dict(run),
                                            "overrides": overrides})
    kpis = run_scenario(scenario, run, seed, out_dir, defs)
    if slot is not None:
        slot.commit()
        out_dir = slot.final
    print(summary_text(kpis))
    print(f"[ccsim] results: {out_dir}")
    if slot is not None:
        _print_progress(slot.study_dir, skipped=False)


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
              "Writes the run folder of ccsim plus staffing.parquet (intervals × pools) and "
              "staffing_monthly.csv (FTE per month). ccsim --help lists every option.")
        return
    if not any(a.split("=")[0].lstrip("+~") == "scenario.staffing.mode" for a in sys.argv[1:]):
        sys.argv.append("scenario.staffing.mode=required")
    main()


def _print_progress(study_dir: Path, skipped: bool) -> None:
    line = progress_line(study_dir, skipped)
    if line:
        print(line, file=sys.stderr, flush=True)


def _pct(block: dict, key: str) -> str:
    v, h = block.get(key), block.get(f"{key}_ci")
    if v is None:
        return "–"
    return f"{v:.1%}" + (f" ± {h:.1%}" if h is not None and h == h and h > 0 else "")


def summary_text(kpis: dict) -> str:
    """A few lines a planner reads after a run: the metric trap side by side, cost, service."""
    m = kpis["metrics"]
    lines = [f"[ccsim] {kpis['scenario']}: {kpis['replications']} replication(s) × "
             f"{kpis['hours']:g} h, seed {kpis['seed']}",
             f"  online share of contacts (company) {_pct(m, 'online_share_of_contacts')}, "
             f"online self-service share (thesis) {_pct(m, 'online_self_service_share')}, "
             f"digital resolution share {_pct(m, 'digital_resolution_share')}",
             f"  manual contacts {m['manual_contacts']:,.0f}, needs {m['needs']:,.0f}, "
             f"agent cost {kpis['totals']['agent_cost_eur']:,.0f} EUR"]
    for name, ch in kpis["channels"].items():
        lines.append(f"  {name}: service level {_pct(ch, 'service_level')}, "
                     f"ASA {ch['asa_seconds'] or 0:.1f} s, abandoned {_pct(ch, 'p_abandon')}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    main()
