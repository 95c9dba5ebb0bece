"""The visible text of a page (issue 10, item 1): one lexbor parse gives the lines and the markup
view; a page past the markup caps is read by a linear tag stripper that gives the same lines on
ordinary markup, and the report says what a cap left unread. No timed assertions."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pharmcheck.api import scan_snapshot
from pharmcheck.knowledge import default_knowledge
from pharmcheck.site import (
    MAX_MARKUP_DEPTH,
    MAX_SOUP_CHARS,
    MAX_TEXT_TAGS,
    ParsedPage,
    _extract,
    _lines,
    _stripped_text,
    visible_lines,
)
from pharmcheck.snapshot import Page, Snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize(("html", "lines"), [
    ("<p>Buy <b>no prescription</b> needed</p><p>next</p>", ["Buy no prescription needed", "next"]),
    ("one<br>two<br/>three", ["one", "two", "three"]),
    ("<div>a<span>b</span></div>c", ["ab", "c"]),
    ("a<!-- hidden -->b", ["ab"]),
    ("<head><title>Title</title><style>p{}</style></head><body>shown<script>x()</script></body>", ["shown"]),
    ("a<noscript><p>no</p></noscript>b", ["a", "b"]),  # a block inside an invisible element ends a line
    ("a<template><div>t</div></template>b", ["a", "b"]),  # lexbor keeps template content out of the tree
    ("a<svg><text>s</text></svg>b", ["ab"]),
    ("<p>x&nbsp;y &amp; z</p>", ["x y & z"]),
    ("<ul><li>1<li>2</ul><p>3<p>4", ["1", "2", "3", "4"]),
    ("   ", []),
])
def test_visible_lines(html: str, lines: list[str]) -> None:
    assert visible_lines(html) == lines
    assert _lines(_stripped_text(html))[0] == lines


def _saved_pages() -> list[str]:
    out = []
    for path in sorted(SNAPSHOTS.glob("*.json.gz"))[:12]:
        snap = Snapshot.from_json(gzip.decompress(path.read_bytes()).decode("utf-8"))
        out.extend(p.html for p in snap.pages if p.html)
    return out


def test_the_tag_stripper_reads_ordinary_markup_as_the_tree_does() -> None:
    pages = _saved_pages()
    assert len(pages) > 20
    for html in pages:
        ex = _extract(html)
        assert ex.tree is not None  # an ordinary page: one lexbor parse
        assert _lines(_stripped_text(html))[0] == ex.lines


def _page(html: str) -> ParsedPage:
    return ParsedPage(Page(url="https://big.example/", status=200, kind="home", content_type="text/html",
                           html=html), "big.example")


def test_a_page_past_the_character_cap_keeps_all_its_text() -> None:
    block = "<div><h2>Section</h2><p>Ordinary <b>pharmacy</b> text, <a href='/x'>a link</a>.</p></div>\n"
    body = block * (MAX_SOUP_CHARS // len(block) + 50)
    footer = "<footer>Operator Ltd, 1 High St</footer>"
    html = f"<html><head><title>Big</title></head><body>{body}{footer}</body></html>"
    page = _page(html)
    assert page.lines[-1] == "Operator Ltd, 1 High St"
    assert page.lines[:3] == ["Section", "Ordinary pharmacy text, a link.", "Section"]
    assert [c["cap"] for c in page.truncation] == ["markup", "text_window"]
    assert page.title == "Big"
    assert page.links and all(link.url == "https://big.example/x" for link in page.links)


def test_a_tag_flood_is_read_to_its_end_in_one_cheap_pass() -> None:
    unit = '<span class="x"><a href="/p">buy</a></span><br>'
    flood = unit * (MAX_TEXT_TAGS // 2)
    html = f"<p>first words</p>{flood}<p>middle <b>words</b></p>{flood}<p>last words</p>"
    page = _page(html)
    assert page.lines[0] == "first words" and page.lines[-1] == "last words"
    assert "middle" in page.lines and "words" in page.lines  # past MAX_TEXT_TAGS every tag ends a line
    assert [c["cap"] for c in page.truncation] == ["markup", "text_window"]  # 200,000 characters kept


def test_deep_nesting_reaches_the_markup_parser_cut_near_the_cap() -> None:
    depth = 15_000
    html = "<html><body>" + "<div>" * depth + "<p>deep pharmacy text</p>" + "</div>" * depth + "</body>"
    ex = _extract(html)
    assert "deep pharmacy text" in ex.lines
    assert ex.tree is None and ex.soup_end < 6 * (MAX_MARKUP_DEPTH + 10)  # not the 32 kB chunk: 6.5k levels
    page = _page(html)
    assert [c["cap"] for c in page.truncation] == ["markup"]
    assert page.soup.find("html") is not None


@pytest.mark.parametrize("hostile", [
    "<script " * 50_000, "<!--" * 50_000, '<a b="' * 50_000, "<svg " * 50_000, "</p " * 50_000,
    "<div title='" * 50_000, "<" * 200_000 + "a",
])
def test_the_tag_stripper_never_backtracks(hostile: str) -> None:
    text = _stripped_text(hostile)  # linear: each pattern consumes what it scans
    assert len(text) <= len(hostile)
    assert isinstance(_extract(hostile).lines, list)


def test_the_judging_budget_is_reported_in_errors_and_truncated(monkeypatch: pytest.MonkeyPatch) -> None:
    import pharmcheck.site

    snap = Snapshot.from_json(gzip.decompress((SNAPSHOTS / "uk-riverside-pharmacy.json.gz").read_bytes())
                              .decode("utf-8"))
    monkeypatch.setattr(pharmcheck.site, "JUDGE_BUDGET_S", 0.0)
    report = scan_snapshot(snap, default_knowledge())
    cuts = [t for t in report.truncated if t["cap"] == "judging_budget"]
    assert cuts and cuts[0]["skipped"].startswith("judging stopped after 0 s")
    assert any(e.startswith("judging stopped") for e in report.errors)
    assert report.verdict not in ("legitimate", "not_pharmacy")


def test_a_small_deep_page_keeps_its_text_and_gets_the_markup_cut() -> None:
    depth = 3_500  # fewer tags than a scan is needed for, deeper than the markup cap
    html = "<html><body>" + "<div>" * depth + "<p>deep offer text</p>" + "</div>" * depth + "</body>"
    assert len(html) > 32_768
    page = _page(html)
    assert page.lines == ["deep offer text"]
    assert [c["cap"] for c in page.truncation] == ["markup"]
    assert page._extract.soup_end < 6 * (MAX_MARKUP_DEPTH + 10)


def test_a_long_page_of_few_tags_is_read_from_its_tree() -> None:
    data = '{"items": [' + ", ".join(['{"name": "x < y & z"}'] * 60_000) + "]}"  # an app's inline state
    html = (f"<html><head><script>{data}</script></head><body><h1>Shop</h1>"
            "<p>Pharmacy &amp; <b>clinic</b></p><a href='/contact'>Contact</a></body></html>")
    assert len(html) > MAX_SOUP_CHARS
    page = _page(html)
    assert page.lines == ["Shop", "Pharmacy & clinic", "Contact"]
    assert [c["cap"] for c in page.truncation] == ["markup"]  # the markup view reads the first 1 MB
    assert page.links == []


def test_pages_without_raw_or_invisible_elements_skip_those_passes_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An ASCII page with no comment, script, style … (any case) skips the passes that remove them: the
    lines, markup cut and caps are those of the full passes (tag floods past the caps, \\r and NUL)."""
    import random

    import pharmcheck.site as site_mod

    rng = random.Random(5)
    pieces = ["<p>", "</p>", "<div class='a'>", "</div>", "<br>", "<span>", "</span>", "text ", "&amp;",
              "&", "<", ">", '<a href="/x">', "</a>", "<b>", "</b>", "\r\n", "\r", "\x00", "<li>", "<td>",
              "<!", "<?x", "</", "<-", '"', "'", "<tr>", "<table>", " "]
    marked = [*pieces, "<scrip", "<SVG", "<Hea", "<!--"]
    sizes = [5_000, 12_000, 45_000]
    pages = ["".join(rng.choice(pieces if n % 2 else marked) for _ in range(rng.choice(sizes)))
             for n in range(12)]
    flood = '<span class="x"><a href="/p">buy</a></span><br>' * 70_000
    words = ["<b>", "</b>", "<i>x</i>", "word ", "a" * 30, "<p>", "<x y='>'>", "< ", "<!", ">", "\n", "<br>"]
    varied = "".join(rng.choice(words) for _ in range(400_000))  # a flood read at both ends (_rough_ends)
    text_first = "<p>" + "w " * 160_000 + "</p>" + "<br>" * 60_000  # the head alone fills the window
    pages += [flood, "<div>" * 9_000 + "t" + "</div>" * 9_000, varied, text_first,
              "<br>" * 41_000 + "end", '<a href="/x">y</a>' * 25_000]
    plain = 0
    for html in pages:
        fast = _extract(html)
        with monkeypatch.context() as mp:
            mp.setattr(site_mod, "_plain_markup", lambda _html: False)
            full = _extract(html)
        assert (fast.lines, fast.soup_end, fast.text_capped) == (full.lines, full.soup_end, full.text_capped)
        plain += site_mod._plain_markup(html)
    assert plain >= 6
    assert not site_mod._plain_markup("<p>x</p><ScRiPt>y</script>") and not site_mod._plain_markup("<p>é</p>")
