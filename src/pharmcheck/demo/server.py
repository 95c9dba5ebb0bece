"""A small local forward proxy that serves farm-format sample sites under their host names.

The scan goes through it exactly as it would through a corporate proxy: absolute-form
plain HTTP (``GET http://host/path``) and ``CONNECT host:443`` with TLS terminated here.
Only hosts of the loaded sites answer; every other host gets ``502``, so nothing ever
leaves the machine and a host that is not served is simply unreachable.

Certificates: the bundled demo CA and leaf certificates in ``certs/`` (made once by
``tools/make_demo_certs.py``) cover the bundled demo hosts, so the demo needs no
cryptography library. Sites on other hosts (an evaluation corpus) get certificates made
on the fly when ``trustme`` is importable; without it they are served over plain HTTP only.
"""

from __future__ import annotations

import contextlib
import datetime
import mimetypes
import shutil
import ssl
import tempfile
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pharmcheck.demo.corpus import SiteSpec

CERT_DIR = Path(__file__).resolve().parent / "certs"
BUNDLED_CA = CERT_DIR / "ca.pem"
HSTS_VALUE = "max-age=31536000; includeSubDomains"
IDLE_TIMEOUT = 30.0  # seconds a connection may sit idle
WRONG_HOST = "default.demo-hosting.test"
CA_ORG = "pharmcheck evaluation CA"  # certificates made on the fly (trustme)
OTHER_CA_ORG = "pharmcheck evaluation untrusted CA"


def bundled_hosts() -> set[str]:
    try:
        text = (CERT_DIR / "hosts.txt").read_text(encoding="ascii")
    except OSError:
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}


class CertStore:
    """Picks the server certificate for each site according to its ``tls`` mode."""

    def __init__(self, sites: list[SiteSpec]) -> None:
        self.notes: list[str] = []
        self.http_only: set[str] = set()  # site ids served without TLS for lack of a certificate
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._tmp: str | None = None
        self._ca: Any = None  # trustme.CA when certificates are made on the fly
        self._other_ca: Any = None
        covered = bundled_hosts()
        needs = [s for s in sites if s.tls != "none"]
        uncovered = [s for s in needs if not set(s.hosts) <= covered]
        self.ca_file = str(BUNDLED_CA)
        if not uncovered:
            return
        try:
            import trustme
        except ImportError:
            self.http_only = {s.site_id for s in uncovered}
            self.notes.append(
                f"{len(uncovered)} site(s) are served over plain HTTP only: their hosts are not in the "
                "bundled demo certificate and trustme is not installed (pip install trustme)")
            return
        self._ca = trustme.CA(organization_name=CA_ORG)
        self._other_ca = trustme.CA(organization_name=OTHER_CA_ORG)
        self._tmp = tempfile.mkdtemp(prefix="pharmcheck-ca-")
        path = Path(self._tmp) / "ca.pem"
        self._ca.cert_pem.write_to_path(str(path))
        self.ca_file = str(path)

    def close(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def context_for(self, site: SiteSpec) -> ssl.SSLContext | None:
        """The TLS context for ``site``, or None when the site has no HTTPS."""
        if site.tls == "none" or site.site_id in self.http_only:
            return None
        with self._lock:
            ctx = self._contexts.get(site.site_id)
            if ctx is None:
                ctx = self._make(site)
                self._contexts[site.site_id] = ctx
            return ctx

    def _make(self, site: SiteSpec) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if self._ca is None:
            ctx.load_cert_chain(str(CERT_DIR / f"{site.tls}.pem"))
            return ctx
        hosts = site.hosts
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        # trustme always writes an organisation into the leaf (default "trustme vX"), which would read
        # as an OV certificate naming a stranger (PC603): name the issuing CA instead, which the
        # certificate-identity rule reads as "no operator named", like a domain-validated certificate.
        own = {"organization_name": CA_ORG}
        if site.tls == "expired":
            leaf = self._ca.issue_cert(*hosts, not_before=now - datetime.timedelta(days=400),
                                       not_after=now - datetime.timedelta(days=30), **own)
        elif site.tls == "self_signed":
            leaf = self._other_ca.issue_cert(*hosts, organization_name=OTHER_CA_ORG)
        elif site.tls == "wrong_host":
            leaf = self._ca.issue_cert(WRONG_HOST, **own)
        else:
            leaf = self._ca.issue_cert(*hosts, **own)
        leaf.configure_cert(ctx)
        return ctx


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sites: list[SiteSpec], certs: CertStore) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.by_host = {h: s for s in sites for h in s.hosts}
        self.certs = certs
        self.requests: Counter[str] = Counter()  # site id -> requests served
        self.count_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that drops its connection (a scanner closing an idle keep-alive) is not an error
        worth a traceback on the console; anything else still gets the default report."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pharmcheck-demo"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: _Server
    tunnel: tuple[str, str] | None = None  # (scheme, host) inside a CONNECT tunnel
    tls_sock: ssl.SSLSocket | None = None

    def version_string(self) -> str:
        return "pharmcheck-demo"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the demo prints reports, not access logs

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        if self.tls_sock is not None:
            with contextlib.suppress(OSError):
                self.tls_sock.close()

    # -- helpers -----------------------------------------------------------------------------
    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
               content_type: str = "text/plain; charset=utf-8", close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _bad_gateway(self, why: str) -> None:
        self._reply(502, f"502 Bad Gateway: {why}\n".encode(), close=True)

    # -- CONNECT -----------------------------------------------------------------------------
    def do_CONNECT(self) -> None:
        if self.tunnel is not None:
            self._bad_gateway("CONNECT inside a tunnel")
            return
        host, _, port_text = self.path.rpartition(":")
        host = host.strip("[]").lower()
        site = self.server.by_host.get(host)
        if site is None or port_text not in ("80", "443"):
            self._bad_gateway(f"unknown host {host}")
            return
        ctx = self.server.certs.context_for(site) if port_text == "443" else None
        if port_text == "443" and ctx is None:
            self._bad_gateway(f"{host} does not serve HTTPS")
            return
        if port_text == "80" and site.http == "none":
            self._bad_gateway(f"{host} does not serve plain HTTP")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        if ctx is None:
            self.tunnel = ("http", host)
            return
        try:
            tls = ctx.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True  # the client rejected the certificate: nothing more to say
            return
        self.tls_sock = tls
        self.connection = tls
        self.rfile = tls.makefile("rb")
        self.wfile = tls.makefile("wb")
        self.tunnel = ("https", host)
        self.close_connection = False

    # -- GET / HEAD --------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _method_not_allowed(self) -> None:
        self._reply(405, b"405 Method Not Allowed\n", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _method_not_allowed

    def _serve(self) -> None:
        if self.tunnel is not None:
            scheme, host = self.tunnel
            target = self.path if self.path.startswith("/") else "/"
        else:
            try:
                parts = urlsplit(self.path)
            except ValueError:
                self._bad_gateway("malformed request target")
                return
            if parts.scheme == "http" and parts.hostname:
                scheme, host = "http", parts.hostname.lower()
                target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            else:  # origin-form without a tunnel: a direct request, use the Host header
                scheme = "http"
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
                target = self.path
        site = self.server.by_host.get(host)
        if site is None:
            self._bad_gateway(f"unknown host {host}")
            return
        with self.server.count_lock:
            self.server.requests[site.site_id] += 1
        extra = dict(site.headers)
        if scheme == "http":
            if site.http == "none":
                self._bad_gateway(f"{host} does not serve plain HTTP")
                return
            if site.http == "redirect_https" and self.server.certs.context_for(site) is not None:
                self._reply(301, b"", {"Location": f"https://{host}{target}", **extra})
                return
        elif site.hsts:
            extra["Strict-Transport-Security"] = HSTS_VALUE
        if site.redirect_to:
            self._reply(301, b"", {"Location": site.redirect_to, **extra})
            return
        path = target.split("?", 1)[0]
        if path == "/robots.txt" and not (site.pages / "robots.txt").is_file():
            body = (site.robots if site.robots is not None else "User-agent: *\nAllow: /\n").encode()
            self._reply(200, body, extra)
            return
        file = resolve(site, target)
        if file is None:
            not_found = site.pages / "404.html"
            body = not_found.read_bytes() if not_found.is_file() else b"<h1>404 Not Found</h1>"
            self._reply(404, body, extra, "text/html; charset=utf-8")
            return
        self._reply(200, file.read_bytes(), extra, content_type_of(file))


def content_type_of(file: Path) -> str:
    ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype in ("application/javascript", "application/json", "image/svg+xml"):
        ctype += "; charset=utf-8"
    return ctype


def resolve(site: SiteSpec, target: str) -> Path | None:
    """The file under ``pages/`` that answers ``target`` (farm rules), never outside it."""
    root = site.pages.resolve()
    if target in site.routes:
        names = [site.routes[target]]
    else:
        rel = unquote(target.split("?", 1)[0].split("#", 1)[0]).lstrip("/")
        if rel == "" or rel.endswith("/"):
            names = [rel + "index.html"]
        else:
            names = [rel, rel + ".html", rel + "/index.html"]
    for name in names:
        if "\x00" in name:
            return None
        candidate = (root / name).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return candidate
    return None


class DemoProxy:
    """Serve ``sites`` on 127.0.0.1 (random free port) until :meth:`close`. A context manager."""

    def __init__(self, sites: list[SiteSpec]) -> None:
        self.sites = sites
        self.certs = CertStore(sites)
        self._server = _Server(sites, self.certs)
        self._thread = threading.Thread(target=self._server.serve_forever, name="pharmcheck-demo-proxy",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> str:
        return self.certs.ca_file

    @property
    def notes(self) -> list[str]:
        return self.certs.notes

    def requests_for(self, site_id: str) -> int:
        return self._server.requests[site_id]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.certs.close()

    def __enter__(self) -> DemoProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

