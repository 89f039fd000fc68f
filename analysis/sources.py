"""Where the figures behind a study come from: the source documents by file name.

The report's assumptions section lists these next to each scenario's diff and
the calibration fit, so a reader can trace a number to the document it came
from. Seed files are the Finnish source documents the domain is modelled on
(``../shared/seeds/``; ``000_…`` is the primary one, a 2022 thesis on
company X); everything else the model assumes is reasoned in
``scenarios/README.md``.
"""

from __future__ import annotations

__all__ = ["SEEDS", "SOURCES"]

SEEDS = {
    "000": "000_f85d0d3d6abe70fe.txt",   # the thesis on company X (2022), the primary source
    "001": "001_18f4ec6038f27e2c.txt",   # B2B customer experience, account plan (2022)
    "002": "002_be11159980adabe7.txt",   # "Digiajan asiakaskokemus", book summary (2021)
    "003": "003_ae5b3955dc493346.txt",   # guide: seven steps to next-generation digital service
    "004": "004_37066e29c9cd5d36.txt",   # channel fit: simple matters digital, complex by phone
}

# (what, source): the figures a study rests on, in the order the report lists them
SOURCES = [
    ("The 80 % digital target and the company metric (online share of contacts: bot, "
     "self-service, service requests, webshop and support-site contacts against manual "
     "contacts)", f"{SEEDS['000']}, ch. 3.2 and 4"),
    ("The thesis metric (online self-service share) and why the company metric misleads "
     "(service requests and bot hand-overs counted twice)", f"{SEEDS['000']}, ch. 4"),
    ("Published contact volumes 2020 → 2021 (phone −16.5 %, chat −16.4 %, service requests "
     "−4.5 %, self-service −5 %, support site −16 %, webshop target product +8 %, bot +21 %) "
     "that the calibration reproduces", f"{SEEDS['000']}, ch. 3.3"),
    ("Mechanisms of 2021: chat for logged-in users only from September, fewer repeat calls, "
     "longer calls after the new portal", f"{SEEDS['000']}, ch. 3.3"),
    ("What customers say (December 2021 feedback): segments by digital adoption, login and "
     "portal problems", f"{SEEDS['000']}, ch. 3.4"),
    ("The levers of the 2023 scenarios: registration invitations and reminders, guided tour "
     "and how-to videos, agents guiding callers, a better bot and hand-over, proactive "
     "notifications, restricting services from agents, ending open phone lines",
     f"{SEEDS['000']}; {SEEDS['003']}; {SEEDS['004']}"),
    ("Channel fit: simple matters suit digital channels and chat, complex ones a call",
     SEEDS["004"]),
    ("Why it matters: two thirds of B2B customers ready to switch supplier after a poor "
     "experience", SEEDS["001"]),
    ("Model assumptions not in the sources (accounts, needs per account, handle times, "
     "agent pools, shifts, hourly costs; industry benchmarks for self-service and cost "
     "per contact)", "scenarios/README.md"),
]

