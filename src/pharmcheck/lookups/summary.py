"""The report's ``credentials`` and ``domain`` sections, from findings and lookup facts (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pharmcheck.findings import Finding
from pharmcheck.snapshot import Snapshot

CREDENTIAL_RULES = ("PC310", "PC311", "PC312", "PC313")


def credentials_of(findings: list[Finding]) -> list[dict[str, Any]]:
    """Every credential the rules judged: kind, registry, url/number, status, reason, evidence."""
    out: list[dict[str, Any]] = []
    for f in findings:
        if f.id in CREDENTIAL_RULES:
            for rec in f.data.get("credentials", []) or []:
                if isinstance(rec, dict):
                    out.append(dict(rec))
    order = {"counterfeit": 0, "verified": 1, "unverified": 2}
    out.sort(key=lambda r: order.get(str(r.get("status")), 3))
    return out


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def domain_of(snapshot: Snapshot, registered_domain: str) -> dict[str, Any]:
    """Registered domain, creation date, age, registrar, registrant redaction and the RDAP source."""
    lookups = snapshot.lookups or {}
    rdap = lookups.get("rdap")
    facts: dict[str, Any] = rdap if isinstance(rdap, dict) else {}
    status = str(facts.get("status") or lookups.get("status") or "not_looked_up")
    created = _date(facts.get("registration"))
    expires = _date(facts.get("expiration"))
    now = _date(snapshot.fetched_at) or datetime.now(UTC)
    ok = status == "ok"
    return {
        "registered_domain": registered_domain,
        "status": status,
        "created": created.date().isoformat() if created else None,
        "expires": expires.date().isoformat() if expires else None,
        "age_days": (now - created).days if created else None,
        "registrar": facts.get("registrar") if ok else None,
        "registrant_redacted": facts.get("registrant_redacted") if ok else None,
        "source": facts.get("source") or None,
    }
