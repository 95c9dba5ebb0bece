"""Batch scanning: one result per input line, broken sites, duplicates, crashes, resume, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from faultserver import FaultServer

from pharmcheck.batch import BatchPlan, BatchStats, Job, run_batch
from pharmcheck.inputs import InputItem, item_for
from pharmcheck.knowledge import default_knowledge
from pharmcheck.report import Report
from pharmcheck.reporters import RunInfo
from pharmcheck.snapshot import Page, Snapshot

BIN = [sys.executable, "-m", "pharmcheck"]


def run(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHARMCHECK_")}
    return subprocess.run([*BIN, *args], capture_output=True, text=True, timeout=90, env=env, **kw)  # type: ignore[call-overload,no-any-return]


def refused_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/"


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def fleet() -> Iterator[list[str]]:
    """50 local sites: 44 good ones and 6 broken (refused, slow, 503/500, garbage bytes, redirect loop)."""
    with ExitStack() as stack:
        urls = [stack.enter_context(FaultServer("good")).url for _ in range(44)]
        urls.append(stack.enter_context(FaultServer("slow_first_byte", slow_seconds=6)).url)
        urls.append(stack.enter_context(FaultServer("unavailable")).url)
        urls.append(stack.enter_context(FaultServer("unavailable")).url + "other")
        urls.append(stack.enter_context(FaultServer("random_bytes")).url)
        urls.append(stack.enter_context(FaultServer("redirect_loop")).url)
        urls.append(refused_url())
        yield urls


def test_fifty_sites_one_result_per_line(fleet: list[str], tmp_path: Path) -> None:
    lines = ["\ufeff# fifty sites", "", *fleet, fleet[0], "not a url", "   "]
    urls = tmp_path / "urls.txt"
    urls.write_bytes(("\n".join(lines) + "\n").encode() + b"bad\xff\xfeutf8.example\n")
    out = tmp_path / "out.jsonl"
    r = run(
        "scan",
        "-i",
        str(urls),
        "-f",
        "jsonl",
        "-o",
        str(out),
        "--allow-private",
        "--workers",
        "16",
        "--timeout",
        "1",
        "--deadline",
        "4",
        "--max-pages",
        "3",
        "--report",
        f"junit={tmp_path / 'j.xml'}",
    )
    assert r.returncode == 3, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    results = read_jsonl(out)
    got = Counter(str(x["input"]) for x in results)
    want = Counter([*fleet, fleet[0], "not a url", "bad\ufffd\ufffdutf8.example"])
    assert got == want
    by_input = {str(x["input"]): x for x in results}
    assert by_input["not a url"]["verdict"] == "error"
    assert by_input["bad\ufffd\ufffdutf8.example"]["verdict"] == "error"
    assert by_input[fleet[-1]]["verdict"] == "unreachable"  # refused
    assert by_input[fleet[-6]]["verdict"] == "unreachable"  # slower than the timeout
    assert by_input[fleet[0]]["verdict"] not in ("unreachable", "error")
    dup = [x for x in results if x["input"] == fleet[0]]
    assert dup[0]["score"] == dup[1]["score"]


def _snapshot_for(target: object) -> Snapshot:
    url = str(getattr(target, "url", target))
    if "crash" in url:
        raise RuntimeError("boom in fetch")
    html = "<html><body><h1>Shop</h1><p>Buy paracetamol 500mg £2.99 add to cart</p></body></html>"
    return Snapshot(
        input=url, url=url, final_url=url, pages=[Page(url=url, status=200, html=html, kind="home")]
    )


class ListSink:
    def __init__(self) -> None:
        self.reports: list[Report] = []
        self.closed: RunInfo | None = None

    def write(self, report: Report) -> None:
        self.reports.append(report)

    def close(self, info: RunInfo) -> None:
        self.closed = info


@pytest.mark.parametrize("processes", [0, 2])
def test_engine_crash_becomes_error_and_duplicates_echo(processes: int) -> None:
    items = [item_for(t) for t in ("a.example", "crash.example", "a.example", "b.example", "a.example")]
    items.append(InputItem("bad\ufffd", None, "invalid UTF-8 at byte 3"))
    sink = ListSink()
    plan = BatchPlan(
        first=_snapshot_for,
        rules_dirs=(),
        kb=default_knowledge(),
        workers=4,
        processes=processes,
        fail_on="never",
    )
    stats = run_batch(iter(items), [sink], plan, total=len(items))
    got = Counter(r.input for r in sink.reports)
    assert got == Counter(["a.example"] * 3 + ["crash.example", "b.example", "bad\ufffd"])
    crash = next(r for r in sink.reports if r.input == "crash.example")
    assert crash.verdict == "error" and "boom in fetch" in crash.errors[0]
    assert stats.exit_code() == 3 and stats.done == 6
    assert sink.closed is not None and sum(sink.closed.counts.values()) == 6


class _DieOnArrival:
    """Unpickled in a scoring process, it kills that process (as the OOM killer would)."""

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return (os._exit, (1,))


def _snapshot_or_death(target: object) -> Snapshot:
    snap = _snapshot_for(target)
    if "die" in snap.url:
        snap.lookups = {"poison": _DieOnArrival()}
    return snap


def test_scorers_dying_together_every_site_gets_a_result() -> None:
    """Several sites whose scoring process dies at once: each is retried once, in one replacement pool
    (not one pool per retry, which could cancel the earlier retries), then is an error; every site
    gets its result and the batch ends."""
    names = [f"die{i}.example" for i in range(12)] + [f"ok{i}.example" for i in range(4)]
    sink = ListSink()
    plan = BatchPlan(
        first=_snapshot_or_death, rules_dirs=(), kb=default_knowledge(), workers=16, processes=2,
        fail_on="never",
    )
    result: list[BatchStats] = []
    items = iter([item_for(n) for n in names])
    runner = threading.Thread(target=lambda: result.append(run_batch(items, [sink], plan)))
    runner.start()
    runner.join(300)  # a hang guard, not a timing assertion
    assert not runner.is_alive(), "the batch hung after its scoring processes died"
    got = {r.input: r for r in sink.reports}
    assert set(got) == set(names)
    assert all(got[n].verdict == "error" and "BrokenProcessPool" in got[n].errors[0] for n in names[:12])
    assert result and result[0].done == len(names)


def test_per_host_limit_queues_without_losing_sites() -> None:
    seen: list[str] = []
    sink = ListSink()
    items = [item_for(f"https://shop.example/p{i}") for i in range(10)]

    def job(item: InputItem) -> Job:
        assert item.target is not None
        return Job(
            key=item.input, inputs=[item.input], payload=item.target, host="shop.example", allow_host=""
        )

    plan = BatchPlan(
        first=_snapshot_for,
        rules_dirs=(),
        kb=default_knowledge(),
        workers=8,
        per_host=1,
        on_result=lambda r: seen.append(r.input),
    )
    run_batch(iter(items), [sink], plan, make_job=job)
    assert sorted(seen) == sorted(i.input for i in items)


def test_exit_code_precedence() -> None:
    assert BatchStats(failing=1, not_scanned=2).exit_code() == 1
    assert BatchStats(not_scanned=2).exit_code() == 3
    assert BatchStats().exit_code() == 0
    assert BatchStats(failing=1, interrupted=signal.SIGTERM).exit_code() == 143


def test_resume_after_torn_line(fleet: list[str], tmp_path: Path) -> None:
    inputs = fleet[:6]
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(inputs) + "\n")
    out = tmp_path / "out.jsonl"
    first = {"input": inputs[0], "verdict": "suspicious", "score": 60}
    out.write_text(json.dumps(first) + "\n" + '{"input": "' + inputs[1] + '", "verd')
    r = run(
        "scan",
        "-i",
        str(urls),
        "-f",
        "jsonl",
        "-o",
        str(out),
        "--resume",
        "--allow-private",
        "--timeout",
        "1",
        "--max-pages",
        "2",
        "--fail-on",
        "never",
        "-q",
    )
    assert r.returncode == 0, r.stderr
    assert "torn" in r.stderr
    results = read_jsonl(out)
    assert Counter(str(x["input"]) for x in results) == Counter(inputs)
    assert results[0] == first  # kept as it was


def test_sigterm_midway_then_resume(tmp_path: Path) -> None:
    with ExitStack() as stack:
        inputs = [
            stack.enter_context(FaultServer("slow_first_byte", slow_seconds=0.4)).url for _ in range(12)
        ]
        urls = tmp_path / "urls.txt"
        urls.write_text("\n".join(inputs) + "\n")
        out = tmp_path / "out.jsonl"
        args = [
            "scan",
            "-i",
            str(urls),
            "-f",
            "jsonl",
            "-o",
            str(out),
            "--allow-private",
            "--workers",
            "2",
            "--timeout",
            "3",
            "--max-pages",
            "2",
            "--fail-on",
            "never",
            "-q",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHARMCHECK_")}
        proc = subprocess.Popen(
            [*BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 2):
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 143, err
        assert "--resume" in err
        partial = read_jsonl(out)
        assert 2 <= len(partial) < len(inputs)
        r = run(*args, "--resume")
        assert r.returncode == 0, r.stderr
        assert Counter(str(x["input"]) for x in read_jsonl(out)) == Counter(inputs)
