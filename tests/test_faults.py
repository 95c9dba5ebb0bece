"""Hostile servers, end to end: every fault of :mod:`faultserver` through ``pharmcheck scan``.

Each fault runs as its own CLI subprocess (``--allow-private -f json``, short limits) so
wall time and the child's peak RSS can be measured; the scans run a few at a time to keep
the module fast. Every scan must end, inside the per-site deadline (plus interpreter
start-up), with a verdict or a clear per-site error, no traceback, and bounded memory.
Then all faults and two good sites run together as one ``-i`` batch (one result per line),
and a batch killed with SIGKILL is finished with ``--resume`` without losing or repeating
a result. A table of time and peak RSS per fault is printed in the terminal summary.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from faults_summary import Row, summary
from faultserver import LEGACY_TEXT, CliRun, FaultServer, gzip_bomb, jsonl_lines, offline_env, run_pharmcheck

TIMEOUT = 1.0  # --timeout: per request
DEADLINE = 4.0  # --deadline: per site
MAX_PAGES = 6
FETCH_SLACK = 1.5  # the fetch stage may overrun the deadline by one read/close at most
# Wall time allowed beyond the deadline: interpreter start-up, imports and *judging*. Judging is
# CPU-bound and not (yet) under the per-site deadline: bs4 parses ~100k elements/s, so a 1 MB page of
# 100k <div>s costs seconds (see the table). This bound catches hangs, not slowness.
STARTUP_SLACK = 40.0
RSS_LIMIT_MB = 300
VERDICTS = {"legitimate", "suspicious", "rogue", "not_pharmacy", "unreachable", "error"}
GRADED = VERDICTS - {"unreachable", "error"}

SCAN_FLAGS = ["--allow-private", "--timeout", str(TIMEOUT), "--deadline", str(DEADLINE),
              "--max-pages", str(MAX_PAGES), "--offline"]


@dataclass
class FaultRun:
    server: FaultServer
    run: CliRun
    snapshot_dir: Path

    @property
    def report(self) -> dict[str, Any]:
        data = self.run.json()
        return data[0] if isinstance(data, list) else data

    def snapshot(self) -> dict[str, Any]:
        files = sorted(self.snapshot_dir.glob("*.json"))
        assert len(files) == 1, files
        return json.loads(files[0].read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def bomb() -> bytes:
    """≈1 MB of gzip that inflates to ≈1 GB, built once and streaming (see faultserver.gzip_bomb)."""
    return gzip_bomb()


@pytest.fixture(scope="module")
def servers(bomb: bytes) -> Iterator[dict[str, FaultServer]]:
    started = {b: FaultServer(b, bomb=bomb, slow_seconds=TIMEOUT + 6).start() for b in FaultServer.BEHAVIOURS}
    started["good2"] = FaultServer("good").start()
    try:
        yield started
    finally:
        for s in started.values():
            s.stop()


@pytest.fixture(scope="module")
def fault_runs(servers: dict[str, FaultServer], tmp_path_factory: pytest.TempPathFactory,
               request: pytest.FixtureRequest) -> dict[str, FaultRun]:
    """Scan every fault server once (a few at a time) and record time and memory."""
    table = summary(request.config, tmp_path_factory)
    base = tmp_path_factory.mktemp("fault-snapshots")

    def one(name: str) -> tuple[str, FaultRun]:
        server = servers[name]
        snap_dir = base / name
        args = ["scan", server.url, "-f", "json", *SCAN_FLAGS, "--save-snapshot", str(snap_dir)]
        run = run_pharmcheck(args, timeout=DEADLINE + 80)
        return name, FaultRun(server, run, snap_dir)

    names = [n for n in servers if n != "good2"]
    # one scan per CPU: judging is CPU-bound, more at once only inflates every scan's time
    with ThreadPoolExecutor(max_workers=max(2, min(6, os.cpu_count() or 2))) as pool:
        runs = dict(pool.map(one, names))
    for name, fr in runs.items():
        fetch_s = judge_s = None
        verdict, note = "(no json)", fr.run.stderr[-200:]
        try:
            verdict = str(fr.report.get("verdict"))
            note = "; ".join(fr.report.get("errors", []))[:200]
            fetch_s = fr.snapshot()["elapsed_ms"] / 1000
            judge_s = max(0.0, fr.report["elapsed_ms"] / 1000 - fetch_s)
        except (ValueError, AssertionError, KeyError):
            pass  # the test of this fault reports what is wrong
        table.rows.append(Row(name, verdict, fr.run.elapsed, fr.run.peak_rss_mb, note, fetch_s, judge_s))
    return runs


def _errors(report: dict[str, Any]) -> str:
    page_errors = [str(p.get("error") or "") for p in report.get("pages", [])]
    return " | ".join([*report.get("errors", []), *page_errors]).lower()


def _common(fr: FaultRun) -> dict[str, Any]:
    """What every fault must satisfy: ended by itself, in time, small, no traceback, valid JSON."""
    run = fr.run
    assert not run.killed, f"hard-killed after {run.elapsed:.1f}s; stderr: {run.stderr[-2000:]}"
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode in (0, 1, 3), (run.returncode, run.stderr[-2000:])
    assert run.elapsed < DEADLINE + STARTUP_SLACK, f"took {run.elapsed:.1f}s"
    assert run.peak_rss_mb < RSS_LIMIT_MB, f"peak RSS {run.peak_rss_mb:.0f} MB"
    report = fr.report
    assert report["verdict"] in VERDICTS
    assert report["input"] == fr.server.url
    fetch_ms = fr.snapshot()["elapsed_ms"]
    assert fetch_ms <= (DEADLINE + FETCH_SLACK) * 1000, f"fetching took {fetch_ms} ms"
    if report["verdict"] in ("unreachable", "error"):
        assert report["errors"], "an unreachable site must say why"
        assert run.returncode == 3
    return report


def _check_good(fr: FaultRun) -> None:
    report = _common(fr)
    assert report["verdict"] in GRADED, report["errors"]
    assert len(report["pages"]) >= 2  # home plus discovered pages (contact, legal)


def _check_slow_first_byte(fr: FaultRun) -> None:
    report = _common(fr)
    assert report["verdict"] == "unreachable"
    assert "timed out" in _errors(report) or "deadline" in _errors(report)


def _check_drip(fr: FaultRun) -> None:
    report = _common(fr)
    assert "deadline" in _errors(report), report["errors"]


def _check_reset(fr: FaultRun) -> None:
    report = _common(fr)
    errors = _errors(report)
    assert any(w in errors for w in ("reset", "body read failed", "connection", "incomplete")), errors


def _check_huge(fr: FaultRun) -> None:
    report = _common(fr)
    assert report["verdict"] in GRADED  # the first 3 MB are a page like any other
    snap = fr.snapshot()
    assert snap["pages"][0]["truncated"] is True
    assert len(snap["pages"][0]["html"]) <= 3 * 1024 * 1024


def _check_gzip_bomb(fr: FaultRun) -> None:
    report = _common(fr)
    snap = fr.snapshot()
    page = snap["pages"][0]
    assert page["truncated"] is True or report["verdict"] == "unreachable"
    assert len(page["html"]) <= 3 * 1024 * 1024


def _check_redirect_loop(fr: FaultRun) -> None:
    report = _common(fr)
    assert report["verdict"] == "unreachable"
    errors = _errors(report)
    assert "redirect loop" in errors or "redirects" in errors, errors
    assert len(fr.server.log) < 50


def _check_redirect_chain(fr: FaultRun) -> None:
    report = _common(fr)
    assert report["verdict"] == "unreachable"
    assert "more than 10 redirects" in _errors(report), report["errors"]
    hops = [line for line in fr.server.log if "/hop/" in line]
    assert len(hops) <= 11  # stopped at the cap, never reached /hop/30


def _check_random_bytes(fr: FaultRun) -> None:
    report = _common(fr)
    assert report["verdict"] in GRADED | {"unreachable"}


def _check_legacy_charset(fr: FaultRun) -> None:
    report = _common(fr)
    assert report["verdict"] in GRADED
    page = fr.snapshot()["pages"][0]
    assert page["encoding"] in ("cp1252", "windows-1252")
    assert LEGACY_TEXT in page["html"], page["html"][:500]
    assert "Straße" in page["html"] and "€" in page["html"]


def _check_deep_nesting(fr: FaultRun) -> None:
    report = _common(fr)
    assert report["verdict"] in GRADED
    assert not [f for f in report["findings"] if f["outcome"] == "error"], "a rule crashed on deep nesting"
    assert "deep pharmacy text" in fr.snapshot()["pages"][0]["html"]


def _check_octet_stream(fr: FaultRun) -> None:
    # Browsers download application/octet-stream instead of rendering it: not a page.
    report = _common(fr)
    assert report["verdict"] in GRADED | {"unreachable"}
    assert all(not p["html"] for p in fr.snapshot()["pages"]), "octet-stream body read as a page"


def _check_unavailable(fr: FaultRun) -> None:
    report = _common(fr)
    assert report["verdict"] == "unreachable"
    assert "503" in _errors(report), report["errors"]


def _check_robots_all(fr: FaultRun) -> None:
    report = _common(fr)
    assert report["verdict"] == "unreachable"
    assert "robots.txt" in _errors(report)
    fetched = [line for line in fr.server.log if "robots.txt" not in line]
    assert not fetched, f"fetched despite robots.txt: {fetched}"


def _check_link_farm(fr: FaultRun) -> None:
    report = _common(fr)
    assert len(report["pages"]) <= MAX_PAGES
    gets = [line for line in fr.server.log if line.startswith("GET /farm/") or line == "GET /"]
    assert len(gets) <= MAX_PAGES + 1, len(gets)


def _judged_like_good(fr: FaultRun) -> dict[str, Any]:
    """A site a browser renders is a site we judge: not unreachable, its home page read."""
    report = _common(fr)
    assert report["verdict"] not in ("unreachable", "error"), _errors(report)
    assert any(p["status"] == 200 and p.get("kind") == "home" for p in report["pages"]), report["pages"]
    return report


def _check_many_headers(fr: FaultRun) -> None:
    _judged_like_good(fr)  # 101 Set-Cookie headers: http.client alone would refuse the response


def _check_dup_content_type(fr: FaultRun) -> None:
    _judged_like_good(fr)  # "text/html, text/html" is still HTML


def _check_robots_drip(fr: FaultRun) -> None:
    # A robots.txt that never finishes is unusable, so it allows everything (RFC 9309 §2.3.1.3);
    # it gets a few seconds, not the whole site deadline.
    _judged_like_good(fr)


CHECKS: dict[str, Callable[[FaultRun], None]] = {
    "good": _check_good,
    "slow_first_byte": _check_slow_first_byte,
    "drip": _check_drip,
    "reset": _check_reset,
    "huge": _check_huge,
    "gzip_bomb": _check_gzip_bomb,
    "redirect_loop": _check_redirect_loop,
    "redirect_chain": _check_redirect_chain,
    "random_bytes": _check_random_bytes,
    "legacy_charset": _check_legacy_charset,
    "deep_nesting": _check_deep_nesting,
    "octet_stream": _check_octet_stream,
    "unavailable": _check_unavailable,
    "robots_all": _check_robots_all,
    "link_farm": _check_link_farm,
    "many_headers": _check_many_headers,
    "dup_content_type": _check_dup_content_type,
    "robots_drip": _check_robots_drip,
}


def test_every_behaviour_has_a_check() -> None:
    assert set(CHECKS) == set(FaultServer.BEHAVIOURS)


@pytest.mark.parametrize("behaviour", list(CHECKS))
def test_fault(behaviour: str, fault_runs: dict[str, FaultRun]) -> None:
    CHECKS[behaviour](fault_runs[behaviour])


# --- all faults in one batch -------------------------------------------------------------------

def test_batch_of_all_faults(servers: dict[str, FaultServer], tmp_path: Path,
                             tmp_path_factory: pytest.TempPathFactory,
                             request: pytest.FixtureRequest) -> None:
    urls = [s.url for s in servers.values()]
    listing = tmp_path / "targets.txt"
    listing.write_text("# every fault plus two good sites\n\n" + "\n".join(urls) + "\n", encoding="utf-8")
    out = tmp_path / "results.jsonl"
    run = run_pharmcheck(["scan", "-i", str(listing), "-f", "jsonl", "-o", str(out), *SCAN_FLAGS,
                          "--workers", "8"], timeout=120)
    summary(request.config, tmp_path_factory).rows.append(
        Row(f"batch ({len(urls)} sites)", f"rc={run.returncode}", run.elapsed, run.peak_rss_mb))
    assert not run.killed and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode in (1, 3), run.stderr[-2000:]
    assert run.peak_rss_mb < RSS_LIMIT_MB
    # the batch runs 8 at a time: two rounds of deadlines at most
    assert run.elapsed < 2 * DEADLINE + 2 * STARTUP_SLACK
    lines = jsonl_lines(out.read_text(encoding="utf-8"))
    results = [json.loads(line) for line in lines]
    assert sorted(r["input"] for r in results) == sorted(urls)
    assert all(r["verdict"] in VERDICTS for r in results)
    by_input = {r["input"]: r for r in results}
    assert by_input[servers["good"].url]["verdict"] in GRADED
    assert by_input[servers["good2"].url]["verdict"] in GRADED
    assert by_input[servers["redirect_loop"].url]["verdict"] == "unreachable"


# --- nothing lost: SIGKILL, then --resume ------------------------------------------------------

def test_kill_and_resume(tmp_path: Path) -> None:
    with FaultServer("good") as good, FaultServer("slow_first_byte", slow_seconds=30) as slow:
        # distinct inputs for the same good site (query strings), slow ones in between
        targets = []
        for i in range(12):
            targets.append(f"{good.url}?n={i}")
            if i % 3 == 2:
                targets.append(f"{slow.url}?n={i}")
        listing = tmp_path / "targets.txt"
        listing.write_text("\n".join(targets) + "\n", encoding="utf-8")
        out = tmp_path / "results.jsonl"
        args = ["scan", "-i", str(listing), "-f", "jsonl", "-o", str(out), "--allow-private", "--offline",
                "--timeout", "2", "--deadline", "4", "--max-pages", "2", "--workers", "2"]
        proc = subprocess.Popen([sys.executable, "-m", "pharmcheck", *args], env=offline_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            end = time.monotonic() + 30
            while time.monotonic() < end:
                done = out.read_text(encoding="utf-8").count("\n") if out.exists() else 0
                if done >= 3 or proc.poll() is not None:
                    break
                time.sleep(0.05)
            assert proc.poll() is None, "the batch finished before it could be killed: " + \
                proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait()
            assert proc.stderr is not None
            proc.stderr.close()
        before = [json.loads(line) for line in jsonl_lines(out.read_text(encoding="utf-8")) if line.strip()]
        assert 3 <= len(before) < len(targets)
        # a kill in the middle of a write leaves a torn last line: simulate one
        with out.open("a", encoding="utf-8") as fh:
            fh.write('{"schema_version": "1.0", "input": "http://torn.exam')
        resumed = run_pharmcheck([*args, "--resume"], timeout=90)
        assert "Traceback" not in resumed.stderr, resumed.stderr[-3000:]
        assert not resumed.killed
        lines = jsonl_lines(out.read_text(encoding="utf-8"))
        results = [json.loads(line) for line in lines]  # every line is valid JSON: the torn one is gone
        inputs = [r["input"] for r in results]
        assert sorted(inputs) == sorted(targets), "every target exactly once"
        for r in before:  # finished results were kept, not scanned again
            assert r in results
        assert "torn" in resumed.stderr.lower() or "incomplete" in resumed.stderr.lower() or \
            "partial" in resumed.stderr.lower() or "truncat" in resumed.stderr.lower(), resumed.stderr[-1000:]


# --- network safety: the SSRF guard -----------------------------------------------------------

REFUSED_URLS = [
    "http://127.0.0.1/", "http://127.1.2.3:8080/x", "http://localhost/", "http://LOCALHOST:8000/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/", "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://100.64.0.1/",
    "http://224.0.0.1/", "http://[ff02::1]/", "http://255.255.255.255/", "http://[fc00::1]/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_guard_refuses_non_public(url: str) -> None:
    from pharmcheck.fetch.netguard import check_url

    reason = check_url(url, allow_private=False)
    assert reason and ("refusing" in reason or "non-public" in reason), reason
    assert check_url(url, allow_private=True) is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://127.0.0.1:70/",
                                 "javascript:alert(1)", "data:text/html,hi", "dict://127.0.0.1:11211/"])
def test_guard_refuses_other_schemes(url: str) -> None:
    from pharmcheck.fetch.netguard import check_url

    assert check_url(url, allow_private=False)
    assert check_url(url, allow_private=True), "allow_private must not open other schemes"


def test_guard_allows_public_literal() -> None:
    from pharmcheck.fetch.netguard import check_url

    assert check_url("http://93.184.215.14/", allow_private=False) is None  # no DNS needed for a literal


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_scan_refuses_local_targets_by_default(host: str) -> None:
    """Without allow_private nothing is sent to a local server, not even robots.txt."""
    from pharmcheck.api import scan
    from pharmcheck.options import ScanOptions

    with FaultServer("good") as good:
        report = scan(f"http://{host}:{good.port}/", ScanOptions(timeout=1, deadline=4, offline=True))
        assert report.verdict == "unreachable"
        assert any("refusing" in e for e in report.errors), report.errors
        assert good.log == []


def test_cli_refuses_local_target_by_default() -> None:
    with FaultServer("good") as good:
        run = run_pharmcheck(["scan", good.url, "-f", "json", "--offline", "--timeout", "1",
                              "--deadline", "4"])
        assert "Traceback" not in run.stderr
        report = run.json()
        report = report[0] if isinstance(report, list) else report
        assert report["verdict"] == "unreachable"
        assert "refusing" in " ".join(report["errors"])
        assert run.returncode == 3
        assert good.log == []


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://[::1]:1/",
                                    "http://10.1.2.3/", "http://224.0.0.251/"])
def test_scan_refuses_private_literals(target: str) -> None:
    from pharmcheck.api import scan
    from pharmcheck.options import ScanOptions

    started = time.monotonic()
    report = scan(target, ScanOptions(timeout=1, deadline=3, offline=True))
    assert report.verdict == "unreachable"
    assert any("refusing" in e for e in report.errors), report.errors
    assert time.monotonic() - started < 1.0  # refused before any connection attempt


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:{port}/",
                                      "http://localhost:{port}/", "file:///etc/passwd"])
def test_redirect_hop_guard(location: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every redirect hop is checked: a public first hop cannot bounce the scanner inward.

    The first hop (our local server, standing in for a public site) is allowed explicitly, by
    the URL check and by the connect-time check (for its port only); every later hop goes
    through the real guard with allow_private off.
    """
    import http.server
    import threading

    import pharmcheck.fetch.session as session_mod
    from pharmcheck.fetch.netguard import check_url
    from pharmcheck.fetch.session import Deadline, Requester
    from pharmcheck.options import ScanOptions

    with FaultServer("good") as inner:
        target = location.format(port=inner.port)

        class R(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), R)
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        first = f"http://127.0.0.1:{httpd.server_address[1]}/start"
        real_check_peer = session_mod.check_peer

        def check_peer_but_first(sock: Any) -> None:
            if sock.getpeername()[1] != httpd.server_address[1]:
                real_check_peer(sock)

        monkeypatch.setattr(session_mod, "check_peer", check_peer_but_first)
        try:
            opts = ScanOptions(timeout=1, deadline=4)
            req = Requester(opts, Deadline(opts.deadline))
            try:
                res = req.get(first, check=lambda u: None if u == first else check_url(u, False))
            finally:
                req.close()
        finally:
            httpd.shutdown()
            httpd.server_close()
        assert res.blocked, (res.status, res.error)
        assert res.redirects == [first]
        assert res.error and "refusing" in res.error
        assert inner.log == [], "the scanner followed a redirect to a private address"


def test_peak_rss_is_the_clis_own_not_the_test_processs() -> None:
    """ru_maxrss of a child carries its parent's high-water mark across fork and exec; the harness
    reads the CLI's from a small launcher, so a big test process is not charged to the CLI."""
    ballast = bytearray(400 * 1024 * 1024)
    ballast[:: 4096] = b"\x01" * len(range(0, len(ballast), 4096))  # touch every page: resident
    run = run_pharmcheck(["--version"])
    del ballast
    assert run.returncode == 0 and run.stdout.startswith("pharmcheck")
    assert 1 < run.peak_rss_mb < 200, run.peak_rss_mb
