"""The batch engine: many sites through fetch → score → sinks, concurrently and in flat memory.

Why this shape:

- Fetching is I/O-bound, so it runs in a thread pool (``workers`` threads). Parsing and
  rules are CPU-bound under the GIL, so the fetched :class:`Snapshot` (plain data) crosses
  to a process pool of one process per core for ``scan_snapshot``; with one worker or a
  tiny batch everything runs in the fetch thread instead (no process start-up cost).
- The main thread is the only one that touches sinks, counts and the progress bar, so
  no locks are needed there. At most ``2 × workers`` sites are in flight (running or
  waiting for their host), and results go to the sinks as they finish: only counts stay.
- Politeness: at most ``per_host`` sites of one host (registered domain + port) are
  fetched at once; the others wait in a per-host queue without holding a thread. The
  crawler fetches one page at a time per site and paces requests per host with
  ``--rate-limit``; when a rate limit is set, ``per_host`` is 1 so the pace holds per host.
- Duplicated inputs are scanned once; every input line still gets its own result (the
  same report with its own ``input``). Finished reports are spilled to a temporary SQLite file
  so a duplicate far down a long list does not need the report kept in memory.
- Anything raised while scanning one site becomes that site's ``error`` result.
- SIGINT/SIGTERM: stop reading input, cancel what has not started, give running sites a
  short grace, keep and flush everything finished. A second Ctrl-C aborts at once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from pharmcheck.inputs import Allowlist, InputItem
from pharmcheck.reporters import NOT_SCANNED, RunInfo, Sink, fails

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.knowledge import Knowledge
    from pharmcheck.options import ScanOptions
    from pharmcheck.report import Report
    from pharmcheck.snapshot import Snapshot

STOP_GRACE_S = 1.5  # how long running sites may finish after an interrupt
MIN_BATCH_FOR_PROCESSES = 4  # smaller batches score in the fetch thread


@dataclass
class BatchStats:
    counts: Counter[str] = field(default_factory=Counter)
    done: int = 0  # results emitted in this run
    failing: int = 0  # at or beyond --fail-on, not allowlisted (includes resumed results)
    not_scanned: int = 0  # unreachable or error (includes resumed results)
    elapsed_s: float = 0.0
    interrupted: int | None = None  # signal number that stopped the batch
    abandoned: int = 0  # sites still running when the batch stopped
    unfinished: int = 0  # sites whose scoring process died during a stop: not written (resume redoes them)

    def exit_code(self) -> int:
        """DESIGN §4, with the precedence interrupt (128+signal) > 1 > 3 > 0."""
        if self.interrupted:
            return 128 + self.interrupted
        if self.failing:
            return 1
        if self.not_scanned:
            return 3
        return 0


@dataclass
class Job:
    key: Hashable
    inputs: list[str]
    payload: Any  # a Target (scan) or a Path (score)
    host: str | None  # politeness key; None: no per-host limit
    allow_host: str  # host matched against the allowlist
    snapshot: Any = None  # the fetched snapshot while it is being scored in a process
    retries: int = 0  # scoring restarts after a broken process pool


# --- work done outside the main thread -------------------------------------------------------

_CHILD_KB: dict[tuple[Path, ...], Knowledge] = {}


def _child_init(batch_pid: int = 0) -> None:
    # The parent decides what an interrupt means: a SIGINT/SIGTERM sent to the whole process
    # group (Ctrl-C, `timeout`, systemd, CI cancel) must not kill a scorer mid-site, or its
    # site would come back as a broken-pool error. The child dies with the batch instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if batch_pid:
        from pharmcheck.childguard import guard_worker

        guard_worker(batch_pid)


def score_in_child(snapshot: Snapshot, rules_dirs: tuple[Path, ...]) -> Report:
    """Runs in a scoring process: the rule pack is loaded once per process."""
    from pharmcheck.api import scan_snapshot
    from pharmcheck.knowledge import knowledge_with

    kb = _CHILD_KB.get(rules_dirs)
    if kb is None:
        kb = _CHILD_KB[rules_dirs] = knowledge_with(rules_dirs)
    return scan_snapshot(snapshot, kb)


def fetch_snapshot(target: Any, options: ScanOptions) -> Snapshot:
    """The network part of :func:`pharmcheck.api.scan`: fetch, lookups, optional save."""
    from pharmcheck.api import try_save_snapshot
    from pharmcheck.fetch import fetch_site
    from pharmcheck.lookups import run_lookups

    snapshot = fetch_site(target, options)
    run_lookups(snapshot, options)  # with options.offline it only records that lookups are off
    if options.save_snapshot is not None:
        try_save_snapshot(snapshot, options.save_snapshot)  # a failed save is a warning, not an error
    return snapshot


def load_snapshot(path: Path) -> Snapshot:
    from pharmcheck.snapshot import Snapshot

    snap = Snapshot.load(path)
    if not snap.input:
        snap.input = str(path)
    return snap


def _process_pool(size: int) -> ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    ctx: Any
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(
            [
                "pharmcheck._forkserver_init",  # first: no traceback when interrupted during start-up
                "pharmcheck.api",
                "pharmcheck.checks",
                "pharmcheck.site",
                "pharmcheck.scoring",
                "pharmcheck.knowledge",
                "pharmcheck.warmup",  # compiles the rule pack once, shared by the forked scorers
            ]
        )
        from pharmcheck.childguard import start_fork_server

        start_fork_server()  # no window in its start-up where Ctrl-C prints a traceback
    else:  # pragma: no cover - Windows/macOS default
        ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=size, mp_context=ctx, initializer=_child_init, initargs=(os.getpid(),)
    )


class ResultStore:
    """Finished reports by job key, in a private temporary SQLite file (for duplicate inputs).

    Both the keys and the reports live on disk, so a list of a million lines costs the client
    no memory per line; SQLite deletes the file when the store is closed.
    """

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self.disabled = False  # a failed spill (disk full in TMPDIR): later duplicates are rescanned

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect("", check_same_thread=False)  # "": a temporary on-disk database
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("CREATE TABLE done (key TEXT PRIMARY KEY, report BLOB NOT NULL)")
        return self._db

    def __contains__(self, key: Hashable) -> bool:
        if self._db is None:
            return False
        return self._db.execute("SELECT 1 FROM done WHERE key = ?", (repr(key),)).fetchone() is not None

    def put(self, key: Hashable, report: Report) -> None:
        import json

        if self.disabled:
            return
        try:
            data = json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")
            self._conn().execute("INSERT OR REPLACE INTO done VALUES (?, ?)", (repr(key), data))
        except (sqlite3.Error, OSError):
            self.disabled = True

    def get(self, key: Hashable) -> Report:
        import json

        from pharmcheck.report import Report

        row = self._conn().execute("SELECT report FROM done WHERE key = ?", (repr(key),)).fetchone()
        assert row is not None
        return Report.from_dict(json.loads(row[0]))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


# --- progress ---------------------------------------------------------------------------------


class ProgressView:
    """A rich progress bar on stderr: done/total, rate, ETA and counts per verdict."""

    def __init__(self, total: int | None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("scanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[counts]}"),
            console=Console(stderr=True),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task = self.progress.add_task("scan", total=total, rate="", counts="")
        self.started = time.monotonic()
        self.progress.start()

    def update(self, done: int, counts: Counter[str]) -> None:
        elapsed = max(1e-6, time.monotonic() - self.started)
        shown = " ".join(f"{k}:{v}" for k, v in sorted(counts.items()))
        self.progress.update(self.task, completed=done, rate=f"{done / elapsed:.1f}/s", counts=shown)

    def stop(self) -> None:
        self.progress.stop()


# --- the engine ------------------------------------------------------------------------------


@dataclass
class BatchPlan:
    """How to run: stage functions and limits. ``first`` runs in a thread, ``second`` anywhere."""

    first: Callable[[Any], Snapshot]
    rules_dirs: tuple[Path, ...]
    kb: Knowledge
    workers: int
    per_host: int = 2
    processes: int = 0  # scoring processes; 0 = score in the fetch thread
    fail_on: str = "rogue"
    allowlist: Allowlist | None = None
    on_result: Callable[[Report], None] | None = None  # e.g. tests; called after the sinks
    echo_input: bool = True  # each result's ``input`` is the input line (False: keep the snapshot's)
    # Cluster engine (pharmcheck.cluster_engine): ``remote.submit(task, payload)`` runs a whole site
    # elsewhere and gives a Report or its dict; ``window`` sites in flight (0: computed here).
    remote: Executor | None = None
    task: Callable[[Any], Any] | None = None
    window: int = 0


def choose_processes(workers: int, total: int | None) -> int:
    cpus = os.cpu_count() or 1
    if workers <= 1 or cpus <= 1 or (total is not None and total < MIN_BATCH_FOR_PROCESSES):
        return 0
    return cpus


def job_for_target(item: InputItem) -> Job:
    from urllib.parse import urlsplit

    from pharmcheck.urls import registered_domain

    target = item.target
    assert target is not None
    try:
        port = urlsplit(target.url).port
    except ValueError:
        port = None
    host = f"{registered_domain(target.host) or target.host}:{port or ''}"
    return Job(key=target.candidates, inputs=[item.input], payload=target, host=host, allow_host=target.host)


class _Stopper:
    """Turns the first SIGINT/SIGTERM into a stop request; a second SIGINT aborts."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Stopper:
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc: object) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)


def run_batch(
    items: Iterable[InputItem],
    sinks: list[Sink],
    plan: BatchPlan,
    *,
    make_job: Callable[[InputItem], Job] = job_for_target,
    total: int | None = None,
    progress: ProgressView | None = None,
    prior: Counter[str] | None = None,
    prior_failing: int = 0,
) -> BatchStats:
    """Scan every item, streaming each result to every sink. Never raises for one site's failure."""
    from pharmcheck.report import error_report

    stats = BatchStats()
    if prior:
        stats.counts.update(prior)
        stats.failing += prior_failing
        stats.not_scanned += sum(prior.get(v, 0) for v in NOT_SCANNED)
    started = time.monotonic()
    # Sites in flight: one per fetch worker, plus a few fetched snapshots queued for each scoring
    # process so that no core waits. More would only hold snapshots in memory.
    window = plan.window or max(2, plan.workers + 2 * plan.processes)
    per_host = 1 if plan.per_host < 1 else plan.per_host
    threads = ThreadPoolExecutor(max_workers=plan.workers, thread_name_prefix="pharmcheck-fetch")
    procs: ProcessPoolExecutor | None = None
    inflight: dict[Future[Any], tuple[str, Job]] = {}
    jobs: dict[Hashable, Job] = {}
    waiting: dict[str, deque[Job]] = {}
    active: Counter[str] = Counter()
    store = ResultStore()
    source: Iterator[InputItem] = iter(items)
    exhausted = False

    def emit(report: Report, allow_host: str = "") -> None:
        if plan.allowlist is not None:
            host = allow_host or _host_of(report.url)
            report.suppressed = (plan.allowlist.reason_for(host) if host else None) or report.suppressed
        for sink in sinks:
            sink.write(report)
        stats.done += 1
        stats.counts[report.verdict] += 1
        if report.verdict in NOT_SCANNED:
            stats.not_scanned += 1
        if fails(report.verdict, report.suppressed, plan.fail_on):
            stats.failing += 1
        if plan.on_result is not None:
            plan.on_result(report)
        if progress is not None:
            progress.update(stats.done, stats.counts)

    def first_and_second(payload: Any) -> Report:
        from pharmcheck.api import scan_snapshot

        return scan_snapshot(plan.first(payload), plan.kb)

    def start(job: Job) -> None:
        if job.host is not None:
            active[job.host] += 1
        if plan.remote is not None and plan.task is not None:
            inflight[plan.remote.submit(plan.task, job.payload)] = ("both", job)
        elif procs is None:
            inflight[threads.submit(first_and_second, job.payload)] = ("both", job)
        else:
            inflight[threads.submit(plan.first, job.payload)] = ("first", job)

    def admit(job: Job) -> None:
        if job.host is not None and active[job.host] >= per_host:
            waiting.setdefault(job.host, deque()).append(job)
        else:
            start(job)

    def finish(job: Job, report: Report | dict[str, Any] | list[Any]) -> None:
        if isinstance(report, list):  # one task, many sites (a WARC file on the cluster): (host, dict)
            from pharmcheck.report import Report

            jobs.pop(job.key, None)
            for allow_host, one in report:
                emit(Report.from_dict(one), allow_host or job.allow_host)
            return
        if isinstance(report, dict):  # from the cluster engine: the report's JSON-safe dict
            from pharmcheck.report import Report

            report = Report.from_dict(report)
        jobs.pop(job.key, None)
        for inp in job.inputs:
            emit(replace(report, input=inp) if plan.echo_input else replace(report), job.allow_host)
        store.put(job.key, report)
        if job.host is not None:
            active[job.host] -= 1
            queue = waiting.get(job.host)
            if queue:
                nxt = queue.popleft()
                if not queue:
                    del waiting[job.host]
                start(nxt)
            elif active[job.host] <= 0:
                del active[job.host]

    def crash(job: Job, exc: BaseException) -> Report:
        name = job.inputs[0]
        from pharmcheck.snapshot import SnapshotError

        if isinstance(exc, SnapshotError):  # the user's file, not our bug: say what is wrong with it
            return error_report(name, str(exc)[:500])
        return error_report(name, f"internal error while scanning: {type(exc).__name__}: {exc}"[:500])

    try:
        with _Stopper() as stopper:
            while True:
                while stopper.signum is None and not exhausted and len(jobs) < window:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                        break
                    if item.error is not None or (item.target is None and item.input == ""):
                        emit(error_report(item.input, item.error or "empty input"))
                        continue
                    try:
                        job = make_job(item)
                    except Exception as exc:  # a target the engine cannot plan still gets a result
                        emit(error_report(item.input, f"bad target: {exc}"))
                        continue
                    if job.key in jobs:
                        jobs[job.key].inputs.append(item.input)
                        continue
                    if job.key in store:
                        emit(replace(store.get(job.key), input=item.input), job.allow_host)
                        continue
                    if procs is None and plan.processes > 0:
                        procs = _process_pool(plan.processes)
                    jobs[job.key] = job
                    admit(job)
                if stopper.signum is not None or (exhausted and not inflight):
                    break
                done, _ = wait(list(inflight), timeout=0.25, return_when=FIRST_COMPLETED)
                for fut in done:
                    stage, job = inflight.pop(fut)
                    failure = fut.exception()
                    if (
                        stage == "second"
                        and isinstance(failure, BrokenProcessPool)
                        and (stopper.signum is not None or job.retries < 1)
                    ):
                        # A scoring process died. During a stop (SIGTERM to the process group) the
                        # site is unfinished, not an error: it is not written and --resume redoes it.
                        # Otherwise (OOM?) it is scored once more in a fresh pool.
                        if stopper.signum is not None:
                            stats.unfinished += 1
                            continue
                        job.retries += 1
                        procs, again = _score_on(procs, plan, job.snapshot)
                        inflight[again] = ("second", job)
                    elif failure is not None:
                        finish(job, crash(job, failure))
                    elif stage == "first" and procs is not None:
                        job.snapshot = fut.result()
                        procs, second = _score_on(procs, plan, job.snapshot)
                        inflight[second] = ("second", job)
                    else:
                        job.snapshot = None
                        finish(job, fut.result())
            if stopper.signum is not None:
                stats.interrupted = stopper.signum
                stats.unfinished += _drain(inflight, finish, crash)
                stats.abandoned = len(inflight)
    finally:
        threads.shutdown(wait=not inflight, cancel_futures=True)
        if procs is not None:
            procs.shutdown(wait=not inflight, cancel_futures=True)
        store.close()
        stats.elapsed_s = time.monotonic() - started
        if progress is not None:
            progress.stop()
        info = RunInfo(
            fail_on=plan.fail_on,
            counts=dict(stats.counts),
            elapsed_s=stats.elapsed_s,
            interrupted=stats.interrupted is not None,
        )
        close_error: OSError | None = None
        for sink in sinks:
            try:
                sink.close(info)
            except OSError as exc:  # disk full …: close the others, then report it
                close_error = close_error or exc
        if close_error is not None:
            raise close_error
    return stats


def _host_of(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _score_on(
    procs: ProcessPoolExecutor | None, plan: BatchPlan, snapshot: Snapshot
) -> tuple[ProcessPoolExecutor, Future[Report]]:
    """Submit ``snapshot`` for scoring; a fresh pool only when the current one is broken.

    Several sites fail together when a scoring process dies: each retry goes to the one
    replacement pool. (A replacement per retry shut down the previous replacement with
    ``cancel_futures``: a retry still queued there would be cancelled, and a future cancelled
    inside the pool is never reported done by ``wait``.)
    """
    if procs is not None:
        try:
            return procs, procs.submit(score_in_child, snapshot, plan.rules_dirs)
        except (BrokenProcessPool, RuntimeError):  # broken, or shut down after breaking
            pass
    procs = _fresh_pool(procs, plan.processes)
    return procs, procs.submit(score_in_child, snapshot, plan.rules_dirs)


def _fresh_pool(procs: ProcessPoolExecutor | None, size: int) -> ProcessPoolExecutor:
    if procs is not None:
        procs.shutdown(wait=False, cancel_futures=True)
    return _process_pool(size)


def _drain(
    inflight: dict[Future[Any], tuple[str, Job]],
    finish: Callable[[Job, Report], None],
    crash: Callable[[Job, BaseException], Report],
) -> int:
    """After a stop: cancel what has not started, give running work a short grace, keep what finished.

    Returns how many sites were dropped unfinished (their scoring process died in the stop).
    """
    dropped = 0
    for fut in list(inflight):
        if fut.cancel():
            inflight.pop(fut)
    deadline = time.monotonic() + STOP_GRACE_S
    while inflight and time.monotonic() < deadline:
        left = max(0.0, deadline - time.monotonic())
        done, _ = wait(list(inflight), timeout=left, return_when=FIRST_COMPLETED)
        for fut in done:
            stage, job = inflight.pop(fut)
            exc = fut.exception()
            if isinstance(exc, BrokenProcessPool):
                dropped += 1  # unfinished is not written: --resume scans it again
            elif exc is not None:
                finish(job, crash(job, exc))
            elif stage != "first":
                finish(job, fut.result())
    return dropped
