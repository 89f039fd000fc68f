"""The typed scenario schema: what is simulated, with units in the field names.

A scenario arrives as a plain nested dict (YAML under ``scenarios/``, composed
by Hydra) and is turned into frozen dataclasses by :func:`parse_scenario`,
which rejects unknown keys, wrong types and out-of-range values before any
simulation starts (see :mod:`sim.engine.validate`). The dataclasses are never mutated;
a what-if is a new instance (``dataclasses.replace``).

Two ways to describe the agent-served part:

* ``queue`` — the one-queue shorthand (M/M/c+M): Poisson arrivals at a flat
  rate, exponential handle time and patience, a fixed number of agents, no
  wrap-up. Used by ``single_queue`` and the queueing-theory tests.
* ``channels`` + ``pools`` — agent channels (the built-in ``phone``,
  ``appointment``, ``chat``, ``service_request``, or a channel of the scenario's
  own with a ``kind``, see :mod:`sim.engine.channels`) with arrival profiles,
  patience, redials and priority classes, served by agent pools with skills,
  shifts, wrap-up, concurrency and an hourly cost.

:meth:`Scenario.agent_model` gives the second form in either case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .channels import (
    AGENT_KINDS,
    BUILTIN_KINDS,
    BUILTIN_REGISTERED_ONLY,
    MAX_CHANNELS,
    Registry,
    registry,
)
from .journey_spec import (
    CHANNELS,
    BotLever,
    Choice,
    Customers,
    Digital,
    GuidanceCampaign,
    Needs,
    ProactiveNotifications,
    Restriction,
    SupportSiteLever,
    channel_key_problems,
    date_problems,
)
from .validate import ConfigError, fail_if, from_dict

__all__ = [
    "CHANNELS", "ALL_WEEKDAYS", "HandleTime", "Shift", "Pool", "OpeningHours",
    "Profile", "AgentChannel", "SingleQueue", "Scenario", "RunSettings", "UncertainInput",
    "parse_scenario", "parse_run", "parse_seed", "ConfigError",
]

#: Monday = 0 … Sunday = 6.
ALL_WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)

_POS = {"min_exclusive": 0}
_NONNEG = {"min": 0}
_PROB = {"min": 0, "max": 1}
_HOUR = {"min": 0, "max": 48}
_DAY = {"min": 0, "max": 6}


@dataclass(frozen=True)
class HandleTime:
    """Agent handle time of one contact: talk/chat/work time, wrap-up excluded.

    ``exponential`` (mean), ``lognormal`` (mean and coefficient of variation
    ``cv`` = sd / mean) or ``fixed`` (always the mean). Seconds.

    In customer journeys the matter sets the length too: a contact about an intent of
    complexity c (0 … 1, ``needs.intents.<name>.complexity``) takes
    ``1 + complexity_factor × (c − 0.5)`` times the drawn time (at least 0.2 times), so
    ``mean_seconds`` is the mean of a matter of middle complexity reached directly; the
    path adds to it (``escalated_handle_factor``, a cold hand-over's extra seconds, an
    agent's guidance).
    """

    mean_seconds: float = field(default=300.0, metadata=_POS)
    distribution: str = field(
        default="exponential", metadata={"choices": ("exponential", "lognormal", "fixed")}
    )
    cv: float = field(default=1.0, metadata=_POS)
    complexity_factor: float = field(default=0.0, metadata=_NONNEG)


@dataclass(frozen=True)
class OpeningHours:
    """A weekly window: from ``start_hour`` to ``end_hour`` on the given weekdays.

    As a channel's opening hours: contacts at other times fail ("closed").
    Hours are clock hours of the day the window starts; ``end_hour`` up to 48
    lets a window (a night shift) run past midnight.
    """

    start_hour: float = field(default=0.0, metadata=_HOUR)
    end_hour: float = field(default=24.0, metadata=_HOUR)
    weekdays: tuple[int, ...] = field(default=ALL_WEEKDAYS, metadata=_DAY)

    def problems(self, key: str) -> list[str]:
        return fail_if(self.end_hour <= self.start_hour, f"{key}.end_hour", self.end_hour,
                       f"it must be after start_hour ({self.start_hour})")


@dataclass(frozen=True, kw_only=True)
class Shift(OpeningHours):
    """``agents`` on duty during a weekly window (see :class:`OpeningHours`)."""

    agents: int = field(metadata=_NONNEG)


@dataclass(frozen=True)
class Pool:
    """A group of interchangeable agents.

    ``skills`` are the channels the pool serves, in priority order: a free
    agent takes the longest-waiting contact of the first channel with one.
    ``concurrency`` is the number of conversations an agent handles at once (a
    pool with ``concurrency`` > 1 serves messaging channels only).
    ``wrap_up_seconds`` is after-contact work that keeps the agent busy but not
    the customer.
    """

    skills: tuple[str, ...]
    shifts: tuple[Shift, ...] = ()
    hourly_cost_eur: float = field(default=35.0, metadata=_NONNEG)
    wrap_up_seconds: float = field(default=0.0, metadata=_NONNEG)
    concurrency: int = field(default=1, metadata={"min": 1})

    def problems(self, key: str) -> list[str]:
        return (
            fail_if(not self.skills, f"{key}.skills", list(self.skills),
                    "give at least one of the scenario's agent channels")
            + fail_if(len(set(self.skills)) != len(self.skills), f"{key}.skills",
                      list(self.skills), "each channel may appear once")
        )


@dataclass(frozen=True)
class Profile:
    """Relative arrival-rate multipliers by month (12), weekday (7, Monday first) and hour (24).

    The rate in an hour is ``arrivals_per_hour × month × weekday × hour``.
    """

    month: tuple[float, ...] = field(default=(1.0,) * 12, metadata=_NONNEG)
    weekday: tuple[float, ...] = field(default=(1.0,) * 7, metadata=_NONNEG)
    hour: tuple[float, ...] = field(default=(1.0,) * 24, metadata=_NONNEG)

    def problems(self, key: str) -> list[str]:
        return [
            f"{key}.{name} has {len(vals)} values; allowed: exactly {n} non-negative factors"
            for name, n, vals in (("month", 12, self.month), ("weekday", 7, self.weekday),
                                  ("hour", 24, self.hour))
            if len(vals) != n
        ]


@dataclass(frozen=True)
class AgentChannel:
    """An agent-served channel: its kind, arrivals, patience, redials, priority classes.

    ``kind`` (:mod:`sim.engine.channels`): ``live``, ``booked``, ``messaging`` or
    ``backlog``; the built-in channels have theirs, a channel of the scenario's
    own must say. ``registered_only``: only customers registered for
    self-service can use it (default: true for ``service_request``, made in the
    portal). ``arrivals_per_hour`` are contacts arriving directly (besides those that
    customer journeys send). ``patience_seconds`` is the mean of an
    exponential patience (``null`` = never abandons). A caller who abandons
    redials with ``redial_probability`` after an exponential delay of mean
    ``redial_delay_seconds`` (single queues; in customer journeys calling again is the
    customer's choice, :class:`sim.engine.journey_spec.Choice`). ``priority_shares[k]`` is
    the share of contacts in priority class k (0 = served first; FCFS within a class).
    ``answer_target_seconds`` is the service-level target: answered within
    this wait (a ``backlog`` channel: completed within this due time).

    In customer journeys: ``first_contact_resolution`` (per intent) is the
    probability an answered matter stays resolved; contacts passed on by the
    bot or the portal take ``escalated_handle_factor`` × the handle time (they
    are the harder share). From ``guidance_from`` agents guide a customer
    to self-service with ``guidance_probability`` (``guidance_extra_seconds``
    longer contact; the customer registers and leans digital afterwards);
    ``open_line_until`` closes the channel from that date (ending open phone
    lines). From ``logged_in_only_from`` only customers logged in to the portal
    can use it (chat). A ``booked`` channel's call takes place
    ``lead_time_hours`` after booking or later, at a time drawn evenly over the
    first opening window from then.
    """

    kind: str | None = field(default=None, metadata={"choices": AGENT_KINDS})
    registered_only: bool | None = None
    arrivals_per_hour: float = field(default=0.0, metadata=_NONNEG)
    handle: HandleTime = HandleTime()
    answer_target_seconds: float = field(default=20.0, metadata=_NONNEG)
    patience_seconds: float | None = field(default=None, metadata=_POS)
    redial_probability: float = field(default=0.0, metadata=_PROB)
    redial_delay_seconds: float = field(default=600.0, metadata=_NONNEG)
    priority_shares: tuple[float, ...] = field(default=(1.0,), metadata=_PROB)
    open_hours: OpeningHours = OpeningHours()
    profile: Profile = Profile()
    first_contact_resolution: dict[str, float] = field(default_factory=dict, metadata=_PROB)
    escalated_handle_factor: float = field(default=1.0, metadata=_POS)
    guidance_probability: float = field(default=0.0, metadata=_PROB)
    guidance_extra_seconds: float = field(default=120.0, metadata=_NONNEG)
    guidance_from: str | None = None
    open_line_until: str | None = None
    logged_in_only_from: str | None = None
    lead_time_hours: float = field(default=0.0, metadata=_NONNEG)

    def problems(self, key: str) -> list[str]:
        total = sum(self.priority_shares)
        out = fail_if(abs(total - 1.0) > 1e-9 or not self.priority_shares,
                      f"{key}.priority_shares", list(self.priority_shares),
                      "give one share per priority class, summing to 1")
        for name in ("guidance_from", "open_line_until", "logged_in_only_from"):
            out += date_problems(getattr(self, name), f"{key}.{name}")
        return out


@dataclass(frozen=True)
class SingleQueue:
    """One phone queue, M/M/c+M: the shorthand of the ``single_queue`` scenario."""

    arrivals_per_hour: float = field(metadata=_NONNEG)
    aht_seconds: float = field(metadata=_POS)
    agents: int = field(metadata=_NONNEG)
    patience_seconds: float | None = field(default=None, metadata=_POS)
    answer_target_seconds: float = field(default=20.0, metadata=_NONNEG)
    hourly_cost_eur: float = field(default=35.0, metadata=_NONNEG)


@dataclass(frozen=True)
class RosterRules:
    """The shifts a roster may use (:mod:`sim.roster`): each agent works one shift — a
    start among ``start_hours``, a length among ``shift_hours`` — on a set of
    ``weekdays`` whose hours lie within ``min_weekly_hours`` … ``max_weekly_hours``. A
    shift of at least ``break_after_hours`` has a paid break of ``break_minutes`` in its
    middle, off the floor (0: breaks are left to ``shrinkage``, as by default). A shift
    ends on the day it starts."""

    start_hours: tuple[float, ...] = field(default=tuple(float(h) for h in range(21)),
                                           metadata={"min": 0, "max_exclusive": 24})
    shift_hours: tuple[float, ...] = field(default=(4.0, 6.0, 8.0),
                                           metadata={"min_exclusive": 0, "max": 24})
    weekdays: tuple[int, ...] = field(default=ALL_WEEKDAYS, metadata=_DAY)
    min_weekly_hours: float = field(default=16.0, metadata=_NONNEG)
    max_weekly_hours: float = field(default=40.0, metadata=_POS)
    break_minutes: float = field(default=0.0, metadata=_NONNEG)
    break_after_hours: float = field(default=6.0, metadata=_NONNEG)

    def problems(self, key: str) -> list[str]:
        return (fail_if(not self.start_hours, f"{key}.start_hours", [], "at least one hour")
                + fail_if(not self.shift_hours, f"{key}.shift_hours", [], "at least one length")
                + fail_if(not self.weekdays, f"{key}.weekdays", [], "at least one weekday")
                + fail_if(self.max_weekly_hours < self.min_weekly_hours,
                          f"{key}.max_weekly_hours", self.max_weekly_hours,
                          f"at least min_weekly_hours ({self.min_weekly_hours})"))


@dataclass(frozen=True)
class Staffing:
    """How the agent pools are staffed: ``fixed`` (their shifts) or ``required``.

    ``required`` finds, for every interval (``run.interval_minutes``) and pool,
    the fewest agents that hold each channel's promise: ``service_level[ch]``
    (channels not listed: ``service_level.default``) of offered contacts
    answered within ``answer_target_seconds`` (backlog channels: completed
    within their due time). It starts from Erlang C / A
    and corrects the plan by simulation (:mod:`sim.staffing`). Cost in both
    modes: paid hours = staffed hours / (1 − ``shrinkage``) (breaks, training,
    absence) × the pool's hourly cost; FTE = paid hours / ``fte_hours_per_month``.
    The search stops when at most ``allowed_misses`` of the staffed intervals
    miss a target, or after ``max_rounds`` simulations of corrections.

    ``plan``: ``forecast`` (the default) plans from ``plan_replications`` history
    replications of their own random numbers and adds a safety margin until the history
    meets every target on ``target_confidence`` of its days; the run's replications are
    then days the plan has not seen (:mod:`sim.forecast`). ``oracle`` plans each
    replication for its own demand. Either way :mod:`sim.roster` fills the plan with shifts
    under ``rules``.
    """

    mode: str = field(default="fixed", metadata={"choices": ("fixed", "required")})
    service_level: dict[str, float] = field(default_factory=lambda: {"default": 0.8},
                                            metadata=_PROB)
    shrinkage: float = field(default=0.3, metadata={"min": 0, "max_exclusive": 1})
    fte_hours_per_month: float = field(default=162.5, metadata=_POS)
    allowed_misses: float = field(default=0.02, metadata=_PROB)
    max_rounds: int = field(default=12, metadata={"min": 1})
    plan: str = field(default="forecast", metadata={"choices": ("forecast", "oracle")})
    plan_replications: int = field(default=3, metadata={"min": 1})
    target_confidence: float = field(default=0.9, metadata=_PROB)
    rules: RosterRules = RosterRules()

    def target(self, channel: str) -> float:
        """The promised share of ``channel`` (its own, else ``service_level.default``)."""
        return self.service_level.get(channel, self.service_level.get("default", 0.8))


@dataclass(frozen=True)
class UncertainInput:
    """One uncertain assumption of a scenario (``scenario.uncertain.<name>``): the scenario
    keys it moves (``path``: one dotted key or several) and its distribution — ``uniform``
    (``low``, ``high``), ``triangular`` (``low``, ``peak``, ``high``) or ``normal``
    (``mean``, ``sd``, cut at ``low`` / ``high`` when given). The drawn value replaces the
    key's value; with ``shift`` it is added to each key's value (and taken from each key of
    ``shift_down``): a fitted mechanism moving several keys by its standard error. Inputs
    of one ``group`` are drawn apart but varied together in the design (one Sobol' index
    for the group: the calibration's constants). Only an uncertainty study draws it
    (:mod:`sim.uncertainty`); an ordinary run ignores it."""

    path: tuple[str, ...]
    dist: str = field(default="uniform", metadata={"choices": ("uniform", "triangular",
                                                               "normal")})
    low: float | None = None
    high: float | None = None
    peak: float | None = None
    mean: float | None = None
    sd: float | None = field(default=None, metadata={"min_exclusive": 0})
    shift: bool = False
    shift_down: tuple[str, ...] = ()
    group: str | None = None
    about: str = ""

    def problems(self, key: str) -> list[str]:
        need = {"uniform": ("low", "high"), "triangular": ("low", "peak", "high"),
                "normal": ("mean", "sd")}[self.dist]
        out = [f"{key}.{k} is missing: a {self.dist} input needs {', '.join(need)}"
               for k in need if getattr(self, k) is None]
        lo, hi = self.low, self.high
        if not out and lo is not None and hi is not None and not lo < hi:
            out.append(f"{key}: low = {lo!r} must be below high = {hi!r}")
        if not out and self.dist == "triangular" and not lo <= self.peak <= hi:
            out.append(f"{key}.peak = {self.peak!r} is not allowed; allowed: low <= peak <= high")
        if not self.path:
            out.append(f"{key}.path is empty; allowed: one or more dotted scenario keys")
        if self.shift_down and not self.shift:
            out.append(f"{key}.shift_down needs shift: true (a drawn change, added and taken)")
        return out


@dataclass(frozen=True)
class Scenario:
    """What is simulated. ``start_date`` (ISO, e.g. 2023-01-02) anchors the calendar.

    With ``customers``, ``needs`` and ``choice`` the scenario simulates customer
    journeys across all channels (:mod:`sim.engine.journey`); without them only the
    agent channels with their direct arrivals.
    """

    name: str
    description: str = ""
    start_date: str = "2023-01-02"
    queue: SingleQueue | None = None
    channels: dict[str, AgentChannel] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)
    customers: Customers | None = None
    needs: Needs | None = None
    choice: Choice | None = None
    digital: Digital = Digital()
    bot: BotLever = BotLever()
    support_site: SupportSiteLever = SupportSiteLever()
    restrict_agent_services: Restriction = Restriction()
    proactive_notifications: ProactiveNotifications = ProactiveNotifications()
    guidance_campaign: GuidanceCampaign = GuidanceCampaign()
    staffing: Staffing = Staffing()
    uncertain: dict[str, UncertainInput] = field(default_factory=dict)

    @property
    def has_journeys(self) -> bool:
        return self.needs is not None

    def problems(self, key: str) -> list[str]:
        reg = self.registry
        out = date_problems(self.start_date, f"{key}.start_date", nullable=False)
        if (self.queue is None) == (not self.channels):
            out.append(f"{key}: give either 'queue' (one M/M/c+M queue) or 'channels' and "
                       "'pools', not both and not neither")
        for name, ch in self.channels.items():
            out += self._channel_name_problems(key, name, ch)
            if not any(name in p.skills for p in self.pools.values()):
                out.append(f"{key}.channels.{name} has no pool with this skill; add "
                           f"'{name}' to the skills of one of: {', '.join(self.pools) or '(none)'}")
        for pname, pool in self.pools.items():
            for s in pool.skills:
                if s not in self.channels:
                    out.append(f"{key}.pools.{pname}.skills lists '{s}', which is not among "
                               f"{key}.channels ({', '.join(self.channels) or 'none'})")
            if pool.concurrency > 1:
                out += [f"{key}.pools.{pname}.concurrency = {pool.concurrency} needs messaging "
                        f"channels only; '{s}' is {reg.kind(s)} (allowed: concurrency 1, or "
                        "skills of kind messaging)" for s in pool.skills
                        if s in reg.names and reg.kind(s) != "messaging"]
        out += [f"{key}.staffing.service_level.{k} is not an agent channel of the scenario; "
                f"allowed: default, {', '.join(reg.agent)}"
                for k in self.staffing.service_level if k != "default" and k not in reg.agent]
        out += [f"{key}.restrict_agent_services.channels lists '{k}'; allowed: agent channels "
                f"of the scenario: {', '.join(reg.agent)}"
                for k in self.restrict_agent_services.channels if k not in reg.agent]
        if len(reg) > MAX_CHANNELS:
            out.append(f"{key}.channels: {len(reg)} channels in all; allowed: at most "
                       f"{MAX_CHANNELS} (the built-in ten included)")
        return out + self._journey_problems(key) + self._uncertain_problems(key)

    def value_at(self, path: str):
        """The value at a dotted key (dataclass attributes, mapping keys); None if absent."""
        node = self
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        return node

    def _uncertain_problems(self, key: str) -> list[str]:
        """Every key an uncertain input moves is a number of the scenario."""
        out = []
        for name, u in self.uncertain.items():
            for path in (*u.path, *u.shift_down):
                node = self.value_at(path)
                if isinstance(node, bool) or not isinstance(node, (int, float)):
                    out.append(f"{key}.uncertain.{name}: {path!r} is not a number of the "
                               f"scenario (found {node!r}); allowed: a dotted key with a "
                               "numeric value, e.g. bot.containment_gain")
        return out

    @staticmethod
    def _channel_name_problems(key: str, name: str, ch: AgentChannel) -> list[str]:
        import re

        where = f"{key}.channels.{name}"
        if BUILTIN_KINDS.get(name) == "digital":
            return [f"{where}: {name} is a digital channel (set it under {key}.digital.{name}); "
                    "an agent channel needs another name"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            return [f"{where}: a channel's name is lower-case letters, digits and _ (it names "
                    "columns such as <channel>.service_level)"]
        if ch.kind is None and name not in BUILTIN_KINDS:
            return [f"{where}.kind is missing: a channel ccsim does not know needs one; "
                    f"allowed: {', '.join(AGENT_KINDS)}"]
        return []

    @property
    def registry(self) -> Registry:
        """Codes and kinds of every channel of the scenario (:mod:`sim.engine.channels`)."""
        channels, _ = self.agent_model()
        return registry({n: c.kind for n, c in channels.items()})

    def registered_only(self, name: str) -> bool:
        """Only customers registered for self-service can use agent channel ``name``."""
        flag = self.channels[name].registered_only if name in self.channels else None
        return name in BUILTIN_REGISTERED_ONLY if flag is None else flag

    def _journey_problems(self, key: str) -> list[str]:
        parts = {"customers": self.customers, "needs": self.needs, "choice": self.choice}
        given = [k for k, v in parts.items() if v is not None]
        if not given:
            return []
        if len(given) < 3:
            return [f"{key}: customer journeys need all of customers, needs and choice; "
                    f"missing: {', '.join(k for k in parts if k not in given)}"]
        intents = set(self.needs.intents) | {"default"}
        names = self.registry.names
        out = self.choice.channel_problems(f"{key}.choice", names)
        for sname, seg in self.customers.segments.items():
            out += channel_key_problems(seg.channel_utility,
                                        f"{key}.customers.segments.{sname}.channel_utility", names)
        for iname, it in self.needs.intents.items():
            out += channel_key_problems(it.channel_utility,
                                        f"{key}.needs.intents.{iname}.channel_utility", names)
        out += [f"{key}.channels.{n}.redial_probability = {c.redial_probability:g}: in customer "
                f"journeys calling again is the customer's choice; allowed: 0 (set "
                f"{key}.choice.after_failure.{n}.{n}, the utility of trying {n} again after "
                f"abandoning it, and {key}.choice.retry_penalty_per_attempt)"
                for n, c in self.channels.items() if c.redial_probability > 0]
        per_intent = [(f"channels.{n}.first_contact_resolution", c.first_contact_resolution)
                      for n, c in self.channels.items()]
        for dname in ("support_site", "bot", "selfservice", "webshop", "api", "user_admin"):
            d = getattr(self.digital, dname)
            if d is not None:
                per_intent += [(f"digital.{dname}.success", d.success),
                               (f"digital.{dname}.first_contact_resolution",
                                d.first_contact_resolution)]
        for where, values in per_intent:
            out += [f"{key}.{where}.{k} is not an intent; allowed: {', '.join(sorted(intents))}"
                    for k in values if k not in intents]
        for where, values in (("restrict_agent_services.intents",
                               self.restrict_agent_services.intents),
                              ("proactive_notifications.intents",
                               self.proactive_notifications.intents)):
            out += [f"{key}.{where}: {k!r} is not an intent; allowed: "
                    f"{', '.join(sorted(intents - {'default'}))}"
                    for k in values if k not in intents - {"default"}]
        return out

    def agent_model(self) -> tuple[dict[str, AgentChannel], dict[str, Pool]]:
        """Channels and pools, with the ``queue`` shorthand expanded (phone + one pool)."""
        q = self.queue
        if q is None:
            return dict(self.channels), dict(self.pools)
        phone = AgentChannel(
            arrivals_per_hour=q.arrivals_per_hour,
            handle=HandleTime(mean_seconds=q.aht_seconds, distribution="exponential"),
            answer_target_seconds=q.answer_target_seconds,
            patience_seconds=q.patience_seconds,
        )
        pool = Pool(skills=("phone",), shifts=(Shift(agents=q.agents),),
                    hourly_cost_eur=q.hourly_cost_eur)
        return {"phone": phone}, {"agents": pool}


@dataclass(frozen=True)
class RunSettings:
    """How long and how often to run — the one place of these defaults (``ccsim``'s ``run``
    config is made from them, :mod:`sim.cli`). Hours of simulated time.

    ``hours``: per replication (8760: one year); ``warmup_hours``: contacts arriving before
    this are left out of the KPIs; ``replications``: independent replications (KPIs give the
    mean and 95 % CI); ``interval_minutes``: the length of a row of intervals.parquet;
    ``write_contacts``: write contacts.parquet (one row per contact); ``progress``: a
    progress line per replication on stderr; ``engine``: ``fast`` (compiled) or ``simpy``
    (the reference), contact for contact the same. ``max_contacts``
    (per replication) and ``max_memory_gb`` (two runs at once fit in 24 GB) are the size
    guard: a run estimated above either is refused before it starts (:mod:`sim.engine.estimate`), and a
    replication that makes more than ``max_contacts`` contacts is stopped.
    """

    hours: float = field(default=8760.0, metadata=_POS)
    warmup_hours: float = field(default=0.0, metadata=_NONNEG)
    replications: int = field(default=3, metadata={"min": 1})
    interval_minutes: float = field(default=30.0, metadata=_POS)
    write_contacts: bool = True
    progress: bool = True
    #: the engine: ``fast`` (compiled, :mod:`sim.engine.fast`) or ``simpy`` (the reference);
    #: the same contact log for the same seed
    engine: str = field(default="fast", metadata={"choices": ("fast", "simpy")})
    #: size guard (:mod:`sim.engine.estimate`): refuse a run estimated above these, before it starts
    max_contacts: int = field(default=20_000_000, metadata={"min": 1})
    max_memory_gb: float = field(default=10.0, metadata=_POS)

    def problems(self, key: str) -> list[str]:
        return fail_if(self.warmup_hours >= self.hours, f"{key}.warmup_hours",
                       self.warmup_hours, f"it must be below {key}.hours ({self.hours})")


def parse_scenario(data: dict, key: str = "scenario") -> Scenario:
    """Validated :class:`Scenario` from a plain dict; raises :class:`ConfigError`."""
    if isinstance(data, dict) and isinstance(data.get("uncertain"), dict):
        data = {**data, "uncertain": {      # one key may be written without a list
            n: ({**u, "path": [u["path"]]} if isinstance(u, dict) and isinstance(u.get("path"),
                                                                                 str) else u)
            for n, u in data["uncertain"].items()}}
    return from_dict(Scenario, data, key)


def parse_run(data: dict, key: str = "run") -> RunSettings:
    """Validated :class:`RunSettings` from a plain dict; raises :class:`ConfigError`."""
    return from_dict(RunSettings, data, key)


def parse_seed(value, key: str = "seed") -> int:
    """The root seed: a non-negative integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError([f"{key} = {value!r} is not allowed; allowed: an integer >= 0"])
    return value
