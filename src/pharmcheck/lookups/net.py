"""HTTPS GETs for the lookups stage, on the fetch stage's request machinery.

Lookups reuse :class:`pharmcheck.fetch.session.Requester`: the same proxy/CA handling
from the environment, the same network guard, streaming size limits and a watchdog
that cuts sockets at the deadline. On top of that every hop must be HTTPS and, for a
registry, stay on the registry's own domains (a seal link must not be able to send us
anywhere else).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import requests

from pharmcheck.fetch.decode import decode_body
from pharmcheck.fetch.netguard import check_url
from pharmcheck.fetch.session import Deadline, Requester, Result
from pharmcheck.options import ScanOptions
from pharmcheck.urls import registered_domain

SessionFactory = Callable[[], requests.Session]
MAX_LOOKUP_REDIRECTS = 3


@dataclass
class Fetched:
    url: str
    status: int = 0  # 0: no HTTP answer
    text: str = ""
    error: str | None = None
    blocked: bool = False

    @property
    def unreachable(self) -> bool:
        """No usable answer: network failure, refused, deadline or a server error."""
        return self.status == 0 or self.status >= 500


class LookupClient:
    """One per lookup thread (sessions are not shared across threads)."""

    def __init__(
        self,
        options: ScanOptions,
        deadline: Deadline,
        timeout: float,
        session_factory: SessionFactory | None = None,
    ) -> None:
        self.options = replace(options, timeout=max(0.05, min(options.timeout, timeout)),
                               max_redirects=MAX_LOOKUP_REDIRECTS)
        self.requester = Requester(self.options, deadline)
        if session_factory is not None:
            self.requester.session.close()
            self.requester.session = session_factory()

    def close(self) -> None:
        self.requester.close()

    def get(self, url: str, allowed_domains: Iterable[str] | None, max_bytes: int) -> Fetched:
        allowed = {d.lower() for d in allowed_domains} if allowed_domains is not None else None

        def hop(u: str) -> str | None:
            try:
                parts = urlsplit(u)
            except ValueError:
                return f"malformed URL {u!r}"
            if parts.scheme != "https":
                return f"lookups use HTTPS only; refusing {u}"
            if allowed is not None and registered_domain(parts.hostname or "") not in allowed:
                return f"refusing {u}: not on the registry's own domain"
            return check_url(u, self.options.allow_private, self.options.proxy)

        res: Result = self.requester.get(url, check=hop, max_bytes=max_bytes, want_body=lambda r: True)
        text = ""
        if res.body:
            text, _enc = decode_body(res.body, res.content_type)
        return Fetched(url=res.url, status=res.status, text=text, error=res.error, blocked=res.blocked)
