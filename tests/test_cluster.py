"""The cluster engine on a real Dask LocalCluster (2 worker processes): same results as the local
engine, nothing lost when a worker dies, SIGTERM then --resume, the per-host limit across workers."""

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
from faultserver import FaultServer

pytest.importorskip("distributed")

from pharmcheck.batch import BatchPlan, fetch_snapshot, run_batch
from pharmcheck.cluster_engine import ClusterError, ClusterSpec, connect, parse_cluster, task_for
from pharmcheck.inputs import iter_inputs
from pharmcheck.knowledge import default_knowledge
from pharmcheck.options import ScanOptions
from pharmcheck.report import Report
from pharmcheck.reporters import RunInfo

BIN = [sys.executable, "-m", "pharmcheck"]
pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHARMCHECK_", "DASK_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).parents[1] / "src"),
                                                    env.get("PYTHONPATH", "")) if p)
    return env


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BIN, *args], capture_output=True, text=True, timeout=300, env=_env())


def refused_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class _Slow(BaseHTTPRequestHandler):
    """A small pharmacy-like site; every request takes ``delay`` s and counts concurrent requests."""

    protocol_version = "HTTP/1.1"
    server: _CountingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.active += 1
            srv.peak = max(srv.peak, srv.active)
            srv.hits += 1
        try:
            time.sleep(srv.delay)
            if self.path == "/robots.txt":
                body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
            else:
                body = (
                    f"<html><body><h1>Chemist {self.path}</h1><p>Prescription medicines dispensed.</p>"
                    '<a href="/contact">Contact us</a> <a href="/about">About us</a></body></html>'
                ).encode()
                ctype = "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with srv.lock:
                srv.active -= 1


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _Slow)
        self.delay = delay
        self.lock = threading.Lock()
        self.active = self.peak = self.hits = 0


class Counting:
    def __init__(self, delay: float = 0.1) -> None:
        self.httpd = _CountingServer(delay)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self) -> Counting:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Collect:
    def __init__(self) -> None:
        self.reports: list[Report] = []

    def write(self, report: Report) -> None:
        self.reports.append(report)

    def close(self, info: RunInfo) -> None:
        pass


@pytest.fixture(scope="module")
def sixty() -> Iterator[list[str]]:
    """60 input lines: 50 good local sites, broken ones, a refused port, a duplicate and a bad line."""
    with ExitStack() as stack:
        urls = [stack.enter_context(FaultServer("good")).url for _ in range(50)]
        for behaviour in ("unavailable", "legacy_charset", "octet_stream", "robots_all", "redirect_chain",
                          "random_bytes", "redirect_loop"):
            urls.append(stack.enter_context(FaultServer(behaviour)).url)
        urls += [refused_url(), urls[0], "not a url"]
        assert len(urls) == 60
        yield urls


SCAN = ["-f", "jsonl", "--allow-private", "--timeout", "2", "--deadline", "8", "--max-pages", "3", "-q",
        "--workers", "8"]


def test_cluster_matches_local_engine(sixty: list[str], tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(sixty) + "\n", encoding="utf-8")
    local, remote = tmp_path / "local.jsonl", tmp_path / "cluster.jsonl"
    a = run("scan", "-i", str(urls), "-o", str(local), *SCAN)
    b = run("scan", "-i", str(urls), "-o", str(remote), *SCAN, "--cluster", "local:2")
    assert a.returncode == b.returncode == 3, (a.stderr[-1500:], b.stderr[-1500:])
    assert "Traceback" not in b.stderr
    got_a, got_b = read_jsonl(local), read_jsonl(remote)
    assert Counter(str(x["input"]) for x in got_b) == Counter(sixty)

    def table(rows: list[dict[str, Any]]) -> Counter[tuple[str, str, Any]]:
        return Counter((str(x["input"]), str(x["verdict"]), x["score"]) for x in rows)

    assert table(got_b) == table(got_a)
    assert {x["verdict"] for x in got_b} >= {"unreachable", "error"}


def test_cluster_flag_errors_are_one_line(tmp_path: Path) -> None:
    r = run("scan", "example.com", "--cluster", "local:zero")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "local:N" in r.stderr
    r = run("scan", "example.com", "--cluster", "127.0.0.1:9")  # nothing listens on the discard port
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "scheduler" in r.stderr
    with pytest.raises(ClusterError):
        parse_cluster("local:0")
    assert parse_cluster("sched:8786").address == "tcp://sched:8786"
    assert parse_cluster("LOCAL:3") == ClusterSpec(None, 3)


def _plan(options: ScanOptions, workers: int, per_host: int) -> BatchPlan:
    return BatchPlan(first=_first(options), rules_dirs=(), kb=default_knowledge(), workers=workers,
                     per_host=per_host, fail_on="never")


def _first(options: ScanOptions) -> Any:
    from functools import partial

    return partial(fetch_snapshot, options=options)


def test_worker_killed_mid_batch_loses_nothing() -> None:
    options = ScanOptions(allow_private=True, timeout=5, deadline=30, max_pages=3)
    with ExitStack() as stack:
        sites = [stack.enter_context(Counting(delay=0.15)).url for _ in range(40)]
        conn = stack.enter_context(connect(ClusterSpec(None, 2), workers=8))
        pids = list(conn.client.run(os.getpid).values())
        assert len(pids) == 2
        plan = _plan(options, 8, 2)
        killed: list[int] = []

        def on_result(report: Report) -> None:
            if not killed and len(sink.reports) >= 4:  # sites are running on both workers now
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        sink = Collect()
        plan.on_result = on_result
        plan.remote, plan.task, plan.window = conn.executor, task_for(plan.first, ()), conn.window
        stats = run_batch(iter_inputs(sites, []), [sink], plan)
    assert killed
    assert Counter(r.input for r in sink.reports) == Counter(sites)
    assert not [r for r in sink.reports if r.verdict in ("error", "unreachable")], [
        (r.input, r.errors) for r in sink.reports if r.verdict in ("error", "unreachable")
    ]
    assert stats.done == len(sites)


def test_per_host_limit_holds_across_workers() -> None:
    options = ScanOptions(allow_private=True, timeout=5, deadline=30, max_pages=2)
    with ExitStack() as stack:
        one = stack.enter_context(Counting(delay=0.1))
        other = stack.enter_context(Counting(delay=0.1))
        # 12 sites on one host (different start pages), 12 on another: many at once on 2 workers
        inputs = [f"{one.url}p{i}" for i in range(12)] + [f"{other.url}q{i}" for i in range(12)]
        conn = stack.enter_context(connect(ClusterSpec(None, 2), workers=8))
        plan = _plan(options, 8, 2)
        plan.remote, plan.task, plan.window = conn.executor, task_for(plan.first, ()), conn.window
        sink = Collect()
        run_batch(iter_inputs(inputs, []), [sink], plan)
    assert Counter(r.input for r in sink.reports) == Counter(inputs)
    assert one.httpd.hits >= 24 and other.httpd.hits >= 24
    # each site fetches one page at a time, and at most 2 sites of a host run anywhere at once
    assert 1 <= one.httpd.peak <= 2
    assert 1 <= other.httpd.peak <= 2


def test_local_scheduler_runs_in_its_own_process_and_is_pruned() -> None:
    """``local:N``: the scheduler's per-task records are not in the client's memory; its span metadata
    is pruned there; it is gone when the client closes the cluster."""
    import functools

    def span_collections(dask_scheduler: Any) -> int:  # on the scheduler (nested: sent by value)
        spans = dask_scheduler.extensions["spans"].spans
        return max((len((getattr(s, "_metadata", None) or {}).get("collections", []))
                    for s in spans.values()), default=0)

    with connect(ClusterSpec(None, 2), workers=4) as conn:
        scheduler_pid = conn.client.run_on_scheduler(os.getpid)
        assert scheduler_pid != os.getpid()
        assert scheduler_pid in {c.pid for c in psutil.Process().children()}
        # the client's Dask config travels to it (a site may kill one worker, not two)
        assert conn.client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures) == 1
        # … and its short system-monitor history, to the scheduler, the workers and the Nannies here
        def samples(dask_scheduler: Any = None, dask_worker: Any = None) -> int:
            return int((dask_scheduler or dask_worker).monitor.quantities["cpu"].maxlen)

        assert conn.client.run_on_scheduler(lambda dask_scheduler: samples(dask_scheduler)) == 120
        assert set(conn.client.run(lambda dask_worker: samples(dask_worker=dask_worker)).values()) == {120}
        assert {n.monitor.quantities["cpu"].maxlen for n in conn.client.cluster.workers.values()} == {120}
        # … and no statistical profiler in the workers (it kept ~4 kB per site a worker ran)
        profiling = conn.client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
        assert set(profiling.values()) == {False}
        futures = [conn.executor.submit(functools.partial(pow, 2), i) for i in range(60)]
        assert [f.result(timeout=120) for f in futures] == [2**i for i in range(60)]
        longest = conn.client.run_on_scheduler(span_collections)
        deadline = time.monotonic() + 120  # the scheduler prunes every few seconds
        while longest > 1 and time.monotonic() < deadline:
            time.sleep(0.5)
            longest = conn.client.run_on_scheduler(span_collections)
        assert longest <= 1
    assert not psutil.pid_exists(scheduler_pid)  # terminated and reaped by the cluster's close


def test_local_scheduler_that_cannot_start_is_a_cluster_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pharmcheck.cluster_engine as engine

    monkeypatch.setattr(engine, "SCHEDULER_SCRIPT", "import sys; sys.exit(3)")
    before = {c.pid for c in psutil.Process().children(recursive=True)}
    failing = pytest.raises(ClusterError, match="scheduler did not start")
    with failing, connect(ClusterSpec(None, 2), workers=2):
        pass
    assert {c.pid for c in psutil.Process().children(recursive=True)} <= before


def test_sigterm_then_resume_completes_exactly_once(tmp_path: Path) -> None:
    with ExitStack() as stack:
        inputs = [stack.enter_context(Counting(delay=0.3)).url for _ in range(16)]
        urls = tmp_path / "urls.txt"
        urls.write_text("\n".join(inputs) + "\n")
        out = tmp_path / "out.jsonl"
        args = ["scan", "-i", str(urls), "-f", "jsonl", "-o", str(out), "--allow-private", "--workers", "2",
                "--max-pages", "2", "--fail-on", "never", "-q", "--cluster", "local:2"]
        proc = subprocess.Popen([*BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=_env())
        family: set[int] = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 2):
            try:
                family.update(c.pid for c in psutil.Process(proc.pid).children(recursive=True))
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err[-2000:]
        assert "--resume" in err and "Traceback" not in err
        partial = read_jsonl(out)
        assert 2 <= len(partial) < len(inputs)
        r = run(*args, "--resume")
        assert r.returncode == 0, r.stderr[-2000:]
        assert Counter(str(x["input"]) for x in read_jsonl(out)) == Counter(inputs)
    assert family, "the local cluster started worker processes"
    time.sleep(0.5)
    alive = [p for p in family if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive, "the client left worker processes behind"


def test_ctrl_c_to_the_process_group_is_one_line(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the client and its worker processes: exit 130 with one line, the
    finished results kept, no traceback from a worker or from Dask, no process left behind."""
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"http://127.200.{i // 250 + 1}.{i % 250 + 1}:9/\n" for i in range(2000)))
    out = tmp_path / "out.jsonl"
    args = ["scan", "-i", str(urls), "-f", "jsonl", "-o", str(out), "--allow-private", "--fail-on", "never",
            "-q", "--cluster", "local:2"]
    proc = subprocess.Popen([*BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), start_new_session=True)
    family: set[int] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 20):
        try:
            family.update(c.pid for c in psutil.Process(proc.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "Error" not in err, err[-2000:]
    assert "--resume" in err
    assert 20 <= len(read_jsonl(out)) < 2000
    assert family
    time.sleep(0.5)
    alive = [p for p in family if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive, "the client left processes behind"


def test_site_task_clears_the_workers_key_split_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker runs one task per site, each with its own key: its key_split cache is cleared as it runs."""
    import dask.utils

    from pharmcheck import cluster_engine
    from pharmcheck.snapshot import Snapshot

    monkeypatch.setattr(cluster_engine, "KEY_CACHE_EVERY", 1)
    dask.utils.key_split("site_task-0123456789abcdef")
    assert dask.utils.key_split.cache_info().currsize >= 1
    url = "http://unreachable.test/"
    refused = Snapshot(input=url, url=url, errors=["connection refused"])
    report = cluster_engine.site_task(url, lambda _u: refused, ())
    assert report["verdict"] == "unreachable"
    assert dask.utils.key_split.cache_info().currsize == 0


def test_a_result_lost_with_its_worker_and_recomputed_is_the_sites_result() -> None:
    """A worker killed right after finishing a site: Dask's future is "lost" when the done-callback runs,
    and its ``exception()`` (which waits for the recomputation) is None. The batch's future gets the
    recomputed result, not an exception of None (which made the batch's ``finish`` fail on a None)."""
    from concurrent.futures import Future

    from pharmcheck.cluster_engine import _cascade

    class Recomputed:  # the only state of a Dask future this needs: its status, then its outcome
        status = "lost"

        def exception(self) -> BaseException | None:
            return None

        def result(self) -> dict[str, str]:
            return {"verdict": "suspicious"}

    out: Future[Any] = Future()
    _cascade(out, Recomputed())
    assert out.exception() is None
    assert out.result() == {"verdict": "suspicious"}
