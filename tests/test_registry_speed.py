"""The registry pre-checks read less, and answer as the plain scans they replace (issue 10)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from pharmcheck.knowledge import builtin_pack_dir, load_pack
from pharmcheck.lookups import registry
from pharmcheck.site import ParsedPage, Site
from pharmcheck.snapshot import Page, Snapshot


def test_only_ascii_letters_match_href_ignoring_case() -> None:
    """_hrefs looks for "href" in the lower-cased markup: that finds every place re.IGNORECASE
    matches it only if no other character matches h, r, e or f, and none lower-cases to one."""
    every = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    for letter in "href":
        assert set(re.findall(letter, every, re.I)) == {letter, letter.upper()}
        assert {ch for ch in every if letter in ch.lower()} == {letter, letter.upper()}


def _pages() -> list[Site]:
    kb = load_pack([builtin_pack_dir()])
    snaps = [Snapshot.from_json(gzip.decompress(p.read_bytes()).decode("utf-8"))
             for p in sorted((Path(__file__).parent / "snapshots").glob("*.json.gz"))]
    odd = ('<a HREF="https://x.test/a">a</a><a hReF = \'/b\'>b</a><p>href href=</p>'
           '<a href="/c?href=/d">c</a><img src="İ.png"><a href=//e.test/x>e</a>'
           '<a title="nabp seal" href="https://safe.pharmacy/x">n</a><img alt="LegitScript approved">')
    snaps.append(Snapshot(input="odd.test", url="https://odd.test/", pages=[
        Page(url="https://odd.test/", status=200, kind="home", html=f"<html><body>{odd}</body></html>"),
        Page(url="https://odd.test/2", status=200, kind="other",
             html=f"<html><body>{odd.replace('İ', 'i')}<img alt='gphc logo'></body></html>")]))
    return [Site(s, kb) for s in snaps]


def test_hrefs_are_the_matches_of_a_whole_markup_scan() -> None:
    seen = 0
    for site in _pages():
        for page in site.pages:
            want = [m.span() for m in registry._HREF.finditer(page.page.html or "")]
            assert [m.span() for m in registry._hrefs(page)] == want, page.url
            seen += len(want)
    assert seen >= 20


def test_claim_evidence_with_the_image_precheck_is_the_plain_search() -> None:
    def plain(claim: registry.Claim,
              images: list[tuple[ParsedPage, list[tuple[str, str]]]]) -> tuple[str, str] | None:
        for page, attrs in images:
            for attr, value in attrs:
                if claim.image.search(value):
                    return (page.url, attr)
        return None

    found = 0
    for site in _pages():
        cfg = registry.config(site.kb)
        images = [(page, registry._image_attrs(page)) for page in site.pages]
        blobs: dict[int, dict[bool, str]] = {}
        for claim in cfg.claims:
            ev = registry._claim_evidence(claim, images, blobs)
            want = plain(claim, images)
            if want is not None:
                assert ev is not None and ev.url == want[0] and ev.excerpt.startswith(f"image {want[1]}=")
                found += 1
            else:
                assert ev is None or not ev.excerpt.startswith("image ")
    assert found >= 2


def test_a_claim_text_absent_folded_has_no_match() -> None:
    skipped = 0
    for site in _pages():
        cfg = registry.config(site.kb)
        for page in site.pages:
            for claim in cfg.claims:
                hits = [hit.match.span() for hit in page.search(claim.text)]
                assert hits == [m.span() for m in claim.text.finditer(page.text)]
                if registry._absent_folded(page, claim.text):
                    skipped += 1
                    assert not hits, (page.url, claim.text.pattern)
    assert skipped >= 10
