"""The ``ccsim`` command: the one thin entry point that touches Hydra and files.

``ccsim scenario=NAME key=value …`` runs one scenario; ``ccsim -m …`` sweeps.
The engine (:mod:`sim.model`) and the analysis (:mod:`analysis`) know nothing
of Hydra; this module composes the config, validates it, runs the
replications and writes the run directory (see :mod:`analysis.runio`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import hydra
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from analysis import runio
from analysis.kpis import replication_kpis, summarise
from analysis.tables import contacts_frame, intervals_frame

from .model import simulate
from .scenario import ConfigError, parse_run, parse_scenario, parse_seed
from .validate import to_dict

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")
ROOT_KEYS = ("scenario", "run", "seed")


def validate_config(cfg: dict):
    """(scenario, run settings, seed) from the composed config; raises ConfigError."""
    problems = [f"{k} is not a known top-level key; allowed: {', '.join(ROOT_KEYS)}"
                for k in cfg if k not in ROOT_KEYS]
    parsed = []
    for parse, key in ((parse_scenario, "scenario"), (parse_run, "run"), (parse_seed, "seed")):
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


def run_scenario(scenario, run, seed: int, out_dir: Path) -> dict:
    """Run every replication, write the tables and ``kpis.json`` (last); return the KPIs."""
    channels, pools = scenario.agent_model()
    targets = {n: ch.answer_target_seconds for n, ch in channels.items()}
    skills = {n: p.skills for n, p in pools.items()}
    costs = {n: p.hourly_cost_eur for n, p in pools.items()}
    contacts, intervals, per_rep = [], [], []
    started = time.perf_counter()
    for rep in range(run.replications):
        rec = simulate(scenario, run, seed, rep)
        per_rep.append(replication_kpis(rec, run.warmup_hours * 3600.0, targets, skills, costs))
        intervals.append(intervals_frame(rec, scenario.start_date, run.interval_minutes * 60.0,
                                         targets, skills))
        if run.write_contacts:
            contacts.append(contacts_frame(rec, scenario.start_date))
        if run.progress:
            _progress(rep, run.replications, started, len(rec.contacts["contact_id"]))
    if contacts:
        runio.write_table(out_dir / "contacts.parquet", pd.concat(contacts, ignore_index=True))
    runio.write_table(out_dir / "intervals.parquet", pd.concat(intervals, ignore_index=True))
    kpis = {"scenario": scenario.name, "seed": seed, "replications": run.replications,
            "hours": run.hours, "warmup_hours": run.warmup_hours,
            "run_seconds": round(time.perf_counter() - started, 3), **summarise(per_rep)}
    runio.write_json(out_dir / runio.KPIS_FILE, kpis)
    return kpis


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    """Hydra task: validate, run, write. User errors exit with status 2 and no traceback."""
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        scenario, run, seed = validate_config(OmegaConf.to_container(cfg, resolve=True))
    except ConfigError as exc:
        runio.write_error(out_dir, str(exc))
        print(f"ccsim: {exc}", file=sys.stderr)
        sys.exit(2)
    runio.write_yaml(out_dir / "scenario.yaml", to_dict(scenario))
    runio.write_yaml(out_dir / "run.yaml", {"seed": seed, "run": to_dict(run)})
    kpis = run_scenario(scenario, run, seed, out_dir)
    phone = kpis["channels"].get("phone", {})
    if phone:
        print(f"[ccsim] phone: service level {phone['service_level']:.3f}, "
              f"ASA {phone['asa_seconds']:.1f} s, abandoned {phone['p_abandon']:.3f}",
              file=sys.stderr)
    print(f"[ccsim] results: {out_dir}")


if __name__ == "__main__":  # pragma: no cover
    main()
