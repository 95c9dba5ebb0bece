"""The site snapshot: everything the fetch stage learned, as plain data.

Rules read only a snapshot, never the network, so a snapshot saved to disk can be
scored again later (``pharmcheck score``) and rules can be tested on saved pages.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SNAPSHOT_VERSION = 1

# TLS outcomes of the site's start URL.
TLS_VERIFIED = "verified"
TLS_EXPIRED = "expired"
TLS_SELF_SIGNED = "self_signed"  # self-signed or signed by an untrusted CA
TLS_WRONG_HOST = "wrong_host"
TLS_NONE = "none"  # no HTTPS at all (connection refused / no TLS on 443)
TLS_ERROR = "error"  # handshake failed for another reason
TLS_UNKNOWN = "unknown"  # not probed (e.g. http:// target whose https was never tried)
TLS_ARCHIVED = "unknown_archived"  # judged from an archive (WARC): the certificate was not recorded
TLS_OUTCOMES = (
    TLS_VERIFIED, TLS_EXPIRED, TLS_SELF_SIGNED, TLS_WRONG_HOST, TLS_NONE, TLS_ERROR, TLS_UNKNOWN, TLS_ARCHIVED
)


@dataclass
class Page:
    """One fetched URL. ``html`` is the decoded body (empty for skipped content)."""

    url: str
    status: int
    kind: str = "other"  # home, contact, about, legal, terms, privacy, faq, shipping, order, prescription …
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    html: str = ""
    encoding: str = ""
    truncated: bool = False  # body cut at the size limit
    elapsed_ms: int = 0
    error: str | None = None
    redirects: list[str] = field(default_factory=list)  # hops before ``url`` (absolute URLs)


@dataclass
class CertInfo:
    """What the server certificate says (filled when the fetcher could read it)."""

    subject_cn: str = ""
    subject_org: str = ""
    issuer_cn: str = ""
    issuer_org: str = ""
    not_before: str = ""  # ISO 8601
    not_after: str = ""
    san: list[str] = field(default_factory=list)


@dataclass
class TLSInfo:
    outcome: str = TLS_UNKNOWN
    detail: str = ""  # the library's error text for failures
    host: str = ""
    http_redirects_to_https: bool | None = None  # None: not tested
    hsts: str | None = None  # the Strict-Transport-Security header value, if any
    insecure_read: bool = False  # pages were read without certificate verification
    cert: CertInfo | None = None


MAX_SNAPSHOT_BYTES = 100_000_000  # a snapshot file larger than this is refused, never read whole


class SnapshotError(ValueError):
    """A file given to ``score`` is not a usable snapshot; ``str(exc)`` names it and why."""


@dataclass
class Snapshot:
    """Everything the crawler saw of one site."""

    input: str  # exactly as the user gave it
    url: str  # normalised start URL
    final_url: str = ""  # where the start URL landed after redirects
    registered_domain: str = ""  # of final_url (tldextract, bundled suffix list)
    start_registered_domain: str = ""  # of url
    pages: list[Page] = field(default_factory=list)
    redirect_chain: list[str] = field(default_factory=list)  # start URL … final URL
    tls: TLSInfo = field(default_factory=TLSInfo)
    errors: list[str] = field(default_factory=list)
    robots_disallowed: list[str] = field(default_factory=list)  # URLs not fetched because of robots.txt
    fetched_at: str = ""
    elapsed_ms: int = 0
    lookups: dict[str, Any] = field(default_factory=dict)  # facts from the lookups stage
    version: int = SNAPSHOT_VERSION

    @property
    def reachable(self) -> bool:
        return any(p.status and 200 <= p.status < 400 and p.html for p in self.pages)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        d = dict(data)
        d["pages"] = [Page(**p) for p in d.get("pages", [])]
        tls = dict(d.get("tls") or {})
        if tls.get("cert") is not None:
            tls["cert"] = CertInfo(**tls["cert"])
        d["tls"] = TLSInfo(**tls)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        return cls.from_dict(json.loads(text))

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        """Read a saved snapshot; a file that is too big or not a snapshot is a :class:`SnapshotError`
        naming the file and what is wrong (never Python internals)."""
        try:
            size = path.stat().st_size
            if size > MAX_SNAPSHOT_BYTES:
                raise SnapshotError(
                    f"{path}: {size / 1e6:.0f} MB is larger than a snapshot can be "
                    f"({MAX_SNAPSHOT_BYTES // 1_000_000} MB); not read"
                )
            with path.open("rb") as fh:
                data = fh.read(MAX_SNAPSHOT_BYTES + 1)
            doc = json.loads(data.decode("utf-8"))
        except OSError as exc:
            raise SnapshotError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, ValueError) as exc:
            if isinstance(exc, SnapshotError):
                raise
            raise SnapshotError(f"{path}: not JSON: {exc}") from None
        if not isinstance(doc, dict):
            kind = type(doc).__name__
            raise SnapshotError(f"{path}: not a pharmcheck snapshot (a JSON {kind}, not an object)")
        missing = [k for k in ("input", "url") if k not in doc]
        if missing:
            raise SnapshotError(
                f"{path}: not a pharmcheck snapshot: missing {', '.join(repr(m) for m in missing)}"
                " (save one with scan --save-snapshot)"
            )
        try:
            return cls.from_dict(doc)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            detail = str(exc).split("__init__() ", 1)[-1]
            raise SnapshotError(f"{path}: malformed pharmcheck snapshot: {detail}") from None
