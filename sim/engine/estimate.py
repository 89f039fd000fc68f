"""How big a run will be, before it starts: contacts, memory and disk, from the scenario alone.

A size guard for typing mistakes (``run.hours=10000000``, ``arrivals_per_hour=1e9``,
``run.interval_minutes=0.0001``, ``customers.accounts=1e9``): the estimate is a
few arithmetic steps over the scenario (no simulation), and :func:`size_problems`
refuses a run above ``run.max_contacts`` contacts per replication or
``run.max_memory_gb`` of estimated peak memory, naming the estimate and the
setting to raise.

Per-unit costs were measured on the 2-core development machine (peak resident
memory of ``ccsim`` runs, ``/usr/bin/time -v``): about 0.3 GB to start, about
420 bytes per contact of a replication on the SimPy engine (single queue, 0.4–4 M
contacts; the baseline, 0.6–6 M contacts) and about 540 on the compiled one (its
buffers hold a third more rows than they use, and two more columns; a one-million-contact
single queue peaks at 0.89 GB), and 43 bytes per contact in ``contacts.parquet``.
The baseline makes about 1.6 contacts per need; when queues overflow (too few
agents for the demand) up to about 2.4, so the estimate is "about", not a bound.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

__all__ = ["RunEstimate", "estimate_run", "size_problems", "contact_limit", "CONTACTS_PER_NEED",
           "RUNAWAY_FACTOR", "RUNAWAY_FLOOR"]

HOURS_PER_YEAR = 8760.0
CONTACTS_PER_NEED = 1.6           # the baseline year: 1.63 M contacts for 1.0 M needs
BASE_BYTES = 0.35e9               # Python, numpy, pandas, pyarrow, SimPy, numba, Hydra
BYTES_PER_CONTACT = 550.0         # records, the contact table and its parquet row group
BYTES_PER_ACCOUNT = 200.0         # population and customer state of the journeys
BYTES_PER_NEED_HOUR = 64.0        # hourly need rates per intent (drawn in bulk)
BYTES_PER_INTERVAL_ROW = 250.0    # intervals table rows, kept for every replication
PARQUET_BYTES_PER_CONTACT = 45.0  # contacts.parquet
#: A replication that makes this many times its estimate (and at least the floor) runs away:
#: it is stopped while simulating (redials and come-backs make at most ~40× in legitimate,
#: badly understaffed scenarios: every attempt of a need redialled at probability 0.9).
RUNAWAY_FACTOR, RUNAWAY_FLOOR = 100.0, 2_000_000


@dataclass(frozen=True)
class RunEstimate:
    """Expected size of a run: per replication (``contacts``, ``needs``, ``accounts``) and in
    all (``interval_rows`` over every replication, ``memory_bytes`` peak, ``disk_bytes``)."""

    contacts: float
    needs: float
    accounts: float
    interval_rows: float
    memory_bytes: float
    disk_bytes: float

    def text(self) -> str:
        if not math.isfinite(self.contacts) or not math.isfinite(self.memory_bytes):
            return "no end of contacts and memory (a duration or a rate near infinity)"
        return (f"about {_count(self.contacts)} contacts per replication"
                + (f" ({_count(self.needs)} needs of {_count(self.accounts)} accounts)"
                   if self.needs else "")
                + f", {_count(self.interval_rows)} interval rows, peak memory about "
                f"{_gb(self.memory_bytes)}")


def _count(x: float) -> str:
    if not math.isfinite(x):
        return "unboundedly many"
    if x >= 1e12:
        return f"{x:.1e}"
    if x >= 1e9:
        return f"{x / 1e9:,.1f} billion"
    if x >= 1e6:
        return f"{x / 1e6:,.1f} million"
    return f"{x:,.0f}"


def _gb(b: float) -> str:
    if not math.isfinite(b):
        return "more than any machine has"
    if b >= 1e15:
        return f"{b / 1e12:.1e} TB"
    return f"{b / 1e9:,.1f} GB" if b < 1e12 else f"{b / 1e12:,.0f} TB"


def _ceil(x: float) -> float:
    """``math.ceil`` that keeps an infinite size infinite (``run.hours=1e308``)."""
    return float(math.ceil(x)) if math.isfinite(x) else math.inf


def _mean(values) -> float:
    return sum(values) / len(values) if values else 0.0


def _event_factor(scenario, hours: float) -> float:
    """Mean need multiplier of the dated events over the run (overlaps added, not multiplied)."""
    needs = scenario.needs
    if not needs.events or hours <= 0:
        return 1.0
    start = _dt.date.fromisoformat(scenario.start_date)
    days = max(hours / 24.0, 1e-9)
    extra = 0.0
    for ev in needs.events:
        a = (_dt.date.fromisoformat(ev.start_date) - start).days
        b = (_dt.date.fromisoformat(ev.end_date) - start).days + 1
        overlap = max(0.0, min(b, days) - max(a, 0))
        extra += (ev.need_factor - 1.0) * overlap / days
    return max(1.0 + extra, 0.0)


def estimate_run(scenario, run) -> RunEstimate:
    """The expected size of ``run`` of ``scenario`` (see the module docstring)."""
    hours = run.hours
    channels, pools = scenario.agent_model()
    direct = 0.0
    for ch in channels.values():
        p = ch.profile
        shape = _mean(p.month) * _mean(p.weekday) * _mean(p.hour)
        attempts = 1.0 / (1.0 - min(ch.redial_probability, 0.95)) if ch.patience_seconds else 1.0
        direct += ch.arrivals_per_hour * shape * hours * attempts
    needs = accounts = 0.0
    need_hours = 0.0
    if scenario.has_journeys:
        c, n = scenario.customers, scenario.needs
        accounts = c.accounts + c.new_accounts_per_year * hours / HOURS_PER_YEAR
        mean_accounts = c.accounts + c.new_accounts_per_year * hours / HOURS_PER_YEAR / 2.0
        per_account = sum(s.share * s.needs_per_year for s in c.segments.values())
        shaped = 0.0 if min(sum(n.month), sum(n.weekday), sum(n.hour)) <= 0 else 1.0
        needs = mean_accounts * per_account * hours / HOURS_PER_YEAR * shaped \
            * _event_factor(scenario, hours)
        need_hours = _ceil(hours) * max(len(n.intents), 1)
    contacts = direct + needs * CONTACTS_PER_NEED
    rows = _ceil(hours * 60.0 / run.interval_minutes) * (len(channels) + len(pools)) \
        * run.replications
    staffing = 2.0 if scenario.staffing.mode == "required" else 1.0   # plan + final simulation
    memory = (BASE_BYTES + contacts * BYTES_PER_CONTACT * staffing + accounts * BYTES_PER_ACCOUNT
              + need_hours * BYTES_PER_NEED_HOUR + rows * BYTES_PER_INTERVAL_ROW)
    disk = contacts * PARQUET_BYTES_PER_CONTACT * run.replications if run.write_contacts else 0.0
    return RunEstimate(contacts, needs, accounts, rows, memory, disk)


def size_problems(est: RunEstimate, run, key: str = "run") -> list[str]:
    """Why the run is too large for the limits in ``run`` (empty: it is not)."""
    over = []
    if est.contacts > run.max_contacts:
        over.append((f"{key}.max_contacts", f"{run.max_contacts:,}"))
    if est.memory_bytes > run.max_memory_gb * 1e9:
        over.append((f"{key}.max_memory_gb", f"{run.max_memory_gb:g}"))
    if not over:
        return []
    limits = " and ".join(f"{k} = {v}" for k, v in over)
    names = " and ".join(k for k, _ in over)
    return [f"the run is too large: {est.text()}, above {limits}; make it smaller "
            f"({key}.hours, {key}.replications, {key}.interval_minutes, the arrival rates or "
            f"customers.accounts) or, if the machine can take it, raise {names}"]


def contact_limit(scenario, run) -> tuple[int, str]:
    """The most contacts a replication may make (stopped while simulating above it), and why:
    ``run.max_contacts``, or 100 times the estimate (at least 2 million) when that is lower."""
    est = estimate_run(scenario, run)
    runaway = int(max(RUNAWAY_FACTOR * est.contacts, RUNAWAY_FLOOR))
    if runaway < run.max_contacts:
        return runaway, (f"{RUNAWAY_FACTOR:.0f} times the estimate of about "
                         f"{_count(est.contacts)}")
    return run.max_contacts, "run.max_contacts"
