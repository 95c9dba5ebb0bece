"""The report of one scanned site: what every reporter (text, JSON, CSV …) reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pharmcheck import __version__
from pharmcheck.findings import Finding
from pharmcheck.snapshot import Snapshot
from pharmcheck.target import redact

SCHEMA_VERSION = "1.3"


@dataclass
class PageSummary:
    url: str
    status: int
    kind: str = "other"
    error: str | None = None
    text_hash: str | None = None  # schema 1.3: hash of the page's visible text (change detection)


@dataclass
class Report:
    input: str
    url: str
    final_url: str
    verdict: str
    score: int | None
    findings: list[Finding] = field(default_factory=list)
    pages: list[PageSummary] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_ms: int = 0
    reasons: list[str] = field(default_factory=list)
    basis: str = "page_signals"
    registered_domain: str = ""
    redirect_chain: list[str] = field(default_factory=list)
    tls: dict[str, Any] = field(default_factory=dict)
    algorithm_version: str = ""
    scanned_at: str = ""
    suppressed: str | None = None  # allowlist reason, when the site is allowlisted
    credentials: list[dict[str, Any]] = field(default_factory=list)  # seals/numbers and their status
    domain: dict[str, Any] = field(default_factory=dict)  # RDAP facts of the registered domain
    # Added in schema 1.2; each is owned by one stage and round-trips through from_dict.
    role: dict[str, Any] | None = None  # the site's role (seller, prescriber, publisher …) and why
    truncated: list[dict[str, Any]] = field(default_factory=list)  # what a cap cut from judging
    change: dict[str, Any] | None = None  # comparison against a baseline (monitoring)
    fingerprints: dict[str, Any] | None = None  # network fingerprints (affiliate clustering)
    schema_version: str = SCHEMA_VERSION
    pharmcheck_version: str = __version__

    @property
    def ok(self) -> bool:
        return self.verdict not in ("unreachable", "error")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "pharmcheck_version": self.pharmcheck_version,
            "algorithm_version": self.algorithm_version,
            "input": self.input,
            "url": redact(self.url),
            "final_url": redact(self.final_url),
            "registered_domain": self.registered_domain,
            "verdict": self.verdict,
            "score": self.score,
            "basis": self.basis,
            "reasons": self.reasons,
            "suppressed": self.suppressed,
            "findings": [f.to_dict() for f in self.findings],
            "pages": [
                {"url": redact(p.url), "status": p.status, "kind": p.kind, "error": p.error,
                 "text_hash": p.text_hash}
                for p in self.pages
            ],
            "redirect_chain": [redact(u) for u in self.redirect_chain],
            "credentials": self.credentials,
            "domain": self.domain,
            "tls": self.tls,
            "errors": self.errors,
            "elapsed_ms": self.elapsed_ms,
            "scanned_at": self.scanned_at,
            "role": self.role,
            "truncated": self.truncated,
            "change": self.change,
            "fingerprints": self.fingerprints,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        return cls(
            input=d["input"],
            url=d.get("url", ""),
            final_url=d.get("final_url", ""),
            verdict=d["verdict"],
            score=d.get("score"),
            findings=[Finding.from_dict(f) for f in d.get("findings", [])],
            pages=[PageSummary(p["url"], p["status"], p.get("kind", "other"), p.get("error"),
                               p.get("text_hash"))
                   for p in d.get("pages", [])],
            errors=list(d.get("errors", [])),
            elapsed_ms=int(d.get("elapsed_ms", 0)),
            reasons=list(d.get("reasons", [])),
            basis=d.get("basis", "page_signals"),
            registered_domain=d.get("registered_domain", ""),
            redirect_chain=list(d.get("redirect_chain", [])),
            tls=dict(d.get("tls", {})),
            algorithm_version=d.get("algorithm_version", ""),
            scanned_at=d.get("scanned_at", ""),
            suppressed=d.get("suppressed"),
            credentials=[dict(c) for c in d.get("credentials", [])],
            domain=dict(d.get("domain", {})),
            role=_opt_dict(d.get("role")),
            truncated=[dict(t) for t in d.get("truncated") or [] if isinstance(t, dict)],
            change=_opt_dict(d.get("change")),
            fingerprints=_opt_dict(d.get("fingerprints")),
            schema_version=d.get("schema_version", SCHEMA_VERSION),
            pharmcheck_version=d.get("pharmcheck_version", __version__),
        )


def _opt_dict(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) else None


def text_hash(text: str) -> str:
    """A short, stable fingerprint of a page's visible text (whitespace-insensitive)."""
    import hashlib

    return hashlib.sha256(" ".join(text.split()).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def error_report(input_text: str, message: str, verdict: str = "error") -> Report:
    """The result for an input that could not be scanned (malformed line, crash)."""
    return Report(input=input_text, url="", final_url="", verdict=verdict, score=None, errors=[message])


def from_snapshot_summary(snapshot: Snapshot) -> tuple[list[PageSummary], dict[str, Any]]:
    pages = [PageSummary(p.url, p.status, p.kind, p.error) for p in snapshot.pages]
    tls: dict[str, Any] = {
        "outcome": snapshot.tls.outcome,
        "detail": snapshot.tls.detail,
        "http_redirects_to_https": snapshot.tls.http_redirects_to_https,
        "hsts": snapshot.tls.hsts,
        "insecure_read": snapshot.tls.insecure_read,
    }
    cert = snapshot.tls.cert
    if cert is not None:  # schema 1.3: who the certificate names (change detection, takeover)
        tls["cert"] = {
            "subject_cn": cert.subject_cn,
            "subject_org": cert.subject_org,
            "issuer_cn": cert.issuer_cn,
            "issuer_org": cert.issuer_org,
            "not_after": cert.not_after,
        }
    return pages, tls
