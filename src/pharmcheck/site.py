"""A parsed view of a snapshot that rule modules share.

Every page is parsed once (lexbor, see :mod:`pharmcheck.pageview`; the text of a page past the
markup caps comes from a linear tag stripper) and reduced to visible text,
links, forms, JSON-LD and language, so each rule reads the same facts and no rule
parses HTML again. Nothing here touches the network; nothing executes page content.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import threading
import time
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from html import unescape as _unescape
from itertools import islice
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from pharmcheck import linkres as _linkres
from pharmcheck import shapetable
from pharmcheck.anchors import Choice, Shape, required_literals
from pharmcheck.anchors import fold as _fold
from pharmcheck.findings import Evidence, Finding, Outcome, Severity
from pharmcheck.knowledge import Knowledge
from pharmcheck.leads import leading_literals
from pharmcheck.pageview import Element, PageMarkup
from pharmcheck.snapshot import Page, Snapshot
from pharmcheck.urls import registered_domain

# --- bounds on the work of judging one page (hostile pages are the reason) -------------------
# The crawler already caps each body (options.DEFAULT_MAX_BYTES, 3 MB) and the page count. These
# caps bound what is done with a body; a page that hits one gets a note in the report's errors.
MAX_TEXT_CHARS = 200_000  # visible text kept per page (a real page has 5–50k): every rule scans it
TEXT_TAIL_CHARS = 50_000  # of which the page's last characters (footers carry address and licence)
MAX_SOUP_CHARS = 1_000_000  # HTML given to the markup parser (links, forms, controls, JSON-LD)
MAX_MARKUP_DEPTH = 1_000  # nesting given to the markup parser (real pages: < 100); cut like MAX_SOUP_TAGS
MAX_SOUP_TAGS = 20_000  # start tags given to the markup parser (a real page has 1–5k): the HTML is cut there
MAX_SITE_HTML_CHARS = 4_000_000  # HTML judged per site (a real 12-page site has ~1 MB); later pages skipped
FEED_CHUNK = 32_768  # granularity of the markup cut (characters; it was the lxml text pass's feed size)
MAX_TEXT_TAGS = 40_000  # tags of a page past the markup caps read block by block (a real page has 1–10k):
TEXT_TAIL_TAGS = 10_000  # the first 30k and these last 10k; in the middle of more, every tag ends a line
JUDGE_BUDGET_S = 20.0  # CPU seconds of judging per site (a real site: well under 1 s); then rules stop
EXCERPT_RADIUS = 90

WINDOW_GAP = 32  # windows of a regex scan closer than this are scanned as one (a call costs ~ 30 chars)
WINDOW_COVER = 0.8  # windows covering more than this share of the text: the whole text is scanned
WINDOW_CALL = 32  # what a window costs beyond its characters, in characters scanned (a call of finditer)
# texts shorter than this take windows around every anchor of a pattern (``_anchor_parts``); longer
# ones choose the pattern's rarest required parts on the page (``_parts``: weighing the choices costs
# more than it saves on a short text; scanning short texts whole cost more still: dev corpus, 745
# pages, all under this size: whole-text scans 1.2 s of 6.4 s judging CPU)
WINDOW_MIN_TEXT = 16_000
LEAD_SCANS = True  # patterns whose matches start with known words are tried only where those start
WINDOW_DIGIT_SPACING = 64  # digit runs closer than this on average: digit windows would cover the text

_INVISIBLE = ("script", "style", "noscript", "template", "svg", "head", "iframe", "object")
_LD_JSON = re.compile("ld\\+json", re.I)
_BLOCK = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_BLOCK_CHARS = "\t\r\f\v\u00a0\u200b"  # _BLOCK's characters but the space
# the runs of _BLOCK that are not a single space (those ``_BLOCK.sub(" ", …)`` leaves as they are): each
# match is a whole run, since one is tried at a run's start first and fails only on a lone space
_BLOCK_RUNS = re.compile(r"[\t\r\f\v\u00a0\u200b][ \t\r\f\v\u00a0\u200b]*| [ \t\r\f\v\u00a0\u200b]+")
_SPACE_RUNS = re.compile(r"\s\s+")
_SPACE = re.compile(r"\s")
_RUN_TO_END = re.compile(r"\S*\Z")  # with endpos: the non-space run that ends there (maybe empty)
_DIGIT_RUNS = re.compile(r"\d+")
_ASCII_DIGIT_RUNS = re.compile(r"[0-9]+")  # the same on ASCII text, and faster
_NEWLINE = re.compile("\n")
_CR = re.compile("\r\n?")
_NEWLINE_RUNS = re.compile("\n\n+")


@dataclass
class Link:
    url: str  # absolute, fragment removed
    text: str
    same_site: bool
    images: list[str] = field(default_factory=list)  # src and alt of images inside the link


@dataclass
class Form:
    action: str  # absolute
    method: str
    has_password: bool = False


@dataclass
class Hit:
    page: ParsedPage
    match: re.Match[str]

    @property
    def excerpt(self) -> str:
        return self.page.excerpt(self.match.start(), self.match.end())

    def evidence(self) -> Evidence:
        return Evidence(self.page.url, self.excerpt)


_BLOCK_TAGS = frozenset(
    [
     "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4", "h5", "h6",
     "br", "address", "section", "article", "footer", "header", "nav", "aside", "main", "form",
     "fieldset", "dd", "dt", "dl", "blockquote", "pre", "hr", "option", "label", "button",
     "figcaption", "caption", "tbody", "thead",
    ]
)


def visible_lines(html: str) -> list[str]:
    """The text a browser would show, as lines (one per block element); never raises on hostile markup.

    Block elements and ``<br>`` end a line; inline elements (``<b>no prescription</b> needed``)
    stay on their line; text inside invisible elements (``<script>``, ``<head>`` …) and comments
    is dropped. An ordinary page is parsed once with lexbor (its tree also serves the markup view);
    the text of a page past the markup caps comes from a linear tag stripper (see :func:`_extract`).
    """
    return _extract(html).lines


@dataclass
class _Extract:
    lines: list[str]
    soup_end: int  # characters of HTML to give BeautifulSoup (where MAX_SOUP_TAGS was reached)
    text_capped: bool
    tree: LexborHTMLParser | None = None  # the lexbor parse of html[:soup_end], when one was made


def _tag_ids(names: Iterable[str]) -> frozenset[int]:
    maker = LexborHTMLParser("")
    return frozenset(maker.create_node(name).tag_id for name in names)


# lexbor's numbers for the tags the text pass tells apart (node kinds 0–5: text, comment, doctype …)
_BLOCK_IDS = _tag_ids(_BLOCK_TAGS)
_INVISIBLE_IDS = _tag_ids(_INVISIBLE)
_TEMPLATE_ID = next(iter(_tag_ids(["template"])))
_TEXT_ID = 2
_LAST_NODE_KIND = 5
_BLOCK_START = re.compile("<(?:" + "|".join(sorted(_BLOCK_TAGS)) + r")[\s/>]", re.I)
_VOID = frozenset(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                   "track", "wbr", "param", "keygen"])
_PARSE_FIRST_TAGS = 4_000  # up to this many "<" a page is parsed before its tags are scanned
_SCAN_WINDOW = 65_536  # characters of HTML read at a time by _markup_scan
_TAG_NAME = re.compile(r"<(/?)([a-zA-Z][^\t\n\f\r />]*)")
_DEPTH_MARGIN = 100  # the tree's nesting below which no markup cap applies (parsers nest odd shapes apart)


_LOWER_TO_ASCII = ("\u0130", "\u212a")  # the only non-ASCII characters whose lower case holds ASCII


def _tag_names(html: str) -> list[tuple[str, str]]:
    """``_TAG_NAME.findall(html.lower())``. Lower-casing a long non-ASCII text costs ~6 ns a character;
    without "İ" and the Kelvin sign, lower-casing maps ASCII to ASCII and the rest to non-ASCII of the
    same length, so the tags are found at the same places in ``html`` and only their names need it
    (a name is lower-cased as in the text: the "<" before it and the delimiter after it are neither
    cased nor case-ignorable, so a final sigma reads the same context)."""
    if html.isascii() or any(c in html for c in _LOWER_TO_ASCII):
        return _TAG_NAME.findall(html.lower())
    return [(close, name.lower()) for close, name in _TAG_NAME.findall(html)]


class _Nesting:
    """A cheap reading of start and end tags (no tree): void elements do not nest and an end tag
    closes only a name that is open."""

    def __init__(self) -> None:
        self.tags = self.depth = self.deepest = 0
        self.open_names: dict[str, int] = {}

    def read(self, html: str, stop: bool) -> int | None:
        """Read the tags of ``html``; with ``stop``, the index of the tag that passes MAX_SOUP_TAGS or
        MAX_MARKUP_DEPTH (then stop)."""
        open_names = self.open_names
        tags, depth, deepest = self.tags, self.depth, self.deepest  # locals: ~20k tags a window
        most_tags, most_depth = MAX_SOUP_TAGS, MAX_MARKUP_DEPTH
        found = None
        for i, (close, name) in enumerate(_tag_names(html)):
            if close:
                if open_names.get(name):
                    open_names[name] -= 1
                    depth -= 1
                continue
            tags += 1
            if name not in _VOID:
                open_names[name] = open_names.get(name, 0) + 1
                depth += 1
                if depth > deepest:
                    deepest = depth
            if stop and (tags > most_tags or deepest > most_depth):
                found = i
                break
        self.tags, self.depth, self.deepest = tags, depth, deepest
        return found


class _Unraw:
    """``html`` without comments and raw-text elements (``<script>`` …: a "<" in them is no tag),
    with the map from offsets in the result back to offsets in ``html``."""

    def __init__(self, html: str, raw: bool = True) -> None:
        pieces: list[str] = []
        self.starts: list[int] = [0]  # offset in the result where each kept piece starts
        self.origins: list[int] = [0]  # and in ``html``
        at = kept = 0
        for m in _STRIP_RAW.finditer(html) if raw else ():  # ``raw`` False: none in ``html``
            pieces.append(html[at : m.start()])
            kept += m.start() - at
            at = m.end()
            self.starts.append(kept)
            self.origins.append(at)
        pieces.append(html[at:])
        self.text = "".join(pieces)

    def origin(self, offset: int) -> int:
        i = bisect_right(self.starts, offset) - 1
        return self.origins[i] + offset - self.starts[i]

    def offset(self, origin: int) -> int:
        i = bisect_right(self.origins, origin) - 1
        return self.starts[i] + max(0, min(origin - self.origins[i],
                                           (self.starts[i + 1] if i + 1 < len(self.starts)
                                            else len(self.text)) - self.starts[i]))


def _markup_scan(html: str, raw: bool = True) -> tuple[int | None, int]:
    """(offset of the tag that passes MAX_SOUP_TAGS or MAX_MARKUP_DEPTH or None, deepest nesting up
    to the end of the FEED_CHUNK holding that tag: what the markup parser would meet)."""
    unraw = _Unraw(html, raw)
    text = unraw.text
    reader = _Nesting()
    start = 0
    while start < len(text):  # windows that end before a "<": no tag is split, no more read than needed
        stop = len(text) if len(text) - start <= _SCAN_WINDOW else max(
            start + 1, text.rfind("<", start + 1, start + _SCAN_WINDOW))
        window = text[start:stop]
        index = reader.read(window, stop=True)
        if index is not None:
            found = next(islice(_TAG_NAME.finditer(window), index, None), None)
            cut = unraw.origin(start + (found.start() if found else 0))
            chunk_end = unraw.offset((cut // FEED_CHUNK + 1) * FEED_CHUNK)
            reader.read(text[unraw.offset(cut) + 1 : chunk_end], stop=False)
            return cut, reader.deepest
        start = stop
    return None, reader.deepest


def _lexbor_text(tree: LexborHTMLParser) -> tuple[str, int]:
    """(the visible text of a lexbor tree with a newline at each block start and end, its nesting).

    Start and end of every element in document order, as an HTML parser reports them: text inside
    invisible elements is dropped but block elements inside them still end a line; comments are
    skipped.
    """
    root = tree.root
    parts: list[str] = []
    add = parts.append
    hidden = deepest = 0
    stack: list[tuple[LexborNode, int]] = []
    node: LexborNode | None = root
    while True:
        if node is None:
            if not stack:
                break
            parent, tid = stack.pop()
            if tid in _INVISIBLE_IDS:
                hidden -= 1
            elif tid in _BLOCK_IDS:
                add("\n")
            node = parent.next
            continue
        tid = node.tag_id
        if tid == _TEXT_ID:
            if not hidden:
                add(node.text_content or "")
            node = node.next
            continue
        if tid <= _LAST_NODE_KIND:  # comment, doctype
            node = node.next
            continue
        if tid in _INVISIBLE_IDS:
            if tid == _TEMPLATE_ID and _BLOCK_START.search(node.html or ""):
                add("\n")  # lexbor keeps a template's content outside the tree
            hidden += 1
        elif tid in _BLOCK_IDS:
            add("\n")
        child = node.first_child
        if child is None:
            if tid in _INVISIBLE_IDS:
                hidden -= 1
            elif tid in _BLOCK_IDS:
                add("\n")
            node = node.next if stack else None
            continue
        stack.append((node, tid))
        if len(stack) > deepest:
            deepest = len(stack)
        node = child
    return "".join(parts), deepest


def _lines(text: str) -> tuple[list[str], bool]:
    capped = len(text) > MAX_TEXT_CHARS
    if capped:  # keep the head and the tail: footers name the operator
        text = text[: MAX_TEXT_CHARS - TEXT_TAIL_CHARS] + "\n" + text[-TEXT_TAIL_CHARS:]
    if "  " in text or any(c in text for c in _BLOCK_CHARS):  # 5 pages in 6 have no run to collapse
        text = _BLOCK_RUNS.sub(" ", text)  # ``_BLOCK.sub(" ", text)``; no newline: as if line by line
    if text.count("\n\n") > len(text) // 3:  # mostly empty lines (deep nesting): drop them in one pass
        text = _NEWLINE_RUNS.sub("\n", text)
    return [line for line in map(str.strip, text.split("\n")) if line], capped


# --- the text of a page past the markup caps: a linear tag stripper (no tree, no nesting cost) ---
# It reads tags as an HTML tokenizer does for ordinary markup (comments, raw-text elements, quoted
# attribute values); on all the saved corpora it gives the same lines as the tree. Every quantifier
# consumes what it scans, so no input makes it backtrack.
def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


_ATTRS = r"(?:[^>\"']++|\"[^\"]*+\"?|'[^']*+'?)*+>?"
_STRIP_RAW = re.compile("<(?:!--.*?(?:--!?>|\\Z)|" + "|".join(  # one "<" first: re scans for it
    f"{_any_case(n)}(?=[\\t\\n\\f />]){_ATTRS}.*?(?:</{_any_case(n)}[\\t\\n\\f ]*>|\\Z)"
    for n in ("script", "style", "iframe")) + ")", re.S)
_STRIP_HIDDEN = re.compile("<(?:" + "|".join(
    f"{_any_case(n)}(?=[\\t\\n\\f />]){_ATTRS}(?P<{n}>.*?)(?:</{_any_case(n)}[\\t\\n\\f ]*>|\\Z)"
    for n in ("noscript", "template", "svg", "head", "object")) + ")", re.S)


def _trie(words: list[str]) -> str:
    """A regex alternation of ``words`` (ASCII letters and digits) as a trie, any case (fast in ``re``)."""
    heads: dict[str, list[str]] = {}
    for w in words:
        heads.setdefault(w[:1], []).append(w[1:])
    alts = []
    for head, rests in sorted(heads.items()):
        if head == "":
            continue
        more = [r for r in rests if r]
        sub = _trie(more) if more else ""
        if more and "" in rests:
            sub = f"(?:{sub})?"
        alts.append(_any_case(head) + sub)
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


_STRIP_BLOCK = re.compile("</?" + _trie(sorted(_BLOCK_TAGS)) + r"(?=[\t\n\f />])"
                          r"(?:[^>\"']++|\"[^\"]*+\"?|'[^']*+'?)*+>?")
_ROUGH_TAG = re.compile(r"<[a-zA-Z/!?][^>]*+>?")  # quotes not read: for the middle of a tag flood
_STRIP_TAG = re.compile(r"<(?:/?[a-zA-Z](?:[^>\"']++|\"[^\"]*+\"?|'[^']*+'?)*+|[!?/][^>]*+)>?")


def _hidden_repl(m: re.Match[str]) -> str:
    inner = next(g for g in m.groups() if g is not None)
    return "\n" if _BLOCK_START.search(inner) else ""  # its block elements still end a line


def _without_raw(html: str, raw: bool = True) -> str:
    """``html`` without comments and the content of ``<script>``, ``<style>`` and ``<iframe>``."""
    if "\r" in html:  # as an HTML tokenizer reads line ends
        html = _CR.sub("\n", html)  # "\r\n" and a lone "\r" (one pass: twice faster than two replace)
    if "\x00" in html:
        html = html.replace("\x00", "\ufffd")
    return _STRIP_RAW.sub("", html) if raw else html  # ``raw`` False: no comment, script … in ``html``


def _stripped_text(html: str, raw_done: bool = False, every_tag_ends_a_line: bool = False,
                   hidden: bool = True) -> str:
    """Visible text of ``html`` with a newline at each block start and end, without a tree (with
    ``every_tag_ends_a_line``, at every tag: one cheap pass for the middle of a tag flood)."""
    text = html if raw_done else _without_raw(html)
    if hidden:  # False: no invisible element in ``html`` (see _plain_markup)
        text = _STRIP_HIDDEN.sub(_hidden_repl, text)
    if every_tag_ends_a_line:
        text = _ROUGH_TAG.sub("\n", text)
    else:
        text = _STRIP_BLOCK.sub("\n", text)
        text = _STRIP_TAG.sub("", text)
    if "&" in text:
        if len(text) > 2 * MAX_TEXT_CHARS:  # decoding is Python work per entity: only what _lines keeps
            text = text[: 2 * (MAX_TEXT_CHARS - TEXT_TAIL_CHARS)] + "\n" + text[-2 * TEXT_TAIL_CHARS:]
        text = _unescape(text)
    return text


_NTH_CHUNK = 262_144  # characters of HTML counted at a time by _nth_from


def _nth_from(html: str, n: int, tail: bool) -> int:
    """Offset of the ``n``-th "<" of ``html`` (from the end when ``tail``); ``html`` holds at least ``n``.

    The "<" are counted chunk by chunk (``str.count``) up to the chunk holding the ``n``-th, which alone is
    split: splitting the whole page made a string per tag and a copy of the page."""
    if tail:
        stop = len(html)
        while stop > _NTH_CHUNK:
            k = html.count("<", stop - _NTH_CHUNK, stop)
            if k >= n:
                break
            n -= k
            stop -= _NTH_CHUNK
        start = max(0, stop - _NTH_CHUNK)
        return start + len(html[start:stop].rsplit("<", n)[0])
    start = 0
    while len(html) - start > _NTH_CHUNK:
        k = html.count("<", start, start + _NTH_CHUNK)
        if k >= n:
            break
        n -= k
        start += _NTH_CHUNK
    chunk = html[start : start + _NTH_CHUNK]
    return start + len(chunk) - len(chunk.split("<", n)[-1]) - 1


def _soup_end(html: str, limit: int, raw: bool = True) -> int:
    """Characters of ``html`` the markup view reads: up to ``limit``, or to the end of the FEED_CHUNK
    in which MAX_SOUP_TAGS or MAX_MARKUP_DEPTH is passed (or right at that tag when the chunk would
    nest deeper than 2 * MAX_MARKUP_DEPTH: lexbor's cost grows with the square of the nesting)."""
    if html.count("<", 0, limit) <= min(MAX_SOUP_TAGS, MAX_MARKUP_DEPTH):
        return limit
    cut, deepest = _markup_scan(html[:limit], raw)
    if cut is None:
        return limit
    chunk_end = min(limit, (cut // FEED_CHUNK + 1) * FEED_CHUNK)
    return cut if chunk_end < len(html) and deepest > 2 * MAX_MARKUP_DEPTH else chunk_end


# Start tags of the elements whose passes above remove something (comments, raw-text and invisible
# elements), as lower-case ASCII: an ASCII page none of them occurs in (any case) skips those passes.
_MARKERS = ("<!--", "<script", "<style", "<iframe", "<noscript", "<template", "<svg", "<head", "<object")


@lru_cache(maxsize=1)
def _marker_automaton() -> Any:
    import ahocorasick_rs

    # a DFA: nine short words, built once; it reads a 3 MB tag flood in 3.5 ms instead of 5.3
    return ahocorasick_rs.BytesAhoCorasick([m.encode() for m in _MARKERS],
                                           implementation=ahocorasick_rs.Implementation.DFA)


def _plain_markup(html: str) -> bool:
    """True when ``html`` is ASCII and holds no comment and no start tag of a raw-text or invisible
    element in any case (one automaton pass over the lower-cased bytes; the regex passes cost ~50 ns
    per "<" each, and a tag flood has 300k of them). Lower-casing ASCII only maps A-Z to a-z, so a
    marker the passes would find is found here; removing nothing, they cannot make one appear."""
    if not html.isascii():
        return False
    found = _marker_automaton().find_matches_as_indexes(html.lower().encode("ascii"))
    return not found


ROUGH_CHUNK = 262_144  # characters of a tag flood's middle given to the rough pass at a time


def _rough_ends(middle: str, before: int, after: int) -> str:
    """``_ROUGH_TAG.sub("\\n", middle)``, or a stand-in that :func:`_lines` reads the same way when the
    page's text (``before`` characters, this, ``after`` characters) is longer than MAX_TEXT_CHARS: its
    first characters and last ones, as many as the text window keeps, with a "\\n" between.

    The pass is cut only right after a ">": a rough tag starting before it ends there at the latest
    (it runs to its first ">"), so the pieces' passes join into the whole one. A 300k-tag flood is read
    at both ends instead of through its middle, which the text window drops anyway."""
    head_needed = MAX_TEXT_CHARS - TEXT_TAIL_CHARS + 1 - before  # more than the window's head holds
    tail_needed = TEXT_TAIL_CHARS - after
    front: list[str] = []
    got = start = 0
    while start < len(middle) and got < head_needed:
        end = middle.find(">", start + ROUGH_CHUNK) + 1 or len(middle)
        front.append(_ROUGH_TAG.sub("\n", middle[start:end]))
        got += len(front[-1])
        start = end
    back: list[str] = []
    got = 0
    stop = len(middle)
    while stop > start and got < tail_needed:
        begin = max(start, middle.rfind(">", start, max(start, stop - ROUGH_CHUNK)) + 1)
        back.append(_ROUGH_TAG.sub("\n", middle[begin:stop]))
        got += len(back[-1])
        stop = begin
    if stop > start:  # a middle left unread: the window keeps neither it nor the "\n" standing for it
        return "".join(front) + "\n" + "".join(reversed(back))
    return "".join(front) + "".join(reversed(back))


def _extract(html: str) -> _Extract:
    """Visible lines, and how much of the HTML the markup view reads (MAX_SOUP_TAGS, MAX_MARKUP_DEPTH).

    A page within the markup caps is parsed once with lexbor; the tree gives the text and serves
    the markup view. A page past them gets a lexbor parse of its HTML up to the cap (when the markup
    view is asked for) and, unless it has few tags, its text from a linear tag stripper (past its
    first MAX_TEXT_TAGS - TEXT_TAIL_TAGS tags and before its last TEXT_TAIL_TAGS, every tag ends a
    line: one cheap pass, so a tag flood costs little more than its size).
    """
    limit = min(len(html), MAX_SOUP_CHARS)
    if not html or html.isspace():  # ``not html.strip()`` without a copy of the page
        return _Extract([], limit, False)
    if html.count("<") <= _PARSE_FIRST_TAGS:
        # few tags: parse the page, and scan its tags only when the tree is deep (its nesting is
        # what a markup cap could cut; this many tags nest too little to cost lexbor much)
        tree = LexborHTMLParser(html)
        text, deepest = _lexbor_text(tree)
        soup_end = limit if deepest <= MAX_MARKUP_DEPTH - _DEPTH_MARGIN else _soup_end(html, limit)
        lines, capped = _lines(text)
        return _Extract(lines, soup_end, capped, tree if soup_end == len(html) else None)
    plain = _plain_markup(html)  # no comment, raw-text or invisible element: skip their passes
    soup_end = _soup_end(html, limit, not plain)
    if soup_end == len(html):
        tree = LexborHTMLParser(html)
        lines, capped = _lines(_lexbor_text(tree)[0])
        return _Extract(lines, soup_end, capped, tree)
    markup = _without_raw(html, not plain)  # "<" in scripts is no tag
    count = markup.count("<")
    if count > MAX_TEXT_TAGS:
        head = _nth_from(markup, MAX_TEXT_TAGS - TEXT_TAIL_TAGS, tail=False)
        tail = _nth_from(markup, TEXT_TAIL_TAGS, tail=True)
        hidden = not plain
        first = _stripped_text(markup[:head], True, hidden=hidden)
        last = _stripped_text(markup[tail:], True, hidden=hidden)
        middle = markup[head:tail]
        if plain and "&" not in middle:  # its text is the rough pass alone: only what _lines keeps
            text = first + "\n" + _rough_ends(middle, len(first) + 1, len(last) + 1) + "\n" + last
        else:
            text = "\n".join((first, _stripped_text(middle, True, every_tag_ends_a_line=True, hidden=hidden),
                              last))
    else:
        text = _stripped_text(markup, True, hidden=not plain)
    lines, capped = _lines(text)
    return _Extract(lines, soup_end, capped, None)


class AnchorIndex:
    """Every anchor word of the rule pack's patterns in one Aho-Corasick automaton (ahocorasick-rs).

    One pass over a page's text finds where the anchors occur; a pattern none of whose anchors occurs
    is not run on that page, and one that is runs only in windows around them. Anchors are learnt as
    rules ask (the first page of a process finds new ones with ``str.find``) and the automaton is
    rebuilt before the next page. One index per rule pack (``Knowledge.cache``), shared by the threads
    that judge with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: frozenset[str] = frozenset()
        self._pending: set[str] = set()
        self._automaton: Any = None
        self._words: list[str] = []
        self._builds = 0  # automata built so far
        # anchor sets asked for -> the build from which the automaton holds all of them (a frozenset
        # caches its hash: one lookup instead of a subset test of up to MAX_ANCHORS words per page)
        self._learnt: dict[frozenset[str], int] = {}

    def learn(self, anchors: frozenset[str]) -> int:
        """Add ``anchors`` to the next automaton; the number of the first build that holds them all."""
        at = self._learnt.get(anchors)
        if at is None:
            with self._lock:
                if anchors <= self._known:
                    at = self._builds
                else:
                    self._pending |= anchors - self._known
                    at = self._builds + 1  # the next build takes every pending word
            if len(self._learnt) >= 8192:
                self._learnt.clear()
            self._learnt[anchors] = at
        return at

    def present(self, hay: str) -> tuple[frozenset[str], set[str]]:
        """(anchors the automaton knows, those of them that occur in ``hay``)."""
        known, where = self.occurrences(hay)
        return known, set(where)

    def occurrences(self, hay: str) -> tuple[frozenset[str], dict[str, list[int]]]:
        """(anchors the automaton knows, where each of them that occurs in ``hay`` starts)."""
        known, where, _ = self.scan(hay)
        return known, where

    def scan(self, hay: str) -> tuple[frozenset[str], dict[str, list[int]], int]:
        """:meth:`occurrences` and the number of the build that found them (see :meth:`learn`)."""
        with self._lock:
            if self._pending:
                import ahocorasick_rs

                self._builds += 1
                self._known = self._known | self._pending
                self._pending = set()
                self._words = sorted(self._known)
                self._automaton = ahocorasick_rs.AhoCorasick(
                    self._words, matchkind=ahocorasick_rs.MatchKind.Standard,
                    implementation=ahocorasick_rs.Implementation.ContiguousNFA)
            automaton, known, words, build = self._automaton, self._known, self._words, self._builds
        where: dict[str, list[int]] = {}
        if automaton is not None and hay:
            for i, start, _ in automaton.find_matches_as_indexes(hay, overlapping=True):
                word = words[i]
                starts = where.get(word)
                if starts is None:
                    where[word] = [start]
                else:
                    starts.append(start)
        return known, where, build


_UNSET: Any = object()  # not computed yet


class ParsedPage:
    def __init__(self, page: Page, site_domain: str, index: AnchorIndex | None = None,
                 link_cache: dict[tuple[str, str], tuple[str, str] | None] | None = None) -> None:
        self.page = page
        self.url = page.url
        self.kind = page.kind
        self._site_domain = site_domain
        # per pattern, keyed by id (a compiled pattern hashes its whole code: ~15 us for a phrase list):
        # [the pattern (kept, so its id stays its own), may_match, lead starts, windows]
        self._by_pattern: dict[int, list[Any]] = {}
        self._index = index or AnchorIndex()
        self._link_cache = link_cache if link_cache is not None else {}
        # folded? -> (anchors the automaton knew, where those found start, its build number)
        self._present: dict[bool, tuple[frozenset[str], dict[str, list[int]], int]] = {}
        self._digit_cache: dict[int, list[tuple[int, int]] | None] = {}  # runs of k+ digits

    @cached_property
    def _extract(self) -> _Extract:
        return _extract(self.page.html or "")

    @cached_property
    def notes(self) -> list[str]:
        """Which work caps this page hit (shown in the report's errors): judged on part of it."""
        return [f"{self.url}: {cut['skipped']}" for cut in self.truncation]

    @cached_property
    def truncation(self) -> list[dict[str, Any]]:
        """What caps cut from judging this page (``Report.truncated`` entries)."""
        out: list[dict[str, Any]] = []
        html = self.page.html or ""
        if self.page.truncated:
            out.append({"cap": "body_bytes", "url": self.url,
                        "skipped": "body cut at the size limit (the rest was not fetched)"})
        if self._extract.soup_end < len(html):
            cut_by_tags = self._extract.soup_end < MAX_SOUP_CHARS
            why = (f"{MAX_SOUP_TAGS} elements or {MAX_MARKUP_DEPTH} levels of nesting" if cut_by_tags
                   else f"{MAX_SOUP_CHARS} characters")
            out.append({"cap": "markup", "url": self.url,
                        "skipped": f"markup read up to {why} (links, forms and controls after it ignored)"})
        if self._extract.text_capped:
            out.append({"cap": "text_window", "url": self.url,
                        "skipped": f"text read in part (first {MAX_TEXT_CHARS - TEXT_TAIL_CHARS} and last "
                                   f"{TEXT_TAIL_CHARS} characters)"})
        return out

    @cached_property
    def soup(self) -> PageMarkup:
        """The markup (one lexbor parse), cut at MAX_SOUP_CHARS characters or MAX_SOUP_TAGS start tags."""
        html = self.page.html or ""
        return PageMarkup(html[: self._extract.soup_end], tree=self._extract.tree)

    @property
    def elements(self) -> list[Element]:
        """Every element in document order: one traversal that all rules share."""
        return self.soup.elements

    def named(self, *names: str) -> list[Element]:
        """Elements with one of ``names``, in document order (``soup.find_all(names)``)."""
        if len(names) == 1:
            return self.soup.named(names[0])
        return self.soup.named_any(names)

    @cached_property
    def jsonld(self) -> list[Any]:
        out: list[Any] = []
        for tag in self.named("script"):
            kind = tag.get("type")
            if not (isinstance(kind, str) and _LD_JSON.search(kind)):
                continue
            try:
                out.append(json.loads(tag.get_text() or "null"))
            except (ValueError, RecursionError):
                continue
        return out

    @cached_property
    def lang(self) -> str:
        html = self.soup.find("html")
        if html is not None:
            value = html.get("lang") or html.get("xml:lang") or ""
            if isinstance(value, str):
                return value.split("-")[0].strip().lower()
        return ""

    @cached_property
    def title(self) -> str:
        t = self.soup.find("title")
        return " ".join(t.get_text().split()) if t else ""

    @cached_property
    def lines(self) -> list[str]:
        """Visible text as lines (one per block element), whitespace collapsed.

        From the page's lexbor tree (see :func:`_extract`): invisible elements are dropped, block
        elements and ``<br>`` end a line, inline elements (``<b>no prescription</b> needed``) stay
        on their line.
        """
        return self._extract.lines

    @cached_property
    def text(self) -> str:
        """Visible text on one line per block, joined by newlines (regexes use \\s to cross them)."""
        return "\n".join(self.lines)

    def excerpt(self, start: int, end: int, radius: int = EXCERPT_RADIUS) -> str:
        text = self.text
        n = len(text)
        a = max(0, start - radius)
        b = min(n, end + radius)
        # widen to word boundaries, by at most 20 characters more (``\s`` is ``str.isspace``): back to
        # where the non-space run ending at ``a`` starts, on to the first space from ``b``
        low = max(0, start - radius - 20)
        if a > low:
            a = _RUN_TO_END.search(text, low, a).start()  # type: ignore[union-attr]  # it always matches
        high = min(n, end + radius + 20)
        if b < high:
            space = _SPACE.search(text, b, high)
            b = space.start() if space is not None else high
        return ("…" if a > 0 else "") + " ".join(text[a:b].split()) + ("…" if b < len(text) else "")

    def _resolve(self, href: str) -> tuple[str, str] | None:
        """(absolute URL without fragment, its registered domain) of an http(s) link, else None.

        Navigation repeats on every page of a site: hrefs whose result depends only on the page's
        origin (``/path``, ``https://host/…``) are resolved once per site (``Site`` shares the cache).
        """
        if href.startswith(("http://", "https://")):
            key = ("", href)
        elif href.startswith("/") and not href.startswith("//"):
            key = (self._origin, href)
        else:
            key = (self.url, href)
        cache = self._link_cache
        if key in cache:
            return cache[key]
        result: tuple[str, str] | None = None
        got = _linkres.resolve(self._base, href)  # urljoin's result, without urljoin for plain hrefs
        if got is not None:
            result = (got[0], registered_domain(got[1]))
        if len(cache) > 20_000:
            cache.clear()
        cache[key] = result
        return result

    @cached_property
    def _base(self) -> _linkres.Base:
        return _linkres.Base(self.url)

    @cached_property
    def _origin(self) -> str:
        try:
            parts = urlsplit(self.url)
        except ValueError:
            return self.url
        return f"{parts.scheme}://{parts.netloc}"

    @cached_property
    def links(self) -> list[Link]:
        out: list[Link] = []
        for a in self.named("a"):
            href = a.get("href")
            if not isinstance(href, str):
                continue
            href = href.strip().replace("\\", "/")  # browsers read "https:\\host\\x" as "https://host/x"
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
                continue
            resolved = self._resolve(href)
            if resolved is None:
                continue
            absolute, domain = resolved
            images = []
            for img in a.find_all("img"):
                for attr in ("src", "alt", "title"):
                    v = img.get(attr)
                    if isinstance(v, str) and v:
                        images.append(v)
            out.append(
                Link(
                    url=absolute,
                    text=" ".join(a.get_text(" ").split())[:200],
                    same_site=domain == self._site_domain,
                    images=images,
                )
            )
        return out

    @cached_property
    def forms(self) -> list[Form]:
        out = []
        for f in self.named("form"):
            action = f.get("action")
            action = action.strip() if isinstance(action, str) else ""
            method = f.get("method")
            out.append(
                Form(
                    action=urljoin(self.url, action) if action else self.url,
                    method=(method if isinstance(method, str) else "get").lower(),
                    has_password=f.find("input", attrs={"type": "password"}) is not None,
                )
            )
        return out

    @cached_property
    def _folded(self) -> str:
        """The text folded as ``re.IGNORECASE`` compares it (for :meth:`may_match`); same length as text."""
        return fold(self.text)

    def _anchor_starts(self, wanted: frozenset[str], folded: bool) -> dict[str, list[int]]:
        """Where each word of ``wanted`` occurring in the (folded) text starts (one automaton pass a page)."""
        hay = self._folded if folded else self.text
        learnt = self._index.learn(wanted)
        entry = self._present.get(folded)
        if entry is None:
            entry = self._present[folded] = self._index.scan(hay)
        covered, where, build = entry
        if len(where) < len(wanted):
            out = {a: starts for a, starts in where.items() if a in wanted}
        else:
            out = {a: where[a] for a in wanted if a in where}
        if learnt <= build:  # this page's automaton held every word of ``wanted``
            return out
        for a in wanted - covered:  # learnt after this page's pass: str.find (first pages of a process)
            starts = []
            at = hay.find(a)
            while at >= 0:
                starts.append(at)
                at = hay.find(a, at + 1)
            if starts:
                out[a] = starts
        return out

    def word_starts(self, words: Iterable[str], folded: bool = True) -> dict[str, list[int]]:
        """Where each of ``words`` occurs in the text (all occurrences, overlapping ones too), from the
        page's one automaton pass; ``folded``: compared as ``re.IGNORECASE`` would (keys are then the
        folded words). Offsets are offsets of ``text``. Words shorter than 1 character are ignored."""
        wanted = frozenset(fold(w) if folded else w for w in words if w)
        return self._anchor_starts(wanted, folded) if wanted else {}

    def may_match(self, pattern: re.Pattern[str]) -> bool:
        """False only when ``pattern`` certainly has no match in ``text`` (see :func:`anchors`)."""
        entry = self._by_pattern.get(id(pattern))
        if entry is None:
            entry = self._by_pattern[id(pattern)] = [pattern, None, _UNSET, _UNSET]
        known: bool | None = entry[1]
        if known is None:
            got = pattern_shape(pattern)
            if got is None or got.anchors is None or got.digit:  # digit runs are not looked up here
                known = True
            else:
                known = self._any_present(got.anchors, got.folded)
            entry[1] = known
        return known

    def _any_present(self, wanted: frozenset[str], folded: bool) -> bool:
        """``bool(self._anchor_starts(wanted, folded))``, without building the dict of starts."""
        learnt = self._index.learn(wanted)
        entry = self._present.get(folded)
        if entry is None:
            entry = self._present[folded] = self._index.scan(self._folded if folded else self.text)
        covered, where, build = entry
        if not where.keys().isdisjoint(wanted):  # iterates the smaller of the two
            return True
        if learnt <= build:  # this page's automaton held every word of ``wanted``
            return False
        hay = self._folded if folded else self.text
        return any(a in hay for a in wanted - covered)  # learnt after this page's pass

    def finditer(self, pattern: re.Pattern[str], pos: int = 0,
                 endpos: int | None = None) -> Iterator[re.Match[str]]:
        """The matches of ``pattern.finditer(self.text, pos, endpos)``, the same spans and groups, found by
        scanning only windows of the text around the places a match must include (anchor words, digits)."""
        text = self.text
        stop = len(text) if endpos is None else max(0, min(endpos, len(text)))
        entry = self._by_pattern.get(id(pattern))
        if entry is None:
            entry = self._by_pattern[id(pattern)] = [pattern, None, _UNSET, _UNSET]
        starts = entry[2]
        if starts is _UNSET:
            starts = entry[2] = self._lead_starts(pattern)
        if starts is not None:  # every match starts with a word found there: try only those places
            last = max(pos, 0)
            match = pattern.match
            for at in starts[bisect.bisect_left(starts, last) if last else 0:]:
                if at >= stop:
                    break
                if at < last:
                    continue  # inside the previous match
                m = match(text, at, stop)  # lookbehind sees the text before ``at``, as search's does
                if m is not None:
                    last = m.end()  # > at: a match holds its first word
                    yield m
            return
        plan = entry[3]
        if plan is _UNSET:
            plan = entry[3] = self._windows(pattern)
        if plan is None:
            yield from pattern.finditer(text, pos, stop)
            return
        last = max(pos, 0)
        at = bisect.bisect_left(plan, last, key=_last_start) if last else 0
        for first, final, end in plan[at:]:  # match starts in [first, final]; the scan may look up to end
            if first >= stop:
                break
            start = first if first > last else last
            if start > final:
                continue
            for m in pattern.finditer(text, start, end if end < stop else stop):
                if m.start() > final:
                    break
                last = m.end()
                yield m

    def _lead_starts(self, pattern: re.Pattern[str]) -> list[int] | None:
        """Every place a match of ``pattern`` may start (where one of its leading words starts, see
        :func:`pharmcheck.leads.leading_literals`), in order; None: no such words, or so many places
        that trying each costs more than a scan (then :meth:`_windows`)."""
        out: list[int] | None = None
        got = None
        if LEAD_SCANS and isinstance(pattern, re.Pattern):
            got = _leads_of(pattern.pattern, pattern.flags)
        if got is not None:
            if not self.may_match(pattern):  # memoised: none of its anchors here, so no match
                return []
            found = self._anchor_starts(got[0], got[1])
            if sum(map(len, found.values())) <= len(self.text) // max(WINDOW_GAP, 1) + 8:
                out = sorted({at for starts in found.values() for at in starts})
        return out

    def first(self, pattern: re.Pattern[str], pos: int = 0,
              endpos: int | None = None) -> re.Match[str] | None:
        """``pattern.search(self.text, pos, endpos)``, in windows (see :meth:`finditer`)."""
        return next(self.finditer(pattern, pos, endpos), None)

    def _windows(self, pattern: re.Pattern[str]) -> list[tuple[int, int, int]] | None:
        """Windows (first start, last start, end of scan) that hold every match; None: scan the text."""
        got = pattern_shape(pattern)
        if got is None or (got.anchors is None and not got.digit):
            return None  # no part every match must hold: the whole text
        text = self.text
        n = len(text)
        if not got.digit and not self.may_match(pattern):
            return []  # none of its anchors here (memoised per page)
        width, look = got.bound(self._space_run if got.needs_space_run else 0,
                                self._digit_run if got.needs_digit_run else 0)
        if look is None or (width is None and got.newline):
            return None
        parts = self._anchor_parts(got) if n < WINDOW_MIN_TEXT else self._parts(pattern, got)
        if parts is None:
            return None
        if not parts:
            return []
        starts_of_lines = self._line_starts if width is None else []
        cands: list[tuple[int, int]] = []
        for hi, need in parts:
            if width is None:  # no "\n" in a match: it starts on the line of the part
                cands.append((starts_of_lines[bisect.bisect_right(starts_of_lines, hi) - 1], hi))
            else:
                lo = need - width
                cands.append((lo if lo > 0 else 0, hi))
        cands.sort()
        merged: list[list[int]] = []
        for lo, hi in cands:
            if merged and lo <= merged[-1][1] + WINDOW_GAP:
                if hi > merged[-1][1]:
                    merged[-1][1] = hi
            else:
                merged.append([lo, hi])
        out: list[tuple[int, int, int]] = []
        covered = 0
        for lo, hi in merged:
            if width is None:
                i = bisect.bisect_right(starts_of_lines, hi)
                last_end = starts_of_lines[i] - 1 if i < len(starts_of_lines) else n
            else:
                last_end = hi + width
            end = min(n, last_end + look + 2)  # + 2: "$" and "\b" look at the next characters
            out.append((lo, hi, end))
            covered += end - lo
        return None if covered + len(out) * WINDOW_CALL > n * WINDOW_COVER else out

    def _anchor_parts(self, got: Shape) -> list[tuple[int, int]] | None:
        """:meth:`_parts` from the pattern's anchors (``got.anchors``, ``got.digit``: every match holds one
        of those words or such a run of digits) without weighing its choices: a short text has few hits,
        and weighing the choices of a phrase list costs more than the scans it saves there."""
        out: list[tuple[int, int]] = []
        if got.anchors is not None:
            for w, starts in self._anchor_starts(got.anchors, got.folded).items():
                k = len(w)
                out.extend([(at, at + k) for at in starts])
        if got.digit:
            k = got.digit
            runs = self._digit_spans(k)
            if runs is None:
                return None
            out.extend([(b - k, a + k) for a, b in runs])
        if len(out) > len(self.text) // max(WINDOW_GAP, 1) + 8:
            return None  # so many hits that the windows would cover the text
        return out

    def _parts(self, pattern: re.Pattern[str], got: Shape) -> list[tuple[int, int]] | None:
        """(last start, first end) of a match for each place a match must hold, by the cheapest of the
        pattern's choices on this page; [] when no match can be here; None: too many (scan the text).

        The choices are weighed only where the page holds one of their words (or where digits may
        serve): a choice none of whose words occur costs 0 and gives no place (see :class:`_Tree`)."""
        if got.choice is None:
            return None
        tree = _tree_of(pattern, got.choice)
        found = self._anchor_starts(got.choice_words, got.folded) if got.choice_words else {}
        costs: dict[int, float] = {}

        def cost(c: _Node) -> float:
            key = id(c)
            if key in costs:
                return costs[key]
            kind = c.kind
            if kind == _WORDS:
                value: float = sum(len(found[w]) for w in c.words if w in found)
            elif kind == _DIGITS:
                runs = self._digit_spans(c.k)
                value = math.inf if runs is None else len(runs)
            elif not c.digits and c.words.isdisjoint(found):
                value = 0
            elif kind == _ANY:
                value = math.inf
                for sub in c.subs:
                    got_cost = cost(sub)
                    if got_cost < value:
                        value = got_cost
                        if not value:
                            break
            else:
                value = 0
                for sub in c.live(found):
                    value += cost(sub)
            costs[key] = value
            return value

        total = cost(tree)
        if total > len(self.text) // max(WINDOW_GAP, 1) + 8:
            return None  # so many hits that the windows would cover the text: not worth building them
        out: list[tuple[int, int]] = []

        def collect(c: _Node) -> None:
            if not cost(c):
                return  # no word of it here, no digit run: no place
            kind = c.kind
            if kind == _WORDS:
                for w in c.words:
                    starts = found.get(w)
                    if starts:
                        k = len(w)
                        out.extend([(at, at + k) for at in starts])
            elif kind == _DIGITS:
                k = c.k
                out.extend([(b - k, a + k) for a, b in self._digit_spans(k) or ()])
            elif kind == _ANY:
                collect(min(c.subs, key=cost))
            else:
                for sub in c.live(found):
                    collect(sub)

        if total:
            collect(tree)
        return out

    @cached_property
    def _space_run(self) -> int:
        """The longest run of whitespace in the text (bounds ``\\s+``: lines are collapsed, so ~1)."""
        return max(map(len, _SPACE_RUNS.findall(self.text)), default=1)

    @cached_property
    def _digit_run(self) -> int:
        """The longest run of digits in the text (bounds ``\\d+``)."""
        text = self.text
        if text.isascii() and not any(d in text for d in "0123456789"):
            return 0
        return max(map(len, (_ASCII_DIGIT_RUNS if text.isascii() else _DIGIT_RUNS).findall(text)), default=0)

    def _digit_spans(self, k: int) -> list[tuple[int, int]] | None:
        """Runs of at least ``k`` digits, or None when there are so many that windows would not pay."""
        if k in self._digit_cache:
            return self._digit_cache[k]
        text = self.text
        spans: list[tuple[int, int]] = []
        out: list[tuple[int, int]] | None = spans
        if not (text.isascii() and not any(d in text for d in "0123456789")):
            most = len(text) // WINDOW_DIGIT_SPACING + 8
            runs = re.compile(("[0-9]{%d,}" if text.isascii() else r"\d{%d,}") % k)  # whole runs: greedy
            for m in runs.finditer(text):
                spans.append(m.span())
                if len(spans) > most:
                    out = None
                    break
        self._digit_cache[k] = out
        return out

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0, *(m.end() for m in _NEWLINE.finditer(self.text))]

    def search(self, pattern: re.Pattern[str]) -> Iterator[Hit]:
        """Hits of ``pattern`` in text order (as ``pattern.finditer(self.text)``, in windows)."""
        for m in self.finditer(pattern):
            yield Hit(self, m)

    # --- results several rule modules reuse on this page (e2, issue 10) ---------------------------
    @cached_property
    def shared(self) -> dict[Any, Any]:
        """Per-page results that rule modules compute once and share (drug-name hits, control texts …),
        keyed by the module that fills them; they live and die with the page (no module-level cache)."""
        return {}

    @property
    def folded_text(self) -> str:
        """The text case-folded as ``re.IGNORECASE`` compares it, character for character."""
        return self._folded


class Site:
    """The snapshot plus parsed pages and the rule pack: the single input of every rule."""

    def __init__(self, snapshot: Snapshot, kb: Knowledge, budget_s: float | None = None) -> None:
        self.snapshot = snapshot
        self._skipped: list[str] = []  # pages past MAX_SITE_HTML_CHARS
        self.kb = kb
        self.budget_s = JUDGE_BUDGET_S if budget_s is None else budget_s
        self._deadline = time.thread_time() + self.budget_s  # CPU time: a loaded machine cuts nothing more
        self.budget_cut: list[str] = []  # what the judging budget skipped (rules, pages)
        index = kb.cache.get("site.anchor_index")
        if not isinstance(index, AnchorIndex):
            index = kb.cache["site.anchor_index"] = AnchorIndex()
        self._anchor_index = index
        self._link_cache: dict[tuple[str, str], tuple[str, str] | None] = {}  # one site's resolved hrefs
        self.domain = snapshot.registered_domain or registered_domain(
            urlsplit(snapshot.final_url or snapshot.url).hostname or ""
        )

    @cached_property
    def pages(self) -> list[ParsedPage]:
        """Readable pages in crawl order (key pages first), until MAX_SITE_HTML_CHARS is spent:
        a site of many huge pages cannot buy itself minutes of judging after its fetch deadline."""
        out: list[ParsedPage] = []
        spent = 0
        self._skipped.clear()
        for p in self.snapshot.pages:
            if not (p.html and p.status and 200 <= p.status < 400):
                continue
            if spent >= MAX_SITE_HTML_CHARS:
                self._skipped.append(p.url)
                continue
            spent += len(p.html)
            out.append(ParsedPage(p, self.domain, self._anchor_index, self._link_cache))
        return out

    def search(self, pattern: re.Pattern[str], kinds: Iterable[str] | None = None) -> Iterator[Hit]:
        wanted = set(kinds) if kinds is not None else None
        for page in self.pages:
            if wanted is None or page.kind in wanted:
                if self.out_of_budget(f"a search on {page.url}"):
                    return
                yield from page.search(pattern)

    def out_of_budget(self, what: str) -> bool:
        """True once the judging budget is spent; ``what`` (the work not done) is recorded."""
        if time.thread_time() < self._deadline:
            return False
        if len(self.budget_cut) < 50:
            self.budget_cut.append(what)
        return True

    @property
    def truncation(self) -> list[dict[str, Any]]:
        """Everything a cap cut from judging (``Report.truncated``): the verdict rests on part of the site."""
        cuts = [c for p in self.pages for c in p.truncation]
        if self._skipped:
            first = self._skipped[0]
            cuts.append({"cap": "site_html", "url": first,
                         "skipped": f"{len(self._skipped)} page(s) not judged: the site's pages exceed "
                                    f"{MAX_SITE_HTML_CHARS} characters of HTML (first skipped: {first})"})
        if self.budget_cut:
            more = len(self.budget_cut) - 5
            cuts.append({"cap": "judging_budget", "url": "",
                         "skipped": f"judging stopped after {self.budget_s:g} s: "
                                    + "; ".join(self.budget_cut[:5])
                                    + (f" and {more} more" if more > 0 else "")})
        return cuts

    @property
    def notes(self) -> list[str]:
        """Work caps hit while judging (pages read so far), for the report's errors."""
        notes = [n for p in self.pages for n in p.notes]
        for cut in self.truncation:
            if cut["cap"] in ("site_html", "judging_budget"):
                notes.append(str(cut["skipped"]))
        return notes

    @cached_property
    def languages(self) -> list[str]:
        seen: dict[str, int] = {}
        for p in self.pages:
            if p.lang:
                seen[p.lang] = seen.get(p.lang, 0) + 1
        return sorted(seen, key=lambda k: -seen[k])

    def finding(
        self,
        rule_id: str,
        outcome: Outcome,
        message: str,
        evidence: Iterable[Evidence] = (),
        **data: Any,
    ) -> Finding:
        """A finding with name and severity from the rule pack (points come from scoring);
        ``result`` is its named outcome in the score table (``licence-absent`` …)."""
        meta = self.kb.rule(rule_id)
        result = str(data.pop("result", "") or "")
        return Finding(
            id=meta.id,
            name=meta.name,
            outcome=outcome,
            message=message,
            severity=Severity(meta.severity),
            evidence=list(evidence)[:5],
            data=dict(data),
            result=result,
        )


# --- a literal prefilter: skip a regex scan that cannot match ------------------------------
#
# Most rule patterns are alternations of phrases, each containing a literal word. Finding none of
# those words in the page proves the regex cannot match, which is most scans on most pages. The
# words come from pharmcheck.anchors (a reader of regex syntax, no private ``re`` API); the page is
# searched for all of them at once (AnchorIndex, Aho-Corasick); case-insensitive patterns compare
# folded text (anchors.fold).

def fold(text: str) -> str:
    """Case folding as ``re.IGNORECASE`` compares characters (see :func:`pharmcheck.anchors.fold`)."""
    return _fold(text)


def _last_start(window: tuple[int, int, int]) -> int:
    return window[1]


_WORDS, _DIGITS, _ANY, _ALL = range(4)


class _Node:
    """A node of a pattern's choice tree (:data:`pharmcheck.anchors.Choice`) with what a page needs to
    weigh it fast: every word below it, whether a run of digits is below it, and for an "all" node the
    parts that hold each word (a part without a present word and without digits costs 0)."""

    __slots__ = ("by_word", "digit_subs", "digits", "k", "kind", "subs", "words")

    def __init__(self, choice: Choice) -> None:
        tag = choice[0]
        self.subs: tuple[_Node, ...] = ()
        self.k = 0
        self.by_word: dict[str, list[int]] = {}
        self.digit_subs: list[int] = []
        if tag == "words":
            self.kind = _WORDS
            self.words: frozenset[str] = choice[1]
            self.digits = False
            return
        if tag == "digits":
            self.kind = _DIGITS
            self.k = choice[1]
            self.words = frozenset()
            self.digits = True
            return
        self.kind = _ANY if tag == "any" else _ALL
        self.subs = tuple(_Node(sub) for sub in choice[1])
        self.words = frozenset().union(*(sub.words for sub in self.subs))
        self.digits = any(sub.digits for sub in self.subs)
        if self.kind == _ALL:
            for i, sub in enumerate(self.subs):
                for w in sub.words:
                    self.by_word.setdefault(w, []).append(i)
                if sub.digits:
                    self.digit_subs.append(i)

    def live(self, found: dict[str, list[int]]) -> list[_Node]:
        """The parts of an "all" node that may cost more than 0 on a page where ``found`` occur."""
        subs, by_word = self.subs, self.by_word
        if len(found) * 4 > len(subs):
            return list(subs)
        picked = set(self.digit_subs)
        for w in found:
            at = by_word.get(w)
            if at:
                picked.update(at)
        return [subs[i] for i in sorted(picked)]


# Weighing trees by pattern source and flags: read once per process, like the pattern's shape (bounded;
# nothing of any page is kept).
_TREES: dict[tuple[str, int], _Node] = {}


def _tree_of(pattern: re.Pattern[str], choice: Choice) -> _Node:
    """The weighing tree of ``choice``, the choices of ``pattern``'s shape."""
    key = (pattern.pattern, pattern.flags)
    tree = _TREES.get(key)
    if tree is None:
        if len(_TREES) >= 4096:
            _TREES.clear()
        tree = _TREES[key] = _Node(choice)
    return tree


# A pattern's reading depends only on its source and flags: read once per process, as ``re`` caches
# compiled patterns (bounded; nothing of any page is kept); the built-in patterns' readings come
# from the table computed at build time (pharmcheck.shapetable).
_shape_of = lru_cache(maxsize=4096)(shapetable.shape)
_required_of = lru_cache(maxsize=4096)(required_literals)
_leads_of = lru_cache(maxsize=4096)(leading_literals)


def pattern_shape(pattern: re.Pattern[str]) -> Shape | None:
    """Anchors, width and lines of a ``re`` pattern (:func:`pharmcheck.anchors.shape`); None for RE2."""
    if not isinstance(pattern, re.Pattern):
        return None
    return _shape_of(pattern.pattern, pattern.flags)


def anchors(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """The literals one of which any match contains, or None when no useful set is known."""
    return _required_of(pattern.pattern, pattern.flags)
