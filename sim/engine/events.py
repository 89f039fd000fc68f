"""The one cheap SimPy event the engine schedules: "call fn at time now + delay"."""

from __future__ import annotations

from heapq import heappush

from simpy.core import Environment
from simpy.events import NORMAL, Event

__all__ = ["At"]


class At(Event):
    """An event that fires ``fn(event)`` after ``delay`` seconds; ``event._value`` is ``value``.

    Same as ``env.timeout(delay, value)`` plus one callback, without the
    extra attribute look-ups — this is the engine's hot path.
    """

    def __init__(self, env: Environment, delay: float, fn, value=None):
        self.env = env
        self.callbacks = [fn]
        self._value = value
        self._ok = True
        # Environment.schedule inlined (SimPy 4: a heap of (time, priority, id, event))
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self))
