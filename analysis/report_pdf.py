"""The report as a PDF (reportlab): the same sections, paragraphs, tables and charts as the page.

A4 landscape (the tables are wide); charts are the same figures as PNG at
150 dpi; text in DejaVu Sans (shipped with matplotlib), which has the
glyphs the report uses (→, ≥, ±, Δ, −). Output is byte-for-byte
reproducible (no creation date).
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["render_pdf"]


def _fonts() -> tuple[str, str]:
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(ttf / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(ttf / "DejaVuSans-Bold.ttf")))
    return "DejaVuSans", "DejaVuSans-Bold"


def _para(text: str, style):
    from reportlab.platypus import Paragraph

    text = escape(text)
    parts = text.split("`")              # `code` spans in a monospaced font
    text = "".join(p if i % 2 == 0 else f'<font face="Courier">{p}</font>'
                   for i, p in enumerate(parts))
    return Paragraph(text, style)


#: a table row cannot break across pages: a cell longer than this is cut in the PDF (the
#: page, report.html, keeps it whole)
CELL_CHARS = 2500


def _fits(text: str) -> str:
    return text if len(text) <= CELL_CHARS else \
        text[:CELL_CHARS].rsplit(" ", 1)[0] + " … (cut here: the whole text is in report.html)"


def render_pdf(report) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image, KeepTogether, SimpleDocTemplate, Spacer, Table, TableStyle

    from .report_model import Chart
    from .report_model import Table as ReportTable

    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12, spaceAfter=6)
    answer = ParagraphStyle("answer", parent=body, fontSize=10, leading=13.5, leftIndent=8,
                            borderColor=colors.black, borderWidth=0, borderPadding=4)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5, spaceAfter=4,
                           textColor=colors.HexColor("#333333"))
    cell = ParagraphStyle("cell", fontName=regular, fontSize=6.5, leading=8)
    head = ParagraphStyle("head", parent=cell, fontName=bold)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=17, leading=21, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=13, leading=16, spaceBefore=10,
                        spaceAfter=6)
    h3 = ParagraphStyle("h3", fontName=bold, fontSize=10, leading=13, spaceBefore=6,
                        spaceAfter=3)

    buf = io.BytesIO()
    page = landscape(A4)
    doc = SimpleDocTemplate(buf, pagesize=page, leftMargin=14 * mm, rightMargin=14 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=report.title,
                            author="ccsim", invariant=1)
    width = page[0] - 28 * mm
    story = [_para(report.title, h1), _para(report.subtitle, small)]
    for s in report.sections:
        story.append(_para(s.title, h2))
        for i, b in enumerate(s.blocks):
            if isinstance(b, Chart):
                w, h = ImageReader(io.BytesIO(b.png)).getSize()
                scale = min(width * 0.8 / w, (page[1] - 60 * mm) / h)
                story.append(KeepTogether([_para(b.title, h3),
                                           Image(io.BytesIO(b.png), w * scale, h * scale),
                                           _para(b.caption, small)]))
            elif isinstance(b, ReportTable):
                data = [[_para(c, head) for c in b.columns]]
                data += [[_para(_fits(c.text), cell) for c in row] for row in b.rows]
                first = width * (0.16 if len(b.columns) > 4 else 0.3)
                rest = (width - first) / max(len(b.columns) - 1, 1)
                t = Table(data, colWidths=[first] + [rest] * (len(b.columns) - 1),
                          repeatRows=1)
                t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP")]))
                story += [_para(b.caption, small), t, Spacer(1, 8)]
            else:
                story.append(_para(b, answer if s.id == "summary" and i == 0 else body))
    doc.build(story)
    return buf.getvalue()
