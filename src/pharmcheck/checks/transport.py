"""PC1xx transport: the TLS outcome the crawler recorded, the http->https redirect, HSTS, insecure forms."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pharmcheck.checks import check
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.site import Site
from pharmcheck.snapshot import (
    TLS_ARCHIVED,
    TLS_ERROR,
    TLS_EXPIRED,
    TLS_NONE,
    TLS_SELF_SIGNED,
    TLS_UNKNOWN,
    TLS_VERIFIED,
    TLS_WRONG_HOST,
)

_TLS_MESSAGES = {
    TLS_VERIFIED: "certificate verified for {host}",
    TLS_EXPIRED: "certificate for {host} has expired",
    TLS_SELF_SIGNED: "certificate for {host} is self-signed or from an untrusted authority",
    TLS_WRONG_HOST: "certificate is not valid for {host} (issued for another name)",
    TLS_NONE: "{host} does not offer HTTPS at all",
    TLS_ERROR: "TLS handshake with {host} failed",
}
_MAX_AGE = re.compile(r"max-age\s*=\s*\"?(\d+)", re.I)


def _start_evidence(site: Site) -> Evidence:
    snap = site.snapshot
    return Evidence(snap.final_url or snap.url, snap.tls.detail)


@check("PC101")
def certificate(site: Site) -> Iterator[Finding]:
    tls = site.snapshot.tls
    if tls.outcome == TLS_UNKNOWN:
        yield site.finding("PC101", Outcome.SKIP, "TLS was not tested for this site")
        return
    if tls.outcome == TLS_ARCHIVED:
        yield site.finding("PC101", Outcome.SKIP, "judged from an archive: the certificate was not recorded")
        return
    host = tls.host or site.domain
    message = _TLS_MESSAGES.get(tls.outcome, "TLS outcome {outcome}").format(host=host, outcome=tls.outcome)
    if tls.outcome == TLS_VERIFIED:
        yield site.finding("PC101", Outcome.PASS, message, [_start_evidence(site)], tls=tls.outcome)
        return
    if tls.insecure_read:
        message += "; pages were read without certificate verification (GET only, nothing sent)"
    yield site.finding("PC101", Outcome.FAIL, message, [_start_evidence(site)], tls=tls.outcome)


@check("PC102")
def https_redirect(site: Site) -> Iterator[Finding]:
    tls = site.snapshot.tls
    if tls.outcome != TLS_VERIFIED:
        return  # PC101 already says HTTPS is broken; a redirect to broken HTTPS proves nothing
    if tls.http_redirects_to_https is None:
        yield site.finding("PC102", Outcome.SKIP, "plain HTTP was not tested or is not served")
    elif tls.http_redirects_to_https:
        yield site.finding("PC102", Outcome.PASS, "http:// redirects to https://")
    else:
        yield site.finding("PC102", Outcome.FAIL, "http:// serves pages without redirecting to HTTPS",
                           [Evidence("http://" + (tls.host or site.domain) + "/", "served over plain HTTP")])


@check("PC103")
def hsts(site: Site) -> Iterator[Finding]:
    tls = site.snapshot.tls
    if tls.outcome != TLS_VERIFIED:
        return
    if not tls.hsts:
        yield site.finding("PC103", Outcome.WARN, "no Strict-Transport-Security header")
        return
    m = _MAX_AGE.search(tls.hsts)
    age = int(m.group(1)) if m else 0
    minimum = int(site.kb.family("transport").get("hsts_min_age", 15768000))
    ev = [Evidence(site.snapshot.final_url, f"Strict-Transport-Security: {tls.hsts}")]
    if age >= minimum:
        yield site.finding("PC103", Outcome.PASS, f"HSTS max-age {age}s", ev, max_age=age)
    else:
        yield site.finding("PC103", Outcome.WARN, f"HSTS max-age {age}s is under six months", ev, max_age=age)


@check("PC104")
def insecure_forms(site: Site) -> Iterator[Finding]:
    bad: list[Evidence] = []
    for page in site.pages:
        for form in page.forms:
            if form.action.startswith("http://"):
                bad.append(Evidence(page.url, f"<form method={form.method} action={form.action}>"))
    if bad:
        yield site.finding("PC104", Outcome.FAIL, f"{len(bad)} form(s) send data over plain HTTP", bad)
    elif any(page.forms for page in site.pages):
        yield site.finding("PC104", Outcome.PASS, "every form posts over HTTPS")
