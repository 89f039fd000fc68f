"""The metrics leadership argues about, computed from the contact log only.

A contact log has one row per contact with the columns ``contact_id, need_id,
customer_id, channel, start, outcome, escalated_from, target_product``
(:data:`LOG_COLUMNS`). The definitions (which channels count where) are data:
``conf/metrics/default.yaml``, read into :class:`MetricDefinitions`.

* manual contacts — rows of the manual channels whose outcome is not excluded
  (default: phone, appointment, chat, service_request; abandoned excluded);
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
  need (redials, calling again about the same matter) / customers who called.

:func:`monthly_table` gives the volumes and these metrics per calendar month
(by the start of each contact), and the mean handle time of answered calls
when the log has ``handle_s`` (simulated logs do).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.journey_spec import CHANNELS
from sim.validate import from_dict

__all__ = ["LOG_COLUMNS", "LOG_OUTCOMES", "MetricDefinitions", "LogError", "read_contact_log",
           "validate_log", "log_metrics", "volumes", "monthly_table", "METRIC_KEYS",
           "load_definitions"]

LOG_COLUMNS = ("contact_id", "need_id", "customer_id", "channel", "start", "outcome",
               "escalated_from", "target_product")
#: Outcomes of a contact log; ``open`` (still waiting when a simulated run ended) is ccsim's own.
LOG_OUTCOMES = ("resolved", "escalated", "abandoned", "failed", "open")
METRIC_KEYS = ("needs", "unresolved_needs", "manual_contacts", "double_counted_contacts",
               "online_share_of_contacts", "online_self_service_share",
               "digital_resolution_share", "contacts_per_need", "repeat_calls_per_caller")
_CH = {"metadata": {"choices": CHANNELS}}


@dataclass(frozen=True)
class MetricDefinitions:
    """Which channels and outcomes count in which metric (see the module docstring)."""

    manual_channels: tuple[str, ...] = ("phone", "appointment", "chat", "service_request")
    manual_excluded_outcomes: tuple[str, ...] = ("abandoned",)
    digital_all_rows: tuple[str, ...] = ("bot", "service_request", "support_site")
    digital_resolved_rows: tuple[str, ...] = ("selfservice",)
    digital_target_product_rows: tuple[str, ...] = ("webshop",)
    self_service_channels: tuple[str, ...] = ("selfservice", "api", "user_admin")
    digital_resolution_channels: tuple[str, ...] = ("bot", "selfservice", "webshop",
                                                    "support_site", "api", "user_admin")
    double_count_channels: tuple[str, ...] = ("service_request",)

    def problems(self, key: str) -> list[str]:
        out = []
        for name in self.__dataclass_fields__:
            allowed = LOG_OUTCOMES if name == "manual_excluded_outcomes" else CHANNELS
            out += [f"{key}.{name} lists {v!r}; allowed: {', '.join(allowed)}"
                    for v in getattr(self, name) if v not in allowed]
        return out


def load_definitions(data: dict | None = None, key: str = "metrics") -> MetricDefinitions:
    """Validated definitions from a plain dict (None → the defaults); raises ConfigError."""
    return from_dict(MetricDefinitions, data or {}, key)


class LogError(ValueError):
    """A malformed contact log: the message names the row (1 = first data row) and value."""


def read_contact_log(path) -> pd.DataFrame:
    """Read a contact log from CSV or parquet and validate it (raises LogError)."""
    path = Path(path)
    if not path.exists():
        raise LogError(f"{path}: no such file")
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        raise LogError(f"{path}: cannot be read as {'parquet' if path.suffix == '.parquet' else 'CSV'}"
                       f" ({exc})") from None
    return validate_log(df)


def _bad_row(df: pd.DataFrame, mask, column: str, allowed: str) -> None:
    if mask.any():
        i = int(np.flatnonzero(np.asarray(mask))[0])
        raise LogError(f"row {i + 1} (contact_id {df['contact_id'].iloc[i]!r}): {column} = "
                       f"{df[column].iloc[i]!r} is not allowed; allowed: {allowed}")


def _ids(df: pd.DataFrame, column: str, like: pd.Series | None = None) -> pd.Series:
    """Identifiers: integers when every value is one (else text), missing only where allowed.

    ``like``: the identifier column these values must refer to (same kind).
    """
    raw = df[column]
    nullable = like is not None
    _bad_row(df, raw.isna() & (not nullable), column, "an identifier (not empty)")
    numbers = pd.to_numeric(raw, errors="coerce")
    integral = numbers.notna() & (numbers == numbers.round())
    numeric_kind = (integral | raw.isna()).all() if like is None else \
        str(like.dtype) == "Int64"
    if numeric_kind:
        _bad_row(df, raw.notna() & ~integral, column, "an integer id like contact_id")
        return numbers.astype("Int64")
    return raw.astype("string").str.strip().astype("string")


def validate_log(df: pd.DataFrame) -> pd.DataFrame:
    """Check columns, values and escalation links; return a normalised copy."""
    missing = [c for c in LOG_COLUMNS if c not in df.columns]
    if missing:
        raise LogError(f"missing column(s): {', '.join(missing)}; a contact log needs "
                       + ", ".join(LOG_COLUMNS))
    df = df.reset_index(drop=True).copy()
    for col in ("contact_id", "need_id", "customer_id"):
        df[col] = _ids(df, col)
    df["escalated_from"] = _ids(df, "escalated_from", like=df["contact_id"])
    df["channel"] = df["channel"].astype(str)
    _bad_row(df, ~df["channel"].isin(CHANNELS), "channel", ", ".join(CHANNELS))
    df["outcome"] = df["outcome"].astype(str)
    _bad_row(df, ~df["outcome"].isin(LOG_OUTCOMES), "outcome", ", ".join(LOG_OUTCOMES[:4]))
    start = pd.to_datetime(df["start"], errors="coerce", format="ISO8601")
    _bad_row(df, start.isna(), "start", "an ISO-8601 time")
    df["start"] = start
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
    """Every escalated_from names an earlier contact of the same need."""
    has = df["escalated_from"].notna()
    if not has.any():
        return
    ref = df[group + ["contact_id", "need_id", "start"]].rename(
        columns={"contact_id": "escalated_from", "need_id": "_need", "start": "_start"})
    rows = df.loc[has, group + ["escalated_from", "need_id", "start"]].reset_index()
    merged = rows.merge(ref, on=group + ["escalated_from"], how="left").set_index("index")
    bad = merged["_need"].isna() | (merged["_need"] != merged["need_id"]) | \
        (merged["_start"] > merged["start"])
    mask = pd.Series(False, index=df.index)
    mask.loc[merged.index[bad.to_numpy(dtype=bool)]] = True
    _bad_row(df, mask, "escalated_from", "the contact_id of an earlier contact of the same need")


def _parts(df: pd.DataFrame, d: MetricDefinitions) -> dict:
    ch, out = df["channel"], df["outcome"]
    resolved = out == "resolved"
    manual = ch.isin(d.manual_channels) & ~out.isin(d.manual_excluded_outcomes)
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


def _last_rows(df: pd.DataFrame) -> np.ndarray:
    """Row positions of each need's last contact (latest start, then highest contact id)."""
    need = _order_codes(df["need_id"])
    order = np.lexsort((_order_codes(df["contact_id"]), _order_codes(df["start"]), need))
    need = need[order]
    return order[np.r_[need[1:] != need[:-1], True]] if len(order) else order


def log_metrics(df: pd.DataFrame, d: MetricDefinitions | None = None) -> dict:
    """The metrics of one validated log (one replication); see the module docstring."""
    d = d or MetricDefinitions()
    p = _parts(df, d)
    last = _last_rows(df)
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
    }


def _repeat_calls_per_caller(df: pd.DataFrame) -> float:
    calls = df[df["channel"] == "phone"]
    if calls.empty:
        return math.nan
    return (len(calls) - calls["need_id"].nunique()) / calls["customer_id"].nunique()


def monthly_table(df: pd.DataFrame, d: MetricDefinitions | None = None) -> pd.DataFrame:
    """One row per calendar month (``month`` as YYYY-MM, by contact start): the
    volumes (``<channel>_contacts``, counted as :func:`volumes`), the metrics of
    :func:`log_metrics` over that month's contacts, and ``phone_handle_mean_s``
    (mean handle time of answered calls) when the log has ``handle_s``."""
    rows = []
    month = df["start"].dt.year * 100 + df["start"].dt.month      # strftime costs 0.9 s a year
    for m, g in df.groupby(month, sort=True):
        row = {"month": f"{m // 100:04d}-{m % 100:02d}"}
        row.update({f"{k}_contacts": v for k, v in volumes(g).items()})
        row.update(log_metrics(g, d))
        if "handle_s" in g.columns:
            answered = g.loc[(g["channel"] == "phone") & g["handle_s"].notna(), "handle_s"]
            row["phone_handle_mean_s"] = float(answered.mean()) if len(answered) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def volumes(df: pd.DataFrame) -> dict:
    """Channel volumes as published: phone/chat/appointment/bot/support_site all rows,
    service_request created, selfservice/api/user_admin resolved actions, webshop
    resolved target-product orders."""
    ch, resolved = df["channel"], df["outcome"] == "resolved"
    target = df["target_product"].fillna(True).astype(bool)
    out = {}
    for name in CHANNELS:
        m = ch == name
        if name in ("selfservice", "api", "user_admin"):
            m &= resolved
        elif name == "webshop":
            m &= resolved & target
        out[name] = int(m.sum())
    return out


def main(argv: list[str] | None = None) -> int:
    """``ccsim-metrics LOG``: print the log's metrics as one JSON object."""
    import argparse
    import sys

    import yaml

    from sim.validate import ConfigError

    parser = argparse.ArgumentParser(
        prog="ccsim-metrics", description="Metrics of a contact log (CSV or parquet): manual "
        "contacts, the company's online share of contacts, the online self-service share, "
        "the digital resolution share, double counts and needs.")
    parser.add_argument("log", type=Path, help="contact log: .csv or .parquet")
    parser.add_argument("--definitions", type=Path, default=None,
                        help="metric definitions YAML (default: conf/metrics/default.yaml)")
    args = parser.parse_args(argv)
    try:
        defs_path = args.definitions or Path(__file__).resolve().parent.parent / "conf" / \
            "metrics" / "default.yaml"
        defs = load_definitions(yaml.safe_load(defs_path.read_text()) if defs_path.exists() else None)
        df = read_contact_log(args.log)
    except (LogError, ConfigError, OSError) as exc:
        print(f"ccsim-metrics: {exc}", file=sys.stderr)
        return 2
    if "replication" in df.columns and df["replication"].nunique() > 1:
        per = [log_metrics(g, defs) for _, g in df.groupby("replication")]
        result = {k: float(np.mean([m[k] for m in per])) for k in METRIC_KEYS}
        result["replications"] = len(per)
    else:
        result = log_metrics(df, defs)
    print(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v)
                      for k, v in result.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
