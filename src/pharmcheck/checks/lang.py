"""PC002: which languages a site is written in, from content first and the lang attribute second.

A stop-word counter (lists in ``rules/languages.toml``) is enough to tell the six languages
the rule pack covers apart; the declared ``lang`` attribute is used when the text is too
short to decide, since shop templates copied across markets often keep a wrong one.
"""

from __future__ import annotations

import re
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pharmcheck.checks import check
from pharmcheck.checks.textmatch import per_kb
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.knowledge import Knowledge
from pharmcheck.site import ParsedPage, Site

_TOKEN = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Detector:
    words: dict[str, str]  # stop word -> language (words listed for two languages are dropped)
    min_hits: int
    min_ratio: float
    max_chars: int


def _build(kb: Knowledge) -> Detector:
    data = kb.family("languages")
    table = data.get("stopwords", {})
    owners: dict[str, set[str]] = {}
    if isinstance(table, Mapping):
        for lang, words in table.items():
            for w in words if isinstance(words, list) else []:
                owners.setdefault(str(w).lower(), set()).add(str(lang))
    return Detector(
        words={w: next(iter(langs)) for w, langs in owners.items() if len(langs) == 1},
        min_hits=int(data.get("min_hits", 6)),
        min_ratio=float(data.get("min_ratio", 1.5)),
        max_chars=int(data.get("max_chars", 20000)),
    )


def _tokens(text: str) -> list[str]:
    """``_TOKEN.findall(text)``, faster: whitespace is never part of a token, and a whitespace-separated
    chunk made of letters only (``str.isalpha``: letters are word characters, never digits) is one token."""
    out: list[str] = []
    findall = _TOKEN.findall
    for chunk in text.split():
        if chunk.isalpha():
            out.append(chunk)
        else:
            out.extend(findall(chunk))
    return out


def detect(text: str, kb: Knowledge) -> str:
    """The language of ``text`` by stop-word counts, or "" when undecided."""
    det = per_kb(kb, "lang.detector", _build)
    counts: Counter[str] = Counter()
    words = det.words
    findall = _TOKEN.findall
    # each distinct whitespace-separated chunk once, in order of first occurrence, and its tokens in
    # order (see _tokens): the counts and their order are those of a token-by-token count
    for chunk, n in Counter(text[: det.max_chars].lower().split()).items():
        if chunk.isalpha():
            lang = words.get(chunk)
            if lang:
                counts[lang] += n
            continue
        for token in findall(chunk):
            lang = words.get(token)
            if lang:
                counts[lang] += n
    ranked = counts.most_common(2)
    if not ranked or ranked[0][1] < det.min_hits:
        return ""
    if len(ranked) > 1 and ranked[0][1] < det.min_ratio * ranked[1][1]:
        return ""
    return ranked[0][0]


_PAGE_LANG: weakref.WeakKeyDictionary[ParsedPage, str] = weakref.WeakKeyDictionary()


def detected(page: ParsedPage, kb: Knowledge) -> str:
    """``detect(page.text, kb)``, once per page."""
    key = ("lang.detect", id(kb))
    shared = page.shared
    if key not in shared:
        shared[key] = detect(page.text, kb)
    found: str = shared[key]
    return found


def page_language(page: ParsedPage, kb: Knowledge) -> str:
    """Detected language of a page, else its declared ``lang`` primary subtag, else ""."""
    cached = _PAGE_LANG.get(page)
    if cached is None:
        cached = detected(page, kb) or page.lang
        _PAGE_LANG[page] = cached
    return cached


def site_languages(site: Site) -> list[str]:
    """Languages of the site's pages, the most pages first."""
    counts: Counter[str] = Counter()
    for page in site.pages:
        lang = page_language(page, site.kb)
        if lang:
            counts[lang] += 1
    return [lang for lang, _ in counts.most_common()]


@check("PC002")
def languages(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    langs = site_languages(site)
    declared = sorted({p.lang for p in site.pages if p.lang})
    evidence = [
        Evidence(p.url, f"lang={p.lang or '-'}; detected {detected(p, site.kb) or 'undecided'}")
        for p in site.pages[:3]
    ]
    message = ("languages: " + ", ".join(langs)) if langs else "language could not be determined"
    if declared and langs and not set(declared) & set(langs):
        message += f" (declared lang: {', '.join(declared)})"
    yield site.finding("PC002", Outcome.INFO, message, evidence, languages=langs, declared=declared)
