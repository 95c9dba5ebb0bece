"""Linear-time regexes for rule packs: a user pack is untrusted input.

Patterns from a user rule pack (``--rules DIR``: ``[rule.regex]`` and every regex string in its
``[data]``) compile with google-re2, whose matching time is linear in the text whatever the
pattern (``(a+)+$``, ``(a|aa)+$``, ``a*a*a*a*a*a*a*b`` cost what ``abc`` costs). Constructs RE2
cannot run in linear time (lookaround, backreferences, atomic groups, possessive quantifiers,
conditionals) are refused when the pack is loaded, with a ``file:line: key`` error naming the
construct. The built-in pack's regexes are ours, reviewed to be linear, and keep Python ``re``.

Differences to Python ``re`` a pack author may notice: ``\\w`` and ``\\d`` outside a character
class and inside one are rewritten to their Unicode meaning (``[\\p{L}\\p{N}_]``, ``\\p{Nd}``), as
Python has them; ``\\b`` and ``\\W``/``\\D`` inside a class keep RE2's ASCII meaning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, cast

import re2  # type: ignore[import-untyped]

# (what a pattern shows, what to call it): the constructs RE2 refuses, named for the error message
_UNSUPPORTED = (
    (re.compile(r"\(\?<[=!]"), "lookbehind '(?<=' / '(?<!'"),
    (re.compile(r"\(\?[=!]"), "lookahead '(?=' / '(?!'"),
    (re.compile(r"\(\?P=|\\[1-9]|\\g<"), "backreference"),
    (re.compile(r"\(\?>"), "atomic group '(?>'"),
    (re.compile(r"\(\?\("), "conditional '(?('"),
    (re.compile(r"(?<!\\)[*+?}]\+"), "possessive quantifier"),
)
_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))


class UnsupportedPattern(ValueError):
    """A pattern the linear-time engine cannot run; the message names the construct."""


def _options() -> Any:
    opts = re2.Options()
    opts.log_errors = False  # RE2 would print parse errors on stderr
    opts.max_mem = 64 << 20
    return opts


def _unicode_classes(source: str) -> str:
    """``\\w``/``\\d`` (and ``\\W``/``\\D`` outside classes) with Python's Unicode meaning."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(source):
        ch = source[i]
        if ch == "\\" and i + 1 < len(source):
            nxt = source[i + 1]
            if nxt == "w":
                out.append(r"\p{L}\p{N}_" if in_class else r"[\p{L}\p{N}_]")
            elif nxt == "d":
                out.append(r"\p{Nd}")
            elif nxt == "W" and not in_class:
                out.append(r"[^\p{L}\p{N}_]")
            elif nxt == "D" and not in_class:
                out.append(r"\P{Nd}")
            else:
                out.append(source[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            i += 1
            if i < len(source) and source[i] == "^":
                out.append("^")
                i += 1
            if i < len(source) and source[i] == "]":  # a leading ] is a literal
                out.append("]")
                i += 1
            continue
        if ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


def unsupported(source: str) -> str | None:
    """The name of the first construct of ``source`` RE2 refuses, or its error text; None if fine."""
    for shape, name in _UNSUPPORTED:
        if shape.search(source):
            return name
    try:
        re2.compile(_unicode_classes(source), _options())
    except Exception as exc:  # re2.error: the parser's message names the construct
        text = str(exc.args[0] if exc.args else exc)
        if text.startswith(("b'", 'b"')):
            text = text[2:-1]
        return text or type(exc).__name__
    return None


class LinearPattern:
    """An RE2 pattern with the part of ``re.Pattern``'s interface rules use."""

    def __init__(self, source: str, flags: int = 0) -> None:
        problem = unsupported(source)
        if problem is not None:
            raise UnsupportedPattern(f"pattern {source!r} uses {problem} (not supported by the linear-time "
                                     "engine for rule packs)")
        self.pattern = source
        self.flags = flags | re.UNICODE
        letters = "".join(letter for flag, letter in _FLAG_LETTERS if flags & flag)
        prefix = f"(?{letters})" if letters else ""
        self._re = re2.compile(prefix + _unicode_classes(source), _options())

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> Any:
        return self._re.search(text, pos, len(text) if endpos is None else endpos)

    def match(self, text: str, pos: int = 0, endpos: int | None = None) -> Any:
        return self._re.match(text, pos, len(text) if endpos is None else endpos)

    def fullmatch(self, text: str, pos: int = 0, endpos: int | None = None) -> Any:
        return self._re.fullmatch(text, pos, len(text) if endpos is None else endpos)

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[Any]:
        return cast(Iterator[Any], self._re.finditer(text, pos, len(text) if endpos is None else endpos))

    def findall(self, text: str, pos: int = 0, endpos: int | None = None) -> list[Any]:
        return list(self._re.findall(text, pos, len(text) if endpos is None else endpos))

    def sub(self, repl: Any, text: str, count: int = 0) -> str:
        return str(self._re.sub(repl, text, count))

    @property
    def groups(self) -> int:
        return int(self._re.groups)

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._re.groupindex)

    def __repr__(self) -> str:
        return f"LinearPattern({self.pattern!r})"


def compile_linear(source: str, flags: int = 0) -> re.Pattern[str]:
    """``source`` compiled with RE2, typed as ``re.Pattern`` for the rule modules that hold it.

    The object offers ``search``, ``match``, ``fullmatch``, ``finditer``, ``findall``, ``sub``,
    ``pattern`` and ``flags``; its matches offer what ``re.Match`` does except ``.re``.
    """
    return cast("re.Pattern[str]", LinearPattern(source, flags))


def compile_for(untrusted: frozenset[str] | set[str], source: str, flags: int = 0) -> re.Pattern[str]:
    """A rule-pack regex: linear-time (RE2) when a user pack supplied it, else Python ``re``."""
    if source in untrusted:
        return compile_linear(source, flags)
    return re.compile(source, flags)


def is_linear(pattern: object) -> bool:
    return isinstance(pattern, LinearPattern)
