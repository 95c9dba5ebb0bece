"""PC603's operator patterns, tried only where their leading words start, give ``finditer``'s matches."""

from __future__ import annotations

import re
import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck.checks import domain
from pharmcheck.knowledge import knowledge_with
from pharmcheck.site import Site
from pharmcheck.snapshot import Page, Snapshot

KB = knowledge_with(())


def _site(texts: list[str]) -> Site:
    base = "https://shop.example/"
    pages = [Page(url=f"{base}p{i}", status=200, kind="home", content_type="text/html",
                  html=f"<html><body><p>{t}</p></body></html>") for i, t in enumerate(texts)]
    snap = Snapshot(input=base, url=base, final_url=base, registered_domain="shop.example", pages=pages)
    return Site(snap, KB)


def _same(site: Site, pattern: re.Pattern[str]) -> None:
    leads = domain.leading_literals(pattern)
    assert leads is not None
    want = [(h.page.url, h.match.span(), h.match.groups()) for h in site.search(pattern)]
    got = [(h.page.url, h.match.span(), h.match.groups()) for h in domain._led_search(site, pattern, leads)]
    assert got == want, pattern.pattern


def test_reading_of_leading_words() -> None:
    assert domain.leading_literals(re.compile(r"(?i:Betreiber(?:in)?|operated\s+by)\s*:?(\w+)")) == (
        frozenset({"betreiber", "operated"}), True)
    assert domain.leading_literals(re.compile(r"abc?d|Xy")) == (frozenset({"ab", "Xy"}), False)
    assert domain.leading_literals(re.compile(r"(?:©|\(c\)|Copyright)\s*x")) == (
        frozenset({"©", "(c)", "Copyright"}), False)
    assert domain.leading_literals(re.compile(r"a\+?|\\b")) == (frozenset({"a", "\\b"}), False)
    assert domain.leading_literals(re.compile(r"ab+")) == (frozenset({"a"}), False)
    for src in [r"(?:ab|cd)x|ef", r"(?:ab)?c", r"\wb", r"[ab]c", r"(?i)abc", r"ab|(cd)", r"(?x)abc",
                r"(?:ab){0,2}c"]:
        assert domain.leading_literals(re.compile(src)) is None, src


def test_bundled_operator_patterns_on_crafted_pages() -> None:
    texts = ["© 2024 Muster Apotheke GmbH (c) Foo Ltd Copyright 2001-2020 Bar Limited",
             "Betreiber: Muster Apotheke GmbH, Inhaberin Anna Beispiel",
             "operated by ACME Pharma Ltd; OWNED BY X", "Company name - Foo Bar\\nregistered company Baz",
             "xxBetreiberin: Glued Name", "éditeur : Société Y",
             "ÉDITEUR Z, raison  sociale W SARL, titolare Mario Rossi, titular Ana", "nothing here"]
    site = _site(texts)
    for raw in KB.family("domain")["operator_patterns"]:
        pattern = KB.regex(str(raw))
        if domain.leading_literals(pattern) is not None:
            _same(site, pattern)


_PARTS = st.sampled_from(["ab", "Ab", "b", "(?:", "(?i:", ")", "|", "?", "+", "c", "[a|]", r"\s", "x", "é",
                          "É", r"\(", r"\|", r"\?", "a*"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PARTS, min_size=1, max_size=8).map("".join),
       st.lists(st.text(alphabet="abABcxéÉ |(?", max_size=30), min_size=1, max_size=3))
def test_generated_patterns(source: str, texts: list[str]) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            pattern = re.compile(source)
    except re.error:
        return
    if domain.leading_literals(pattern) is not None:
        _same(_site(texts), pattern)
