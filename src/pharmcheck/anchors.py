"""Literal anchors of a regex: words one of which every match must contain (no private ``re`` API).

A small reader of Python regex syntax finds, for a pattern, the set of literal strings one of
which any match contains (a literal run of the sequence, or the union over the alternatives of a
branch). The prefilter of :mod:`pharmcheck.site` looks these words up in a page (one Aho-Corasick
pass) and skips a pattern none of whose words occurs. Anything the reader does not follow exactly
(scoped inline flags, verbose mode, numeric escapes …) gives None: no prefilter, never a wrong one.

Case-insensitive patterns compare folded text: :func:`fold` maps every character to one
representative of the characters ``re.IGNORECASE`` may treat as equal to it (simple lower case,
and the few with a shared upper case: ı/i, ſ/s, µ/μ …), computed from ``str.lower``/``str.upper``.
Folding coarser than ``re`` is safe for a prefilter (it can only answer "maybe" more often).
"""

from __future__ import annotations

import re
from typing import Any

MIN_ANCHOR = 3  # shorter anchors hit nearly every page: not worth the lookup
MAX_ANCHORS = 400
_LAST_CASED = 0x1FFFF

Node = tuple[Any, ...]  # ("lit", ch) | ("other",) | ("group", seq) | ("branch", [seq]) | ("repeat", min, seq)


class _Unsure(Exception):
    """A construct the reader does not follow exactly: no anchors for this pattern."""


class _Reader:
    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def alternation(self) -> list[Node]:
        seqs = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            seqs.append(self.sequence())
        return seqs[0] if len(seqs) == 1 else [("branch", seqs)]

    def sequence(self) -> list[Node]:
        out: list[Node] = []
        while self.i < len(self.s) and self.peek() not in "|)":
            atom = self.atom()
            if atom is None:
                continue
            out.append(self.quantified(atom))
        return out

    def quantified(self, atom: Node) -> Node:
        c = self.peek()
        low: int | None = None
        if c and c in "*?":
            low = 0
            self.i += 1
        elif c == "+":
            low = 1
            self.i += 1
        elif c == "{":
            m = re.compile(r"\{(\d*)(,?)(\d*)\}").match(self.s, self.i)
            if m and (m.group(1) or (m.group(2) and m.group(3))):  # {m}, {m,}, {m,n}, {,n}
                low = int(m.group(1) or 0)
                self.i = m.end()
        if low is None:
            return atom
        if self.peek() and self.peek() in "?+":  # lazy or possessive: the same required content
            self.i += 1
        nxt = self.peek()
        if (nxt and nxt in "*+?") or (nxt == "{" and re.match(r"\{\d", self.s[self.i :])):
            raise _Unsure  # a repeat of a repeat: leave it to re
        return ("repeat", low, [atom])

    def atom(self) -> Node | None:
        c = self.peek()
        self.i += 1
        if c == "(":
            return self.group()
        if c == "[":
            self.char_class()
            return ("other",)
        if c == "\\":
            return self.escape()
        if c and c in ".^$":
            return ("other",)
        if c and c in "*+?":
            raise _Unsure  # nothing to repeat: re would refuse it
        return ("lit", c)

    def group(self) -> Node | None:
        if self.peek() != "?":
            return self.close(("group", self.alternation()))
        self.i += 1
        c = self.peek()
        if c == ":":
            self.i += 1
            return self.close(("group", self.alternation()))
        if c == "P" and self.peek(1) == "<":
            end = self.s.find(">", self.i)
            if end < 0:
                raise _Unsure
            self.i = end + 1
            return self.close(("group", self.alternation()))
        if (c and c in "=!") or (c == "<" and self.peek(1) and self.peek(1) in "=!"):
            self.i += 1 if c in "=!" else 2
            self.alternation()  # zero width: contributes no characters
            self.close(("other",))
            return ("other",)
        if c == "#":
            end = self.s.find(")", self.i)
            if end < 0:
                raise _Unsure
            self.i = end + 1
            return None
        m = re.compile(r"[aiLmsux]+\)").match(self.s, self.i)  # global inline flags, e.g. (?i)
        if m:
            if "x" in m.group() or "L" in m.group():
                raise _Unsure
            self.i = m.end()
            return None
        raise _Unsure  # scoped flags (?i:…), conditionals, (?P=name), atomic groups …

    def close(self, node: Node) -> Node:
        if self.peek() != ")":
            raise _Unsure
        self.i += 1
        return node

    def char_class(self) -> None:
        if self.peek() == "^":
            self.i += 1
        if self.peek() == "]":
            self.i += 1
        while self.i < len(self.s):
            c = self.peek()
            self.i += 1
            if c == "\\":
                self.i += 1
            elif c == "]":
                return
            elif c == "[" and self.peek() == ":":
                raise _Unsure  # possible set syntax of future versions
        raise _Unsure

    def escape(self) -> Node:
        c = self.peek()
        self.i += 1
        if not c:
            raise _Unsure
        if c in "dDwWsSbBAZ":  # c is one character here
            return ("other",)
        if c.isdigit() or c in "xuUNgp":
            raise _Unsure  # backreferences, octal and numeric escapes: not followed
        special = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
        if c in special:
            return ("lit", special[c])
        if c.isalpha():
            raise _Unsure  # an unknown letter escape is an error in re
        return ("lit", c)


def _required(items: list[Node], icase: bool) -> list[str] | None:
    """Literals one of which every match of the sequence contains (None: unknown)."""
    best: list[str] | None = None
    run: list[str] = []

    def better(cand: list[str] | None) -> None:
        nonlocal best
        if not cand or min(len(a) for a in cand) < MIN_ANCHOR or len(cand) > MAX_ANCHORS:
            return
        if best is None or (min(len(a) for a in cand), -len(cand)) > (min(len(a) for a in best), -len(best)):
            best = cand

    for node in items:
        if node[0] == "lit":
            ch = fold(node[1]) if icase else node[1]
            if len(ch) != 1:
                return None
            run.append(ch)
            continue
        better(["".join(run)] if run else None)
        run = []
        if node[0] == "group":
            better(_required(node[1], icase))
        elif node[0] == "branch":
            alts: list[str] = []
            for alt in node[1]:
                got = _required(alt, icase)
                if got is None:
                    alts = []
                    break
                alts.extend(got)
            better(sorted(set(alts)) if alts else None)
        elif node[0] == "repeat" and node[1] >= 1:
            better(_required(node[2], icase))
    better(["".join(run)] if run else None)
    return best


def required_literals(source: str, flags: int) -> frozenset[str] | None:
    """The literals one of which any match of ``source`` contains, or None when no useful set is known."""
    if flags & (re.VERBOSE | re.LOCALE):
        return None
    try:
        reader = _Reader(source)
        seq = reader.alternation()
        if reader.i != len(source):
            return None  # an unbalanced ")": re would refuse the pattern
        got = _required(seq, bool(flags & re.IGNORECASE))
    except (_Unsure, RecursionError, ValueError):
        return None
    return frozenset(got) if got else None


# What derive_fold_table() gives on this Python's Unicode data (tests/test_anchors.py checks it):
# characters whose lower case is not the representative of their class (ı→i, ſ→s, µ/μ, ς→σ …).
FOLD_TABLE: dict[int, str] = {
    0x0131: "\u0069", 0x017F: "\u0073", 0x0399: "\u0345", 0x039C: "\u00b5", 0x03B9: "\u0345",
    0x03BC: "\u00b5", 0x03C2: "\u03c3", 0x03D0: "\u03b2", 0x03D1: "\u03b8", 0x03D5: "\u03c6",
    0x03D6: "\u03c0", 0x03F0: "\u03ba", 0x03F1: "\u03c1", 0x03F5: "\u03b5", 0x1C80: "\u0432",
    0x1C81: "\u0434", 0x1C82: "\u043e", 0x1C83: "\u0441", 0x1C84: "\u0442", 0x1C85: "\u0442",
    0x1C86: "\u044a", 0x1C87: "\u0463", 0x1E9B: "\u1e61", 0x1FBE: "\u0345", 0x1FD3: "\u0390",
    0x1FE3: "\u03b0", 0xA64A: "\u1c88", 0xA64B: "\u1c88", 0xFB06: "\ufb05",
}


def derive_fold_table() -> dict[int, str]:
    """Characters mapped to the representative of those ``re.IGNORECASE`` may take as equal,
    derived from ``str.lower``/``upper``/``casefold`` over every cased code point (slow: tests only)."""
    parent: dict[str, str] = {}

    def root(c: str) -> str:
        while parent.get(c, c) != c:
            c = parent[c]
        return c

    def union(a: str, b: str) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_casefold: dict[str, str] = {}
    for code in range(_LAST_CASED + 1):  # no character above has a case
        if 0xD800 <= code <= 0xDFFF:
            continue
        c = chr(code)
        low, up, folded = c.lower(), c.upper(), c.casefold()
        if low == c and up == c and folded == c:
            continue
        if len(low) == 1:
            union(c, low)
        if len(up) == 1:
            union(c, up)
            if len(up.lower()) == 1:
                union(c, up.lower())
        first = by_casefold.setdefault(folded, c)  # ΐ and U+1FD3, ﬅ and ﬆ: equal full case folding
        if first != c:
            union(c, first)
    out: dict[int, str] = {}
    for c in list(parent):
        r = root(c)
        rep = r.lower() if len(r.lower()) == 1 else r
        for m in (c, r):
            if m.lower() != rep or len(m.lower()) != 1:
                out[ord(m)] = rep
    return out


_FOLD_NEEDED = re.compile("[" + re.escape("".join(chr(c) for c in FOLD_TABLE)) + "]")


def fold(text: str) -> str:
    """Case folding for the prefilter: simple lower case, then one representative per class of
    characters ``re.IGNORECASE`` may take as equal (İ is lowered to a plain i, as ``re`` does)."""
    low = text.replace("\u0130", "i").lower()
    return low.translate(FOLD_TABLE) if _FOLD_NEEDED.search(low) else low
