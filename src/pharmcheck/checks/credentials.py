"""PC31x seals and credentials: verified, unverified or counterfeit (DESIGN §3.3).

The registry round-trip happened in the lookups stage; here the same candidate list is
rebuilt from the pages and each credential is judged against the facts in
``snapshot.lookups``. Each finding carries ``data.credentials`` (the report's
``credentials`` list is built from them) and a verified one sets ``data.verified``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

from pharmcheck.checks import check
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.lookups import registry as reg
from pharmcheck.site import Site
from pharmcheck.target import redact
from pharmcheck.urls import suffix_of


def _record(c: reg.Candidate, a: reg.Assessment, cfg: reg.RegistryConfig) -> dict[str, Any]:
    r = cfg.by_id(c.registry)
    return {
        "kind": c.kind,
        "registry": c.registry,
        "registry_name": r.name if r else c.registry,
        "url": redact(c.url),
        "number": c.number,
        "status": a.status,
        "reason": a.reason,
        "evidence": [{"url": redact(c.evidence.url), "excerpt": c.evidence.excerpt}],
    }


_CANDIDATES: weakref.WeakKeyDictionary[Site, list[reg.Candidate]] = weakref.WeakKeyDictionary()


def candidates(site: Site) -> list[reg.Candidate]:
    """The site's credentials, found once per Site and shared by the rules of this module."""
    if site not in _CANDIDATES:
        _CANDIDATES[site] = reg.find_candidates(site, reg.config(site.kb))
    return _CANDIDATES[site]


def assessed(site: Site) -> list[tuple[reg.Candidate, reg.Assessment]]:
    cfg = reg.config(site.kb)
    ours = reg.site_domains(site)
    lookups = site.snapshot.lookups
    return [(c, reg.assess(c, lookups, ours, cfg)) for c in candidates(site)]


@check("PC310", "PC311")
def registry_credentials(site: Site) -> Iterator[Finding]:
    cfg = reg.config(site.kb)
    items = assessed(site)
    if not items:
        return
    fake = [(c, a) for c, a in items if a.status == reg.COUNTERFEIT]
    if fake:
        yield site.finding(
            "PC311", Outcome.FAIL,
            "counterfeit credential: " + "; ".join(a.reason for _, a in fake[:3]),
            [c.evidence for c, _ in fake],
            credentials=[_record(c, a, cfg) for c, a in fake], result="credential-counterfeit",
        )
    rest = [(c, a) for c, a in items if a.status != reg.COUNTERFEIT]
    if not rest:
        return
    records = [_record(c, a, cfg) for c, a in rest]
    verified = [(c, a) for c, a in rest if a.status == reg.VERIFIED]
    if verified:
        ev = [c.evidence for c, _ in verified]
        for _c, a in verified:
            url = str(a.facts.get("url") or "")
            if url:
                ev.append(Evidence(url, a.facts.get("title") or a.reason))
        yield site.finding("PC310", Outcome.PASS,
                           "verified at the registry: " + "; ".join(a.reason for _, a in verified[:3]),
                           ev, verified=True, credentials=records, result="licence-verified")
        return
    warn = [(c, a) for c, a in rest if a.level == "warn"]
    if warn:
        message = "credential not confirmed: " + "; ".join(a.reason for _, a in warn[:3])
        yield site.finding("PC310", Outcome.WARN, message, [c.evidence for c, _ in warn],
                           verified=False, credentials=records, result="credential-not-confirmed")
        return
    message = "credential unverified: " + "; ".join(a.reason for _, a in rest[:3])
    yield site.finding("PC310", Outcome.INFO, message, [c.evidence for c, _ in rest],
                       verified=False, credentials=records)


@check("PC312")
def unlinked_seals(site: Site) -> Iterator[Finding]:
    cfg = reg.config(site.kb)
    claims = reg.find_unlinked_claims(site, cfg, candidates(site))
    if not claims:
        return
    names = ", ".join(cl.name for cl, _ in claims[:4])
    records = [
        {"kind": "seal_claim", "registry": cl.id, "registry_name": cl.name, "url": None, "number": None,
         "status": reg.UNVERIFIED, "reason": "seal shown without a link to the official registry",
         "evidence": [{"url": redact(ev.url), "excerpt": ev.excerpt}]}
        for cl, ev in claims
    ]
    yield site.finding("PC312", Outcome.WARN, f"seal claimed but cannot be checked: {names}",
                       [ev for _, ev in claims], credentials=records, claims=[cl.id for cl, _ in claims])


@check("PC313")
def dotpharmacy(site: Site) -> Iterator[Finding]:
    if site.domain and suffix_of(site.domain) == "pharmacy":
        url = redact(site.snapshot.final_url or site.snapshot.url)
        reason = f"{site.domain} is a .pharmacy domain, granted only after NABP review"
        record: dict[str, Any] = {
            "kind": "dotpharmacy", "registry": "nabp", "registry_name": "NABP .pharmacy registry",
            "url": url, "number": None, "status": reg.VERIFIED, "reason": reason,
            "evidence": [{"url": url, "excerpt": site.domain}],
        }
        yield site.finding("PC313", Outcome.PASS, reason, [Evidence(url, site.domain)],
                           verified=True, credentials=[record])
