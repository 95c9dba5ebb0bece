"""robots.txt, one per origin, fetched before the first page of that origin.

Policy (documented choice): a missing robots.txt (4xx), an unreachable one, a server
error or one that is still arriving after ``ROBOTS_BUDGET_S`` (a drip) allows everything
(an unusable robots.txt, RFC 9309 §2.3.1.3) — a scan reads a dozen pages, like one visitor, and a 5xx
robots.txt must not make a site unjudgeable. The file is read over TLS without
verification if the certificate is bad: it is public and nothing is sent.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from pharmcheck.fetch.session import Requester, Result

ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 §2.5: parse at least 500 KiB
ROBOTS_BUDGET_S = 5.0  # at most this (and --timeout) per robots.txt, redirects included


def origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


class Robots:
    """robots.txt rules per origin for the crawler's User-Agent."""

    def __init__(self, requester: Requester, user_agent: str, enabled: bool = True) -> None:
        self.requester = requester
        self.agent = user_agent.split("/", 1)[0]  # product token: "pharmcheck"
        self.enabled = enabled
        self._parsers: dict[str, RobotFileParser | None] = {}

    def _load(self, org: str) -> RobotFileParser | None:
        def check(url: str) -> str | None:
            from pharmcheck.fetch.netguard import check_url

            return check_url(url, self.requester.options.allow_private, self.requester.options.proxy)

        def any_text(r: Result) -> bool:
            return 200 <= r.status < 300

        url = org + "/robots.txt"
        budget = min(ROBOTS_BUDGET_S, self.requester.options.timeout)
        res = self.requester.get(
            url, check=check, max_bytes=ROBOTS_MAX_BYTES, want_body=any_text, max_redirects=5, budget=budget
        )
        if res.ssl_error:
            res = self.requester.get(
                url,
                check=check,
                insecure=True,
                max_bytes=ROBOTS_MAX_BYTES,
                want_body=any_text,
                max_redirects=5,
                budget=budget,
            )
        if not (200 <= res.status < 300) or res.error:
            return None
        parser = RobotFileParser(url)
        parser.parse(res.body.decode("utf-8", "replace").splitlines())
        return parser

    def disallows(self, url: str) -> bool:
        """True when robots.txt of ``url``'s origin forbids fetching it."""
        if not self.enabled:
            return False
        org = origin(url)
        if org not in self._parsers:
            self._parsers[org] = self._load(org)
        parser = self._parsers[org]
        if parser is None:
            return False
        return not parser.can_fetch(self.agent, url)
