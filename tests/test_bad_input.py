"""Bad input for ``pharmcheck scan -i FILE``: every line gets a result, no input gets a traceback.

Target lists come from scrapers, spreadsheets and other tools: empty, binary, one huge
line, broken UTF-8, BOMs, CRLF, IDN and punycode, IPv6 literals, credentials, ports,
fragments, non-http schemes. Each line must give a clear per-line error result or a
scan; the run must never print a traceback. Real-looking domains go to a dead local
proxy (:func:`faultserver.offline_env`), so nothing here touches the internet.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faultserver import CliRun, FaultServer, jsonl_lines, run_pharmcheck

from pharmcheck.target import redact

FLAGS = ["--allow-private", "--offline", "--timeout", "1", "--deadline", "3", "--max-pages", "2",
         "--fail-on", "never", "--workers", "8"]
VERDICTS = {"legitimate", "suspicious", "rogue", "not_pharmacy", "unreachable", "error"}
GRADED = VERDICTS - {"unreachable", "error"}


@pytest.fixture(scope="module")
def good() -> Iterator[FaultServer]:
    with FaultServer("good") as server:
        yield server


def _scan_file(path: Path, *extra: str, stdin: bytes | None = None) -> tuple[CliRun, list[dict[str, Any]]]:
    src = "-" if stdin is not None else str(path)
    run = run_pharmcheck(["scan", "-i", src, "-f", "jsonl", *FLAGS, *extra], stdin=stdin, timeout=90)
    assert not run.killed, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-4000:]
    results = [json.loads(line) for line in jsonl_lines(run.stdout) if line.strip()]
    for r in results:
        assert r["verdict"] in VERDICTS
        if r["verdict"] in ("unreachable", "error"):
            assert r["errors"] and all(isinstance(e, str) and e for e in r["errors"])
    return run, results


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    run, results = _scan_file(path)
    assert results == []
    assert run.returncode in (0, 2)
    assert run.stderr.strip(), "an empty list deserves a word on stderr"


def test_only_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "comments.txt"
    path.write_bytes(b"\xef\xbb\xbf# a list\n\n   \n# nothing else\r\n")
    run, results = _scan_file(path)
    assert results == []
    assert run.returncode in (0, 2)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.bin"
    rng = random.Random(1234)
    path.write_bytes(bytes(rng.getrandbits(8) for _ in range(32 * 1024)))
    run, results = _scan_file(path)
    # issue 11 #22: a file that is not text is refused as a whole (exit 2, one line), not read
    # as thousands of targets
    assert results == []
    assert run.returncode == 2
    assert "not a text file" in run.stderr


def test_ten_megabyte_line(tmp_path: Path, good: FaultServer) -> None:
    path = tmp_path / "huge-line.txt"
    with path.open("wb") as fh:
        fh.write(good.url.encode() + b"\n")
        fh.write(b"https://example.com/" + b"a" * (10 * 1024 * 1024) + b"\n")
        fh.write(good.url.encode() + b"?again\n")
    run, results = _scan_file(path)
    assert len(results) == 3
    by_input = {r["input"]: r for r in results}
    assert by_input[good.url]["verdict"] in GRADED
    assert by_input[good.url + "?again"]["verdict"] in GRADED
    (huge,) = [r for r in results if r["input"] not in (good.url, good.url + "?again")]
    assert huge["verdict"] == "error"
    assert len(huge["input"]) < 10_000, "a huge line must not be echoed in full"
    assert run.peak_rss_mb < 300
    assert len(run.stdout) < 200_000


def test_invalid_utf8_line(tmp_path: Path, good: FaultServer) -> None:
    path = tmp_path / "latin1.txt"
    url = good.url.encode()
    path.write_bytes(url + b"\nm\xfcnchen-apotheke.de\n\xff\xfe\xfd\n" + url + b"#x\n")
    run, results = _scan_file(path)
    assert len(results) == 4
    graded = sorted(r["input"] for r in results if r["verdict"] in GRADED)
    assert graded == sorted([good.url, good.url + "#x"])
    bad = [r for r in results if r["verdict"] == "error"]
    assert len(bad) == 2
    assert all("utf-8" in " ".join(r["errors"]).lower() for r in bad), bad
    assert run.returncode == 3


def _lines(good: FaultServer) -> list[tuple[str, set[str]]]:
    """(line as written, acceptable verdicts)."""
    port = good.port
    local = f"127.0.0.1:{port}"
    reach = GRADED
    return [
        ("münchen-apotheke.de", {"unreachable"}),
        ("xn--mnchen-apotheke-1vb.de", {"unreachable"}),
        ("https://MÜNCHEN-APOTHEKE.DE/Shop?q=1", {"unreachable"}),
        ("例え.テスト", {"unreachable"}),
        ("xn--", {"error", "unreachable"}),
        ("http://[::1]:1/", {"unreachable"}),
        ("[2001:db8::1]", {"unreachable"}),
        ("http://[::1", {"error"}),
        ("http://[not-an-ip]/", {"error"}),
        (f"http://user:secret@{local}/", reach),
        (f"http://:@{local}/", reach),
        (local, reach),
        (f"http://{local}/#fragment", reach),
        (f"  http://{local}/?q=a%20b  ", reach),
        (f"\thttp://{local}/\t", reach),
        (f"HTTP://{local.upper()}/", reach),
        ("http://127.0.0.1:99999/", {"error"}),
        ("http://127.0.0.1:0/", {"error", "unreachable"}),
        ("http://127.0.0.1:-1/", {"error"}),
        ("javascript:alert(document.cookie)", {"error"}),
        ("file:///etc/passwd", {"error"}),
        ("data:text/html,<script>alert(1)</script>", {"error"}),
        ("ftp://example.com/pub", {"error"}),
        ("mailto:someone@example.com", {"error"}),
        ("//example.com/path", {"error", "unreachable"}),
        ("exa mple.com", {"error"}),
        ("http://", {"error"}),
        ("https://-bad-.example.com/", {"error"}),
        ("a" * 64 + ".com", {"error"}),
        ("localhost", {"error", "unreachable"}),
        ("nodot", {"error"}),
        ("\u202eexample.com", {"error", "unreachable"}),
    ]


def test_line_battery(tmp_path: Path, good: FaultServer) -> None:
    cases = _lines(good)
    path = tmp_path / "battery.txt"
    body = "\ufeff" + "# every kind of odd line\n\n" + "\r\n".join(line for line, _ in cases) + "\n"
    path.write_bytes(body.encode("utf-8"))
    run, results = _scan_file(path)
    assert len(results) == len(cases), [r["input"] for r in results]
    got: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        got.setdefault(r["input"], []).append(r)
    for line, allowed in cases:
        shown = redact(line.strip())  # echoed as given (trimmed), minus any password
        assert got.get(shown), f"no result for {line!r}; inputs: {list(got)}"
        r = got[shown].pop()
        assert r["verdict"] in allowed, (line, r["verdict"], r["errors"])
        if r["verdict"] == "error":
            assert all("\n" not in e for e in r["errors"]), r["errors"]
    assert "secret" not in run.stdout
    assert run.returncode == 3


def test_bom_and_crlf_on_stdin(good: FaultServer, tmp_path: Path) -> None:
    data = ("\ufeff" + good.url + "\r\n# comment\r\n" + good.url + "?b\r\n").encode("utf-8")
    _run, results = _scan_file(tmp_path / "unused", stdin=data)
    assert sorted(r["input"] for r in results) == [good.url, good.url + "?b"]
    assert all(r["verdict"] in GRADED for r in results)


def test_missing_input_file_is_a_usage_error(tmp_path: Path) -> None:
    run = run_pharmcheck(["scan", "-i", str(tmp_path / "nope.txt"), "-f", "jsonl", *FLAGS])
    assert "Traceback" not in run.stderr
    assert run.returncode == 2
    assert run.stdout.strip() == ""


def test_directory_as_input_is_a_usage_error(tmp_path: Path) -> None:
    run = run_pharmcheck(["scan", "-i", str(tmp_path), "-f", "jsonl", *FLAGS])
    assert "Traceback" not in run.stderr
    assert run.returncode == 2


@pytest.mark.parametrize("target", ["javascript:alert(1)", "file:///etc/passwd", "http://[::1",
                                    "\x1b[31m.com"])
def test_bad_positional_target(target: str) -> None:
    run = run_pharmcheck(["scan", target, "-f", "json", *FLAGS])
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode in (2, 3)
    assert "\x1b[31m" not in run.stdout + run.stderr
