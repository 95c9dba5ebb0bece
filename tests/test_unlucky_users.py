"""Issue 11: hostile sites and unlucky users, round two. One test per numbered item, named
after what it proves. Real local servers, real processes and signals; no internet."""

from __future__ import annotations

import io
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from faultserver import FaultServer, run_pharmcheck
from servers import Resp, serve

from pharmcheck.connguard import is_public, literal_ip
from pharmcheck.fetch import fetch_site, netguard
from pharmcheck.fetch.netguard import check_url
from pharmcheck.fetch.session import Deadline, Requester
from pharmcheck.options import ScanOptions
from pharmcheck.target import parse_target

PUBLIC_NAME = "www.public-name.test"


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard's resolver says PUBLIC_NAME is a public address (as a hostile DNS would at
    check time); the resolver that connects still says 127.0.0.1 (DNS rebinding)."""
    real = socket.getaddrinfo

    def guard_resolve(host: str, port: int) -> list[Any]:
        if host == PUBLIC_NAME:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real(host, port, type=socket.SOCK_STREAM)

    def connect_resolve(host: Any, *args: Any, **kw: Any) -> Any:
        return real("127.0.0.1" if host == PUBLIC_NAME else host, *args, **kw)

    monkeypatch.setattr(netguard, "resolve", guard_resolve)
    monkeypatch.setattr(socket, "getaddrinfo", connect_resolve)


# --- 1. SSRF ------------------------------------------------------------------------------------


def test_backslash_authority_is_refused_before_any_connection(public_dns: None) -> None:
    with serve({"/": "<p>internal secret</p>"}) as canary:
        url = f"http://127.0.0.1:{canary.port}\\@{PUBLIC_NAME}/"
        reason = check_url(url)
        assert reason is not None and "backslash" in reason
        req = Requester(ScanOptions(timeout=2, deadline=5), Deadline(5))
        try:
            res = req.get(url, check=check_url)
        finally:
            req.close()
        assert canary.requests == []
    assert res.blocked and res.body == b""


def test_connect_time_check_stops_a_url_the_guard_let_through(public_dns: None) -> None:
    """Even with a check that lets everything pass, the connection itself refuses loopback."""
    with serve({"/": "<p>internal secret</p>"}) as canary:
        req = Requester(ScanOptions(timeout=2, deadline=5), Deadline(5))
        try:
            for url in (f"http://127.0.0.1:{canary.port}\\@{PUBLIC_NAME}/", f"http://127.0.0.1:{canary.port}/"):
                res = req.get(url, check=lambda u: None)
                assert res.body == b"" and res.error and "non-public address 127.0.0.1" in res.error
                assert "Pool(" not in res.error and "object at 0x" not in res.error
        finally:
            req.close()
        assert canary.requests == []


def test_dns_rebinding_name_is_refused_at_connect_time(public_dns: None) -> None:
    with serve({"/": "<p>internal secret</p>"}) as canary:
        url = f"http://{PUBLIC_NAME}:{canary.port}/"
        assert check_url(url) is None  # the guard's DNS said public …
        snap = fetch_site(parse_target(url), ScanOptions(timeout=2, deadline=5))
        assert canary.requests == []  # … but the address connected to was loopback
    assert not snap.reachable
    assert any("non-public address 127.0.0.1" in e for e in snap.errors)


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f.0.0.1", "127.1", "0177.0.0.1", "0x7f000001", "[2002:7f00:1::]",
             "[64:ff9b::a9fe:a9fe]", "[::ffff:169.254.169.254]", "[2002:a9fe:a9fe::1]"]
)
def test_numeric_and_embedded_private_forms_refused_with_a_proxy(host: str) -> None:
    assert check_url(f"http://{host}/", proxy="http://127.0.0.1:3128") is not None
    assert check_url(f"http://{host}/") is not None


def test_numeric_forms_are_ip_literals() -> None:
    assert literal_ip("2130706433") == ipaddress.IPv4Address("127.0.0.1")
    assert literal_ip("0177.0.0.1") == ipaddress.IPv4Address("127.0.0.1")
    assert literal_ip("pharmacy.example") is None
    assert is_public(ipaddress.ip_address("2002:808:808::1"))


def test_redirects_to_backslash_and_numeric_loopback_never_reach_it_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve({"/": "<p>internal secret</p>"}) as canary:
        port = canary.port
        evil = [
            f"http://127.0.0.1:{port}\\@{PUBLIC_NAME}/",
            f"http://2130706433:{port}/",
            f"http://0x7f.0.0.1:{port}/",
            f"http://127.1:{port}/",
            f"http://0177.0.0.1:{port}/",
        ]
        routes: dict[str, Any] = {
            f"http://pharmacy{i}.example/": Resp("", 302, {"Location": loc}) for i, loc in enumerate(evil)
        }
        with serve(routes) as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            for i in range(len(evil)):
                opts = ScanOptions(timeout=2, deadline=5)
                snap = fetch_site(parse_target(f"http://pharmacy{i}.example/"), opts)
                assert not snap.reachable, evil[i]
            assert all("pharmacy" in r for r in proxy.requests), proxy.requests
        assert canary.requests == []


# --- shared helpers for the CLI tests --------------------------------------------------------

BIN = [sys.executable, "-m", "pharmcheck"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHARMCHECK_")}
    env.update(NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def run(*args: str, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload,no-any-return]
        [*BIN, *args], capture_output=True, text=True, timeout=timeout, env=_env(), **kw
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


@pytest.fixture(scope="module")
def sites() -> Iterator[list[str]]:
    """Six local sites (distinct ports, so distinct jobs)."""
    with ExitStack() as stack:
        yield [stack.enter_context(FaultServer("good")).url for _ in range(6)]


SCAN = ["--allow-private", "--timeout", "2", "--max-pages", "2", "--fail-on", "never", "-q"]


# --- 4. resume keeps every valid line ------------------------------------------------------------


def test_resume_keeps_every_valid_line_around_a_torn_one_in_the_middle(
    sites: list[str], tmp_path: Path
) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(sites) + "\n")
    out = tmp_path / "out.jsonl"
    kept = [{"input": s, "verdict": "suspicious", "score": 60} for s in (sites[0], sites[3], sites[4])]
    out.write_text(
        json.dumps(kept[0]) + "\n\n" + '{"input": "' + sites[1] + '", "verd\n'
        + json.dumps(kept[1]) + "\n" + "not json\n" + json.dumps(kept[2]) + "\n"
    )
    r = run("scan", "-i", str(urls), "-f", "jsonl", "-o", str(out), "--resume", *SCAN)
    assert r.returncode == 0, r.stderr
    assert "skipped 3" in r.stderr and "line 2, 3, 5" in r.stderr
    results = read_jsonl(out)
    assert Counter(str(x["input"]) for x in results) == Counter(sites)
    assert results[:3] == kept  # every valid line kept as it was, none rescanned


# --- 6 and 7. output files ---------------------------------------------------------------------


def test_output_equal_to_input_is_refused_and_the_list_kept(sites: list[str], tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    text = "\n".join(sites) + "\n"
    urls.write_text(text)
    for extra in (["-o", str(urls)], ["--report", f"markdown={tmp_path}/../{tmp_path.name}/urls.txt"]):
        r = run("scan", "-i", str(urls), "-f", "jsonl", *extra, *SCAN)
        assert r.returncode == 2, r.stderr
        assert "also an input" in r.stderr and "Traceback" not in r.stderr
        assert urls.read_text() == text


def test_second_writer_of_the_same_output_is_refused(sites: list[str], tmp_path: Path) -> None:
    from pharmcheck.outputlock import lock_outputs, release

    out = tmp_path / "out.jsonl"
    out.write_text('{"input": "x", "verdict": "rogue"}\n')
    held = lock_outputs([out])  # another run holds the file
    try:
        r = run("scan", sites[0], "-f", "jsonl", "-o", str(out), *SCAN)
    finally:
        release(held)
    assert r.returncode == 2, r.stderr
    assert "another pharmcheck run" in r.stderr
    assert out.read_text() == '{"input": "x", "verdict": "rogue"}\n'  # not truncated
    r = run("scan", sites[0], "-f", "jsonl", "-o", str(out), *SCAN)
    assert r.returncode == 0, r.stderr


# --- 8. failed --save-snapshot -------------------------------------------------------------------


def test_failed_snapshot_save_is_a_warning_and_the_verdict_stays(sites: list[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = run("scan", sites[0], "-f", "json", "--save-snapshot", str(blocker / "snaps"), *SCAN)
    report = json.loads(r.stdout)
    assert report["verdict"] not in ("error", "unreachable"), report
    assert any("snapshot not saved" in e for e in report["errors"])
    assert r.returncode == 0, r.stderr


# --- 9. resume rewrites junit/markdown over every result ----------------------------------------


def test_resume_rewrites_junit_and_markdown_over_every_result(sites: list[str], tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(sites) + "\n")
    out, junit, md, csv = tmp_path / "out.jsonl", tmp_path / "r.xml", tmp_path / "r.md", tmp_path / "r.csv"
    args = ["scan", "-i", str(urls), "-f", "jsonl", "-o", str(out), "--report", f"junit={junit}",
            "--report", f"markdown={md}", "--report", f"csv={csv}", *SCAN]
    out.write_text("".join(json.dumps({"input": s, "verdict": "suspicious", "score": 50}) + "\n"
                           for s in sites[:4]))
    r = run(*args, "--resume")
    assert r.returncode == 0, r.stderr
    assert 'tests="6"' in junit.read_text()
    assert all(s in md.read_text() for s in sites)
    assert len(csv.read_text().strip().splitlines()) == 1 + 6  # a fresh csv gets every result too
    r = run(*args, "--resume")  # a no-op resume still reports all six
    assert r.returncode == 0, r.stderr
    assert 'tests="6"' in junit.read_text()


# --- 5 and 15. signals to the group, SIGKILL: nothing falsified, nothing left behind -------------


def _start_batch(tmp_path: Path, n: int = 12) -> tuple[ExitStack, list[str], list[str], Path]:
    stack = ExitStack()
    inputs = [stack.enter_context(FaultServer("slow_first_byte", slow_seconds=0.4)).url for _ in range(n)]
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(inputs) + "\n")
    out = tmp_path / "out.jsonl"
    args = ["scan", "-i", str(urls), "-f", "jsonl", "-o", str(out), "--workers", "4", *SCAN]
    return stack, inputs, args, out


def _wait_lines(out: Path, n: int, proc: subprocess.Popen[str]) -> None:
    for _ in range(1200):
        if proc.poll() is not None or (out.exists() and out.read_text().count("\n") >= n):
            return
        time.sleep(0.05)


def test_sigterm_to_the_process_group_writes_no_false_error_and_resume_completes(tmp_path: Path) -> None:
    stack, inputs, args, out = _start_batch(tmp_path)
    with stack:
        proc = subprocess.Popen([*BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=_env(), start_new_session=True)
        _wait_lines(out, 2, proc)
        os.killpg(proc.pid, signal.SIGTERM)  # as `timeout`, systemd or a CI cancel do
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert "Traceback" not in err
        partial = read_jsonl(out)
        assert not any("BrokenProcessPool" in json.dumps(x) for x in partial)
        assert all(x["verdict"] != "error" for x in partial), partial
        r = run(*args, "--resume")
        assert r.returncode == 0, r.stderr
        results = read_jsonl(out)
        assert Counter(str(x["input"]) for x in results) == Counter(inputs)
        assert all(x["verdict"] != "error" for x in results)


def test_sigkill_of_a_batch_leaves_no_worker_fork_server_or_tracker(tmp_path: Path) -> None:
    stack, _inputs, args, out = _start_batch(tmp_path, 16)
    with stack:
        proc = subprocess.Popen([*BIN, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=_env(), start_new_session=True)
        _wait_lines(out, 3, proc)
        family = psutil.Process(proc.pid).children(recursive=True)
        assert family, "the batch should have started scoring processes"
        proc.kill()
        proc.wait(timeout=30)
        _gone, alive = psutil.wait_procs(family, timeout=30)
        leftover = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        for p in leftover:  # do not leak them into the rest of the suite
            p.kill()
        assert not leftover, [p.cmdline() for p in leftover]


# --- 12. config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "text", "expect"),
    [
        ("pharmcheck.toml", "tool = 5\n", "'tool' must be a table"),
        ("pyproject.toml", "[tool]\npharmcheck = 5\n", "[tool.pharmcheck] must be a table"),
        ("pharmcheck.toml", "deadline = nan\n", "finite"),
        ("pharmcheck.toml", "deadline = inf\n", "finite"),
        ("pharmcheck.toml", "timeout = 1e300\n", "at most"),
    ],
)
def test_bad_config_is_one_line_exit_2_not_a_crash_or_a_dead_watchdog(
    tmp_path: Path, file: str, text: str, expect: str
) -> None:
    (tmp_path / file).write_text(text)
    r = run("scan", "pharmacy.example", "-f", "json", "-q", cwd=tmp_path, timeout=60)
    assert r.returncode == 2, r.stderr
    assert expect in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_allow_private_from_a_working_directory_file_is_ignored_with_a_warning(
    sites: list[str], tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pharmcheck]\nallow-private = true\n")
    r = run("scan", sites[0], "-f", "json", "--timeout", "2", "--max-pages", "2", cwd=tmp_path)
    assert "allow_private' is ignored in a config file" in r.stderr
    report = json.loads(r.stdout)
    assert report["verdict"] == "unreachable" and "non-public" in " ".join(report["errors"])


# --- 13. sites a browser renders are judged --------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["many_headers", "dup_content_type", "robots_drip"])
def test_site_a_browser_renders_is_not_unreachable(behaviour: str) -> None:
    with FaultServer(behaviour, drip_interval=0.2) as server:
        opts = ScanOptions(allow_private=True, timeout=2, deadline=12, max_pages=3)
        snap = fetch_site(parse_target(server.url), opts)
    assert snap.reachable, snap.errors
    assert any(p.status == 200 and "Riverside" in p.html for p in snap.pages)


# --- 25. options validated in one place -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "expect"),
    [({"max_pages": -1}, "at least 1"), ({"timeout": -5}, "at least"), ({"timeout": "abc"}, "a number"),
     ({"deadline": float("nan")}, "finite"), ({"max_bytes": 1.5}, "an integer")],
)
def test_library_options_are_validated_with_a_clear_message(kw: dict[str, Any], expect: str) -> None:
    from pharmcheck.options import OptionError

    with pytest.raises(OptionError, match=expect):
        ScanOptions(**kw)


# --- 10 and 22. bounded reads, binary and UTF-16 input files -------------------------------------


def test_binary_input_file_is_refused_with_one_line(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 2000)
    for source in (str(blob), "/dev/zero"):
        r = run("scan", "-i", source, "-f", "jsonl", "-q", timeout=60)
        assert r.returncode == 2, r.stderr
        assert "not a text file" in r.stderr and "Traceback" not in r.stderr
        assert r.stdout == ""


def test_utf16_input_with_bom_is_decoded(sites: list[str], tmp_path: Path) -> None:
    urls = tmp_path / "urls16.txt"
    urls.write_bytes("\n".join(sites[:2]).encode("utf-16"))
    r = run("scan", "-i", str(urls), "-f", "jsonl", *SCAN)
    assert r.returncode == 0, r.stderr
    assert sorted(json.loads(x)["input"] for x in r.stdout.splitlines() if x.strip()) == sorted(sites[:2])


def test_a_huge_line_without_newline_is_one_error_in_flat_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.write(b"pharmacy.example\n")
        chunk = b"a" * (1 << 20)
        for _ in range(64):  # 64 MB, no newline
            fh.write(chunk)
    r = run_pharmcheck(["scan", "-i", str(big), "-f", "jsonl", "--fail-on", "never", "-q",
                        "--timeout", "1", "--deadline", "3"], timeout=120)
    assert "Traceback" not in r.stderr
    lines = r.jsonl()
    assert len(lines) == 2 and sum("longer than" in json.dumps(x) for x in lines) == 1
    # tree_peak_mb (psutil polling): the CLI and its scoring processes together
    assert r.tree_peak_mb < 250, r.tree_peak_mb


# --- 11. disk full --------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_disk_full_on_output_is_one_line_and_exit_2(sites: list[str], tmp_path: Path) -> None:
    for extra in (["-o", "/dev/full"], ["-o", str(tmp_path / "ok.jsonl"), "--report", "markdown=/dev/full"]):
        r = run("scan", sites[0], sites[1], "-f", "jsonl", *extra, *SCAN)
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert "No space left on device" in r.stderr and "Traceback" not in r.stderr
        assert "Exception ignored" not in r.stderr


# --- 23. score on JSON that is not a snapshot ---------------------------------------------------------


def test_score_on_json_that_is_not_a_snapshot_names_the_file_and_what_is_missing(tmp_path: Path) -> None:
    bad = tmp_path / "package.json"
    bad.write_text('{"name": "left-pad"}')
    arr = tmp_path / "list.json"
    arr.write_text("[1, 2]")
    r = run("score", str(bad), str(arr), "-f", "jsonl", "-q")
    assert "Traceback" not in r.stderr
    errors = " ".join(" ".join(json.loads(x)["errors"]) for x in r.stdout.splitlines() if x.strip())
    assert "package.json: not a pharmcheck snapshot: missing 'input', 'url'" in errors
    assert "list.json: not a pharmcheck snapshot" in errors
    assert "__init__" not in errors and "internal error" not in errors


# --- 24. `| head` ---------------------------------------------------------------------------------


def test_closed_stdout_pipe_ends_quietly_with_the_earned_exit_code(sites: list[str], tmp_path: Path) -> None:
    report = tmp_path / "all.jsonl"
    proc = subprocess.Popen([*BIN, "scan", *sites, "-f", "jsonl", "--report", f"jsonl={report}", *SCAN],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()  # like `| head -1`: read one line, then go away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 0, err  # --fail-on never: every site earned 0
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    assert len(read_jsonl(report)) == len(sites)  # the other outputs are complete


# --- 17. interrupt in the first seconds ------------------------------------------------------------


@pytest.mark.parametrize("delay", [0.4, 1.0, 2.0])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_in_the_first_seconds_exits_128_plus_signal_without_traceback(
    tmp_path: Path, delay: float, sig: int
) -> None:
    stack, _inputs, args, _out = _start_batch(tmp_path, 8)
    with stack:
        proc = subprocess.Popen([*BIN, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=_env(), start_new_session=True)
        time.sleep(delay)  # not a timing assertion: any moment of start-up must behave
        os.killpg(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode in (128 + sig, 0), err  # 0: it had already finished
    assert "Traceback" not in err and "Aborted" not in err
    if proc.returncode:
        assert "interrupted" in err


# --- 14. escapes ----------------------------------------------------------------------------------


def test_config_and_rules_output_carry_no_markup_or_terminal_escapes(tmp_path: Path) -> None:
    ua = "[red]x[/red] \x1b]52;c;cHduZWQ=\x07 \x1b]0;title\x07 \x1b[2J \u2060\ufeff\u202e"
    env = {**_env(), "PHARMCHECK_USER_AGENT": ua}
    r = subprocess.run([*BIN, "config"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "[red]x[/red]" in r.stdout  # shown literally, not as markup
    for bad in ("\x1b", "\x07", "\u2060", "\ufeff", "\u202e"):
        assert bad not in r.stdout


def test_jsonl_escapes_c1_and_bidi_so_cat_is_safe() -> None:
    from pharmcheck.report import error_report
    from pharmcheck.reporters.jsonout import dumps

    line = dumps(error_report("x\u202eevil\x9b31m\u2066", "bad \x85 \u2028 \ufeff"))
    assert all(c not in line for c in "\u202e\x9b\u2066\x85\u2028\ufeff")
    assert json.loads(line)["input"] == "x\u202eevil\x9b31m\u2066"  # same value, escaped


# --- 19, 20, 21. machine formats, markdown, width ----------------------------------------------------


def test_demo_machine_formats_put_nothing_else_on_stdout() -> None:
    r = run("demo", "-f", "json", timeout=300)
    assert isinstance(json.loads(r.stdout), list)
    assert "pharmcheck demo" in r.stderr  # the summary table went to stderr


def test_markdown_escapes_once() -> None:
    from pharmcheck.reporters.markdown import md_escape

    assert md_escape("it's <b>") == "it's &lt;b&gt;"
    assert md_escape("[x](javascript:y)") == "\\[x\\]\\(javascript:y\\)"


def test_piped_text_is_wide_and_never_cuts_a_url(sites: list[str]) -> None:
    from pharmcheck.report import Finding, error_report
    from pharmcheck.reporters import PIPED_WIDTH, TextSink

    del sites
    long_url = "https://www.riverside-community-pharmacy-and-travel-clinic.example/" + "a/" * 80 + "end"
    rep = error_report("x.example", "e")
    rep.verdict = "rogue"
    rep.findings = [Finding.from_dict({"id": "PC999", "name": "t.t", "outcome": "fail", "points": -5,
                                       "message": "m", "evidence": [{"url": long_url, "excerpt": ""}]})]
    buf = io.StringIO()
    TextSink(buf).write(rep)
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= PIPED_WIDTH
    assert "…" not in text
    joined = "".join(line.strip(" │") for line in text.splitlines())
    assert long_url in joined.replace(" ", "")


# --- 25. help text ----------------------------------------------------------------------------------


def test_help_shows_flags_as_flags_and_explain_has_no_raw_key_names() -> None:
    r = run("scan", "--help", timeout=60)
    assert "<bool>" not in r.stdout and "<list[str]>" not in r.stdout
    e = run("explain", "PC513", timeout=60)
    assert "warn_at drugs" not in e.stdout and "4 distinct" in e.stdout


def test_no_raw_urllib3_pool_text_reaches_the_user() -> None:
    from pharmcheck.fetch.session import describe_error

    exc = requests.exceptions.ConnectionError(
        "_HttpsPool(host='www.example.test', port=443): Max retries exceeded with url: / (Caused by "
        "NewConnectionError('<pharmcheck.fetch.session._Https object at 0x7f0a1b2c3d4e>: "
        "Failed to establish a new connection: [Errno 113] No route to host'))"
    )
    msg, _refused = describe_error("https://www.example.test/", exc)
    assert "Pool(" not in msg and "Max retries" not in msg and "object at 0x" not in msg
    assert "No route to host" in msg


@pytest.mark.parametrize("args", [["rules"], ["demo", "-f", "jsonl"]])
def test_head_on_rules_and_demo_exits_with_their_own_code(args: list[str]) -> None:
    proc = subprocess.Popen([*BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_an_interrupt_python_wraps_during_an_import_is_still_an_interrupt() -> None:
    """A SIGTERM landing in a class body's ``__set_name__`` (a dataclass being built while a module is
    imported at start-up) reaches main() as RuntimeError caused by our interrupt: still 143, no traceback."""
    from pharmcheck.cli import _Interrupted, interrupt_behind

    class Descriptor:
        def __set_name__(self, owner: type, name: str) -> None:
            raise _Interrupted(signal.SIGTERM)

    with pytest.raises(BaseException) as info:  # RuntimeError on 3.11, the interrupt itself on 3.12+
        type("Holder", (), {"field": Descriptor()})
    got = interrupt_behind(info.value)
    assert got is not None and got.signum == signal.SIGTERM
    assert interrupt_behind(ValueError("not an interrupt")) is None
