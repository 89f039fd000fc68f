"""Per-replication KPIs of the agent channels, and their mean and 95 % CI over replications.

Definitions (contacts arriving during the warm-up are left out; "offered"
excludes contacts that found the channel closed):

* ``service_level`` = answered within the target / offered (abandoned and
  still-waiting contacts count as misses);
* ``asa_seconds`` = mean wait of answered contacts;
* ``p_wait`` = share of offered contacts that waited at all;
* ``p_abandon`` = abandoned / offered;
* ``occupancy`` = busy agent time / staffed agent time after the warm-up;
* ``agent_hours`` / ``agent_cost_eur``: staffed agent hours after the warm-up
  and their cost; a pool shared by channels is split by their busy time.
"""

from __future__ import annotations

import math

import numpy as np

from .areas import area_per_bin, step_area_per_bin
from .tables import _busy_spans, channel_mask, wait_seconds, within_target

__all__ = ["replication_kpis", "summarise", "mean_ci", "flatten", "pool_totals",
           "per_group_mean_ci"]


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b > 0 else math.nan


def replication_kpis(records, warmup_seconds: float, targets: dict, pool_skills: dict,
                     pool_cost_eur_per_hour: dict) -> dict:
    """KPIs of one replication: ``{"channels": {name: {kpi: value}}, "pools": {...}}``."""
    c = records.contacts
    horizon = records.horizon_seconds
    window = np.array([warmup_seconds, horizon])
    wait = wait_seconds(records)
    answered = ~np.isnan(c["answer_s"])
    outcome = c["outcome_code"]
    code = {name: i for i, name in enumerate(records.outcomes)}
    within = within_target(records, wait, targets)
    kept = c["arrival_s"] >= warmup_seconds

    busy = {name: area_per_bin(*_busy_spans(records, channel_mask(records, name)), window)[0]
            for name in targets}
    pools = {}
    for pool, skills in pool_skills.items():
        t, lv = records.staffed[pool]
        hours = step_area_per_bin(t, lv, horizon, window)[0] / 3600.0
        pools[pool] = {"agent_hours": hours,
                       "agent_cost_eur": hours * pool_cost_eur_per_hour[pool],
                       "occupancy": _ratio(sum(busy[s] for s in skills) / 3600.0, hours)}

    out = {}
    for name in targets:
        m = kept & channel_mask(records, name)
        closed = m & (outcome == code["failed"])
        offered = m & ~closed
        n_off, n_ans = int(offered.sum()), int((offered & answered).sum())
        staffed_s = hours = cost = 0.0
        for pool, skills in pool_skills.items():
            if name not in skills:
                continue
            pool_busy = sum(busy[s] for s in skills)
            share = _ratio(busy[name], pool_busy) if pool_busy > 0 else 1.0 / len(skills)
            staffed_s += pools[pool]["agent_hours"] * 3600.0
            hours += pools[pool]["agent_hours"] * share
            cost += pools[pool]["agent_cost_eur"] * share
        out[name] = {
            "service_level": _ratio((offered & within).sum(), n_off),
            "asa_seconds": float(wait[offered & answered].mean()) if n_ans else math.nan,
            "p_wait": _ratio((offered & (wait > 0)).sum(), n_off),
            "p_abandon": _ratio((offered & (outcome == code["abandoned"])).sum(), n_off),
            "occupancy": _ratio(busy[name], staffed_s),
            "offered": n_off,
            "answered": n_ans,
            "abandoned": int((offered & (outcome == code["abandoned"])).sum()),
            "waiting_at_end": int((offered & (outcome == code["open"])).sum()),
            "closed": int(closed.sum()),
            "agent_hours": hours,
            "agent_cost_eur": cost,
        }
    return {"channels": out, "pools": pools}


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and CI half-width (Student t) of replication values; NaN half-width for n < 2."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    if x.size < 2:
        return float(x.mean()), math.nan
    from scipy.special import stdtrit  # imported here: a one-replication run never needs it
    half = stdtrit(x.size - 1, 0.5 + confidence / 2) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(half)


def _summarise_block(per_rep: list[dict]) -> dict:
    out = {}
    for key in per_rep[0]:
        mean, half = mean_ci([r[key] for r in per_rep])
        out[key], out[f"{key}_ci"] = mean, half
    return out


def summarise(per_replication: list[dict]) -> dict:
    """Mean and 95 % CI half-width (``<kpi>_ci``) of every KPI over replications."""
    result = {}
    for block in ("channels", "pools"):
        if block not in per_replication[0]:
            continue
        names = per_replication[0][block]
        result[block] = {n: _summarise_block([r[block][n] for r in per_replication])
                         for n in names}
    totals = [pool_totals(r) for r in per_replication]
    result["totals"] = _summarise_block(totals)
    for block in ("metrics", "volumes"):
        if block in per_replication[0]:
            result[block] = _summarise_block([r[block] for r in per_replication])
    return result


def pool_totals(rep: dict) -> dict:
    """Staffed agent hours and their cost over every pool of one replication, and the paid
    hours, paid cost and FTE (:mod:`analysis.staffing`) when the pools have them."""
    pools = list(rep.get("pools", {}).values())
    keys = ["agent_hours", "agent_cost_eur"]
    if pools and all("paid_hours" in p for p in pools):
        keys += ["paid_hours", "paid_cost_eur", "fte"]
    return {k: sum(p[k] for p in pools) for k in keys}


def per_group_mean_ci(frame, by, drop: tuple = ()):
    """Per value of column ``by`` (or per combination of a list of columns): ``replications``
    (rows), and the mean and 95 % CI half-width (``<column>_ci95``) of every other column
    except ``drop``."""
    import pandas as pd

    keys = [by] if isinstance(by, str) else list(by)
    rows = []
    for value, g in frame.groupby(keys, sort=True, observed=True):
        row = dict(zip(keys, value)) | {"replications": len(g)}
        for col in frame.columns.drop([*keys, *drop]):
            row[col], row[f"{col}_ci95"] = mean_ci(g[col].tolist())
        rows.append(row)
    if not rows:                  # no group (a run without contacts): the columns only
        values = [c for c in frame.columns if c not in (*keys, *drop)]
        return pd.DataFrame(columns=[*keys, "replications",
                                     *(x for c in values for x in (c, f"{c}_ci95"))])
    return pd.DataFrame(rows)


def flatten(rep: dict) -> dict:
    """One replication's KPIs as one flat row: the metrics under their own names,
    ``agent_hours`` / ``agent_cost_eur`` in total, ``<channel>.<kpi>`` per agent
    channel, ``pool.<pool>.<kpi>`` per pool and ``volume.<channel>``."""
    row = dict(rep.get("metrics", {}))
    row.update(pool_totals(rep))
    pools = rep.get("pools", {})
    for name, kpis in rep.get("channels", {}).items():
        row.update({f"{name}.{k}": v for k, v in kpis.items()})
    for name, kpis in pools.items():
        row.update({f"pool.{name}.{k}": v for k, v in kpis.items()})
    row.update({f"volume.{k}": v for k, v in rep.get("volumes", {}).items()})
    return row
