"""The report as one self-contained HTML page: styles and charts inline, no scripts.

Opens offline and prints on A4 (print styles keep a chart or a table row on
one page). Table cells that show a summary value carry it exactly:
``data-key`` (the ``summary.parquet`` column), ``data-value`` and, on the row,
``data-point``, so a test can compare the page with the summary.
"""

from __future__ import annotations

import html
import re

__all__ = ["render_html"]

CSS = """
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; color: #111; margin: 0 auto;
       max-width: 1120px; padding: 24px 32px; line-height: 1.45; font-size: 14px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; border-bottom: 2px solid #111; padding-bottom: 3px; margin-top: 32px; }
h3 { font-size: 15px; margin: 22px 0 4px; }
p.subtitle { color: #444; margin-top: 0; }
p.answer { font-size: 15.5px; border-left: 5px solid #111; padding: 4px 0 4px 14px; }
p.warning { border: 2px dashed #111; padding: 8px 12px; font-weight: bold; }
figure { margin: 14px 0 26px; page-break-inside: avoid; break-inside: avoid; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 12.5px; color: #333; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 22px; font-size: 11.5px; }
caption { text-align: left; font-size: 12.5px; color: #333; padding-bottom: 4px; }
th, td { border: 1px solid #999; padding: 3px 5px; vertical-align: top; }
th { background: #e8e8e8; text-align: left; }
td.num { text-align: right; white-space: nowrap; }
tr { page-break-inside: avoid; break-inside: avoid; }
code { font-size: 12px; background: #f0f0f0; padding: 0 2px; }
nav ol { margin: 4px 0 0 18px; padding: 0; }
@media print { body { max-width: none; padding: 0; font-size: 11px; }
               h2 { page-break-before: auto; } a { color: inherit; text-decoration: none; } }
@page { size: A4; margin: 14mm; }
"""


def _text(s: str) -> str:
    """Escaped text; `code` spans kept."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(s))


def _table(t) -> str:
    out = [f'<table id="table-{t.id}"><caption>{_text(t.caption)}</caption><thead><tr>']
    out += [f"<th>{_text(c)}</th>" for c in t.columns]
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(t.rows):
        point = t.points[i] if i < len(t.points) else ""
        out.append(f'<tr data-point="{html.escape(point)}">' if point else "<tr>")
        for j, c in enumerate(row):
            attrs = ""
            if c.key is not None:
                attrs = f' data-key="{html.escape(c.key)}"'
                if c.value is not None:
                    attrs += f' data-value="{c.value!r}"'
            cls = ' class="num"' if j > 0 and _numeric(c.text) else ""
            out.append(f"<td{cls}{attrs}>{_text(c.text)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _numeric(text: str) -> bool:
    return bool(re.match(r"^[+\-−–]?[\d,.]+( %| pp)?( ± [\d,.]+( pp| %)?)?$|^–$|^base$", text))


def _chart(c) -> str:
    return (f'<figure id="chart-{c.id}" data-chart="{c.id}"><h3>{_text(c.title)}</h3>{c.svg}'
            f"<figcaption>{_text(c.caption)}</figcaption></figure>")


def render_html(report) -> str:
    from .report_model import Chart, Table

    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_text(report.title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{_text(report.title)}</h1>", f'<p class="subtitle">{_text(report.subtitle)}</p>',
             "<nav><strong>Contents</strong><ol>"]
    parts += [f'<li><a href="#{s.id}">{_text(s.title)}</a></li>' for s in report.sections]
    parts.append("</ol></nav>")
    for s in report.sections:
        parts.append(f'<section id="{s.id}"><h2>{_text(s.title)}</h2>')
        for i, b in enumerate(s.blocks):
            if isinstance(b, Chart):
                parts.append(_chart(b))
            elif isinstance(b, Table):
                parts.append(_table(b))
            else:
                cls = ("answer" if s.id == "summary" and i == 0 else
                       "warning" if b.startswith("Incomplete study") else "")
                parts.append(f'<p class="{cls}">{_text(b)}</p>' if cls else f"<p>{_text(b)}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
