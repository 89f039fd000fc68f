"""The metrics leadership argues about, computed from the contact log only.

A contact log has one row per contact with the columns ``contact_id, need_id,
customer_id, channel, start, outcome, escalated_from, target_product``
(:data:`LOG_COLUMNS`). The definitions (which channels count where) are
:class:`MetricDefinitions` — their defaults are there; a metrics config
(``conf/metrics/*.yaml``) or ``--definitions FILE`` overrides them.

A log's channels are the built-in ten (:mod:`sim.engine.channels`) and any named in
``extra_channels`` (a simulated run adds its scenario's own agent channels).

* manual contacts — rows of the manual channels whose outcome is not excluded
  (default: every agent channel — phone, appointment, chat, service_request
  and the extra ones; abandoned excluded);
* online share of contacts (the company's metric, seed 000) = D / (D + manual),
  D = every row of ``digital_all_rows`` (bot, service_request, support_site) +
  resolved rows of ``digital_resolved_rows`` (selfservice) + resolved rows of
  ``digital_target_product_rows`` (webshop) with a target product (empty = yes);
* online self-service share (the thesis's metric) = S / (S + manual),
  S = resolved rows of ``self_service_channels`` (selfservice, api, user_admin);
* digital resolution share = resolved needs whose resolving contact is in
  ``digital_resolution_channels`` / resolved needs. A need's last contact (by
  start, then contact id) decides: resolved, or not (given up or still open);
* double-counted contacts = rows of ``double_count_channels`` (service_request,
  counted as digital and as manual) + bot rows escalated to a chat row;
* repeat calls per caller = phone rows after the first phone row of the same
  need (redials, calling again about the same matter) / customers who called;
* what customers pay (:mod:`analysis.impact`): the unresolved share, customers with an
  unresolved need, the time to resolution (mean and 90th percentile, hours), contacts per
  resolved need and the revenue at risk (NaN without the scenario's segment values).

:func:`agent_volumes` counts each agent channel's contacts offered (reached the queue)
and answered, beside the published :func:`volumes`.

:func:`monthly_table` gives the volumes and these metrics per calendar month
(by the start of each contact), and the mean handle time of answered calls
when the log has ``handle_s`` (simulated logs do). Revenue at risk is a yearly figure
(whether a customer leaves after the year's experience) and has no monthly value.
"""

from __future__ import annotations

if __name__ == "__main__":       # python -m …: a Ctrl-C while the imports below load is one line
    from analysis.guard import quiet_start

    quiet_start("ccsim-metrics")

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.engine.channels import BUILTIN, BUILTIN_KINDS, DIGITAL
from sim.engine.validate import from_dict

from .impact import IMPACT_KEYS, REVENUE_KEY, ImpactInputs, customer_impact

__all__ = ["LOG_COLUMNS", "LOG_OUTCOMES", "MetricDefinitions", "LogError", "read_contact_log",
           "validate_log", "log_metrics", "volumes", "agent_volumes", "monthly_table",
           "METRIC_KEYS", "load_definitions", "need_order"]

LOG_COLUMNS = ("contact_id", "need_id", "customer_id", "channel", "start", "outcome",
               "escalated_from", "target_product")
#: Outcomes of a contact log; ``open`` (still waiting when a simulated run ended) is ccsim's own.
LOG_OUTCOMES = ("resolved", "escalated", "abandoned", "failed", "open")
#: The metrics a log alone gives (also per month, and as calibration targets); a run's
#: metrics also have ``revenue_at_risk_eur``, which needs its scenario's segment values.
METRIC_KEYS = ("needs", "unresolved_needs", "manual_contacts", "double_counted_contacts",
               "online_share_of_contacts", "online_self_service_share",
               "digital_resolution_share", "contacts_per_need", "repeat_calls_per_caller",
               *(k for k in IMPACT_KEYS if k != REVENUE_KEY))


@dataclass(frozen=True)
class MetricDefinitions:
    """Which channels and outcomes count in which metric (seed 000, ch. 3.2 and 4; see the
    module docstring). These defaults are the only ones; configs override keys."""

    #: manual contacts: rows of these channels (None: every agent channel) …
    manual_channels: tuple[str, ...] | None = None
    #: … except rows with these outcomes
    manual_excluded_outcomes: tuple[str, ...] = ("abandoned",)
    #: the company's "online share of contacts" counts as digital (D): every row of these
    #: (the bot also when it hands over; a service request also when an agent handles it) …
    digital_all_rows: tuple[str, ...] = ("bot", "service_request", "support_site")
    #: … resolved actions of these …
    digital_resolved_rows: tuple[str, ...] = ("selfservice",)
    #: … and resolved orders of target products of these (empty target = a target)
    digital_target_product_rows: tuple[str, ...] = ("webshop",)
    #: the thesis's "online self-service share": resolved rows of these
    self_service_channels: tuple[str, ...] = ("selfservice", "api", "user_admin")
    #: digital resolution share: needs resolved by a contact in these
    digital_resolution_channels: tuple[str, ...] = ("bot", "selfservice", "webshop",
                                                    "support_site", "api", "user_admin")
    #: double counts: every row of these, plus bot rows escalated to a chat row
    double_count_channels: tuple[str, ...] = ("service_request",)
    #: agent channels of the log beyond the built-in ones (a run adds its scenario's own)
    extra_channels: tuple[str, ...] = ()

    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel a log may have."""
        return BUILTIN + tuple(c for c in self.extra_channels if c not in BUILTIN)

    @property
    def manual(self) -> tuple[str, ...]:
        """The channels of manual contacts (:attr:`manual_channels`, else the agent channels)."""
        if self.manual_channels is not None:
            return self.manual_channels
        return tuple(c for c in self.channels if BUILTIN_KINDS.get(c) != DIGITAL)

    def problems(self, key: str) -> list[str]:
        out = [f"{key}.extra_channels lists {v!r}, a built-in digital channel; allowed: new "
               "agent channels" for v in self.extra_channels if BUILTIN_KINDS.get(v) == DIGITAL]
        for name in self.__dataclass_fields__:
            if name == "extra_channels" or getattr(self, name) is None:
                continue
            allowed = LOG_OUTCOMES if name == "manual_excluded_outcomes" else self.channels
            out += [f"{key}.{name} lists {v!r}; allowed: {', '.join(allowed)}"
                    + ("" if name == "manual_excluded_outcomes" else
                       " (or add it to extra_channels)")
                    for v in getattr(self, name) if v not in allowed]
        return out


def load_definitions(data: dict | None = None, key: str = "metrics",
                     extra_channels: tuple[str, ...] = ()) -> MetricDefinitions:
    """Validated definitions from a plain dict (None → the defaults), for logs that may also
    have ``extra_channels`` (a scenario's own agent channels); raises ConfigError."""
    data = dict(data or {})
    if extra_channels:
        given = data.get("extra_channels") or []
        data["extra_channels"] = list(given) + [c for c in extra_channels if c not in given]
    return from_dict(MetricDefinitions, data, key)


class LogError(ValueError):
    """A malformed contact log: the message names the row (1 = first data row) and value."""


#: Largest log file read by default (pandas needs several times the file's size in memory).
MAX_FILE_GB = 4.0


def read_contact_log(path, sep: str = ",", max_file_gb: float = MAX_FILE_GB,
                     channels: tuple[str, ...] = BUILTIN) -> pd.DataFrame:
    """Read a contact log from CSV or parquet and validate it (raises LogError); its
    channels must be among ``channels``."""
    path = Path(path)
    if not path.exists():
        raise LogError(f"{path}: no such file")
    if path.is_dir():
        raise LogError(f"{path} is a folder; give a contact log file (.csv or .parquet), e.g. "
                       "results/runs/<run>/contacts.parquet")
    if not path.is_file():
        raise LogError(f"{path} is not a regular file (a device or a pipe); give a contact "
                       "log file (.csv or .parquet)")
    size = path.stat().st_size
    if size > max_file_gb * 1e9:
        raise LogError(f"{path} has {size / 1e9:,.1f} GB, above the {max_file_gb:g} GB this "
                       "command reads by default (it needs several times that in memory); "
                       "pass --max-file-gb to read it anyway, or split the log")
    kind = "parquet" if path.suffix.lower() == ".parquet" else "CSV"
    try:
        if kind == "parquet":
            df = pd.read_parquet(path)
        else:
            _check_header(path, sep)
            df = pd.read_csv(path, sep=sep, dtype={c: "string" for c in _TEXT_COLUMNS})
    except LogError:
        raise
    except UnicodeDecodeError as exc:
        raise LogError(f"{path} is not UTF-8 text ({exc.reason}); save it as UTF-8 (in Excel: "
                       "CSV UTF-8)") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        detail = " ".join(str(exc).split())[:300]
        raise LogError(f"{path}: cannot be read as {kind} ({type(exc).__name__}: {detail})") \
            from None
    if df.empty:
        raise LogError(f"{path} has no contacts (only a header); a contact log needs one row "
                       "per contact")
    try:
        return validate_log(df, channels)
    except LogError as exc:
        raise LogError(f"{path}: {exc}") from None


#: Columns read as text from a CSV (identifiers are told apart from numbers later).
_TEXT_COLUMNS = ("contact_id", "need_id", "customer_id", "channel", "start", "outcome",
                 "escalated_from", "target_product")


def _check_header(path: Path, sep: str) -> None:
    """A CSV header with every column once; a hint when the separator looks different."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        line = f.readline()
    if not line.strip():
        raise LogError(f"{path} is empty; a contact log starts with a header line: "
                       + ",".join(LOG_COLUMNS))
    names = [n.strip() for n in next(csv.reader([line], delimiter=sep))]
    missing = [c for c in LOG_COLUMNS if c not in names]
    if missing:
        for other, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars"),
                             (",", "commas")):
            if other != sep and other in line and all(c in line for c in LOG_COLUMNS[:3]):
                raise LogError(f"{path}: the header is separated by {label}, not by {sep!r}: "
                               f"save the file with commas or pass --sep '{other}'")
    dup = sorted({n for n in names if names.count(n) > 1 and n})
    if dup:
        raise LogError(f"{path}: column(s) {', '.join(dup)} appear more than once in the header; "
                       "give every column once")


def _show(value) -> str:
    """A value as the user wrote it: no numpy wrappers, text quoted."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "empty"
    return repr(value)


def _bad_row(df: pd.DataFrame, mask, column: str, allowed: str, why: str | None = None) -> None:
    if mask.any():
        i = int(np.flatnonzero(np.asarray(mask))[0])
        raise LogError(f"row {i + 1} (contact_id {_show(df['contact_id'].iloc[i])}): {column} = "
                       f"{_show(df[column].iloc[i])} " + (why or "is not allowed")
                       + f"; allowed: {allowed}")


def _ids(df: pd.DataFrame, column: str, like: pd.Series | None = None) -> pd.Series:
    """Identifiers: integers when every value is one (else text), missing only where allowed.

    ``like``: the identifier column these values must refer to (same kind).
    """
    raw = df[column]
    nullable = like is not None
    if raw.dtype == bool or str(raw.dtype) == "boolean":
        _bad_row(df, raw.notna(), column, "an identifier (an integer or a text)")
    if pd.api.types.is_float_dtype(raw):
        bad = raw.notna() & ~np.isfinite(raw.astype(float))
        _bad_row(df, bad, column, "an identifier (an integer or a text)")
    if not nullable:
        text = raw.astype("string").str.strip()
        _bad_row(df, raw.isna() | (text == ""), column, "an identifier (not empty)")
    stripped = raw.astype("string").str.strip() if not pd.api.types.is_numeric_dtype(raw) \
        else raw
    numbers = pd.to_numeric(stripped, errors="coerce")
    integral = numbers.notna() & np.isfinite(numbers.astype(float)) & (numbers == numbers.round())
    numeric_kind = (integral | raw.isna()).all() if like is None else \
        str(like.dtype) == "Int64"
    if numeric_kind:
        _bad_row(df, raw.notna() & ~integral, column, "an integer id like contact_id")
        big = integral & (numbers.abs() >= 2 ** 63)
        _bad_row(df, big, column, "an integer id below 2^63")
        return numbers.astype("Int64")
    return raw.astype("string").str.strip().astype("string")


_TZ = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _start(df: pd.DataFrame) -> pd.Series:
    """``start`` as naive timestamps: ISO-8601 text (all with a time-zone offset, converted to
    UTC, or none with one) or a datetime column."""
    raw = df["start"]
    if pd.api.types.is_datetime64_any_dtype(raw):
        out = raw.dt.tz_convert(None) if getattr(raw.dt, "tz", None) is not None else raw
        _bad_row(df, out.isna(), "start", "an ISO-8601 time")
        return out.astype("datetime64[ns]")
    if not (pd.api.types.is_string_dtype(raw) or raw.dtype == object):
        _bad_row(df, pd.Series(True, index=df.index), "start",
                 "an ISO-8601 time such as 2023-01-02T09:30:00 (text, not a number)")
    text = raw.astype("string").str.strip()
    is_text = raw.map(lambda v: isinstance(v, str) or v is None or v is pd.NA
                      or (isinstance(v, float) and math.isnan(v)))
    _bad_row(df, ~is_text, "start", "an ISO-8601 time such as 2023-01-02T09:30:00 (text)")
    # pandas also reads "now" and "today": an ISO-8601 time starts with its year
    _bad_row(df, ~text.str.match(r"\d{4}", na=False) & text.notna(), "start",
             "an ISO-8601 time such as 2023-01-02T09:30:00")
    zoned = text.str.contains(_TZ, regex=True, na=False)
    if zoned.any() and not zoned.all():
        _bad_row(df, zoned != zoned.iloc[0], "start",
                 "every start with a time-zone offset (e.g. +02:00) or none of them",
                 why=("has a time-zone offset and row 1 has none" if not zoned.iloc[0]
                      else "has no time-zone offset and row 1 has one"))
    try:
        out = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=bool(zoned.any()))
    except (ValueError, OverflowError, TypeError):
        out = pd.Series([_one_time(v, bool(zoned.any())) for v in text], index=df.index)
    if zoned.any():
        out = out.dt.tz_convert(None)
    _bad_row(df, out.isna(), "start", "an ISO-8601 time such as 2023-01-02T09:30:00")
    return out.astype("datetime64[ns]")


def _one_time(value, utc: bool):
    try:
        return pd.to_datetime(value, format="ISO8601", utc=utc)
    except (ValueError, OverflowError, TypeError):
        return pd.NaT


def validate_log(df: pd.DataFrame, channels: tuple[str, ...] = BUILTIN) -> pd.DataFrame:
    """Check columns, values (channels among ``channels``) and escalation links; return a
    normalised copy."""
    missing = [c for c in LOG_COLUMNS if c not in df.columns]
    if missing:
        raise LogError(f"missing column(s): {', '.join(missing)}; a contact log needs "
                       + ", ".join(LOG_COLUMNS))
    if df.empty:
        raise LogError("the log has no contacts; a contact log needs one row per contact")
    df = df.reset_index(drop=True).copy()
    for col in ("contact_id", "need_id", "customer_id"):
        df[col] = _ids(df, col)
    df["escalated_from"] = _ids(df, "escalated_from", like=df["contact_id"])
    for col, allowed in (("channel", channels), ("outcome", LOG_OUTCOMES)):
        text = df[col].astype("string").str.strip()
        shown = allowed[:4] if col == "outcome" else allowed
        _bad_row(df, ~text.isin(allowed).fillna(False).astype(bool), col, ", ".join(shown))
        df[col] = text.astype(str)
    df["start"] = _start(df)
    df["target_product"] = _as_bool(df)
    group = ["replication"] if "replication" in df.columns else []
    _bad_row(df, df.duplicated(group + ["contact_id"]), "contact_id", "a value unique in the log")
    _check_escalations(df, group)
    return df


def _as_bool(df: pd.DataFrame) -> pd.Series:
    raw = df["target_product"]
    if raw.dtype == bool or str(raw.dtype) == "boolean":
        return raw.astype("boolean")
    text = raw.astype("string").str.strip().str.lower()
    mapping = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False,
               "1.0": True, "0.0": False}
    out = text.map(mapping)
    _bad_row(df, text.notna() & (text != "") & out.isna(), "target_product", "true, false or empty")
    return out.astype("boolean")


def _check_escalations(df: pd.DataFrame, group: list[str]) -> None:
    """Every escalated_from names another, earlier (or simultaneous) contact of the same need,
    and following escalated_from back from any contact never comes round to it again."""
    has = df["escalated_from"].notna()
    if not has.any():
        return
    allowed = "the contact_id of an earlier contact of the same need"
    _bad_row(df, has & (df["escalated_from"] == df["contact_id"]).fillna(False).astype(bool),
             "escalated_from", allowed, why="is the contact itself")
    ref = df[group + ["contact_id", "need_id", "start"]].reset_index().rename(
        columns={"contact_id": "escalated_from", "need_id": "_need", "start": "_start",
                 "index": "_row"})
    rows = df.loc[has, group + ["escalated_from", "need_id", "start"]].reset_index()
    merged = rows.merge(ref, on=group + ["escalated_from"], how="left").set_index("index")

    def flag(bad) -> pd.Series:
        mask = pd.Series(False, index=df.index)
        mask.loc[merged.index[np.asarray(bad, dtype=bool)]] = True
        return mask

    _bad_row(df, flag(merged["_need"].isna()), "escalated_from", allowed,
             why="names no contact of the log" + (" (of the same replication)" if group else ""))
    other = (merged["_need"] != merged["need_id"]).fillna(False)
    if other.any():
        i = merged.index[np.asarray(other, dtype=bool)][0]
        j = merged.loc[i]
        raise LogError(f"row {i + 1} (contact_id {_show(df['contact_id'].iloc[i])}): "
                       f"escalated_from = {_show(j['escalated_from'])} is a contact of need "
                       f"{_show(j['_need'])}, but this row's need_id is {_show(j['need_id'])}; "
                       f"allowed: {allowed} (check need_id and escalated_from)")
    _bad_row(df, flag((merged["_start"] > merged["start"]).fillna(False)), "escalated_from",
             allowed, why="starts after this contact")
    # loops: contacts escalated from each other at the same time (pointer doubling)
    parent = np.full(len(df) + 1, len(df), dtype=np.int64)     # the last slot: "no parent"
    parent[merged.index.to_numpy()] = merged["_row"].to_numpy(dtype=np.int64)
    up = parent.copy()
    for _ in range(max(int(np.ceil(np.log2(len(df) + 1))) + 1, 1)):
        up = up[up]
    looped = up[:-1] != len(df)
    if looped.any():
        i = int(np.flatnonzero(looped)[0])
        chain, k = [i], parent[i]
        while k not in chain and k != len(df) and len(chain) < 6:
            chain.append(int(k))
            k = parent[k]
        shown = " → ".join(_show(df["contact_id"].iloc[c]) for c in chain + [int(k)])
        _bad_row(df, pd.Series(looped, index=df.index), "escalated_from", allowed,
                 why=f"makes a loop of escalations ({shown})")


def _parts(df: pd.DataFrame, d: MetricDefinitions) -> dict:
    ch, out = df["channel"], df["outcome"]
    resolved = out == "resolved"
    manual = ch.isin(d.manual) & ~out.isin(d.manual_excluded_outcomes)
    target = df["target_product"].fillna(True).astype(bool)
    digital = (ch.isin(d.digital_all_rows) | (ch.isin(d.digital_resolved_rows) & resolved)
               | (ch.isin(d.digital_target_product_rows) & resolved & target))
    self_service = ch.isin(d.self_service_channels) & resolved
    return {"manual": int(manual.sum()), "D": int(digital.sum()), "S": int(self_service.sum())}


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def _order_codes(col: pd.Series) -> np.ndarray:
    """Integers that sort like the column's values (the values themselves if integers)."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return col.to_numpy("datetime64[ns]").view(np.int64)
    if pd.api.types.is_integer_dtype(col) and not col.hasnans:
        return col.to_numpy(np.int64)
    return pd.factorize(col, sort=True)[0]


def need_order(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row positions sorted by need, then start, then contact id; and the positions in that
    order where each need's rows begin."""
    need = _order_codes(df["need_id"])
    order = np.lexsort((_order_codes(df["contact_id"]), _order_codes(df["start"]), need))
    need = need[order]
    starts = np.flatnonzero(np.r_[True, need[1:] != need[:-1]]) if len(order) else \
        np.zeros(0, dtype=np.int64)
    return order, starts


def _last_rows(order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Row positions of each need's last contact (latest start, then highest contact id)."""
    return order[np.r_[starts[1:], len(order)] - 1] if len(order) else order


def log_metrics(df: pd.DataFrame, d: MetricDefinitions | None = None,
                impact: ImpactInputs | None = None) -> dict:
    """The metrics of one validated log (one replication); see the module docstring and
    :mod:`analysis.impact` (``impact``: the scenario's segment values and hand-over; without
    them ``revenue_at_risk_eur`` is NaN)."""
    d = d or MetricDefinitions()
    p = _parts(df, d)
    order, starts = need_order(df)
    last = _last_rows(order, starts)
    needs = len(last)
    resolved = (df["outcome"].take(last) == "resolved").to_numpy()
    resolving_channel = df["channel"].take(last)[resolved]
    to_chat = df.loc[df["channel"] == "chat", "escalated_from"].dropna()
    bot_to_chat = df["contact_id"].isin(to_chat) & (df["channel"] == "bot")
    return {
        "needs": needs,
        "unresolved_needs": needs - int(resolved.sum()),
        "manual_contacts": p["manual"],
        "double_counted_contacts": int(df["channel"].isin(d.double_count_channels).sum()
                                       + bot_to_chat.sum()),
        "online_share_of_contacts": _ratio(p["D"], p["D"] + p["manual"]),
        "online_self_service_share": _ratio(p["S"], p["S"] + p["manual"]),
        "digital_resolution_share": _ratio(
            int(resolving_channel.isin(d.digital_resolution_channels).sum()), int(resolved.sum())),
        "contacts_per_need": _ratio(len(df), needs),
        "repeat_calls_per_caller": _repeat_calls_per_caller(df),
        **customer_impact(df, order, starts, impact),
    }


def _repeat_calls_per_caller(df: pd.DataFrame) -> float:
    calls = df[df["channel"] == "phone"]
    if calls.empty:
        return math.nan
    return (len(calls) - calls["need_id"].nunique()) / calls["customer_id"].nunique()


#: columns of a simulated log that the monthly table never reads
_NOT_MONTHLY = ("replication", "intent", "priority", "attempt", "wait_s", "pool", "failure_reason",
                "guided")


def monthly_table(df: pd.DataFrame, d: MetricDefinitions | None = None) -> pd.DataFrame:
    """One row per calendar month (``month`` as YYYY-MM, by contact start): the
    volumes (``<channel>_contacts``, counted as :func:`volumes`; ``<channel>_offered`` and
    ``_answered`` of :func:`agent_volumes`), the metrics of :func:`log_metrics` over that
    month's contacts (:data:`METRIC_KEYS`: not revenue at risk), and ``phone_handle_mean_s``
    (mean handle time of answered calls) when the log has ``handle_s``."""
    rows = []
    names = log_channels(df)
    if df.empty:                  # a run without contacts: no month, but the same columns
        columns = ["month", *(f"{k}_contacts" for k in names), *agent_volumes(df, names),
                   *METRIC_KEYS]
        return pd.DataFrame(columns=columns + (["phone_handle_mean_s"]
                                               if "handle_s" in df.columns else []))
    month = df["start"].dt.year * 100 + df["start"].dt.month      # strftime costs 0.9 s a year
    idle = [c for c in _NOT_MONTHLY if c in df.columns]       # not read here: not copied per month
    for m, g in df.drop(columns=idle).groupby(month, sort=True):
        row = {"month": f"{m // 100:04d}-{m % 100:02d}"}
        row.update({f"{k}_contacts": v for k, v in volumes(g, names).items()})
        row.update(agent_volumes(g, names))
        row.update({k: v for k, v in log_metrics(g, d).items() if k in METRIC_KEYS})
        if "handle_s" in g.columns:
            answered = g.loc[(g["channel"] == "phone") & g["handle_s"].notna(), "handle_s"]
            row["phone_handle_mean_s"] = float(answered.mean()) if len(answered) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def log_channels(df: pd.DataFrame) -> tuple[str, ...]:
    """The channels of a log: the built-in ten, then any other it has (a simulated log's
    categories are its scenario's channels, in code order)."""
    col = df["channel"]
    present = list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) \
        else sorted(set(col.dropna()))
    return BUILTIN + tuple(c for c in present if c not in BUILTIN)


def volumes(df: pd.DataFrame, channels: tuple[str, ...] | None = None) -> dict:
    """Channel volumes as published: phone/chat/appointment/bot/support_site all rows,
    service_request created, selfservice/api/user_admin resolved actions, webshop
    resolved target-product orders; other (agent) channels every row. ``channels``:
    which (default: :func:`log_channels`)."""
    ch, resolved = df["channel"], df["outcome"] == "resolved"
    target = df["target_product"].fillna(True).astype(bool)
    out = {}
    for name in channels or log_channels(df):
        m = ch == name
        if name in ("selfservice", "api", "user_admin"):
            m &= resolved
        elif name == "webshop":
            m &= resolved & target
        out[name] = int(m.sum())
    return out


def agent_volumes(df: pd.DataFrame, channels: tuple[str, ...] | None = None) -> dict:
    """Per agent channel (every channel but the built-in digital ones): ``<channel>_offered``,
    its contacts that reached the agents' queue (all rows but those that found the channel
    closed, outcome ``failed``), and ``<channel>_answered``, those an agent answered (a
    backlog: handled); the latter only when the log has ``answer_s`` (simulated logs do).
    The same counts as ``channels.<channel>.offered`` / ``answered`` of ``kpis.json``.
    ``channels``: which (default: :func:`log_channels`)."""
    agent = [c for c in channels or log_channels(df) if BUILTIN_KINDS.get(c) != DIGITAL]
    ch, failed = df["channel"], (df["outcome"] == "failed").to_numpy()
    answered = df["answer_s"].notna().to_numpy() if "answer_s" in df.columns else None
    out = {}
    for name in agent:
        offered = (ch == name).to_numpy() & ~failed
        out[f"{name}_offered"] = int(offered.sum())
        if answered is not None:
            out[f"{name}_answered"] = int((offered & answered).sum())
    return out


def retried_contacts(df: pd.DataFrame, channels: tuple[str, ...] | None = None) -> dict:
    """Per agent channel, ``<channel>_retried``: contacts offered to its agents, not answered,
    after which the same need came back to the same channel (a redial, a new chat) — the
    try-again share is this over offered − answered. Needs ``need_id``, ``arrival_s`` and
    ``answer_s`` (simulated logs have them)."""
    agent = [c for c in channels or log_channels(df) if BUILTIN_KINDS.get(c) != DIGITAL]
    out = {}
    for name in agent:
        m = (df["channel"] == name).to_numpy()
        sub = df.loc[m, ["need_id", "arrival_s", "answer_s", "outcome"]]
        sub = sub.sort_values(["need_id", "arrival_s"], kind="stable")
        need = sub["need_id"].to_numpy()
        again = np.zeros(len(sub), bool)
        again[:-1] = need[1:] == need[:-1]
        unanswered = sub["answer_s"].isna().to_numpy() & (sub["outcome"] != "failed").to_numpy()
        out[f"{name}_retried"] = int((unanswered & again).sum())
    return out


def main(argv: list[str] | None = None) -> int:
    """``ccsim-metrics LOG``: print the log's metrics as one JSON object (exit codes: 0 done,
    2 a malformed log or definitions file, 1 a failure; see :mod:`analysis.guard`)."""
    from .guard import run_command

    return run_command("ccsim-metrics", lambda: _main(argv))


def read_definitions(path: Path | None) -> MetricDefinitions:
    """Metric definitions from a YAML file (None: the defaults, :class:`MetricDefinitions`);
    raises ConfigError."""
    import yaml

    from sim.engine.validate import ConfigError

    if path is None:
        return MetricDefinitions()
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"--definitions {path}: " + ("not a file" if path.exists()
                                                        else "no such file")],
                          prefix="Bad definitions")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError([f"{path} is not a readable YAML file ({detail})"],
                          prefix="Bad definitions") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError([f"{path} holds {type(data).__name__}, not a mapping of definition "
                           f"names to channel lists; allowed keys: "
                           + ", ".join(MetricDefinitions.__dataclass_fields__)],
                          prefix="Bad definitions")
    return load_definitions(data, "definitions")


def _main(argv: list[str] | None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="ccsim-metrics", description="Metrics of a contact log (CSV or parquet): manual "
        "contacts, the company's online share of contacts, the online self-service share, "
        "the digital resolution share, double counts and needs. Exit status: 0 done, 2 a "
        "malformed log or definitions file (the message names the row or key), 1 a failure.")
    parser.add_argument("log", type=Path, help="contact log: .csv or .parquet")
    parser.add_argument("--definitions", type=Path, default=None,
                        help="metric definitions YAML (default: the built-in definitions)")
    parser.add_argument("--sep", default=",", help="CSV column separator (default: ,)")
    parser.add_argument("--max-file-gb", type=float, default=MAX_FILE_GB,
                        help="largest log file to read (default: %(default)s GB)")
    args = parser.parse_args(argv)
    defs = read_definitions(args.definitions)
    try:
        df = read_contact_log(args.log, sep=args.sep, max_file_gb=args.max_file_gb,
                              channels=defs.channels)
    except LogError as exc:
        from .guard import BadInput

        raise BadInput(str(exc)) from None
    if "replication" in df.columns and df["replication"].nunique() > 1:
        per = [log_metrics(g, defs) for _, g in df.groupby("replication")]
        result = {k: float(np.mean([m[k] for m in per])) for k in per[0]}
        result["replications"] = len(per)
    else:
        result = log_metrics(df, defs)
    print(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v)
                      for k, v in result.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
