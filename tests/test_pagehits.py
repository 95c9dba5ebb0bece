"""Phrase lists matched from their first words give exactly what ``finditer`` gives (issue 10).

:mod:`pharmcheck.checks.pagehits` tries a phrase-list pattern only where the first word of one of
its phrases starts (one Aho-Corasick pass over the page's folded text). For every such pattern of
the bundled rule pack, on every page of ``tests/snapshots`` and on crafted text (apostrophes,
case-folding oddities, overlapping first words, words glued together), the matches — spans, groups
and the language group — must be those of ``pattern.finditer(page.text)``.
"""

from __future__ import annotations

import dataclasses
import gzip
import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pharmcheck import role
from pharmcheck.checks import identity, pagehits, patterns, prescription, redflags, scope, signals
from pharmcheck.knowledge import Knowledge, knowledge_with
from pharmcheck.site import ParsedPage, Site
from pharmcheck.snapshot import Page, Snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _patterns_in(value: Any, out: dict[tuple[str, int], re.Pattern[str]]) -> None:
    if isinstance(value, re.Pattern):
        out[(value.pattern, value.flags)] = value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _patterns_in(getattr(value, f.name), out)
    elif isinstance(value, dict):
        for v in value.values():
            _patterns_in(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _patterns_in(v, out)


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return knowledge_with(())


@pytest.fixture(scope="module")
def led(kb: Knowledge) -> list[re.Pattern[str]]:
    """Every pattern of the rule modules that is matched from its first words."""
    found: dict[tuple[str, int], re.Pattern[str]] = {}
    for data in (scope.patterns(kb), role.role_data(kb), prescription.patterns(kb), redflags.lexicon(kb),
                 signals.signal_data(kb), patterns.pattern_rules(kb)):
        _patterns_in(data, found)
    for pattern in identity.identity_data(kb).claim.values():  # compile_by_lang: learnt on first use
        assert pagehits._leads_of(pattern) is not None
        found[(pattern.pattern, pattern.flags)] = pattern
    out = [p for key, p in found.items() if key in pagehits._LEADS]
    assert len(out) >= 50  # drug names, prescription phrases, role, signal and pattern-rule phrase lists
    return out


def _page(text_html: str, kb: Knowledge) -> ParsedPage:
    base = "https://crafted.example/"
    snap = Snapshot(input=base, url=base, final_url=base, registered_domain="crafted.example",
                    pages=[Page(url=base, status=200, kind="home", content_type="text/html", html=text_html)])
    return Site(snap, kb).pages[0]


def _lines_same(page: ParsedPage, kb: Knowledge) -> None:
    """Every line the role stage's line patterns (forum furniture, bylines) match starts with a first word."""
    data = role.role_data(kb)
    for pattern, leads in ((data.forum, data.forum_leads), (data.byline, data.byline_leads)):
        assert pattern is not None and leads is not None
        led = pagehits.led_lines(page, leads)
        assert led is not None
        for i, line in enumerate(page.lines):
            if pattern.match(line):
                assert i in led, line


def _same(page: ParsedPage, pattern: re.Pattern[str]) -> None:
    want = [(m.span(), m.groups(), m.lastgroup) for m in pattern.finditer(page.text)]
    got = [(m.span(), m.groups(), m.lastgroup) for m in pagehits.finditer(page, pattern)]
    assert got == want, pattern.pattern[:80]
    assert [m.span() for m in pagehits.matches(page, pattern, 3)] == [s for s, _, _ in want[:3]]
    first = pagehits.first_match(page, pattern)
    assert (first.span() if first else None) == (want[0][0] if want else None)
    n = len(page.text)
    for a, b in ((0, n), (3, n - 2), (n // 3, 2 * n // 3), (n // 2, n // 2 + 40)):  # windows (prescription)
        want_between = [(m.span(), m.groups()) for m in pattern.finditer(page.text, a, b)]
        got_between = [(m.span(), m.groups()) for m in pagehits.finditer_between(page, pattern, a, b)]
        assert got_between == want_between, (pattern.pattern[:80], a, b)
    for line in page.lines[:50]:  # any string: a link's text, a product name
        got_in = pagehits.search_in(pattern, line)
        want_in = pattern.search(line)
        assert (got_in.span() if got_in else None) == (want_in.span() if want_in else None), line


def test_first_words_of_phrases() -> None:
    assert pagehits.phrase_leads(["Viagra", "{buy|order} now", "prescri~ needed"]) == {
        "viagra", "buy", "order", "prescri"}
    assert pagehits.phrase_leads(["l'équipe de la pharmacie"]) == {"l'équipe", "l’équipe"}
    assert pagehits.phrase_leads(["[our] pharmacy"]) is None  # an optional first word
    assert pagehits.phrase_leads(["* pharmacy"]) is None  # a gap first
    assert pagehits.phrase_leads(["a pharmacy"]) is None  # too short to be worth an automaton
    assert pagehits.phrase_leads(["İSTANBUL eczane"]) == {"istanbul"}


def test_snapshot_pages(kb: Knowledge, led: list[re.Pattern[str]]) -> None:
    pages = 0
    for path in sorted(SNAPSHOTS.glob("*.json.gz")):
        snap = Snapshot.from_json(gzip.decompress(path.read_bytes()).decode("utf-8"))
        for page in Site(snap, kb).pages:
            pages += 1
            _lines_same(page, kb)
            for pattern in led:
                _same(page, pattern)
    assert pages >= 50


CRAFTED = [
    # apostrophes of both kinds, glued words, repeated and overlapping first words
    "We’re a pharmacy. We're a pharmacy we are a pharmacy. we-are a pharmacy",
    "no prescription needed no  prescription\nneeded no rx no-prescription noprescription",
    "Buy VIAGRA online: viagra100mg, Viagra-Connect, viagra connect, sildenafil/viagra; ViAgRa!",
    "Our pharmacist Ruth Lennox. Our pharmacists: Dr. A B. our pharmacistical",
    "reviewed by a doctor reviewed by our doctors, reviewed  by\ta  clinician",
    # characters re.IGNORECASE takes as equal to ASCII letters (ſ = s, K = k, İ = i)
    "ſildenafil tadalafil ſ KAMAGRA kamagra İBUPROFEN ibuprofen İbuprofen",
    "Rezept hochladen, Rezept einreichen – kein Rezept nötig. Medikamente bestellen!",
    "sin receta, sans ordonnance, senza ricetta, zonder recept, ohne Rezept",
    "l'équipe de la pharmacie l’équipe de la pharmacie L’ÉQUIPE DE LA PHARMACIE",
    "GPhC registration number 1234567, gphc reg. no 2, DL no. 12, d.l. nos. 5, N° FINESS 123456789",
    "Xanax, alprazolam 2mg; codeine-free; XANAX bars; tramadol/ultram; Cialis, tadalafil 20 mg $1.2 per pill",
    "Reply</p><p>QUOTE</p><p>Posts: 12</p><p>Joined: 2020</p><p>By Ruth Lennox</p><p>Published 3 May 2024",
]


@pytest.mark.parametrize("text", CRAFTED)
def test_crafted_text(kb: Knowledge, led: list[re.Pattern[str]], text: str) -> None:
    body = text if "</p>" in text else html.escape(text)
    page = _page(f"<html><body><p>{body}</p><p>{body}</p></body></html>", kb)
    _lines_same(page, kb)
    for pattern in led:
        _same(page, pattern)


WORDS = ["viagra", "Viagra", "connect", "no", "prescription", "needed", "we", "are", "a", "pharmacy",
         "our", "pharmacist", "reviewed", "by", "doctor", "rezept", "ohne", "sin", "receta", "ibuprofen",
         "ſildenafil", "İbuprofen", "l'équipe", "we’re", "de", "la", "pharmacie", "buy", "online", "order",
         "Reply", "quote", "Posts:", "joined:", "By", "posted", "von"]
SEPARATORS = [" ", "  ", "\n", "-", "'", "’", "", ".", ", ", "/"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), min_size=1, max_size=40))
def test_generated_text(kb: Knowledge, led: list[re.Pattern[str]], parts: list[tuple[str, str]]) -> None:
    text = "".join(word + sep for word, sep in parts)
    page = _page(f"<html><body><p>{html.escape(text)}</p></body></html>", kb)
    _lines_same(page, kb)
    for pattern in led:
        _same(page, pattern)


HREFS = ["/shop/CART?x=1", "/Warenkorb/", "/ſhop/baſket", "/KASSE", "/checkout", "/bAg", "/carrello#x",
         "/nothing-here", "/Cart\u212a", "/panİer", "/İSTANBUL", "/istanbul"]


@pytest.mark.parametrize("text", [*CRAFTED, *HREFS])
def test_literal_words_twin(text: str) -> None:
    """The folded twin of a literal word list answers as the ignore-case pattern does."""
    words = ["cart", "basket", "checkout", "bag", "warenkorb", "kasse", "panier", "carrello", "shop",
             "İstanbul"]
    pattern = pagehits.literal_words(words)
    assert pattern is not None and pattern.flags & re.IGNORECASE
    twin = pagehits._FOLDED_WORDS[(pattern.pattern, pattern.flags)]
    assert bool(twin.search(pagehits.fold(text))) == bool(pattern.search(text)), text
    assert pagehits.literal_words([]) is None


URL_PARTS = ["/", "//", "a", "B", ":", "?", "#", "\t", "\n", "\r", " ", "\x00", "\x1f", "[", "]", "%", "é",
             "http", "https://", "mailto:", "x.y", "..", "@", "=", "&", "\\"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(URL_PARTS), max_size=12))
def test_path_of_is_urlsplit(parts: list[str]) -> None:
    """The fast path of an href's path gives urlsplit's answer (None where urlsplit raises)."""
    href = "".join(parts)
    try:
        want: str | None = urlsplit(href).path
    except ValueError:
        want = None
    assert pagehits.path_of(href) == want, href
