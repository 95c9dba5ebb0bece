"""The markup of a page, parsed once with lexbor (selectolax): elements, attributes and their text.

Rules read elements through :class:`Element`, which offers the few calls they need with the
meaning BeautifulSoup gives them (``get``, ``get_text``, ``find``, ``find_all``, ``name``), so a
page costs one lexbor parse (a few ms for 50 kB) instead of a BeautifulSoup tree (tens of ms).
Text inside ``<script>``, ``<style>`` and ``<template>`` is not part of an element's text, and
comments never are, as in BeautifulSoup. Nothing here executes page content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

# attributes BeautifulSoup splits into lists of words (HTML multi-valued attributes)
MULTI_VALUED = frozenset({"class", "rel", "rev", "accept-charset", "headers", "accesskey", "dropzone"})
_NO_TEXT = frozenset({"script", "style", "template", "-comment"})
_WS = re.compile(r"[ \t\n\r\f]+")
AttrFilter = Mapping[str, "str | re.Pattern[str] | None"]


class _Holders:
    """Which elements of one tree hold an element of given names (found once per tree and names, by
    one CSS query and a climb through the ancestors): the text of an element holding no
    ``<script>``, ``<style>`` or ``<template>`` is taken in C."""

    __slots__ = ("_ids", "_tree")

    def __init__(self, tree: LexborHTMLParser | None) -> None:
        self._tree = tree
        self._ids: dict[str, set[int]] = {}

    def holds(self, node: LexborNode, selector: str) -> bool:
        """False only when no descendant of ``node`` matches ``selector`` (a list of tag names)."""
        if self._tree is None:
            return node.css_first(selector) is not None
        ids = self._ids.get(selector)
        if ids is None:
            ids = self._ids[selector] = set()
            for inner in self._tree.css(selector):
                up = inner.parent
                while up is not None and up.mem_id not in ids:  # ancestors already seen stop the climb
                    ids.add(up.mem_id)
                    up = up.parent
        return node.mem_id in ids


class Element:
    """One element of a parsed page (a thin view of a lexbor node)."""

    __slots__ = ("_attrs", "_holders", "_node", "name")

    def __init__(self, node: LexborNode, holders: _Holders | None = None, name: str | None = None) -> None:
        self._node = node
        self.name: str = name if name is not None else node.tag or ""
        self._attrs: dict[str, Any] | None = None
        self._holders = holders if holders is not None else _Holders(None)

    @property
    def attrs(self) -> dict[str, Any]:
        if self._attrs is None:
            out: dict[str, Any] = {}
            for key, value in self._node.attributes.items():
                key = key.lower()
                text = "" if value is None else value
                if key in MULTI_VALUED:
                    words = _WS.split(text.strip()) if text.strip() else []
                    out[key] = [] if words == [""] else words
                else:
                    out[key] = text
            self._attrs = out
        return self._attrs

    def get(self, key: str, default: Any = None) -> Any:
        attrs = self._attrs
        return (attrs if attrs is not None else self.attrs).get(key, default)

    def _strings(self) -> Iterator[str]:
        stack = [self._node.first_child]
        while stack:
            node = stack.pop()
            while node is not None:
                if node.is_text_node:
                    text = node.text_content
                    if text:
                        yield text
                elif node.tag not in _NO_TEXT and node.first_child is not None:
                    stack.append(node.next)
                    node = node.first_child
                    continue
                node = node.next

    def get_text(self, separator: str = "") -> str:
        if self.name in ("script", "style", "template"):  # their own text, as BeautifulSoup gives it
            return self._node.text(deep=True) or ""
        if not self._holders.holds(self._node, "script, style, template"):  # the common case: all in C
            return self._node.text(deep=True, separator=separator) or ""
        return separator.join(self._strings())

    def _walk(self) -> Iterator[LexborNode]:
        for node in self._node.traverse(include_text=False):
            if node.mem_id != self._node.mem_id and node.tag and not node.tag.startswith("-"):
                yield node

    def find_all(self, name: str | bool | tuple[str, ...] = True, attrs: AttrFilter | None = None,
                 limit: int | None = None) -> list[Element]:
        child = self._node.first_child
        while child is not None and not child.is_element_node:  # text only (a link's words): nothing to walk
            child = child.next
        if child is None:
            return []
        names = (name,) if isinstance(name, str) else name if isinstance(name, tuple) else None
        walked = (Element(node, self._holders) for node in self._walk() if names is None or node.tag in names)
        return _first_matching(walked, attrs, limit)

    def find(self, name: str | bool = True, attrs: AttrFilter | None = None) -> Element | None:
        found = self.find_all(name, attrs, limit=1)
        return found[0] if found else None

    def __repr__(self) -> str:
        return f"<Element {self.name}>"


def _first_matching(elements: Iterable[Element], attrs: AttrFilter | None,
                    limit: int | None) -> list[Element]:
    """``find_all``'s filter: the elements whose attributes match, at most ``limit`` of them."""
    out: list[Element] = []
    for el in elements:
        if attrs and not _attrs_match(el, attrs):
            continue
        out.append(el)
        if limit is not None and len(out) >= limit:
            break
    return out


def _attrs_match(el: Element, attrs: AttrFilter) -> bool:
    for key, want in attrs.items():
        value = el.get(key)
        if value is None:
            return False
        if want is None:
            continue
        values = value if isinstance(value, list) else [value]
        if isinstance(want, str):
            if not any(v == want for v in values) and " ".join(values) != want:
                return False
        elif not any(want.search(v) for v in values) and not want.search(" ".join(values)):
            return False
    return True


class PageMarkup:
    """A page's markup parsed once: every element in document order, grouped by name."""

    def __init__(self, html: str, tree: LexborHTMLParser | None = None) -> None:
        self._tree = tree if tree is not None else LexborHTMLParser(html)  # ``tree``: a parse of ``html``
        root = self._tree.root
        holders = _Holders(self._tree)
        self.root = Element(root, holders) if root is not None else None
        self.elements: list[Element] = []
        self.by_name: dict[str, list[Element]] = {}
        if root is not None:
            nodes = root.traverse(include_text=False)
            next(nodes, None)  # the root itself
            elements = self.elements
            by_name = self.by_name
            first = Element(root, holders)
            elements.append(first)
            by_name[first.name] = [first]
            for node in nodes:
                tag = node.tag
                if tag and tag[0] != "-":
                    el = Element(node, holders, tag)
                    elements.append(el)
                    same = by_name.get(tag)
                    if same is None:
                        by_name[tag] = [el]
                    else:
                        same.append(el)

    def find_all(self, name: str | bool | tuple[str, ...] = True, attrs: AttrFilter | None = None,
                 limit: int | None = None) -> list[Element]:
        if isinstance(name, str):
            candidates = self.by_name.get(name, [])
        elif isinstance(name, tuple):
            wanted = set(name)
            candidates = [e for e in self.elements if e.name in wanted]
        else:
            candidates = self.elements
        return _first_matching(candidates, attrs, limit)

    def find(self, name: str | bool = True, attrs: AttrFilter | None = None) -> Element | None:
        found = self.find_all(name, attrs, limit=1)
        return found[0] if found else None
