"""Run records → the two tables every run writes: contacts and intervals.

``records`` is what :func:`sim.engine.model.simulate` returns (used by attribute only,
so this module never imports the engine). Times in the tables are seconds from
the scenario's start unless a column says otherwise; ``start`` is a timestamp.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.channels import DIGITAL, measured_by_completion

from .areas import area_per_bin, step_area_per_bin

__all__ = ["ChannelTargets", "channel_mask", "contacts_frame", "intervals_frame", "wait_seconds",
           "within_target"]

ChannelTargets = dict  # channel name -> answer target (s); due time for backlog channels


def wait_seconds(records) -> np.ndarray:
    """Time in an agent queue: to answer, to abandoning, or to the end of the run if still
    waiting; NaN for contacts in channels without agents."""
    c, horizon = records.contacts, records.horizon_seconds
    arrival, answer, end = c["arrival_s"], c["answer_s"], c["end_s"]
    wait = np.where(np.isnan(answer), end - arrival, answer - arrival)
    wait = np.where(np.isnan(wait), horizon - arrival, wait)
    agent_codes = [k for k, kind in enumerate(records.channel_kinds) if kind != DIGITAL]
    agent = np.isin(c["channel_code"], agent_codes)
    return np.where(agent, np.maximum(wait, 0.0), np.nan)


def channel_mask(records, name: str) -> np.ndarray:
    """The contacts of channel ``name`` (compared as codes: no names per contact)."""
    code = records.channels.index(name) if name in records.channels else -1
    return records.contacts["channel_code"] == code


def within_target(records, wait: np.ndarray, targets: ChannelTargets) -> np.ndarray:
    """Met the channel's target: answered within it, or for a backlog channel completed
    within the due time from creation (the one rule: :func:`sim.engine.channels.measured_by_completion`)."""
    c = records.contacts
    answered = ~np.isnan(c["answer_s"])
    completion = c["end_s"] - c["arrival_s"]
    kinds = dict(zip(records.channels, records.channel_kinds))
    out = np.zeros(len(answered), dtype=bool)
    for name, target in targets.items():
        m = channel_mask(records, name)
        measure = completion if measured_by_completion(kinds[name]) else wait
        out[m] = answered[m] & (measure[m] <= target)
    return out


def _names(codes: np.ndarray, names) -> pd.Categorical:
    """Codes → categorical names; code -1 → missing."""
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int16), categories=list(names))


def contacts_frame(records, start_date: str, columns: tuple[str, ...] | None = None
                   ) -> pd.DataFrame:
    """One row per contact: the contact-log columns first, then queue and handle times
    (``columns``: only these, in this order — a fit counting volumes needs three).

    Outside customer journeys each need is its own caller (``customer_id =
    need_id``) and intent and segment are missing.
    """
    c = records.contacts
    n = len(c["contact_id"])
    esc, target = c["escalated_from"], c["target_product"]
    build = {
        "replication": lambda: np.full(n, records.replication, dtype=np.int32),
        "contact_id": lambda: c["contact_id"],
        "need_id": lambda: c["need_id"],
        "customer_id": lambda: np.where(c["customer_id"] >= 0, c["customer_id"], c["need_id"]),
        "channel": lambda: _names(c["channel_code"], records.channels),
        "start": lambda: np.datetime64(start_date, "ns")
        + (c["arrival_s"] * 1e9).astype("timedelta64[ns]"),
        "outcome": lambda: _names(c["outcome_code"], records.outcomes),
        "escalated_from": lambda: pd.arrays.IntegerArray(np.maximum(esc, 0), esc < 0),
        "target_product": lambda: pd.arrays.BooleanArray(target == 1, target < 0),
        "segment": lambda: _names(c["segment_code"], records.segments),
        "intent": lambda: _names(c["intent_code"], records.intents),
        "priority": lambda: c["priority"],
        "attempt": lambda: c["attempt"],
        "arrival_s": lambda: c["arrival_s"],
        "need_arrival_s": lambda: c["need_arrival_s"],
        "wait_s": lambda: wait_seconds(records),
        "answer_s": lambda: c["answer_s"],
        "handle_s": lambda: np.where(np.isnan(c["answer_s"]), np.nan, c["handle_s"]),
        "end_s": lambda: c["end_s"],
        "pool": lambda: _names(c["pool_code"], records.pools),
        "failure_reason": lambda: _names(c["reason_code"], records.reasons),
        "guided": lambda: c["guided"].astype(bool),
    }
    return pd.DataFrame({k: build[k]() for k in (columns or build)})


def _busy_spans(records, channel_mask: np.ndarray):
    """(start, end, weight) of agent-busy spans of answered contacts: handle + wrap-up."""
    c = records.contacts
    m = channel_mask & ~np.isnan(c["answer_s"])
    pool_code = c["pool_code"][m]
    wrap = np.array([records.pool_wrap_seconds[p] for p in records.pools] + [0.0])[pool_code]
    conc = np.array([records.pool_concurrency[p] for p in records.pools] + [1])[pool_code]
    start = c["answer_s"][m]
    end = np.minimum(c["end_s"][m] + wrap, records.horizon_seconds)
    return start, end, 1.0 / conc


def intervals_frame(records, start_date: str, interval_seconds: float,
                    targets: ChannelTargets, pool_skills: dict) -> pd.DataFrame:
    """One row per interval and agent channel present in ``targets``.

    Tallies count contacts by arrival interval; ``agents_staffed`` and
    ``agents_busy`` are time-weighted mean levels over the interval (a pool
    shared by several channels is counted in full for each of them;
    ``agents_busy`` counts only this channel's contacts, chat in agent
    equivalents = chats / concurrency).
    """
    c = records.contacts
    horizon = records.horizon_seconds
    edges = np.r_[np.arange(0.0, horizon, interval_seconds), horizon]
    n_bins = len(edges) - 1
    lengths = np.diff(edges)
    wait = wait_seconds(records)
    answered = ~np.isnan(c["answer_s"])
    outcome = c["outcome_code"]
    failed = outcome == records.outcomes.index("failed")
    abandoned = outcome == records.outcomes.index("abandoned")
    within = within_target(records, wait, targets)
    bin_of = np.minimum((c["arrival_s"] // interval_seconds).astype(np.int64), n_bins - 1)
    frames = []
    for name in targets:
        m = channel_mask(records, name)
        offered_m = m & ~failed

        def count(mask):
            return np.bincount(bin_of[mask], minlength=n_bins)

        answered_n = count(offered_m & answered)
        wait_sum = np.bincount(bin_of[offered_m & answered], weights=wait[offered_m & answered],
                               minlength=n_bins)
        staffed = np.zeros(n_bins)
        for pool, skills in pool_skills.items():
            if name in skills:
                t, lv = records.staffed[pool]
                staffed += step_area_per_bin(t, lv, horizon, edges)
        busy = area_per_bin(*_busy_spans(records, m), edges)
        frames.append(pd.DataFrame({
            "replication": np.full(n_bins, records.replication, dtype=np.int32),
            "interval_start": pd.Timestamp(start_date) + pd.to_timedelta(edges[:-1], unit="s"),
            "interval_start_s": edges[:-1],
            "channel": name,
            "offered": count(offered_m),
            "answered": answered_n,
            "abandoned": count(m & abandoned),
            "answered_within_target": count(offered_m & within),
            "closed": count(m & failed),
            "mean_wait_s": np.divide(wait_sum, answered_n, out=np.full(n_bins, np.nan),
                                     where=answered_n > 0),
            "agents_staffed": staffed / lengths,
            "agents_busy": busy / lengths,
        }))
    return pd.concat(frames, ignore_index=True)
