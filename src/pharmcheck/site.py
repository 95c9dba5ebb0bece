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

_INVISIBLE = ("script", "style", "noscript", "template", "svg", "head", "iframe", "object")
_BLOCK = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
MAX_TEXT_CHARS = 400_000  # per page: enough for any real pharmacy page, bounded for hostile ones
EXCERPT_RADIUS = 90


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
        self.size = 0
        self.hidden = 0

    def start(self, tag: str, attrib: object) -> None:
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
        if not self.hidden and self.size < MAX_TEXT_CHARS:
            self.parts.append(text)
            self.size += len(text)

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
    import lxml.etree

    if not html.strip():
        return []
    collector = _TextCollector()
    parser = lxml.etree.HTMLParser(target=collector, recover=True)
    try:
        parser.feed(html)
        raw = parser.close()
    except (lxml.etree.LxmlError, ValueError):
        raw = collector.close()
    out = []
    for line in str(raw)[:MAX_TEXT_CHARS].split("\n"):
        line = _BLOCK.sub(" ", line).strip()
        if line:
            out.append(line)
    return out


class ParsedPage:
    def __init__(self, page: Page, site_domain: str) -> None:
        self.page = page
        self.url = page.url
        self.kind = page.kind
        self._site_domain = site_domain

    @cached_property
    def soup(self) -> BeautifulSoup:
        return BeautifulSoup(self.page.html or "", "lxml")

    @cached_property
    def jsonld(self) -> list[Any]:
        out: list[Any] = []
        for tag in self.soup.find_all("script", attrs={"type": re.compile("ld\\+json", re.I)}):
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
        return visible_lines(self.page.html or "")

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
        for a in self.soup.find_all("a", href=True):
            href = a.get("href")
            if not isinstance(href, str):
                continue
            href = href.strip()
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
        for f in self.soup.find_all("form"):
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

    def search(self, pattern: re.Pattern[str]) -> Iterator[Hit]:
        for m in pattern.finditer(self.text):
            yield Hit(self, m)


class Site:
    """The snapshot plus parsed pages and the rule pack: the single input of every rule."""

    def __init__(self, snapshot: Snapshot, kb: Knowledge) -> None:
        self.snapshot = snapshot
        self.kb = kb
        self.domain = snapshot.registered_domain or registered_domain(
            urlsplit(snapshot.final_url or snapshot.url).hostname or ""
        )

    @cached_property
    def pages(self) -> list[ParsedPage]:
        return [
            ParsedPage(p, self.domain)
            for p in self.snapshot.pages
            if p.html and p.status and 200 <= p.status < 400
        ]

    def search(self, pattern: re.Pattern[str], kinds: Iterable[str] | None = None) -> Iterator[Hit]:
        wanted = set(kinds) if kinds is not None else None
        for page in self.pages:
            if wanted is None or page.kind in wanted:
                yield from page.search(pattern)

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
        """A finding with name and severity from the rule pack (points come from scoring)."""
        meta = self.kb.rule(rule_id)
        return Finding(
            id=meta.id,
            name=meta.name,
            outcome=outcome,
            message=message,
            severity=Severity(meta.severity),
            evidence=list(evidence)[:5],
            data=dict(data),
        )
