"""Required staffing speed (``make bench``): the plan for the baseline year, one replication;
then the forecast plan (``staffing.plan=forecast``: the history's requirement searched on its
replications together, and the safety margin) and
its roster (the integer program), with the roster's paid hours over the interval sum.

Prints the wall time of :func:`sim.staffing.required_plan` for the one-year
``baseline`` (journeys, three pools; target: at most 2 minutes on the 2-core
development machine), the simulations it used (more overrides as arguments, e.g.
``run.engine=simpy`` for the reference engine), the staffed agent hours and
how many staffed intervals meet their target and are binding. Prints figures
only: speed is measured here, never asserted in the tests.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sim.cli import validate_config
from sim.forecast import forecast_plan
from sim.roster import roster_of
from sim.staffing import required_plan

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["scenario=baseline", "run.replications=1",
                                           "scenario.staffing.mode=required", *sys.argv[1:]])
    sc, run, seed, _ = validate_config(OmegaConf.to_container(cfg, resolve=True))
    started = time.perf_counter()
    plan = required_plan(sc, run, seed, 0)
    wall = time.perf_counter() - started
    hours = sum(float(a.sum()) for a in plan.agents.values()) * plan.interval_seconds / 3600
    print(f"required staffing, baseline year: {wall:.1f} s (target <= 120 s), "
          f"{plan.simulations} simulations, {hours:,.0f} staffed agent hours")
    for pool, agents in plan.agents.items():
        chans = [c for c, p in plan.channel_pool.items() if p == pool]
        staffed = agents > 0
        binding = int((plan.binding[pool] & staffed).sum())
        met = [float((plan.meets[c][staffed & (plan.meets[c] >= 0)] == 1).mean()) for c in chans]
        print(f"  {pool:>13}: {int(staffed.sum())} staffed intervals, {binding} binding "
              f"({binding / max(staffed.sum(), 1):.0%}); meeting target: "
              + ", ".join(f"{c} {m:.1%}" for c, m in zip(chans, met)))
    started = time.perf_counter()
    fc = forecast_plan(sc, run, seed)
    wall = time.perf_counter() - started
    print(f"forecast plan, baseline year: {wall:.1f} s (target <= 20 s), "
          f"{fc.plan.simulations} simulations ({sc.staffing.plan_replications} history "
          "replications searched together, on threads), "
          f"safety margins {fc.margin} (history's worst days share {fc.tried[-1][1]:.1%}, "
          f"target_confidence {sc.staffing.target_confidence:.0%}); days meeting target on "
          f"the history: " + ", ".join(f"{c} {v:.1%}" for c, v in fc.history_days.items()))
    started = time.perf_counter()
    floor, on_shift, _ = roster_of(fc.plan, sc)
    wall = time.perf_counter() - started
    need = {p: float(a.sum()) for p, a in fc.plan.agents.items()}
    paid = {p: float(a.sum()) for p, a in on_shift.items()}
    print(f"roster of the forecast plan: {wall:.1f} s; paid hours over the interval sum: "
          + ", ".join(f"{p} {paid[p] / need[p] - 1:+.1%}" for p in need if need[p])
          + f"; all pools {sum(paid.values()) / sum(need.values()) - 1:+.1%} (target <= 10 %)")


if __name__ == "__main__":
    main()
