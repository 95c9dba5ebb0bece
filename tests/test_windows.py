"""Windowed regex search is exact: ``ParsedPage.finditer(p)`` gives the matches of ``p.finditer(text)``.

Every regex the engine compiles while judging the saved snapshots (and the rule modules' own module-level
patterns) is run on every page text both ways and must give the same spans and groups; then handmade
patterns that lean on the edges of a window (lookbehind, ``\\b``, ``$``, lookahead, lines, whitespace and
digit runs) run on generated hostile strings (hypothesis).
"""

from __future__ import annotations

import importlib
import pkgutil
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_golden import all_cases

import pharmcheck.checks
import pharmcheck.linear as linear_mod
import pharmcheck.role
import pharmcheck.site as site_mod
from pharmcheck.anchors import shape
from pharmcheck.api import scan_snapshot
from pharmcheck.knowledge import builtin_pack_dir, load_pack
from pharmcheck.snapshot import Page


@pytest.fixture(autouse=True, params=["leads", "weighed", "anchors"])
def _every_plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pattern whose matches start with known words is tried where they start ("leads"); other
    patterns scan windows: on texts under WINDOW_MIN_TEXT around every anchor of the pattern, on longer
    ones around its rarest required parts on the page. Every test runs with each plan on every text."""
    if request.param != "leads":
        monkeypatch.setattr(site_mod, "LEAD_SCANS", False)
        monkeypatch.setattr(site_mod, "WINDOW_MIN_TEXT", 0 if request.param == "weighed" else 10**9)


def _page(text: str) -> site_mod.ParsedPage:
    page = site_mod.ParsedPage(Page(url="https://x.example/", status=200, html="<p>x</p>"), "x.example")
    page.__dict__["text"] = text  # the text as the engine would have extracted it
    return page


def _same(page: site_mod.ParsedPage, pattern: re.Pattern[str], always: bool = False) -> None:
    """Windowed and whole-text matches agree; ``always``: use windows however much of the text they
    cover, and never merge them (short strings would otherwise be scanned whole)."""
    want = [(m.span(), m.groups()) for m in pattern.finditer(page.text)]
    with pytest.MonkeyPatch.context() as mp:
        if always:
            mp.setattr(site_mod, "WINDOW_COVER", 1e9)
            mp.setattr(site_mod, "WINDOW_GAP", 0)
        got = [(m.span(), m.groups()) for m in page.finditer(pattern)]
    assert got == want, (pattern.pattern[:120], page.text[:200])


@pytest.fixture(scope="module")
def engine_patterns() -> list[re.Pattern[str]]:
    seen: dict[tuple[str, int], re.Pattern[str]] = {}
    real = linear_mod.compile_for

    def recording(untrusted: Any, source: str, flags: int = 0) -> re.Pattern[str]:
        got = real(untrusted, source, flags)
        if isinstance(got, re.Pattern):
            seen[(got.pattern, got.flags)] = got
        return got

    real_shape = site_mod.pattern_shape

    def shapes(pattern: re.Pattern[str]) -> Any:
        seen[(pattern.pattern, pattern.flags)] = pattern
        return real_shape(pattern)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(linear_mod, "compile_for", recording)
        mp.setattr(site_mod, "pattern_shape", shapes)
        kb = load_pack([builtin_pack_dir()])  # a fresh pack: its regexes compile here, whatever ran before
        for snap in all_cases().values():
            scan_snapshot(snap, kb)
    names = [f"pharmcheck.checks.{m.name}" for m in pkgutil.iter_modules(pharmcheck.checks.__path__)]
    modules = [pharmcheck.role, site_mod, *map(importlib.import_module, names)]
    for mod in modules:
        for value in vars(mod).values():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                seen[(value.pattern, value.flags)] = value
    return list(seen.values())


def test_windows_give_the_matches_of_the_whole_text_on_every_saved_page(
    engine_patterns: list[re.Pattern[str]],
) -> None:
    windowed = [p for p in engine_patterns if (s := shape(p.pattern, p.flags)) and (s.anchors or s.digit)]
    assert len(engine_patterns) > 150 and len(windowed) > 100
    pages = [p for snap in all_cases().values() for p in snap.pages if p.html]
    texts = sorted({site_mod.ParsedPage(p, "").text for p in pages})
    assert len(texts) > 100
    rng = random.Random(10)
    texts += [
        rng.randbytes(20_000).decode("latin-1"),  # every kind of space, digit-like and cased character
        "".join(rng.choice(["Tel ", "+44 ", "0", "٣", "1234", "\u2003\u2003", " ", "\n", "SW1A 1AA", "£9.99 ",
                            "no prescription ", "PO Box ", "x"]) for _ in range(5_000)),
        "7" * 5_000 + " pharmacy " + "\u3000" * 300 + "licence 12345\n" * 50,
    ]
    used = 0
    for n, text in enumerate(texts):
        page = _page(text)
        third = len(text) // 3
        for pattern in windowed:
            _same(page, pattern)
            _, _, starts, windows = page._by_pattern[id(pattern)]
            used += starts is not None or windows not in (None, site_mod._UNSET)
            if n % 8 == 0:  # a range of the text, as address rules scan around a postcode
                want = [(m.span(), m.groups()) for m in pattern.finditer(text, third, 2 * third)]
                assert [(m.span(), m.groups()) for m in page.finditer(pattern, third, 2 * third)] == want
    assert used > 1000  # most scans ran in windows, not on the whole text


TRICKY = [
    r"(?<!\w)foo\s+bar(?!\w)",
    r"foo\b",
    r"\bfoo$",
    r"(?m)^foo",
    r"(?m)foo$",
    r"foo(?=\s*\d{3})",
    r"(?<=\d)foo",
    r"(?<![\d.])\d{2,3}[a-z]?\b",
    r"x.*foo",
    r"[^<]+foo",
    r"(?s)foo.{0,5}bar",
    r"(?:foo|bar)+\d",
    r"\d+\s*mg\b",
    r"foo\s+\s*bar",
    r"foo(?:\s+\w+){0,3}\s+bar",
    r"(?i)FOO\s?BAR",
    r"(?i)straße|STRASSE",
    r"(?i)ſtop|\bkelvin",
    r"\d{4}\s?[A-Z]{2}\b",
    r"(?:tel|fax)\W{0,3}\+?\d[\d ]{5,14}\d",
    r"foo[\s\d]*bar",
    r"\d[^\n]*foo",
    r"(?<!\w)(?:\d{1,3}[., ])*\d+(?!\d)",
    r"foo(?!.*bar)",
    r"foo\Z",
    r"[\x66]oo",
    r"\b(?i:fo\.? ?o|b\.?ar)\b",
    r"(?i:foo)BAR",
    r"(?s:foo.bar)|x",
    r"(?i)foo(?-i:Bar)",
    r"\d{2}(?i: ?x)",
    r"(?:foo|bar)[a-z ]{0,8}",
    r"\d(?: ?\d){0,4}",
    r"\d{4} ?[A-Z]{2}|\bfoo\s?bar",
    r"(?:\d{2}|x)\d{2}",
    r"(?<!\d)\d{3}(?!\d)|(?i:kelvin)",
    r"[1-9]\d{2,}(?:,\d{3})*",
    r"(?<!\w)(?:no\s+rx|fo\s+\d|(?:bar|x)\d{2})(?!\w)",
    r"(?i:FOO|bar)\s*x",
    r"\bno\s+(?:rx|foo)",
    r"(?:ab)+c?",
    r"(?<![a-z])(?:foo|fo)o?",
]
PIECES = ["foo", "bar", "FOO", "Bar", "mg", "tel", "fax", "x", "a", "1", "42", "2024", "ab", "AB", "ß", "SS",
          "ſ", "K", "İ", ".", ",", "+", "-", "<", " ", "  ", "\n", "\u2003", "\u3000", "\t", "٣", "straße",
          "kelvin"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TRICKY), st.lists(st.sampled_from(PIECES), max_size=60))
def test_windows_are_exact_on_hostile_strings(source: str, pieces: list[str]) -> None:
    _same(_page("".join(pieces)), re.compile(source), always=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TRICKY), st.lists(st.sampled_from(PIECES), max_size=60), st.integers(-2, 90),
       st.one_of(st.none(), st.integers(-2, 90)))
def test_windows_within_a_range(source: str, pieces: list[str], pos: int, endpos: int | None) -> None:
    """``finditer(p, pos, endpos)`` and ``first`` are ``p.finditer(text, pos, endpos)`` and ``p.search``."""
    page, pattern = _page("".join(pieces)), re.compile(source)
    text = page.text
    stop = len(text) if endpos is None else endpos
    want = [(m.span(), m.groups()) for m in pattern.finditer(text, pos, stop)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(site_mod, "WINDOW_COVER", 1e9)
        mp.setattr(site_mod, "WINDOW_GAP", 0)
        got = [(m.span(), m.groups()) for m in page.finditer(pattern, pos, endpos)]
        first = page.first(pattern, pos, endpos)
    assert got == want
    found = pattern.search(text, pos, stop)
    assert (first.span() if first else None) == (found.span() if found else None)


@pytest.mark.parametrize("source", TRICKY)
def test_windows_on_long_text(source: str) -> None:
    filler = "lorem ipsum dolor sit amet " * 40
    text = filler + "foo  bar 123 mg\nx foo\n" + filler + "tel +44 1234 567890 foo\n2024 AB " + filler + "foo"
    _same(_page(text), re.compile(source))
    _same(_page(text), re.compile(source), always=True)


@pytest.mark.parametrize(
    ("source", "flags", "width", "newline", "digit", "words"),
    [
        (r"foo\s+bar", 0, (6, 1, 0), True, 0, {"foo"}),
        (r"\d{1,5}(?:[.,]\d{2})?", 0, (1, 0, 2), False, 1, None),
        (r"x.*foo", 0, None, False, 0, {"foo"}),
        (r"(?s)x.*foo", 0, None, True, 0, {"foo"}),
        (r"[^<]{2,4}", 0, (4, 0, 0), True, 0, None),
        (r"(?:ab){2}c?", 0, (5, 0, 0), False, 0, {"ab"}),  # two-letter words where nothing else serves
        (r"[A-Z]{2} ?[1-9]\d{4}\b", 0, (3, 1, 1), False, 5, None),  # runs: " ?" spaces, \d{4} digits
        (r"(?i)\$\d+|\bper (?:pill|tab)", re.I, (8, 0, 1), False, 1, {"per "}),
        (r"(?:\d\d|foo)x", 0, (4, 0, 0), False, 2, {"foo"}),  # "foo" or two digits
        (r"(?<!\w)(?:no\s+rx|without\s+prescription)(?!\w)", re.I, (19, 1, 0), True, 0,
         {"no", "prescription"}),
    ],
)
def test_shape(source: str, flags: int, width: tuple[int, int, int] | None, newline: bool, digit: int,
               words: set[str] | None) -> None:
    got = shape(source, flags)
    assert got is not None
    assert (got.width, got.newline, got.digit) == (width, newline, digit)
    assert (set(got.anchors) if got.anchors else None) == words


@pytest.mark.parametrize(
    ("source", "text"),
    [
        (r"(?:foo|bar)[a-z ]{0,8}", "fooxxxxxxbar"),  # the first match runs into the next window's starts
        (r"(?:foo|bar)[a-z ]{0,8}", "xx fooxxxxxbarxxxxxxxxxfoo"),
        (r"\d(?: ?\d){0,4}", "1 2 3 4 5 6 7"),
        (r"foo\s+bar$", "foo bar\n"),  # "$" before a final newline
        (r"foo\b", "foox foo"),
        (r"(?<=x)foo", "xfoo foo"),
    ],
)
def test_windows_at_their_edges(source: str, text: str) -> None:
    _same(_page(text), re.compile(source), always=True)


def test_word_starts_and_linear_patterns() -> None:
    from pharmcheck.linear import compile_linear

    page = _page("Viagra and VIAGRA; viagra\nCialis, Straße ſ")
    got = page.word_starts(["Viagra", "cialis", "STRASSE", "strasse"])
    assert got == {"viagra": [0, 11, 19], "cialis": [26]}  # ß does not fold to ss (re.IGNORECASE neither)
    assert page.word_starts(["Viagra"], folded=False) == {"Viagra": [0]}
    user = compile_linear(r"(?i)viagra|cialis", 0)  # a user pack's pattern (RE2): scanned whole
    want = [m.span() for m in user.finditer(page.text)]
    assert [m.span() for m in page.finditer(user)] == want and len(want) == 4


@pytest.mark.parametrize(("source", "flags", "want"), [
    (r"(?<!\w)(?:pharmacy\s+no|GPhC\s+\d+)", re.I, ({"pharmacy", "gphc"}, True)),
    (r"\bfoo|bar$", 0, ({"foo", "bar"}, False)),
    (r"(?i:Foo)(?:in)?|Bar", 0, ({"foo", "bar"}, True)),  # a scoped flag folds every word (coarser)
    (r"(?:abc)+d", 0, ({"abc"}, False)),
    (r"x?abc", 0, None),  # a match may start at "a"
    (r"(?:a|bc)", 0, None),  # one-letter first words: tried at too many places
    (r"[Ff]oo", 0, None),
    (r"(?x)foo", 0, None),
])
def test_leading_literals(source: str, flags: int, want: tuple[set[str], bool] | None) -> None:
    from pharmcheck.leads import leading_literals

    got = leading_literals(source, flags)
    assert (None if got is None else (set(got[0]), got[1])) == want


def test_anchors_learnt_after_a_page_pass_are_still_found() -> None:
    """A page scanned by an automaton that did not hold a pattern's words finds them with str.find; the
    next page's automaton holds them (AnchorIndex build numbers)."""
    index = site_mod.AnchorIndex()
    first, second = (site_mod.ParsedPage(Page(url="https://x.example/", status=200, html=f"<p>{t}</p>"),
                                         "x.example", index) for t in ("zeta alpha", "beta zeta"))
    assert not first.may_match(re.compile("omega|theta"))  # the first scan: an empty automaton
    assert first.may_match(re.compile("alpha|omega")) and first.word_starts(["ZETA"]) == {"zeta": [0]}
    assert index.learn(frozenset({"alpha", "omega"})) == 2  # alpha pending: the next build holds it
    assert second.may_match(re.compile("beta|gamma")) and not second.may_match(re.compile("alpha|omega"))
    assert second.word_starts(["zeta", "alpha"]) == {"zeta": [5]}
    assert index.learn(frozenset({"alpha", "omega"})) == 2  # asked again: the answer is kept
