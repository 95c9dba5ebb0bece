"""Classify TLS failures and read the server certificate.

A TLS failure is evidence about the site, not a crash: the crawler records the
outcome here and still reads the site (over http, or unverified as a last resort).
Classification reads OpenSSL's verify messages as urllib3 passes them on.
"""

from __future__ import annotations

import re
import ssl
from datetime import UTC, datetime
from typing import Any

from pharmcheck.snapshot import (
    TLS_ERROR,
    TLS_EXPIRED,
    TLS_NONE,
    TLS_SELF_SIGNED,
    TLS_WRONG_HOST,
    CertInfo,
)

# (substring of the lower-cased error text, outcome); first match wins.
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("certificate has expired", TLS_EXPIRED),
    ("certificate is not yet valid", TLS_EXPIRED),
    ("hostname mismatch", TLS_WRONG_HOST),
    ("ip address mismatch", TLS_WRONG_HOST),
    ("doesn't match", TLS_WRONG_HOST),
    ("does not match", TLS_WRONG_HOST),
    ("self-signed certificate", TLS_SELF_SIGNED),
    ("self signed certificate", TLS_SELF_SIGNED),
    ("unable to get local issuer certificate", TLS_SELF_SIGNED),
    ("unable to get issuer certificate", TLS_SELF_SIGNED),
    ("unable to verify the first certificate", TLS_SELF_SIGNED),
    ("certificate signature failure", TLS_SELF_SIGNED),
    # The port answers, but not with TLS: there is no HTTPS here.
    ("wrong version number", TLS_NONE),
    ("record layer failure", TLS_NONE),
    ("http request", TLS_NONE),
    ("packet length too long", TLS_NONE),
)


def classify_ssl_error(message: str) -> str:
    low = message.lower()
    for needle, outcome in _PATTERNS:
        if needle in low:
            return outcome
    return TLS_ERROR


_VERIFY_REASON = re.compile(r"certificate verify failed: ([^()]{1,200}?)\s*\(_ssl")
_SSL_REASON = re.compile(r"\[SSL: [A-Z0-9_]{1,60}\] ([^()]{1,200}?)\s*\(_ssl")


def short_reason(message: str) -> str:
    """The informative part of urllib3's long SSLError text, on one line."""
    text = " ".join(message.split())
    for pattern in (_VERIFY_REASON, _SSL_REASON):
        m = pattern.search(text)
        if m:
            return m.group(1).strip(" .")
    return text[:300]


def _name(rdns: Any, key: str) -> str:
    for rdn in rdns or ():
        for k, v in rdn:
            if k == key:
                return str(v)
    return ""


def _iso(value: Any) -> str:
    if not value:
        return ""
    try:
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(str(value)), UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    except (ValueError, OverflowError):
        return str(value)


def cert_info(peercert: dict[str, Any] | None) -> CertInfo | None:
    """CertInfo from ``SSLSocket.getpeercert()`` (empty when the peer was not verified)."""
    if not peercert:
        return None
    return CertInfo(
        subject_cn=_name(peercert.get("subject"), "commonName"),
        subject_org=_name(peercert.get("subject"), "organizationName"),
        issuer_cn=_name(peercert.get("issuer"), "commonName"),
        issuer_org=_name(peercert.get("issuer"), "organizationName"),
        not_before=_iso(peercert.get("notBefore")),
        not_after=_iso(peercert.get("notAfter")),
        san=[str(v) for _k, v in peercert.get("subjectAltName", ())],
    )
