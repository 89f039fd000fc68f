"""The channel registry: every channel of a scenario, its code and its kind, declared once.

A scenario declares its agent channels under ``channels.<name>`` (each with a ``kind``) and
its digital channels under ``digital.<name>``. :func:`registry` turns that into codes — the
``channel_code`` of the contact log, the rows of the journey core's tables, the slots of the
choice's random numbers — and kinds, which every other part reads:

==========  ===========================================================================
kind        what it means
==========  ===========================================================================
live        answered now or abandoned; the wait is measured to the answer (phone)
booked      a call booked for a time in the channel's opening hours (appointment)
messaging   an agent handles several at once (pool ``concurrency``; chat)
backlog     worked within a due time: its service is *completion* within the target,
            counted from creation (service requests, e-mail)
digital     no agent: settled at once in the journey core (bot, portal, webshop …)
==========  ===========================================================================

The built-in channels keep fixed codes 0–9 (so tables and logs of earlier runs keep
theirs); a scenario's own agent channels follow, in the order declared.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AGENT_KINDS", "BUILTIN", "BUILTIN_KINDS", "DIGITAL", "MAX_CHANNELS", "Registry",
           "registry", "measured_by_completion"]

AGENT_KINDS = ("live", "booked", "messaging", "backlog")
DIGITAL = "digital"
#: The channels ccsim knows, in code order, with their kinds.
BUILTIN_KINDS = {
    "phone": "live", "appointment": "booked", "chat": "messaging", "service_request": "backlog",
    "bot": DIGITAL, "selfservice": DIGITAL, "webshop": DIGITAL, "support_site": DIGITAL,
    "api": DIGITAL, "user_admin": DIGITAL,
}
BUILTIN = tuple(BUILTIN_KINDS)
#: Built-in agent channels only registered customers can use (a service request is made in
#: the portal); a scenario's own channel says so with ``registered_only``.
BUILTIN_REGISTERED_ONLY = ("service_request",)
#: Codes are slots of the choice's random numbers (:mod:`sim.engine.counter_rng`): at most this many.
MAX_CHANNELS = 32


def measured_by_completion(kind: str) -> bool:
    """The one service rule: a backlog channel's contact meets its target when it is
    *completed* within the due time from creation; every other agent channel's when it is
    *answered* within the target wait. KPIs (:mod:`analysis.tables`) and the staffing search
    (:mod:`sim.staffing`) both ask here."""
    return kind == "backlog"


@dataclass(frozen=True)
class Registry:
    """Channel names (index = code) and their kinds."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]

    def code(self, name: str) -> int:
        return self.names.index(name)

    def kind(self, name: str) -> str:
        return self.kinds[self.names.index(name)]

    @property
    def agent(self) -> tuple[str, ...]:
        """Agent channels, in code order."""
        return tuple(n for n, k in zip(self.names, self.kinds) if k != DIGITAL)

    @property
    def digital(self) -> tuple[str, ...]:
        return tuple(n for n, k in zip(self.names, self.kinds) if k == DIGITAL)

    def __len__(self) -> int:
        return len(self.names)


def registry(agent_kinds: dict[str, str] | None = None) -> Registry:
    """The registry of a scenario whose agent channels have these kinds (name → kind);
    built-in channels not named keep their built-in kinds. None: the built-in channels."""
    agent_kinds = agent_kinds or {}
    names = BUILTIN + tuple(n for n in agent_kinds if n not in BUILTIN_KINDS)
    kinds = tuple(agent_kinds.get(n) or BUILTIN_KINDS.get(n) for n in names)  # None: not told
    return Registry(names, kinds)
