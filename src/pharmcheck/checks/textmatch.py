"""Shared text matching for rule modules: phrase lists from the rule pack, negation, caching.

Phrases in ``rules/*.toml`` are written as plain words, not regexes, so that a pharmacist
can review them. A small syntax covers what word lists need:

- ``{a|b}``  one of the words (``{licence|license}``);
- ``[a|b]``  an optional word (``without [a] prescription``);
- ``*``      a gap of up to three words (``buy * online``);
- ``word~``  the word as a prefix (``prescri~`` matches prescription, prescribed);
- ``'``      matches both apostrophes.

Every compiled pattern is linear: words are joined by ``\\s+`` and gaps are bounded
sequences of disjoint classes, so hostile pages cannot make matching blow up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pharmcheck.knowledge import Knowledge

T = TypeVar("T")

_GAP = r"(?:[^\s]{1,40}\s+){0,3}"
_TOKENS = re.compile(r"\{[^}]*\}~?|\[[^\]]*\]|\S+")
_SENTENCE_END = re.compile(r"[.!?\n](?=\s|$)|\n")
_ABBREV = re.compile(r"(?i)\b(?:no|nr|n°|dr|mr|mrs|ms|st|vs|e\.g|i\.e)$")
_CLAUSE_END = re.compile(r"[.!?;:\n•|]")
LANGS = ("en", "de", "fr", "es", "it", "nl")


def longest_first(text: str) -> tuple[int, str]:
    """Sort key for alternatives: longest first, ties in text order. Python tries alternatives left to
    right, so their order decides which of two matches at one place wins: it must not depend on a
    set's iteration order (which changes with each process's hash seed)."""
    return -len(text), text


def _word(token: str) -> str:
    prefix = token.endswith("~")
    if prefix:
        token = token[:-1]
    if token.startswith("{") and token.endswith("}"):
        alts = [_escape(a) for a in token[1:-1].split("|") if a]
        out = "(?:" + "|".join(alts) + ")"
    else:
        out = _escape(token)
    return out + (r"\w{0,30}" if prefix else "")


def _escape(word: str) -> str:
    """A literal word or words: apostrophes match both forms, spaces any whitespace."""
    return r"\s+".join("['’]".join(re.escape(part) for part in w.split("'")) for w in word.split())


def phrase_pattern(phrase: str) -> str:
    """The regex source of one phrase (see module docstring), without boundaries."""
    tokens = _TOKENS.findall(phrase)
    while len(tokens) > 1 and tokens[-1].startswith("["):
        tokens.pop()  # a trailing optional word changes nothing before a word boundary
    out: list[str] = []
    for i, tok in enumerate(tokens):
        last = i == len(tokens) - 1
        if tok == "*":
            out.append(_GAP)
        elif tok.startswith("[") and tok.endswith("]") and not last:
            out.append("(?:" + _word("{" + tok[1:-1] + "}") + r"\s+)?")
        else:
            out.append(_word(tok) + ("" if last else r"\s+"))
    return "".join(out)


_PHRASES: dict[tuple[str, int], tuple[str, ...]] = {}  # (source, flags) of a phrase list -> its phrases


def _noted(pattern: re.Pattern[str], phrases: Sequence[str]) -> re.Pattern[str]:
    """Keep the phrases a pattern was compiled from (rule-pack data: pagehits reads their first words)."""
    if len(_PHRASES) > 4096:
        _PHRASES.clear()
    _PHRASES[(pattern.pattern, pattern.flags)] = tuple(phrases)
    return pattern


def phrases_of(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """The phrases :func:`compile_phrases` or :func:`compile_tagged` compiled ``pattern`` from, if known."""
    return _PHRASES.get((pattern.pattern, pattern.flags))


def compile_phrases(phrases: Iterable[str], flags: int = re.IGNORECASE) -> re.Pattern[str] | None:
    """One alternation of all phrases with word boundaries, longest first; None when empty."""
    items = [p for p in phrases if p.strip()]
    sources = sorted({phrase_pattern(p) for p in items}, key=longest_first)
    if not sources:
        return None
    return _noted(re.compile(r"(?<!\w)(?:" + "|".join(sources) + r")(?!\w)", flags), items)


def compile_by_lang(table: Mapping[str, Sequence[str]] | None) -> dict[str, re.Pattern[str]]:
    """``{lang: [phrases]}`` from the rule pack to ``{lang: pattern}``."""
    out: dict[str, re.Pattern[str]] = {}
    for lang, phrases in (table or {}).items():
        pattern = compile_phrases(phrases)
        if pattern is not None:
            out[lang] = pattern
    return out


def compile_tagged(table: Mapping[str, Sequence[str]] | None) -> re.Pattern[str] | None:
    """All languages in one pass; ``match.lastgroup`` names the language of the phrase."""
    groups = []
    items: list[str] = []
    for lang, phrases in (table or {}).items():
        sources = sorted({phrase_pattern(p) for p in phrases if p.strip()}, key=longest_first)
        if sources and re.fullmatch(r"[a-z]{2,3}", lang):
            groups.append(f"(?P<{lang}>" + "|".join(sources) + ")")
            items.extend(p for p in phrases if p.strip())
    if not groups:
        return None
    return _noted(re.compile(r"(?<!\w)(?:" + "|".join(groups) + r")(?!\w)", re.IGNORECASE), items)


def compile_all(table: Mapping[str, Sequence[str]] | None) -> re.Pattern[str] | None:
    """All languages of a ``{lang: [phrases]}`` table in one pattern."""
    return compile_phrases(p for phrases in (table or {}).values() for p in phrases)


def clause_before(text: str, start: int, radius: int = 90) -> str:
    """The words of the same clause before ``start`` (stops at . ! ? ; : and line ends)."""
    window = text[max(0, start - radius) : start]
    cut = 0
    for m in _CLAUSE_END.finditer(window):
        # "No." / "Nr." are abbreviations, not clause ends
        if m.group() == "." and _ABBREV.search(window[: m.start()]):
            continue
        cut = m.end()
    return window[cut:]


def sentence_bounds(text: str, start: int, end: int, radius: int = 200) -> tuple[int, int]:
    """Start and end of the sentence (or line) around ``text[start:end]``."""
    a = max(0, start - radius)
    before = text[a:start]
    cuts = [m.end() for m in _SENTENCE_END.finditer(before)]
    b_window = text[end : end + radius]
    m = _SENTENCE_END.search(b_window)
    return (a + cuts[-1] if cuts else a), (end + m.start() if m else min(len(text), end + radius))


def clause_after(text: str, end: int, radius: int = 70) -> str:
    """The words of the same clause after ``end``."""
    window = text[end : end + radius]
    m = _CLAUSE_END.search(window)
    return window[: m.start()] if m else window


def negated(
    text: str,
    start: int,
    end: int,
    before: re.Pattern[str] | None,
    after: re.Pattern[str] | None = None,
) -> str | None:
    """The negator or warning word that turns a match into its opposite, or None."""
    if before is not None:
        m = before.search(clause_before(text, start))
        if m:
            return m.group()
    if after is not None:
        m = after.search(clause_after(text, end))
        if m:
            return m.group()
    return None


def is_question(text: str, end: int, radius: int = 80) -> bool:
    """The match sits in a sentence that ends with a question mark."""
    window = text[end : end + radius]
    m = re.search(r"[.!?\n]", window)
    return bool(m and m.group() == "?")


# --- one compiled view of the rule pack per Knowledge object ------------------------------

_CACHE: dict[tuple[int, str], tuple[Knowledge, Any]] = {}
_CACHE_MAX = 32


def per_kb(kb: Knowledge, key: str, build: Callable[[Knowledge], T]) -> T:
    """Build once per rule pack (patterns compile once, not per site or page)."""
    slot = (id(kb), key)
    hit = _CACHE.get(slot)
    if hit is not None and hit[0] is kb:
        value: T = hit[1]
        return value
    value = build(kb)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[slot] = (kb, value)
    return value


def str_list(data: Mapping[str, Any], key: str) -> list[str]:
    """A list of strings from a ``[data]`` table (missing or malformed -> empty)."""
    value = data.get(key, [])
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def subtable(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A nested table of a ``[data]`` table (missing or malformed -> empty)."""
    value = data.get(key, {})
    return value if isinstance(value, Mapping) else {}


def as_strs(value: Any) -> list[str]:
    """A TOML list as strings (anything else -> empty)."""
    return [str(v) for v in value] if isinstance(value, list) else []


def lang_table(data: Mapping[str, Any], key: str) -> dict[str, list[str]]:
    """A ``{lang: [phrases]}`` table from a ``[data]`` table."""
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str_list(value, k) for k in value}
