"""Domain registration facts over RDAP (RFC 9082/9083), found via the IANA bootstrap (RFC 9224).

RDAP replaces port-43 WHOIS with JSON over HTTPS, so it goes through the same
proxy-aware session as everything else (WHOIS would bypass a proxy). We ask the
registry of the site's TLD for the *registered* domain and keep only what the
domain rules need: registration and expiration dates, the registrar's name, and
whether the registrant is hidden (absent entity, "REDACTED FOR PRIVACY" remarks, or an
RFC 9537 ``redacted`` member).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

BOOTSTRAP_URL = "https://data.iana.org/rdap/dns.json"
_REDACTED_WORDS = re.compile(
    r"(?i)redacted|privacy|withheld|not\s+disclosed|data\s+protected|gdpr|private|non-public|statutory\s+masking"
)


@dataclass
class RdapConfig:
    bootstrap_url: str = BOOTSTRAP_URL
    timeout: float = 8.0
    max_bytes: int = 512 * 1024
    ttl: float = 86400.0
    negative_ttl: float = 3600.0
    bootstrap_ttl: float = 7 * 86400.0

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RdapConfig:
        day = 86400.0
        return cls(
            bootstrap_url=str(data.get("rdap_bootstrap", BOOTSTRAP_URL)),
            timeout=float(data.get("rdap_timeout", 8.0)),
            max_bytes=int(data.get("rdap_max_bytes", 512 * 1024)),
            ttl=float(data.get("rdap_ttl_days", 1)) * day,
            negative_ttl=float(data.get("rdap_negative_ttl_hours", 1)) * 3600.0,
            bootstrap_ttl=float(data.get("rdap_bootstrap_ttl_days", 7)) * day,
        )


def parse_bootstrap(doc: Any) -> dict[str, list[str]]:
    """``services: [[["com", "net"], ["https://…/"]], …]`` -> {tld: [https base URLs]}."""
    out: dict[str, list[str]] = {}
    if not isinstance(doc, dict):
        return out
    for service in doc.get("services", []) or []:
        if not (isinstance(service, list) and len(service) >= 2):
            continue
        tlds, urls = service[0], service[1]
        if not (isinstance(tlds, list) and isinstance(urls, list)):
            continue
        https = [u for u in urls if isinstance(u, str) and u.lower().startswith("https://")]
        for tld in tlds:
            if isinstance(tld, str) and https:
                out[tld.lower().strip(".")] = https
    return out


def base_for(domain: str, services: dict[str, list[str]]) -> str | None:
    """Longest-label match of the domain's suffix in the bootstrap services."""
    labels = domain.lower().strip(".").split(".")
    for i in range(1, len(labels)):
        urls = services.get(".".join(labels[i:]))
        if urls:
            return urls[0]
    return None


def _vcard(entity: dict[str, Any], prop: str) -> str:
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) >= 2 and isinstance(card[1], list)):
        return ""
    for item in card[1]:
        if isinstance(item, list) and len(item) >= 4 and item[0] == prop:
            value = item[3]
            if isinstance(value, list):
                value = " ".join(str(v) for v in value if v)
            return str(value).strip()
    return ""


def _entities(obj: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if depth > 3:
        return out
    for e in obj.get("entities", []) or []:
        if isinstance(e, dict):
            out.append(e)
            out.extend(_entities(e, depth + 1))
    return out


def _remarks_text(obj: dict[str, Any]) -> str:
    parts: list[str] = []
    for r in obj.get("remarks", []) or []:
        if isinstance(r, dict):
            parts.append(str(r.get("title", "")))
            desc = r.get("description", [])
            if isinstance(desc, list):
                parts.extend(str(d) for d in desc if isinstance(d, str))
    return " ".join(parts)


def parse_domain(doc: Any, domain: str, source: str) -> dict[str, Any]:
    """The facts the domain rules read, from an RFC 9083 domain object."""
    if not isinstance(doc, dict) or doc.get("objectClassName") not in (None, "domain"):
        return {"status": "error", "domain": domain, "source": source, "error": "not an RDAP domain object"}
    events: dict[str, str] = {}
    for ev in doc.get("events", []) or []:
        if not isinstance(ev, dict):
            continue
        action, date = ev.get("eventAction"), ev.get("eventDate")
        if isinstance(action, str) and isinstance(date, str):
            events.setdefault(action.lower(), date)
    registrar = ""
    registrant: dict[str, Any] | None = None
    for ent in _entities(doc):
        roles = [str(r).lower() for r in ent.get("roles", []) or []]
        if "registrar" in roles and not registrar:
            registrar = _vcard(ent, "fn") or _vcard(ent, "org") or str(ent.get("handle", ""))
        if "registrant" in roles and registrant is None:
            registrant = ent
    redacted_members = doc.get("redacted")
    rfc9537 = isinstance(redacted_members, list) and any(
        "registrant" in json.dumps(r).lower() for r in redacted_members if isinstance(r, dict)
    )
    registrant_name = ""
    if registrant is not None:
        registrant_name = _vcard(registrant, "org") or _vcard(registrant, "fn")
    hidden = (
        registrant is None
        or rfc9537
        or not registrant_name
        or bool(_REDACTED_WORDS.search(registrant_name))
        or bool(_REDACTED_WORDS.search(_remarks_text(registrant)))
    )
    return {
        "status": "ok",
        "domain": domain,
        "source": source,
        "registration": events.get("registration"),
        "expiration": events.get("expiration"),
        "registrar": registrar or None,
        "registrant": None if hidden else registrant_name,
        "registrant_redacted": hidden,
        "registrant_reason": (
            "no registrant entity" if registrant is None
            else "RFC 9537 redaction" if rfc9537
            else "redacted for privacy" if hidden
            else ""
        ),
    }


def _ascii(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def lookup_domain(client: Any, cache: Any, domain: str, cfg: RdapConfig) -> dict[str, Any]:
    """RDAP facts for a registered domain; every failure is a status, never an exception."""
    key = "rdap:" + domain
    cached = cache.get(key)
    if isinstance(cached, dict):
        return {**cached, "cached": True}
    cached_services = cache.get("rdap-bootstrap:" + cfg.bootstrap_url)
    services = cached_services if isinstance(cached_services, dict) else {}
    base = base_for(domain, services)
    if base is None:  # not cached, or a TLD the cached copy lacks (new TLDs appear): fetch afresh
        got = client().get(cfg.bootstrap_url, None, 2 * cfg.max_bytes)
        if got.status != 200:
            return {"status": "unreachable", "domain": domain, "source": cfg.bootstrap_url,
                    "error": got.error or f"bootstrap HTTP {got.status}"}
        try:
            services = parse_bootstrap(json.loads(got.text))
        except ValueError:
            services = {}
        if not services:
            return {"status": "error", "domain": domain, "source": cfg.bootstrap_url,
                    "error": "RDAP bootstrap file unreadable"}
        cache.put("rdap-bootstrap:" + cfg.bootstrap_url, services, cfg.bootstrap_ttl)
        base = base_for(domain, services)
    if base is None:
        return {"status": "no_server", "domain": domain, "source": cfg.bootstrap_url,
                "error": "no RDAP service for this TLD in the IANA bootstrap"}
    url = base.rstrip("/") + "/domain/" + quote(_ascii(domain))
    if urlsplit(url).scheme != "https":
        return {"status": "no_server", "domain": domain, "source": url, "error": "RDAP base is not HTTPS"}
    got = client().get(url, None, cfg.max_bytes)
    if got.status == 404:
        facts = {"status": "not_found", "domain": domain, "source": url}
        cache.put(key, facts, cfg.negative_ttl)
        return {**facts, "cached": False}
    if got.status != 200:
        return {"status": "unreachable", "domain": domain, "source": url,
                "error": got.error or f"HTTP {got.status}"}
    try:
        doc = json.loads(got.text)
    except ValueError:
        return {"status": "error", "domain": domain, "source": url, "error": "RDAP answer is not JSON"}
    facts = parse_domain(doc, domain, url)
    if facts["status"] == "ok":
        cache.put(key, facts, cfg.ttl)
    return {**facts, "cached": False}
