"""The address rule's shortcuts (issue 10) answer exactly what the regex scans they replace answer."""

from __future__ import annotations

import re
import sys

from pharmcheck.checks import address


def test_the_characters_ignorecase_equates_with_ascii_letters_are_known() -> None:
    every = "".join(chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i < 0xE000)
    found = {c for c in re.findall("[a-z]", every, re.I) if not c.isascii()}
    assert found == set(address._FOLDS_TO_ASCII)
    widening = {c for c in every if not c.isascii() and any(x.isascii() for x in c.lower())}
    assert widening <= found  # str.lower() turns no other character into ASCII


def test_holds_is_the_case_insensitive_search() -> None:
    samples = ["", "x", "<script type='application/LD+JSON'>", "PostalAddress", "POSTALADDRESS é",
               "po\u017ftaladdress", "po\u017ftal", "postal address", "ld+jſon", "LD+JSON ı", "\u0130ld+json",
               "itemtype='https://schema.org/PostalAddress' ü", "ld json", "postaladdres"]
    for html in samples:
        for word, pattern in (("ld+json", address._HAS_JSONLD), ("postaladdress", address._HAS_POSTAL)):
            assert address._holds(html, word, pattern) == bool(pattern.search(html)), (html, word)
