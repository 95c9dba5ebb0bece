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
from dataclasses import dataclass

_QUANT = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
MERGE_GAP = 80
MAX_RUN = 6
# from a line's first run of n digits to the line's end
_RUN_LINE = {n: re.compile(r"\d{" + str(n) + r"}[^\n]*") for n in range(1, MAX_RUN + 1)}
_SAFE_ESCAPES = set("dwbB")  # \d \w match no newline; \b \B are zero-width
_FLAG_GROUP = re.compile(r"\(\?([aiLu]*)(?:-([iLu]*))?:")


class _Unsure(Exception):
    pass


@dataclass(frozen=True)
class _Run:
    """What an item certainly consumes: ``pure`` when only digits (at least ``low`` of them), else
    runs of digits it certainly holds: ``pre`` at its start, ``suf`` at its end, ``best`` anywhere."""

    pure: bool
    low: int = 0
    pre: int = 0
    suf: int = 0
    best: int = 0


_OTHER = _Run(False)  # a character that may be no digit, or a zero-width assertion
_ONE_DIGIT = _Run(True, 1, 1, 1, 1)


def _pure(n: int) -> _Run:
    return _Run(True, n, n, n, n)


def _concat(items: list[_Run]) -> _Run:
    if all(x.pure for x in items):
        return _pure(sum(x.low for x in items))
    pre = 0
    for x in items:
        pre += x.pre
        if not x.pure:
            break
    best = cur = 0
    for x in items:
        if x.pure:
            cur += x.low
        else:
            best = max(best, x.best, cur + x.pre)
            cur = x.suf
        best = max(best, cur)
    return _Run(False, 0, pre, cur, best)


def _either(items: list[_Run]) -> _Run:
    if all(x.pure for x in items):
        return _pure(min(x.low for x in items))
    return _Run(False, 0, min(x.pre for x in items), min(x.suf for x in items), min(x.best for x in items))


def _repeat(x: _Run, low: int) -> _Run:
    if x.pure:
        return _pure(x.low * low)
    return x if low >= 1 else _OTHER


class _Reader:
    """Recursive descent over a pattern; each item says which digit runs it certainly consumes."""

    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def alternation(self) -> _Run:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        return _either(branches)

    def sequence(self) -> _Run:
        items: list[_Run] = []
        while self.i < len(self.s) and self.peek() not in "|)":
            atom = self.atom()
            low = self.quantifier()
            items.append(atom if low is None else _repeat(atom, low))
        return _concat(items)

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

    def atom(self) -> _Run:
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
            return _OTHER  # any character but "\n" (DOTALL is refused by the caller)
        return _ONE_DIGIT if "0" <= c <= "9" else _OTHER

    def escape(self) -> _Run:
        nxt = self.s[self.i + 1 : self.i + 2]
        self.i += 2
        if nxt in _SAFE_ESCAPES:
            return _ONE_DIGIT if nxt == "d" else _OTHER
        if nxt and not nxt.isalnum() and nxt != "\n":
            return _OTHER  # an escaped punctuation character: itself
        raise _Unsure  # \s \S \W \D \n \x.. \u.... \N{..} \1 \A \Z …

    def char_class(self) -> _Run:
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
                return _ONE_DIGIT if all_digits else _OTHER
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
                all_digits = all_digits and lo >= "0" and hi <= "9"
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

    def group(self) -> _Run:
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
        inner = self.alternation()
        if self.peek() != ")":
            raise _Unsure
        self.i += 1
        return _OTHER if lookaround else inner


def digit_run(pattern: re.Pattern[str]) -> int:
    """The length of a run of digits every match of ``pattern`` holds, when every match also lies
    within one line (see the module doc); 0 when there is none or the reader is unsure."""
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        return 0
    if pattern.flags & (re.DOTALL | re.VERBOSE):
        return 0
    source = pattern.pattern
    if source.startswith("(?"):  # global inline flags are in pattern.flags; skip them
        m = re.match(r"\(\?[aiLmsux]+\)", source)
        if m:
            source = source[m.end() :]
    reader = _Reader(source)
    try:
        run = reader.alternation()
    except (_Unsure, IndexError, ValueError):
        return 0
    if reader.i != len(source):
        return 0
    return min(run.best, MAX_RUN)


def line_local(pattern: re.Pattern[str]) -> bool:
    """True when no part of ``pattern`` can match ``"\\n"`` and it uses no ``$``/``\\Z`` (the reader of
    :func:`digit_run` follows it all): every match lies within one line, and a scan of whole lines
    (``pos`` at a line's start, ``endpos`` at its end) finds there what a whole-text scan finds."""
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        return False
    if pattern.flags & (re.DOTALL | re.VERBOSE):
        return False
    source = pattern.pattern
    if source.startswith("(?"):
        m = re.match(r"\(\?[aiLmsux]+\)", source)
        if m:
            source = source[m.end() :]
    reader = _Reader(source)
    try:
        reader.alternation()
    except (_Unsure, IndexError, ValueError):
        return False
    return reader.i == len(source)


def digit_local(pattern: re.Pattern[str]) -> bool:
    """True when every match of ``pattern`` holds a digit and lies within one line."""
    return digit_run(pattern) >= 1


def digit_windows(text: str, run: int = 1, gap: int = MERGE_GAP) -> list[tuple[int, int]]:
    """Ranges of whole lines that hold every line with ``run`` consecutive digits (``\\d``):
    (start of a line, end of a line). Lines less than ``gap`` characters apart share a range (one
    scan instead of two; the lines between hold no match, so scanning them changes nothing)."""
    out: list[tuple[int, int]] = []
    for m in _RUN_LINE[max(1, min(run, MAX_RUN))].finditer(text):
        if out and m.start() - out[-1][1] <= gap:
            out[-1] = (out[-1][0], m.end())
        else:
            out.append((text.rfind("\n", 0, m.start()) + 1, m.end()))
    return out


_DIGIT_RUNS = re.compile(r"\d+")


class Windows:
    """Digit windows of one text, computed once per run length.

    One pass over the text's runs of digits (``\\d+``) records, for every line holding a digit,
    the longest run on it; the windows for any run length are then the lines whose longest run is
    that long, joined as :func:`digit_windows` joins them (whole lines, less than ``gap`` apart)."""

    def __init__(self, text: str, gap: int = MERGE_GAP, lo: int = 0, hi: int | None = None) -> None:
        """``lo``, ``hi``: read only the digits of ``text[lo:hi]`` (lines are still whole lines)."""
        self.text = text
        self.gap = gap
        self.lo, self.hi = lo, len(text) if hi is None else hi
        self._by_run: dict[int, list[tuple[int, int]]] = {}
        self._lines: list[list[int]] | None = None  # [start, end, longest run, digits] per digit line

    def _digit_lines(self) -> list[list[int]]:
        lines = self._lines
        if lines is None:
            text = self.text
            lines = self._lines = []
            last_end = -1
            for m in _DIGIT_RUNS.finditer(text, self.lo, self.hi):
                s, e = m.span()
                if s < last_end:  # another run on the line just recorded (its end is its "\n")
                    line = lines[-1]
                    if e - s > line[2]:
                        line[2] = e - s
                    line[3] += e - s
                else:
                    nl = text.find("\n", e)
                    last_end = nl if nl >= 0 else len(text)
                    lines.append([text.rfind("\n", 0, s) + 1, last_end, e - s, e - s])
        return lines

    def lines_with(self, digits: int) -> list[tuple[int, int]]:
        """(start, end) of each line holding at least ``digits`` digits (``\\d``), in text order."""
        return [(a, b) for a, b, _, n in self._digit_lines() if n >= digits]

    def get(self, run: int) -> list[tuple[int, int]]:
        """Line ranges holding every line with ``run`` digits in a row (and maybe more lines)."""
        got = self._by_run.get(run)
        if got is None:
            got = self._by_run[run] = []
            gap = self.gap
            for a, b, longest, _ in self._digit_lines():
                if longest >= run:
                    if got and a - got[-1][1] <= gap:
                        got[-1] = (got[-1][0], b)
                    else:
                        got.append((a, b))
        return got


def finditer(pattern: re.Pattern[str], text: str, windows: list[tuple[int, int]] | None,
             local: bool) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, run only in ``windows`` when ``local`` (see :func:`digit_local`)."""
    if not local or windows is None:
        yield from pattern.finditer(text)
        return
    for a, b in windows:
        yield from pattern.finditer(text, a, b)


def case_widened(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """``pattern`` with its ``(?i:...)`` groups and the rest case-insensitive: it matches wherever
    ``pattern`` does (and more), so the literal anchors of the wider pattern, looked up in folded
    text, are a sound prefilter for a pattern whose scoped flags the anchor reader does not follow.
    None when there is no such group or the source is not read exactly."""
    if not isinstance(pattern, re.Pattern):  # RE2 (a user pack): read with its own syntax, no prefilter
        return None
    s = pattern.pattern
    if not isinstance(s, str) or "(?i:" not in s or pattern.flags & re.VERBOSE:
        return None
    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            out.append(s[i : i + 2])
            i += 2
        elif c == "[":
            j = i + 1
            if s[j : j + 1] == "^":
                j += 1
            if s[j : j + 1] == "]":
                j += 1
            while j < len(s) and s[j] != "]":
                j += 2 if s[j] == "\\" else 1
            if j >= len(s):
                return None
            out.append(s[i : j + 1])
            i = j + 1
        elif s.startswith("(?i:", i):
            out.append("(?:")
            i += 4
        elif s.startswith(("(?!", "(?<!", "(?("), i):
            return None  # case-insensitive inside a negative lookaround would match less, not more
        else:
            out.append(c)
            i += 1
    try:
        return re.compile("".join(out), pattern.flags | re.IGNORECASE)
    except re.error:
        return None
