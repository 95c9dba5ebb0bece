"""A real HTTP server on 127.0.0.1 that misbehaves on purpose (fault injection).

Each :class:`FaultServer` runs one *behaviour* on its own port, so every fault is a
separate "site" with its own robots.txt and root page. The server is plain
``http.server`` with threads; faults that need the socket itself (a reset mid-body, a
byte-by-byte drip) write to it directly. Nothing is mocked: the scanner under test
talks TCP to these servers exactly as it would to a hostile site.

Behaviours (``FaultServer.BEHAVIOURS``):

- ``good``: a small, ordinary pharmacy-like site (home, contact, legal pages).
- ``slow_first_byte``: accepts the connection, then waits ``slow_seconds`` before any byte.
- ``drip``: sends headers at once, then the body one byte every ``drip_interval`` s, forever.
- ``reset``: announces 100 kB, sends 2 kB, then resets the connection (RST, SO_LINGER 0).
- ``huge``: a 200 MB ``text/html`` body (Content-Length set), generated on the fly.
- ``gzip_bomb``: ``Content-Encoding: gzip`` body of ≈1 MB that inflates to ≈1 GB of spaces.
- ``redirect_loop``: ``/`` → ``/a`` → ``/b`` → ``/a`` … forever.
- ``redirect_chain``: ``/`` → ``/hop/1`` → … → ``/hop/30`` → a page (30 hops).
- ``random_bytes``: 256 kB of random bytes served as ``text/html``.
- ``legacy_charset``: a Windows-1252 page declared only in ``<meta charset>`` (no HTTP charset).
- ``deep_nesting``: 100,000 nested ``<div>`` elements.
- ``octet_stream``: an HTML page served as ``application/octet-stream``.
- ``unavailable``: every URL answers 503 with ``Retry-After: 3600`` (``/other`` 500).
- ``robots_all``: a normal site whose robots.txt disallows everything.
- ``link_farm``: every page links to 3,000 generated same-site pages.
- ``many_headers``: the good site, every response with 101 ``Set-Cookie`` headers.
- ``dup_content_type``: the good site, ``Content-Type`` sent twice on every page.
- ``robots_drip``: the good site, whose robots.txt drips one byte every ``drip_interval`` s, forever.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

LEGACY_TEXT = "Apotheke in der Straße des 17. Juni 5 — Preis 12,50 € — Größe ½ — “Qualität”"

GOOD_HOME = """<!doctype html><html lang="en"><head><title>Riverside Pharmacy</title></head><body>
<h1>Riverside Pharmacy</h1>
<p>Your local pharmacy since 1990. We dispense NHS and private prescriptions.</p>
<nav><a href="/contact">Contact us</a> <a href="/legal">Legal notice</a> <a href="/about">About us</a></nav>
<p>Paracetamol 500 mg tablets, 16 pack: £1.99 <a href="/basket">Add to basket</a></p>
</body></html>"""
GOOD_CONTACT = """<!doctype html><html lang="en"><head><title>Contact</title></head><body>
<h1>Contact us</h1><p>Riverside Pharmacy Ltd, 12 High Street, Bristol BS1 4DJ, United Kingdom</p>
<p>Telephone: 0117 496 0000. Email: help@riverside.example</p></body></html>"""
GOOD_LEGAL = """<!doctype html><html lang="en"><head><title>Legal</title></head><body>
<h1>Legal notice</h1><p>Superintendent pharmacist: Jane Doe. GPhC registration number 1234567.</p>
</body></html>"""


def gzip_bomb(inflated_bytes: int = 1 << 30, chunk: int = 1 << 20) -> bytes:
    """A gzip stream of ``inflated_bytes`` spaces (wrapped in an HTML start), built chunk by chunk.

    Each 1 MB chunk is compressed after a full flush, so every chunk after the first gives
    the same compressed bytes: we compress three chunks, check the repetition, and repeat
    the compressed piece instead of compressing 1 GB (≈3 s of CPU). The CRC is computed
    by streaming over the same 1 MB buffer. Memory: one 1 MB buffer plus the ≈1 MB result.
    """
    head = b"<!doctype html><html><head><title>bomb</title></head><body>"
    filler = b" " * chunk
    n = max(3, inflated_bytes // chunk)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate; we write the gzip framing
    first = comp.compress(head + filler) + comp.flush(zlib.Z_FULL_FLUSH)
    second = comp.compress(filler) + comp.flush(zlib.Z_FULL_FLUSH)
    third = comp.compress(filler) + comp.flush(zlib.Z_FULL_FLUSH)
    pieces: list[bytes]
    if second == third:
        pieces = [first, second * (n - 1)]  # the first piece holds one filler too
    else:  # compressor did not repeat itself: do it the slow (still streaming) way
        pieces = [first, second, third]
        for _ in range(n - 3):
            pieces.append(comp.compress(filler) + comp.flush(zlib.Z_FULL_FLUSH))
    pieces.append(comp.flush(zlib.Z_FINISH))
    crc = zlib.crc32(head)
    for _ in range(n):
        crc = zlib.crc32(filler, crc)
    size = len(head) + n * chunk
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + b"".join(pieces) + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)


class _Handler(BaseHTTPRequestHandler):
    server: _FaultHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log.append(f"{self.command} {self.path}")

    # helpers -----------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self._send(302, b"", headers={"Location": location})

    def _html(self, text: str) -> None:
        self._send(200, text.encode("utf-8"))

    def _robots(self, disallow_all: bool = False) -> None:
        body = "User-agent: *\nDisallow: /\n" if disallow_all else "User-agent: *\nDisallow:\n"
        self._send(200, body.encode(), "text/plain")

    def _good(self) -> None:
        path = self.path.split("?", 1)[0]
        pages = {"/": GOOD_HOME, "/contact": GOOD_CONTACT, "/legal": GOOD_LEGAL}
        if path in pages:
            self._html(pages[path])
        else:
            self._send(404, b"<h1>Not found</h1>")

    # dispatch ----------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        behaviour = self.server.behaviour
        try:
            if self.path.startswith("/robots.txt") and behaviour == "robots_drip":
                self._drip_robots()
                return
            if self.path.startswith("/robots.txt"):
                self._robots(disallow_all=behaviour == "robots_all")
                return
            getattr(self, "_b_" + behaviour)()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True  # the client gave up: that is what the scanner should do

    def _b_good(self) -> None:
        self._good()

    def _b_many_headers(self) -> None:
        path = self.path.split("?", 1)[0]
        pages = {"/": GOOD_HOME, "/contact": GOOD_CONTACT, "/legal": GOOD_LEGAL}
        body = pages.get(path, "<h1>Not found</h1>")
        self.send_response(200 if path in ("/", "/contact", "/legal") else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for i in range(101):
            self.send_header("Set-Cookie", f"c{i}=v{i}; Path=/")
        data = body.encode()
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _b_dup_content_type(self) -> None:
        path = self.path.split("?", 1)[0]
        pages = {"/": GOOD_HOME, "/contact": GOOD_CONTACT, "/legal": GOOD_LEGAL}
        body = pages.get(path, "<h1>Not found</h1>")
        self.send_response(200 if path in ("/", "/contact", "/legal") else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Type", "text/html; charset=utf-8")
        data = body.encode()
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _b_robots_drip(self) -> None:
        self._good()

    def _drip_robots(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(10_000_000))
        self.end_headers()
        self.wfile.flush()
        line = b"# " + b"x" * 60 + b"\n"
        i = 0
        while not self.server.stopping.is_set():
            self.wfile.write(line[i % len(line):i % len(line) + 1])
            self.wfile.flush()
            i += 1
            time.sleep(self.server.drip_interval)

    def _b_robots_all(self) -> None:
        self._good()

    def _b_slow_first_byte(self) -> None:
        deadline = time.monotonic() + self.server.slow_seconds
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            time.sleep(0.05)
        self._html(GOOD_HOME)

    def _b_drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(10_000_000))
        self.end_headers()
        self.wfile.flush()
        payload = GOOD_HOME.encode() + b" " * 10_000_000
        for i in range(len(payload)):
            if self.server.stopping.is_set():
                break
            self.wfile.write(payload[i:i + 1])
            self.wfile.flush()
            time.sleep(self.server.drip_interval)

    def _b_reset(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(100_000))
        self.end_headers()
        self.wfile.write(b"<html><body>" + b"x" * 2000)
        self.wfile.flush()
        # SO_LINGER with a zero timeout turns close() into a TCP RST.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _b_huge(self) -> None:
        total = 200 * 1024 * 1024
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        if self.command == "HEAD":
            return
        block = (b"<p>" + b"a" * 1020 + b"</p>") * 64  # 64 kB
        sent = 0
        while sent < total and not self.server.stopping.is_set():
            part = block[: total - sent]
            self.wfile.write(part)
            sent += len(part)
        self.server.sent_bytes = max(self.server.sent_bytes, sent)

    def _b_gzip_bomb(self) -> None:
        self._send(200, self.server.bomb, headers={"Content-Encoding": "gzip"})

    def _b_redirect_loop(self) -> None:
        path = self.path.split("?", 1)[0]
        self._redirect("/b" if path == "/a" else "/a")

    def _b_redirect_chain(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/hop/"):
            n = int(path.rsplit("/", 1)[1] or 0)
            if n >= 30:
                self._html(GOOD_HOME)
            else:
                self._redirect(f"/hop/{n + 1}")
        else:
            self._redirect("/hop/1")

    def _b_random_bytes(self) -> None:
        seed = int(hashlib.sha256(self.path.encode()).hexdigest()[:8], 16)
        data = random.Random(seed).randbytes(256 * 1024)
        self._send(200, data, "text/html")

    def _b_legacy_charset(self) -> None:
        html = (
            '<html lang="de"><head><meta charset="windows-1252"><title>Apotheke</title></head>'
            f"<body><h1>Willkommen</h1><p>{LEGACY_TEXT}</p></body></html>"
        )
        self._send(200, html.encode("cp1252"), "text/html")  # no charset in the header

    def _b_deep_nesting(self) -> None:
        depth = 100_000
        html = "<html><body>" + "<div>" * depth + "deep pharmacy text" + "</div>" * depth + "</body></html>"
        self._html(html)

    def _b_octet_stream(self) -> None:
        self._send(200, GOOD_HOME.encode(), "application/octet-stream")

    def _b_unavailable(self) -> None:
        status = 500 if self.path.startswith("/other") else 503
        self._send(status, b"<h1>Service unavailable</h1>", headers={"Retry-After": "3600"})

    def _b_link_farm(self) -> None:
        self.server.farm_hits += 1
        rng = random.Random(self.path)
        links = "".join(
            f'<a href="/farm/{rng.getrandbits(64):016x}">contact page {i}</a>\n' for i in range(3000)
        )
        self._html(f"<html><body><h1>Pharmacy {self.path}</h1>{links}</body></html>")


class _FaultHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    behaviour: str
    slow_seconds: float
    drip_interval: float
    bomb: bytes
    stopping: threading.Event
    log: list[str]
    farm_hits: int
    sent_bytes: int

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on a hostile server is the expected outcome, not an error


class FaultServer:
    """One misbehaving site on 127.0.0.1. Use as a context manager or call start()/stop()."""

    BEHAVIOURS: ClassVar[tuple[str, ...]] = (
        "good", "slow_first_byte", "drip", "reset", "huge", "gzip_bomb", "redirect_loop",
        "redirect_chain", "random_bytes", "legacy_charset", "deep_nesting", "octet_stream",
        "unavailable", "robots_all", "link_farm", "many_headers", "dup_content_type", "robots_drip",
    )

    def __init__(self, behaviour: str, *, slow_seconds: float = 8.0, drip_interval: float = 0.2,
                 bomb: bytes = b"") -> None:
        if behaviour not in self.BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        if behaviour == "gzip_bomb" and not bomb:
            bomb = gzip_bomb()
        self.httpd = _FaultHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.behaviour = behaviour
        self.httpd.slow_seconds = slow_seconds
        self.httpd.drip_interval = drip_interval
        self.httpd.bomb = bomb
        self.httpd.stopping = threading.Event()
        self.httpd.log = []
        self.httpd.farm_hits = 0
        self.httpd.sent_bytes = 0
        self.behaviour = behaviour
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fault-{behaviour}", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> list[str]:
        return self.httpd.log

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def fault_servers(behaviours: tuple[str, ...] | None = None, **kw: Any) -> Iterator[dict[str, FaultServer]]:
    """Start one server per behaviour; yields {behaviour: server}; stops them all afterwards."""
    servers = {b: FaultServer(b, **kw).start() for b in (behaviours or FaultServer.BEHAVIOURS)}
    try:
        yield servers
    finally:
        for s in servers.values():
            s.stop()


# --- running the CLI as a real subprocess, with its peak memory --------------------------------

@dataclass
class CliRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    elapsed: float  # wall seconds, interpreter start-up included
    peak_rss_mb: float  # the child's own peak resident set (ru_maxrss from wait4)
    killed: bool = False  # the harness had to kill it (hard timeout)
    tree_peak_mb: float = 0.0  # peak of the summed RSS of the child and its descendants (psutil polling)
    largest_mb: float = 0.0  # the largest RSS any single process of the tree reached (psutil polling)

    def json(self) -> Any:
        return json.loads(self.stdout)

    def jsonl(self) -> list[Any]:
        return [json.loads(line) for line in jsonl_lines(self.stdout) if line.strip()]


def jsonl_lines(text: str) -> list[str]:
    """JSON Lines are separated by "\\n" only: ``str.splitlines`` would also split inside strings
    holding U+2028, U+0085 or \\x1c-\\x1e, which JSON leaves unescaped with ensure_ascii=False."""
    lines = text.split("\n")
    return [line for line in lines if line.strip()]


def offline_env(**extra: str) -> dict[str, str]:
    """The environment for a test scan: no colour, and a dead proxy for anything not local.

    Any host that is not 127.0.0.1/localhost goes to a proxy on a closed local port, so a
    test can feed real-looking domains to the CLI without ever touching the internet.
    """
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    dead = "http://127.0.0.1:9"
    env.update(HTTP_PROXY=dead, HTTPS_PROXY=dead, http_proxy=dead, https_proxy=dead,
               NO_PROXY="127.0.0.1,localhost,::1", no_proxy="127.0.0.1,localhost,::1",
               NO_COLOR="1", COLUMNS="160", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run_pharmcheck(args: list[str], *, timeout: float = 60.0, env: dict[str, str] | None = None,
                   stdin: bytes | None = None, cwd: str | None = None) -> CliRun:
    """Run ``python -m pharmcheck ARGS``; measure wall time and the child's peak RSS.

    stdout/stderr go to temporary files (no pipe can fill up and block the child). The CLI is
    started by a small launcher (:data:`_LAUNCHER`) that reports the CLI's own ``ru_maxrss``: read
    here with ``wait4``, it would carry this (large) test process's high-water mark across fork
    and exec. The launcher leads its own process group, killed whole at the hard timeout.
    """
    cmd = [sys.executable, "-m", "pharmcheck", *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp, \
            tempfile.TemporaryDirectory(prefix="pharmcheck-run-") as tmp:
        if stdin is not None:
            inp.write(stdin)
            inp.seek(0)
        status_file = Path(tmp) / "status"
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(status_file), *cmd],
                                stdout=out, stderr=err, stdin=inp, env=env or offline_env(), cwd=cwd,
                                start_new_session=True)
        killed = threading.Event()

        def _kill() -> None:
            killed.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, _kill)
        timer.start()
        tree_peak = [0.0, 0.0]
        done = threading.Event()
        poller = threading.Thread(target=_poll_tree, args=(proc.pid, done, tree_peak), daemon=True)
        poller.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            done.set()
            poller.join()
        elapsed = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it has been reaped
        with contextlib.suppress(ProcessLookupError):  # anything the CLI left behind
            os.killpg(proc.pid, signal.SIGKILL)
        try:  # the CLI's exit code and peak, as the launcher saw them
            rc_text, peak_text = status_file.read_text().split()
            returncode, peak_kb = int(rc_text), int(peak_text)
        except (OSError, ValueError):  # the launcher itself was killed (hard timeout)
            returncode, peak_kb = proc.returncode, usage.ru_maxrss
        out.seek(0)
        err.seek(0)
        return CliRun(cmd[3:], returncode, out.read().decode("utf-8", "replace"),
                      err.read().decode("utf-8", "replace"), elapsed, peak_kb / 1024, killed.is_set(),
                      tree_peak[0], max(tree_peak[1], peak_kb / 1024))


# Starts the CLI (argv[2:]), passes SIGINT/SIGTERM on, and writes "EXITCODE PEAK_KB" to argv[1]: the
# CLI's ru_maxrss as its parent sees it, i.e. from this small process's high-water mark, not the test's.
_LAUNCHER = """
import resource, signal, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, lambda n, _f: proc.send_signal(n))
rc = proc.wait()
with open(sys.argv[1], "w") as fh:
    fh.write(f"{rc} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
"""


def _poll_tree(pid: int, done: threading.Event, peak: list[float]) -> None:
    """Every 50 ms: the summed RSS of the descendants of ``pid`` (the launcher: the CLI and its
    scoring workers), and the largest one."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not done.is_set():
        total = 0
        try:
            procs = root.children(recursive=True)
        except psutil.Error:
            return
        for p in procs:
            with contextlib.suppress(psutil.Error):
                rss = p.memory_info().rss
                total += rss
                peak[1] = max(peak[1], rss / (1024 * 1024))
        peak[0] = max(peak[0], total / (1024 * 1024))
        done.wait(0.05)
