"""The markup of a page, parsed once with lexbor (selectolax): elements, attributes and their text.

Rules read elements through :class:`Element`, which offers the few calls they need with the
meaning BeautifulSoup gives them (``get``, ``get_text``, ``find``, ``find_all``, ``name``), so a
page costs one lexbor parse (a few ms for 50 kB) instead of a BeautifulSoup tree (tens of ms).
Text inside ``<script>``, ``<style>`` and ``<template>`` is not part of an element's text, and
comments never are, as in BeautifulSoup. Nothing here executes page content.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

# attributes BeautifulSoup splits into lists of words (HTML multi-valued attributes)
MULTI_VALUED = frozenset({"class", "rel", "rev", "accept-charset", "headers", "accesskey", "dropzone"})
_NO_TEXT = frozenset({"script", "style", "template", "-comment"})
_WS = re.compile(r"[ \t\n\r\f]+")
_PLAIN_NAME = re.compile(r"[a-z][a-z0-9]*")  # a type selector that is a plain lower-case tag name
AttrFilter = Mapping[str, "str | re.Pattern[str] | None"]


class _Holders:
    """Which elements of one tree hold an element of given names (found once per tree and names, by
    one CSS query and a climb through the ancestors): the text of an element holding no
    ``<script>``, ``<style>`` or ``<template>`` is taken in C."""

    __slots__ = ("_ids", "_named", "_tree")

    def __init__(self, tree: LexborHTMLParser | None,
                 named: Callable[[str], list[LexborNode]] | None = None) -> None:
        self._tree = tree
        self._ids: dict[str, set[int]] = {}
        self._named = named  # the tree's elements of a name, in document order (PageMarkup's index)

    def holds(self, node: LexborNode, selector: str) -> bool:
        """False only when no descendant of ``node`` matches ``selector`` (a list of tag names)."""
        if self._tree is None:
            return node.css_first(selector) is not None
        ids = self._ids.get(selector)
        if ids is None:
            ids = self._ids[selector] = set()
            names = [n.strip() for n in selector.split(",")]
            if self._named is not None and all(_PLAIN_NAME.fullmatch(n) for n in names):
                # the elements of those names from the page's index (a type selector matches a name in
                # any namespace, as the index records it); a CSS query compiles its selector each time
                found: Iterable[LexborNode] = [node for n in names for node in self._named(n)]
            else:
                found = self._tree.css(selector)
            for inner in found:
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
    """A page's markup parsed once: every element in document order, grouped by name.

    One traversal records each element's node and name; the :class:`Element` views are made when a
    rule asks for them (a page has thousands of ``div``/``span`` no rule reads), once each, so an
    element is the same object in every list that holds it."""

    def __init__(self, html: str, tree: LexborHTMLParser | None = None) -> None:
        self._tree = tree if tree is not None else LexborHTMLParser(html)  # ``tree``: a parse of ``html``
        root = self._tree.root
        self._holders = holders = _Holders(self._tree, self._nodes_named)
        self.root = Element(root, holders) if root is not None else None
        self._nodes: list[LexborNode] = []
        self._names: list[str] = []
        self._made: list[Element | None] = []
        self._positions: dict[str, list[int]] = {}  # name -> positions in document order
        self._by_name: dict[str, list[Element]] = {}
        self._elements: list[Element] | None = None
        if root is not None:
            nodes, names = self._nodes, self._names
            positions = self._positions
            first = self.root
            assert first is not None
            nodes.append(root)
            names.append(first.name)
            positions[first.name] = [0]
            walk = root.traverse(include_text=False)
            next(walk, None)  # the root itself
            for node in walk:
                tag = node.tag
                if tag and tag[0] != "-":
                    at = positions.get(tag)
                    if at is None:
                        positions[tag] = [len(nodes)]
                    else:
                        at.append(len(nodes))
                    nodes.append(node)
                    names.append(tag)
            self._made = [None] * len(nodes)
            self._made[0] = first

    def _nodes_named(self, name: str) -> list[LexborNode]:
        nodes = self._nodes
        return [nodes[i] for i in self._positions.get(name, ())]

    def _element(self, i: int) -> Element:
        el = self._made[i]
        if el is None:
            el = self._made[i] = Element(self._nodes[i], self._holders, self._names[i])
        return el

    @property
    def elements(self) -> list[Element]:
        """Every element in document order."""
        if self._elements is None:
            self._elements = [self._element(i) for i in range(len(self._nodes))]
        return self._elements

    def name_classes(self, skip: frozenset[str] = frozenset()) -> Iterator[tuple[str, Any]]:
        """(name, ``get("class")``) of every element in document order whose name is not in ``skip``,
        without making their views: the class is read from the node's attributes (the parser gives
        attribute names lower-cased and each once, so ``attrs`` would hold the same words)."""
        made, nodes = self._made, self._nodes
        for i, name in enumerate(self._names):
            if name in skip:
                continue
            el = made[i]
            if el is not None:
                yield name, el.get("class")
                continue
            attributes = nodes[i].attributes
            if "class" not in attributes:
                yield name, None
                continue
            text = (attributes["class"] or "").strip()
            words = _WS.split(text) if text else []
            yield name, [] if words == [""] else words

    def named(self, name: str) -> list[Element]:
        """The elements called ``name``, in document order (the same list on every call)."""
        got = self._by_name.get(name)
        if got is None:
            got = self._by_name[name] = []
            made, nodes, holders = self._made, self._nodes, self._holders
            for i in self._positions.get(name, ()):  # _element(i), inlined: a link farm has 18k links
                el = made[i]
                if el is None:
                    el = made[i] = Element(nodes[i], holders, name)
                got.append(el)
        return got

    def named_any(self, names: Iterable[str]) -> list[Element]:
        """The elements called one of ``names``, in document order."""
        positions = self._positions
        found = [positions[n] for n in set(names) if n in positions]
        if not found:
            return []
        merged = found[0] if len(found) == 1 else sorted(i for at in found for i in at)
        return [self._element(i) for i in merged]

    @property
    def by_name(self) -> dict[str, list[Element]]:
        """Elements grouped by name (every name of the page)."""
        return {name: self.named(name) for name in self._positions}

    def find_all(self, name: str | bool | tuple[str, ...] = True, attrs: AttrFilter | None = None,
                 limit: int | None = None) -> list[Element]:
        if isinstance(name, str):
            candidates = self.named(name)
        elif isinstance(name, tuple):
            candidates = self.named_any(name)
        else:
            candidates = self.elements
        return _first_matching(candidates, attrs, limit)

    def find(self, name: str | bool = True, attrs: AttrFilter | None = None) -> Element | None:
        found = self.find_all(name, attrs, limit=1)
        return found[0] if found else None
