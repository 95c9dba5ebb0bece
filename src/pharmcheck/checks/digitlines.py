"""Regex scans only on the lines that hold a digit, with exactly the matches of a whole-text scan.

Postcode formats (``rules/address.toml``) need a digit and never cross a line: a page of 1,000
lines has digits on a few dozen, and the other lines cannot hold a match. :func:`digit_local`
reads a pattern's source (Python ``re`` syntax, no private ``re`` API) and answers True only when
it can prove both:

- every match contains a character of ``\\d`` (a digit item outside lookarounds on every path);
- no part of the pattern can match ``"\\n"`` and it uses no ``$``/``\\Z`` (which see the end of a
  scan window as the end of the text).

For such a pattern, ``finditer`` over each run of consecutive digit lines (:func:`digit_windows`;
``pos`` at the run's first line, ``endpos`` at the ``"\\n"`` ending its last line) gives the
matches of ``finditer`` over the whole text, in order: no match crosses a line, a window's ``pos``
keeps lookbehinds, ``\\b`` and ``^`` reading the text before it, and at ``endpos`` every item
sees the end of the text where it would have seen ``"\\n"``, which it cannot match either.
Anything the reader does not follow exactly gives False: the caller scans the whole text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_QUANT = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_DIGIT_LINE = re.compile(r"\d[^\n]*")  # from a line's first digit to its end
MERGE_GAP = 80
_SAFE_ESCAPES = set("dwbB")  # \d \w match no newline; \b \B are zero-width
_FLAG_GROUP = re.compile(r"\(\?([aiLu]*)(?:-([iLu]*))?:")


class _Unsure(Exception):
    pass


class _Reader:
    """Recursive descent over a pattern; each item returns whether it certainly consumes a digit."""

    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def alternation(self) -> bool:
        needs = self.sequence()
        while self.peek() == "|":
            self.i += 1
            needs = self.sequence() and needs
        return needs

    def sequence(self) -> bool:
        needs = False
        while self.i < len(self.s) and self.peek() not in "|)":
            atom = self.atom()
            low = self.quantifier()
            if atom and low != 0:
                needs = True
        return needs

    def quantifier(self) -> int | None:
        """The minimum count of a quantifier after an atom (None: no quantifier, i.e. once)."""
        c = self.peek()
        low: int | None = None
        if c in ("*", "?") and c:
            low = 0
            self.i += 1
        elif c == "+":
            low = 1
            self.i += 1
        elif c == "{":
            m = _QUANT.match(self.s, self.i)
            if m is None or m.group() == "{}":
                return None  # a literal "{": read as the next atom
            low = int(m.group(1)) if m.group(1) else 0
            self.i = m.end()
        if low is None:
            return None
        if self.peek() in ("?", "+") and self.peek():
            self.i += 1  # lazy / possessive: the same minimum
        if self.peek() and (self.peek() in "*+?" or _QUANT.match(self.s, self.i)):
            raise _Unsure  # a quantifier after a quantifier
        return low

    def atom(self) -> bool:
        c = self.peek()
        if c == "(":
            return self.group()
        if c == "[":
            return self.char_class()
        if c == "\\":
            return self.escape()
        if c in ("$", "\n", "") or c in "*+?":
            raise _Unsure
        self.i += 1
        if c == ".":
            return False  # any character but "\n" (DOTALL is refused by the caller)
        return c.isdecimal() and c.isascii()

    def escape(self) -> bool:
        nxt = self.s[self.i + 1 : self.i + 2]
        self.i += 2
        if nxt in _SAFE_ESCAPES:
            return nxt == "d"
        if nxt and not nxt.isalnum() and nxt != "\n":
            return False  # an escaped punctuation character: itself
        raise _Unsure  # \s \S \W \D \n \x.. \u.... \N{..} \1 \A \Z …

    def char_class(self) -> bool:
        self.i += 1
        if self.peek() == "^":
            raise _Unsure  # a negated class matches "\n" unless it names it
        all_digits = True
        first = True
        while True:
            c = self.peek()
            if not c:
                raise _Unsure
            if c == "]" and not first:
                self.i += 1
                return all_digits
            first = False
            lo = self.class_char()
            if lo is None:  # \d or \w
                all_digits = all_digits and self.s[self.i - 1] == "d"
                continue
            if self.peek() == "-" and self.s[self.i + 1 : self.i + 2] not in ("]", ""):
                self.i += 1
                hi = self.class_char()
                if hi is None:
                    raise _Unsure
                if lo <= "\n" <= hi:
                    raise _Unsure
                all_digits = all_digits and "0" <= lo and hi <= "9"
            else:
                all_digits = all_digits and "0" <= lo <= "9"

    def class_char(self) -> str | None:
        """One character of a class (None for \\d or \\w)."""
        c = self.peek()
        if c == "\\":
            nxt = self.s[self.i + 1 : self.i + 2]
            self.i += 2
            if nxt in ("d", "w"):
                return None
            if nxt and not nxt.isalnum() and nxt != "\n":
                return nxt
            raise _Unsure
        if c == "\n" or c == "[":
            raise _Unsure  # "[" may start a nested set in a future Python
        self.i += 1
        return c

    def group(self) -> bool:
        s, i = self.s, self.i
        lookaround = False
        if s.startswith("(?:", i):
            self.i += 3
        elif s.startswith("(?P<", i):
            end = s.find(">", i)
            if end < 0:
                raise _Unsure
            self.i = end + 1
        elif s.startswith(("(?=", "(?!"), i):
            self.i += 3
            lookaround = True
        elif s.startswith(("(?<=", "(?<!"), i):
            self.i += 4
            lookaround = True
        elif s.startswith("(?", i):
            m = _FLAG_GROUP.match(s, i)  # scoped flags: only i, a, L, u (not s, x, m)
            if m is None:
                raise _Unsure
            self.i = m.end()
        else:
            self.i += 1
        needs = self.alternation()
        if self.peek() != ")":
            raise _Unsure
        self.i += 1
        return needs and not lookaround


def digit_local(pattern: re.Pattern[str]) -> bool:
    """True when every match of ``pattern`` holds a digit and lies within one line (see module doc)."""
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        return False
    if pattern.flags & (re.DOTALL | re.VERBOSE):
        return False
    source = pattern.pattern
    if source.startswith("(?"):  # global inline flags are in pattern.flags; skip them
        m = re.match(r"\(\?[aiLmsux]+\)", source)
        if m:
            source = source[m.end() :]
    reader = _Reader(source)
    try:
        needs = reader.alternation()
    except (_Unsure, IndexError, ValueError):
        return False
    return needs and reader.i == len(source)


def digit_windows(text: str, gap: int = MERGE_GAP) -> list[tuple[int, int]]:
    """Ranges of whole lines that hold every line with a digit: (start of a line, end of a line).

    Lines less than ``gap`` characters apart share a range (one scan instead of two; the lines
    between hold no match, so scanning them changes nothing)."""
    out: list[tuple[int, int]] = []
    for m in _DIGIT_LINE.finditer(text):
        if out and m.start() - out[-1][1] <= gap:
            out[-1] = (out[-1][0], m.end())
        else:
            out.append((text.rfind("\n", 0, m.start()) + 1, m.end()))
    return out


def finditer(pattern: re.Pattern[str], text: str, windows: list[tuple[int, int]] | None,
             local: bool) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, run only in ``windows`` when ``local`` (see :func:`digit_local`)."""
    if not local or windows is None:
        yield from pattern.finditer(text)
        return
    for a, b in windows:
        yield from pattern.finditer(text, a, b)
