"""Engine speed and memory, printed (``make bench``); never part of the test suite.

Side by side in one run, in pairs (medians and paired ratios: a busy machine slows both):

1. The yardstick: an idiomatic SimPy model (:mod:`reference_model`: a process per customer,
   ``simpy.Resource``, ``req | env.timeout(patience)``) of 500,000 single-queue customers.
2. The one-year ``baseline`` (customer journeys, ~1 M needs, ~1.5 M contacts): the
   simulation alone (fast engine, in this process, compiled) and ``ccsim`` start to finish
   (a fresh process: start-up, simulation, tables, parquet, kpis.json). Targets: at most
   0.2× and 0.4× the yardstick's time.
3. ``single_queue`` at rho = 0.9 (50 agents, AHT 180 s, patience 120 s): contacts per
   second of both engines against the yardstick (target: fast at least 20×).
4. Peak memory (max RSS) of a whole one-million-contact ``ccsim`` run (target < 1.5 GB).

``python tests/bench_engine.py --pairs N`` (default 4).
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
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
YARDSTICK_CUSTOMERS = 500_000


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def yardstick(seed: int) -> float:
    """Seconds of the idiomatic SimPy model for 500,000 customers."""
    dt, out = _timed(lambda: run_reference(LAM, AHT, AGENTS, PATIENCE,
                                           YARDSTICK_CUSTOMERS / LAM, seed=seed))
    assert abs(out["offered"] - YARDSTICK_CUSTOMERS) < 5000
    return dt


def _baseline():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from sim.cli import CONF_DIR, validate_config

    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("config", overrides=["scenario=baseline", "run.replications=1"])
    scenario, run, seed, _ = validate_config(OmegaConf.to_container(cfg, resolve=True))
    return scenario, run, seed


def ccsim_year(tmp: str, i: int) -> float:
    """Seconds of ``ccsim`` for one baseline year, start to finish, in a fresh process."""
    dt, _ = _timed(lambda: subprocess.run(
        [sys.executable, "-m", "sim", "run.replications=1", "run.progress=false",
         f"hydra.run.dir={tmp}/run{i}"], check=True, capture_output=True))
    return dt


def single_queue(engine: str, hours: float, rep: int) -> float:
    """Contacts per second of ``single_queue`` at rho = 0.9 on ``engine``."""
    sc = parse_scenario({"name": "bench", "queue": {"arrivals_per_hour": LAM, "aht_seconds": AHT,
                                                    "agents": AGENTS, "patience_seconds": PATIENCE}})
    run = parse_run({"hours": hours, "engine": engine})
    dt, rec = _timed(lambda: simulate(sc, run, 1, rep))
    return len(rec.contacts["contact_id"]) / dt


def bench_memory(contacts: int = 1_000_000) -> tuple[float, float]:
    """(max RSS in MB, seconds) of a full ccsim run with about ``contacts`` contacts."""
    hours = contacts / LAM
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "sim", "scenario=single_queue",
               f"scenario.queue.arrivals_per_hour={LAM}", f"scenario.queue.aht_seconds={AHT}",
               f"scenario.queue.agents={AGENTS}", f"scenario.queue.patience_seconds={PATIENCE}",
               f"run.hours={hours:.3f}", "run.warmup_hours=0", "run.replications=1",
               "run.progress=false", f"hydra.run.dir={tmp}/run"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rows = len(__import__("pandas").read_parquet(f"{tmp}/run/contacts.parquet",
                                                     columns=["contact_id"]))
    print(f"  contacts written: {rows:,}")
    return peak / 1024.0, dt


def _median_line(name: str, values: list[float], unit: str = "s") -> str:
    return (f"  {name:<34} median {statistics.median(values):7.2f} {unit}  "
            f"(runs: {', '.join(f'{v:.2f}' for v in values)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=4)
    args = ap.parse_args()
    scenario, run, seed = _baseline()
    simulate(scenario, dataclasses.replace(run, hours=24.0), seed, 0)       # compile first
    single_queue("fast", 1.0, 0)
    ys, sims, wholes = [], [], []
    print(f"yardstick: idiomatic SimPy, {YARDSTICK_CUSTOMERS:,} single-queue customers; "
          f"the baseline year; {args.pairs} pairs")
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.pairs):
            ys.append(yardstick(i))
            dt, rec = _timed(lambda: simulate(scenario, run, seed, 0))
            sims.append(dt)
            wholes.append(ccsim_year(tmp, i))
    print(_median_line("idiomatic SimPy, 500k customers", ys))
    print(_median_line("baseline year, simulation (fast)", sims)
          + f"  {len(rec.contacts['contact_id']):,} contacts, {rec.needs:,} needs")
    print(_median_line("baseline year, ccsim start to finish", wholes))
    sim_r = [s / y for s, y in zip(sims, ys)]
    whole_r = [w / y for w, y in zip(wholes, ys)]
    print(f"  paired ratio, simulation / yardstick   : median {statistics.median(sim_r):.2f}x "
          f"(pairs: {', '.join(f'{r:.2f}' for r in sim_r)}; target <= 0.2x)")
    print(f"  paired ratio, start to finish / yardst.: median {statistics.median(whole_r):.2f}x "
          f"(pairs: {', '.join(f'{r:.2f}' for r in whole_r)}; target <= 0.4x)")

    print(f"single_queue, rho = 0.9: {AGENTS} agents, AHT {AHT:.0f} s, patience {PATIENCE:.0f} s, "
          f"{LAM:.0f} calls/h; contacts per second, {args.pairs} runs each")
    fast = [single_queue("fast", 1000, r) for r in range(args.pairs)]
    slow = [single_queue("simpy", 200, r) for r in range(args.pairs)]
    ref = [YARDSTICK_CUSTOMERS / y for y in ys]
    print(_median_line("fast engine", fast, "/s"))
    print(_median_line("simpy engine (the reference)", slow, "/s"))
    print(_median_line("idiomatic SimPy (yardstick runs)", ref, "/s"))
    print(f"  fast / idiomatic: {statistics.median(fast) / statistics.median(ref):.1f}x "
          f"(target >= 20x); simpy engine / idiomatic: "
          f"{statistics.median(slow) / statistics.median(ref):.1f}x")
    mb, dt = bench_memory()
    print(f"one-million-contact ccsim run: peak memory {mb:,.0f} MB (target < 1,500 MB), "
          f"{dt:.1f} s wall")


if __name__ == "__main__":
    main()
