"""A parsed view of a snapshot that rule modules share.

Every page is parsed once (BeautifulSoup with lxml) and reduced to visible text,
links, forms, JSON-LD and language, so each rule reads the same facts and no rule
parses HTML again. Nothing here touches the network; nothing executes page content.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from pharmcheck.findings import Evidence, Finding, Outcome, Severity
from pharmcheck.knowledge import Knowledge
from pharmcheck.snapshot import Page, Snapshot
from pharmcheck.urls import registered_domain

# --- bounds on the work of judging one page (hostile pages are the reason) -------------------
# The crawler already caps each body (options.DEFAULT_MAX_BYTES, 3 MB) and the page count. These
# caps bound what is done with a body; a page that hits one gets a note in the report's errors.
MAX_TEXT_CHARS = 200_000  # visible text kept per page (a real page has 5–50k): every rule scans it
TEXT_TAIL_CHARS = 50_000  # of which the page's last characters (footers carry address and licence)
MAX_SOUP_CHARS = 1_000_000  # HTML given to BeautifulSoup (links, forms, controls, JSON-LD)
MAX_SOUP_TAGS = 20_000  # start tags given to BeautifulSoup (a real page has 1–5k): the HTML is cut there
MAX_SITE_HTML_CHARS = 4_000_000  # HTML judged per site (a real 12-page site has ~1 MB); later pages skipped
FEED_CHUNK = 32_768  # characters fed to the lxml text pass at a time (granularity of the tag cut)
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

    def start(self, tag: str, attrib: object) -> None:
        self.tags += 1
        if tag in _INVISIBLE:
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def end(self, tag: str) -> None:
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
            if collector.tags > MAX_SOUP_TAGS and soup_end == limit:
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


class ParsedPage:
    def __init__(self, page: Page, site_domain: str) -> None:
        self.page = page
        self.url = page.url
        self.kind = page.kind
        self._site_domain = site_domain
        self._may: dict[re.Pattern[str], bool] = {}  # may_match answers

    @cached_property
    def _extract(self) -> _Extract:
        return _extract(self.page.html or "")

    @cached_property
    def notes(self) -> list[str]:
        """Which work caps this page hit (shown in the report's errors): judged on part of it."""
        out = []
        html = self.page.html or ""
        if self._extract.soup_end < len(html):
            cut_by_tags = self._extract.soup_end < MAX_SOUP_CHARS
            why = f"{MAX_SOUP_TAGS} elements" if cut_by_tags else f"{MAX_SOUP_CHARS} characters"
            out.append(f"{self.url}: markup read up to {why} (links, forms and controls after it ignored)")
        if self._extract.text_capped:
            out.append(f"{self.url}: text read in part (first {MAX_TEXT_CHARS - TEXT_TAIL_CHARS} and last "
                       f"{TEXT_TAIL_CHARS} characters)")
        return out

    @cached_property
    def soup(self) -> BeautifulSoup:
        """The page's markup, cut at MAX_SOUP_CHARS characters or MAX_SOUP_TAGS start tags."""
        html = self.page.html or ""
        return BeautifulSoup(html[: self._extract.soup_end], "lxml")

    @cached_property
    def elements(self) -> list[Tag]:
        """Every element of the soup in document order: one traversal that all rules share
        (instead of one ``soup.find_all`` pass per rule)."""
        return [t for t in self.soup.descendants if isinstance(t, Tag)]

    @cached_property
    def _by_name(self) -> dict[str, list[Tag]]:
        out: dict[str, list[Tag]] = {}
        for t in self.elements:
            out.setdefault(t.name, []).append(t)
        return out

    def named(self, *names: str) -> list[Tag]:
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
        if isinstance(html, Tag):
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
            try:
                absolute = urljoin(self.url, href).split("#", 1)[0]
                parts = urlsplit(absolute)
            except ValueError:
                continue
            if parts.scheme not in ("http", "https") or not parts.hostname:
                continue
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
                    same_site=registered_domain(parts.hostname) == self._site_domain,
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
            wanted = anchors(pattern)
            hay = self._folded if wanted and pattern.flags & re.IGNORECASE else self.text
            known = self._may[pattern] = wanted is None or any(a in hay for a in wanted)
        return known

    def search(self, pattern: re.Pattern[str]) -> Iterator[Hit]:
        if not self.may_match(pattern):
            return
        for m in pattern.finditer(self.text):
            yield Hit(self, m)


class Site:
    """The snapshot plus parsed pages and the rule pack: the single input of every rule."""

    def __init__(self, snapshot: Snapshot, kb: Knowledge) -> None:
        self.snapshot = snapshot
        self._skipped: list[str] = []  # pages past MAX_SITE_HTML_CHARS
        self.kb = kb
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
            out.append(ParsedPage(p, self.domain))
        return out

    def search(self, pattern: re.Pattern[str], kinds: Iterable[str] | None = None) -> Iterator[Hit]:
        wanted = set(kinds) if kinds is not None else None
        for page in self.pages:
            if wanted is None or page.kind in wanted:
                yield from page.search(pattern)

    @property
    def notes(self) -> list[str]:
        """Work caps hit while judging (pages read so far), for the report's errors."""
        notes = [n for p in self.pages for n in p.notes]
        if self._skipped:
            notes.append(f"{len(self._skipped)} page(s) not judged: the site's pages exceed "
                         f"{MAX_SITE_HTML_CHARS} characters of HTML (first skipped: {self._skipped[0]})")
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
# Most rule patterns are alternations of phrases, each containing a literal word. Finding
# none of those words with ``str.find`` (memchr speed) proves the regex cannot match, which
# is most scans on most pages. The test is exact: a pattern gets a prefilter only when every
# match must contain one of its anchors, and case-insensitive anchors are looked up in
# ``text.lower()`` only when that equals per-character simple case folding (the rule ``re``
# uses); texts with the few characters where they differ always get the full scan.

MIN_ANCHOR = 3  # shorter anchors hit nearly every page: not worth the lookup
MAX_ANCHORS = 400
_ANCHORS: dict[tuple[str, int], frozenset[str] | None] = {}


def _fold_classes() -> dict[int, str]:
    """Characters ``re.IGNORECASE`` treats as equal beyond simple lower case (ı/i, ſ/s, µ/μ …),
    each mapped to one representative of its class (``re._casefix`` lists them)."""
    from re import _casefix  # type: ignore[attr-defined]

    rep: dict[int, int] = {}
    for k, vs in _casefix._EXTRA_CASES.items():
        members = {k, *vs}
        for m in list(members):
            members.add(rep.get(m, m))
        low = min(members)
        for m in list(rep):
            if rep[m] in members:
                members.add(m)
        for m in members:
            rep[m] = low
    return {m: chr(r) for m, r in rep.items() if m != r}


_FOLD = _fold_classes()
_FOLD_NEEDED = re.compile("[" + re.escape("".join(map(chr, _FOLD))) + "]")


def fold(text: str) -> str:
    """Case folding as ``re.IGNORECASE`` compares characters, one character for one character:
    simple lower case (İ is lowered to a plain i, as ``re`` does), then one representative per
    class of equal characters."""
    low = text.replace("\u0130", "i").lower()
    return low.translate(_FOLD) if _FOLD_NEEDED.search(low) else low


def _required(items: Any, icase: bool) -> list[str] | None:
    """Literals one of which every match of the parsed sequence contains (None: unknown)."""
    from re import _constants as c  # type: ignore[attr-defined]

    best: list[str] | None = None
    run: list[str] = []

    def better(cand: list[str] | None) -> None:
        nonlocal best
        if not cand or min(len(a) for a in cand) < MIN_ANCHOR or len(cand) > MAX_ANCHORS:
            return
        if best is None or (min(len(a) for a in cand), -len(cand)) > (min(len(a) for a in best), -len(best)):
            best = cand

    for op, av in items:
        if op is c.LITERAL:
            ch = chr(av)
            low = fold(ch) if icase else ch
            if len(low) != 1:
                return None
            run.append(low)
            continue
        better(["".join(run)] if run else None)
        run = []
        if op is c.SUBPATTERN:
            if av[1] or av[2]:  # inline flags change the case rule
                return None
            better(_required(av[3], icase))
        elif op is c.BRANCH:
            alts: list[str] = []
            for alt in av[1]:
                got = _required(alt, icase)
                if got is None:
                    alts = []
                    break
                alts.extend(got)
            better(sorted(set(alts)) if alts else None)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            better(_required(av[2], icase))
    better(["".join(run)] if run else None)
    return best


def anchors(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """The literals one of which any match contains, or None when no useful set is known."""
    key = (pattern.pattern, pattern.flags)
    if key in _ANCHORS:
        return _ANCHORS[key]
    result: frozenset[str] | None = None
    if not pattern.flags & re.LOCALE:
        try:
            from re import _parser  # type: ignore[attr-defined]

            icase = bool(pattern.flags & re.IGNORECASE)
            got = _required(_parser.parse(pattern.pattern, pattern.flags), icase)
            result = frozenset(got) if got else None
        except Exception:  # an unparsable pattern simply gets no prefilter
            result = None
    if len(_ANCHORS) > 4096:
        _ANCHORS.clear()
    _ANCHORS[key] = result
    return result
