"""Local servers for tests: real sockets on 127.0.0.1, never the internet.

- :class:`SiteServer` — a small threaded HTTP(S) server. It serves ``routes`` (path ->
  html string, :class:`Resp`, or a callable that writes the response itself) and/or a
  site folder laid out as ``<site>/site.toml`` + ``<site>/pages/...``: a request path maps
  to the first existing of ``pages/<path>``, ``pages/<path>.html``, ``pages/<path>/index.html``
  (query strings are ignored for folders). ``site.toml`` may hold ``[headers]`` (sent with
  every response), ``[status]`` (path -> status code) and ``[redirects]`` (path -> Location).
- :func:`serve` — context manager around SiteServer.
- :func:`tls_server` — context manager serving routes over HTTPS with a trustme certificate of
  a given kind (valid, expired, untrusted, wrong_host); yields ``(base_url, ca_path)`` where
  ``ca_path`` is the PEM of the CA a client should trust (set ``REQUESTS_CA_BUNDLE`` to it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import mimetypes
import socket
import ssl
import tempfile
import threading
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trustme


@dataclass
class Resp:
    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"


Handler = Callable[[BaseHTTPRequestHandler], None]
Route = str | bytes | Resp | Handler


def _load_folder(folder: Path) -> dict[str, Any]:
    conf = folder / "site.toml"
    return tomllib.loads(conf.read_text(encoding="utf-8")) if conf.is_file() else {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SiteServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        conn = self.connection
        if isinstance(conn, ssl.SSLSocket):
            try:
                conn.do_handshake()
            except (ssl.SSLError, OSError):
                return
        with contextlib.suppress(OSError, ssl.SSLError):
            super().handle()

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        route = self.server.lookup(self.path)
        if route is None:
            self.send_simple(Resp("<html><body>not found</body></html>", 404))
        elif callable(route):
            route(self)
        elif isinstance(route, Resp):
            self.send_simple(route)
        else:
            self.send_simple(Resp(route))

    def send_simple(self, resp: Resp) -> None:
        body = resp.body.encode("utf-8") if isinstance(resp.body, str) else resp.body
        self.send_response(resp.status)
        headers = {"Content-Type": resp.content_type, **self.server.extra_headers, **resp.headers}
        if not resp.content_type:
            del headers["Content-Type"]
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SiteServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server on 127.0.0.1 with a random port."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        folder: Path | None = None,
        ssl_context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.folder = folder
        self.ssl_context = ssl_context
        self.requests: list[str] = []
        conf = _load_folder(folder) if folder else {}
        self.extra_headers: dict[str, str] = dict(conf.get("headers", {}))
        for path, status in conf.get("status", {}).items():
            self.routes.setdefault(path, Resp("<html><body>status</body></html>", int(status)))
        for path, location in conf.get("redirects", {}).items():
            self.routes.setdefault(path, Resp(b"", 301, {"Location": location}))
        super().__init__((host, 0), _Handler)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        sock.settimeout(10)
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (deadline tests) are expected

    def lookup(self, raw_path: str) -> Route | None:
        if raw_path in self.routes:
            return self.routes[raw_path]
        path = urlsplit(raw_path).path or "/"
        if path in self.routes:
            return self.routes[path]
        if self.folder is None:
            return None
        pages = (self.folder / "pages").resolve()
        rel = path.strip("/")
        for cand in (rel, f"{rel}.html", f"{rel}/index.html" if rel else "index.html"):
            file = (pages / cand).resolve()
            if file.is_file() and file.is_relative_to(pages):
                ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                if ctype.startswith("text/"):
                    ctype += "; charset=utf-8"
                return Resp(file.read_bytes(), content_type=ctype)
        return None

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@contextlib.contextmanager
def serve(
    routes: Mapping[str, Route] | None = None,
    folder: Path | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Iterator[SiteServer]:
    server = SiteServer(routes, folder, ssl_context).start()
    try:
        yield server
    finally:
        server.stop()


CERT_KINDS = ("valid", "expired", "untrusted", "wrong_host")


def server_context(cert_kind: str, ca: trustme.CA) -> ssl.SSLContext:
    """A server SSLContext whose certificate has the given defect (relative to ``ca``)."""
    now = dt.datetime.now(dt.UTC)
    if cert_kind == "valid":
        leaf = ca.issue_cert("127.0.0.1", "localhost", organization_name="Test Pharmacy Ltd")
    elif cert_kind == "expired":
        leaf = ca.issue_cert(
            "127.0.0.1",
            "localhost",
            not_before=now - dt.timedelta(days=400),
            not_after=now - dt.timedelta(days=30),
        )
    elif cert_kind == "untrusted":
        leaf = trustme.CA().issue_cert("127.0.0.1", "localhost")  # a CA the client does not trust
    elif cert_kind == "wrong_host":
        leaf = ca.issue_cert("shop.other-host.example")
    else:
        raise ValueError(f"unknown cert kind {cert_kind!r}; one of {CERT_KINDS}")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(ctx)
    return ctx


@contextlib.contextmanager
def tls_server(
    cert_kind: str = "valid",
    routes: Mapping[str, Route] | None = None,
    folder: Path | None = None,
) -> Iterator[tuple[str, str]]:
    """Serve over HTTPS with a trustme certificate; yields ``(base_url, ca_path)``."""
    ca = trustme.CA()
    with tempfile.TemporaryDirectory() as tmp:
        ca_path = str(Path(tmp) / "ca.pem")
        ca.cert_pem.write_to_path(ca_path)
        with serve(routes, folder, server_context(cert_kind, ca)) as server:
            yield server.url, ca_path


def drip(body: bytes, delay: float = 1.0, headers: dict[str, str] | None = None) -> Handler:
    """A handler that sends headers at once, then the body one byte every ``delay`` seconds."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.flush()
        stop = getattr(h.server, "stopping", None)
        for i in range(len(body)):
            if stop is not None and stop.is_set():
                return
            try:
                h.wfile.write(body[i : i + 1])
                h.wfile.flush()
            except OSError:
                return
            threading.Event().wait(delay)

    return handler


def slow(seconds: float, route: Route = "<html><body>late</body></html>") -> Handler:
    """A handler that waits before answering (for timeout tests)."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        threading.Event().wait(seconds)
        with contextlib.suppress(OSError):
            if callable(route):
                route(h)
            else:
                h.send_simple(route if isinstance(route, Resp) else Resp(route))  # type: ignore[attr-defined]

    return handler
