"""Scans on digit lines only (pharmcheck.checks.digitlines) find exactly what a whole-text scan finds."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck.checks import address, digitlines
from pharmcheck.knowledge import builtin_pack_dir, load_pack
from pharmcheck.site import Site
from pharmcheck.snapshot import Snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"
KB = load_pack([builtin_pack_dir()])
C = address.compiled(KB)
EXTRA = [r"(?<!\w)\d{3}-\d{4}(?!\w)", r"\b[A-Z]{2}\d{5,7}\b", r"(?i:pin ?code)\s?\d{6}", r"[0-9]+(?=[ ,])",
         r"\d\d?\.\d\d(?= €)", r"(?:^|(?<= ))\d{4}\b", r"x*\d"]
PATTERNS = [f.locality for f in C.formats] + [f.postcode for f in C.formats] + list(C.all_streets) \
    + [re.compile(p) for p in EXTRA] + [re.compile(p, re.I) for p in EXTRA]
LOCAL = [p for p in PATTERNS if digitlines.digit_local(p)]


def spans(ms: list[re.Match[str]]) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
    return [(m.span(), m.groups()) for m in ms]


GAPS = (0, digitlines.MERGE_GAP, 10_000)


def same(pattern: re.Pattern[str], text: str, gaps: tuple[int, ...] = GAPS) -> None:
    run = digitlines.digit_run(pattern)
    assert run >= 1
    want = spans(list(pattern.finditer(text)))
    for gap in gaps:
        windows = digitlines.digit_windows(text, run, gap)
        got = list(digitlines.finditer(pattern, text, windows, True))
        assert spans(got) == want, (pattern.pattern, gap)
        assert all(a == 0 or text[a - 1] == "\n" for a, _ in windows)
        assert all(b == len(text) or text[b] == "\n" for _, b in windows)
    shared = digitlines.Windows(text)
    shared.get(1)  # longer runs are then found within these ranges
    assert spans(list(digitlines.finditer(pattern, text, shared.get(run), True))) == want


def test_the_pack_postcode_formats_are_read_as_digit_local() -> None:
    assert all(f.run >= 1 for f in C.formats)
    assert {f.country: f.run for f in C.formats}["US"] == 5  # ZIP: five digits in a row
    assert len(LOCAL) >= len(C.formats) + 10


def test_digit_runs() -> None:
    for source, run in [(r"\d{2}\d?\d{2}", 4), (r"(?:0[1-9]|[1-4]\d|5[0-2])\d{3}", 5), (r"a\d(?=\d)\d", 1),
                        (r"\d{3}-\d{4}", 4), (r"(?:\d\d|\d)x", 1), (r"\d+|x\d{3}", 1), (r"[0-9]{2,}\b", 2)]:
        assert digitlines.digit_run(re.compile(source)) == run, source


def test_unsure_or_unsafe_patterns_are_scanned_whole() -> None:
    for source in [r"\d|a", r"(?:\d)?", r"[^x]\d", r"\d\s", r"\d$", r"(?=\d)a", r"\d{0}", r"(?s:.)\d",
                   r"[\n]\d", r"\\d", r"\d\Z", r"\d\W", r"\d\D", r"(\d)\1", r"[0-9a]", r"\x30",
                   r"(?x) \d", r"\d(?m:$)", r"(?P<a>1)(?P=a)"]:
        assert not digitlines.digit_local(re.compile(source)), source
    assert not digitlines.digit_local(re.compile(r"a.\d", re.S))


def test_saved_snapshots_match_a_whole_text_scan() -> None:
    for path in sorted(SNAPSHOTS.glob("*.json.gz")):
        snap = Snapshot.from_json(gzip.decompress(path.read_bytes()).decode("utf-8"))
        for page in Site(snap, KB).pages:
            for pattern in LOCAL:
                same(pattern, page.text, (digitlines.MERGE_GAP,))


PIECES = ["\n", " ", "  ", "1", "12", "90210", "1234", "123456", "SW1A 1AA", "D02 X285", "CA",
          "Beverly Hills, CA ",
          "10115 ",
          "Berlin", "NSW 2000", "a", "B", "-", ",", ".", "/", "Main St", "221B ", "Baker Street", "é", "٣",
          "Unit 4", "Ontario M5V 2T6", "€", "Dublin 2", "pin code 110001", "(", ")"]


@settings(max_examples=150, deadline=None)
@given(text=st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_generated_texts_match_a_whole_text_scan(text: str) -> None:
    for pattern in LOCAL:
        same(pattern, text)


def test_case_widened_patterns_match_wherever_the_pattern_does() -> None:
    wide = digitlines.case_widened(re.compile(r"\b(?i:p\.? ?o\.? ?box)\b|\bB\.?P\.? \d"))
    assert wide is not None and wide.flags & re.IGNORECASE and "(?i:" not in wide.pattern
    assert digitlines.case_widened(re.compile(r"x(?!Y)(?i:z)")) is None
    in_class = digitlines.case_widened(re.compile(r"[(?i:]x"))  # no group: a class, kept as it is
    assert in_class is not None and in_class.pattern == "[(?i:]x"
    escaped = digitlines.case_widened(re.compile(r"\(?i:a|(?i:b)"))
    assert escaped is not None and escaped.pattern == r"\(?i:a|(?:b)"
    for kind, pattern in C.mailbox:
        w = digitlines.case_widened(pattern)
        for text in ("PO Box 12", "p.o. box 7", "Postfach 10 20", "BP 123", "Boîte postale 5",
                     "CP 12 00100 xy",
                     "PMB 44", "Virtual Office", "Apdo. 3", "Postbus 1"):
            if pattern.search(text):
                assert w is None or w.search(text), (kind, text)
