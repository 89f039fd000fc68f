"""An agent channel's queue and the life of one contact in it.

The life of a contact, top to bottom (``ChannelQueue.arrive``):

1. It arrives (a new need, or a redial of an earlier one) and is logged with
   its priority class and the handle time it will need.
2. If the channel is closed it fails at once.
3. If an agent of one of the channel's pools (in pool order) is free, it is
   answered now: it never waits.
4. Otherwise it joins the queue of its priority class with a *deadline*:
   arrival + its patience.
5. When an agent frees up, the agent takes the first contact still waiting
   (FCFS within the highest priority class, pools serve their skills in
   order). A contact whose deadline has passed is not there any more: it is
   recorded as abandoned at its deadline when the agent finds it (lazy
   abandonment — no event needed).
6. A contact that would redial after abandoning gets one event at its
   deadline: if it is still waiting then, it abandons and its redial arrives
   after an exponential delay, as a new contact of the same need. In customer
   journeys every waiting contact gets that event, and one that does not
   redial goes back to its journey (another channel, or give up).

Steps 5–6 replace SimPy's ``req | env.timeout(patience)`` race by cheaper
bookkeeping with the same outcome; the Erlang A tests check it.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from itertools import accumulate

import numpy as np

from .calendar import OpenCheck
from .counter_rng import SLOT_REDIAL, SLOT_REDIAL_DELAY, contact_draw, contact_draws, exponential, uniform
from .distributions import handle_shape
from .events import At
from .log import ABANDONED, FAILED, OPEN, ContactLog

__all__ = ["ChannelQueue"]


class ChannelQueue:
    """Runtime state of one agent channel in one replication.

    ``on_abandon(cid)``, when set (customer journeys), is called for every
    contact that abandons without redialling, at the moment it abandons; every
    waiting contact then gets its deadline event.

    ``key``, when set (customer journeys), makes every draw of a contact
    counter-based (:mod:`sim.engine.counter_rng`): its handle time, priority class,
    patience, redial and redial delay follow from (need, attempt), whatever
    other contacts did. Without it (single queues, the engine benchmark) the
    draws come in order from the channel's own streams, which is cheaper.
    """

    def __init__(self, env, code: int, spec, log: ContactLog, draws: dict, is_open: OpenCheck):
        self.env = env
        self.code = code
        self.log = log
        self.is_open = None if is_open.always else is_open
        self.pools = []                         # filled by the model, in routing order
        self.on_abandon = None
        self.classes = [deque() for _ in spec.priority_shares]
        self._cum_shares = list(accumulate(spec.priority_shares))[:-1]
        self._handle = draws["handle"]
        self._patience = draws["patience"]
        self._redial_u = draws["redial"]
        self._redial_delay = draws["redial_delay"]
        self._priority_u = draws["priority"]
        self._redial_p = spec.redial_probability
        self.key = None
        patience = math.inf if spec.patience_seconds is None else spec.patience_seconds
        self._shape = (*handle_shape(spec.handle), np.array(self._cum_shares, dtype=float),
                       patience)
        self._redial_delay_mean = spec.redial_delay_seconds

    def arrive(self, need: int, attempt: int) -> None:
        """A new contact of ``need`` arrives now: log it, then :meth:`_enter`."""
        now = self.env._now
        handle, prio, patience = self.draw_one() if self.key is None else \
            self.draw_keyed_one(need, attempt)
        cid = self.log.add(need, self.code, attempt, now, handle, prio)
        self._enter(cid, prio, now, patience)

    def draw_one(self) -> tuple:
        """(handle s, priority class, patience s) of the next contact."""
        prio = bisect.bisect_right(self._cum_shares, self._priority_u()) if self._cum_shares else 0
        return self._handle(), prio, self._patience()

    def draw_keyed(self, need: np.ndarray, attempt: np.ndarray) -> tuple:
        """(handle s, priority class, patience s) of the contacts (need, attempt), as
        arrays, from counter-based draws under :attr:`key`."""
        return contact_draws(self.key, need, attempt, *self._shape)

    def draw_keyed_one(self, need: int, attempt: int) -> tuple:
        """:meth:`draw_keyed` for one contact: the same numbers."""
        return contact_draw(self.key, need, attempt, *self._shape)

    def _draw_of(self, cid: int, slot: int) -> float:
        return uniform(self.key, self.log.need[cid], self.log.attempt[cid], slot)

    def enter(self, ev) -> None:
        """SimPy callback: the logged contact ``ev.value = (cid, patience)`` arrives now."""
        cid, patience = ev._value
        self._enter(cid, self.log.priority[cid], self.env._now, patience)

    def _enter(self, cid: int, prio: int, now: float, patience: float) -> None:
        """Steps 2–4 and 6 of the life of a contact (module docstring)."""
        if self.is_open is not None and not self.is_open(now):
            self.log.outcome[cid] = FAILED
            self.log.end[cid] = now
            if self.on_abandon is not None:
                self.on_abandon(cid)
            return
        for pool in self.pools:
            if pool.busy < pool.cap:
                pool.busy += 1
                pool.begin(cid, now)
                return
        deadline = now + patience
        self.classes[prio].append((deadline, cid))
        if deadline < math.inf:
            redial = self._redial_p > 0.0 and (
                self._redial_u() if self.key is None else self._draw_of(cid, SLOT_REDIAL)
            ) < self._redial_p
            if redial or self.on_abandon is not None:
                At(self.env, patience, self._expire, (cid, redial))

    def next_waiting(self, now: float) -> int:
        """Remove and return the first contact still waiting, or -1; records lazy abandons."""
        outcome = self.log.outcome
        for q in self.classes:
            while q:
                deadline, cid = q.popleft()
                if outcome[cid] != OPEN:
                    continue
                if deadline < now:
                    self._abandon(cid, deadline)
                    continue
                return cid
        return -1

    def _abandon(self, cid: int, t: float) -> None:
        self.log.outcome[cid] = ABANDONED
        self.log.end[cid] = t

    def _expire(self, ev) -> None:
        """Deadline of a waiting contact: abandon if still waiting, then redial or move on."""
        cid, redial = ev._value
        if self.log.outcome[cid] != OPEN:
            return
        self._abandon(cid, self.env._now)
        if redial:
            if self.key is None:
                delay = self._redial_delay()
            else:
                delay = exponential(self._redial_delay_mean, self._draw_of(cid, SLOT_REDIAL_DELAY))
            At(self.env, delay, self._redial, cid)
        elif self.on_abandon is not None:
            self.on_abandon(cid)

    def _redial(self, ev) -> None:
        """The same need calls again: a new contact, one attempt later."""
        cid = ev._value
        self.arrive(self.log.need[cid], self.log.attempt[cid] + 1)

    def finish(self, horizon: float) -> None:
        """At the end of the run: contacts past their deadline abandoned; the rest stay OPEN."""
        outcome = self.log.outcome
        for q in self.classes:
            for deadline, cid in q:
                if outcome[cid] == OPEN and deadline < horizon:
                    self._abandon(cid, deadline)
            q.clear()
