"""Page-level results that several rule modules share: computed once per page, never per rule.

Scope (PC001), the role stage, prescription and red-flag rules read the same facts of a page —
the first match of a word list, the drug names it mentions, the text of its buttons and links.
Each is computed here once per page through the page's own search (``ParsedPage.search``, which
runs a regex only where its anchor words occur) and kept in ``ParsedPage.shared``, so it lives
and dies with the page: no module-level cache, rules stay pure functions of the snapshot.
Results are exactly those of ``pattern.search(page.text)`` / ``pattern.finditer(page.text)``.

Phrase lists (``rules/*.toml``, compiled by :mod:`pharmcheck.checks.textmatch`) have a faster road:
every match of such a pattern starts with the first word of one of its phrases. The first words
of every list compiled through :func:`phrases` & co are in one Aho-Corasick automaton; one pass
over a page's case-folded text gives where each occurs, and the pattern is tried there only
(``pattern.match(text, at)``, left to right, as ``finditer`` does). A list whose first words are
too short or not literal (``[optional] …``, ``* …``) keeps the page's windowed search. The words and
the automaton are rule-pack data (like ``textmatch.per_kb``), never page data.

Cost (issue 10): the automaton (ahocorasick-rs) pass keeps only the places where a word of the text
starts; from it a page knows once which learnt lists have a first word there, so a list that has none
is answered by one set lookup (:func:`live` filters a rule's lists per page the same way); a list
with many places to try asks ``page.may_match`` first; lists compiled by textmatch outside
:func:`phrases` & co are learnt the first time a page asks about them. Per-page memos are keyed by
``id(pattern)`` with the pattern kept beside the result: hashing a compiled pattern hashes its whole
code (~10 µs for a drug list).
"""

from __future__ import annotations

import bisect
import itertools
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from pharmcheck.anchors import fold
from pharmcheck.checks.textmatch import (
    compile_all,
    compile_by_lang,
    compile_phrases,
    compile_tagged,
    phrases_of,
)
from pharmcheck.pageview import Element
from pharmcheck.site import ParsedPage

MAX_CONTROLS = 800  # buttons, inputs and links read per page (scope reads 800, the role stage 600)


def _memo(shared: dict[Any, Any], tag: str, pattern: re.Pattern[str]) -> Any:
    """The result kept under ``(tag, id(pattern))`` for this very pattern object, else None.

    Keyed by id: hashing a compiled pattern hashes its whole code (microseconds for a drug list),
    and the pattern kept next to the result proves the id is still that pattern's."""
    got = shared.get((tag, id(pattern)))
    return got[1] if got is not None and got[0] is pattern else None


def first_match(page: ParsedPage, pattern: re.Pattern[str] | None) -> re.Match[str] | None:
    """``pattern.search(page.text)``, once per page and pattern."""
    if pattern is None:
        return None
    shared = page.shared
    got = shared.get(("first", id(pattern)))
    if got is not None and got[0] is pattern:
        found: re.Match[str] | None = got[1]
        return found
    known: tuple[int, list[re.Match[str]]] | None = _memo(shared, "all", pattern)
    if known is not None:  # the list of matches already holds the first one
        found = known[1][0] if known[1] else None
    else:
        led = _led_matches(page, pattern, 1)
        if led is not None:
            found = led[0] if led else None
        else:
            hit = next(page.search(pattern), None)
            found = hit.match if hit is not None else None
    shared[("first", id(pattern))] = (pattern, found)
    return found


def matches(page: ParsedPage, pattern: re.Pattern[str] | None, limit: int) -> list[re.Match[str]]:
    """The first ``limit`` matches of ``pattern.finditer(page.text)``, once per page and pattern."""
    if pattern is None:
        return []
    shared = page.shared
    known: tuple[int, list[re.Match[str]]] | None = _memo(shared, "all", pattern)
    if known is not None and (known[0] >= limit or len(known[1]) < known[0]):
        return known[1][:limit]  # enough asked before, or every match of the page is known
    found = _led_matches(page, pattern, limit)
    if found is None:
        found = [hit.match for hit in itertools.islice(page.search(pattern), limit)]
    shared[("all", id(pattern))] = (pattern, (limit, found))
    return found


def finditer(page: ParsedPage, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
    """``pattern.finditer(page.text)``: from the first words of a phrase list, else the page's search."""
    led = _led_iter(page, pattern)
    if led is not None:
        return led
    return (hit.match for hit in page.search(pattern))


# --- phrase lists: matches start at the first word of a phrase ---------------------------------

MAY_MATCH_FROM = 16  # first-word places beyond which a list asks page.may_match before trying them
MIN_LEAD = 2  # one-letter first words ("a") occur everywhere: such lists keep the windowed search
_LEADS: dict[tuple[str, int], frozenset[str]] = {}  # (source, flags) of a phrase-list pattern -> first words
_NOT_AFTER_WORD = "(?<!\\w)"
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOKENS = re.compile(r"\{[^}]*\}~?|\[[^\]]*\]|\S+")  # the phrase tokens of textmatch.phrase_pattern


def phrase_leads(phrases: Iterable[str]) -> frozenset[str] | None:
    """The case-folded first words of the phrases: every match of ``compile_phrases(phrases)`` starts
    with one of them (textmatch syntax: a first ``{a|b}`` gives both, ``word~`` the word). None when
    a phrase starts with an optional word or a gap, or a first word is shorter than MIN_LEAD."""
    out: set[str] = set()
    for phrase in phrases:
        if not phrase.strip():
            continue  # compile_phrases skips it
        first = _TOKENS.findall(phrase)[0]
        if first == "*" or first.startswith("["):
            return None
        body = first[:-1] if first.endswith("~") else first
        braced = body.startswith("{") and body.endswith("}")
        alts = [a for a in body[1:-1].split("|") if a] if braced else [body]
        if not alts:
            return None
        for alt in alts:
            words = alt.split()
            lead = words[0] if words else ""
            if len(lead) < MIN_LEAD or lead.count("'") > 3:
                return None
            parts = lead.split("'")
            variants = [parts[0]]
            for part in parts[1:]:  # an apostrophe in a phrase matches ' and ’
                variants = [v + sep + part for v in variants for sep in ("'", "’")]
            out.update(fold(v) for v in variants)
    return frozenset(out) if out else None


class _LeadIndex:
    """Every registered first word in one automaton (rebuilt when a rule pack adds words)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.words: frozenset[str] = frozenset()
        self.version = 0
        self._automaton: Any = None
        self._list: list[str] = []  # the words in the automaton's order
        # (number, every list learnt, word -> the lists it is a first word of): replaced as a whole
        self.lists: tuple[int, frozenset[frozenset[str]], dict[str, tuple[frozenset[str], ...]]] = (
            0, frozenset(), {})

    def learn(self, words: frozenset[str]) -> None:
        with self._lock:
            if not words <= self.words:
                self.words = self.words | words
                self.version += 1
                self._automaton = None
            number, known, of_word = self.lists
            if words not in known:
                of_word = dict(of_word)
                for word in words:
                    of_word[word] = (*of_word.get(word, ()), words)
                self.lists = (number + 1, known | {words}, of_word)

    def word_starts(self, folded: str, text: str) -> tuple[int, dict[str, list[int]]]:
        """(version, where each known word starts in ``folded`` at the start of a word of ``text``:
        not after a ``\\w`` character, as the phrase patterns' "(?<!\\w)" wants). ``folded`` is
        ``fold(text)``, character for character."""
        with self._lock:
            if self._automaton is None and self.words:
                import ahocorasick_rs

                self._list = sorted(self.words)
                self._automaton = ahocorasick_rs.AhoCorasick(
                    self._list, matchkind=ahocorasick_rs.MatchKind.Standard,
                    implementation=ahocorasick_rs.Implementation.DFA)
            automaton, version, words = self._automaton, self.version, self._list
        where: dict[str, list[int]] = {}
        if automaton is not None and folded:
            try:
                found = automaton.find_matches_as_indexes(folded, overlapping=True)
            except UnicodeEncodeError:  # a lone surrogate: one character for another, offsets kept
                found = automaton.find_matches_as_indexes(_SURROGATE.sub("\ufffd", folded), overlapping=True)
            get = where.get
            for i, at, _ in found:
                # re's \w is str.isalnum() or "_" (one character; neither pattern is ASCII-only)
                if at and (text[at - 1].isalnum() or text[at - 1] == "_"):
                    continue
                word = words[i]
                starts = get(word)
                if starts is None:
                    where[word] = [at]
                else:
                    starts.append(at)
        return version, where


_INDEX = _LeadIndex()  # words of the rule packs' phrase lists (compiled data, never page data)
# id(pattern) -> (the pattern, its first words or None): the per-call lookup of _leads_of, without
# hashing a tuple of the pattern's source (compiled rule-pack data, like _LEADS)
_BY_ID: dict[int, tuple[Any, frozenset[str] | None]] = {}


def register(pattern: re.Pattern[str] | None, phrases: Iterable[str]) -> re.Pattern[str] | None:
    """Note that ``pattern`` is ``compile_phrases(phrases)`` (or the same phrases by language)."""
    # textmatch's phrase patterns start with "(?<!\w)" (Unicode \w): only word starts are tried
    if isinstance(pattern, re.Pattern) and pattern.pattern.startswith(_NOT_AFTER_WORD) \
            and not pattern.flags & re.ASCII:
        leads = phrase_leads(phrases)
        if leads is not None:
            if len(_LEADS) > 4096:
                _LEADS.clear()
            _LEADS[(pattern.pattern, pattern.flags)] = leads
            _INDEX.learn(leads)
            _BY_ID.pop(id(pattern), None)
    return pattern


_UNLED: set[tuple[str, int]] = set()  # patterns found to have no usable first words


def _leads_of(pattern: re.Pattern[str] | Any) -> frozenset[str] | None:
    """The first words of a phrase-list pattern: registered, or learnt the first time a page asks
    about a pattern textmatch compiled from phrases (``compile_phrases``, ``compile_by_lang`` …);
    None for any other pattern."""
    got = _BY_ID.get(id(pattern))
    if got is not None and got[0] is pattern:
        return got[1]
    leads = _leads_read(pattern)
    if len(_BY_ID) > 4096:
        _BY_ID.clear()
    _BY_ID[id(pattern)] = (pattern, leads)  # the pattern kept: its id stays its own
    return leads


def _leads_read(pattern: re.Pattern[str] | Any) -> frozenset[str] | None:
    if not isinstance(pattern, re.Pattern):
        return None
    key = (pattern.pattern, pattern.flags)
    leads = _LEADS.get(key)
    if leads is None and key not in _UNLED:
        items = phrases_of(pattern)
        if items is not None:
            register(pattern, items)
            leads = _LEADS.get(key)
        if leads is None:
            if len(_UNLED) > 4096:
                _UNLED.clear()
            _UNLED.add(key)
    return leads


def phrases(items: Sequence[str]) -> re.Pattern[str] | None:
    """``compile_phrases(items)``, its first words registered."""
    return register(compile_phrases(items), items)


def phrases_all(table: Mapping[str, Sequence[str]] | None) -> re.Pattern[str] | None:
    """``compile_all(table)``, its first words registered."""
    return register(compile_all(table), [p for items in (table or {}).values() for p in items])


def phrases_tagged(table: Mapping[str, Sequence[str]] | None) -> re.Pattern[str] | None:
    """``compile_tagged(table)``, its first words registered."""
    return register(compile_tagged(table), [p for items in (table or {}).values() for p in items])


def phrases_by_lang(table: Mapping[str, Sequence[str]] | None) -> dict[str, re.Pattern[str]]:
    """``compile_by_lang(table)``, the first words of each language's pattern registered."""
    out = compile_by_lang(table)
    for lang, pattern in out.items():
        register(pattern, (table or {}).get(lang, ()))
    return out


def first_words(items: Iterable[str]) -> frozenset[str] | None:
    """:func:`phrase_leads` of a phrase list, learnt by the automaton: for a pattern built around
    ``compile_phrases(items)`` that must match at a line's start (``^(?:…)``), see :func:`led_lines`."""
    leads = phrase_leads(items)
    if leads is not None:
        _INDEX.learn(leads)
    return leads


def line_starts(page: ParsedPage) -> list[int]:
    """Where each of ``page.lines`` starts in ``page.text`` (the lines joined by "\\n")."""
    shared = page.shared
    got: list[int] | None = shared.get("line_starts")
    if got is None:
        got = []
        at = 0
        for line in page.lines:
            got.append(at)
            at += len(line) + 1
        shared["line_starts"] = got
    return got


def led_lines(page: ParsedPage, leads: frozenset[str] | None) -> set[int] | None:
    """Indexes of the page's lines that start with one of ``leads`` (None: no leads, every line may):
    a pattern anchored at a line's start whose matches start with those words matches no other line."""
    if leads is None:
        return None
    out: set[int] = set()
    starts = _lead_starts(page, leads)
    if starts:
        lines = line_starts(page)  # increasing: the line holding a lead is found by bisection
        for at in starts:
            i = bisect.bisect_right(lines, at) - 1
            if lines[i] == at:
                out.add(i)
    return out


def has_file_input(page: ParsedPage) -> bool:
    """Whether any ``<input type="file">`` is on the page (as ``find("input", attrs={"type": "file"})``
    compares it), once per page: without one, no form of the page holds one."""
    shared = page.shared
    got: bool | None = shared.get("file_input")
    if got is None:
        got = shared["file_input"] = any(tag.get("type") == "file" for tag in page.named("input"))
    return got


class _PageLeads:
    """Where the learnt first words start words of one page (one automaton pass a page), and which
    learnt lists have one there: a list that has none is answered by one set lookup."""

    __slots__ = ("here", "known", "number", "per_set", "present", "version", "where")

    def __init__(self, number: int, version: int, where: dict[str, list[int]],
                 known: frozenset[frozenset[str]], of_word: dict[str, tuple[frozenset[str], ...]]) -> None:
        self.number = number  # of _INDEX.lists when ``here`` was made
        self.version = version  # of the automaton that found ``where``
        self.where = where  # word -> where it starts a word of the text, in order
        self.present = frozenset(where)
        here: set[frozenset[str]] = set()  # the learnt lists with a first word on the page
        for word in where:
            here.update(of_word.get(word, ()))
        self.here = here
        self.known = known  # every list learnt (a list not in it is learnt before it is asked about)
        self.per_set: dict[frozenset[str], list[int]] = {}  # list -> where its words start, sorted


def _page_leads(page: ParsedPage) -> _PageLeads:
    """The page's lead state, made again when a rule pack taught the index new words or lists."""
    shared = page.shared
    state: _PageLeads | None = shared.get("leads")
    lists = _INDEX.lists  # read before the automaton: the version it gives holds these lists' words
    if state is None or state.number != lists[0] or state.version != _INDEX.version:
        if state is not None and state.version == _INDEX.version:
            where = state.where  # only new lists of known words: no second pass
            version = state.version
        else:
            version, where = _INDEX.word_starts(page.folded_text, page.text)
        state = shared["leads"] = _PageLeads(lists[0], version, where, lists[1], lists[2])
    return state


def leads_of(pattern: re.Pattern[str] | Any) -> frozenset[str] | None:
    """The first words a phrase-list pattern's matches start with (None: not a phrase list)."""
    return _leads_of(pattern)


def live(page: ParsedPage, items: Sequence[tuple[str, re.Pattern[str]]],
         leads: Sequence[frozenset[str] | None]) -> list[tuple[str, re.Pattern[str]]]:
    """The ``(key, pattern)`` items that may match on the page, in order (``leads``: :func:`leads_of`
    of each pattern): a phrase list none of whose first words starts a word of the page is left out
    (one set lookup each, one lead state a page)."""
    state = _page_leads(page)
    here, known = state.here, state.known
    return [item for item, words in zip(items, leads, strict=True)
            if words is None or words in here or words not in known]


def _lead_starts(page: ParsedPage, leads: frozenset[str]) -> list[int]:
    """Where a first word starts a word of the page (the phrase patterns' "(?<!\\w)"), sorted; once
    per page and word list (a frozenset keeps its hash: the lookup costs no pass over the words)."""
    state = _page_leads(page)
    known = state.per_set.get(leads)
    if known is not None:
        return known
    if leads not in state.known:  # not learnt yet (its words may not be in the automaton)
        _INDEX.learn(leads)
        state = _page_leads(page)
    if leads not in state.here:
        out: list[int] = []
    else:
        where = state.where
        found = [where[word] for word in leads & state.present]  # in C, over the smaller set
        # a position twice is tried once (_tried_at)
        out = found[0] if len(found) == 1 else sorted(itertools.chain.from_iterable(found))
    state.per_set[leads] = out
    return out


def search_in(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """``pattern.search(text)`` for any string (a link's text, a product name): a registered phrase
    list is tried only where one of its first words starts a word of ``text``."""
    leads = _leads_of(pattern)
    if leads is None:
        return pattern.search(text)
    _, where = _INDEX.word_starts(fold(text), text)
    starts = sorted(at for word, found in where.items() if word in leads for at in found)
    match = pattern.match
    for at in starts:  # the leftmost position where a match starts is search's
        m = match(text, at)
        if m is not None:
            return m
    return None


def _led_iter(page: ParsedPage, pattern: re.Pattern[str]) -> Iterator[re.Match[str]] | None:
    """``pattern.finditer(page.text)``, the pattern tried only where a first word of its phrases
    starts; None when the pattern is not a registered phrase list."""
    leads = _leads_of(pattern)
    if leads is None:
        return None
    state = _page_leads(page)
    if leads not in state.here and leads in state.known:  # most lists miss most pages
        return iter(())
    starts = _lead_starts(page, leads)
    if not starts:
        return iter(())
    if len(starts) > MAY_MATCH_FROM:  # many places to try: first the page's anchor-word test
        shared = page.shared
        may: bool | None = _memo(shared, "may", pattern)
        if may is None:
            may = page.may_match(pattern)
            shared[("may", id(pattern))] = (pattern, may)
        if not may:
            return iter(())
    return _tried_at(page.text, pattern, starts)


def finditer_between(page: ParsedPage, pattern: re.Pattern[str], pos: int,
                     endpos: int) -> Iterator[re.Match[str]]:
    """``pattern.finditer(page.text, pos, endpos)`` (a window: the text ends at ``endpos``, lookbehind
    sees before ``pos``): a registered phrase list is tried only where its first words start."""
    leads = _leads_of(pattern)
    if leads is None:
        return pattern.finditer(page.text, pos, endpos)
    starts = _lead_starts(page, leads)
    if not starts:
        return iter(())
    lo, hi = bisect.bisect_left(starts, max(pos, 0)), bisect.bisect_left(starts, endpos)
    return _tried_at(page.text, pattern, starts[lo:hi], endpos)


def _tried_at(text: str, pattern: re.Pattern[str], starts: list[int],
              endpos: int | None = None) -> Iterator[re.Match[str]]:
    """What ``finditer`` gives when only ``starts`` can begin a match: it tries each position from the
    left, takes the match there (lookbehind sees the text before it) and goes on after its end. A
    match holds its first word (MIN_LEAD characters or more), so none is empty."""
    last = 0
    match = pattern.match
    stop = len(text) if endpos is None else endpos
    for at in starts:
        if at < last:
            continue  # inside the previous match, or tried already
        last = at + 1
        m = match(text, at, stop)
        if m is not None:
            yield m
            last = m.end()


def _led_matches(page: ParsedPage, pattern: re.Pattern[str], limit: int) -> list[re.Match[str]] | None:
    """The first ``limit`` matches of :func:`_led_iter`, or None."""
    led = _led_iter(page, pattern)
    return None if led is None else list(itertools.islice(led, limit))


class Control(NamedTuple):
    """A button, input or link of a page, with what the rules read of it (a tuple: a page builds
    hundreds, and a frozen dataclass costs a microsecond each to build)."""

    tag: Element
    text: str  # its text, whitespace collapsed ("" for an input: rules read its attributes)
    path: str | None  # the path of its href (None: no string href, it does not parse, or no path word)


_URL_DROPPED = str.maketrans("", "", "\t\r\n")  # what urlsplit removes from a URL before splitting it
_FOLDED_WORDS: dict[tuple[str, int], re.Pattern[str]] = {}  # (source, flags) -> its twin on folded text


def literal_words(words: Sequence[str]) -> re.Pattern[str] | None:
    """``re.compile("|".join(map(re.escape, words)), re.IGNORECASE)`` (None when empty), its twin kept:
    the folded words without IGNORECASE, run on the folded string (an ignore-case alternation
    without a common first letter tries every position at several microseconds an href)."""
    if not words:
        return None
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    if len(_FOLDED_WORDS) > 1024:
        _FOLDED_WORDS.clear()
    _FOLDED_WORDS[(pattern.pattern, pattern.flags)] = re.compile("|".join(re.escape(fold(w)) for w in words))
    return pattern


def path_of(href: str) -> str | None:
    """``urlsplit(href).path`` (None when urlsplit refuses it): an href without a scheme or a host
    (it starts with one "/", or holds no ":") and without characters urlsplit removes is split at
    its fragment and query directly, as urlsplit splits it; any other goes through urlsplit."""
    if href and href[0] > " " and not href.startswith("//") and (href[0] == "/" or ":" not in href) \
            and "\t" not in href and "\n" not in href and "\r" not in href:
        return href.split("#", 1)[0].split("?", 1)[0]
    try:
        return urlsplit(href).path
    except ValueError:
        return None


def controls(page: ParsedPage, path_words: re.Pattern[str] | None,
             paths: dict[str, str | None] | None = None) -> list[Control]:
    """The page's first MAX_CONTROLS buttons, inputs and links, in document order.

    The path of an href is split out only when the href holds one of ``path_words`` (the words
    a path pattern needs): a path is part of its href, so no other path can match that pattern.
    ``paths`` may keep the answer for each href across the pages of a site (for these path_words).
    """
    shared = page.shared
    got = shared.get(("controls", id(path_words)))
    if got is not None and got[0] is path_words:
        known: list[Control] = got[1]
        return known
    folded = _FOLDED_WORDS.get((path_words.pattern, path_words.flags)) if path_words is not None else None
    out: list[Control] = []
    append = out.append
    new = tuple.__new__  # what Control(tag, text, path) runs, without its Python-level __new__
    for tag in page.named("button", "input", "a")[:MAX_CONTROLS]:
        text = "" if tag.name == "input" else " ".join(tag.get_text(" ").split())
        path: str | None = None
        href = tag.attrs.get("href") if path_words is not None else None
        if path_words is not None and isinstance(href, str):
            href = href.strip()
            if paths is not None and href in paths:
                path = paths[href]
            else:
                # translate is slow (a dict lookup per character): most hrefs hold none of the characters
                bare = href.translate(_URL_DROPPED) if "\t" in href or "\n" in href or "\r" in href else href
                if folded.search(fold(bare)) if folded is not None else path_words.search(bare):
                    path = path_of(href)
                if paths is not None:
                    paths[href] = path
        append(new(Control, (tag, text, path)))
    shared[("controls", id(path_words))] = (path_words, out)
    return out
