"""PC6xx domain and network: RDAP age and registrant, certificate identity, doorway redirects,
ordering links that leave the site. Pure: RDAP facts come from ``snapshot.lookups``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pharmcheck.checks import check
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.site import Site
from pharmcheck.urls import registered_domain

_OFFLINE = "lookups are off: the verdict rests on page signals alone"
_WORD = re.compile(r"[^\W_]+")
MAX_LINKS = 3000


def parse_date(value: Any) -> datetime | None:
    """An RFC 3339 / ISO 8601 timestamp as an aware UTC datetime, else None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text[:10])
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def scan_time(site: Site) -> datetime:
    """The snapshot's fetch time (so a re-score of a saved snapshot gives the same age)."""
    return parse_date(site.snapshot.fetched_at) or datetime.now(UTC)


def rdap_facts(site: Site) -> dict[str, Any]:
    facts = site.snapshot.lookups.get("rdap")
    return facts if isinstance(facts, dict) else {}


def age_days(site: Site) -> int | None:
    created = parse_date(rdap_facts(site).get("registration"))
    if created is None:
        return None
    return (scan_time(site) - created).days


def _rdap_unknown(site: Site) -> str | None:
    """Why RDAP facts are missing, or None when they are there."""
    lookups = site.snapshot.lookups
    status = lookups.get("status")
    if status == "offline":
        return _OFFLINE
    if status == "skipped":
        return str(lookups.get("note") or "lookups skipped")
    if not lookups:
        return "no lookups in this snapshot (RDAP not consulted)"
    facts = rdap_facts(site)
    if facts.get("status") != "ok":
        why = facts.get("error") or facts.get("status") or "no answer"
        return f"RDAP has no answer for {facts.get('domain') or site.domain}: {why}"
    return None


def _rdap_evidence(site: Site) -> list[Evidence]:
    facts = rdap_facts(site)
    src = str(facts.get("source") or "")
    if not src:
        return []
    bits = [f"registration {facts.get('registration')}" if facts.get("registration") else "",
            f"registrar {facts.get('registrar')}" if facts.get("registrar") else ""]
    return [Evidence(src, "; ".join(b for b in bits if b))]


@check("PC601")
def domain_age(site: Site) -> Iterator[Finding]:
    unknown = _rdap_unknown(site)
    if unknown:
        yield site.finding("PC601", Outcome.SKIP, f"domain age unknown: {unknown}")
        return
    days = age_days(site)
    if days is None:
        yield site.finding("PC601", Outcome.INFO, "RDAP gives no registration date", _rdap_evidence(site))
        return
    young = int(site.kb.family("domain").get("young_days", 365))
    created = str(rdap_facts(site).get("registration", ""))[:10]
    if days < young:
        yield site.finding("PC601", Outcome.FAIL, f"{site.domain} was registered {days} days ago ({created})",
                           _rdap_evidence(site), age_days=days, created=created)
    else:
        yield site.finding("PC601", Outcome.PASS,
                           f"{site.domain} registered {created} ({days // 365} years ago)",
                           _rdap_evidence(site), age_days=days, created=created)


@check("PC602")
def registrant(site: Site) -> Iterator[Finding]:
    unknown = _rdap_unknown(site)
    if unknown:
        yield site.finding("PC602", Outcome.SKIP, f"registrant unknown: {unknown}")
        return
    facts = rdap_facts(site)
    if facts.get("registrant_redacted"):
        reason = facts.get("registrant_reason") or "redacted"
        yield site.finding("PC602", Outcome.WARN,
                           f"registrant of {site.domain} is not disclosed ({reason}); "
                           "usual under GDPR, a weak signal",
                           _rdap_evidence(site), redacted=True)
    else:
        yield site.finding("PC602", Outcome.PASS, f"registrant: {facts.get('registrant')}",
                           _rdap_evidence(site), redacted=False, registrant=facts.get("registrant"))


# ---- certificate identity ----------------------------------------------------------------------


def _name_tokens(name: str, legal: set[str]) -> set[str]:
    return {w for w in _WORD.findall(name.lower()) if w not in legal and len(w) > 1}


def names_match(a: str, b: str, legal: set[str]) -> bool:
    """Same organisation, ignoring legal forms, case and punctuation (one name may extend the other)."""
    ta, tb = _name_tokens(a, legal), _name_tokens(b, legal)
    if not ta or not tb:
        return False
    if ta <= tb or tb <= ta:
        return True
    return len(ta & tb) / len(ta | tb) >= 0.5


def operator_names(site: Site) -> list[tuple[str, Evidence]]:
    """Operator names the site gives: copyright/imprint lines and JSON-LD organisations."""
    data = site.kb.family("domain")
    out: list[tuple[str, Evidence]] = []
    seen: set[str] = set()
    for raw in data.get("operator_patterns", []):
        pattern = site.kb.regex(str(raw))
        for hit in site.search(pattern):  # tried only where its leading words start (ParsedPage.finditer)
            name = " ".join(hit.match.group(1).split()).strip(" .-")
            if name and name.lower() not in seen:
                seen.add(name.lower())
                out.append((name, hit.evidence()))
            if len(out) >= 10:
                return out
    for page in site.pages:
        for block in page.jsonld[:20]:
            items = block if isinstance(block, list) else [block]
            for item in items[:20]:
                if not isinstance(item, dict):
                    continue
                for key in ("legalName", "name"):
                    value = item.get(key)
                    kind = str(item.get("@type", ""))
                    if isinstance(value, str) and value and any(
                        t in kind for t in ("Organization", "Pharmacy", "Store", "Business", "Corporation")
                    ) and value.lower() not in seen:
                        seen.add(value.lower())
                        out.append((value[:120], Evidence(page.url, f"JSON-LD {kind} {key}: {value[:120]}")))
    return out


@check("PC603")
def certificate_identity(site: Site) -> Iterator[Finding]:
    cert = site.snapshot.tls.cert
    if cert is None:
        yield site.finding("PC603", Outcome.SKIP, "no certificate details recorded")
        return
    ev = Evidence(site.snapshot.final_url or site.snapshot.url,
                  f"certificate subject O={cert.subject_org or '-'} CN={cert.subject_cn or '-'}; "
                  f"issuer {cert.issuer_org or cert.issuer_cn or '-'}; "
                  f"valid {cert.not_before[:10]} to {cert.not_after[:10]}")
    expiry = parse_date(cert.not_after)
    days_left = (expiry - scan_time(site)).days if expiry else None
    facts = {"issuer": cert.issuer_org or cert.issuer_cn, "subject_org": cert.subject_org,
             "not_before": cert.not_before, "not_after": cert.not_after, "days_to_expiry": days_left}
    if cert.subject_org and cert.subject_org.strip().lower() == (cert.issuer_org or "").strip().lower():
        yield site.finding("PC603", Outcome.INFO, f"certificate names its issuer ({cert.subject_org}), "
                           "not an operator: no identity to compare", [ev], **facts)
        return
    if not cert.subject_org:
        yield site.finding("PC603", Outcome.INFO,
                           f"domain-validated certificate from {facts['issuer'] or 'unknown issuer'}: "
                           "names no organisation", [ev], **facts)
        return
    legal = {str(w) for w in site.kb.family("domain").get("legal_forms", [])}
    operators = operator_names(site)
    if not operators:
        yield site.finding("PC603", Outcome.INFO,
                           f"certificate names {cert.subject_org}; the site names no operator to compare",
                           [ev], **facts)
        return
    for name, op_ev in operators:
        if names_match(cert.subject_org, name, legal):
            yield site.finding("PC603", Outcome.PASS, f"certificate organisation {cert.subject_org} is the "
                               f"operator the site names ({name})", [ev, op_ev], operator=name, **facts)
            return
    name, op_ev = operators[0]
    yield site.finding("PC603", Outcome.WARN, f"certificate names {cert.subject_org}, but the site names "
                       f"{name} as operator", [ev, op_ev], operator=name, **facts)


# ---- redirects and checkout --------------------------------------------------------------------


@check("PC604")
def redirect_chain(site: Site) -> Iterator[Finding]:
    chain = site.snapshot.redirect_chain
    domains: list[str] = []
    for url in chain:
        d = registered_domain(urlsplit(url).hostname or "")
        if d and d not in domains:
            domains.append(d)
    if len(domains) > 1:
        excerpt = " -> ".join(chain[:8])
        yield site.finding("PC604", Outcome.WARN,
                           f"{domains[0]} redirects to {domains[-1]} (a doorway domain)",
                           [Evidence(chain[0], excerpt)], chain=list(chain[:10]), domains=domains)


@check("PC605")
def offsite_checkout(site: Site) -> Iterator[Finding]:
    data = site.kb.family("domain")
    pattern = site.kb.regex(str(data.get("checkout", r"(?i)\bcheckout\b")))
    payment = {str(d) for d in data.get("payment_domains", [])}
    ours = {d for d in (site.domain, site.snapshot.start_registered_domain) if d}

    by_text: dict[str, bool] = {}  # a site repeats its links on every page: each text and URL read once
    by_path: dict[str, bool] = {}

    def ordering(url: str, text: str) -> bool:
        said = by_text.get(text)
        if said is None:
            said = by_text[text] = bool(pattern.search(text[:200]))
        if said:
            return True
        went = by_path.get(url)
        if went is None:
            went = by_path[url] = bool(pattern.search(urlsplit(url).path[:300]))
        return went

    offsite: list[tuple[str, Evidence]] = []
    seen: set[str] = set()
    doms: dict[str, str] = {}  # each URL's registered domain, once per site
    for page in site.pages:
        targets = [(link.url, link.text) for link in page.links[:MAX_LINKS] if not link.same_site]
        targets += [(form.action, "form") for form in page.forms[:50]]
        for url, text in targets:
            dom = doms.get(url)
            if dom is None:
                dom = doms[url] = registered_domain(urlsplit(url).hostname or "")
            if dom in ours or dom in payment or url in seen or not ordering(url, text):
                continue
            seen.add(url)
            offsite.append((dom, Evidence(page.url, f"{text[:80] or 'link'} -> {url}")))
    if not offsite:
        return
    onsite = sum(1 for page in site.pages for link in page.links[:MAX_LINKS]
                 if link.same_site and ordering(link.url, link.text))
    hosts = sorted({d for d, _ in offsite})
    evidence = [e for _, e in offsite]
    if onsite == 0:
        yield site.finding("PC605", Outcome.FAIL,
                           f"every ordering link leaves the site, for {', '.join(hosts[:3])}",
                           evidence, domains=hosts)
    else:
        yield site.finding("PC605", Outcome.WARN, f"{len(offsite)} ordering link(s) leave the site for "
                           f"{', '.join(hosts[:3])}", evidence, domains=hosts)
