"""The report's charts (matplotlib, no pyplot): readable in grey print, units on every axis.

Each function takes a :class:`analysis.study_report.Study` and returns a
:class:`~analysis.study_report.Chart` holding the same figure as inline SVG
(for the HTML page; ids prefixed per chart so several SVGs share one page)
and as PNG (for the PDF). Scenarios are told apart by shade, hatch, marker
and line style, never by colour alone.
"""

from __future__ import annotations

import io
import math
import re

import matplotlib

matplotlib.use("Agg")   # no screen: charts are files (must precede any pyplot import)

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .kpis import mean_ci  # noqa: E402
from .report_model import Chart, channel_label  # noqa: E402
from .study import COMPANY_METRIC, TARGET  # noqa: E402

__all__ = ["all_charts", "pareto_front", "levers", "cost_impact"]

STYLE = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7,
         "hatch.linewidth": 0.6, "svg.hashsalt": "ccsim", "svg.fonttype": "path",
         "axes.spines.top": False, "axes.spines.right": False}
WIDTH = 7.2                                  # inches: an A4 page's text width
#: the built-in channels' shades (digital light, agent channels dark); a scenario's own
#: channels take the next of :data:`EXTRA_SHADES` by their kind
SHADE = {"bot": "#f4f4f4", "support_site": "#e0e0e0", "selfservice": "#cccccc",
         "webshop": "#f4f4f4", "api": "#e0e0e0", "user_admin": "#cccccc",
         "service_request": "#9a9a9a", "chat": "#777777", "appointment": "#555555",
         "phone": "#2a2a2a"}
HATCH = {"bot": "", "support_site": "", "selfservice": "", "webshop": "///", "api": "///",
         "user_admin": "///", "service_request": "", "chat": "", "appointment": "", "phone": ""}
#: the order of the built-in digital channels in the channel-mix bars
DIGITAL_ORDER = ["bot", "support_site", "selfservice", "webshop", "api", "user_admin"]
EXTRA_SHADES = {"digital": [("#f4f4f4", "..."), ("#e0e0e0", "...")],
                "agent": [("#9a9a9a", "xx"), ("#555555", "xx"), ("#777777", "..")]}


def _look(channels: list[str], kinds: dict) -> dict:
    """Channel → (colour, hatch): the built-in ones fixed, the others by kind, in turn."""
    out, used = {}, {"digital": 0, "agent": 0}
    for c in channels:
        if c in SHADE:
            out[c] = (SHADE[c], HATCH[c])
            continue
        group = "digital" if kinds.get(c) == "digital" else "agent"
        shades = EXTRA_SHADES[group]
        out[c] = shades[used[group] % len(shades)]
        used[group] += 1
    return out
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p"]
LINES = ["-", "--", ":", "-."]


def _chart(fig: Figure, chart_id: str, title: str, caption: str):
    svg_buf, png_buf = io.StringIO(), io.BytesIO()
    tight = {"bbox_inches": "tight", "pad_inches": 0.06}   # long axis labels stay inside
    fig.savefig(svg_buf, format="svg", metadata={"Date": None}, **tight)
    fig.savefig(png_buf, format="png", dpi=150, metadata={"Software": None}, **tight)
    return Chart(chart_id, title, caption, _inline_svg(svg_buf.getvalue(), chart_id),
                 png_buf.getvalue())


def _inline_svg(svg: str, prefix: str) -> str:
    """The <svg> element alone, its ids prefixed so charts on one page never share an id."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)    # RDF namespaces, a date
    svg = re.sub(r'id="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r'url\(#([^)]+)\)', rf'url(#{prefix}-\1)', svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    return svg


def _get(row, key) -> float:
    v = row.get(key)
    return math.nan if v is None else float(v)


def _pct_axis(ax, axis="x", lo=0.0, hi=100.0) -> None:
    (ax.set_xlim if axis == "x" else ax.set_ylim)(lo, hi)


def _target_line(ax, axis="x", label=True) -> None:
    draw = ax.axvline if axis == "x" else ax.axhline
    draw(TARGET * 100, color="black", linestyle="--", linewidth=1.0,
         label="80 % target" if label else None)


def channel_mix(study):
    rows = study.rows()
    labels = [study.labels[p] for p, _ in rows]
    digital = [c for c in DIGITAL_ORDER if c in study.digital_channels]
    digital += [c for c in study.digital_channels if c not in digital]
    order = digital + study.agent_channels[::-1]    # digital first (lightest), phone last
    channels = [c for c in order if f"volume.{c}" in study.summary.columns]
    look = _look(channels, study.kinds)
    fig = Figure(figsize=(WIDTH, 1.6 + 0.42 * len(rows)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    left = np.zeros(len(rows))
    totals = np.array([sum(_get(r, f"volume.{c}") for c in channels) for _, r in rows])
    for c in channels:
        volume = np.array([_get(r, f"volume.{c}") for _, r in rows])
        share = np.divide(volume * 100, totals, out=np.zeros(len(rows)), where=totals > 0)
        ax.barh(y, share, left=left, color=look[c][0], hatch=look[c][1], edgecolor="black",
                linewidth=0.4, label=channel_label(c) + (" (manual)" if c in study.agent_channels
                                                         else ""))
        left += share
    cm = np.array([_get(r, COMPANY_METRIC) for _, r in rows]) * 100
    ax.scatter(cm, y, marker="D", s=28, facecolor="white", edgecolor="black", zorder=5,
               label="company metric")
    _target_line(ax)
    ax.set_yticks(y, labels)
    _pct_axis(ax)
    ax.set_xlabel("share of all contacts (%)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.3 / len(rows)), ncol=4,
              frameon=False)
    return _chart(fig, "channel-mix", "Channel mix per scenario",
                  "Each bar splits the year's contacts by channel (digital channels light, "
                  "agent-handled ones dark); the diamond is the company metric, which counts "
                  "service requests and every bot contact as digital; the dashed line is the "
                  "80 % target.")


def metric_trap(study):
    rows = study.rows()
    labels = [study.labels[p] for p, _ in rows]
    fig = Figure(figsize=(WIDTH, 1.4 + 0.5 * len(rows)), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, sharey=True, width_ratios=[2.2, 1])
    y = np.arange(len(rows))[::-1]
    h = 0.26
    series = [(COMPANY_METRIC, "company metric (online share of contacts)", "#222222", ""),
              ("online_self_service_share", "thesis metric (online self-service share)",
               "#9a9a9a", "///"),
              ("digital_resolution_share", "digital resolution share (needs)", "white", "..")]
    for i, (key, name, shade, hatch) in enumerate(series):
        v = np.array([_get(r, key) for _, r in rows]) * 100
        e = np.nan_to_num(np.array([_get(r, f"{key}_ci95") for _, r in rows]) * 100)
        ax.barh(y + (1 - i) * h, v, height=h, xerr=e, color=shade, hatch=hatch,
                edgecolor="black", linewidth=0.5, label=name, error_kw={"linewidth": 0.8})
    _target_line(ax)
    _pct_axis(ax)
    ax.set_yticks(y, labels)
    ax.set_xlabel("share (%)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08 - 0.4 / len(rows)), ncol=2,
              frameon=False)
    m = np.array([_get(r, "manual_contacts") for _, r in rows]) / 1000
    e = np.nan_to_num(np.array([_get(r, "manual_contacts_ci95") for _, r in rows]) / 1000)
    ax2.barh(y, m, xerr=e, color="#555555", edgecolor="black", linewidth=0.5, height=0.6)
    for yi, mi in zip(y, m):
        ax2.text(mi, yi, f" {mi:,.0f}", va="center", fontsize=7)
    ax2.set_xlabel("manual contacts\n(thousand/year)")
    ax2.set_xlim(0, np.nanmax(m) * 1.3 if np.isfinite(np.nanmax(m)) else 1)
    return _chart(fig, "metric-trap", "The metric trap: three shares and the manual contacts",
                  "Per scenario the company metric, the thesis metric and the share of needs "
                  "resolved digitally (left, with 95 % CIs), and the manual contacts agents "
                  "still handle (right). A company metric above 80 % with many manual contacts "
                  "left is the trap the thesis warns about.")


def pareto_front(x: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Indices of the efficient points: no other point has a share as high at a cost as low
    (and is better in one), sorted by share."""
    idx = []
    for i in range(len(x)):
        if not (np.isfinite(x[i]) and np.isfinite(cost[i])):
            continue
        dominated = any((x[j] >= x[i]) and (cost[j] <= cost[i])
                        and ((x[j] > x[i]) or (cost[j] < cost[i])) for j in range(len(x)))
        if not dominated:
            idx.append(i)
    return np.array(sorted(idx, key=lambda i: x[i]), dtype=int)


def cost_frontier(study):
    rows = study.rows()
    labels = [study.labels[p] for p, _ in rows]
    cost = np.array([_get(r, "agent_cost_eur") for _, r in rows]) / 1e6
    cost_e = np.nan_to_num(np.array([_get(r, "agent_cost_eur_ci95") for _, r in rows]) / 1e6)
    fig = Figure(figsize=(WIDTH, 3.8 + 0.14 * min(len(rows), 30) / 3 * 1.2),
                 layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, name in [(axes[0], COMPANY_METRIC, "company metric (%)"),
                          (axes[1], "digital_resolution_share",
                           "digital resolution share (% of needs)")]:
        x = np.array([_get(r, key) for _, r in rows]) * 100
        xe = np.nan_to_num(np.array([_get(r, f"{key}_ci95") for _, r in rows]) * 100)
        front = pareto_front(x, cost)
        ax.errorbar(x, cost, xerr=xe, yerr=cost_e, fmt="none", ecolor="#777777", linewidth=0.7)
        ax.scatter(x, cost, marker="o", s=22, facecolor="white", edgecolor="#555555",
                   label="sweep point", zorder=3)
        ax.plot(x[front], cost[front], color="black", linewidth=1.4, marker="o",
                markersize=5, markerfacecolor="black", label="efficient frontier", zorder=4)
        named = range(len(x)) if len(x) <= 30 else front
        for i in named:
            ax.annotate(str(i + 1), (x[i], cost[i]), xytext=(3, 3), textcoords="offset points",
                        fontsize=7, fontweight="bold" if i in front else "normal")
        _target_line(ax, label=ax is axes[0])
        lo = np.nanmin(x)
        ax.set_xlim(max(0, min(lo - 5, TARGET * 100 - 10)), min(100, max(np.nanmax(x) + 8, 85)))
        ax.set_xlabel(name)
    axes[0].set_ylabel("agent cost (million EUR/year)")
    axes[0].legend(loc="lower left", frameon=False)
    _numbered_key(fig, labels, range(len(x)) if len(x) <= 30 else front)
    return _chart(fig, "cost-frontier", "Agent cost against digital share, every sweep point",
                  "Each numbered point is a sweep point (mean with 95 % CIs; the key below the "
                  "chart names them); the black line joins the "
                  "efficient frontier: the points no other point beats on both share and cost. "
                  "Left by the company metric, right by the share of needs resolved digitally.")


def _numbered_key(fig, labels, shown) -> None:
    """The key below a chart of numbered points: "n  label" for each shown point."""
    key = [Line2D([], [], linestyle="none") for _ in shown]
    fig.legend(key, [f"{i + 1}  {labels[i]}" for i in shown], loc="outside lower center",
               ncol=3, frameon=False, handlelength=0, handletextpad=0, columnspacing=2.5)


def _impact_points(study):
    """(labels, x, x CI, {y key: (y, y CI)}) of every point but the base: agent cost saved
    against the base (thousand EUR/year) and the paired change in what customers pay."""
    base = study.base_row
    rows = [(p, r) for p, r in study.rows() if base is None or p != base["point"]]
    labels = [study.labels[p] for p, _ in rows]
    x = -np.array([_get(r, "agent_cost_eur_diff") for _, r in rows]) / 1e3
    xe = np.nan_to_num(np.array([_get(r, "agent_cost_eur_diff_ci95") for _, r in rows]) / 1e3)
    ys = {}
    for key, scale in (("revenue_at_risk_eur", 1e-3), ("unresolved_needs", 1.0)):
        ys[key] = (np.array([_get(r, f"{key}_diff") for _, r in rows]) * scale,
                   np.nan_to_num(np.array([_get(r, f"{key}_diff_ci95") for _, r in rows])
                                 * scale))
    return labels, x, xe, ys


def cost_impact(study):
    """Agent cost saved against what customers pay for it, one point per scenario."""
    labels, x, xe, ys = _impact_points(study)
    fig = Figure(figsize=(WIDTH, 3.4 + 0.14 * min(len(labels), 30) / 3 * 1.2),
                 layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    names = {"revenue_at_risk_eur": "change in revenue at risk\n(thousand EUR/year)",
             "unresolved_needs": "change in unresolved needs\n(needs/year)"}
    for ax, (key, (y, ye)) in zip(axes, ys.items()):
        ok = np.isfinite(x) & np.isfinite(y)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.axvline(0, color="black", linewidth=0.8)
        if ok.any():
            ax.errorbar(x[ok], y[ok], xerr=xe[ok], yerr=ye[ok], fmt="none", ecolor="#777777",
                        linewidth=0.7)
            ax.scatter(x[ok], y[ok], marker="o", s=26, facecolor="white", edgecolor="black",
                       zorder=3)
            for i in np.flatnonzero(ok)[:30]:
                ax.annotate(str(i + 1), (x[i], y[i]), xytext=(3, 3),
                            textcoords="offset points", fontsize=7)
        else:
            ax.text(0.5, 0.5, "no paired difference against the base"
                    + (" (no customer segments)" if key == "revenue_at_risk_eur" else ""),
                    transform=ax.transAxes, ha="center", fontsize=7)
        ax.set_ylabel(names[key])
        ax.set_xlabel("agent cost saved against the base\n(thousand EUR/year)")
    _numbered_key(fig, labels, range(min(len(labels), 30)))
    return _chart(fig, "cost-impact", "Agent cost saved against what customers pay",
                  "Each numbered point is a scenario against the base (paired differences with "
                  "95 % CIs; the key below names them): right of zero it saves agent cost, "
                  "above zero customers pay for it — more revenue at risk (left: annual value "
                  "× the probability of leaving after an unresolved need or a poor "
                  "experience) and more needs left unresolved (right).")


def _full_months(frame):
    """Months with at least a fifth of a typical month's needs (a run's partial last month,
    e.g. the year's final day spilling into January, is left out)."""
    needs = frame.groupby("month")["needs"].mean()
    return frame[frame["month"].isin(needs.index[needs >= 0.2 * needs.median()])]


def _monthly_band(frame, key):
    frame = _full_months(frame)
    months = sorted(frame["month"].unique())
    mean, half = [], []
    for m in months:
        v, h = mean_ci(list(frame.loc[frame["month"] == m, key].astype(float)))
        mean.append(v)
        half.append(0.0 if math.isnan(h) else h)
    return months, np.array(mean), np.array(half)


def monthly_trajectories(study):
    points = study.points()
    params = [c for c in study.summary.columns if c.startswith("param:")]
    if len(points) > 8:        # the base, the scenarios as defined, then the highest others
        s = study.summary.set_index("point")
        plain = [p for p in points if not params or s.loc[p, params].isna().all()]
        rest = sorted((p for p in points if p not in plain),
                      key=lambda p: -s.loc[p, COMPANY_METRIC])
        points = (plain + rest)[:8]
    fig = Figure(figsize=(WIDTH, 5.2), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    months = None
    for i, p in enumerate(points):
        frame = study.monthly(p)
        if frame is None:
            continue
        style = {"color": "black" if i == 0 else ["#333333", "#666666", "#888888"][i % 3],
                 "linestyle": LINES[i % len(LINES)], "marker": MARKERS[i % len(MARKERS)],
                 "markersize": 3.5, "linewidth": 1.6 if i == 0 else 1.0}
        for ax, key, scale in [(ax1, COMPANY_METRIC, 100), (ax2, "manual_contacts", 1e-3)]:
            months, mean, half = _monthly_band(frame, key)
            x = np.arange(len(months))
            ax.fill_between(x, (mean - half) * scale, (mean + half) * scale, color="#999999",
                            alpha=0.25, linewidth=0)
            ax.plot(x, mean * scale, label=study.labels[p] if ax is ax1 else None, **style)
    _target_line(ax1, axis="y")
    ax1.set_ylabel("company metric (%)")
    ax2.set_ylabel("manual contacts (thousand/month)")
    if months is not None:
        ax2.set_xticks(np.arange(len(months)), [str(m) for m in months], rotation=45,
                       ha="right")
    ax2.set_xlabel("month")
    ax1.legend(loc="upper center", bbox_to_anchor=(0.5, 1.32), ncol=3, frameon=False)
    return _chart(fig, "monthly", "Monthly trajectories through the year",
                  "The company metric (top) and manual contacts (bottom) month by month: mean "
                  "over replications with the 95 % CI as a grey band; a partial last month "
                  "(under a fifth of a typical month's needs) is left out"
                  + (" (the base, the scenarios as defined and the highest other sweep points; "
                     "at most eight)" if len(study.summary) > 8 else "") + ".")


def service_levels(study):
    rows = study.rows()
    labels = [study.labels[p] for p, _ in rows]
    chans = [c for c in study.agent_channels if f"{c}.service_level" in study.summary.columns]
    fig = Figure(figsize=(WIDTH, 1.6 + 0.55 * len(rows)), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(rows))[::-1]
    h = 0.8 / max(len(chans), 1)
    for i, c in enumerate(chans):
        offs = y + (len(chans) / 2 - i - 0.5) * h
        style = {"height": h, "color": ["#222222", "#666666", "#aaaaaa", "white"][i % 4],
                 "hatch": ["", "", "//", ".."][i % 4], "edgecolor": "black", "linewidth": 0.4,
                 "label": channel_label(c)}
        sl = np.array([_get(r, f"{c}.service_level") for _, r in rows]) * 100
        ab = np.array([_get(r, f"{c}.p_abandon") for _, r in rows]) * 100
        ax1.barh(offs, np.nan_to_num(sl), **style)
        ax2.barh(offs, np.nan_to_num(ab), **style)
    ax1.set_yticks(y, labels)
    _pct_axis(ax1)
    ax1.set_xlabel("service level (% answered within target)")
    ax2.set_xlabel("abandoned (% of offered)")
    ax2.set_xlim(0, max(1.0, ax2.get_xlim()[1]))
    ax1.legend(loc="upper center", bbox_to_anchor=(1.0, -0.1 - 0.3 / len(rows)),
               ncol=len(chans), frameon=False)
    return _chart(fig, "service", "Service level and abandonment per agent channel",
                  "Service level (answered within the channel's target / offered) and the share "
                  "abandoned, per agent channel and scenario; a channel a scenario closes has "
                  "no bar.")


def levers(study) -> list[tuple[str, tuple, tuple]]:
    """(label, (low, high) company-metric effect, (low, high) cost effect) per lever.

    A swept parameter's effect runs from its lowest to its highest setting
    (paired differences to the base, averaged over the other parameters of
    its scenario; without a base run, differences to its lowest setting); a
    scenario with no swept parameter is one lever, from the base (0) to the
    scenario.
    """
    s = study.summary
    base = study.base_row
    params = [c for c in s.columns if c.startswith("param:")]
    cm, cost = f"{COMPANY_METRIC}_diff", "agent_cost_eur_diff"
    out = []
    for scen, g in s.groupby("scenario", sort=True):
        swept = [c for c in params if g[c].notna().any() and g[c].nunique() >= 2]
        for c in swept:
            means = g[g[c].notna()].groupby(c)[[cm, cost]].mean()
            if means.isna().all().all():     # no base run: effects from the lowest setting on
                means = g[g[c].notna()].groupby(c)[[COMPANY_METRIC, "agent_cost_eur"]].mean()
                means = (means - means.iloc[0]).set_axis([cm, cost], axis=1)
            lo, hi = means.index.min(), means.index.max()
            key = c[6:].removeprefix("scenario.")
            out.append((f"{scen}: {key} {lo:g} → {hi:g}" if isinstance(lo, float)
                        else f"{scen}: {key} {lo} → {hi}",
                        (means.loc[lo, cm], means.loc[hi, cm]),
                        (means.loc[lo, cost], means.loc[hi, cost])))
        if not swept:
            for _, r in g.iterrows():
                if base is not None and r["point"] == base["point"]:
                    continue
                out.append((f"{study.labels[r['point']]} vs base", (0.0, r[cm]),
                            (0.0, r[cost])))
    out = [lv for lv in out if all(np.isfinite(v) for v in lv[1] + lv[2])]
    return sorted(out, key=lambda lv: -abs(lv[1][1] - lv[1][0]))


def _cost_basis(study) -> str:
    return {"required": "at equal service: each scenario staffed to the same promise",
            "fixed": "at each scenario's own shifts, so service differs",
            "mixed": "some scenarios at equal service, some at fixed shifts"}[study.staffing]


def tornado(study):
    lv = levers(study)
    fig = Figure(figsize=(WIDTH, 1.4 + 0.38 * max(len(lv), 1)), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(lv))[::-1]
    for ax, k, scale in [(ax1, 1, 100), (ax2, 2, 1e-3)]:
        for yi, item in zip(y, lv):
            a, b = item[k][0] * scale, item[k][1] * scale
            ax.barh(yi, b - a, left=a, height=0.6, color="#888888", edgecolor="black",
                    linewidth=0.5)
            ax.plot([b], [yi], marker="|", markersize=10, color="black")
        ax.axvline(0, color="black", linewidth=0.8)
    ax1.set_yticks(y, [item[0] for item in lv])
    ax1.set_xlabel("effect on the company metric\n(percentage points)")
    ax2.set_xlabel("effect on agent cost\n(thousand EUR/year)")
    ax2.xaxis.set_major_locator(MaxNLocator(5))     # thousands: long labels, fewer ticks
    if not lv:
        ax1.text(0.5, 0.5, "no lever with a base to compare against", transform=ax1.transAxes,
                 ha="center")
    return _chart(fig, "tornado", "Which lever matters most",
                  "The effect of each lever on the company metric (left) and on agent cost "
                  f"(right, {_cost_basis(study)}), paired against the base: a swept parameter "
                  "from its lowest to its "
                  "highest setting (the tick marks the highest), a scenario with no swept "
                  "parameter from the base to the scenario; largest effect on the metric on "
                  "top.")


def roster_week(study):
    """The base's required and rostered agents through its typical week, a panel per pool;
    None without a rostered base run."""
    from .staffing import week_of

    week = study.typical_week()
    if week is None:
        return None
    monday, frame = week
    f = week_of(frame, monday)
    pools = [p for p, g in f.groupby("pool", observed=True) if g["agents"].sum() > 0]
    fig = Figure(figsize=(WIDTH, 0.4 + 1.5 * len(pools)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(pools), 1, sharex=True))
    for ax, pool in zip(axes, pools):
        g = f[f["pool"] == pool]
        x = np.r_[g["hour_of_week"].to_numpy(), g["hour_of_week"].iloc[-1] + 0.5]
        for col, style in [("rostered", {"color": "#aaaaaa", "linewidth": 0,
                                         "label": "rostered (on the floor)"}),
                           ("agents", {"color": "black", "linewidth": 1.0,
                                       "label": "required (the plan)"})]:
            y = np.r_[g[col].to_numpy(), g[col].iloc[-1]]
            if col == "rostered":
                ax.fill_between(x, y, step="post", **style)
            else:
                ax.step(x, y, where="post", **style)
        ax.set_ylabel(f"{pool}\n(agents)")
        ax.set_ylim(bottom=0)
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    axes[-1].set_xticks(np.arange(7) * 24 + 12, days)
    axes[-1].set_xticks(np.arange(8) * 24, minor=True)
    axes[-1].tick_params(axis="x", which="major", length=0)
    axes[-1].set_xlim(0, 168)
    axes[-1].set_xlabel(f"the week of {monday.date().isoformat()} (hour of the week)")
    axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, 1.45), ncol=2, frameon=False)
    base = study.labels[study.base_row["point"]]
    return _chart(fig, "roster", "Required and rostered agents in a typical week",
                  f"The base ({base}), per pool: the agents its staffing plan requires in "
                  "each interval (black line) and the agents the roster puts on the floor "
                  "(grey): whole shifts under the staffing rules cover every interval, so "
                  "the grey reaches the line everywhere and rises above it where a shift "
                  "runs on past the need; the table of the typical week gives the hours.")


def all_charts(study) -> list:
    with matplotlib.rc_context(STYLE):
        charts = [channel_mix(study), metric_trap(study), cost_frontier(study),
                  cost_impact(study), monthly_trajectories(study), service_levels(study),
                  tornado(study), roster_week(study)]
        return [c for c in charts if c is not None]
