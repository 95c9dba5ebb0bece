"""Literal anchors of a regex: words one of which every match must contain (no private ``re`` API).

A small reader of Python regex syntax finds, for a pattern, the set of literal strings one of
which any match contains (a literal run of the sequence, or the union over the alternatives of a
branch). The prefilter of :mod:`pharmcheck.site` looks these words up in a page (one Aho-Corasick
pass) and skips a pattern none of whose words occurs. Anything the reader does not follow exactly
(verbose mode, backreferences, numeric escapes …) gives None: no prefilter, never a wrong one.

:func:`shape` reads more for the windowed search of :meth:`pharmcheck.site.ParsedPage.finditer`:
every place a match must hold (words, runs of digits, as a tree to choose from per page), the most
characters a match consumes and its lookaheads examine, and whether a match can cross a line.

Case-insensitive patterns compare folded text: :func:`fold` maps every character to one
representative of the characters ``re.IGNORECASE`` may treat as equal to it (simple lower case,
and the few with a shared upper case: ı/i, ſ/s, µ/μ …), computed from ``str.lower``/``str.upper``.
Folding coarser than ``re`` is safe for a prefilter (it can only answer "maybe" more often).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

MIN_ANCHOR = 3  # shorter anchors hit nearly every page: not worth the lookup
MAX_ANCHORS = 400
_LAST_CASED = 0x1FFFF

Node = tuple[Any, ...]
# ("lit", ch) | ("set", may_newline, all_space, all_digit) (one character of a class, ".", \\d …)
# | ("zero",) (^ $ \\b …) | ("look", ahead, seq) | ("group", seq) | ("branch", [seq])
# | ("repeat", min, seq, max or None)


class _Unsure(Exception):
    """A construct the reader does not follow exactly: no anchors for this pattern."""


class _Reader:
    def __init__(self, source: str, flags: int = 0) -> None:
        self.s = source
        self.i = 0
        self.dotall = bool(flags & re.DOTALL)
        self.scoped_case = False  # a group sets or clears IGNORECASE for its part, e.g. (?i:…)

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
        high: int | None = None
        if c and c in "*?":
            low = 0
            high = 1 if c == "?" else None
            self.i += 1
        elif c == "+":
            low = 1
            self.i += 1
        elif c == "{":
            m = re.compile(r"\{(\d*)(,?)(\d*)\}").match(self.s, self.i)
            if m and (m.group(1) or (m.group(2) and m.group(3))):  # {m}, {m,}, {m,n}, {,n}
                low = int(m.group(1) or 0)
                high = int(m.group(3)) if m.group(3) else (None if m.group(2) else low)
                self.i = m.end()
        if low is None:
            return atom
        if self.peek() and self.peek() in "?+":  # lazy or possessive: the same required content
            self.i += 1
        nxt = self.peek()
        if (nxt and nxt in "*+?") or (nxt == "{" and re.match(r"\{\d", self.s[self.i :])):
            raise _Unsure  # a repeat of a repeat: leave it to re
        return ("repeat", low, [atom], high)

    def atom(self) -> Node | None:
        c = self.peek()
        self.i += 1
        if c == "(":
            return self.group()
        if c == "[":
            return self.char_class()
        if c == "\\":
            return self.escape()
        if c == ".":
            return ("set", self.dotall, False, False)
        if c and c in "^$":
            return ("zero",)
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
            ahead = c in "=!"
            self.i += 1 if ahead else 2
            inner = self.alternation()  # zero width: contributes no characters
            self.close(("zero",))
            return ("look", ahead, inner)
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
            self.dotall = self.dotall or "s" in m.group()
            self.i = m.end()
            return None
        m = re.compile(r"([aimsux]*)(?:-([imsx]+))?:").match(self.s, self.i)  # scoped flags (?i:…)
        if m and (m.group(1) or m.group(2)):
            on, off = m.group(1), m.group(2) or ""
            if "x" in on + off:
                raise _Unsure
            self.i = m.end()
            outer = self.dotall
            self.dotall = "s" in on or (outer and "s" not in off)
            self.scoped_case = self.scoped_case or "i" in on + off
            node = self.close(("group", self.alternation()))
            self.dotall = outer
            return node
        raise _Unsure  # conditionals, (?P=name), atomic groups …

    def close(self, node: Node) -> Node:
        if self.peek() != ")":
            raise _Unsure
        self.i += 1
        return node

    def char_class(self) -> Node:
        """One character of a class: ("set", may be a newline, only whitespace, only digits)."""
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        items: list[tuple[int, int] | str] = []  # code point ranges, or a class escape letter
        first = True
        while self.i < len(self.s):
            c = self.peek()
            if c == "]" and not first:
                self.i += 1
                return _class_node(items, negated)
            first = False
            if c == "[" and self.peek(1) == ":":
                raise _Unsure  # possible set syntax of future versions
            lo = self.class_char()
            if isinstance(lo, str):
                items.append(lo)
                continue
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                hi = self.class_char()
                if isinstance(hi, str) or hi < lo:
                    raise _Unsure  # re refuses these ranges
                items.append((lo, hi))
            else:
                items.append((lo, lo))
        raise _Unsure

    def class_char(self) -> int | str:
        """A code point of a class, or the letter of a class escape (d, s, w, D, S, W)."""
        c = self.peek()
        self.i += 1
        if c != "\\":
            return ord(c)
        e = self.peek()
        self.i += 1
        if not e:
            raise _Unsure
        if e in "dswDSW":
            return e
        special = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a", "b": "\b"}
        if e in special:
            return ord(special[e])
        width = {"x": 2, "u": 4, "U": 8}.get(e)
        if width is not None:
            digits = self.s[self.i : self.i + width]
            if len(digits) != width or not all(h in "0123456789abcdefABCDEF" for h in digits):
                raise _Unsure
            self.i += width
            if int(digits, 16) > 0x10FFFF:
                raise _Unsure
            return int(digits, 16)
        if e.isalnum():
            raise _Unsure  # octal, \N{…} and unknown letters: not followed
        return ord(e)

    def escape(self) -> Node:
        c = self.peek()
        self.i += 1
        if not c:
            raise _Unsure
        if c in "bBAZ":  # c is one character here
            return ("zero",)
        if c in "dDwWsS":
            return _ESCAPE_SETS[c]
        if c.isdigit() or c in "xuUNgp":
            raise _Unsure  # backreferences, octal and numeric escapes: not followed
        special = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
        if c in special:
            return ("lit", special[c])
        if c.isalpha():
            raise _Unsure  # an unknown letter escape is an error in re
        return ("lit", c)


# one character of \d, \s … : ("set", may be a newline, only whitespace, only digits)
_ESCAPE_SETS: dict[str, Node] = {
    "d": ("set", False, False, True), "D": ("set", True, False, False),
    "s": ("set", True, True, False), "S": ("set", False, False, False),
    "w": ("set", False, False, False), "W": ("set", True, False, False),
}
_NL = ord("\n")


def _class_node(items: list[tuple[int, int] | str], negated: bool) -> Node:
    if negated:  # a negated class holds a newline unless one of its items does
        holds_nl = any(_ESCAPE_SETS[it][1] if isinstance(it, str) else it[0] <= _NL <= it[1] for it in items)
        return ("set", not holds_nl, False, False)
    may_nl, space, digit = False, True, True
    for it in items:
        if isinstance(it, str):
            _, nl, sp, dg = _ESCAPE_SETS[it]
        else:
            lo, hi = it
            nl = lo <= _NL <= hi
            chars = [chr(c) for c in range(lo, hi + 1)] if hi - lo < 256 else None
            sp = chars is not None and all(c.isspace() for c in chars)
            dg = chars is not None and all(c.isdecimal() for c in chars)
        may_nl = may_nl or nl
        space = space and sp
        digit = digit and dg
    return ("set", may_nl, space, digit)


def _required(items: list[Node], icase: bool, shortest: int = MIN_ANCHOR) -> list[str] | None:
    """Literals one of which every match of the sequence contains (None: unknown)."""
    best: list[str] | None = None
    run: list[str] = []

    def better(cand: list[str] | None) -> None:
        nonlocal best
        if not cand or min(len(a) for a in cand) < shortest or len(cand) > MAX_ANCHORS:
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
            better(_required(node[1], icase, shortest))
        elif node[0] == "branch":
            alts: list[str] = []
            for alt in node[1]:
                got = _required(alt, icase, shortest)
                if got is None:
                    alts = []
                    break
                alts.extend(got)
            better(sorted(set(alts)) if alts else None)
        elif node[0] == "repeat" and node[1] >= 1:
            better(_required(node[2], icase, shortest))
    better(["".join(run)] if run else None)
    return best


def read(source: str, flags: int) -> tuple[list[Node], bool] | None:
    """``source`` as the reader's sequence of nodes, and whether a scoped ``(?i:…)`` occurs in it; None
    when the reader does not follow the pattern (verbose or locale flags, a construct it is unsure of, an
    unbalanced ")" that ``re`` would refuse)."""
    if flags & (re.VERBOSE | re.LOCALE):
        return None
    try:
        reader = _Reader(source, flags)
        seq = reader.alternation()
    except (_Unsure, RecursionError, ValueError):
        return None
    if reader.i != len(source):
        return None
    return seq, reader.scoped_case


def required_literals(source: str, flags: int) -> frozenset[str] | None:
    """The literals one of which any match of ``source`` contains, or None when no useful set is known."""
    got = read(source, flags)
    if got is None or got[1]:  # scoped case: the anchors would be folded in part (see shape())
        return None
    _MEMO.seqs = {}
    try:
        found = _required(got[0], bool(flags & re.IGNORECASE))
    except (_Unsure, RecursionError, ValueError):
        return None
    finally:
        _MEMO.seqs = None
    return frozenset(found) if found else None


# --- where a match can be: the windows of pharmcheck.site -------------------------------------
#
# A width is a bound on the characters some part of a match consumes on a given page:
# ``const + per_space * (longest whitespace run of the page) + per_digit * (longest digit run)``.
# A repeat of a part that consumes only whitespace (``\\s+``, `` *``) consumes one run of it, so the
# page's longest run bounds it however the pattern repeats it; likewise for digits.

Width = tuple[int, int, int]  # (const, per longest whitespace run, per longest digit run)
_ZERO: Width = (0, 0, 0)


@dataclass(frozen=True)
class Shape:
    """What a regex says about where its matches can be (see ``pharmcheck.site.ParsedPage.finditer``)."""

    anchors: frozenset[str] | None  # every match holds one of these words (folded if ``folded``) …
    digit: int  # … or (when > 0) a run of at least this many decimal digits (``\\d``)
    width: Width | None  # the most characters a match consumes; None: no bound
    look: Width | None  # the most characters a lookahead examines past where it stands; None: no bound
    newline: bool  # a match may hold a "\n"
    folded: bool  # the anchors are folded (:func:`fold`): look for them in folded text
    choice: Choice | None = None  # every way to find the places matches must hold (chosen per page)
    choice_words: frozenset[str] = frozenset()  # every word in ``choice``

    @property
    def needs_space_run(self) -> bool:
        """Whether the bounds depend on the page's longest whitespace run."""
        return any(w is not None and w[1] for w in (self.width, self.look))

    @property
    def needs_digit_run(self) -> bool:
        """Whether the bounds depend on the page's longest digit run."""
        return any(w is not None and w[2] for w in (self.width, self.look))

    def bound(self, space_run: int, digit_run: int) -> tuple[int | None, int | None]:
        """(width, look) on a page whose longest whitespace and digit runs are given."""
        return _value(self.width, space_run, digit_run), _value(self.look, space_run, digit_run)


def _value(w: Width | None, space_run: int, digit_run: int) -> int | None:
    return None if w is None else w[0] + w[1] * space_run + w[2] * digit_run


@dataclass(frozen=True)
class _Measure:
    width: Width | None
    look: Width | None
    newline: bool
    space: bool  # consumes only whitespace
    digit: bool  # consumes only digits
    least: int  # the fewest characters a match consumes
    digits: int  # every match consumes a run of at least this many digits (0: none needed)


def _add(a: Width | None, b: Width | None) -> Width | None:
    return None if a is None or b is None else (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _most(a: Width | None, b: Width | None) -> Width | None:
    return None if a is None or b is None else (max(a[0], b[0]), max(a[1], b[1]), max(a[2], b[2]))


# Measures of the sequences of the pattern shape() is reading, by identity: _sources and _choice
# measure every nested sequence again at each level (quadratic in the nesting without it). Set for
# the length of one shape() call, per thread; never kept across calls.
_MEMO = threading.local()


def _measure_seq(items: list[Node]) -> _Measure:
    memo: dict[int, tuple[list[Node], _Measure]] | None = getattr(_MEMO, "seqs", None)
    if memo is not None:
        hit = memo.get(id(items))
        if hit is not None and hit[0] is items:
            return hit[1]
    got = _measure_seq_uncached(items)
    if memo is not None:
        memo[id(items)] = (items, got)
    return got


def _measure_seq_uncached(items: list[Node]) -> _Measure:
    width: Width | None = _ZERO
    look: Width | None = _ZERO
    newline = False
    space = digit = True
    least = digits = block = 0  # block: digits consumed by the current stretch of digit-only parts
    for node in items:
        if node[0] == "lit":  # the bulk of a phrase list: _measure's literal case, inline
            ch = node[1]
            dg = ch.isdecimal()
            if width is not None:
                width = (width[0] + 1, width[1], width[2])
            newline = newline or ch == "\n"
            space = space and ch.isspace()
            digit = digit and dg
            least += 1
            block = block + 1 if dg else 0
            digits = max(digits, int(dg), block)
            continue
        m = _measure(node)
        width = _add(width, m.width)
        look = _most(look, m.look)
        newline = newline or m.newline
        space = space and m.space
        digit = digit and m.digit
        least += m.least
        block = block + m.least if m.digit else 0
        digits = max(digits, m.digits, block)
    return _Measure(width, look, newline, space, digit, least, digits)


def _measure(node: Node) -> _Measure:
    kind = node[0]
    if kind == "lit":
        ch = node[1]
        dg = ch.isdecimal()
        return _Measure((1, 0, 0), _ZERO, ch == "\n", ch.isspace(), dg, 1, int(dg))
    if kind == "set":
        _, nl, sp, dg = node
        return _Measure((1, 0, 0), _ZERO, nl, sp, dg, 1, int(dg))
    if kind == "zero":
        return _Measure(_ZERO, _ZERO, False, True, True, 0, 0)
    if kind == "look":
        inner = _measure_seq(node[2])
        reach = _add(inner.width, inner.look) if node[1] else inner.look  # lookbehind: only nested lookaheads
        return _Measure(_ZERO, reach, False, True, True, 0, 0)
    if kind == "group":
        return _measure_seq(node[1])
    if kind == "branch":
        alts = [_measure_seq(alt) for alt in node[1]]
        width: Width | None = _ZERO
        look: Width | None = _ZERO
        for a in alts:
            width, look = _most(width, a.width), _most(look, a.look)
        return _Measure(width, look, any(a.newline for a in alts), all(a.space for a in alts),
                        all(a.digit for a in alts), min(a.least for a in alts), min(a.digits for a in alts))
    if kind == "repeat":
        _, low, seq, high = node
        inner = _measure_seq(seq)
        if inner.width == _ZERO:
            width = _ZERO
        elif inner.space:
            width = (0, 1, 0)  # one run of whitespace
        elif inner.digit:
            width = (0, 0, 1)  # one run of digits
        elif high is None or inner.width is None:
            width = None
        else:
            width = (high * inner.width[0], high * inner.width[1], high * inner.width[2])
        least = low * inner.least
        digits = (least if inner.digit else inner.digits) if low >= 1 else 0
        return _Measure(width, inner.look, inner.newline, inner.space, inner.digit, least, digits)
    raise _Unsure


Sources = tuple[list[str] | None, int]  # (anchor words, digit run length): one of them is in every match
WINDOW_ANCHOR = 2  # for windows, shorter words than MIN_ANCHOR serve where nothing better is known


def _rank(got: Sources) -> int:
    words, digits = got
    return min(min(map(len, words)) if words else 99, digits or 99)


def _sources(seq: list[Node], icase: bool) -> Sources:
    """(anchor words, digit run length): every match holds one of the words or such a run of digits.

    Anchor words when the sequence has them, else a run of digits, else what a group of the sequence
    needs when each alternative of it needs words or digits (``(?<!\\w)(?:a|b)``: words from some
    alternatives, digits from others), else words of two characters.
    """
    words = _required(seq, icase)
    if words:
        return words, 0
    digits = _measure_seq(seq).digits
    if digits:
        return None, digits
    best: Sources | None = None
    for node in seq:
        got = _node_sources(node, icase)
        if got is not None and (best is None or _rank(got) > _rank(best)):
            best = got
    if best is not None:
        return best
    return _required(seq, icase, WINDOW_ANCHOR), 0


def _node_sources(node: Node, icase: bool) -> Sources | None:
    if node[0] == "group":
        words, digits = _sources(node[1], icase)
    elif node[0] == "repeat" and node[1] >= 1:
        words, digits = _sources(node[2], icase)
    elif node[0] == "branch":
        merged: set[str] = set()
        digits = 0
        for alt in node[1]:
            alt_words, alt_digits = _sources(alt, icase)
            if not (alt_words or alt_digits):
                return None
            merged.update(alt_words or ())
            if alt_digits:
                digits = min(digits, alt_digits) if digits else alt_digits
        if len(merged) > MAX_ANCHORS:
            return None
        words = sorted(merged) if merged else None
    else:
        return None
    return (words, digits) if words or digits else None


# Where every match must hold something, as a tree to choose from per page (fewest hits wins):
# ("words", {w}) a literal run | ("digits", k) a run of k digits | ("any", options) one option
# suffices | ("all", parts) every alternative of an alternation needs its part.
Choice = tuple[Any, ...]


def _choice(seq: list[Node], icase: bool) -> Choice | None:
    options: list[Choice] = []
    short: list[Choice] = []  # two-letter runs: only when nothing else serves
    run: list[str] = []

    def flush() -> None:
        if len(run) >= MIN_ANCHOR:
            options.append(("words", frozenset(["".join(run)])))
        elif len(run) >= WINDOW_ANCHOR:
            short.append(("words", frozenset(["".join(run)])))
        run.clear()

    for node in seq:
        if node[0] == "lit":
            ch = fold(node[1]) if icase else node[1]
            if len(ch) == 1:
                run.append(ch)
                continue
        flush()
        got: Choice | None = None
        if node[0] == "group":
            got = _choice(node[1], icase)
        elif node[0] == "repeat" and node[1] >= 1:
            got = _choice(node[2], icase)
        elif node[0] == "branch":
            alts = [_choice(alt, icase) for alt in node[1]]
            got = ("all", tuple(alts)) if all(a is not None for a in alts) else None
        if got is not None:
            options.append(got)
    flush()
    digits = _measure_seq(seq).digits
    if digits:
        options.append(("digits", digits))
    options = options or short
    if not options:
        return None
    return options[0] if len(options) == 1 else ("any", tuple(options))


def _choice_words(choice: Choice, out: set[str]) -> set[str]:
    if choice[0] == "words":
        out |= choice[1]
    elif choice[0] in ("any", "all"):
        for sub in choice[1]:
            _choice_words(sub, out)
    return out


def shape(source: str, flags: int) -> Shape | None:
    """Where matches of ``source`` (compiled with ``flags``) can be, or None when the reader is unsure."""
    got = read(source, flags)
    if got is None:
        return None
    seq, scoped = got
    icase = bool(flags & re.IGNORECASE) or scoped  # folding every literal is coarser: safe
    _MEMO.seqs = {}
    try:
        words, digits = _sources(seq, icase)
        m = _measure_seq(seq)
        choice = _choice(seq, icase) if words or digits else None
        choice_words = frozenset(_choice_words(choice, set())) if choice is not None else frozenset()
    except (_Unsure, RecursionError, ValueError):
        return None
    finally:
        _MEMO.seqs = None
    return Shape(frozenset(words) if words else None, digits, m.width, m.look, m.newline, icase, choice,
                 choice_words)


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


_FOLD_PAIRS = tuple((chr(c), rep) for c, rep in FOLD_TABLE.items())  # no representative is itself a key


def fold(text: str) -> str:
    """Case folding for the prefilter: simple lower case, then one representative per class of
    characters ``re.IGNORECASE`` may take as equal (İ is lowered to a plain i, as ``re`` does).

    Keeps the length (a position in the folded text is the same position in ``text``); ASCII text is
    only lowered, other text gets one ``str.replace`` per table character that occurs in it.
    """
    low = text.replace("\u0130", "i").lower()
    if low.isascii():
        return low
    for ch, rep in _FOLD_PAIRS:
        if ch in low:
            low = low.replace(ch, rep)
    return low
