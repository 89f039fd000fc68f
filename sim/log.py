"""The contact log kept during a run: flat, append-only columns, one entry per contact.

Columns are :mod:`array` arrays (8 bytes a float) so a million contacts cost
tens of MB. KPIs are computed later, from these records, never inside the engine.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

__all__ = ["ContactLog", "RESOLVED", "ABANDONED", "FAILED", "OPEN", "OUTCOMES"]

#: Outcome codes. RESOLVED: answered by an agent. ABANDONED: left the queue.
#: FAILED: arrived while the channel was closed. OPEN: still waiting when the run ended.
RESOLVED, ABANDONED, FAILED, OPEN = 0, 1, 2, 3
OUTCOMES = ("resolved", "abandoned", "failed", "open")


class ContactLog:
    """Per-contact columns; the contact id is the row number."""

    def __init__(self):
        self.need = array("q")
        self.channel = array("b")
        self.priority = array("b")
        self.attempt = array("h")
        self.arrival = array("d")   # s since start
        self.handle = array("d")    # s of agent time drawn for the contact (wrap-up excluded)
        self.answer = array("d")    # s when an agent took it; NaN if never
        self.end = array("d")       # s when the customer left (service end, abandon, fail)
        self.outcome = array("b")
        self.pool = array("b")      # serving pool code, -1 if none

    def add(self, need: int, channel: int, priority: int, attempt: int, t: float,
            handle: float) -> int:
        """Record a new contact arriving at ``t``; returns its id."""
        self.need.append(need)
        self.channel.append(channel)
        self.priority.append(priority)
        self.attempt.append(attempt)
        self.arrival.append(t)
        self.handle.append(handle)
        self.answer.append(math.nan)
        self.end.append(math.nan)
        self.outcome.append(OPEN)
        self.pool.append(-1)
        return len(self.arrival) - 1

    def __len__(self) -> int:
        return len(self.arrival)

    def columns(self) -> dict[str, np.ndarray]:
        """The log as numpy arrays (copies), with ``wait_s`` derived."""
        cols = {
            "contact_id": np.arange(len(self), dtype=np.int64),
            "need_id": np.frombuffer(self.need, dtype=np.int64).copy(),
            "channel_code": np.frombuffer(self.channel, dtype=np.int8).copy(),
            "priority": np.frombuffer(self.priority, dtype=np.int8).copy(),
            "attempt": np.frombuffer(self.attempt, dtype=np.int16).copy(),
            "arrival_s": np.frombuffer(self.arrival, dtype=np.float64).copy(),
            "handle_s": np.frombuffer(self.handle, dtype=np.float64).copy(),
            "answer_s": np.frombuffer(self.answer, dtype=np.float64).copy(),
            "end_s": np.frombuffer(self.end, dtype=np.float64).copy(),
            "outcome_code": np.frombuffer(self.outcome, dtype=np.int8).copy(),
            "pool_code": np.frombuffer(self.pool, dtype=np.int8).copy(),
        }
        return cols
