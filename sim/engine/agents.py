"""Agent pools: capacity from shifts, skills in priority order, wrap-up, chat slots."""

from __future__ import annotations

from array import array

import numpy as np

from .calendar import step_levels, windows
from .events import At
from .log import RESOLVED, ContactLog

__all__ = ["AgentPool", "capacity_steps"]


def capacity_steps(spec, start_date: str, horizon_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Scheduled agents of a pool as a step function: (times s, agents from each time)."""
    changes = []
    for shift in spec.shifts:
        for a, b in windows(start_date, horizon_seconds, shift.start_hour, shift.end_hour,
                            shift.weekdays):
            changes += [(a, shift.agents), (b, -shift.agents)]
    return step_levels(changes)


class AgentPool:
    """Runtime state of one pool: ``cap`` and ``busy`` count slots (agents × concurrency).

    When a shift ends while its agents are busy, they finish their contact
    first (overtime): staffed agents are ``max(cap, busy) / concurrency``, so
    busy never exceeds staffed. ``staffed_t`` / ``staffed_n`` log that level.
    """

    def __init__(self, env, code: int, spec, log: ContactLog):
        self.env = env
        self.code = code
        self.log = log
        self.queues = []                        # ChannelQueue objects, skill order
        self.concurrency = spec.concurrency
        self.wrap = spec.wrap_up_seconds
        self.cap = 0
        self.busy = 0
        self.on_answer = None                   # journeys: called as on_answer(cid) when answered
        self.staffed_t = array("d")
        self.staffed_n = array("d")

    def schedule(self, times: np.ndarray, agents: np.ndarray) -> None:
        """Plan the capacity changes of the run."""
        for t, n in zip(times.tolist(), agents.tolist()):
            At(self.env, t, self._set_capacity, n)

    def begin(self, cid: int, now: float) -> None:
        """Start serving contact ``cid`` now (the slot is already counted busy)."""
        log = self.log
        handle = log.handle[cid]
        log.answer[cid] = now
        log.end[cid] = now + handle
        log.outcome[cid] = RESOLVED
        log.pool[cid] = self.code
        At(self.env, handle + self.wrap, self._done)
        if self.on_answer is not None:
            self.on_answer(cid)

    def _done(self, ev) -> None:
        """A slot frees up: leave if on overtime, else take the next waiting contact."""
        now = self.env._now
        if self.busy > self.cap:
            self.busy -= 1
            self._log_staffed(now)
        elif not self._pull(now):
            self.busy -= 1

    def _set_capacity(self, ev) -> None:
        now = self.env._now
        self.cap = ev._value * self.concurrency
        while self.busy < self.cap and self._pull(now):
            self.busy += 1
        self._log_staffed(now)

    def _pull(self, now: float) -> bool:
        """Begin the next waiting contact of the pool's skills, if any."""
        for q in self.queues:
            cid = q.next_waiting(now)
            if cid >= 0:
                self.begin(cid, now)
                return True
        return False

    def _log_staffed(self, now: float) -> None:
        self.staffed_t.append(now)
        self.staffed_n.append(max(self.cap, self.busy) / self.concurrency)
