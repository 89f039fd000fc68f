"""Schema of customer journeys: customers, needs, channel choice and the digital channels.

Part of the one scenario schema (:mod:`sim.engine.scenario` holds the top level and
the agent channels). Probabilities are in [0, 1]; "utility" terms are
dimensionless logit utilities; times carry their unit in the name.

Per-intent values (``success``, ``first_contact_resolution``) are mappings of
intent name → value; the key ``default`` covers intents not listed.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from .channels import BUILTIN, BUILTIN_KINDS, DIGITAL
from .validate import fail_if

__all__ = ["CHANNELS", "DIGITAL_CHANNELS", "Segment", "Customers", "Intent", "NeedEvent",
           "Needs", "Choice", "DigitalChannel", "Bot", "Portal", "Webshop", "Digital",
           "by_intent", "date_problems", "channel_key_problems"]

#: The built-in channels (:mod:`sim.engine.channels`; a scenario may add agent channels of its own).
CHANNELS = BUILTIN
#: Channels that need no agent.
DIGITAL_CHANNELS = tuple(n for n in BUILTIN if BUILTIN_KINDS[n] == DIGITAL)
GIVE_UP = "give_up"

_PROB = {"min": 0, "max": 1}
_NONNEG = {"min": 0}
_POS = {"min_exclusive": 0}


def by_intent(values: dict[str, float], intent: str, fallback: float = 1.0) -> float:
    """The value for ``intent``, else the ``default`` entry, else ``fallback``."""
    return values.get(intent, values.get("default", fallback))


def date_problems(text: str | None, key: str, nullable: bool = True) -> list[str]:
    """Problems of an ISO date field (``None`` allowed when ``nullable``)."""
    if text is None and nullable:
        return []
    try:
        _dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return [f"{key} = {text!r} is not an ISO date; allowed: YYYY-MM-DD"
                + (" or null" if nullable else "")]
    return []


def _shares_problems(items: dict, key: str, what: str) -> list[str]:
    """A non-empty mapping of ``what`` whose ``share`` fields sum to 1."""
    total = sum(x.share for x in items.values())
    return (fail_if(not items, key, {}, f"give at least one {what}")
            + fail_if(bool(items) and abs(total - 1) > 1e-6, key, f"shares summing to {total:g}",
                      f"{what} shares must sum to 1"))


def channel_key_problems(values, key: str, channels: tuple[str, ...],
                         extra: tuple[str, ...] = ()) -> list[str]:
    """Keys (or items) of ``values`` that are not among ``channels`` (the scenario's)."""
    return [f"{key}.{k} is not a channel of the scenario; allowed: "
            f"{', '.join(channels + extra)}" for k in values if k not in channels + extra]


@dataclass(frozen=True)
class Segment:
    """A digital-adoption segment of business accounts.

    ``share``: share of accounts (existing and new); ``needs_per_year``:
    needs per account per year; ``registered_share``: share registered for
    self-service at the start (``new_registered_share`` for accounts created
    during the run); ``login_failure_probability``: a portal login fails;
    ``api_share``: accounts with an API integration; ``channel_utility``:
    the segment's own liking of each channel (logit utility, 0 if missing).

    What an account is worth and how likely it is to leave (revenue at risk,
    reported, never fed back into the run): ``annual_value_eur`` per account;
    ``leave_if_unresolved``: probability that a customer with at least one
    unresolved need in the year leaves within the year;
    ``leave_if_poor_experience``: likewise for a customer whose needs were all
    resolved but who had a poor experience (a need abandoned twice, or a cold
    bot hand-over). Assumptions, documented in ``scenarios/README.md``.
    """

    share: float = field(metadata=_PROB)
    needs_per_year: float = field(default=16.0, metadata=_NONNEG)
    registered_share: float = field(default=0.5, metadata=_PROB)
    new_registered_share: float = field(default=0.2, metadata=_PROB)
    login_failure_probability: float = field(default=0.1, metadata=_PROB)
    api_share: float = field(default=0.0, metadata=_PROB)
    channel_utility: dict[str, float] = field(default_factory=dict)
    annual_value_eur: float = field(default=5000.0, metadata=_NONNEG)
    leave_if_unresolved: float = field(default=0.15, metadata=_PROB)
    leave_if_poor_experience: float = field(default=0.05, metadata=_PROB)


@dataclass(frozen=True)
class Customers:
    """The account population: ``accounts`` at the start, new ones joining at a steady rate."""

    accounts: int = field(metadata=_NONNEG)
    new_accounts_per_year: float = field(default=0.0, metadata=_NONNEG)
    segments: dict[str, Segment] = field(default_factory=dict)

    def problems(self, key: str) -> list[str]:
        return _shares_problems(self.segments, f"{key}.segments", "segment")


@dataclass(frozen=True)
class Intent:
    """What a need is about: ``share`` of needs, ``complexity`` 0 (simple) … 1 (complex),
    and how well each channel fits it (``channel_utility``, logit utility)."""

    share: float = field(metadata=_PROB)
    complexity: float = field(default=0.5, metadata=_PROB)
    channel_utility: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class NeedEvent:
    """A dated event (billing change, product change, portal relaunch …).

    From ``start_date`` to ``end_date`` (inclusive) needs of ``intents``
    (empty = all) arrive ``need_factor`` times as often, digital success rates
    of ``channels`` (empty = all digital channels) are multiplied by
    ``success_factor`` and portal logins fail ``login_failure_add`` more often.
    """

    start_date: str
    end_date: str
    name: str = ""
    intents: tuple[str, ...] = ()
    need_factor: float = field(default=1.0, metadata=_NONNEG)
    success_factor: float = field(default=1.0, metadata=_NONNEG)
    login_failure_add: float = field(default=0.0, metadata=_PROB)
    channels: tuple[str, ...] = field(default=(), metadata={"choices": DIGITAL_CHANNELS})

    def problems(self, key: str) -> list[str]:
        out = date_problems(self.start_date, f"{key}.start_date") + \
            date_problems(self.end_date, f"{key}.end_date")
        if not out and self.end_date < self.start_date:
            out.append(f"{key}.end_date = {self.end_date!r} is before start_date "
                       f"{self.start_date!r}")
        return out


@dataclass(frozen=True)
class Needs:
    """Need arrivals: the time profile, a day-level volume factor and the intents.

    ``day_factor_cv``: each day's volume is multiplied by a lognormal factor of
    mean 1 and this coefficient of variation (forecast error).
    ``return_delay_hours``: mean delay before a matter that was not really
    resolved comes back. ``switch_delay_seconds``: mean delay before a
    customer tries another channel after abandoning or failing.
    """

    intents: dict[str, Intent]
    month: tuple[float, ...] = field(default=(1.0,) * 12, metadata=_NONNEG)
    weekday: tuple[float, ...] = field(default=(1.0,) * 7, metadata=_NONNEG)
    hour: tuple[float, ...] = field(default=(1.0,) * 24, metadata=_NONNEG)
    day_factor_cv: float = field(default=0.0, metadata=_NONNEG)
    return_delay_hours: float = field(default=48.0, metadata=_NONNEG)
    switch_delay_seconds: float = field(default=600.0, metadata=_NONNEG)
    events: tuple[NeedEvent, ...] = ()

    def problems(self, key: str) -> list[str]:
        out = _shares_problems(self.intents, f"{key}.intents", "intent")
        for name, n, vals in (("month", 12, self.month), ("weekday", 7, self.weekday),
                              ("hour", 24, self.hour)):
            if len(vals) != n:
                out.append(f"{key}.{name} has {len(vals)} values; allowed: exactly {n} factors")
        for i, ev in enumerate(self.events):
            out += [f"{key}.events[{i}].intents lists '{x}'; allowed: {', '.join(self.intents)}"
                    for x in ev.intents if x not in self.intents]
        return out


@dataclass(frozen=True)
class Choice:
    """The channel-choice model: a multinomial logit over the available channels and "give up".

    Utility of channel k for a need of intent i by a customer of segment s:

    ``channel_constant[k] + segment.channel_utility[k] + intent.channel_utility[k]
    + complexity_i × complexity_utility[k]
    + success_bonus`` if k is where the customer last succeeded
    ``− failure_penalty`` if k is where the customer last failed
    ``+ guided_digital_bonus`` if k is digital and an agent has guided the customer
    ``+ after_failure[j][k]`` when the need just failed in channel j.

    ``− retry_penalty_per_attempt × attempts so far`` if k is the channel that just
    failed (trying again: calling again after abandoning the queue, a second go at
    the portal — the willingness to try again falls with each attempt)
    ``+ bot.<seamless|cold>_handover_utility`` for the bot's hand-over channel (chat)
    right after a failed bot session, when it is open to the customer.

    "Give up" has ``give_up_utility + give_up_per_attempt × attempts so far``
    (never on the first attempt); after ``max_attempts`` the customer gives up.
    With ``appointment_like_phone`` a booked appointment shares the phone's
    segment, intent and complexity terms (it is a call, booked); its own
    ``channel_constant`` is the hurdle of booking.

    When an agent channel is closed: a ``booked`` channel can still be booked
    (the call is at a time in a later opening window); a ``live`` or
    ``messaging`` channel (phone, chat) that will open again is offered as
    *waiting for the opening*, with the channel's own utility
    ``+ wait_for_opening_utility + wait_utility_per_hour × hours until it opens``
    (the same random taste for the channel: a customer who likes calling likes
    calling tomorrow); the contact then comes within the first
    ``wait_spread_hours`` of the opening window.
    """

    channel_constant: dict[str, float] = field(default_factory=dict)
    complexity_utility: dict[str, float] = field(default_factory=dict)
    success_bonus: float = 1.0
    failure_penalty: float = 1.0
    guided_digital_bonus: float = 0.5
    give_up_utility: float = -2.0
    give_up_per_attempt: float = 0.8
    max_attempts: int = field(default=5, metadata={"min": 1})
    appointment_like_phone: bool = True
    after_failure: dict[str, dict[str, float]] = field(default_factory=dict)
    retry_penalty_per_attempt: float = field(default=0.3, metadata=_NONNEG)
    wait_for_opening_utility: float = -0.5
    wait_utility_per_hour: float = field(default=-0.02, metadata={"max": 0})
    wait_spread_hours: float = field(default=2.0, metadata=_POS)

    def channel_problems(self, key: str, channels: tuple[str, ...]) -> list[str]:
        """Channel names in the choice model that are not among the scenario's ``channels``."""
        out = channel_key_problems(self.channel_constant, f"{key}.channel_constant", channels)
        out += channel_key_problems(self.complexity_utility, f"{key}.complexity_utility",
                                    channels)
        out += channel_key_problems(self.after_failure, f"{key}.after_failure", channels)
        for ch, row in self.after_failure.items():
            out += channel_key_problems(row, f"{key}.after_failure.{ch}", channels, (GIVE_UP,))
        return out


@dataclass(frozen=True, kw_only=True)
class DigitalChannel:
    """A channel without agents. ``success``: probability the contact resolves the need,
    per intent; ``first_contact_resolution``: probability a resolved matter stays
    resolved (else it comes back later); ``session_seconds``: time the contact takes."""

    success: dict[str, float] = field(default_factory=dict, metadata=_PROB)
    first_contact_resolution: dict[str, float] = field(default_factory=dict, metadata=_PROB)
    session_seconds: float = field(default=300.0, metadata=_NONNEG)


@dataclass(frozen=True, kw_only=True)
class Bot(DigitalChannel):
    """The chatbot. ``success`` is its containment. A customer whose session is not
    contained chooses what next (the choice model, :class:`Choice`); when the agent channel
    ``handover_channel`` (chat) is open to the customer, one option is the bot's hand-over
    there: ``seamless`` (context kept: ``seamless_handover_utility`` added to the channel's
    utility) or ``cold`` (the customer repeats the matter: ``cold_handover_utility``, and
    ``cold_extra_handle_seconds`` longer); ``none``: no hand-over, chat is an ordinary
    option. The two utilities are equal by default: the customer is offered the hand-over
    the same way and learns only in the chat whether the context came along.

    ``in_front``: the bot answers first in the hand-over channel — a customer who opens chat
    while the bot is open to them has a bot session first (a bot contact), and what the bot
    does not contain goes on as after any failed bot session (the hand-over is one option).
    A customer waiting for chat's opening is not met by the bot."""

    handover: str = field(default="cold", metadata={"choices": ("seamless", "cold", "none")})
    handover_channel: str = "chat"
    cold_extra_handle_seconds: float = field(default=90.0, metadata=_NONNEG)
    seamless_handover_utility: float = 2.5
    cold_handover_utility: float = 2.5
    in_front: bool = False


@dataclass(frozen=True, kw_only=True)
class Portal(DigitalChannel):
    """The self-service portal (registration and login needed). A failed action is
    "not working" (login failure), "hard to use" or "could not find", the last two
    in the ratio ``hard_to_use_weight : could_not_find_weight`` (feedback Dec 2021:
    36 % : 21 %)."""

    hard_to_use_weight: float = field(default=0.36, metadata=_NONNEG)
    could_not_find_weight: float = field(default=0.21, metadata=_NONNEG)


@dataclass(frozen=True, kw_only=True)
class Webshop(DigitalChannel):
    """The webshop; ``target_product_share`` of its orders are target products."""

    target_product_share: float = field(default=0.6, metadata=_PROB)


@dataclass(frozen=True)
class Digital:
    """The digital channels on offer; a missing one (null) is not available."""

    support_site: DigitalChannel | None = None
    bot: Bot | None = None
    selfservice: Portal | None = None
    webshop: Webshop | None = None
    api: DigitalChannel | None = None
    user_admin: DigitalChannel | None = None


# ------------------------------------------------------------------ levers
# What-if levers of the 2023 scenarios (scenarios/README.md). Each defaults to
# "no change", so a scenario without them runs as before.

@dataclass(frozen=True)
class BotLever:
    """A better chatbot: ``containment_gain`` is added to its success (containment), on
    average over needs; an intent's share of it is in proportion to its simplicity
    (1 − complexity): a better bot learns the simple questions first. Capped at 1
    (``digital.bot.handover`` sets the hand-over)."""

    containment_gain: float = field(default=0.0, metadata=_PROB)


@dataclass(frozen=True)
class SupportSiteLever:
    """A better support site: ``found_answer_gain`` is added to its success
    ("found an answer"), on average over needs, in proportion to each intent's
    simplicity like :class:`BotLever`; capped at 1."""

    found_answer_gain: float = field(default=0.0, metadata=_PROB)


@dataclass(frozen=True)
class Restriction:
    """Chosen ``intents`` are no longer served in the agent ``channels`` (empty: every
    agent channel): customers with such a need never choose them, and the bot does not
    hand it over to chat."""

    intents: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProactiveNotifications:
    """Customers told in advance of billing and product changes need less contact:
    needs of ``intents`` fall by ``need_reduction``, and the extra needs of dated
    events (``needs.events``, need_factor above 1) by ``event_need_reduction``."""

    intents: tuple[str, ...] = ()
    need_reduction: float = field(default=0.0, metadata=_PROB)
    event_need_reduction: float = field(default=0.0, metadata=_PROB)


@dataclass(frozen=True)
class GuidanceCampaign:
    """Guidance to self-service. A registration invitation when an account is created
    adds ``invitation_registration_gain`` to the registered share of new accounts; a
    reminder ``reminder_days`` after joining registers ``reminder_registration_share``
    of those still unregistered; how-to videos and a guided tour on first login add
    ``portal_success_gain`` to the portal's success. (Agents guiding callers are
    ``channels.phone.guidance_*``.)"""

    invitation_registration_gain: float = field(default=0.0, metadata=_PROB)
    reminder_days: float = field(default=14.0, metadata=_NONNEG)
    reminder_registration_share: float = field(default=0.0, metadata=_PROB)
    portal_success_gain: float = field(default=0.0, metadata=_PROB)
