"""PC301 licensing: the licence or registration number a site claims, checked against its jurisdiction.

A claim is an authority named in the text (GPhC, a state board, DEA, a provincial college,
a German Aufsichtsbehörde …) followed by a number. The number is checked against the format
documented for that authority (``rules/licence.toml``); it is never looked up here, because
rules do not touch the network: a well-formed number is reported as unverified.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pharmcheck.checks import check, pagehits
from pharmcheck.checks.scope import analyse
from pharmcheck.checks.textmatch import compile_phrases, longest_first, per_kb, phrase_pattern, str_list
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.knowledge import Knowledge
from pharmcheck.site import ParsedPage, Site, anchors

MAX_CLAIMS_PER_PAGE = 60
# A number: letters and digits with single separators (no spaces, so phone numbers split up).
_TOKEN = re.compile(r"(?<![\w])[A-Za-z0-9](?:[A-Za-z0-9]|[-/.#](?=[A-Za-z0-9])){1,39}")
_YEAR = re.compile(r"(?:19|20)\d\d")
_PREFIX = re.compile(r"(?<!\w)([A-Z]{2,4})\s$")


@dataclass(frozen=True)
class Scheme:
    id: str
    jurisdiction: str
    authority: str
    formats: tuple[re.Pattern[str], ...]
    format_label: str
    strict: bool
    shapes: tuple[re.Pattern[str], ...]  # what every number of a strict scheme certainly looks like
    checksum: str
    number_required: bool
    state_lookup: bool
    authority_markers: re.Pattern[str] | None
    register_link: re.Pattern[str] | None
    claim_jurisdictions: tuple[tuple[re.Pattern[str], str], ...]  # phrase -> sub-jurisdiction


@dataclass(frozen=True)
class LicencePatterns:
    schemes: tuple[Scheme, ...]
    claims: re.Pattern[str] | None  # one alternation, group "s<i>" names the scheme
    claims_led: bool  # its matches start with the first words of its phrases (pagehits.finditer)
    claim_parts: tuple[re.Pattern[str], ...]  # its phrases with and without anchor words (see _claim_matches)
    markers: re.Pattern[str]
    stop: re.Pattern[str]
    max_gap: int
    licensed: re.Pattern[str] | None
    generic: re.Pattern[str] | None
    unknown: re.Pattern[str] | None
    unknown_exceptions: re.Pattern[str] | None
    unknown_negators: re.Pattern[str]
    states: tuple[tuple[re.Pattern[str], str], ...]


def _claim_phrases(entry: Mapping[str, Any]) -> tuple[list[str], list[tuple[re.Pattern[str], str]]]:
    phrases: list[str] = []
    subs: list[tuple[re.Pattern[str], str]] = []
    for c in entry.get("claims", []):
        if isinstance(c, str):
            phrases.append(c)
        elif isinstance(c, Mapping) and isinstance(c.get("phrase"), str):
            phrases.append(c["phrase"])
            pat = compile_phrases([c["phrase"]])
            if pat is not None:
                subs.append((pat, str(c.get("jurisdiction", ""))))
    return phrases, subs


def _build(kb: Knowledge) -> LicencePatterns:
    d = kb.family("licence")
    schemes: list[Scheme] = []
    groups: list[str] = []
    all_sources: list[str] = []
    all_phrases: list[str] = []
    for i, entry in enumerate(d.get("schemes", [])):
        if not isinstance(entry, Mapping):
            continue
        phrases, subs = _claim_phrases(entry)
        all_phrases.extend(phrases)
        markers = str_list(entry, "authority_markers")
        link = entry.get("register_link")
        schemes.append(Scheme(
            id=str(entry.get("id", f"scheme{i}")),
            jurisdiction=str(entry.get("jurisdiction", "")),
            authority=str(entry.get("authority", "")),
            formats=tuple(kb.regex(f) for f in str_list(entry, "formats")),
            format_label=str(entry.get("format_label", "")),
            strict=bool(entry.get("strict", False)),
            shapes=tuple(kb.regex(f) for f in str_list(entry, "shapes")),
            checksum=str(entry.get("checksum", "")),
            number_required=bool(entry.get("number_required", True)),
            state_lookup=bool(entry.get("state_lookup", False)),
            authority_markers=pagehits.phrases(markers) if markers else None,
            register_link=kb.regex(link) if isinstance(link, str) and link else None,
            claim_jurisdictions=tuple(subs),
        ))
        sources = sorted({phrase_pattern(p) for p in phrases}, key=longest_first)
        if sources:
            groups.append(f"(?P<s{len(schemes) - 1}>" + "|".join(sources) + ")")
            all_sources.extend(sources)
    states = d.get("us_states", {})
    claims = re.compile(r"(?<!\w)(?:" + "|".join(groups) + r")(?!\w)", re.IGNORECASE) if groups else None
    # every match of the alternation starts with a first word of a phrase: tried only there
    claims_led = (claims is not None and all(p.strip() for p in all_phrases)
                  and pagehits.first_words(all_phrases) is not None)
    if claims_led:
        pagehits.register(claims, all_phrases)
    return LicencePatterns(
        schemes=tuple(schemes),
        claims=claims,
        claims_led=claims_led,
        claim_parts=_split_by_anchors(all_sources),
        markers=kb.regex(str(d.get("number_markers", r"(?i)\bno\b|#|:|\bnumber\b"))),
        stop=kb.regex(str(d.get("gap_stopwords", r"(?i)\b(?:tel|phone|fax)\b"))),
        max_gap=int(d.get("max_gap", 80)),
        licensed=pagehits.phrases(str_list(d, "licensed_phrases")),
        generic=pagehits.phrases(str_list(d, "generic_claims")),
        unknown=pagehits.phrases(str_list(d, "unknown_bodies")),
        unknown_exceptions=pagehits.phrases(str_list(d, "unknown_exceptions")),
        unknown_negators=kb.regex(str(d.get("unknown_negators", r"(?i)\b(?:beware|fake|not|never)\b"))),
        states=tuple(
            (re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.IGNORECASE), str(code))
            for code, name in (states.items() if isinstance(states, Mapping) else [])
            if isinstance(name, str)
        ),
    )


def _wrap(sources: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(sources) + r")(?!\w)", re.IGNORECASE)


def _split_by_anchors(sources: list[str]) -> tuple[re.Pattern[str], ...]:
    """The claim phrases as two alternations, those with anchor words and those without, when
    the one alternation of all of them has none (one phrase of short words, "DL no", leaves the
    whole alternation without a prefilter): () when there is nothing to gain."""
    if not sources or anchors(_wrap(sources)) is not None:
        return ()
    anchored = [s for s in sources if anchors(_wrap([s])) is not None]
    rest = [s for s in sources if anchors(_wrap([s])) is None]
    if not anchored or not rest:
        return ()
    return (_wrap(anchored), _wrap(rest))


def _claim_matches(page: ParsedPage, pats: LicencePatterns) -> Iterator[re.Match[str]]:
    """``pats.claims.finditer(page.text)``, the same matches, with the alternation's parts searched
    apart (each through the page prefilter): the next match starts where the first part's next match
    starts, and is the whole alternation's match there (``match`` at that position, so the branch
    order and the lookbehind decide as in one scan)."""
    claims = pats.claims
    if claims is None:
        return
    if pats.claims_led:  # from the first words of the phrases (the same matches as finditer)
        yield from pagehits.finditer(page, claims)
        return
    if not pats.claim_parts:
        for hit in page.search(claims):
            yield hit.match
        return
    text = page.text
    parts = [p for p in pats.claim_parts if page.may_match(p)]
    # ParsedPage.first (pattern.search(text, pos) in windows around anchor hits) where the page has it
    first: Callable[[re.Pattern[str], int], re.Match[str] | None] = getattr(
        page, "first", lambda pattern, pos: pattern.search(text, pos))
    known: list[tuple[int, int]] = [(-1, -1)] * len(parts)  # (searched from, next start or -1)
    pos = yielded = 0
    while pos <= len(text):
        best = -1
        for i, part in enumerate(parts):
            since, start = known[i]
            if since < 0 or (0 <= start < pos):
                m = first(part, pos)
                start = m.start() if m else -1
                known[i] = (pos, start)
            if start >= 0 and (best < 0 or start < best):
                best = start
        if best < 0:
            return
        m = claims.match(text, best)
        if m is None or m.end() == m.start():  # an empty match (a phrase of gaps): finditer's own rules
            for k, full in enumerate(claims.finditer(text)):
                if k >= yielded:
                    yield full
            return
        yield m
        yielded += 1
        pos = m.end()


def patterns(kb: Knowledge) -> LicencePatterns:
    return per_kb(kb, "licence", _build)


# --- check digits --------------------------------------------------------------------------


def dea_ok(number: str) -> bool:
    """DEA check digit: (d1+d3+d5) + 2*(d2+d4+d6), last digit equals d7."""
    digits = number[2:]
    if len(digits) != 7 or not digits.isdigit():
        return False
    d = [int(c) for c in digits]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = int(c)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def npi_ok(number: str) -> bool:
    """NPI: Luhn over the number prefixed with 80840 (the US health-industry issuer prefix)."""
    return len(number) == 10 and luhn_ok("80840" + number)


_CHECKSUMS = {"dea": dea_ok, "npi": npi_ok}


# --- claims ----------------------------------------------------------------------------------


@dataclass
class Claim:
    scheme: str
    jurisdiction: str
    authority: str
    number: str
    format_ok: bool | None  # None: no number to check
    problem: str
    evidence: Evidence
    extra: dict[str, Any] = field(default_factory=dict)

    def as_data(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "jurisdiction": self.jurisdiction, "authority": self.authority,
                "number": self.number, "format_ok": self.format_ok}


def _number_after(text: str, end: int, pats: LicencePatterns) -> tuple[str, int, int] | None:
    """The first number after ``end`` that a marker (or nothing but punctuation) introduces."""
    window = text[end : end + pats.max_gap + 40]
    for m in _TOKEN.finditer(window):
        if m.start() > pats.max_gap:
            return None
        token = m.group()
        if sum(c.isdigit() for c in token) < 3 or _YEAR.fullmatch(token):
            continue
        gap = window[: m.start()]
        if pats.stop.search(gap):
            return None
        if len(gap.strip(" \t\n:-–(),.#")) == 0 or pats.markers.search(gap):
            return token, end + m.start(), end + m.end()
        return None  # a number not introduced as one (an address, a price): no claim number
    return None


def _check_number(scheme: Scheme, token: str, text: str, start: int) -> tuple[str, bool | None, str]:
    """(number, format_ok, problem). format_ok is None when the number has the certain shape of a
    strict scheme but none of its documented formats: unrecognised, not malformed."""
    number = token.upper()
    prefix = _PREFIX.search(text[max(0, start - 6) : start])
    candidates = [number] + ([prefix.group(1) + number] if prefix else [])
    if not scheme.formats:
        return number, True, ""
    for cand in candidates:
        if any(f.fullmatch(cand) for f in scheme.formats):
            test = _CHECKSUMS.get(scheme.checksum)
            if test is not None and not test(cand):
                return cand, False, f"check digit of {cand} is wrong for a {scheme.authority} number"
            return cand, True, ""
    if not scheme.strict:
        return number, True, ""
    if any(sh.fullmatch(c) for sh in scheme.shapes for c in candidates):
        return number, None, (f"{number} has the shape of a {scheme.authority} number but none of its "
                              f"documented formats ({scheme.format_label}); not counted against the site")
    return number, False, f"{number} does not match the {scheme.authority} format ({scheme.format_label})"


def _jurisdiction(scheme: Scheme, claim_text: str, text: str, start: int, pats: LicencePatterns) -> str:
    for pat, code in scheme.claim_jurisdictions:
        if pat.fullmatch(claim_text):
            return code
    if scheme.state_lookup:
        before = text[max(0, start - 40) : start + len(claim_text) + 40]
        for pat, code in pats.states:
            if pat.search(before):
                return f"{scheme.jurisdiction}-{code}"
    return scheme.jurisdiction


def _authority_named(scheme: Scheme, page: ParsedPage) -> str:
    """For jurisdictions without public numbers: the authority named after a marker, or ''."""
    if scheme.authority_markers is None:
        return ""
    m = pagehits.first_match(page, scheme.authority_markers)  # the first match, via the page index
    if m is None:
        return ""
    rest = page.text[m.end() : m.end() + 160].lstrip(" :\n-–")
    return rest.split("\n", 1)[0][:100].strip()


_Linked = dict[str, list[tuple[Scheme, re.Match[str]]]]  # URL -> the register links it matches


def _page_claims(page: ParsedPage, pats: LicencePatterns,
                 linked_by_url: _Linked | None = None) -> Iterator[Claim]:
    """The page's claims; ``linked_by_url`` (one site's) remembers the register links each URL matches."""
    text = page.text
    if pats.claims is not None:
        for i, m in enumerate(_claim_matches(page, pats)):  # pats.claims.finditer(text)
            if i >= MAX_CLAIMS_PER_PAGE:
                break
            key = m.lastgroup or ""
            if not key.startswith("s"):
                continue
            scheme = pats.schemes[int(key[1:])]
            ev = Evidence(page.url, page.excerpt(m.start(), m.end()))
            juris = _jurisdiction(scheme, m.group(), text, m.start(), pats)
            found = _number_after(text, m.end(), pats)
            if found is None:
                if not scheme.number_required:
                    named = _authority_named(scheme, page)
                    if named:
                        yield Claim(scheme.id, juris, named, "", True, "", ev)
                        continue
                yield Claim(scheme.id, juris, scheme.authority, "", None, "", ev)
                continue
            token, start, end = found
            number, ok, problem = _check_number(scheme, token, text, start)
            ev = Evidence(page.url, page.excerpt(m.start(), end))
            yield Claim(scheme.id, juris, scheme.authority, number, ok, problem, ev)
    linked = [(scheme, scheme.register_link) for scheme in pats.schemes if scheme.register_link is not None]
    if not linked:
        return
    memo = {} if linked_by_url is None else linked_by_url
    for link in page.links:
        matched = memo.get(link.url)
        if matched is None:  # a site repeats its links on every page: each URL read once
            matched = []
            for scheme, register_link in linked:
                lm = register_link.search(link.url)
                if lm:
                    matched.append((scheme, lm))
            memo[link.url] = matched
        for scheme, hit in matched:
            number, ok, problem = _check_number(scheme, hit.group(1), "", 0)
            yield Claim(scheme.id, scheme.jurisdiction, scheme.authority, number, ok, problem,
                        Evidence(page.url, f"link to {link.url}"), {"register_link": link.url})


def _unknown_claims(page: ParsedPage, pats: LicencePatterns) -> Iterator[Claim]:
    if pats.unknown is None or not page.may_match(pats.unknown):
        return
    text = page.text
    real = ([(e.start(), e.end()) for e in pagehits.finditer(page, pats.unknown_exceptions)]
            if pats.unknown_exceptions is not None else [])
    for m in pagehits.finditer(page, pats.unknown):
        if pats.unknown_negators.search(text[max(0, m.start() - 60) : m.start()]):
            continue
        if any(a <= m.start() and m.end() <= b for a, b in real):
            continue  # part of a real body's name (CIPA), not an invented one
        found = _number_after(text, m.end(), pats)
        number = found[0].upper() if found else ""
        end = found[2] if found else m.end()
        yield Claim("unknown", "", m.group(), number, False,
                    f"'{m.group()}' is not a pharmacy licensing authority in any jurisdiction",
                    Evidence(page.url, page.excerpt(m.start(), end)))


def _generic_claims(page: ParsedPage, pats: LicencePatterns) -> Iterator[Claim]:
    if pats.generic is None or not page.may_match(pats.generic):
        return
    for m in pagehits.finditer(page, pats.generic):
        found = _number_after(page.text, m.end(), pats)
        if found:
            yield Claim("generic", "", "", found[0].upper(), None, "",
                        Evidence(page.url, page.excerpt(m.start(), found[2])))


def _describe(c: Claim) -> str:
    who = c.authority or "an unnamed authority"
    where = f" ({c.jurisdiction})" if c.jurisdiction else ""
    return f"{who}{where} number {c.number}" if c.number else f"{who}{where}"


@check("PC301")
def licence_number(site: Site) -> Iterator[Finding]:
    """A licence or registration number of a named authority, in that authority's format."""
    pats = patterns(site.kb)
    claims: list[Claim] = []
    generic: list[Claim] = []
    licensed: list[Evidence] = []
    linked_by_url: _Linked = {}
    for page in site.pages:
        claims.extend(_page_claims(page, pats, linked_by_url))
        claims.extend(_unknown_claims(page, pats))
        generic.extend(_generic_claims(page, pats))
        if pats.licensed is not None and not licensed:
            m = pagehits.first_match(page, pats.licensed)
            if m is not None:
                licensed.append(Evidence(page.url, page.excerpt(m.start(), m.end())))
    # one entry per (scheme, number)
    unique: dict[tuple[str, str, str], Claim] = {}
    for c in claims:
        unique.setdefault((c.scheme, c.number, c.authority if not c.number else ""), c)
    claims = list(unique.values())
    numbers = {c.number for c in claims if c.number}
    generic = [g for g in generic if g.number not in numbers]
    data_claims = [c.as_data() for c in claims[:10]]

    good = [c for c in claims if c.format_ok]
    # A number that a more specific authority named next to it accepts is not malformed because a
    # generic phrase ("pharmacy registration number") also matched another jurisdiction's scheme.
    accepted = {c.number for c in good if c.number}
    bad = [c for c in claims if c.format_ok is False and c.number not in accepted]
    if bad:
        c = bad[0]
        message = c.problem or f"malformed {_describe(c)}"
        yield site.finding("PC301", Outcome.FAIL, message, [b.evidence for b in bad],
                           result="licence-malformed",
                           jurisdiction=c.jurisdiction, number=c.number, authority=c.authority,
                           format_ok=False, claims=data_claims)
        return
    if good:
        c = next((g for g in good if g.number), good[0])
        if c.number:
            message = (f"{_describe(c)} is well-formed for {c.jurisdiction or 'its jurisdiction'}; "
                       "not yet verified against the register")
        else:
            message = (f"licence from {c.authority} ({c.jurisdiction}) named; "
                       "not yet verified against the register")
        yield site.finding("PC301", Outcome.PASS, message, [g.evidence for g in good],
                           result="licence-wellformed",
                           jurisdiction=c.jurisdiction, number=c.number, authority=c.authority,
                           format_ok=True, verified=False, claims=data_claims)
        return
    if generic:
        g = generic[0]
        yield site.finding("PC301", Outcome.WARN,
                           f"licence number {g.number} names no licensing authority, so it cannot be checked",
                           [x.evidence for x in generic], result="licence-authority-unnamed",
                           jurisdiction="", number=g.number, authority="",
                           format_ok=None, claims=data_claims)
        return
    unsure = [c for c in claims if c.format_ok is None and c.number and c.problem]
    if unsure:
        c = unsure[0]
        yield site.finding("PC301", Outcome.WARN, c.problem, [u.evidence for u in unsure],
                           result="licence-unrecognised", jurisdiction=c.jurisdiction, number=c.number,
                           authority=c.authority, format_ok=None, claims=data_claims)
        return
    named = [c for c in claims if c.format_ok is None]
    if named:
        c = named[0]
        yield site.finding("PC301", Outcome.WARN,
                           f"names {_describe(c)} but shows no licence or registration number",
                           [n.evidence for n in named], result="licence-number-absent",
                           jurisdiction=c.jurisdiction, number="",
                           authority=c.authority, format_ok=None, claims=data_claims)
        return
    if licensed:
        yield site.finding("PC301", Outcome.WARN,
                           "claims to be licensed but shows no licence number and names no authority",
                           licensed, result="licence-claimed-only",
                           jurisdiction="", number="", authority="", format_ok=None, claims=[])
        return
    if not analyse(site).pharmacy:
        yield site.finding("PC301", Outcome.SKIP, "not a pharmacy and no licence claimed")
        return
    yield site.finding("PC301", Outcome.FAIL, "no licence or registration number found",
                       result="licence-absent",
                       jurisdiction="", number="", authority="", format_ok=None, claims=[])
