"""PC25x identity tells: unbacked Canadian claims, names changing per page, templates, brand domains.

Lists and fingerprints are data in ``rules/identity.toml``; each fingerprint names its
source. Claims are read in context, so a news page *about* "Canadian pharmacy" spam or a
denial ("we are not a Canadian pharmacy") does not count as a claim.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pharmcheck.checks import check
from pharmcheck.checks.context import LANGS, context_of, education_page, find_affirmed
from pharmcheck.checks.textmatch import as_strs, compile_by_lang, compile_phrases, per_kb, subtable
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.knowledge import Knowledge
from pharmcheck.site import Site
from pharmcheck.urls import domain_label


@dataclass(frozen=True)
class Fingerprint:
    name: str
    regexes: tuple[re.Pattern[str], ...]
    source: str


@dataclass(frozen=True)
class IdentityData:
    claim: dict[str, re.Pattern[str]]
    provinces: re.Pattern[str] | None
    regulators: re.Pattern[str] | None
    licence: re.Pattern[str] | None
    fingerprints: tuple[Fingerprint, ...]
    drug_brands: tuple[str, ...]
    manufacturers: frozenset[str]
    affixes: re.Pattern[str]
    copyright: re.Pattern[str]
    drop_words: frozenset[str]


def _build(kb: Knowledge) -> IdentityData:
    data = kb.family("identity")
    cc = subtable(data, "canadian_claim")
    claim = compile_by_lang({k: as_strs(v) for k, v in cc.items() if k in LANGS})
    prints = []
    for fp in data.get("fingerprints", []):
        if isinstance(fp, Mapping):
            prints.append(
                Fingerprint(
                    str(fp.get("name", "")),
                    tuple(kb.regex(r) for r in as_strs(fp.get("all"))),
                    str(fp.get("source", "")),
                )
            )
    bd = subtable(data, "brand_domain")
    affixes = sorted(as_strs(bd.get("affixes")), key=len, reverse=True)
    cr = subtable(data, "copyright")
    return IdentityData(
        claim=claim,
        provinces=compile_phrases(as_strs(cc.get("provinces"))),
        regulators=compile_phrases(as_strs(cc.get("regulators"))),
        licence=compile_phrases(as_strs(cc.get("licence"))),
        fingerprints=tuple(prints),
        drug_brands=tuple(b.lower() for b in as_strs(bd.get("drug_brands"))),
        manufacturers=frozenset(m.lower() for m in as_strs(bd.get("manufacturers"))),
        affixes=re.compile("^(?:" + "|".join(re.escape(a) for a in affixes) + ")*$")
        if affixes
        else re.compile("^$"),
        copyright=kb.regex(str(cr.get("regex", r"©\s*([^\n]{2,60})"))),
        drop_words=frozenset(w.lower() for w in as_strs(cr.get("drop_words"))),
    )


def identity_data(kb: Knowledge) -> IdentityData:
    return per_kb(kb, "identity.data", _build)


@check("PC250")
def canadian_claim(site: Site) -> Iterator[Finding]:
    d = identity_data(site.kb)
    claims = list(find_affirmed(site, d.claim))
    if not claims:
        return  # no Canadian claim: nothing to back up
    ctx = context_of(site.kb)
    backing: dict[str, Evidence] = {}
    for page in site.pages:
        if education_page(page, ctx):
            continue
        for key, pattern in (("province", d.provinces), ("regulator", d.regulators), ("licence", d.licence)):
            if pattern is None or key in backing:
                continue
            hit = next(page.search(pattern), None)  # pattern.search(page.text), via the page index
            if hit is not None:
                m = hit.match
                backing[key] = Evidence(page.url, page.excerpt(m.start(), m.end()))
    evidence = [claims[0].evidence(), *backing.values()]
    has = sorted(backing)
    if "province" in backing and ("regulator" in backing or "licence" in backing):
        yield site.finding(
            "PC250", Outcome.PASS, f"Canadian claim backed by {', '.join(has)}", evidence, backing=has
        )
    elif backing:
        missing = [k for k in ("province", "regulator", "licence") if k not in backing]
        yield site.finding(
            "PC250", Outcome.WARN, f"Canadian claim without {', '.join(missing)}", evidence, backing=has
        )
    else:
        yield site.finding(
            "PC250",
            Outcome.FAIL,
            "claims to be Canadian but names no province, regulator or licence",
            evidence,
            backing=[],
        )


def _normalise(name: str, drop: frozenset[str]) -> str:
    words = [w for w in re.findall(r"[^\W_]+", name.lower()) if w not in drop and not w.isdigit()]
    return " ".join(words)


def _page_brands(site: Site) -> list[tuple[str, str, Evidence]]:
    d = identity_data(site.kb)
    out: list[tuple[str, str, Evidence]] = []
    for page in site.pages:
        names: dict[str, Evidence] = {}
        for line in page.lines[-80:]:  # footers sit at the end
            m = d.copyright.search(line)
            if m:
                norm = _normalise(m.group(1), d.drop_words)
                if norm:
                    names.setdefault(norm, Evidence(page.url, line[:200]))
        meta = next((m for m in page.named("meta") if m.get("property") == "og:site_name"), None)
        content = meta.get("content") if meta is not None else None
        if isinstance(content, str):
            norm = _normalise(content, d.drop_words)
            if norm:
                names.setdefault(norm, Evidence(page.url, f"og:site_name: {content[:100]}"))
        out.extend((page.url, n, e) for n, e in list(names.items())[:2])
    return out


def _same(a: str, b: str) -> bool:
    a_, b_ = a.replace(" ", ""), b.replace(" ", "")
    return a_ in b_ or b_ in a_


@check("PC251")
def inconsistent_brand(site: Site) -> Iterator[Finding]:
    found = _page_brands(site)
    pages = {url for url, _, _ in found}
    if len(pages) < 2:
        return
    groups: list[tuple[str, Evidence]] = []
    for _, name, ev in found:
        if not any(_same(name, g) for g, _ in groups):
            groups.append((name, ev))
    if len(groups) > 1:
        names = [g for g, _ in groups]
        yield site.finding(
            "PC251",
            Outcome.FAIL,
            f"pages name different operators: {', '.join(names[:4])}",
            [e for _, e in groups],
            names=names,
        )
    else:
        yield site.finding(
            "PC251",
            Outcome.PASS,
            f"{len(pages)} pages name the same operator: {groups[0][0]}",
            [groups[0][1]],
            names=[groups[0][0]],
        )


@check("PC252")
def affiliate_template(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    d = identity_data(site.kb)
    ctx = context_of(site.kb)
    pages = [p for p in site.pages if not education_page(p, ctx)]
    matched: list[tuple[str, str, Evidence]] = []
    for fp in d.fingerprints:
        evidence: list[Evidence] = []
        for regex in fp.regexes:
            ev = None
            for page in pages:
                hit = next(page.search(regex), None)  # regex.search(page.text), via the page index
                if hit is not None:
                    m = hit.match
                    ev = Evidence(page.url, page.excerpt(m.start(), m.end(), radius=50))
                    break
            if ev is None:
                break
            evidence.append(ev)
        if fp.regexes and len(evidence) == len(fp.regexes):
            matched.append((fp.name, fp.source, evidence[0]))
    if matched:
        names = [n for n, _, _ in matched]
        yield site.finding(
            "PC252",
            Outcome.FAIL,
            f"affiliate-network template: {', '.join(names)}",
            [e for _, _, e in matched],
            fingerprints=names,
            sources=[s for _, s, _ in matched],
        )
    else:
        yield site.finding("PC252", Outcome.PASS, "no known affiliate-network fingerprint")


def brand_in_label(label: str, d: IdentityData) -> str | None:
    """The brand a domain label impersonates, or None (``specialist`` does not contain ``cialis``)."""
    label = label.lower()
    tokens = [t for t in re.split(r"[-0-9]+", label) if t]
    for brand in sorted((*d.drug_brands, *sorted(d.manufacturers)), key=len, reverse=True):
        if label == brand or label.replace("-", "") == brand:
            return None  # the brand owner's own domain
        whole_only = brand in d.manufacturers
        for tok in tokens:
            if tok == brand:
                return brand
            if whole_only:
                continue
            at = tok.find(brand)
            while at != -1:
                left, right = tok[:at], tok[at + len(brand) :]
                if d.affixes.match(left) and d.affixes.match(right):
                    return brand
                at = tok.find(brand, at + 1)
    return None


@check("PC253")
def brand_in_domain(site: Site) -> Iterator[Finding]:
    host = urlsplit(site.snapshot.final_url or site.snapshot.url).hostname or ""
    if not host:
        return
    label = domain_label(host)
    if not label:
        return
    brand = brand_in_label(label, identity_data(site.kb))
    ev = [Evidence(site.snapshot.final_url or site.snapshot.url, f"domain label: {label}")]
    if brand:
        yield site.finding(
            "PC253", Outcome.FAIL, f"domain name uses the brand '{brand}'", ev, brand=brand, label=label
        )
    else:
        yield site.finding(
            "PC253", Outcome.PASS, "no drug or manufacturer brand in the domain name", ev, label=label
        )
