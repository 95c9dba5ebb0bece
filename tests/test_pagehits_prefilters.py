"""Shortcuts that skip work must never skip a match (issue 10): on every page of ``tests/snapshots``.

- ``pagehits.live`` leaves a phrase list out only when it has no match on the page;
- ``pagehits.has_file_input`` is False only when no form holds ``<input type="file">``;
- ``scope.price_possible`` is False only when the price regex finds nothing in the window;
- ``pagehits.led_lines`` holds every line a line-start pattern of the role stage matches.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pharmcheck import role
from pharmcheck.checks import pagehits, patterns, scope
from pharmcheck.knowledge import Knowledge, knowledge_with
from pharmcheck.site import ParsedPage, Site
from pharmcheck.snapshot import Snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return knowledge_with(())


@pytest.fixture(scope="module")
def pages(kb: Knowledge) -> list[ParsedPage]:
    out: list[ParsedPage] = []
    for path in sorted(SNAPSHOTS.glob("*.json.gz"))[:40]:
        snap = Snapshot.from_json(gzip.decompress(path.read_bytes()).decode("utf-8"))
        out.extend(Site(snap, kb).pages)
    assert len(out) > 40
    return out


def test_live_leaves_out_only_lists_without_a_match(kb: Knowledge, pages: list[ParsedPage]) -> None:
    items = [(f"{rule.meta.id}:{lang}", p) for rule in patterns.pattern_rules(kb)
             for lang, p in rule.patterns.items()]
    sp = scope.patterns(kb)
    items += [("drugs", sp.drugs), ("medicine", sp.medicine), ("self_sale", sp.self_sale)]  # type: ignore[list-item]
    leads = [pagehits.leads_of(p) for _, p in items]
    assert sum(words is not None for words in leads) >= 10
    left_out = 0
    for page in pages:
        kept = {key for key, _ in pagehits.live(page, items, leads)}
        for key, pattern in items:
            if key not in kept:
                left_out += 1
                assert pattern.search(page.text) is None, (key, page.url)
    assert left_out > 0


def test_file_input_shortcut(pages: list[ParsedPage]) -> None:
    for page in pages:
        forms = any(form.find("input", attrs={"type": "file"}) is not None for form in page.named("form"))
        if not pagehits.has_file_input(page):
            assert not forms, page.url


def test_price_windows_skipped_hold_no_price(kb: Knowledge, pages: list[ParsedPage]) -> None:
    pats = scope.patterns(kb)
    assert pats.price_hint is not None
    skipped = 0
    for page in pages:
        text = page.text
        for m in scope.drug_hits(page, pats):
            a, b = m.end(), m.end() + pats.price_window
            if not scope.price_possible(page, pats, a, b):
                skipped += 1
                assert pats.price.search(text[a:b]) is None, (page.url, text[a:b])
        for a in range(0, len(text), 97):  # any window, not only after a medicine name
            if not scope.price_possible(page, pats, a, a + pats.price_window):
                assert pats.price.search(text[a : a + pats.price_window]) is None
    assert skipped > 0


def test_led_lines_hold_every_matching_line(kb: Knowledge, pages: list[ParsedPage]) -> None:
    data = role.role_data(kb)
    for page in pages:
        for pattern, leads in ((data.forum, data.forum_leads), (data.byline, data.byline_leads)):
            assert pattern is not None and leads is not None
            led = pagehits.led_lines(page, leads)
            assert led is not None
            want = {i for i, at in enumerate(pagehits.line_starts(page))
                    if at in set(pagehits._lead_starts(page, leads))}
            assert led == want
            for i, line in enumerate(page.lines):
                if pattern.match(line):
                    assert i in led, line
