"""Page-level results that several rule modules share: computed once per page, never per rule.

Scope (PC001), the role stage, prescription and red-flag rules read the same facts of a page —
the first match of a word list, the drug names it mentions, the text of its buttons and links.
Each is computed here once per page through the page's own search (``ParsedPage.search``, which
runs a regex only where its anchor words occur) and kept in ``ParsedPage.shared``, so it lives
and dies with the page: no module-level cache, rules stay pure functions of the snapshot.
Results are exactly those of ``pattern.search(page.text)`` / ``pattern.finditer(page.text)``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pharmcheck.pageview import Element
from pharmcheck.site import ParsedPage

MAX_CONTROLS = 800  # buttons, inputs and links read per page (scope reads 800, the role stage 600)


def first_match(page: ParsedPage, pattern: re.Pattern[str] | None) -> re.Match[str] | None:
    """``pattern.search(page.text)``, once per page and pattern."""
    if pattern is None:
        return None
    key = ("first", pattern)
    shared = page.shared
    if key in shared:
        found: re.Match[str] | None = shared[key]
        return found
    known = shared.get(("all", pattern))
    if known is not None:  # the list of matches already holds the first one
        found = known[1][0] if known[1] else None
    else:
        hit = next(page.search(pattern), None)
        found = hit.match if hit is not None else None
    shared[key] = found
    return found


def matches(page: ParsedPage, pattern: re.Pattern[str] | None, limit: int) -> list[re.Match[str]]:
    """The first ``limit`` matches of ``pattern.finditer(page.text)``, once per page and pattern."""
    if pattern is None:
        return []
    key = ("all", pattern)
    shared = page.shared
    known: tuple[int, list[re.Match[str]]] | None = shared.get(key)
    if known is not None and (known[0] >= limit or len(known[1]) < known[0]):
        return known[1][:limit]  # enough asked before, or every match of the page is known
    found = [hit.match for hit in itertools.islice(page.search(pattern), limit)]
    shared[key] = (limit, found)
    return found


@dataclass(frozen=True)
class Control:
    """A button, input or link of a page, with what the rules read of it."""

    tag: Element
    text: str  # its text, whitespace collapsed ("" for an input: rules read its attributes)
    path: str | None  # the path of its href (None: no string href, it does not parse, or no path word)


_URL_DROPPED = str.maketrans("", "", "\t\r\n")  # what urlsplit removes from a URL before splitting it


def controls(page: ParsedPage, path_words: re.Pattern[str] | None) -> list[Control]:
    """The page's first MAX_CONTROLS buttons, inputs and links, in document order.

    The path of an href is split out only when the href holds one of ``path_words`` (the words
    a path pattern needs): a path is part of its href, so no other path can match that pattern.
    """
    key = ("controls", path_words)
    shared = page.shared
    if key in shared:
        known: list[Control] = shared[key]
        return known
    out: list[Control] = []
    for tag in page.named("button", "input", "a")[:MAX_CONTROLS]:
        text = "" if tag.name == "input" else " ".join(tag.get_text(" ").split())
        href = tag.get("href")
        path: str | None = None
        if isinstance(href, str) and path_words is not None:
            href = href.strip()
            if path_words.search(href.translate(_URL_DROPPED)):
                try:
                    path = urlsplit(href).path
                except ValueError:
                    path = None
        out.append(Control(tag, text, path))
    shared[key] = out
    return out
