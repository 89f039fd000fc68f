"""The contact log kept during a run: flat, append-only columns, one entry per contact.

Columns are :mod:`array` arrays (8 bytes a float) so a million contacts cost
tens of MB. KPIs are computed later, from these records, never inside the engine.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

__all__ = ["ContactLog", "record_columns", "LOG_DTYPES", "TooManyContacts", "RESOLVED",
           "ABANDONED", "FAILED", "OPEN", "ESCALATED", "OUTCOMES", "REASONS"]

#: Outcome codes. RESOLVED: resolved (for agent channels: answered). ABANDONED: left the
#: queue. FAILED: ended without resolution or hand-over (also: channel closed).
#: OPEN: still waiting when the run ended. ESCALATED: handed to another channel.
RESOLVED, ABANDONED, FAILED, OPEN, ESCALATED = 0, 1, 2, 3, 4
OUTCOMES = ("resolved", "abandoned", "failed", "open", "escalated")
#: Why a portal action failed (seed 000 feedback categories); -1 = no reason recorded.
REASONS = ("not_working", "hard_to_use", "could_not_find")
NONE = -1
SHORT = 64      # ContactLog.extend: fewer rows than this are appended as lists
_DEFAULTS = {"priority": 0, "escalated_from": NONE, "handle": math.nan, "answer": math.nan,
             "end": math.nan, "outcome": OPEN, "pool": NONE}   # of columns extend is not given

_COLUMNS = (  # log attribute, array typecode, numpy dtype, name in the records
    ("need", "q", np.int64, "need_id"), ("channel", "b", np.int8, "channel_code"),
    ("priority", "b", np.int8, "priority"), ("attempt", "i", np.int32, "attempt"),
    ("escalated_from", "q", np.int64, "escalated_from"),
    ("arrival", "d", np.float64, "arrival_s"), ("handle", "d", np.float64, "handle_s"),
    ("answer", "d", np.float64, "answer_s"), ("end", "d", np.float64, "end_s"),
    ("outcome", "b", np.int8, "outcome_code"), ("pool", "b", np.int8, "pool_code"),
)


#: the log's columns (attribute → numpy dtype), for a log kept elsewhere (sim.engine.fast)
LOG_DTYPES = {name: dtype for name, _, dtype, _ in _COLUMNS}


class TooManyContacts(RuntimeError):
    """The run made more contacts than its limit (``run.max_contacts``): a runaway scenario
    (say, every caller redialling at once with no agent on duty) stops here, not in the
    machine's memory."""

    def __init__(self, limit: int, t: float, why: str = ""):
        self.limit, self.t = limit, t
        super().__init__(f"the run made more than {limit:,} contacts in one replication"
                         + (f" ({why})" if why else "") + f", by simulated hour {t / 3600.0:,.1f}")


class ContactLog:
    """Per-contact columns; the contact id is the row number.

    Times are seconds from the scenario start: ``arrival``; ``answer`` (an agent
    took it, NaN if never); ``end`` (the customer left: service end, abandon,
    failure, end of a digital session). ``handle`` is the agent time drawn for
    the contact (wrap-up excluded). ``escalated_from`` is -1 or the contact this
    one was handed over from. Rarely set values are kept sparse:
    ``target_product`` and ``reason`` (contact id → code) and ``guided`` (ids).
    Customer, intent and segment follow from the need (see :meth:`columns`).
    """

    def __init__(self, limit: int | None = None, why: str = ""):
        self.limit = limit if limit is not None else 2 ** 62
        self._why = why
        for name, code, _, _ in _COLUMNS:
            setattr(self, name, array(code))
        self._appends = tuple(getattr(self, name).append for name, _, _, _ in _COLUMNS)
        self.target_product: dict[int, int] = {}
        self.reason: dict[int, int] = {}
        self.guided: set[int] = set()
        self._defaults: dict[str, np.ndarray] = {}

    def add(self, need: int, channel: int, attempt: int, t: float, handle: float,
            priority: int = 0, escalated_from: int = NONE, outcome: int = OPEN,
            end: float = math.nan) -> int:
        """Record a new contact arriving at ``t``; returns its id."""
        (a_need, a_channel, a_priority, a_attempt, a_esc, a_arrival, a_handle, a_answer, a_end,
         a_outcome, a_pool) = self._appends
        a_need(need)
        a_channel(channel)
        a_priority(priority)
        a_attempt(attempt)
        a_esc(escalated_from)
        a_arrival(t)
        a_handle(handle)
        a_answer(math.nan)
        a_end(end)
        a_outcome(outcome)
        a_pool(NONE)
        n = len(self.arrival)
        if n > self.limit:
            raise TooManyContacts(self.limit, t, self._why)
        return n - 1

    def extend(self, **columns) -> None:
        """Record many contacts at once (numpy arrays; ``t`` is the arrival time).

        Columns not given take their defaults: priority 0, no handle time, not
        answered, end NaN, outcome OPEN, no pool, not escalated.
        """
        columns["arrival"] = columns.pop("t")
        n = len(columns["arrival"])
        if len(self.arrival) + n > self.limit:
            raise TooManyContacts(self.limit, float(np.max(columns["arrival"], initial=0.0)),
                                  self._why)
        for name, _, dtype, _ in _COLUMNS:
            col = getattr(self, name)
            if name in columns:
                value = columns[name]
                if n < SHORT:                       # lists are cheaper for a few rows
                    col.extend(value.tolist())
                else:
                    col.frombytes(np.ascontiguousarray(value, dtype=dtype).view(np.uint8))
            else:
                col.frombytes(self._default_rows(name, dtype, n))

    def _default_rows(self, name: str, dtype, n: int) -> np.ndarray:
        """``n`` copies of the column's default value (from a cached block)."""
        block = self._defaults.get(name)
        if block is None or len(block) < n:
            block = self._defaults[name] = np.full(max(n, 4096), _DEFAULTS[name], dtype=dtype)
        return block[:n].view(np.uint8)

    def __len__(self) -> int:
        return len(self.arrival)

    def columns(self, need_customer=None, need_intent=None, customer_segment=None,
                need_time=None) -> dict:
        """The log as numpy arrays (copies), under their record names, plus ``contact_id``.

        ``need_customer`` / ``need_intent`` (per journey need) and
        ``customer_segment`` give ``customer_id``, ``intent_code`` and
        ``segment_code``; -1 for needs outside them. ``need_time`` (per journey need, s)
        gives ``need_arrival_s``, when the need arose (before any waiting for an opening
        or a booked call); outside journeys the first contact's arrival.
        """
        raw = {name: np.frombuffer(getattr(self, name), dtype=dtype).copy()
               for name, _, dtype, _ in _COLUMNS}
        return record_columns(raw, self.target_product, self.reason, self.guided,
                              need_customer, need_intent, customer_segment, need_time)


def record_columns(raw: dict, target_product: dict, reason: dict, guided: set,
                   need_customer=None, need_intent=None, customer_segment=None,
                   need_time=None) -> dict:
    """The records' contact columns from the log's arrays ``raw`` (log attribute → array of
    the column's dtype, owned by the result), whichever engine kept them
    (:meth:`ContactLog.columns` says what the other arguments give)."""
    n = len(raw["need"])
    cols = {"contact_id": np.arange(n, dtype=np.int64)}
    for name, _, _, key in _COLUMNS:
        cols[key] = raw[name]
    need = cols["need_id"]
    cols["customer_id"] = _lookup(need_customer, need)
    cols["intent_code"] = _lookup(need_intent, need).astype(np.int8)
    cols["segment_code"] = _lookup(customer_segment, cols["customer_id"]).astype(np.int8)
    cols["need_arrival_s"] = _need_arrival(need_time, need, cols["arrival_s"])
    for key, values in (("target_product", target_product), ("reason_code", reason)):
        arr = np.full(n, NONE, dtype=np.int8)
        if values:
            arr[np.fromiter(values.keys(), np.int64)] = np.fromiter(values.values(), np.int8)
        cols[key] = arr
    marks = np.zeros(n, dtype=np.int8)
    marks[np.fromiter(guided, np.int64, len(guided))] = 1
    cols["guided"] = marks
    return cols


def _need_arrival(need_time, need: np.ndarray, arrival: np.ndarray) -> np.ndarray:
    """When each contact's need arose: ``need_time[need]`` for journey needs, else the
    earliest arrival of the need's contacts."""
    out = np.empty(len(need))
    known = 0 if need_time is None else len(need_time)
    ok = need < known
    out[ok] = np.asarray(need_time)[need[ok]] if known else 0.0
    rest = np.flatnonzero(~ok)                   # direct arrivals: their first contact
    if len(rest):
        first = np.full(int(need[rest].max()) + 1, np.inf)
        np.minimum.at(first, need[rest], arrival[rest])
        out[rest] = first[need[rest]]
    return out


def _lookup(table, index: np.ndarray) -> np.ndarray:
    """table[index] where 0 <= index < len(table), else -1."""
    out = np.full(len(index), NONE, dtype=np.int64)
    if table is None or len(table) == 0:
        return out
    table = np.asarray(table)
    ok = (index >= 0) & (index < len(table))
    out[ok] = table[index[ok]]
    return out
