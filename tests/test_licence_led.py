"""PC301's claim alternation and phrase lists matched from their first words (pagehits) give exactly
``finditer``'s matches, spans, groups and the scheme group, on every saved test page and crafted text."""

from __future__ import annotations

import gzip
import html
import re
from pathlib import Path

import pytest

from pharmcheck.checks import licence, pagehits
from pharmcheck.knowledge import knowledge_with
from pharmcheck.site import ParsedPage, Site
from pharmcheck.snapshot import Page, Snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"
KB = knowledge_with(())


def _led() -> list[re.Pattern[str]]:
    pats = licence.patterns(KB)
    assert pats.claims is not None and pats.claims_led  # the bundled claim phrases all have first words
    out = [pats.claims]
    for p in (pats.licensed, pats.generic, pats.unknown, pats.unknown_exceptions,
              *(s.authority_markers for s in pats.schemes)):
        if p is not None and (p.pattern, p.flags) in pagehits._LEADS:
            out.append(p)
    return out


def _same(page: ParsedPage, pattern: re.Pattern[str]) -> None:
    want = [(m.span(), m.groups(), m.lastgroup) for m in pattern.finditer(page.text)]
    got = [(m.span(), m.groups(), m.lastgroup) for m in pagehits.finditer(page, pattern)]
    assert got == want, pattern.pattern[:80]
    pats = licence.patterns(KB)
    if pattern is pats.claims:  # the claim scan itself
        assert [m.span() for m in licence._claim_matches(page, pats)] == [w[0] for w in want]


def test_snapshot_pages() -> None:
    led = _led()
    assert len(led) >= 4
    pages = 0
    for path in sorted(SNAPSHOTS.glob("*.json.gz")):
        snap = Snapshot.from_json(gzip.decompress(path.read_bytes()).decode("utf-8"))
        for page in Site(snap, KB).pages:
            pages += 1
            for pattern in led:
                _same(page, pattern)
    assert pages >= 50


@pytest.mark.parametrize("text", [
    "GPhC registration number 1234567, gphc reg. no 2, DL no. 12, d.l. nos. 5, N° FINESS 123456789",
    "General Pharmaceutical Council; pharmacy registration no. 1234567 registered pharmacy number 7",
    "Licensed by the WHO, FDA approved, licenced pharmacy, State Board of Pharmacy license #AB1234",
    "Ontario College of Pharmacists, NABP, DEA AB1234563, NPI 1234567893, Apothekenbetriebserlaubnis",
    "xxGPhC glued, GPhCregistration, pharmacyregistration number; NPI-1234567893",
])
def test_crafted_text(text: str) -> None:
    base = "https://crafted.example/"
    snap = Snapshot(input=base, url=base, final_url=base, registered_domain="crafted.example",
                    pages=[Page(url=base, status=200, kind="home", content_type="text/html",
                                html=f"<html><body><p>{html.escape(text)}</p><p>{html.escape(text)}</p></body></html>")])
    page = Site(snap, KB).pages[0]
    for pattern in _led():
        _same(page, pattern)
