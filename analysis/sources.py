"""Where the figures behind a study come from: the source documents, cited as a reader
would cite them.

The report's assumptions section lists, next to each scenario's diff and the
calibration fit, each figure with its source (author and year, chapter, a reference
number), the documents in full (author, year, title, kind, publisher; "n.d." or
"unknown" where the document does not say) and, as a footnote only, the file each
document is stored in. The documents are the Finnish seed files of the domain
(``../shared/seeds/``; ``000_…`` is the primary one, a 2022 thesis on company X);
everything else the model assumes is reasoned in ``scenarios/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Document", "DOCUMENTS", "SEEDS", "SOURCES", "cite", "SEEDS_FOLDER"]

SEEDS_FOLDER = "../shared/seeds/"


@dataclass(frozen=True)
class Document:
    """A source document as a reader cites it; ``file`` is where it is stored (a footnote)."""

    number: int          # the reference number the report shows: [1], [2], …
    author: str          # as cited ("Surname, First name"), or the organisation
    short_author: str    # in a short citation: "Rantanen"
    year: str            # "2022", or "n.d." when the document gives none
    title: str           # in the original language, an English gloss in brackets
    kind: str            # thesis, guide, blog post, …
    publisher: str       # the institution or publisher, or "unknown publisher"
    file: str            # the seed file (shown only as a footnote)

    @property
    def short(self) -> str:
        """'Rantanen 2022 [1]'."""
        return f"{self.short_author} {self.year} [{self.number}]"

    @property
    def reference(self) -> str:
        """The full reference: author (year). Title. Kind. Publisher."""
        return f"{self.author} ({self.year}). {self.title}. {self.kind}. {self.publisher}."


DOCUMENTS = {
    "000": Document(
        1, "Rantanen, Jenni", "Rantanen", "2022",
        "Yritysasiakkaiden digitaalisten asiointikanavien käytön kasvu [Increasing the use of "
        "digital channels among corporate customers]",
        "Bachelor's thesis (opinnäytetyö), Business Administration",
        "Häme University of Applied Sciences (Hämeen ammattikorkeakoulu)",
        "000_f85d0d3d6abe70fe.txt"),
    "001": Document(
        2, "Laaksonen, Jussi", "Laaksonen", "2022",
        "Rajobit Oy asiakaskokemuksen kehittäminen: asiakkuuden hoitosuunnitelma [Rajobit Oy, "
        "development plan for the customer experience: customer care model]",
        "Master's thesis (ylempi AMK), International Sales and Sales Management, October 2022",
        "Tampere University of Applied Sciences (Tampereen ammattikorkeakoulu)",
        "001_18f4ec6038f27e2c.txt"),
    "002": Document(
        3, "Unknown author", "“Digiajan asiakaskokemus” (book review)", "2021",
        "Digiajan asiakaskokemus – Oppia kansainvälisiltä huipuilta [Customer experience in "
        "the digital age – learning from the international leaders]",
        "Blog post of 23 December 2021 summarising the book of that name by Belinda Gredt "
        "and Sanna Eskelinen (the post names no author of its own)",
        "Unknown publisher (a blog; its related posts mention Tiimiakatemia)",
        "002_be11159980adabe7.txt"),
    "003": Document(
        4, "Genesys", "Genesys", "2019",
        "Opas: Seitsemän askelta seuraavan sukupolven digitaalisen asiakaspalvelun "
        "tuottamiseen [Guide: seven steps to delivering next-generation digital customer "
        "service]",
        "Vendor guide (year from its copyright notice, © 2019 Genesys)", "Genesys",
        "003_ae5b3955dc493346.txt"),
    "004": Document(
        5, "Unknown author(s)", "Biit blog articles", "n.d.",
        "[Untitled] Blog articles on customer experience and customer service: an interview "
        "with Juhamatti Muuraiskangas (Benemen) on first-class customer experience and channel "
        "fit, key-account growth, Salesforce Flow Builder, Customer 360 and Omni-Channel "
        "routing, field service",
        "Company blog articles (no date given; they mention Maximize Europe 2016 and "
        "Salesforce's Spring '19 release)",
        "Apparently Biit, which two of the articles name as their own (\"meille Biitille\", "
        "\"Biit Fiid\"); otherwise unknown publisher",
        "004_37066e29c9cd5d36.txt"),
}

#: seed number → file name (the footnote of each document)
SEEDS = {key: doc.file for key, doc in DOCUMENTS.items()}


def cite(*keys: str, where: str = "") -> str:
    """A short citation, e.g. cite("000", where="ch. 3.3") → 'Rantanen 2022 [1], ch. 3.3'."""
    return "; ".join(DOCUMENTS[k].short for k in keys) + (f", {where}" if where else "")


# (what, source): the figures a study rests on, in the order the report lists them
SOURCES = [
    ("The 80 % digital target and the company metric (online share of contacts: bot, "
     "self-service, service requests, webshop and support-site contacts against manual "
     "contacts)", cite("000", where="ch. 3.2 and 4")),
    ("The thesis metric (online self-service share) and why the company metric misleads "
     "(service requests and bot hand-overs counted twice)", cite("000", where="ch. 4")),
    ("Published contact volumes 2020 → 2021 (phone −16.5 %, chat −16.4 %, service requests "
     "−4.5 %, self-service −5 %, support site −16 %, webshop target product +8 %, bot +21 %) "
     "that the calibration reproduces", cite("000", where="ch. 3.3")),
    ("Mechanisms of 2021: chat for logged-in users only from September, fewer repeat calls, "
     "longer calls after the new portal", cite("000", where="ch. 3.3")),
    ("What customers say (December 2021 feedback): segments by digital adoption, login and "
     "portal problems", cite("000", where="ch. 3.4")),
    ("The levers of the 2023 scenarios: registration invitations and reminders, guided tour "
     "and how-to videos, agents guiding callers, a better bot and hand-over, proactive "
     "notifications, restricting services from agents, ending open phone lines",
     f"{cite('000', where='ch. 3.5')}; {cite('003')}; {cite('004')}"),
    ("Channel fit: simple matters suit digital channels and chat, complex ones a call",
     cite("004")),
    ("Customer experience in the digital age: seamless channels, availability, proactive "
     "service", cite("002")),
    ("Why it matters: two thirds of B2B customers ready to switch supplier after a poor "
     "experience", cite("001", where="ch. 2.2 (citing Holma et al. 2021)")),
    ("Revenue at risk: each segment's annual value per account and its probabilities of "
     "leaving after an unresolved need or a poor experience (a need abandoned twice, or a "
     "cold bot hand-over); assumptions of ccsim, not figures of the sources, which support "
     "only the direction: customers leave after poor experiences, and customers who "
     "started with the bot wanted a seamless move to agent chat (a congested chat after a "
     "bot start made the experience worse)",
     f"scenarios/README.md; {cite('001', where='ch. 2.2')}; "
     f"{cite('000', where='ch. 3.4.1')}"),
    ("Model assumptions not in the sources (accounts, needs per account, handle times, "
     "agent pools, shifts, hourly costs; industry benchmarks for self-service and cost "
     "per contact)", "scenarios/README.md"),
]
