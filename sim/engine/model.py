"""Build one replication from a frozen scenario, run it, return flat records.

``simulate`` is the whole pipeline of a replication: streams → model → run →
records. It touches no files and no pandas; :mod:`analysis` turns the records
into tables and KPIs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from .agents import AgentPool, capacity_steps
from .arrivals import hourly_rates, poisson_arrivals
from .calendar import open_check
from .distributions import channel_fills
from .estimate import contact_limit
from .events import At
from .journey import Journeys
from .log import OUTCOMES, REASONS, ContactLog
from .queues import ChannelQueue
from .scenario import RunSettings, Scenario
from .streams import Draws, Streams

__all__ = ["RunRecords", "simulate"]


@dataclass(frozen=True)
class RunRecords:
    """Everything one replication produced, as plain numpy arrays.

    ``contacts``: one entry per contact (see :meth:`sim.engine.log.ContactLog.columns`);
    ``channel_code`` indexes ``channels`` (the scenario's registry, :mod:`sim.engine.channels`,
    whose kinds are ``channel_kinds``) and ``pool_code`` indexes ``pools``.
    ``staffed``: per pool, (times s, staffed agents from each time).
    """

    replication: int
    horizon_seconds: float
    contacts: dict
    channels: tuple[str, ...]
    channel_kinds: tuple[str, ...]
    pools: tuple[str, ...]
    outcomes: tuple[str, ...]
    reasons: tuple[str, ...]
    staffed: dict
    pool_concurrency: dict
    pool_wrap_seconds: dict
    intents: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    needs: int = 0
    registered_share_end: float = math.nan   # accounts registered for self-service at the end


def _draws(streams: Streams, name: str, spec) -> dict:
    """The per-channel random sources, each its own named stream, one number at a time."""
    return {src: Draws(fill) for src, fill in channel_fills(streams, name, spec).items()}


class _ArrivalDriver:
    """Feeds pre-drawn arrival times into a queue, one event at a time."""

    def __init__(self, env, times: list[float], first_need: int, queue: ChannelQueue):
        self.env, self.times, self.first_need, self.queue = env, times, first_need, queue
        if times:
            At(env, times[0], self._fire, 0)

    def _fire(self, ev) -> None:
        i = ev._value
        self.queue.arrive(self.first_need + i, 0)
        if i + 1 < len(self.times):
            At(self.env, self.times[i + 1] - self.env._now, self._fire, i + 1)


def simulate(scenario: Scenario, run: RunSettings, seed: int, replication: int,
             staffing: dict | None = None, journey_core=None) -> RunRecords:
    """Run one replication of ``scenario`` for ``run.hours`` and return its records.

    ``staffing`` (pool → (times s, agents from each time)) replaces the pools'
    shifts, e.g. by a required-staffing plan (:mod:`sim.staffing`). ``journey_core``:
    another journey core with the signature of :func:`sim.engine.journey_core.advance` (the
    plain-Python reference, :mod:`sim.engine.journey_reference`, in its test): the SimPy
    engine's only (``run.engine=simpy``; the fast engine calls the compiled core in place).
    ``run.engine``: ``fast`` runs :func:`sim.engine.fast.simulate_fast`, the same records.
    """
    if journey_core is not None and run.engine != "simpy":
        raise ValueError("another journey core runs on the SimPy engine only: run.engine=simpy")
    if run.engine == "fast":
        from .fast import simulate_fast

        return simulate_fast(scenario, run, seed, replication, staffing)
    streams = Streams(seed, replication)
    env = simpy.Environment()
    horizon = run.hours * 3600.0
    log = ContactLog(*contact_limit(scenario, run))
    queues, pools = _agent_side(env, scenario, log, streams, horizon, staffing)
    first_need = 0
    journeys = None
    if scenario.has_journeys:
        journeys = Journeys(env, scenario, log, queues, pools, streams, horizon,
                            **({"core": journey_core} if journey_core else {}))
        first_need = journeys.n_needs
    channel_specs, _ = scenario.agent_model()
    for name, spec in channel_specs.items():
        rates = hourly_rates(spec.arrivals_per_hour, spec.profile, scenario.start_date,
                             math.ceil(run.hours))
        times = poisson_arrivals(streams.rng(f"{name}.arrivals"), rates, horizon).tolist()
        _ArrivalDriver(env, times, first_need, queues[name])
        first_need += len(times)
    env.run(until=horizon)
    for q in queues.values():
        q.finish(horizon)
    return _records(scenario, replication, horizon, log, pools, journeys, first_need)


def _agent_side(env, scenario: Scenario, log: ContactLog, streams: Streams, horizon: float,
                staffing: dict | None) -> tuple[dict, dict]:
    """The agent channels' queues and the pools that serve them, with their capacity plan."""
    channel_specs, pool_specs = scenario.agent_model()
    reg = scenario.registry
    queues = {
        name: ChannelQueue(env, reg.code(name), spec, log,
                           _draws(streams, name, spec),
                           open_check(spec.open_hours, scenario.start_date, horizon))
        for name, spec in channel_specs.items()
    }
    pools = {}
    for code, (pname, pspec) in enumerate(pool_specs.items()):
        pool = pools[pname] = AgentPool(env, code, pspec, log)
        pool.queues = [queues[s] for s in pspec.skills]
        for s in pspec.skills:
            queues[s].pools.append(pool)
        pool.schedule(*(staffing[pname] if staffing is not None else
                        capacity_steps(pspec, scenario.start_date, horizon)))
    return queues, pools


def _records(scenario: Scenario, replication: int, horizon: float, log: ContactLog,
             pools: dict, journeys, needs: int) -> RunRecords:
    reg = scenario.registry
    return RunRecords(
        replication=replication,
        horizon_seconds=horizon,
        contacts=log.columns(*((journeys.st.need_customer, journeys.st.need_intent,
                                journeys.st.segment, journeys.need_t) if journeys else ())),
        channels=reg.names,
        channel_kinds=reg.kinds,
        pools=tuple(pools),
        outcomes=OUTCOMES,
        reasons=REASONS,
        staffed={n: (np.frombuffer(p.staffed_t).copy(), np.frombuffer(p.staffed_n).copy())
                 for n, p in pools.items()},
        pool_concurrency={n: p.concurrency for n, p in pools.items()},
        pool_wrap_seconds={n: p.wrap for n, p in pools.items()},
        intents=tuple(scenario.needs.intents) if journeys else (),
        segments=tuple(scenario.customers.segments) if journeys else (),
        needs=needs,
        registered_share_end=journeys.registered_share(horizon) if journeys else math.nan,
    )
