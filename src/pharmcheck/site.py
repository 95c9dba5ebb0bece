"""A parsed view of a snapshot that rule modules share.

Every page is parsed once for its text (lxml, target mode) and once for its markup (lexbor, see
:mod:`pharmcheck.pageview`) and reduced to visible text,
links, forms, JSON-LD and language, so each rule reads the same facts and no rule
parses HTML again. Nothing here touches the network; nothing executes page content.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urljoin, urlsplit

from pharmcheck.anchors import fold as _fold
from pharmcheck.anchors import required_literals
from pharmcheck.findings import Evidence, Finding, Outcome, Severity
from pharmcheck.knowledge import Knowledge
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
FEED_CHUNK = 32_768  # characters fed to the lxml text pass at a time (granularity of the tag cut)
JUDGE_BUDGET_S = 20.0  # CPU seconds of judging per site (a real site: well under 1 s); then rules stop
EXCERPT_RADIUS = 90

_INVISIBLE = ("script", "style", "noscript", "template", "svg", "head", "iframe", "object")
_LD_JSON = re.compile("ld\\+json", re.I)
_BLOCK = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")


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


class _TextCollector:
    """lxml parser target (SAX-style): no tree is built, so no nesting depth limit can hide text."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.hidden = 0
        self.tags = 0  # start tags seen (to cut the HTML given to BeautifulSoup)
        self.depth = 0
        self.max_depth = 0  # deepest nesting seen (the markup parser's cost grows with its square)

    def start(self, tag: str, attrib: object) -> None:
        self.tags += 1
        self.depth += 1
        if self.depth > self.max_depth:
            self.max_depth = self.depth
        if tag in _INVISIBLE:
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def end(self, tag: str) -> None:
        self.depth = max(0, self.depth - 1)
        if tag in _INVISIBLE:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def data(self, text: str) -> None:
        if not self.hidden:
            self.parts.append(text)  # bounded by the body size; cut to MAX_TEXT_CHARS after the pass

    def comment(self, text: str) -> None:
        pass

    def close(self) -> str:
        return "".join(self.parts)


def visible_lines(html: str) -> list[str]:
    """The text a browser would show, as lines (one per block element); never raises on hostile markup.

    Parsed with lxml in target mode, which is several times faster than a second
    BeautifulSoup parse and, unlike an lxml tree, keeps text nested deeper than 256 levels.
    Block elements and ``<br>`` end a line; inline elements (``<b>no prescription</b> needed``)
    stay on their line.
    """
    return _extract(html).lines


@dataclass
class _Extract:
    lines: list[str]
    soup_end: int  # characters of HTML to give BeautifulSoup (where MAX_SOUP_TAGS was reached)
    text_capped: bool


def _extract(html: str) -> _Extract:
    """One lxml target pass: visible lines, and where the HTML reaches MAX_SOUP_TAGS start tags."""
    import lxml.etree

    limit = min(len(html), MAX_SOUP_CHARS)
    if not html.strip():
        return _Extract([], limit, False)
    collector = _TextCollector()
    parser = lxml.etree.HTMLParser(target=collector, recover=True)
    soup_end = limit
    try:
        for at in range(0, len(html), FEED_CHUNK):
            parser.feed(html[at : at + FEED_CHUNK])
            too_many = collector.tags > MAX_SOUP_TAGS or collector.max_depth > MAX_MARKUP_DEPTH
            if too_many and soup_end == limit:
                soup_end = min(limit, at + FEED_CHUNK)
        raw = parser.close()
    except (lxml.etree.LxmlError, ValueError):
        raw = collector.close()
    text = str(raw)
    capped = len(text) > MAX_TEXT_CHARS
    if capped:  # keep the head and the tail: footers name the operator
        text = text[: MAX_TEXT_CHARS - TEXT_TAIL_CHARS] + "\n" + text[-TEXT_TAIL_CHARS:]
    out = []
    for line in text.split("\n"):
        line = _BLOCK.sub(" ", line).strip()
        if line:
            out.append(line)
    return _Extract(out, soup_end, capped)


class AnchorIndex:
    """Every anchor word of the rule pack's patterns in one Aho-Corasick automaton (pyahocorasick).

    One pass over a page's text finds which anchors occur; a pattern none of whose anchors occurs
    is not run on that page. Anchors are learnt as rules ask (the first page of a process checks
    new ones with ``str.find``) and the automaton is rebuilt before the next page. One index per
    rule pack (``Knowledge.cache``), shared by the threads that judge with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: frozenset[str] = frozenset()
        self._pending: set[str] = set()
        self._automaton: Any = None

    def learn(self, anchors: frozenset[str]) -> None:
        if not anchors <= self._known:
            with self._lock:
                self._pending |= anchors - self._known

    def present(self, hay: str) -> tuple[frozenset[str], set[str]]:
        """(anchors the automaton knows, those of them that occur in ``hay``)."""
        with self._lock:
            if self._pending:
                import ahocorasick  # type: ignore[import-not-found,unused-ignore]

                self._known = self._known | self._pending
                self._pending = set()
                automaton = ahocorasick.Automaton()
                for word in self._known:
                    automaton.add_word(word, word)
                automaton.make_automaton()
                self._automaton = automaton
            automaton, known = self._automaton, self._known
        found: set[str] = set()
        if automaton is not None and hay:
            for _, word in automaton.iter(hay):
                found.add(word)
        return known, found


class ParsedPage:
    def __init__(self, page: Page, site_domain: str, index: AnchorIndex | None = None,
                 link_cache: dict[tuple[str, str], tuple[str, str] | None] | None = None) -> None:
        self.page = page
        self.url = page.url
        self.kind = page.kind
        self._site_domain = site_domain
        self._may: dict[re.Pattern[str], bool] = {}  # may_match answers
        self._index = index or AnchorIndex()
        self._link_cache = link_cache if link_cache is not None else {}
        self._present: dict[bool, tuple[frozenset[str], set[str]]] = {}  # folded? -> (covered, found)

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
        return PageMarkup(html[: self._extract.soup_end])

    @property
    def elements(self) -> list[Element]:
        """Every element in document order: one traversal that all rules share."""
        return self.soup.elements

    @property
    def _by_name(self) -> dict[str, list[Element]]:
        return self.soup.by_name

    def named(self, *names: str) -> list[Element]:
        """Elements with one of ``names``, in document order (``soup.find_all(names)``)."""
        if len(names) == 1:
            return self._by_name.get(names[0], [])
        wanted = set(names)
        return [t for t in self.elements if t.name in wanted]

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

        Extracted with lxml directly (several times faster than a second BeautifulSoup
        parse): invisible elements are dropped, block elements and ``<br>`` end a line,
        inline elements (``<b>no prescription</b> needed``) stay on their line.
        """
        return self._extract.lines

    @cached_property
    def text(self) -> str:
        """Visible text on one line per block, joined by newlines (regexes use \\s to cross them)."""
        return "\n".join(self.lines)

    def excerpt(self, start: int, end: int, radius: int = EXCERPT_RADIUS) -> str:
        text = self.text
        a = max(0, start - radius)
        b = min(len(text), end + radius)
        # widen to word boundaries
        while a > 0 and not text[a - 1].isspace() and start - a < radius + 20:
            a -= 1
        while b < len(text) and not text[b].isspace() and b - end < radius + 20:
            b += 1
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
        try:
            absolute = urljoin(self.url, href).split("#", 1)[0]
            parts = urlsplit(absolute)
            if parts.scheme in ("http", "https") and parts.hostname:
                result = (absolute, registered_domain(parts.hostname))
        except ValueError:
            result = None
        if len(cache) > 20_000:
            cache.clear()
        cache[key] = result
        return result

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
        """The text folded as ``re.IGNORECASE`` compares it (for :meth:`may_match`)."""
        return fold(self.text)

    def may_match(self, pattern: re.Pattern[str]) -> bool:
        """False only when ``pattern`` certainly has no match in ``text`` (see :func:`anchors`)."""
        known = self._may.get(pattern)
        if known is None:
            wanted = anchors(pattern) if isinstance(pattern, re.Pattern) else None  # RE2: no prefilter
            if wanted is None:
                known = True
            else:
                folded = bool(pattern.flags & re.IGNORECASE)
                hay = self._folded if folded else self.text
                self._index.learn(wanted)
                entry = self._present.get(folded)
                if entry is None:
                    entry = self._present[folded] = self._index.present(hay)
                covered, found = entry
                known = not wanted.isdisjoint(found) or any(a in hay for a in wanted - covered)
            self._may[pattern] = known
        return known

    def search(self, pattern: re.Pattern[str]) -> Iterator[Hit]:
        if not self.may_match(pattern):
            return
        for m in pattern.finditer(self.text):
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

_ANCHORS: dict[tuple[str, int], frozenset[str] | None] = {}


def fold(text: str) -> str:
    """Case folding as ``re.IGNORECASE`` compares characters (see :func:`pharmcheck.anchors.fold`)."""
    return _fold(text)


def anchors(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """The literals one of which any match contains, or None when no useful set is known."""
    key = (pattern.pattern, pattern.flags)
    if key in _ANCHORS:
        return _ANCHORS[key]
    result = required_literals(pattern.pattern, pattern.flags)
    if len(_ANCHORS) > 4096:
        _ANCHORS.clear()
    _ANCHORS[key] = result
    return result
