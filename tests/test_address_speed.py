"""The address rule's shortcuts (issue 10) answer exactly what the regex scans they replace answer."""

from __future__ import annotations

import array
import re
import sys
from types import SimpleNamespace

from pharmcheck.checks import address


def _every_code_point() -> str:
    """Every code point but the surrogates, as one string, built from an array of ints (a join of 1.1 M
    one-character strings held ~100 MB at its peak, which every later child process inherited)."""
    points = array.array("I", (i for i in range(sys.maxunicode + 1) if not 0xD800 <= i < 0xE000))
    return points.tobytes().decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be")


def test_the_characters_ignorecase_equates_with_ascii_letters_are_known() -> None:
    every = _every_code_point()
    found = {c for c in re.findall("[a-z]", every, re.I) if not c.isascii()}
    assert found == set(address._FOLDS_TO_ASCII)
    widening = {c for c in every if not c.isascii() and any(x.isascii() for x in c.lower())}
    assert widening <= found  # str.lower() turns no other character into ASCII


def test_holds_is_the_case_insensitive_search() -> None:
    samples = ["", "x", "<script type='application/LD+JSON'>", "PostalAddress", "POSTALADDRESS é",
               "po\u017ftaladdress", "po\u017ftal", "postal address", "ld+jſon", "LD+JSON ı", "\u0130ld+json",
               "itemtype='https://schema.org/PostalAddress' ü", "ld json", "postaladdres",
               "\u0130 po\u017fTALaddress", "\u212a ld+json", "ı ld+\u017fon", "post\u0130aladdress ı",
               "LD+J\u212aSON ſ"]
    for html in samples:
        for word, pattern in (("ld+json", address._HAS_JSONLD), ("postaladdress", address._HAS_POSTAL)):
            page = SimpleNamespace(page=SimpleNamespace(html=html), shared={})
            assert address._holds(page, word, pattern) == bool(pattern.search(html)), (html, word)  # type: ignore[arg-type]


def test_cased_word_matches_what_ignorecase_matches() -> None:
    every = _every_code_point()
    for word in ("ld+json", "postaladdress"):
        assert address._cased(word).pattern == "".join(address._cased(ch).pattern for ch in word)
        for ch in set(word):
            assert set(address._cased(ch).findall(every)) == set(re.findall(re.escape(ch), every, re.I)), ch


def _reference_snippets(page: object) -> list[tuple[int, int]]:
    """address._snippets as it was: one _PHONEISH scan of each region."""
    text = page.text  # type: ignore[attr-defined]
    spans: list[tuple[int, int]] = []
    for a, b in address._regions(page):  # type: ignore[arg-type]
        for n, m in enumerate(address._PHONEISH.finditer(text, a, b)):
            if n >= address.MAX_PHONE_SNIPPETS * 4:
                break
            lo = max(a, m.start() - address.SNIPPET_RADIUS, text.rfind("\n", 0, m.start()) + 1)
            nl = text.find("\n", m.end())
            hi = min(b, m.end() + address.SNIPPET_RADIUS, nl if nl >= 0 else len(text))
            if spans and lo < spans[-1][1]:
                spans[-1] = (spans[-1][0], max(hi, spans[-1][1]))
            else:
                spans.append((lo, hi))
    return spans[: address.MAX_PHONE_SNIPPETS * 4]


def test_phone_snippets_are_those_of_a_scan_of_each_region() -> None:
    import gzip
    from pathlib import Path

    from pharmcheck.knowledge import builtin_pack_dir, load_pack
    from pharmcheck.site import Site
    from pharmcheck.snapshot import Page, Snapshot

    kb = load_pack([builtin_pack_dir()])
    snaps = [Snapshot.from_json(gzip.decompress(p.read_bytes()).decode("utf-8"))
             for p in sorted((Path(__file__).parent / "snapshots").glob("*.json.gz"))]
    lines = ["Call +44 20 7946 0958 today", "Tel. (030) 123-45 67", "12 34 56 7", "٣٣٣ ٣٣٣ ٣٣٣٣",
             "1234567890123", "x", "Order 1 2 3 4 5 6 7 8 9", "€12.99 / 4 Stk.",
             "0800 123 4567\n0800 123 4567"]
    long_text = "\n".join(lines[i % len(lines)] + " " + "word " * (i % 7) for i in range(400))
    huge = "\n".join(lines[i % len(lines)] + " " + "words " * (i % 13) for i in range(4000))  # > 120k chars
    snaps.append(Snapshot(input="example.test", url="https://example.test/", pages=[
        Page(url="https://example.test/", status=200, html=f"<p>{long_text.replace(chr(10), '</p><p>')}</p>"),
        Page(url="https://example.test/contact", status=200, kind="contact",
             html="<p>" + "</p><p>".join(lines) + "</p>"),
        Page(url="https://example.test/legal", status=200, kind="legal",
             html=f"<p>{huge.replace(chr(10), '</p><p>')}</p>")]))
    pages = [page for snap in snaps for page in Site(snap, kb).pages]
    assert sum(len(_reference_snippets(p)) for p in pages) >= 10  # the test reads pages with numbers
    for page in pages:
        assert address._snippets(page) == _reference_snippets(page), page.url


def test_a_street_window_skipped_by_its_words_holds_no_match() -> None:
    from pharmcheck.fingerprints import may_hold
    from pharmcheck.knowledge import builtin_pack_dir, load_pack

    c = address.compiled(load_pack([builtin_pack_dir()]))
    text = ("Unit 4, 12 High Street\nHauptstraße 5, 10115 Berlin\nKeizersgracht 12\n1012 AB Amsterdam\n"
            "Via Roma 10, 00100 Roma\nShop No. 5, MG Road\nwe ship to every street and weg\n"
            "UNIT 4 STE 9 main road\nPlatz 3 am Markt 7 Ringweg 2 Sector 18\n") * 3
    skipped = 0
    folded: list[str] = []
    for style in c.all_streets:
        for lo in range(0, len(text), 7):
            for hi in (lo + 9, lo + 30, lo + 120):
                # the bounded lookup in the folded text answers as may_hold on the slice
                assert address._may_hold_in(style, text, lo, hi, folded) == may_hold(style, text[lo:hi])
                if not may_hold(style, text[lo:hi]):
                    skipped += 1
                    assert not list(style.finditer(text, lo, hi)), (style.pattern, lo, hi)
    assert skipped > 100


def test_mailbox_line_scan_finds_what_a_whole_text_scan_finds() -> None:
    import gzip
    from pathlib import Path

    from pharmcheck.knowledge import builtin_pack_dir, load_pack
    from pharmcheck.site import Site
    from pharmcheck.snapshot import Page, Snapshot

    kb = load_pack([builtin_pack_dir()])
    c = address.compiled(kb)
    assert len(c.line_local) >= 5
    body = ("BP 123 Paris\nB.P. 45, 75001 Paris\nBoîte postale 7\nCP 12 via Roma 00100 Roma\nC.P. 9 x 12345\n"
            "P.O. Box 99\nPostfach 10 20 30\nApdo. 5\nPMB 200\nvirtual office\n€ 12\n") * 20
    snaps = [Snapshot.from_json(gzip.decompress(p.read_bytes()).decode("utf-8"))
             for p in sorted((Path(__file__).parent / "snapshots").glob("*.json.gz"))]
    snaps.append(Snapshot(input="example.test", url="https://example.test/", pages=[
        Page(url="https://example.test/contact", status=200, kind="contact",
             html=f"<p>{body.replace(chr(10), '</p><p>')}</p>")]))
    hits = 0
    for snap in snaps:
        memo: address.LineMemo = {}  # one site's: its pages read twice, the second time from the memo
        for page in Site(snap, kb).pages * 2:
            scan = address._line_scan(page, c)
            spans = address._line_spans(page, c, memo)
            for _, pattern in c.mailbox:
                want = [(m.span(), m.groups()) for m in pattern.finditer(page.text)]
                assert [(m.span(), m.groups()) for m in scan(pattern, 0, None)] == want, pattern.pattern
                assert list(spans(pattern)) == [span for span, _ in want], pattern.pattern
                hits += len(want)
    assert hits >= 200


def test_locality_memo_gives_the_matches_of_a_fresh_scan() -> None:
    """find_in_text with one site's memos of digit windows and street lines finds what it finds
    without them: the same windows at the start, the middle and the end of texts, and the snapshots'
    pages read twice."""
    import gzip
    from pathlib import Path

    from pharmcheck.knowledge import builtin_pack_dir, load_pack
    from pharmcheck.site import Site
    from pharmcheck.snapshot import Snapshot

    kb = load_pack([builtin_pack_dir()])
    c = address.compiled(kb)
    block = ("12 High Street\nLondon SW1A 1AA\nHauptstraße 5, 10115 Berlin\n1600 Main Avenue\n"
             "Springfield, IL 62704\nVia Roma 10, 00100 Roma\nUnit 3, 9 Smith St\nSydney NSW 2000\n"
             "PMB 200, 1 Main St, Austin TX 78701\n")
    texts = [block, "intro\n" + block, block + "outro", "x\n" + block + "\ny", block.strip() + " 75001 Paris",
             block * 60]  # one window longer than MEMO_WINDOW_MAX: scanned, not remembered
    for snap in sorted((Path(__file__).parent / "snapshots").glob("*.json.gz")):
        site = Site(Snapshot.from_json(gzip.decompress(snap.read_bytes()).decode("utf-8")), kb)
        texts.extend(page.text for page in site.pages)
    memo: address.WindowMemo = {}
    streets: address.StreetMemo = {}
    found = 0
    for text in texts * 2:
        for hint in ("", "GB", "DE"):
            want = address.find_in_text(text, c, hint)
            assert address.find_in_text(text, c, hint, None, memo, None, streets) == want
            found += len(want)
    assert memo and streets and found >= 30


def test_phone_matcher_gives_only_valid_numbers() -> None:
    """_text_numbers keeps the matcher's numbers without asking is_valid_number again: the matcher's
    default leniency (VALID) accepts only valid numbers."""
    import phonenumbers

    text = ("Call +44 20 7946 0958 or 020 7946 0000, fax (212) 555-0100, +1 415 555 2671, 0800 123 4567, "
            "+49 30 901820, 030 12345678, 01 23 45 67 89, +33 1 42 68 53 00, 12345 67890, 555-1234")
    seen = 0
    for region in ("GB", "US", "DE", "FR", "IN"):
        for match in phonenumbers.PhoneNumberMatcher(text, region):
            assert phonenumbers.is_valid_number(match.number), (region, match.raw_string)
            seen += 1
    assert seen >= 5


def test_page_lines_are_the_offsets_of_a_split() -> None:
    import gzip
    from pathlib import Path

    from pharmcheck.knowledge import builtin_pack_dir, load_pack
    from pharmcheck.site import Site
    from pharmcheck.snapshot import Page, Snapshot

    kb = load_pack([builtin_pack_dir()])
    snaps = [Snapshot.from_json(gzip.decompress(p.read_bytes()).decode("utf-8"))
             for p in sorted((Path(__file__).parent / "snapshots").glob("*.json.gz"))]
    snaps.append(Snapshot(input="e.test", url="https://e.test/", pages=[
        Page(url="https://e.test/", status=200, kind="home", html=""),
        Page(url="https://e.test/a", status=200, kind="other", html="<p>a</p><pre>b\nc</pre><p>d<br>e</p>")]))
    pages = 0
    for snap in snaps:
        for page in Site(snap, kb).pages:
            assert address._page_lines(page).starts == address._Lines(page.text).starts, page.url
            pages += 1
    assert pages >= 10
