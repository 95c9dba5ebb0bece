"""The literal words every match of a regex starts with, read from its source; matches found from them.

Many rule-pack patterns begin with an alternation of plain words ("Betreiber|operated by|…",
"©|(c)|Copyright"). Every match then starts where one of those words occurs, so the pattern need
only be tried there (``pattern.match`` at each occurrence, left to right, as ``finditer`` goes),
instead of at every position of the windows around its anchors. The occurrences come from the
page's anchor index (:meth:`pharmcheck.site.ParsedPage.word_starts`: one automaton pass a page).
The reading is conservative: a pattern it does not understand gives None and is searched as before.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping

from pharmcheck.anchors import fold
from pharmcheck.site import Hit, ParsedPage, Site

_META = frozenset("\\()[]{}|?*+.^$#")
_QUANTIFIERS = frozenset("?*+{")
_INLINE_FLAGS = re.compile(r"\(\?[imsu]+\)")  # global flags at the start: already in pattern.flags
_ZERO_WIDTH = ("\\b", "(?<!\\w)")  # assertions a match may start with: checked by match() itself


def _after_class(src: str, i: int) -> int:
    """The index after the character class opened at ``src[i]`` ("]" first or after "^" is a member)."""
    n = len(src)
    j = i + 1
    if j < n and src[j] == "^":
        j += 1
    if j < n and src[j] == "]":
        j += 1
    while j < n and src[j] != "]":
        j += 2 if src[j] == "\\" else 1
    return j + 1


def _close(src: str, i: int) -> int:
    """The index of the ")" closing the group opened at ``src[i]`` (escapes and classes skipped), or -1."""
    depth = 0
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _after_class(src, i)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _branches(src: str) -> list[str] | None:
    """``src`` split at its top-level "|" (None when a group does not close)."""
    out: list[str] = []
    start = i = 0
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
        elif c == "[":
            i = _after_class(src, i)
        elif c == "(":
            end = _close(src, i)
            if end < 0:
                return None
            i = end + 1
        elif c == "|":
            out.append(src[start:i])
            i += 1
            start = i
        else:
            i += 1
    out.append(src[start:])
    return out


def _words(src: str, out: set[str]) -> bool:
    """Add the first word of each branch of ``src``; False when a branch does not start with one."""
    branches = _branches(src)
    if branches is None:
        return False
    for branch in branches:
        if branch.startswith(("(?:", "(?i:")):  # a first group that is not optional: its branches
            end = _close(branch, 0)
            if end < 0 or branch[end + 1 : end + 2] in ("?", "*", "{"):
                return False
            if not _words(branch[branch.index(":") + 1 : end], out):
                return False
            continue
        chars: list[str] = []
        k = 0
        while k < len(branch):
            c = branch[k]
            if c == "\\" and k + 1 < len(branch) and branch[k + 1] in _META:
                chars.append(branch[k + 1])  # an escaped punctuation character stands for itself
                k += 2
            elif c not in _META and not c.isspace():
                chars.append(c)
                k += 1
            else:
                break
        if k < len(branch) and branch[k] in _QUANTIFIERS and chars:
            chars.pop()  # the last character is quantified: it may be absent or repeated
        if not chars:
            return False
        out.add(fold("".join(chars)))
    return True


def leading_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Case-folded words one of which every match of ``pattern`` starts with, compared in the folded
    text (a case-sensitive word occurs there too, where it occurs in the text); None when the pattern
    is not read that way. Read: global inline flags and a ``\\b``/``(?<!\\w)`` first are skipped; then a
    top-level alternation whose every branch starts with plain characters or escaped punctuation (the
    last one dropped when a quantifier follows it), or with a group ``(?:…)``/``(?i:…)`` that is not
    optional and is read the same way."""
    if not isinstance(pattern, re.Pattern):
        return None
    return _leading(pattern.pattern, pattern.flags)


@functools.lru_cache(maxsize=256)  # a reading of rule-pack patterns (as ``re`` caches them), no page data
def _leading(src: str, flags: int) -> frozenset[str] | None:
    if flags & (re.VERBOSE | re.ASCII | re.LOCALE):
        return None
    m = _INLINE_FLAGS.match(src)
    if m:
        src = src[m.end() :]
    for zero in _ZERO_WIDTH:
        if src.startswith(zero) and src[len(zero) : len(zero) + 1] not in _QUANTIFIERS:
            src = src[len(zero) :]
            break
    found: set[str] = set()
    if not _words(src, found):
        return None
    return frozenset(found)


def led_finditer(page: ParsedPage, pattern: re.Pattern[str], words: frozenset[str],
                 where: Mapping[str, list[int]] | None = None) -> Iterator[re.Match[str]]:
    """``pattern.finditer(page.text)``, the pattern tried only where one of its leading ``words`` (from
    :func:`leading_literals`) occurs in the folded text: each such position from the left, the match
    there, and on after its end (a match holds its first word, so none is empty). ``where``: the
    page's ``word_starts`` of a set of words holding these, when already known."""
    if where is None:
        where = page.word_starts(words)
    starts = sorted({at for w in words for at in where.get(w, ())})
    if not starts:
        return
    text = page.text
    match = pattern.match
    last = 0
    for at in starts:
        if at < last:
            continue  # inside the previous match
        m = match(text, at)
        if m is not None:
            yield m
            last = m.end()


def site_search(site: Site, pattern: re.Pattern[str]) -> Iterator[Hit]:
    """``site.search(pattern)``: the same hits and budget checks, from the leading words when known."""
    leads = leading_literals(pattern)
    if leads is None:
        yield from site.search(pattern)
        return
    for page in site.pages:
        if site.out_of_budget(f"a search on {page.url}"):
            return
        for m in led_finditer(page, pattern, leads):
            yield Hit(page, m)
