"""The licence claims found with the alternation split in two (licence._claim_matches) are exactly
those of one ``finditer`` over the page text."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck.checks import licence
from pharmcheck.knowledge import builtin_pack_dir, load_pack
from pharmcheck.site import ParsedPage, Site
from pharmcheck.snapshot import Page, Snapshot

KB = load_pack([builtin_pack_dir()])
PATS = licence.patterns(KB)


def found(ms: list[re.Match[str]]) -> list[tuple[tuple[int, int], str | None]]:
    return [(m.span(), m.lastgroup) for m in ms]


def check_page(page: ParsedPage) -> None:
    assert PATS.claims is not None
    want = found(list(PATS.claims.finditer(page.text)))
    assert found(list(licence._claim_matches(page, PATS))) == want


def test_the_pack_claims_are_split() -> None:
    assert len(PATS.claim_parts) == 2  # "DL no" has no anchor word; the other phrases have


def test_saved_snapshots() -> None:
    for path in sorted((Path(__file__).parent / "snapshots").glob("*.json.gz")):
        snap = Snapshot.from_json(gzip.decompress(path.read_bytes()).decode("utf-8"))
        for page in Site(snap, KB).pages:
            check_page(page)


PIECES = ["DL no", "DL No. 20B-123", "dl  nos.", "Drug Licence No", "GPhC", "General Pharmaceutical Council",
          "registration number", "DEA", "state board of pharmacy", "Texas", " ", "\n", "x", "-", "2",
          "ADL no",
          "pharmacy licence", "licence", "no", "Bezirksregierung", "Apothekerkammer", "CQC", "NABP"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=25).map(" ".join))
def test_generated_texts(text: str) -> None:
    html = "<html><body>" + "".join(f"<p>{line}</p>" for line in text.split("\n")) + "</body></html>"
    page = ParsedPage(Page(url="https://x.example/", status=200, html=html), "x.example")
    check_page(page)
