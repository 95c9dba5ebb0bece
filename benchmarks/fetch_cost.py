"""CPU of the fetch stage's per-connection and per-request work (no rules), on 127.0.0.1.

A local HTTPS server (trustme certificate) answers every request with ``Connection: close``, so
each request is a new TCP + TLS connection, as the first request to each site of a batch is. The
client trusts a realistic CA bundle (the system's or certifi's, plus the test CA), passed the way
users pass one (``REQUESTS_CA_BUNDLE``). Each "site" gets its own :class:`Requester` (one session
per site, as the crawler does) and makes ``--per-site`` requests. Printed: CPU ms per connection
of the fetching thread (``time.thread_time``), median of ``--repeat`` runs.

Compare two trees with the same interpreter:

    PYTHONPATH=src python benchmarks/fetch_cost.py
    PYTHONPATH=/path/to/other/src python benchmarks/fetch_cost.py
"""

from __future__ import annotations

import argparse
import os
import ssl
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import certifi
import trustme

from pharmcheck.fetch.session import Deadline, Requester
from pharmcheck.options import ScanOptions

BODY = b"<html><body><p>ok</p></body></html>"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(BODY)
        self.close_connection = True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=60)
    ap.add_argument("--per-site", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_ctx)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    base = system.read_bytes() if system.is_file() else Path(certifi.where()).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle.pem"
        bundle.write_bytes(base + b"\n" + ca.cert_pem.bytes())
        os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
        for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            os.environ.pop(var, None)
        url = f"https://127.0.0.1:{server.server_address[1]}/"
        opts = ScanOptions(allow_private=True, timeout=10.0, deadline=60.0)
        figures = []
        for _ in range(a.repeat):
            started = time.thread_time()
            for _site in range(a.sites):
                req = Requester(opts, Deadline(60.0))
                try:
                    for _page in range(a.per_site):
                        res = req.get(url, check=lambda u: None)
                        assert res.status == 200, res.error
                finally:
                    req.close()
            figures.append((time.thread_time() - started) * 1000 / (a.sites * a.per_site))
    server.shutdown()
    print(f"bundle {len(base) // 1024} kB; {a.sites} sites x {a.per_site} requests, one TLS connection each")
    print(f"fetch CPU per connection: {statistics.median(figures):.2f} ms (runs: "
          + ", ".join(f"{f:.2f}" for f in figures) + f"); load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
