"""The report's sources are cited as a reader cites them (author, year, title, publisher),
with the seed file names only in a footnote."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.sources import DOCUMENTS, SOURCES, cite
from analysis.study_report import references_blocks, sources_table

SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def test_every_document_is_cited_in_full():
    numbers = sorted(d.number for d in DOCUMENTS.values())
    assert numbers == list(range(1, len(DOCUMENTS) + 1))
    for d in DOCUMENTS.values():
        assert re.fullmatch(r"\d{4}|n\.d\.", d.year), d
        assert d.author and d.title and d.kind and d.publisher, d
        assert d.file not in d.reference and ".txt" not in d.reference
        assert d.reference.startswith(f"{d.author} ({d.year}). {d.title}.")


def test_the_primary_sources_as_published():
    thesis, master = DOCUMENTS["000"], DOCUMENTS["001"]
    assert thesis.reference.startswith("Rantanen, Jenni (2022). Yritysasiakkaiden digitaalisten "
                                       "asiointikanavien käytön kasvu")
    assert "Bachelor's thesis" in thesis.kind
    assert "Häme University of Applied Sciences (Hämeen ammattikorkeakoulu)" == thesis.publisher
    assert master.reference.startswith("Laaksonen, Jussi (2022). Rajobit Oy "
                                       "asiakaskokemuksen kehittäminen: asiakkuuden "
                                       "hoitosuunnitelma")
    assert "Master's thesis" in master.kind
    assert master.publisher.startswith("Tampere University of Applied Sciences")
    assert DOCUMENTS["003"].author == "Genesys" and DOCUMENTS["003"].year == "2019"
    assert DOCUMENTS["004"].year == "n.d." and "unknown" in DOCUMENTS["004"].publisher.lower()
    assert "unknown" in DOCUMENTS["002"].author.lower()
    assert cite("000", where="ch. 3.3") == "Rantanen 2022 [1], ch. 3.3"


def test_file_names_only_in_the_footnote():
    table = sources_table()
    cells = " ".join(c.text for row in table.rows for c in row)
    assert ".txt" not in cells and ".txt" not in table.caption
    assert all(re.search(r"\[\d\]|scenarios/README\.md", src) for _, src in SOURCES)
    blocks = references_blocks()
    note = blocks[-1]
    assert all(d.file in note for d in DOCUMENTS.values())
    assert not any(".txt" in b for b in blocks[:-1])
    cited = {int(n) for _, src in SOURCES for n in re.findall(r"\[(\d)\]", src)}
    assert cited == {d.number for d in DOCUMENTS.values()}      # every document is used


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason=f"no seed folder at {SEEDS_DIR}")
@pytest.mark.parametrize("key", sorted(DOCUMENTS))
def test_the_citation_matches_the_document(key):
    """The seed file exists, its opening names the title the citation gives, and the text
    names the author (when the citation has one) and the year."""
    d = DOCUMENTS[key]
    text = (SEEDS_DIR / d.file).read_text(encoding="utf-8")
    head = " ".join(text[:4000].split()).lower()
    title = d.title.split(" [")[0].removeprefix("[Untitled] ")
    if not d.title.startswith("[Untitled]"):
        words = [w for w in re.findall(r"\w+", title.lower()) if len(w) > 3][:4]
        assert all(w in head for w in words), (key, words)
    if "unknown" not in d.author.lower():
        assert d.author.split(",")[0].lower() in text.lower(), key
    if d.year != "n.d.":
        assert d.year in text, key
