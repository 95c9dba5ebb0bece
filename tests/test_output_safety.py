"""Hostile text on its way out: terminal, CSV, JUnit, Markdown, snapshot file names, credentials.

A rogue page controls the words pharmcheck quotes as evidence. None of it may act on
the reader's terminal (ANSI/OSC escapes, BEL, bidi overrides, rich markup), run in a
spreadsheet (CSV formulas), break a JUnit or Markdown report, choose where a snapshot
file is written, or leak a password given in a target URL.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultserver import CliRun, FaultServer, offline_env, run_pharmcheck
from rich.console import Console

from pharmcheck.findings import Evidence, Finding, Outcome, Severity
from pharmcheck.report import Report
from pharmcheck.reporters.text import render_report

ESC_RED = "\x1b[31;1;4m"  # a colour sequence rich itself never emits in this exact form
OSC_LINK = "\x1b]8;;http://evil.example/\x07"
BIDI = "\u202e"
HOSTILE = (f"{ESC_RED}RED\x1b[0m {OSC_LINK}CLICK\x1b]8;;\x07 \x07BEL {BIDI}evil\u202c "
           "[bold red]PWNED[/bold red] [link=http://evil.example/]LINKED[/link] \x1b[2J\x1b]0;title\x07")
HOSTILE_PAGE = f"""<html lang="en"><head><title>Shop {HOSTILE}</title></head><body>
<h1>Online Pharmacy {HOSTILE}</h1>
<p>Buy Viagra 100mg without prescription {HOSTILE} only $0.99 per pill. No prescription needed! {HOSTILE}</p>
<p>Tramadol 50mg $1.20 <button>Add to cart</button> {HOSTILE}</p>
<p>Contact: 1 Evil Street {HOSTILE}, London. Phone +44 20 7946 0000 {HOSTILE}</p>
</body></html>"""
FLAGS = ["--allow-private", "--offline", "--timeout", "2", "--deadline", "6", "--max-pages", "2"]


def assert_terminal_safe(out: str) -> None:
    """No control sequence from the page survives; rich markup from the page is shown, not applied."""
    assert ESC_RED not in out
    assert "\x1b[2J" not in out and "\x1b]0;" not in out
    assert "\x07" not in out
    assert BIDI not in out and "\u202c" not in out
    assert not re.search(r"\x1b\]8;[^\x07\x1b]*evil", out), "page text became a terminal hyperlink"
    if "PWNED" in out:
        assert "[bold red]PWNED" in out, "page text was interpreted as rich markup"
    if "LINKED" in out:
        assert "[link=http://evil.example/]LINKED" in out


@pytest.fixture(scope="module")
def hostile_site() -> Iterator[str]:
    """A local site whose every page is the hostile page (raw bytes, escapes included)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = HOSTILE_PAGE.encode("utf-8")

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.startswith("/robots.txt"):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _color_env() -> dict[str, str]:
    env = offline_env(FORCE_COLOR="1", TERM="xterm-256color", COLUMNS="200")
    env.pop("NO_COLOR", None)
    return env


# --- terminal -----------------------------------------------------------------------------------

def _hostile_report() -> Report:
    ev = [Evidence("http://shop.example/" + HOSTILE, "before " + HOSTILE + " after")]
    return Report(
        input="shop.example " + HOSTILE, url="http://shop.example/",
        final_url="http://shop.example/" + HOSTILE,
        verdict="rogue", score=3, reasons=["reason " + HOSTILE], errors=["error " + HOSTILE],
        findings=[Finding("PC402", "prescription.none", Outcome.FAIL, "message " + HOSTILE, Severity.CRITICAL,
                          points=-40, evidence=ev, decisive=True),
                  Finding("PC201", "identity.address", Outcome.WARN, "m2 " + HOSTILE, Severity.HIGH,
                          points=-5, evidence=ev)],
        algorithm_version="test",
    )


def test_text_renderer_neutralises_page_text() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="truecolor", width=200, highlight=False)
    render_report(_hostile_report(), console, verbose=True)
    out = buf.getvalue()
    assert "\x1b[" in out, "the console was not a colour terminal: the test would prove nothing"
    assert "PWNED" in out and "LINKED" in out
    assert_terminal_safe(out)


def _run_in_pty(args: list[str], timeout: float = 60) -> str:
    """Run the CLI with stdout and stderr on a pseudo-terminal (a real TTY: colours, progress)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pharmcheck", *args], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=_color_env(), close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_text_output_of_a_hostile_site_on_a_terminal(hostile_site: str) -> None:
    out = _run_in_pty(["scan", hostile_site, "-f", "text", "-v", *FLAGS])
    assert "Traceback" not in out, out[-3000:]
    assert "\x1b[" in out, "no colour: the pseudo-terminal was not detected, the test would prove nothing"
    assert "RED" in out or "PWNED" in out, "no page text reached the output: the test would prove nothing"
    assert_terminal_safe(out)


def test_json_output_keeps_text_as_data(hostile_site: str) -> None:
    run = run_pharmcheck(["scan", hostile_site, "-f", "json", *FLAGS], timeout=60)
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout  # JSON escapes control characters
    report = run.json()
    report = report[0] if isinstance(report, list) else report
    assert report["verdict"] in ("legitimate", "suspicious", "rogue", "not_pharmacy")


# --- CSV ----------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "@SUM(1+1)", "+cmd|' /C calc'!A0", "-2+3",
            "=1+1.example.com", "\t=1"]


def test_csv_has_no_formula_cells(tmp_path: Path, hostile_site: str) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text("\n".join([*FORMULAS, hostile_site]) + "\n", encoding="utf-8")
    run = run_pharmcheck(["scan", "-i", str(listing), "-f", "csv", *FLAGS], timeout=60)
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert len(rows) >= 2, run.stdout
    header, body = rows[0], rows[1:]
    assert "input" in header
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
            assert "\x1b" not in cell
    inputs = [row[header.index("input")] for row in body]
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in inputs


# --- JUnit and Markdown -------------------------------------------------------------------------

NASTY_INPUTS = ['</testcase><testcase name="injected">', "a|b|c.example.com", "[x](javascript:alert(1))",
                "<script>alert(1)</script>", "shop.example/\x1b[31mred"]


def test_junit_is_well_formed(tmp_path: Path, hostile_site: str) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text("\n".join([*NASTY_INPUTS, hostile_site]) + "\n", encoding="utf-8")
    run = run_pharmcheck(["scan", "-i", str(listing), "-f", "junit", *FLAGS], timeout=60)
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    root = ET.fromstring(run.stdout.split("\n", 1)[1] if run.stdout.startswith("<?xml") else run.stdout)
    cases = root.findall(".//testcase")
    assert len(cases) == len(NASTY_INPUTS) + 1
    assert not [c for c in cases if c.get("name") == "injected"]
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout


def _md_cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_table_cannot_be_broken(tmp_path: Path, hostile_site: str) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text("\n".join([*NASTY_INPUTS, hostile_site]) + "\n", encoding="utf-8")
    run = run_pharmcheck(["scan", "-i", str(listing), "-f", "markdown", *FLAGS], timeout=60)
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    out = run.stdout
    assert "<script>" not in out and "</testcase>" not in out
    assert "](javascript:" not in out
    assert "\x1b" not in out
    rows = [line for line in out.splitlines() if line.startswith("|")]
    widths = {len(_md_cells(r)) for r in rows if not r.startswith("| verdict") and "sites" not in r}
    site_rows = [r for r in rows if len(_md_cells(r)) == 4]
    assert len(site_rows) >= len(NASTY_INPUTS) + 1 + 1  # header row + one per site
    assert widths <= {2, 4}, rows


# --- snapshot file names ------------------------------------------------------------------------

def test_snapshot_names_cannot_escape(tmp_path: Path) -> None:
    snaps = tmp_path / "deep" / "snaps"
    snaps.mkdir(parents=True)
    with FaultServer("good") as good:
        base = good.url.rstrip("/")
        targets = [f"{base}/../../../../escape", f"{base}/%2e%2e/%2e%2e/%2e%2e/escape2",
                   f"{base}/..%2f..%2f..%2fescape3", f"{base}/a/..\\..\\..\\escape4"]
        listing = tmp_path / "targets.txt"
        listing.write_text("\n".join(targets) + "\n", encoding="utf-8")
        before = {p for p in tmp_path.rglob("*")}
        args = ["scan", "-i", str(listing), "-f", "jsonl", *FLAGS, "--save-snapshot", str(snaps)]
        run = run_pharmcheck(args, timeout=60)
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    created = {p for p in tmp_path.rglob("*")} - before
    assert created, "no snapshot written"
    for p in created:
        assert snaps in p.parents, f"written outside the snapshot directory: {p}"
        assert ".." not in p.name.split("-", 1)[0] or not p.name.startswith("..")
    assert len(list(snaps.glob("*.json"))) >= 1


# --- credentials in target URLs -----------------------------------------------------------------

SECRET = "s3cr3tPassw0rd"


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "csv", "markdown", "junit"])
def test_credentials_never_printed(fmt: str) -> None:
    with FaultServer("good") as good:
        url = good.url.replace("http://", f"http://admin:{SECRET}@")
        run: CliRun = run_pharmcheck(["scan", url, "-f", fmt, *FLAGS], timeout=60)
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.stdout, run.stderr[-2000:]
    assert SECRET not in run.stdout, run.stdout[:2000]
    assert SECRET not in run.stderr
    if fmt == "json":
        report = json.loads(run.stdout)
        report = report[0] if isinstance(report, list) else report
        assert report["verdict"] in ("legitimate", "suspicious", "rogue", "not_pharmacy")
