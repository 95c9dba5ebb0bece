"""Reading a match in its context: is it affirmed, negated, or on a warning/education page?

Red-flag wording is also the wording of the pages that warn about it ("beware of sites
offering bonus pills") and of honest denials ("we never accept bitcoin"). Every wording
rule in the checklist therefore asks this module before it counts a match. The word lists
are data (``[data.context]`` in ``rules/redflags.toml``), one list per language; the
language is the one of the pattern that matched, so a Spanish "no" negates only Spanish.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from pharmcheck.checks.lang import page_language
from pharmcheck.checks.pagehits import finditer, leads_of, live
from pharmcheck.checks.textmatch import clause_after, clause_before, compile_by_lang, lang_table, per_kb
from pharmcheck.findings import Evidence
from pharmcheck.knowledge import Knowledge
from pharmcheck.site import ParsedPage, Site

EDUCATION_RADIUS = 300  # characters before a match searched for "beware of…" framing
MAX_HITS_PER_PAGE = 25  # bound the work per page on hostile input
LANGS = ("en", "de", "fr", "es", "it", "nl")


@dataclass(frozen=True)
class Context:
    before: dict[str, re.Pattern[str]]  # negators in the same clause before the match
    after: dict[str, re.Pattern[str]]  # negating phrases in the same clause after the match
    education: dict[str, re.Pattern[str]]  # warning/education framing before the match
    education_titles: dict[str, re.Pattern[str]]  # page titles/h1 of warning/education pages


def _build(kb: Knowledge) -> Context:
    data = kb.family("redflags").get("context", {})
    data = data if isinstance(data, Mapping) else {}
    return Context(
        before=compile_by_lang(lang_table(data, "negators")),
        after=compile_by_lang(lang_table(data, "negators_after")),
        education=compile_by_lang(lang_table(data, "education")),
        education_titles=compile_by_lang(lang_table(data, "education_titles")),
    )


def context_of(kb: Knowledge) -> Context:
    return per_kb(kb, "context.rules", _build)


def _langs(lang: str, page_lang: str = "") -> Iterable[str]:
    if lang == "any":
        return LANGS
    if page_lang and page_lang != lang:
        return (lang, page_lang)
    return (lang,)


def education_page(page: ParsedPage, ctx: Context) -> str | None:
    """The title or main heading words that make the whole page a warning/education page."""
    cache: dict[int, str | None] = page.__dict__.setdefault("_education_cache", {})
    key = id(ctx)
    if key not in cache:
        cache[key] = _education_page(page, ctx)
    return cache[key]


def _education_page(page: ParsedPage, ctx: Context) -> str | None:
    heads = [page.title]
    h1 = next(iter(page.named("h1")), None)
    if h1 is not None:
        heads.append(" ".join(h1.get_text(" ").split())[:300])
    for head in heads:
        for pattern in ctx.education_titles.values():
            m = pattern.search(head)
            if m:
                return m.group()
    return None


def judge(
    text: str,
    start: int,
    end: int,
    lang: str,
    ctx: Context,
    extra_before: Mapping[str, re.Pattern[str]] | None = None,
    page_lang: str = "",
) -> str | None:
    """Why the match at ``text[start:end]`` does not count (``negated: …``/``education: …``), or None.

    The words of the pattern's language are used, and those of the page's language too: a
    German phrase list may match a loan word on a Dutch page, whose negation is Dutch.
    """
    before = clause_before(text, start)
    after = clause_after(text, end)
    for lg in _langs(lang, page_lang):
        for table in (ctx.before, extra_before or {}):
            pattern = table.get(lg)
            if pattern is not None:
                m = pattern.search(before)
                if m:
                    return f"negated: {m.group()}"
        pattern = ctx.after.get(lg)
        if pattern is not None:
            m = pattern.search(after)
            if m:
                return f"negated: {m.group()}"
        pattern = ctx.education.get(lg)
        if pattern is not None:
            m = pattern.search(text[max(0, start - EDUCATION_RADIUS) : start]) or pattern.search(after)
            if m:
                return f"education: {m.group()}"
    return None


@dataclass
class TextHit:
    """An affirmed match on a page: where, what, and in which language's wording."""

    page: ParsedPage
    start: int
    end: int
    lang: str
    text: str = field(default="")

    def evidence(self) -> Evidence:
        return Evidence(self.page.url, self.page.excerpt(self.start, self.end))


def find_affirmed(
    site: Site,
    patterns: Mapping[str, re.Pattern[str]],
    kinds: Iterable[str] | None = None,
    use_context: bool = True,
    extra_before: Mapping[str, re.Pattern[str]] | None = None,
    pages: Iterable[ParsedPage] | None = None,
) -> Iterator[TextHit]:
    """Every match of ``{lang: pattern}`` on the site's pages that context does not cancel."""
    ctx = context_of(site.kb)
    wanted = set(kinds) if kinds else None
    items = list(patterns.items())
    leads = [leads_of(pattern) for _, pattern in items]
    for page in pages if pages is not None else site.pages:
        if wanted is not None and page.kind not in wanted:
            continue
        if site.out_of_budget(f"matching on {page.url}"):
            return
        here = live(page, items, leads)  # most phrase lists have no first word on most pages
        if not here:
            continue
        if use_context and education_page(page, ctx):
            continue
        text = page.text
        page_lang = page_language(page, site.kb)
        count = 0
        for lang, pattern in here:
            for m in finditer(page, pattern):  # the regex runs only where a match can start
                if use_context and judge(text, m.start(), m.end(), lang, ctx, extra_before, page_lang):
                    continue
                yield TextHit(page, m.start(), m.end(), lang, m.group())
                count += 1
                if count >= MAX_HITS_PER_PAGE:
                    break
            if count >= MAX_HITS_PER_PAGE:
                break
