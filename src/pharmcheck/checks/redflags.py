"""PC5xx red flags that need more than a phrase list: controlled substances, discounts, generics, catalogues.

Phrase-only red flags (bonus pills, offshore supply, customs, payment, overnight no-Rx) are
data-only pattern rules run by :mod:`pharmcheck.checks.patterns`. Everything here reads its
word lists from ``rules/redflags.toml`` and ``rules/controlled.toml`` and asks
:mod:`pharmcheck.checks.context` before counting a match.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pharmcheck.checks import check
from pharmcheck.checks.context import Context, context_of, education_page, find_affirmed, judge
from pharmcheck.checks.lang import page_language
from pharmcheck.checks.pagehits import finditer, line_starts, matches, phrases, phrases_by_lang, register
from pharmcheck.checks.textmatch import compile_all, compile_by_lang, lang_table, longest_first, per_kb
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.knowledge import Knowledge
from pharmcheck.site import ParsedPage, Site

MAX_NAME_HITS = 60  # drug-name matches examined per page


_PLAIN_LEAD = re.compile(r"[^\s{}\[\]*~|]{2,}(?:\s|$)")  # a first word phrase_leads reads as itself


def _names_regex(names: list[str]) -> re.Pattern[str] | None:
    names = sorted({n.lower() for n in names if n}, key=longest_first)
    if not names:
        return None
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE)
    # every match starts with a name's first word: matched from those words (pagehits) when each
    # name's first word is plain text (phrase syntax would read "{", "[", "*", "~" otherwise)
    if all(_PLAIN_LEAD.match(n) for n in names):
        register(pattern, names)
    return pattern


def needs_char(pattern: re.Pattern[str], ch: str) -> bool:
    """Whether every match of ``pattern`` holds the character ``ch`` (a conservative reading: True only
    when each top-level branch has ``ch`` as a plain, unquantified item outside any group or class).
    ``ch`` must be a character no other character matches case-insensitively (checked)."""
    if len(ch) != 1 or ch.isalnum() or ch in "\\()[]{}|?*+.^$#" or ch.lower() != ch.upper() \
            or pattern.flags & re.VERBOSE:
        return False
    src = pattern.pattern
    depth = 0
    held = False  # the current top-level branch holds ch
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":  # a class: skip to its end ("]" first or after "^" is a member)
            j = i + 1
            if j < n and src[j] == "^":
                j += 1
            if j < n and src[j] == "]":
                j += 1
            while j < n and src[j] != "]":
                j += 2 if src[j] == "\\" else 1
            i = j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and c == "|":
            if not held:
                return False
            held = False
        elif depth == 0 and c == ch and (i + 1 >= n or src[i + 1] not in "?*{"):
            held = True
        i += 1
    return held and depth == 0


@dataclass(frozen=True)
class Lexicon:
    controlled: re.Pattern[str] | None
    controlled_by_name: dict[str, dict[str, str]]
    no_rx: dict[str, re.Pattern[str]]
    commerce: re.Pattern[str] | None
    price: re.Pattern[str]
    window: int
    buy_more: dict[str, re.Pattern[str]]
    discount: re.Pattern[str]
    discount_needs: str  # a character every discount match holds ("" when unknown): pages without it skip
    min_discount: int
    tier: re.Pattern[str]
    max_supply: int
    generic: dict[str, re.Pattern[str]]
    generic_negators: dict[str, re.Pattern[str]]
    no_generic_as_of: str
    lifestyle: re.Pattern[str] | None
    lifestyle_by_name: dict[str, tuple[str, str]]
    lifestyle_multiline: bool  # a name holds a line break (read once, not per page)
    per_pill: re.Pattern[str] | None
    per_pill_slash: re.Pattern[str]
    warn_at: int
    fail_at: int


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    return value if isinstance(value, Mapping) else {}


def _build(kb: Knowledge) -> Lexicon:
    rf = kb.family("redflags")
    subs = kb.family("controlled").get("substances", [])
    by_name: dict[str, dict[str, str]] = {}
    for s in subs if isinstance(subs, list) else []:
        for n in s.get("names", []):
            by_name[str(n).lower()] = {k: str(s.get(k, "")) for k in ("name", "group", "us", "uk")}
    volume = _table(rf, "volume")
    offer = _table(rf, "offer")
    nogen = _table(rf, "no_generic")
    brands = [str(b) for b in nogen.get("brands", [])]
    generic: dict[str, re.Pattern[str]] = {}
    if brands:
        brand_alt = "{" + "|".join(brands) + "}"
        for lang, words in lang_table(rf, "generic_words").items():
            word_alt = "{" + "|".join(words) + "}"
            pattern = phrases([f"{word_alt} {brand_alt}", f"{brand_alt} {word_alt}"])
            if pattern is not None:
                generic[lang] = pattern
    life = _table(rf, "lifestyle")
    life_by_name: dict[str, tuple[str, str]] = {}
    for row in life.get("drugs", []):
        if isinstance(row, list) and len(row) >= 2:
            for n in row[:-1]:
                life_by_name[str(n).lower()] = (str(row[0]), str(row[-1]))
    discount = kb.regex(str(volume.get("discount_regex", r"(\d{2})\s?%")))
    return Lexicon(
        controlled=_names_regex(list(by_name)),
        controlled_by_name=by_name,
        no_rx=compile_by_lang(lang_table(rf, "no_rx")),
        commerce=compile_all(lang_table(rf, "commerce")),
        price=kb.regex(str(offer.get("price_regex", r"[$€£]\s?\d{1,5}")), re.IGNORECASE),
        window=int(offer.get("no_rx_window", 200)),
        buy_more=phrases_by_lang({"any": [str(p) for p in volume.get("buy_more", [])]}),
        discount=discount,
        discount_needs="%" if isinstance(discount, re.Pattern) and needs_char(discount, "%") else "",
        min_discount=int(volume.get("min_discount_percent", 60)),
        tier=kb.regex(str(volume.get("tier_regex", r"(\d+) pills"))),
        max_supply=int(volume.get("max_supply_pills", 90)),
        generic=generic,
        generic_negators=compile_by_lang({"en": ["no"], "it": ["nessun~"], "fr": ["pas de"]}),
        no_generic_as_of=str(nogen.get("as_of", "")),
        lifestyle=_names_regex(list(life_by_name)),
        lifestyle_by_name=life_by_name,
        lifestyle_multiline=any("\n" in name for name in life_by_name),
        per_pill=compile_all(lang_table(rf, "per_pill")),
        per_pill_slash=kb.regex(str(life.get("per_pill_regex", r"/\s?pill\b")), re.IGNORECASE),
        warn_at=int(life.get("warn_at", 4)),
        fail_at=int(life.get("fail_at", 8)),
    )


def lexicon(kb: Knowledge) -> Lexicon:
    return per_kb(kb, "redflags.lexicon", _build)


def _lang(page: ParsedPage, kb: Knowledge) -> str:
    lang = page_language(page, kb)
    return lang if lang in ("en", "de", "fr", "es", "it", "nl") else "en"


def _near_lines(text: str, start: int, end: int, radius: int) -> tuple[int, int]:
    """Bounds of the passage around a match: its line and the lines either side, at most ``radius`` away."""
    a = text.rfind("\n", 0, start)
    a = text.rfind("\n", 0, a) if a > 0 else -1
    b = text.find("\n", end)
    b = text.find("\n", b + 1) if b != -1 else -1
    b = len(text) if b == -1 else b
    return max(a + 1, start - radius), min(b, end + radius)


def _affirmed_in(
    text: str, a: int, b: int, patterns: Mapping[str, re.Pattern[str]], ctx: Context, page_lang: str
) -> re.Match[str] | None:
    for lang, pattern in patterns.items():
        for m in pattern.finditer(text, a, b):
            if not judge(text, m.start(), m.end(), lang, ctx, page_lang=page_lang):
                return m
    return None


@dataclass
class _Offer:
    substance: dict[str, str]
    evidence: Evidence
    no_rx: bool


def _controlled_offers(site: Site) -> list[_Offer]:
    lex = lexicon(site.kb)
    ctx = context_of(site.kb)
    offers: list[_Offer] = []
    if lex.controlled is None:
        return offers
    named: dict[str, re.Match[str] | None] = {}
    for page in site.pages:
        if education_page(page, ctx):
            continue
        lang = _lang(page, site.kb)
        text = page.text
        for m in matches(page, lex.controlled, MAX_NAME_HITS):
            if judge(text, m.start(), m.end(), lang, ctx):
                continue
            a, b = _near_lines(text, m.start(), m.end(), lex.window)
            sub = lex.controlled_by_name[m.group().lower()]
            norx = _affirmed_in(text, a, b, lex.no_rx, ctx, lang)
            if norx is not None:
                lo, hi = min(m.start(), norx.start()), max(m.end(), norx.end())
                offers.append(_Offer(sub, Evidence(page.url, page.excerpt(lo, hi, radius=40)), True))
                continue
            la, lb = _near_lines(text, m.start(), m.end(), 120)
            commerce = (lex.commerce is not None and lex.commerce.search(text, la, lb)) or lex.price.search(
                text, la, lb
            )
            if commerce:
                offers.append(_Offer(sub, Evidence(page.url, page.excerpt(m.start(), m.end())), False))
        title = page.title
        tm = lex.controlled.search(title)
        if tm and any(p.search(title) for p in lex.no_rx.values()):
            sub = lex.controlled_by_name[tm.group().lower()]
            offers.append(_Offer(sub, Evidence(page.url, f"title: {title}"), True))
        for link in page.links:
            if link.same_site and len(link.text) < 80:
                if link.text in named:  # a site repeats its links on every page: each text read once
                    lm = named[link.text]
                else:
                    lm = named[link.text] = lex.controlled.search(link.text)
                if lm:
                    sub = lex.controlled_by_name[lm.group().lower()]
                    offers.append(_Offer(sub, Evidence(link.url, f"product link: {link.text}"), False))
    return offers


def _names(offers: list[_Offer]) -> list[str]:
    return sorted({o.substance["name"] for o in offers})


@check("PC501", "PC502")
def controlled(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    offers = _controlled_offers(site)
    no_rx = [o for o in offers if o.no_rx]
    if no_rx:
        names = _names(no_rx)
        yield site.finding(
            "PC501",
            Outcome.FAIL,
            f"controlled substance(s) offered without prescription: {', '.join(names)}",
            [o.evidence for o in no_rx],
            substances=names,
            schedules={
                o.substance["name"]: {"us": o.substance["us"], "uk": o.substance["uk"]} for o in no_rx
            },
        )
    else:
        yield site.finding("PC501", Outcome.PASS, "no controlled substance offered without prescription")
    if offers:
        names = _names(offers)
        yield site.finding(
            "PC502",
            Outcome.WARN,
            f"controlled substance(s) offered: {', '.join(names)}",
            [o.evidence for o in offers],
            substances=names,
        )
    else:
        yield site.finding("PC502", Outcome.PASS, "no controlled substance offered for sale")


def _price(raw: str) -> float:
    return float(raw.replace(",", "."))


def _tiers(page: ParsedPage, lex: Lexicon) -> list[tuple[int, float]]:
    """Longest run of pack sizes with rising quantity and falling price per pill on one page."""
    best: list[tuple[int, float]] = []
    run: list[tuple[int, float]] = []
    for i, hit in enumerate(page.search(lex.tier)):
        if i > 400:
            break
        m = hit.match
        qty = int(m.group(1))
        raw = m.group(2) or m.group(3)
        if not qty or not raw:
            continue
        unit = _price(raw) / qty
        if run and qty > run[-1][0] and unit < run[-1][1]:
            run.append((qty, unit))
        else:
            run = [(qty, unit)]
        if len(run) > len(best):
            best = list(run)
    return best


@check("PC511")
def volume_discount(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    lex = lexicon(site.kb)
    ctx = context_of(site.kb)
    fails: list[Evidence] = []
    found: list[str] = []
    for hit in find_affirmed(site, lex.buy_more):
        fails.append(hit.evidence())
        found.append(hit.text)
    warn: list[Evidence] = []
    for page in site.pages:
        if education_page(page, ctx):
            continue
        lang = _lang(page, site.kb)
        text = page.text
        no_discount = bool(lex.discount_needs) and lex.discount_needs not in text
        for i, found_at in enumerate(() if no_discount else page.search(lex.discount)):
            if i > 100:
                break
            m = found_at.match
            pct = int(m.group(1) or m.group(2) or 0)
            if pct >= lex.min_discount and not judge(text, m.start(), m.end(), lang, ctx):
                fails.append(Evidence(page.url, page.excerpt(m.start(), m.end())))
                found.append(f"{pct}%")
        tiers = _tiers(page, lex)
        if len(tiers) >= 3:
            summary = ", ".join(f"{q}: {u:.2f}/pill" for q, u in tiers[:6])
            if tiers[-1][0] > lex.max_supply:
                fails.append(Evidence(page.url, f"pack tiers {summary}"))
                found.append(f"tiers up to {tiers[-1][0]} pills")
            else:
                warn.append(Evidence(page.url, f"pack tiers {summary}"))
    if fails:
        yield site.finding(
            "PC511",
            Outcome.FAIL,
            "steep volume discounts: " + ", ".join(found[:4]),
            fails,
            matches=found[:10],
        )
    elif warn:
        yield site.finding(
            "PC511", Outcome.WARN, "price per pill falls with pack size (within three months' supply)", warn
        )
    else:
        yield site.finding("PC511", Outcome.PASS, "no steep volume discount found")


@check("PC512")
def unapproved_generic(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    lex = lexicon(site.kb)
    hits = list(find_affirmed(site, lex.generic, extra_before=lex.generic_negators))
    if hits:
        brands = sorted({" ".join(h.text.split()) for h in hits}, key=str.lower)[:10]
        yield site.finding(
            "PC512",
            Outcome.FAIL,
            f"'generic' of a brand with no approved generic (as of {lex.no_generic_as_of}): "
            + ", ".join(brands[:3]),
            [h.evidence() for h in hits],
            matches=brands,
            as_of=lex.no_generic_as_of,
        )
    else:
        yield site.finding("PC512", Outcome.PASS, "no 'generic' of a brand without an approved generic")


def _name_lines(page: ParsedPage, lex: Lexicon) -> list[int] | None:
    """Indexes of the lines that name a lifestyle drug (None: every line must be read).

    A name holds no line break, so a match of the names in the text lies within one line, and
    the line's own matches are the text's matches inside it (a line starts and ends where the
    text has a line break: the same non-word neighbour for the pattern's boundaries)."""
    if lex.lifestyle is None:
        return []
    if lex.lifestyle_multiline:
        return None
    starts = line_starts(page)
    return sorted({bisect.bisect_right(starts, m.start()) - 1 for m in finditer(page, lex.lifestyle)})


def _per_pill_lines(page: ParsedPage, lex: Lexicon) -> Iterator[int]:
    """Lines with a price per pill that a lifestyle drug name ends or precedes by up to three lines."""
    # a line holds a per-pill match only if the page text holds its anchor words
    per_pill = lex.per_pill is not None and page.may_match(lex.per_pill)
    if not (per_pill or page.may_match(lex.per_pill_slash)):
        return
    lines = page.lines[:5000]
    named = _name_lines(page, lex)
    # only these lines can give lifestyle_catalogue a drug: a name on the line or the three before
    wanted = range(len(lines)) if named is None else sorted(
        {i for j in named for i in range(j, j + 4) if i < len(lines)})
    for i in wanted:
        line = lines[i]
        if not lex.price.search(line):
            continue
        if lex.per_pill_slash.search(line) or (lex.per_pill is not None and lex.per_pill.search(line)):
            yield i


@check("PC513")
def lifestyle_catalogue(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    lex = lexicon(site.kb)
    ctx = context_of(site.kb)
    drugs: dict[str, tuple[str, Evidence]] = {}
    if lex.lifestyle is not None:
        for page in site.pages:
            if education_page(page, ctx):
                continue
            lines = page.lines
            named: dict[int, list[str]] = {}  # the names on each line, read once (priced lines share them)
            for i in _per_pill_lines(page, lex):
                for j in range(max(0, i - 3), i + 1):
                    on_line = named.get(j)
                    if on_line is None:
                        on_line = named[j] = [m.group() for m in lex.lifestyle.finditer(lines[j])]
                    for name in on_line:
                        canon, category = lex.lifestyle_by_name[name.lower()]
                        if canon not in drugs:
                            excerpt = " ".join(lines[j : i + 1])[:200]
                            drugs[canon] = (category, Evidence(page.url, excerpt))
    n = len(drugs)
    names = sorted(drugs)
    categories = sorted({c for c, _ in drugs.values()})
    evidence = [e for _, e in drugs.values()]
    message = f"{n} distinct lifestyle drug(s) priced per pill" + (
        f": {', '.join(names[:6])}" if names else ""
    )
    if n >= lex.fail_at:
        outcome = Outcome.FAIL
    elif n >= lex.warn_at:
        outcome = Outcome.WARN
    else:
        outcome = Outcome.PASS
    yield site.finding("PC513", outcome, message, evidence, count=n, drugs=names, categories=categories)
