"""The literal prefilter is exact: a pattern it skips on a page has no match there.

Anchors come from pharmcheck.anchors (no private ``re`` API). Checked on every pattern the engine
asks about while judging the saved snapshots, against the text of every page; and the shipped fold
table is what the Unicode data of this Python gives.
"""

from __future__ import annotations

import re

import pytest
from test_engine_golden import all_cases

import pharmcheck.site as site_mod
from pharmcheck.anchors import FOLD_TABLE, Shape, derive_fold_table, fold, required_literals
from pharmcheck.api import scan_snapshot
from pharmcheck.knowledge import knowledge_with


def test_fold_table_matches_this_pythons_unicode_data() -> None:
    assert derive_fold_table() == FOLD_TABLE


@pytest.mark.parametrize(
    ("source", "flags", "want"),
    [
        (r"(?<!\w)(?:bonus\s+pills|free\s+pills)(?!\w)", re.I, {"bonus", "pills"}),
        (r"AEMPS|Agencia", re.I, {"aemps", "agencia"}),
        (r"ab(?i:cde)", 0, None),  # scoped flags: not followed, no prefilter
        (r"(a)\1xyz", 0, None),
        (r"[$€£]\s?\d{1,5}", re.I, None),
        (r"pre(?:scription)?s", re.I, {"pre"}),
        (r"\bno\s+rx\b", re.I, None),  # too short to be worth a lookup
        (r"(?:order)+ now", 0, {"order"}),
    ],
)
def test_required_literals(source: str, flags: int, want: set[str] | None) -> None:
    got = required_literals(source, flags)
    assert (set(got) if got is not None else None) == want


def test_prefilter_never_skips_a_pattern_that_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[tuple[str, int], re.Pattern[str]] = {}
    real = site_mod.pattern_shape

    def recording(pattern: re.Pattern[str]) -> Shape | None:
        seen[(pattern.pattern, pattern.flags)] = pattern
        return real(pattern)

    monkeypatch.setattr(site_mod, "pattern_shape", recording)
    kb = knowledge_with(())
    texts: list[str] = []
    for snap in all_cases().values():
        scan_snapshot(snap, kb)
        texts.extend(site_mod.ParsedPage(p, "").text for p in snap.pages if p.html)
    texts.append("PREſCRIPTION not needed, ıbuprofen, Straße, ΜΕΔΙΚΑ")
    assert len(seen) > 50
    checked = 0
    for pattern in seen.values():
        wanted = required_literals(pattern.pattern, pattern.flags)
        if wanted is None:
            continue
        for text in texts:
            hay = fold(text) if pattern.flags & re.IGNORECASE else text
            if pattern.search(text):
                checked += 1
                assert any(a in hay for a in wanted), (pattern.pattern[:80], sorted(wanted)[:5])
    assert checked > 50


def test_fold_is_the_table_applied_to_the_lower_case_and_keeps_length() -> None:
    assert not set(FOLD_TABLE.values()) & {chr(c) for c in FOLD_TABLE}  # replacing one by one = translate
    samples = ["PREſCRIPTION İstanbul ΣΊΣΥΦΟΣ ς µg Kelvin K ẛ ﬅ ᲀ", "plain ascii TEXT", "", "İ" * 3,
               "".join(chr(c) for c in range(0x20, 0x3000))]
    for text in samples:
        got = fold(text)
        assert got == text.replace("\u0130", "i").lower().translate(FOLD_TABLE)
        assert len(got) == len(text)
