"""The command line: exit codes (0/1/2/3), one-line usage errors, stdin, start-up cost, score/explain."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultserver import FaultServer
from typer.testing import CliRunner

from pharmcheck.cli import app

BIN = [sys.executable, "-m", "pharmcheck"]
FAST = ["--allow-private", "--timeout", "2", "--deadline", "8", "--max-pages", "3", "--quiet"]


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("PHARMCHECK_")}
    return subprocess.run(
        [*BIN, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env, cwd=cwd
    )


@pytest.fixture(scope="module")
def good() -> Iterator[FaultServer]:
    with FaultServer("good") as server:
        yield server


def refused_url() -> str:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/"


def test_version_is_fast_and_light() -> None:
    started = time.monotonic()
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("pharmcheck ")
    assert time.monotonic() - started < 2.0  # generous for CI; the benchmark measures the real figure
    probe = (
        "import sys, pharmcheck.cli; heavy = [m for m in ('requests', 'bs4', 'lxml', 'tldextract', "
        "'rich.table', 'pharmcheck.batch') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "ftp://example.com"],
        ["scan", "example.com", "not a domain"],
        ["scan", "exa mple"],
        ["scan", "-i", "/nonexistent/urls.txt"],
        ["scan"],
        ["scan", "example.com", "--report", "xml=out.xml"],
        ["scan", "example.com", "--resume"],
        ["explain", "PC999"],
        ["score", "/nonexistent/snap.json"],
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str]) -> None:
    r = run(*args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("pharmcheck: error: ")
    assert r.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["scna", "x.com"],
        ["scan", "x.com", "--fail-on", "sometimes"],
        ["scan", "x.com", "--bogus"],
        ["scan", "x.com", "--workers", "many"],
    ],
)
def test_typos_get_usage_help_not_traceback(args: list[str]) -> None:
    r = run(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "Usage" in r.stderr


def test_input_directory_is_usage_error(tmp_path: Path) -> None:
    r = run("scan", "-i", str(tmp_path))
    assert r.returncode == 2 and "directory" in r.stderr


def test_unreachable_gives_exit_3() -> None:
    r = run("scan", refused_url(), "-f", "json", *FAST)
    assert r.returncode == 3, r.stderr
    doc = json.loads(r.stdout)
    assert isinstance(doc, dict) and doc["verdict"] == "unreachable"


def test_fail_on_sets_exit_1_consistently(good: FaultServer) -> None:
    r = run("scan", good.url, "-f", "json", "--fail-on", "suspicious", *FAST)
    verdict = json.loads(r.stdout)["verdict"]
    assert verdict in ("legitimate", "suspicious", "rogue", "not_pharmacy")
    assert r.returncode == (1 if verdict in ("suspicious", "rogue") else 0)
    never = run("scan", good.url, "-f", "json", "--fail-on", "never", *FAST)
    assert never.returncode == 0


def test_env_fail_on_and_flag_precedence(good: FaultServer, tmp_path: Path) -> None:
    # allow-private is flag/env only (issue 11 #12): a config file cannot open the SSRF guard
    (tmp_path / "pharmcheck.toml").write_text('fail-on = "suspicious"\n')
    r = run("scan", good.url, "-f", "json", "--timeout", "2", "--max-pages", "3", "-q", "--allow-private",
            cwd=tmp_path)
    verdict = json.loads(r.stdout)["verdict"]
    assert r.returncode == (1 if verdict in ("suspicious", "rogue") else 0)
    r2 = run("scan", good.url, "-f", "json", "--fail-on", "never", "-q", "--allow-private", cwd=tmp_path)
    assert r2.returncode == 0


def test_allowlisted_site_never_fails(good: FaultServer, tmp_path: Path) -> None:
    allow = tmp_path / "allow.txt"
    allow.write_text("127.0.0.1 the test server\n")
    r = run("scan", good.url, "-f", "json", "--fail-on", "suspicious", "--allowlist", str(allow), *FAST)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["suppressed"] == "the test server"


def test_stdin_mixed_with_positional_and_csv_injection(good: FaultServer) -> None:
    stdin = f"# list\n\n  {good.url}  \n=cmd|' /C calc'!A0\n"
    r = run("scan", refused_url(), "-i", "-", "-f", "csv", *FAST, stdin=stdin)
    assert r.returncode == 3, r.stderr
    rows = list(csv.DictReader(r.stdout.splitlines()))
    assert len(rows) == 3
    inputs = {row["input"] for row in rows}
    assert good.url in inputs
    assert "'=cmd|' /C calc'!A0" in inputs
    bad = next(row for row in rows if row["input"].startswith("'="))
    assert bad["verdict"] == "error" and "bad target" in bad["errors"]


def test_text_output_and_summary_on_stderr(good: FaultServer) -> None:
    r = run("scan", good.url, refused_url(), "--allow-private", "--timeout", "2", "--max-pages", "3")
    assert r.returncode in (1, 3)
    assert "unreachable" in r.stdout.lower()
    assert "summary" in r.stderr and "\x1b[" not in r.stdout  # plain when not a TTY


def test_save_snapshot_then_score_offline(good: FaultServer, tmp_path: Path) -> None:
    snaps = tmp_path / "snaps"
    r = run("scan", good.url, "-f", "json", "--save-snapshot", str(snaps), *FAST)
    scanned = json.loads(r.stdout)
    files = list(snaps.glob("*.json"))
    assert len(files) == 1
    s = run("score", str(snaps), "-f", "jsonl", "--fail-on", "never", "-q")
    assert s.returncode == 0, s.stderr
    rescored = json.loads(s.stdout)
    assert rescored["verdict"] == scanned["verdict"] and rescored["score"] == scanned["score"]
    assert rescored["input"] == good.url


def test_score_bad_snapshot_is_error_result(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    s = run("score", str(bad), "-f", "jsonl", "-q")
    assert s.returncode == 3
    assert json.loads(s.stdout)["verdict"] == "error"


def test_rules_and_explain() -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["rules"])
    assert r.exit_code == 0 and "PC101" in r.output
    e = runner.invoke(app, ["explain", "pc101"])
    assert e.exit_code == 0
    assert "Weights" in e.output and "Sources" in e.output and "pass" in e.output
