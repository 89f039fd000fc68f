"""What customers pay for a saving: the customer-impact metrics of a contact log.

Computed per replication from the contact log, next to agent cost (issue 15, item 4).
A need's contacts are ordered by start, then contact id; its **last** contact decides
whether it was resolved (as everywhere in :mod:`analysis.metrics`), and a resolved
need's last contact is its *resolving* contact.

* ``unresolved_share`` = unresolved needs / needs (given up, or still open when the run
  ended);
* ``customers_with_unresolved`` = customers with at least one unresolved need;
* ``resolution_hours_mean``, ``resolution_hours_p90`` = over resolved needs, the time from
  when the need arose (``need_arrival_s``; a log without it: the start of the need's first
  contact) to the end of its resolving contact, in hours
  (the 90th percentile by linear interpolation); they need the log's ``arrival_s`` and
  ``end_s`` (seconds; simulated logs have them), else NaN;
* ``contacts_per_resolved_need`` = contacts of resolved needs / resolved needs;
* ``revenue_at_risk_eur`` = Σ over the log's customers of their segment's
  ``annual_value_eur`` × P(leave), where P(leave) is the segment's
  ``leave_if_unresolved`` for a customer with an unresolved need, else its
  ``leave_if_poor_experience`` for a customer with a **poor experience** — a need with at
  least :data:`POOR_ABANDONED_CONTACTS` abandoned contacts, or a cold bot hand-over (a
  contact of the hand-over channel escalated from a bot contact, counted only when the
  scenario's bot hands over cold) — else 0. Customers without a contact in the log
  count 0. NaN when no segment values are given (a log alone: ``ccsim-metrics``) or the
  log has a customer without a segment (single-queue scenarios have none).

The segment values and the hand-over are plain data (:class:`ImpactInputs`), built
from the scenario by :mod:`sim.cli`; this module knows nothing of the engine.
Everything is vectorised (numpy): a baseline year (1.5 M contacts, 1 M needs) costs
about a tenth of a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = ["SegmentValue", "ImpactInputs", "customer_impact", "IMPACT_KEYS", "REVENUE_KEY",
           "POOR_ABANDONED_CONTACTS"]

#: A need with this many abandoned contacts or more is a poor experience.
POOR_ABANDONED_CONTACTS = 2
REVENUE_KEY = "revenue_at_risk_eur"
#: The keys :func:`customer_impact` adds beside ``unresolved_needs`` (which log_metrics has).
IMPACT_KEYS = ("unresolved_share", "customers_with_unresolved", "resolution_hours_mean",
               "resolution_hours_p90", "contacts_per_resolved_need", REVENUE_KEY)


class SegmentValue(NamedTuple):
    """What an account of a segment is worth a year, and how likely it is to leave."""

    annual_value_eur: float
    leave_if_unresolved: float
    leave_if_poor_experience: float


@dataclass(frozen=True)
class ImpactInputs:
    """Scenario data the customer-impact metrics need, as plain data.

    ``segment_values``: segment name → :class:`SegmentValue` (None: not known, revenue at
    risk is NaN); ``cold_handover_channel``: the agent channel the bot hands over to
    *cold* (None: the bot hands over seamlessly, or not at all — no cold hand-over).
    """

    segment_values: dict[str, SegmentValue] | None = field(default=None)
    cold_handover_channel: str | None = None


def _per_need_sum(flags: np.ndarray, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """How many rows of each need have ``flags`` (needs in ``starts`` order)."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    return np.add.reduceat(flags[order].astype(np.int64), starts)


def _cold_handover_rows(df: pd.DataFrame, channel: str | None) -> np.ndarray:
    """Rows of the hand-over channel escalated from a bot contact (all False without a cold
    hand-over)."""
    out = np.zeros(len(df), dtype=bool)
    if channel is None:
        return out
    to = (df["channel"] == channel).to_numpy()
    if not to.any():
        return out
    bot_ids = df.loc[(df["channel"] == "bot").to_numpy(), "contact_id"]
    from_bot = df["escalated_from"][to].isin(bot_ids)
    out[np.flatnonzero(to)] = from_bot.fillna(False).to_numpy(dtype=bool)
    return out


def _resolution_hours(df: pd.DataFrame, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Hours from when each need arose (``need_arrival_s``: a simulated log has it, so a
    night spent waiting for the phone's opening counts) — else its first contact's start —
    to the end of its last contact (NaN without ``arrival_s`` and ``end_s``)."""
    if "arrival_s" not in df.columns or "end_s" not in df.columns:
        return np.full(len(last), math.nan)
    column = "need_arrival_s" if "need_arrival_s" in df.columns else "arrival_s"
    arrival = df[column].to_numpy(dtype=float)
    end = df["end_s"].to_numpy(dtype=float)
    return (end[last] - arrival[first]) / 3600.0


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def _segment_arrays(seg: pd.Series, values: dict[str, SegmentValue] | None):
    """(segment code per need, value per code, P(leave | unresolved), P(leave | poor)), or
    None when revenue at risk cannot be computed (no values, or a need without segment)."""
    if values is None or seg is None:
        return None
    codes, names = pd.factorize(seg, use_na_sentinel=True)
    if (codes < 0).any():
        return None
    unknown = [str(n) for n in names if str(n) not in values]
    if unknown:
        raise ValueError(f"segment(s) {', '.join(unknown)} of the log have no value and leave "
                         f"probabilities; known: {', '.join(values)}")
    table = np.array([values[str(n)] for n in names], dtype=float).reshape(-1, 3)
    return codes, table[:, 0], table[:, 1], table[:, 2]


def _revenue_at_risk(customer: pd.Series, segment, unresolved: np.ndarray,
                     poor: np.ndarray) -> float:
    """Σ over customers of annual value × P(leave) (see the module docstring); per need
    arrays in, the customers found by factorising ``customer``."""
    if segment is None:
        return math.nan
    seg_code, value, p_unresolved, p_poor = segment
    cust, names = pd.factorize(customer)
    n = len(names)
    any_unresolved = np.bincount(cust, weights=unresolved, minlength=n) > 0
    any_poor = np.bincount(cust, weights=poor, minlength=n) > 0
    seg_of = np.zeros(n, dtype=np.int64)
    seg_of[cust] = seg_code
    p_leave = np.where(any_unresolved, p_unresolved[seg_of],
                       np.where(any_poor, p_poor[seg_of], 0.0))
    return float(np.sum(value[seg_of] * p_leave))


def customer_impact(df: pd.DataFrame, order: np.ndarray, starts: np.ndarray,
                    inputs: ImpactInputs | None = None) -> dict:
    """The customer-impact metrics (:data:`IMPACT_KEYS`) of one validated log.

    ``order``: row positions sorted by need, then start, then contact id; ``starts``: the
    positions in ``order`` where each need's rows begin (:func:`analysis.metrics.need_order`).
    """
    inputs = inputs or ImpactInputs()
    ends = np.r_[starts[1:], len(order)].astype(np.int64) if len(starts) else starts
    first, last = order[starts], order[ends - 1] if len(starts) else order[:0]
    sizes = ends - starts
    resolved = (df["outcome"] == "resolved").to_numpy()[last]
    unresolved = ~resolved
    abandoned = _per_need_sum((df["outcome"] == "abandoned").to_numpy(), order, starts)
    cold = _per_need_sum(_cold_handover_rows(df, inputs.cold_handover_channel), order, starts)
    poor = (abandoned >= POOR_ABANDONED_CONTACTS) | (cold > 0)
    hours = _resolution_hours(df, first, last)[resolved]
    customer = df["customer_id"].take(last)
    n_resolved = int(resolved.sum())
    segment = _segment_arrays(df["segment"].take(last) if "segment" in df.columns else None,
                              inputs.segment_values)
    return {
        "unresolved_share": _ratio(int(unresolved.sum()), len(last)),
        "customers_with_unresolved": int(customer[unresolved].nunique()),
        "resolution_hours_mean": float(hours.mean()) if len(hours) else math.nan,
        "resolution_hours_p90": float(np.quantile(hours, 0.9)) if len(hours) else math.nan,
        "contacts_per_resolved_need": _ratio(int(sizes[resolved].sum()), n_resolved),
        REVENUE_KEY: _revenue_at_risk(customer, segment, unresolved, poor),
    }
