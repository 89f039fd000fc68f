"""Hand-worked timelines of the queue mechanics, checked contact by contact.

Contacts are placed by hand (no random arrivals) and every draw is scripted,
so the expected log can be worked out on paper.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from sim.engine.agents import AgentPool
from sim.engine.calendar import OpenCheck
from sim.engine.events import At
from sim.engine.log import ABANDONED, OPEN, RESOLVED, ContactLog
from sim.engine.queues import ChannelQueue
from sim.engine.scenario import AgentChannel, HandleTime, Pool
from sim.engine.streams import Draws


def scripted(values, fill=math.inf):
    """A Draws that returns ``values`` in order, then ``fill``."""
    values = list(values)
    return Draws(lambda n: np.array([values.pop(0) if values else fill for _ in range(n)]), block=1)


def build(handles, patiences, redial_u=(), redial_delays=(), agents=1, priorities=(),
          shares=(1.0,), redial_p=0.0, wrap=0.0):
    env = simpy.Environment()
    log = ContactLog()
    spec = AgentChannel(arrivals_per_hour=0.0, handle=HandleTime(mean_seconds=1.0),
                        redial_probability=redial_p, priority_shares=shares)
    draws = {"handle": scripted(handles), "patience": scripted(patiences),
             "redial": scripted(redial_u, 1.0), "redial_delay": scripted(redial_delays),
             "priority": scripted(priorities, 0.0)}
    q = ChannelQueue(env, 0, spec, log, draws, OpenCheck([], True))
    pool = AgentPool(env, 0, Pool(skills=("phone",), wrap_up_seconds=wrap), log)
    pool.queues, q.pools = [q], [pool]
    At(env, 0.0, pool._set_capacity, agents)
    return env, log, q


def arrive_at(env, q, times):
    for need, t in enumerate(times):
        At(env, t, lambda ev: q.arrive(ev._value, 0), need)


def test_fcfs_with_lazy_abandonment():
    # one agent, handle 10 s each; arrivals 0, 2, 4 with patience 100, 5, 100
    env, log, q = build(handles=[10, 10, 10], patiences=[100, 5, 100])
    arrive_at(env, q, [0.0, 2.0, 4.0])
    env.run(until=100)
    assert list(log.outcome) == [RESOLVED, ABANDONED, RESOLVED]
    assert list(log.answer)[0] == 0.0 and list(log.answer)[2] == 10.0   # waited 6 s
    assert list(log.end) == [10.0, 7.0, 20.0]                          # abandoned at 2 + 5


def test_wrap_up_keeps_agent_busy():
    env, log, q = build(handles=[10, 10], patiences=[100, 100], wrap=5.0)
    arrive_at(env, q, [0.0, 1.0])
    env.run(until=100)
    assert list(log.answer) == [0.0, 15.0]        # agent free after 10 s talk + 5 s wrap-up
    assert list(log.end) == [10.0, 25.0]


def test_redial_after_abandoning():
    # contact 1 abandons at 2 + 3 = 5, redials after 4 s (at 9) and is served at 20
    env, log, q = build(handles=[20, 5, 5], patiences=[100, 3, 100], redial_u=[0.1],
                        redial_delays=[4.0], redial_p=0.5)
    arrive_at(env, q, [0.0, 2.0])
    env.run(until=100)
    assert list(log.need) == [0, 1, 1]
    assert list(log.attempt) == [0, 0, 1]
    assert list(log.arrival) == [0.0, 2.0, 9.0]
    assert list(log.outcome) == [RESOLVED, ABANDONED, RESOLVED]
    assert list(log.answer)[2] == 20.0


def test_priority_class_jumps_the_queue():
    # busy agent until 10; class 1 arrives at 1, class 0 at 2: class 0 is served first
    env, log, q = build(handles=[10, 10, 10], patiences=[100, 100, 100], shares=(0.5, 0.5),
                        priorities=[0.1, 0.9, 0.1])
    arrive_at(env, q, [0.0, 1.0, 2.0])
    env.run(until=100)
    assert list(log.priority) == [0, 1, 0]
    assert list(log.answer) == [0.0, 20.0, 10.0]


def test_still_waiting_at_end_is_open_and_expired_deadline_is_abandoned():
    env, log, q = build(handles=[50, 10, 10], patiences=[100, 5, 100])
    arrive_at(env, q, [0.0, 1.0, 2.0])
    env.run(until=30)
    q.finish(30.0)
    assert list(log.outcome) == [RESOLVED, ABANDONED, OPEN]


def test_at_events_interleave_with_simpy_events_in_time_and_fifo_order():
    """At (the engine's cheap event) keeps SimPy's ordering: by time, then first scheduled."""
    env = simpy.Environment()
    seen = []
    At(env, 2.0, lambda ev: seen.append(("at", ev._value, env.now)), "b")
    env.timeout(2.0).callbacks.append(lambda ev: seen.append(("timeout", "c", env.now)))
    At(env, 1.0, lambda ev: seen.append(("at", ev._value, env.now)), "a")
    At(env, 2.0, lambda ev: seen.append(("at", ev._value, env.now)), "d")
    env.run()
    assert seen == [("at", "a", 1.0), ("at", "b", 2.0), ("timeout", "c", 2.0), ("at", "d", 2.0)]
