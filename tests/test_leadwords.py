"""Patterns tried only where their leading words start (leadwords) give ``finditer``'s matches (issue 10):
PC603's operator patterns, the seal claims and registry numbers of PC31x, crafted and generated ones."""

from __future__ import annotations

import re
import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck import leadwords
from pharmcheck.knowledge import knowledge_with
from pharmcheck.lookups import registry
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
    leads = leadwords.leading_literals(pattern)
    assert leads is not None
    want = [(h.page.url, h.match.span(), h.match.groups()) for h in site.search(pattern)]
    got = [(h.page.url, h.match.span(), h.match.groups()) for h in leadwords.site_search(site, pattern)]
    assert got == want, pattern.pattern


def test_reading_of_leading_words() -> None:
    assert leadwords.leading_literals(re.compile(r"(?i:Betreiber(?:in)?|operated\s+by)\s*:?(\w+)")) == {
        "betreiber", "operated"}
    assert leadwords.leading_literals(re.compile(r"abc?d|Xy")) == {"ab", "xy"}  # folded: compared so
    assert leadwords.leading_literals(re.compile(r"(?:©|\(c\)|Copyright)\s*x")) == {"©", "(c)", "copyright"}
    assert leadwords.leading_literals(re.compile(r"a\+?|\\b")) == {"a", "\\b"}
    assert leadwords.leading_literals(re.compile(r"ab+")) == {"a"}
    assert leadwords.leading_literals(re.compile(r"(?:ab|cd)x|ef")) == {"ab", "cd", "ef"}
    assert leadwords.leading_literals(re.compile(r"(?i)\bABc")) == {"abc"}
    assert leadwords.leading_literals(re.compile(r"\b(?:VIPPS|NABP[\s-]x|(?:accredited|verified)\s+by)")) == {
        "vipps", "nabp", "accredited", "verified"}
    assert leadwords.leading_literals(re.compile(r"(?i:ab)|Cd")) == {"ab", "cd"}  # mixed case: all folded
    for src in [r"ab|(cd)", r"(?:ab)?c", r"\wb", r"[ab]c", r"(?x)abc", r"(?:ab){0,2}c",
                r"(?<=a)b"]:
        assert leadwords.leading_literals(re.compile(src)) is None, src


def test_bundled_operator_patterns_on_crafted_pages() -> None:
    texts = ["© 2024 Muster Apotheke GmbH (c) Foo Ltd Copyright 2001-2020 Bar Limited",
             "Betreiber: Muster Apotheke GmbH, Inhaberin Anna Beispiel",
             "operated by ACME Pharma Ltd; OWNED BY X", "Company name - Foo Bar\\nregistered company Baz",
             "xxBetreiberin: Glued Name", "éditeur : Société Y",
             "ÉDITEUR Z, raison  sociale W SARL, titolare Mario Rossi, titular Ana", "nothing here"]
    site = _site(texts)
    for raw in KB.family("domain")["operator_patterns"]:
        pattern = KB.regex(str(raw))
        if leadwords.leading_literals(pattern) is not None:
            _same(site, pattern)


def test_seal_claims_and_registry_numbers() -> None:
    cfg = registry.config(KB)
    texts = ["VIPPS accredited. NABP-verified, accredited by the NABP; nabp verified",
             "LegitScript certified, certified by LEGITSCRIPT, PharmacyChecker approved",
             "approved by pharmacy checker, EU common logo, EU-Sicherheitslogo, distance selling logo",
             "logo commun européen, GPhC internet logo, GPhC registration 1234567",
             "General Pharmaceutical Council no. 9012345; CIPA member, certified by CIPA"]
    site = _site(texts)
    read = 0
    numbers = [r.number_pattern for r in cfg.registries if r.number_pattern]
    for pattern in [c.text for c in cfg.claims] + numbers:
        if leadwords.leading_literals(pattern) is not None:
            read += 1
            _same(site, pattern)
    assert read >= 6


_PARTS = st.sampled_from(["ab", "Ab", "b", "(?:", "(?i:", ")", "|", "?", "+", "c", "[a|]", r"\s", "x", "é",
                          "É", r"\(", r"\|", r"\?", "a*", r"\b", "(?<!\\w)", "(?i)"])


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
    if leadwords.leading_literals(pattern) is not None:
        _same(_site(texts), pattern)


def test_unlinked_seal_claims_as_page_search_finds_them() -> None:
    texts = ["Welcome", "We are VIPPS accredited and certified by LegitScript",
             "<img src='/img/cipa-seal.png' alt='x'> CIPA member",
             "EU common logo shown, GPhC internet pharmacy logo"]
    site = _site(texts)
    cfg = registry.config(KB)
    got = registry.find_unlinked_claims(site, cfg, [])
    want = []
    images = [(page, registry._image_attrs(page)) for page in site.pages]
    for claim in cfg.claims:
        ev = None
        for page, attrs in images:
            ev = next((registry.Evidence(page.url, f"image {a}={v[:160]!r}") for a, v in attrs
                       if claim.image.search(v)), None)
            if ev is None:
                ev = next((hit.evidence() for hit in page.search(claim.text)), None)
            if ev is not None:
                break
        if ev is not None:
            want.append((claim, ev))
    assert got == want
    assert len(got) >= 4
