"""``run.engine=fast``: one replication run by the compiled engine (:mod:`sim.engine.fast_core`).

The driver: it lays the scenario's queues, pools, shifts, direct arrivals and customer
journeys out as arrays, schedules the first events in the SimPy engine's order (capacity
changes pool by pool, the first batch of needs, each channel's first arrival), runs the
compiled loop, enlarges a buffer whenever the loop asks, and returns the same
:class:`sim.engine.model.RunRecords` as the SimPy engine (:func:`sim.engine.model.simulate`),
contact for contact.
"""

from __future__ import annotations

import math

import numpy as np

from .agents import capacity_steps
from .arrivals import hourly_rates, poisson_arrivals
from .calendar import open_check
from .distributions import DRAW_SOURCES, channel_fills, handle_shape
from .estimate import contact_limit
from .fast_core import (
    DONE,
    EV_ARRIVE,
    EV_BATCH,
    EV_CAPACITY,
    GROW_ANSWERED,
    GROW_CONTACTS,
    GROW_DUE,
    GROW_EVENTS,
    GROW_OUT,
    GROW_STAFFED,
    J_ANSWERED,
    J_DUE,
    N_CONTACTS,
    N_EVENTS,
    N_STAFFED,
    REFILL,
    TOO_MANY,
    Agents,
    Contacts,
    Events,
    Journey,
    finish_queues,
    push,
    run_loop,
)
from .journey import BATCH, customer_state, journey_key, registered_share
from .journey_core import new_out
from .journey_tables import journey_tables
from .log import LOG_DTYPES, OUTCOMES, REASONS, TooManyContacts, record_columns
from .streams import Streams

__all__ = ["simulate_fast", "warm_up"]

#: random numbers drawn per buffer refill (per channel and source)
BLOCK = 1 << 16
#: rows the buffers start with beyond what the run is expected to need (events, answers,
#: come-backs, contacts), and the share of the expected contacts they start with; a test
#: sets them near zero so that every buffer grows many times (the results must not change)
START_ROWS, START_SHARE = 4096, 1.0
#: the compiled log: the contact log's columns (sim.engine.log), then each contact's place in
#: its queue and the rarely set marks ContactLog keeps sparse
_CONTACT_DTYPES = {**LOG_DTYPES, "deadline": np.float64, "next": np.int64, "target": np.int8,
                   "reason": np.int8, "guided": np.int8}
_BATCH_DTYPES = {"b_need": np.int64, "b_t": np.float64, "b_prev": np.int64, "b_att": np.int64,
                 "b_esc": np.int64, "order": np.int64}


def _batch_buffers(cap: int) -> dict:
    """The Journey record's buffers of a batch of up to ``cap`` needs."""
    return {k: np.empty(cap, dtype=d) for k, d in _BATCH_DTYPES.items()}


def _contacts(n: int) -> Contacts:
    return Contacts(**{k: np.empty(n, dtype=d) for k, d in _CONTACT_DTYPES.items()})


def _events(n: int) -> Events:
    i8 = np.int64
    return Events(t=np.empty(n), seq=np.empty(n, i8), kind=np.empty(n, np.int8),
                  a=np.empty(n, i8), b=np.empty(n, i8), d=np.empty(n, i8), f=np.empty(n))


def _grown(rec, n_used: int, size: int, fields=None):
    """``rec`` (a named tuple of arrays) with ``fields`` (default: all) enlarged to ``size``
    rows, the first ``n_used`` kept."""
    out = {}
    for k in fields or rec._fields:
        arr = getattr(rec, k)
        new = np.empty(size, dtype=arr.dtype)
        new[:n_used] = arr[:n_used]
        out[k] = new
    return rec._replace(**out)


def _flat(lists: list) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, values) of a list of integer lists."""
    off = np.zeros(len(lists) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(x) for x in lists])
    return off, np.array([v for x in lists for v in x], dtype=np.int64)


class _JourneySide:
    """The journeys of one replication, as the compiled loop takes them (or a stub)."""

    def __init__(self, scenario, horizon: float, streams):
        if not scenario.has_journeys:
            self.active, self.n_needs = False, 0
            self.tables = self.params = self.state = None
            self.out = new_out(1, 1)
            self.record = self._stub()
            return
        self.active = True
        tab = journey_tables(scenario, horizon)
        self.state, pop, needs = customer_state(scenario, horizon, streams)
        self.tables, self.params = tab.tables, tab.params
        self.join_s, self.need_t = pop.join_s, needs.time_s
        self.n_needs = len(self.need_t)
        self.max_attempts = scenario.choice.max_attempts
        hours = np.bincount((self.need_t // BATCH).astype(np.int64)) if self.n_needs else [0]
        cap = int(int(max(hours, default=0)) * 2 * START_SHARE) + 1
        self.out = new_out(cap, self.max_attempts)
        i8 = np.int64
        self.record = Journey(
            active=1, key=journey_key(streams), n_needs=self.n_needs, batch_s=BATCH,
            switch_mean=float(scenario.needs.switch_delay_seconds),
            return_mean=float(scenario.needs.return_delay_hours * 3600.0),
            cold_extra=float(tab.cold_extra_s), horizon=float(horizon),
            need_t=np.ascontiguousarray(self.need_t, dtype=np.float64),
            p_back=tab.p_back, esc_factor=tab.esc_factor.astype(float),
            matter=tab.matter_factor, guide_p=tab.guide_p, guide_from=tab.guide_from,
            guide_extra=tab.guide_extra_s, ret=np.full(self.n_needs, np.nan),
            answered=np.empty(START_ROWS, i8), due=_events(START_ROWS), **_batch_buffers(cap),
            count=np.zeros(5, i8), tick=np.zeros(1))

    @staticmethod
    def _stub() -> Journey:
        i8, f8 = np.int64, np.float64
        e1, ei = np.empty(1, f8), np.empty(1, i8)
        return Journey(active=0, key=0, n_needs=0, batch_s=BATCH, switch_mean=0.0,
                       return_mean=0.0, cold_extra=0.0, horizon=0.0, need_t=np.empty(0),
                       p_back=np.zeros((1, 1)), esc_factor=e1, matter=np.zeros((1, 1)),
                       guide_p=e1, guide_from=e1, guide_extra=e1, ret=e1, answered=ei,
                       due=_events(1), **_batch_buffers(1),
                       count=np.zeros(5, i8), tick=np.zeros(1))

    def core_args(self):
        """(customer state, tables, params) for the loop; stand-ins without journeys."""
        global _STUB_CORE
        if self.active:
            return self.state, self.tables, self.params
        if _STUB_CORE is None:
            _STUB_CORE = _stub_core()
        return _STUB_CORE

    def grow_out(self) -> None:
        """Room for the coming batch: its new needs and every come-back that may join it."""
        jr = self.record
        cap = 2 * (len(jr.b_need) + int(jr.count[J_DUE]))
        self.out = new_out(cap, self.max_attempts)
        self.record = jr._replace(**_batch_buffers(cap))


def _stub_core():
    """A customer state, tables and params of the right types for a run without journeys
    (the loop never reads them: ``Journey.active`` is 0)."""
    from .journey_core import CoreParams, CoreTables, CustomerState

    i8, f8 = np.int64, np.float64
    zi, zf = np.zeros(1, i8), np.zeros(1, f8)
    st = CustomerState(segment=zi, registered_from=zf, api=zi, ok=zi.copy(), bad=zi.copy(),
                       guided=zi.copy(), need_customer=zi, need_intent=zi)
    tb = CoreTables(u0=np.zeros((1, 1, 1)), after=np.zeros((1, 1)), guided_bonus=zf,
                    breaks=zf, time_mask=zi, book_mask=zi, wait_mask=zi,
                    next_open=np.zeros((1, 1)), cust_mask=zi, success=np.zeros((1, 1)),
                    scale=np.zeros((1, 1)), login_fail=zf, login_add=zf, session=zf,
                    fcr=np.zeros((1, 1)))
    par = CoreParams(success_bonus=0.0, failure_penalty=0.0, give_up_utility=0.0,
                     give_up_per_attempt=0.0, max_attempts=1, webshop_target_share=0.0,
                     hard_to_use_share=0.0, return_delay_s=0.0, horizon_s=0.0,
                     retry_penalty=0.0, wait_utility=0.0, wait_per_hour=0.0,
                     wait_spread_s=0.0, bot=-1, handover_to=-1, handover_utility=0.0,
                     bot_in_front=False,
                     webshop=-1, portal=-1, passed_on=np.zeros(1, np.int8), lead_s=zf,
                     login_only_from=zf, login_only_first=0.0,
                     needs_login=np.zeros(1, np.int8), is_digital=np.zeros(1, np.bool_))
    return st, tb, par


_STUB_CORE = None


def simulate_fast(scenario, run, seed: int, replication: int, staffing: dict | None = None):
    """:func:`sim.engine.model.simulate` on the compiled engine: the same records."""
    streams = Streams(seed, replication)
    horizon = run.hours * 3600.0
    limit, why = contact_limit(scenario, run)
    channel_specs, pool_specs = scenario.agent_model()
    js = _JourneySide(scenario, horizon, streams)
    arrivals = _direct_arrivals(scenario, run, channel_specs, streams, horizon, js.n_needs)
    fills = [channel_fills(streams, name, spec) for name, spec in channel_specs.items()]
    steps = [staffing[p] if staffing is not None else
             capacity_steps(spec, scenario.start_date, horizon)
             for p, spec in pool_specs.items()]
    ag, margin = _agents(scenario, channel_specs, pool_specs, steps, arrivals, fills,
                         horizon, js.active)
    ev = _events(sum(len(t) for t, _ in steps) + len(channel_specs) + 2 * margin + START_ROWS)
    n_direct = int(arrivals[1][-1]) if len(arrivals[1]) else 0
    expected = (n_direct * 1.3 + js.n_needs * 2.0) * START_SHARE + START_ROWS
    c = _contacts(int(min(expected, limit + 2)) + len(js.out.d_need) + len(js.out.a_t) + 4)
    # the first events, in the SimPy engine's order: capacity changes, the first batch of
    # needs, each channel's first arrival
    for p, (times, agents) in enumerate(steps):
        for t, n in zip(times.tolist(), agents.tolist()):
            push(ev, ag, 0.0 + t, EV_CAPACITY, p, 0, float(n))
    if js.n_needs:
        push(ev, ag, 0.0, EV_BATCH, 0, 0, 0.0)
    for q, times in enumerate(arrivals[0]):
        if len(times):
            push(ev, ag, 0.0 + float(times[0]), EV_ARRIVE, q, 0, 0.0)
    c, ag = _run(c, ev, ag, js, horizon, limit, why, margin, fills)
    return _records(scenario, replication, horizon, c, ag, js, pool_specs,
                    js.n_needs + n_direct)


def _direct_arrivals(scenario, run, channel_specs: dict, streams, horizon: float,
                     first_need: int):
    """(arrival times per channel, their offsets, each channel's first need id): need ids
    after the journeys' needs, channel by channel, as in the SimPy engine."""
    times, first = [], []
    for name, spec in channel_specs.items():
        rates = hourly_rates(spec.arrivals_per_hour, spec.profile, scenario.start_date,
                             math.ceil(run.hours))
        times.append(poisson_arrivals(streams.rng(f"{name}.arrivals"), rates, horizon))
        first.append(first_need + sum(len(t) for t in times[:-1]))
    off = np.zeros(len(times) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(t) for t in times])
    return times, off, np.array(first, dtype=np.int64)


def _random_buffers(fills: list, times: list, keyed: bool):
    """(numbers [queue, source, n], filled [queue, source]): each source's first numbers
    (runs with journeys draw by key: no buffers)."""
    n_q, n_s = len(fills), len(DRAW_SOURCES)
    if keyed:
        return np.empty((n_q, n_s, 1)), np.full((n_q, n_s), 1 << 62, dtype=np.int64)
    block = int(min(max([len(t) for t in times], default=0) * 1.3 * START_SHARE + 16, 4 * BLOCK))
    draws = np.empty((n_q, n_s, block))
    for q in range(n_q):
        for s, src in enumerate(DRAW_SOURCES):
            draws[q, s] = fills[q][src](block)
    return draws, np.full((n_q, n_s), block, dtype=np.int64)


def _queue_arrays(scenario, channel_specs: dict, horizon: float) -> dict:
    """The queues' fields of :class:`Agents`: codes, priority classes, opening windows,
    redials and the handle-time and patience shapes of the counter-based draws."""
    reg, names, specs = scenario.registry, list(channel_specs), list(channel_specs.values())
    cum = [list(np.cumsum(sp.priority_shares)[:-1]) for sp in specs]
    checks = [open_check(sp.open_hours, scenario.start_date, horizon) for sp in specs]
    code_q = np.full(len(reg), -1, dtype=np.int64)
    for q, name in enumerate(names):
        code_q[reg.code(name)] = q
    shapes = np.array([handle_shape(sp.handle) for sp in specs]).reshape(len(specs), 4)
    classes = [len(sp.priority_shares) for sp in specs]
    f8 = np.float64
    return dict(
        q_code=np.array([reg.code(n) for n in names], dtype=np.int64), code_q=code_q,
        q_classes=np.array(classes, dtype=np.int64), q_cum_off=_flat(cum)[0],
        q_cum=np.array([v for x in cum for v in x], dtype=f8),
        q_head=np.full((len(specs), max(classes, default=1)), -1, dtype=np.int64),
        q_tail=np.full((len(specs), max(classes, default=1)), -1, dtype=np.int64),
        q_redial_p=np.array([sp.redial_probability for sp in specs], dtype=f8),
        q_always=np.array([c.always for c in checks], dtype=np.bool_),
        q_open_off=_flat([c.bounds()[0] for c in checks])[0],
        q_starts=np.array([x for c in checks for x in c.bounds()[0]], dtype=f8),
        q_ends=np.array([x for c in checks for x in c.bounds()[1]], dtype=f8),
        q_dist=shapes[:, 0].astype(np.int64), q_mean=shapes[:, 1].astype(f8),
        q_mu=shapes[:, 2].astype(f8), q_sigma=shapes[:, 3].astype(f8),
        q_patience=np.array([math.inf if sp.patience_seconds is None else sp.patience_seconds
                             for sp in specs], dtype=f8),
        q_redial_mean=np.array([sp.redial_delay_seconds for sp in specs], dtype=f8))


def _agents(scenario, channel_specs: dict, pool_specs: dict, steps: list, arrivals, fills,
            horizon: float, keyed: bool):
    """(the :class:`Agents` record, the most events one event can schedule + 8)."""
    names = list(channel_specs)
    skills = [[names.index(s) for s in spec.skills] for spec in pool_specs.values()]
    q_pools = [[p for p, sk in enumerate(skills) if q in sk] for q in range(len(names))]
    conc = np.array([float(spec.concurrency) for spec in pool_specs.values()])
    max_slots = max([float(np.max(a, initial=0)) * c for (_, a), c in zip(steps, conc)] + [0.0])
    times, off, first = arrivals
    draws, draw_len = _random_buffers(fills, times, keyed)
    n_p = len(pool_specs)
    ag = Agents(
        **_queue_arrays(scenario, channel_specs, horizon),
        q_pools_off=_flat(q_pools)[0], q_pools=_flat(q_pools)[1],
        p_skills_off=_flat(skills)[0], p_skills=_flat(skills)[1], p_conc=conc,
        p_wrap=np.array([float(spec.wrap_up_seconds) for spec in pool_specs.values()]),
        p_cap=np.zeros(n_p), p_busy=np.zeros(n_p, dtype=np.int64),
        arr_off=off, arr_t=np.concatenate(times) if times else np.empty(0), arr_first=first,
        draws=draws, draw_pos=np.zeros(draw_len.shape, dtype=np.int64), draw_len=draw_len,
        st_pool=np.empty(START_ROWS, np.int64), st_t=np.empty(START_ROWS),
        st_n=np.empty(START_ROWS),
        count=np.zeros(4, dtype=np.int64), clock=np.zeros(2))
    return ag, int(max_slots) + 8


def _run(c, ev, ag, js, horizon: float, limit: int, why: str, margin: int, fills: list):
    """Run the loop to the end, enlarging whatever buffer it asks for; the queues' last
    contacts then abandoned or left open (``finish``). Returns the final (contacts, agents)."""
    st, tb, par = js.core_args()
    while True:
        jr = js.record
        status = run_loop(c, ev, ag, jr, st, tb, par, js.out, horizon, limit, margin)
        if status == DONE:
            break
        if status == GROW_CONTACTS:
            c = _grown(c, int(ag.count[N_CONTACTS]), 2 * len(c.need) + len(js.out.d_need))
        elif status == GROW_EVENTS:
            ev = _grown(ev, int(ag.count[N_EVENTS]),
                        2 * len(ev.t) + len(js.out.a_t) + len(js.out.b_t) + 2 * margin)
        elif status == GROW_STAFFED:
            ag = _grown(ag, int(ag.count[N_STAFFED]), 2 * len(ag.st_t) + margin,
                        ("st_pool", "st_t", "st_n"))
        elif status == REFILL:
            ag = _refill(ag, fills)
        elif status == GROW_OUT:
            js.grow_out()
        elif status == GROW_DUE:
            due = _grown(jr.due, int(jr.count[J_DUE]), 2 * len(jr.due.t) + len(js.out.b_t) + margin)
            js.record = jr._replace(due=due)
        elif status == GROW_ANSWERED:
            js.record = _grown(jr, int(jr.count[J_ANSWERED]), 2 * len(jr.answered) + margin,
                               ("answered",))
        elif status == TOO_MANY:
            raise TooManyContacts(limit, float(ag.clock[1]), why)
        else:                                    # pragma: no cover - a new status
            raise RuntimeError(f"fast engine: unknown status {status}")
    finish_queues(c, ag, horizon)
    return c, ag


def _records(scenario, replication: int, horizon: float, c, ag, js, pool_specs: dict,
             needs: int):
    """The :class:`sim.engine.model.RunRecords` of the run, as the SimPy engine gives them."""
    from .model import RunRecords

    reg, pools = scenario.registry, list(pool_specs)
    n = int(ag.count[N_CONTACTS])
    raw = {k: getattr(c, k)[:n] for k in LOG_DTYPES}   # views: c is ours alone
    ns = int(ag.count[N_STAFFED])
    st_pool, st_t, st_n = ag.st_pool[:ns], ag.st_t[:ns], ag.st_n[:ns]
    target, reason, guided = c.target[:n], c.reason[:n], c.guided[:n]
    extras = (js.state.need_customer, js.state.need_intent, js.state.segment, js.need_t) \
        if js.active else ()
    return RunRecords(
        replication=replication, horizon_seconds=horizon,
        contacts=record_columns(
            raw, dict(zip(np.flatnonzero(target >= 0).tolist(), target[target >= 0].tolist())),
            dict(zip(np.flatnonzero(reason >= 0).tolist(), reason[reason >= 0].tolist())),
            set(np.flatnonzero(guided).tolist()), *extras),
        channels=reg.names, channel_kinds=reg.kinds, pools=tuple(pools),
        outcomes=OUTCOMES, reasons=REASONS,
        staffed={name: (st_t[st_pool == p].copy(), st_n[st_pool == p].copy())
                 for p, name in enumerate(pools)},
        pool_concurrency={p: spec.concurrency for p, spec in pool_specs.items()},
        pool_wrap_seconds={p: spec.wrap_up_seconds for p, spec in pool_specs.items()},
        intents=tuple(scenario.needs.intents) if js.active else (),
        segments=tuple(scenario.customers.segments) if js.active else (),
        needs=needs,
        registered_share_end=(registered_share(js.join_s, js.state.registered_from, horizon)
                              if js.active else math.nan),
    )


def warm_up() -> float:
    """Compile the engine (or load it from numba's cache) with a one-hour queue; seconds
    taken. The first run after an install compiles for about 35 s: ``make test`` and
    ``make demo`` do it once, before their processes start, rather than in each of them."""
    import time

    from .scenario import parse_run, parse_scenario

    started = time.perf_counter()
    sc = parse_scenario({"name": "warm_up", "queue": {"arrivals_per_hour": 60.0,
                                                      "aht_seconds": 180.0, "agents": 2}})
    simulate_fast(sc, parse_run({"hours": 1.0}), 0, 0)
    return time.perf_counter() - started


def _refill(ag: Agents, fills: list) -> Agents:
    """Top up every random buffer that runs short with the next numbers of its stream."""
    n_q, n_s, _ = ag.draws.shape
    rows = {}
    for q in range(n_q):
        for s, src in enumerate(DRAW_SOURCES):
            pos, end = int(ag.draw_pos[q, s]), int(ag.draw_len[q, s])
            rest = ag.draws[q, s, pos:end]
            if end - pos < 2:            # only a short stream draws: the others keep their order
                rest = np.concatenate([rest, fills[q][src](max(16, int(BLOCK * START_SHARE)))])
            rows[q, s] = rest
    width = max(len(r) for r in rows.values())
    draws = np.empty((n_q, n_s, width))
    draw_len = np.empty((n_q, n_s), dtype=np.int64)
    for (q, s), r in rows.items():
        draws[q, s, :len(r)] = r
        draw_len[q, s] = len(r)
    ag.draw_pos[:] = 0
    return ag._replace(draws=draws, draw_len=draw_len)
