"""The report's content, shared by its two renderings (HTML page and PDF).

A :class:`Report` is a title and :class:`Section` s; a section's blocks are
paragraphs (``str``), :class:`Table` s and :class:`Chart` s. Built once by
:mod:`analysis.study_report`, rendered by :mod:`analysis.report_html` and
:mod:`analysis.report_pdf`, so both have the same sections by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Cell", "Table", "Chart", "Section", "Report", "CHANNEL_LABELS", "channel_label"]

# how the report names the channels
CHANNEL_LABELS = {"phone": "phone (open line)", "appointment": "booked call", "chat": "agent chat",
                  "service_request": "service request", "bot": "chatbot",
                  "support_site": "support site", "selfservice": "self-service portal",
                  "webshop": "webshop", "api": "API", "user_admin": "user admin"}


def channel_label(name: str) -> str:
    """How the report names a channel (a scenario's own channel: its name, spaced)."""
    return CHANNEL_LABELS.get(name, name.replace("_", " "))


@dataclass
class Cell:
    """A table cell; ``key`` names the summary column its ``value`` comes from."""
    text: str
    key: str | None = None
    value: float | None = None


@dataclass
class Table:
    id: str
    caption: str
    columns: list[str]
    rows: list[list[Cell]]
    points: list[str] = field(default_factory=list)   # summary point of each row ("" if none)


@dataclass
class Chart:
    id: str
    title: str
    caption: str
    svg: str
    png: bytes


@dataclass
class Section:
    id: str
    title: str
    blocks: list          # str (a paragraph), Table or Chart


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]
