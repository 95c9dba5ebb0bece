"""One HTTP session per scan, and the single-request primitive the crawler builds on.

Why by hand: redirects are followed here (``allow_redirects=False``) so every hop is
recorded and checked by the network guard and robots.txt; bodies are streamed with
``read1`` so the size limit applies after decompression (urllib3 bounds each
decompression step) and the per-site deadline is checked between reads. A watchdog
shuts down the scan's sockets at the deadline, so even a server that drips headers one
byte per second cannot hold a scan past it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import DEFAULT_CA_BUNDLE_PATH, HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util.ssl_ import create_urllib3_context

from pharmcheck import __version__
from pharmcheck.connguard import AddressRefused, check_peer
from pharmcheck.fetch.comments import RAW_FACTOR, CommentSkipper
from pharmcheck.options import ScanOptions

USER_AGENT = f"pharmcheck/{__version__} (+https://github.com/pharmcheck/pharmcheck)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HTML_TYPES = ("text/html", "application/xhtml+xml")
_READ_CHUNK = 64 * 1024
MAX_HEADERS = 1000  # response header lines accepted (http.client's default is 100)
_DRAIN_BYTES = 64 * 1024  # a redirect body up to this size is read so the connection can be reused

HopCheck = Callable[[str], str | None]  # URL -> None (allowed) or a reason


def ca_bundle() -> str | bool:
    """The CA bundle from the environment, as requests would pick it, plus SSL_CERT_FILE.

    requests reads REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE; OpenSSL users also expect
    SSL_CERT_FILE (and SSL_CERT_DIR) to work, which requests ignores by default.
    """
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        value = os.environ.get(var)
        if value and os.path.exists(value):
            return value
    return True


class Deadline:
    """Monotonic per-site deadline."""

    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + max(0.0, seconds)

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.start) * 1000)


# --- one verifying SSLContext per CA bundle and process ------------------------------------------
# Left to itself, urllib3 builds a fresh SSLContext and loads the whole CA bundle into it for every
# new connection (requests passes the bundle's path: certifi's, or REQUESTS_CA_BUNDLE's): ~10 ms of
# CPU for a 150-certificate bundle, two or three times per site. The context is built once per
# bundle (path, mtime, size) and shared by every verifying connection of the process instead; it is
# the same context urllib3 would build (``create_urllib3_context`` with CERT_REQUIRED, then
# ``load_verify_locations``), and nothing mutates it afterwards but urllib3's own idempotent
# settings. Unverified reads (``verify=False``) keep their own throw-away context.
_SHARED_CTX: dict[tuple[str, int, int], ssl.SSLContext] = {}
_SHARED_CTX_LOCK = threading.Lock()


def shared_ssl_context(ca: str) -> ssl.SSLContext | None:
    """The process's verifying context for CA bundle ``ca`` (file or directory); None when the bundle
    cannot be read (the caller then lets urllib3 fail the usual way, with the usual error)."""
    try:
        st = os.stat(ca)
    except (OSError, ValueError):
        return None
    key = (ca, st.st_mtime_ns, st.st_size)
    with _SHARED_CTX_LOCK:
        ctx = _SHARED_CTX.get(key)
        if ctx is None:
            ctx = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
            try:
                if os.path.isdir(ca):
                    ctx.load_verify_locations(capath=ca)
                else:
                    ctx.load_verify_locations(cafile=ca)
            except (OSError, ValueError, ssl.SSLError):
                return None
            if len(_SHARED_CTX) >= 8:  # bundles replaced on disk: drop the oldest
                _SHARED_CTX.pop(next(iter(_SHARED_CTX)))
            _SHARED_CTX[key] = ctx
        return ctx


def _is_shared(ctx: object) -> bool:
    with _SHARED_CTX_LOCK:
        return any(ctx is c for c in _SHARED_CTX.values())


class _SocketRegistry:
    """Every connection this scan's session opened, so the watchdog can cut them."""

    def __init__(self) -> None:
        self._conns: weakref.WeakSet[HTTPConnection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self.aborted = False

    def add(self, conn: HTTPConnection) -> None:
        with self._lock:
            self._conns.add(conn)
        if self.aborted:
            self._cut(conn)

    def abort(self) -> None:
        self.aborted = True
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            self._cut(conn)

    @staticmethod
    def _cut(conn: HTTPConnection) -> None:
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _guarded_new_conn(conn: HTTPConnection, sock: socket.socket) -> socket.socket:
    """Connect-time SSRF check: the peer of a direct connection must be public.

    Through a proxy the peer is the proxy (configured by the operator), so nothing to check.
    """
    if conn.proxy is None:
        try:
            check_peer(sock)
        except AddressRefused as exc:
            sock.close()
            raise NewConnectionError(conn, str(exc)) from None
    return sock


class _TrackingAdapter(HTTPAdapter):
    """An adapter whose connections register themselves with the scan's registry.

    Unless ``allow_private``, every direct connection checks the address it reached
    (``getpeername`` after connect) and is closed before a byte is sent if it is not public.
    """

    def __init__(self, registry: _SocketRegistry, allow_private: bool = False) -> None:
        self.registry = registry
        reg = registry
        guard = not allow_private

        class _Http(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                return _guarded_new_conn(self, sock) if guard else sock

            def connect(self) -> None:
                super().connect()
                reg.add(self)

        class _Https(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                return _guarded_new_conn(self, sock) if guard else sock

            def connect(self) -> None:
                super().connect()
                reg.add(self)

        class _HttpsPool(HTTPSConnectionPool):
            ConnectionCls = _Https

            def _validate_conn(self, conn: Any) -> None:
                # Same as urllib3's, minus the InsecureRequestWarning: an unverified read is
                # deliberate here and recorded in the snapshot (tls.insecure_read).
                HTTPConnectionPool._validate_conn(self, conn)
                if conn.is_closed:
                    conn.connect()

        self._pools: dict[str, type[HTTPConnectionPool]] = {
            "http": type("TrackedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": _Http}),
            "https": _HttpsPool,
        }
        super().__init__(pool_connections=4, pool_maxsize=4, max_retries=0)

    # Verifying https connections use the process's shared context for their CA bundle
    # (shared_ssl_context) instead of loading the bundle again for every connection.
    _next_ctx: ssl.SSLContext | None = None

    def get_connection_with_tls_context(
        self, request: Any, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        url = str(request.url or "")
        proxy = select_proxy(url, proxies) or ""
        ctx = None
        # an https:// proxy's own TLS would read the bundle from the connection: leave that path alone
        tunnel_ok = not proxy.lower().startswith("https:")
        if verify is not False and not cert and url[:6].lower() == "https:" and tunnel_ok:
            ctx = shared_ssl_context(verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH)
        self._next_ctx = ctx
        try:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        finally:
            self._next_ctx = None

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if self._next_ctx is not None:
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["ssl_context"] = self._next_ctx
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]  # the same checks (and errors) for a missing bundle
        ctx = getattr(conn, "conn_kw", {}).get("ssl_context")
        if ctx is not None and getattr(conn, "cert_reqs", None) == "CERT_REQUIRED" and _is_shared(ctx):
            conn.ca_certs = None  # already in the shared context: not loaded again per connection
            conn.ca_cert_dir = None

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._pools)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(self._pools)
        return manager


class _Session(requests.Session):
    """A session that reads the proxy/CA environment once per origin, not once per request.

    With ``trust_env`` requests walks every environment variable three times per request
    (proxies, no_proxy, CA bundle): ~0.25 ms of CPU each. What it finds depends only on the
    URL's scheme and host (and the per-request arguments), so the answer is kept per origin
    for the life of the session (one site's scan).
    """

    def __init__(self) -> None:
        super().__init__()
        self._env_memo: dict[Any, dict[str, Any]] = {}

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        try:
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())), stream, verify, cert)
            hash(key)
        except (TypeError, ValueError):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        hit = self._env_memo.get(key)
        if hit is None:
            hit = dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
            if len(self._env_memo) < 64:
                self._env_memo[key] = hit
        return {**hit, "proxies": dict(hit.get("proxies") or {})}


def make_session(options: ScanOptions) -> tuple[requests.Session, _SocketRegistry]:
    """A session honouring the proxy and CA environment, with an honest User-Agent."""
    # http.client refuses a response with more than 100 header lines (101 Set-Cookie is an easy
    # way to look unreachable); browsers accept far more. Header bytes stay bounded per line.
    http.client._MAXHEADERS = max(http.client._MAXHEADERS, MAX_HEADERS)  # type: ignore[attr-defined]
    session = _Session()
    session.trust_env = True  # HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, .netrc
    registry = _SocketRegistry()
    adapter = _TrackingAdapter(registry, options.allow_private)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(
        {
            "User-Agent": options.user_agent or USER_AGENT,
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
            "Accept-Language": "en,de;q=0.8,fr;q=0.7,es;q=0.6,it;q=0.6,nl;q=0.5",
        }
    )
    return session, registry


@dataclass
class Result:
    """What one URL gave after following its redirects."""

    url: str  # the last URL requested
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    redirects: list[str] = field(default_factory=list)  # URLs requested before ``url``
    error: str | None = None
    ssl_error: str | None = None  # TLS verification/handshake failure text
    ssl_url: str = ""  # the https URL whose handshake failed
    location: str = ""  # a redirect not followed because the hop limit was reached
    refused: bool = False  # connection refused (no service on that port)
    blocked: bool = False  # a hop was refused by a HopCheck (guard or robots)
    peercert: dict[str, Any] | None = None  # of the last verified https response
    elapsed_ms: int = 0

    @property
    def content_type(self) -> str:
        """The Content-Type; when the header is repeated (joined with ", "), the last valid one,
        as browsers do."""
        raw = self.headers.get("Content-Type", "")
        if "," in raw:
            valid = [p.strip() for p in raw.split(",") if "/" in p.split(";", 1)[0]]
            if valid:
                return valid[-1]
        return raw

    @property
    def maybe_html(self) -> bool:
        """Worth reading: declared HTML, or no Content-Type at all (sniffed after reading)."""
        ctype = self.content_type.split(";", 1)[0].strip().lower()
        return not ctype or ctype in HTML_TYPES

    @property
    def is_html(self) -> bool:
        ctype = self.content_type.split(";", 1)[0].strip().lower()
        if not ctype:
            return self.body.lstrip()[:1] == b"<"
        return ctype in HTML_TYPES


_POOL_NOISE = re.compile(
    r"\w*Pool\(host=[^)]*\): Max retries exceeded with url: \S+ \(Caused by \w+\(|"
    r"<[\w.]+ object at 0x[0-9a-f]+>: |\w*(?:Pool|Connection)\(host=[^)]*\)[:,]? ?",
)


def _one_line(exc: BaseException) -> str:
    """The exception's text on one line, without urllib3's pool/object plumbing."""
    text = " ".join(str(exc).split())
    cleaned = _POOL_NOISE.sub("", text)
    if cleaned != text:
        cleaned = cleaned.rstrip(")'\" ").lstrip("'\"") or text
    return cleaned[:300]


def describe_error(url: str, exc: BaseException) -> tuple[str, bool]:
    """A one-line message for a request exception and whether it was a refused connection."""
    text = str(exc)
    low = text.lower()
    m = re.search(r"refusing connection to non-public address [^;'\")]+", text)
    if m:
        return f"{url}: {m.group(0)}; allow_private is off", False
    if isinstance(exc, requests.exceptions.ProxyError):
        return f"{url}: proxy error: {_one_line(exc)}", False
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"{url}: connection timed out", False
    if isinstance(exc, (requests.exceptions.ReadTimeout, socket.timeout, TimeoutError)):
        return f"{url}: read timed out", False
    if "connection refused" in low or "errno 111" in low:
        return f"{url}: connection refused", True
    if "name or service not known" in low or "nameresolution" in low or "failed to resolve" in low:
        return f"{url}: DNS lookup failed", False
    if "temporary failure in name resolution" in low or "no address associated" in low:
        return f"{url}: DNS lookup failed", False
    return f"{url}: {type(exc).__name__}: {_one_line(exc)}", False


def strip_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


class Requester:
    """Issues GETs for one scan: manual redirects, streaming limits, deadline."""

    def __init__(self, options: ScanOptions, deadline: Deadline) -> None:
        self.options = options
        self.deadline = deadline
        self.session, self.registry = make_session(options)
        self.verify: str | bool = options.ca_bundle or ca_bundle()
        # An explicit proxy wins over the environment (requests lets per-request proxies win).
        self.proxies: dict[str, str] = (
            {"http": options.proxy, "https": options.proxy} if options.proxy else {}
        )
        self._last_request: dict[str, float] = {}
        self._budget_end: float | None = None  # a shorter limit for one get() (robots.txt)
        self._watchdog = threading.Timer(max(0.0, deadline.remaining()), self.registry.abort)
        self._watchdog.daemon = True
        self._watchdog.start()

    def close(self) -> None:
        self._watchdog.cancel()
        self.session.close()

    def _remaining(self) -> float:
        left = self.deadline.remaining()
        if self._budget_end is not None:
            left = min(left, self._budget_end - time.monotonic())
        return left

    def _timeout(self) -> tuple[float, float]:
        t = max(0.05, min(self.options.timeout, self._remaining()))
        return (t, t)

    def _pace(self, url: str) -> None:
        if self.options.rate_limit <= 0:
            return
        host = urlsplit(url).netloc
        gap = 1.0 / self.options.rate_limit
        wait = self._last_request.get(host, -1e9) + gap - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, max(0.0, self.deadline.remaining())))
        self._last_request[host] = time.monotonic()

    def get(
        self,
        url: str,
        *,
        check: HopCheck,
        insecure: bool = False,
        max_bytes: int | None = None,
        want_body: Callable[[Result], bool] = lambda r: r.maybe_html,
        max_redirects: int | None = None,
        budget: float | None = None,
    ) -> Result:
        """Fetch ``url`` following redirects; every failure is data in the Result.

        ``budget``: seconds this fetch may take at most (within the site deadline); a body
        still arriving then is cut with an error (a dripping robots.txt must not eat the site).
        """
        started = time.monotonic()
        self._budget_end = started + budget if budget is not None else None
        limit = self.options.max_redirects if max_redirects is None else max_redirects
        res = Result(url=url)
        seen: set[str] = set()
        current = url
        try:
            for _hop in range(limit + 1):
                res.url = current
                if current in seen:
                    res.error = f"{url}: redirect loop at {current}"
                    return res
                seen.add(current)
                reason = check(current)
                if reason:
                    res.error, res.blocked = reason, True
                    return res
                if self.deadline.expired() or self.registry.aborted:
                    res.error = f"{current}: site deadline of {self.options.deadline:g}s reached"
                    return res
                location = self._request(current, res, insecure, max_bytes, want_body)
                if location is None:
                    return res
                res.redirects.append(current)
                current = strip_fragment(urljoin(current, location))
            res.location = current
            res.error = f"{url}: more than {limit} redirects"
            return res
        finally:
            self._budget_end = None
            res.elapsed_ms = int((time.monotonic() - started) * 1000)

    def _request(
        self,
        url: str,
        res: Result,
        insecure: bool,
        max_bytes: int | None,
        want_body: Callable[[Result], bool],
    ) -> str | None:
        """One hop. Returns the redirect location, or None when ``res`` is final."""
        self._pace(url)
        res.headers, res.body, res.truncated, res.status = {}, b"", False, 0
        try:
            resp = self.session.get(
                url,
                allow_redirects=False,
                stream=True,
                timeout=self._timeout(),
                verify=False if insecure else self.verify,
                proxies=self.proxies,
            )
        except requests.exceptions.SSLError as exc:
            res.ssl_error, res.ssl_url = _one_line(exc), url
            res.error = f"{url}: TLS error: {_one_line(exc)}"
            return None
        except (requests.exceptions.RequestException, OSError, ValueError) as exc:
            if self.registry.aborted:
                res.error = f"{url}: site deadline of {self.options.deadline:g}s reached"
            else:
                res.error, res.refused = describe_error(url, exc)
            return None
        complete = False
        try:
            res.status = resp.status_code
            res.headers = dict(resp.headers)
            conn = resp.raw.connection
            sock = getattr(conn, "sock", None) if conn is not None else None
            if (
                url.startswith("https:")
                and not insecure
                and sock is not None
                and hasattr(sock, "getpeercert")
            ):
                try:
                    res.peercert = sock.getpeercert()
                except (ValueError, OSError):
                    res.peercert = None
            location = resp.headers.get("Location")
            if res.status in REDIRECT_STATUSES and location:
                drain = Result(url=url)
                complete = self._stream(resp, drain, sock, _DRAIN_BYTES)  # keep the connection reusable
                return location
            if want_body(res):
                complete = self._stream(
                    resp, res, sock, self.options.max_bytes if max_bytes is None else max_bytes
                )
            return None
        finally:
            if complete:
                resp.raw.release_conn()
            else:
                resp.close()

    def _stream(self, resp: requests.Response, res: Result, sock: Any, max_bytes: int) -> bool:
        """Read the body into ``res`` up to ``max_bytes``; True when it was read to the end."""
        complete = False
        buf = bytearray()
        # long HTML comments do not count against the cap (a padded page cannot hide its end)
        skipper = CommentSkipper() if "html" in resp.headers.get("Content-Type", "").lower() else None
        raw_read, raw_limit = 0, max_bytes * RAW_FACTOR
        try:
            while True:
                if self._budget_end is not None and time.monotonic() >= self._budget_end:
                    res.error = f"{res.url}: still arriving after its time budget; cut"
                    break
                remaining = self._remaining()
                if remaining <= 0 or self.registry.aborted:
                    res.error = (
                        f"{res.url}: site deadline of {self.options.deadline:g}s reached while reading"
                    )
                    break
                if sock is not None:
                    sock.settimeout(max(0.05, min(self.options.timeout, remaining)))
                chunk = resp.raw.read1(min(_READ_CHUNK, max_bytes - len(buf) + 1), decode_content=True)
                if not chunk:
                    complete = True
                    if skipper is not None:
                        buf += skipper.feed(b"", final=True)
                        if len(buf) > max_bytes:
                            del buf[max_bytes:]
                            res.truncated = True
                    break
                if skipper is not None:
                    raw_read += len(chunk)
                    chunk = skipper.feed(chunk)
                    if raw_read > raw_limit:  # mostly comment: bounded all the same
                        buf += chunk
                        del buf[max_bytes:]
                        res.truncated = True
                        break
                buf += chunk
                if len(buf) > max_bytes:
                    del buf[max_bytes:]
                    res.truncated = True
                    break
        except Exception as exc:
            if self.registry.aborted or self.deadline.expired():
                res.error = f"{res.url}: site deadline of {self.options.deadline:g}s reached while reading"
            else:
                res.error = (
                    f"{res.url}: body read failed: {describe_error(res.url, exc)[0].split(': ', 1)[-1]}"
                )
        res.body = bytes(buf)
        return complete
