"""Engine speed and memory, printed (``make bench``); never part of the test suite.

1. Contacts per second of ``single_queue`` at rho = 0.9 (50 agents, AHT 180 s,
   mean patience 120 s), ccsim's engine vs an idiomatic SimPy model of the same
   queue (a process per customer, ``simpy.Resource``,
   ``req | env.timeout(patience)``), same machine, same run. Best of 3.
2. Peak memory (max RSS) of a whole one-million-contact ``ccsim`` run
   (simulation, tables, parquet, kpis.json) in a child process.
3. One replication of the one-year ``baseline`` (customer journeys, ~1 M needs):
   the simulation alone (needs per second) and ``ccsim`` start to finish.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from reference_model import run_reference  # noqa: E402

from sim.engine.model import simulate  # noqa: E402
from sim.engine.scenario import parse_run, parse_scenario  # noqa: E402

LAM, AHT, AGENTS, PATIENCE = 900.0, 180.0, 50, 120.0   # rho = 900 * 180 / 3600 / 50 = 0.9


def bench_engine(hours: float, repeats: int = 3) -> tuple[float, float]:
    """Best (offered, answered) contacts per second of sim.engine.model.simulate."""
    sc = parse_scenario({"name": "bench", "queue": {"arrivals_per_hour": LAM, "aht_seconds": AHT,
                                                    "agents": AGENTS, "patience_seconds": PATIENCE}})
    run = parse_run({"hours": hours})
    best = (0.0, 0.0)
    for rep in range(repeats):
        t0 = time.perf_counter()
        rec = simulate(sc, run, 1, rep)
        dt = time.perf_counter() - t0
        answered = int((rec.contacts["outcome_code"] == 0).sum())
        best = max(best, (len(rec.contacts["contact_id"]) / dt, answered / dt))
    return best


def bench_reference(hours: float, repeats: int = 3) -> tuple[float, float]:
    best = (0.0, 0.0)
    for rep in range(repeats):
        t0 = time.perf_counter()
        out = run_reference(LAM, AHT, AGENTS, PATIENCE, hours, seed=rep)
        dt = time.perf_counter() - t0
        best = max(best, (out["offered"] / dt, out["answered"] / dt))
    return best


def bench_memory(contacts: int = 1_000_000) -> tuple[float, float]:
    """(max RSS in MB, seconds) of a full ccsim run with about ``contacts`` contacts."""
    hours = contacts / LAM
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "sim", "scenario=single_queue",
               f"scenario.queue.arrivals_per_hour={LAM}", f"scenario.queue.aht_seconds={AHT}",
               f"scenario.queue.agents={AGENTS}", f"scenario.queue.patience_seconds={PATIENCE}",
               f"run.hours={hours:.3f}", "run.warmup_hours=0", "run.replications=1",
               "run.progress=false", f"hydra.run.dir={tmp}/run"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rows = len(__import__("pandas").read_parquet(f"{tmp}/run/contacts.parquet",
                                                     columns=["contact_id"]))
    print(f"  contacts written: {rows:,}")
    return max(peak, before) / 1024.0, dt


def bench_baseline() -> None:
    """Needs per second of one baseline year, and the whole ccsim command's wall time."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from sim.cli import CONF_DIR, validate_config

    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("config", overrides=["scenario=baseline", "run.replications=1"])
    scenario, run, seed, _ = validate_config(OmegaConf.to_container(cfg, resolve=True))
    t0 = time.perf_counter()
    rec = simulate(scenario, run, seed, 0)
    dt = time.perf_counter() - t0
    agent = int((rec.contacts["channel_code"] < 4).sum())
    print(f"baseline year, simulation only: {dt:.1f} s for {rec.needs:,} needs "
          f"({rec.needs / dt:,.0f} needs/s), {len(rec.contacts['contact_id']):,} contacts of "
          f"which {agent:,} agent-handled (target: start to finish <= 10 s)")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", "run.replications=1", "run.progress=false",
                        f"hydra.run.dir={tmp}/run"], check=True, capture_output=True)
        print(f"baseline year, ccsim run.replications=1 start to finish: "
              f"{time.perf_counter() - t0:.1f} s wall")


def main() -> None:
    print(f"single_queue, rho = 0.9: {AGENTS} agents, AHT {AHT:.0f} s, patience {PATIENCE:.0f} s, "
          f"{LAM:.0f} calls/h")
    eng = bench_engine(hours=400)
    ref = bench_reference(hours=150)
    print(f"  ccsim engine      : {eng[0]:>10,.0f} contacts/s  ({eng[1]:,.0f} agent-handled/s)")
    print(f"  idiomatic SimPy   : {ref[0]:>10,.0f} contacts/s  ({ref[1]:,.0f} agent-handled/s)")
    print(f"  ratio             : {eng[1] / ref[1]:.2f}x agent-handled contacts/s (target >= 3x)")
    mb, dt = bench_memory()
    print(f"one-million-contact ccsim run: peak memory {mb:,.0f} MB (target < 1,500 MB), "
          f"{dt:.1f} s wall")
    bench_baseline()


if __name__ == "__main__":
    main()
