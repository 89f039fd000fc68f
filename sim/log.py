"""The contact log kept during a run: flat, append-only columns, one entry per contact.

Columns are :mod:`array` arrays (8 bytes a float) so a million contacts cost
tens of MB. KPIs are computed later, from these records, never inside the engine.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

__all__ = ["ContactLog", "RESOLVED", "ABANDONED", "FAILED", "OPEN", "ESCALATED", "OUTCOMES",
           "REASONS"]

#: Outcome codes. RESOLVED: resolved (for agent channels: answered). ABANDONED: left the
#: queue. FAILED: ended without resolution or hand-over (also: channel closed).
#: OPEN: still waiting when the run ended. ESCALATED: handed to another channel.
RESOLVED, ABANDONED, FAILED, OPEN, ESCALATED = 0, 1, 2, 3, 4
OUTCOMES = ("resolved", "abandoned", "failed", "open", "escalated")
#: Why a portal action failed (seed 000 feedback categories); -1 = no reason recorded.
REASONS = ("not_working", "hard_to_use", "could_not_find")
NONE = -1

_COLUMNS = (  # log attribute, array typecode, numpy dtype, name in the records
    ("need", "q", np.int64, "need_id"), ("customer", "q", np.int64, "customer_id"),
    ("channel", "b", np.int8, "channel_code"), ("intent", "b", np.int8, "intent_code"),
    ("segment", "b", np.int8, "segment_code"), ("priority", "b", np.int8, "priority"),
    ("attempt", "h", np.int16, "attempt"), ("escalated_from", "q", np.int64, "escalated_from"),
    ("arrival", "d", np.float64, "arrival_s"), ("handle", "d", np.float64, "handle_s"),
    ("answer", "d", np.float64, "answer_s"), ("end", "d", np.float64, "end_s"),
    ("outcome", "b", np.int8, "outcome_code"), ("pool", "b", np.int8, "pool_code"),
    ("target_product", "b", np.int8, "target_product"), ("reason", "b", np.int8, "reason_code"),
    ("guided", "b", np.int8, "guided"),
)


class ContactLog:
    """Per-contact columns; the contact id is the row number.

    Times are seconds from the scenario start: ``arrival``; ``answer`` (an agent
    took it, NaN if never); ``end`` (the customer left: service end, abandon,
    failure, end of a digital session). ``handle`` is the agent time drawn for
    the contact (wrap-up excluded). ``customer``, ``intent``, ``segment`` are -1
    for contacts outside customer journeys; ``escalated_from`` is -1 or the
    contact this one was handed over from; ``target_product`` -1/0/1.
    """

    def __init__(self):
        for name, code, _, _ in _COLUMNS:
            setattr(self, name, array(code))
        self._appends = tuple(getattr(self, name).append for name, _, _, _ in _COLUMNS)

    def add(self, need: int, channel: int, attempt: int, t: float, handle: float,
            customer: int = NONE, intent: int = NONE, segment: int = NONE, priority: int = 0,
            escalated_from: int = NONE, outcome: int = OPEN, end: float = math.nan,
            guided: int = 0) -> int:
        """Record a new contact arriving at ``t``; returns its id."""
        (a_need, a_customer, a_channel, a_intent, a_segment, a_priority, a_attempt, a_esc,
         a_arrival, a_handle, a_answer, a_end, a_outcome, a_pool, a_target, a_reason,
         a_guided) = self._appends
        a_need(need)
        a_customer(customer)
        a_channel(channel)
        a_intent(intent)
        a_segment(segment)
        a_priority(priority)
        a_attempt(attempt)
        a_esc(escalated_from)
        a_arrival(t)
        a_handle(handle)
        a_answer(math.nan)
        a_end(end)
        a_outcome(outcome)
        a_pool(NONE)
        a_target(NONE)
        a_reason(NONE)
        a_guided(guided)
        return len(self.arrival) - 1

    def __len__(self) -> int:
        return len(self.arrival)

    def columns(self) -> dict[str, np.ndarray]:
        """The log as numpy arrays (copies), under their record names, plus ``contact_id``."""
        cols = {"contact_id": np.arange(len(self), dtype=np.int64)}
        for name, _, dtype, key in _COLUMNS:
            cols[key] = np.frombuffer(getattr(self, name), dtype=dtype).copy()
        return cols
