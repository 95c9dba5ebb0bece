"""The crawl of one site: start URL (with TLS fallbacks), then the key pages first.

Order of work: robots.txt of the start origin, the start URL (https, then http for a
bare domain), the TLS outcome, the http->https probe, then pages by priority of kind
(contact, legal notice, about, prescription …) and other same-site pages to fill
``max_pages``. Every failure becomes data in the snapshot; nothing here raises for
network problems.
"""

from __future__ import annotations

import heapq
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from pharmcheck.fetch.decode import decode_body
from pharmcheck.fetch.discovery import Keywords, extract_links, load_keywords, same_site
from pharmcheck.fetch.netguard import check_url
from pharmcheck.fetch.robots import Robots
from pharmcheck.fetch.session import USER_AGENT, Deadline, Requester, Result
from pharmcheck.fetch.tls import cert_info, classify_ssl_error, short_reason
from pharmcheck.options import ScanOptions
from pharmcheck.snapshot import TLS_NONE, TLS_VERIFIED, Page, Snapshot
from pharmcheck.target import Target
from pharmcheck.urls import registered_domain

_ROOT_PATHS = frozenset({"", "/", "/index.html", "/index.htm", "/index.php", "/default.aspx", "/home"})
_OTHER_KINDS = frozenset({"product", "other"})


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _key(url: str) -> str:
    """Dedup key: the same page over http and https is one page."""
    parts = urlsplit(url)
    return urlunsplit(("", parts.netloc.lower(), parts.path or "/", parts.query, ""))


def _http_fallback(url: str) -> str | None:
    """The http:// twin of an https URL, only on default ports (a custom TLS port has no twin)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.port not in (None, 443):
        return None
    return urlunsplit(("http", parts.hostname or "", parts.path or "/", parts.query, ""))


class Crawl:
    def __init__(
        self, target: Target, options: ScanOptions, requester: Requester, keywords: Keywords
    ) -> None:
        self.target = target
        self.options = options
        self.req = requester
        self.kw = keywords
        self.snap = Snapshot(
            input=target.input,
            url=target.url,
            fetched_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            start_registered_domain=registered_domain(target.host),
        )
        self.robots = Robots(requester, options.user_agent or USER_AGENT, options.respect_robots)
        self.insecure = False  # set once the site's certificate failed: later https reads skip verification
        self.visited: set[str] = set()
        self._queue: list[tuple[int, int, int, str, str]] = []
        self._queued: set[str] = set()
        self._kind_counts: dict[str, int] = {}
        self._seq = 0
        self._guard: dict[str, str | None] = {}

    # -- hop checks -------------------------------------------------------------------------
    def check(self, url: str) -> str | None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._guard:  # one DNS lookup per origin and scan, not per page
            self._guard[origin] = check_url(url, self.options.allow_private, self.options.proxy)
        reason = self._guard[origin]
        if reason:
            return reason
        if self.robots.disallows(url):
            if url not in self.snap.robots_disallowed:
                self.snap.robots_disallowed.append(url)
            return f"robots.txt disallows {url}"
        return None

    def _get(self, url: str) -> Result:
        res = self.req.get(url, check=self.check, insecure=self.insecure)
        if res.ssl_error and not self.insecure and self.snap.tls.outcome not in (TLS_VERIFIED, "unknown"):
            res = self.req.get(url, check=self.check, insecure=True)
            self.snap.tls.insecure_read = True
        return res

    # -- start ------------------------------------------------------------------------------
    def _tls_failed(self, res: Result) -> str:
        outcome = classify_ssl_error(res.ssl_error or "")
        tls = self.snap.tls
        if tls.outcome in ("unknown", TLS_NONE):
            tls.outcome = outcome
            tls.host = _host(res.ssl_url)
            tls.detail = short_reason(res.ssl_error or "")
        return outcome

    def _start(self) -> Result | None:
        candidates = list(self.target.candidates)
        tried: list[str] = []
        for i, cand in enumerate(candidates):
            res = self.req.get(cand, check=self.check)
            self.snap.url = cand
            if res.ssl_error:
                outcome = self._tls_failed(res)
                if outcome == TLS_NONE:  # the port does not speak TLS: like a refused https
                    self.snap.tls.detail = f"the https port does not speak TLS ({self.snap.tls.detail})"
                    if i + 1 < len(candidates):
                        tried.append(f"{res.ssl_url}: {self.snap.tls.detail}")
                        continue
                    return res
                fallback = candidates[i + 1] if i + 1 < len(candidates) else None
                if fallback is None and res.ssl_url == cand:
                    fallback = _http_fallback(cand)
                if fallback and res.ssl_url == cand:
                    alt = self.req.get(fallback, check=self.check)
                    if alt.status and not alt.ssl_error:
                        self.snap.url = fallback
                        self.snap.tls.detail += f"; the site was read over http ({fallback})"
                        return alt
                self.insecure = True
                self.snap.tls.insecure_read = True
                self.snap.tls.detail += "; pages were read without certificate verification (GET only)"
                return self.req.get(cand, check=self.check, insecure=True)
            if res.status == 0 and not res.blocked and cand.startswith("https:"):
                if res.refused and self.snap.tls.outcome == "unknown":
                    self.snap.tls.outcome = TLS_NONE
                    self.snap.tls.host = _host(cand)
                    self.snap.tls.detail = "connection to the https port was refused"
                if i + 1 < len(candidates):
                    tried.append(res.error or f"{cand}: no response")
                    continue
            if not res.status:
                self.snap.errors.extend(tried)  # every candidate failed: say why for each
            return res
        return None

    def _finish_tls(self, res: Result) -> None:
        tls = self.snap.tls
        final = res.url
        fresh = tls.outcome in ("unknown", TLS_NONE) and not res.ssl_error and res.status
        if final.startswith("https:") and not self.insecure and fresh:
            tls.outcome = TLS_VERIFIED
            tls.host = _host(final)
            tls.detail = ""
            tls.cert = cert_info(res.peercert)
        if final.startswith("https:") and res.status:
            tls.hsts = res.headers.get("Strict-Transport-Security")
            probe = _http_fallback(urlunsplit(urlsplit(final)._replace(path="/", query="")))
            if probe:
                tls.http_redirects_to_https = probe_http_redirect(self.req, probe)
        elif final.startswith("http:") and tls.outcome == "unknown":
            tls.outcome = TLS_NONE
            tls.host = _host(final)
            tls.detail = "the site is served over plain http and did not redirect to https"

    # -- queue ------------------------------------------------------------------------------
    def _push(self, url: str, kind: str) -> None:
        key = _key(url)
        if key in self.visited or key in self._queued:
            return
        self._queued.add(key)
        n = self._kind_counts.get(kind, 0)
        self._kind_counts[kind] = n + 1
        group = 0 if (n == 0 and kind not in _OTHER_KINDS) else 1
        self._seq += 1
        heapq.heappush(self._queue, (group, self.kw.rank(kind), self._seq, url, kind))

    def _discover(self, page: Page, site_domain: str) -> None:
        for link in extract_links(page.html, page.url):
            key = _key(link.url)
            if key in self.visited or key in self._queued:
                continue  # what _push would do, before the costlier checks (nav links repeat on every page)
            if not same_site(link.url, site_domain) or self.kw.skippable(link.url):
                continue
            parts = urlsplit(link.url)
            if parts.path in _ROOT_PATHS and not parts.query:
                self._push(link.url, "home")
            else:
                self._push(link.url, self.kw.classify(link.url, link.text))

    def _page(self, res: Result, kind: str) -> Page:
        page = Page(
            url=res.url,
            status=res.status,
            kind=kind,
            content_type=res.content_type,
            headers=res.headers,
            truncated=res.truncated,
            elapsed_ms=res.elapsed_ms,
            error=res.error,
            redirects=list(res.redirects),
        )
        if res.status and 200 <= res.status < 300 and res.body and res.is_html:
            page.html, page.encoding = decode_body(res.body, res.content_type)
        if res.error:
            self.snap.errors.append(res.error)
        elif res.status >= 500:
            page.error = f"HTTP {res.status}"
            self.snap.errors.append(f"{res.url}: HTTP {res.status}")
        for hop in (*res.redirects, res.url):
            self.visited.add(_key(hop))
        return page

    # -- run --------------------------------------------------------------------------------
    def run(self) -> Snapshot:
        snap = self.snap
        res = self._start()
        if res is None or (res.status == 0 and res.blocked):
            if res is not None and res.error:
                snap.errors.append(res.error + ("; nothing was read" if "robots.txt" in res.error else ""))
            return self._done()
        snap.redirect_chain = [*res.redirects, res.url]
        snap.final_url = res.url
        snap.registered_domain = registered_domain(_host(res.url))
        self._finish_tls(res)
        if res.status == 0:
            if res.error and res.error not in snap.errors:
                snap.errors.append(res.error)
            return self._done()
        parts = urlsplit(res.url)
        landing_is_home = parts.path in _ROOT_PATHS and not parts.query
        first = self._page(res, "home" if landing_is_home else self.kw.classify(res.url))
        snap.pages.append(first)
        if not landing_is_home:
            self._push(urlunsplit((parts.scheme, parts.netloc, "/", "", "")), "home")
        if first.html:
            self._discover(first, snap.registered_domain)
        while self._queue and len(snap.pages) < self.options.max_pages:
            if self.req.deadline.expired():
                snap.errors.append(f"site deadline of {self.options.deadline:g}s reached; crawl stopped")
                break
            _g, _r, _s, url, kind = heapq.heappop(self._queue)
            if _key(url) in self.visited:
                continue
            got = self._get(url)
            if got.blocked and got.error and got.error.startswith("robots.txt"):
                continue  # recorded in robots_disallowed; nothing was fetched
            if got.status and _key(got.url) in {_key(p.url) for p in snap.pages}:
                continue  # a second route to a page we have
            page = self._page(got, kind)
            snap.pages.append(page)
            if page.html:
                self._discover(page, snap.registered_domain)
        return self._done()

    def _done(self) -> Snapshot:
        snap = self.snap
        snap.elapsed_ms = self.req.deadline.elapsed_ms()
        if not snap.reachable and not snap.errors:
            snap.errors.append(f"{snap.url}: no page could be read")
        return snap


def probe_http_redirect(req: Requester, http_url: str) -> bool | None:
    """Does plain http redirect to https? True/False; None when http does not answer at all.

    A refused or failing http port is None ("not applicable"), not False: nothing can be
    read over plain http there, so there is no insecure twin of the site to warn about.
    """
    opts = req.options
    res = req.get(
        http_url,
        check=lambda u: check_url(u, opts.allow_private, opts.proxy),
        want_body=lambda r: False,
        max_redirects=0,
    )
    if res.location:
        return res.location.startswith("https:")
    if res.status:
        return False
    return None


def fetch_site(target: Target, options: ScanOptions) -> Snapshot:
    """Crawl one site within the options' limits; network problems become snapshot data."""
    deadline = Deadline(options.deadline)
    requester = Requester(options, deadline)
    try:
        return Crawl(target, options, requester, load_keywords(tuple(options.rules_dirs))).run()
    finally:
        requester.close()
