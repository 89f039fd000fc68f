"""An idiomatic SimPy model of one M/M/c+M queue: the yardstick for speed and a cross-check.

A process per customer, ``simpy.Resource`` for the agents, and abandonment as
``req | env.timeout(patience)`` — the textbook ``bank_renege`` pattern.
"""

from __future__ import annotations

import numpy as np
import simpy


def run_reference(arrivals_per_hour: float, aht_seconds: float, agents: int,
                  patience_seconds: float | None, hours: float, seed: int) -> dict:
    """Simulate and return tallies: offered, answered, abandoned, waits of the answered."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=agents)
    mean_gap = 3600.0 / arrivals_per_hour
    out = {"offered": 0, "answered": 0, "abandoned": 0, "wait_sum": 0.0, "waited": 0}

    def customer(env):
        arrived = env.now
        out["offered"] += 1
        with desk.request() as req:
            if patience_seconds is None:
                yield req
                got = True
            else:
                result = yield req | env.timeout(rng.exponential(patience_seconds))
                got = req in result
            wait = env.now - arrived
            if wait > 0:
                out["waited"] += 1
            if not got:
                out["abandoned"] += 1
                return
            out["answered"] += 1
            out["wait_sum"] += wait
            yield env.timeout(rng.exponential(aht_seconds))

    def source(env):
        while True:
            yield env.timeout(rng.exponential(mean_gap))
            env.process(customer(env))

    env.process(source(env))
    env.run(until=hours * 3600.0)
    return out
