"""The cluster engine: the same batch, one task per site on a Dask distributed cluster.

Only ``--cluster`` (or ``PHARMCHECK_CLUSTER``, ``DASK_SCHEDULER_ADDRESS``) brings this module in;
Dask is imported here and nowhere else, so the local engine never pays for it.

How it fits the local engine: :func:`pharmcheck.batch.run_batch` stays the driver. It reads the
input lazily, keeps a bounded window of sites in flight, applies the per-host limit, writes every
result to the sinks in this (the client) process, handles duplicates, ``--resume``, the
allowlist, exit codes and the progress bar. Here it gets a ``concurrent.futures`` executor that
submits to the cluster instead of its thread pool, so nothing of that logic is duplicated.

- One task per site: fetch + lookups + judge run on a worker (:func:`site_task`); the rule pack is
  loaded once per worker process. What travels: the target and the scan options to the worker,
  the report as a JSON-safe dict back. Never pages or HTML.
- Back-pressure: at most ``window`` tasks are submitted at a time (about two per worker thread);
  a future is dropped as soon as its result is written, so the client holds no task keys.
- Politeness: the client is the only place that starts sites, and it starts at most
  ``--per-host`` sites of one host (registered domain + port) at once, whichever workers run
  them, so the limit holds across the whole cluster. ``--rate-limit`` sets it to 1: one site of
  a host at a time anywhere, paced by that site's crawler.
- Nothing lost: a worker that dies mid-site has its tasks rescheduled on another worker by the
  scheduler. A site that kills workers twice (``distributed.scheduler.allowed-failures`` = 1 on
  a ``local`` cluster; set it on your scheduler) fails with ``KilledWorker`` and becomes that
  site's ``error`` result.
- Ctrl-C/SIGTERM: pending tasks are cancelled, finished results are kept and flushed, and the
  client (and a ``local`` cluster) is shut down before exiting.
- Client memory: with ``local[:N]`` the Dask scheduler runs in its own process
  (:data:`SCHEDULER_SCRIPT`), not in the client, so its per-task records and histories are not
  client memory (and the two that Dask never trims are pruned in that process).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, InvalidStateError
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.knowledge import Knowledge
    from pharmcheck.snapshot import Snapshot

ENV_CLUSTER = "PHARMCHECK_CLUSTER"
ENV_DASK = "DASK_SCHEDULER_ADDRESS"  # Dask's own ``scheduler-address`` setting as an env var
DASK_CONFIGURED = "dask"  # ``--cluster dask``: Dask's configured ``scheduler-address``
ALLOWED_FAILURES = 1  # a site may kill one worker; the second death is its error result


# Dask settings of this run's client, and of a ``local`` cluster's scheduler and workers, which inherit
# them. Every Dask server (also the Nannies, which live in the client with ``local:N``) samples its
# process twice a second and keeps 7,200 samples (an hour, ~2 MB each) for the dashboard: 120 here.
# Every worker also samples its threads' stacks every 10 ms for the dashboard's profile and keeps a tree
# of them per second for the last 1,000 seconds: with a fetch + judge stack that held ~4 kB per site a
# worker ran (BENCHMARKS.md §6), and cost the sampling's CPU. Off: nothing here reads it.
DASK_CONFIG = {
    "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
    "distributed.admin.system-monitor.log-length": 120,
    "distributed.worker.profile.enabled": False,
}
# Dask's ``key_split`` cache keeps up to 100,000 task keys in every process (~250 B each, one per site):
# the client clears it every this many submits, a worker every this many site tasks.
KEY_CACHE_EVERY = 2000


class ClusterError(ValueError):
    """A bad ``--cluster`` value or a scheduler that cannot be reached."""


@dataclass(frozen=True)
class ClusterSpec:
    address: str | None  # a scheduler address, or None for a LocalCluster
    n_workers: int = 0  # LocalCluster worker processes (0: one per core)


def parse_cluster(value: str) -> ClusterSpec:
    """``local``, ``local:N``, ``dask`` (Dask's configured scheduler) or a scheduler address."""
    text = value.strip()
    if not text:
        raise ClusterError("--cluster: empty value")
    low = text.lower()
    if low == "local" or low.startswith("local:"):
        _, _, n = low.partition(":")
        if not n:
            return ClusterSpec(None, 0)
        try:
            count = int(n)
        except ValueError:
            raise ClusterError(f"--cluster: expected local:N with a number, got {value!r}") from None
        if count < 1:
            raise ClusterError(f"--cluster: local:N needs N >= 1, got {value!r}")
        return ClusterSpec(None, count)
    if low == DASK_CONFIGURED:
        import dask.config

        configured = dask.config.get("scheduler-address", None)
        if not configured:
            raise ClusterError("--cluster dask: Dask has no scheduler-address configured")
        return ClusterSpec(str(configured))
    if any(c.isspace() for c in text):
        raise ClusterError(f"--cluster: not a scheduler address: {value!r}")
    if "://" not in text:
        text = "tcp://" + text
    return ClusterSpec(text)


def cluster_from_env(flag: str | None) -> str:
    """The cluster to use: the flag, else PHARMCHECK_CLUSTER, else DASK_SCHEDULER_ADDRESS; '' = none."""
    for value in (flag, os.environ.get(ENV_CLUSTER), os.environ.get(ENV_DASK)):
        if value and value.strip():
            return value.strip()
    return ""


# --- on the worker -------------------------------------------------------------------------------

_WORKER_KB: dict[tuple[Path, ...], Knowledge] = {}


def _worker_kb(rules_dirs: tuple[Path, ...]) -> Knowledge:
    from pharmcheck.knowledge import knowledge_with

    kb = _WORKER_KB.get(rules_dirs)
    if kb is None:  # once per worker process (a race between threads only loads it twice)
        kb = _WORKER_KB[rules_dirs] = knowledge_with(rules_dirs)
    return kb


def site_task(payload: Any, first: Callable[[Any], Snapshot], rules_dirs: tuple[Path, ...]) -> dict[str, Any]:
    """One site on a worker: ``first`` (fetch + lookups, or a snapshot source), then judge.

    Returns the report as a small JSON-safe dict."""
    from pharmcheck.api import scan_snapshot

    report = scan_snapshot(first(payload), _worker_kb(rules_dirs))
    if next(_TASKS_RUN) % KEY_CACHE_EVERY == 0:  # the worker's own key_split cache, as the client's
        import dask.utils

        dask.utils.key_split.cache_clear()
    return report.to_dict()


_TASKS_RUN = itertools.count(1)  # site tasks run by this worker process


# --- on the client -------------------------------------------------------------------------------


# The Dask scheduler of a ``local[:N]`` cluster, run in its own process (``python -c``; it imports
# only Dask, so it runs wherever the client runs). Its per-task records would otherwise sit in the
# client: Dask's ``key_split`` cache (100,000 dead keys) and the default span's metadata, which
# grows by one entry per submit; both are pruned here every few seconds. It writes its address to
# the scheduler file given as argv[1] and exits when the client (its parent) goes away, even killed.
SCHEDULER_SCRIPT = r"""
import asyncio, logging, os, sys

import dask.utils
from distributed import Scheduler


def prune(scheduler):
    dask.utils.key_split.cache_clear()
    spans = scheduler.extensions.get("spans")
    for span in list(getattr(spans, "spans", {}).values()):
        meta = getattr(span, "_metadata", None)
        cols = meta.get("collections") if isinstance(meta, dict) else None
        if isinstance(cols, list) and len(cols) > 1:
            unique = []
            for c in cols:
                if c not in unique:
                    unique.append(c)
            cols[:] = unique


async def main():
    parent = os.getppid()
    async with Scheduler(host="127.0.0.1", port=0, dashboard_address="127.0.0.1:0",
                         scheduler_file=sys.argv[1]) as scheduler:
        finished = asyncio.ensure_future(scheduler.finished())
        ticks = 0
        while not finished.done() and os.getppid() == parent:
            await asyncio.wait([finished], timeout=1)
            ticks += 1
            if ticks % 5 == 0:
                try:
                    prune(scheduler)
                except Exception:
                    pass


if sys.argv[2] == "quiet":
    logging.getLogger("distributed").setLevel(logging.ERROR)
asyncio.run(main())
"""
WORKER_IGNORES_SIGINT = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"  # a preload script
SCHEDULER_START_S = 120.0  # a loaded machine can take a while to import Dask


def local_cluster(n_workers: int, threads: int, *, quiet_logs: bool = True) -> Any:
    """A Dask cluster on this machine: ``n_workers`` worker processes (each under a Nanny, as in
    ``LocalCluster``) and the scheduler in its own process (:data:`SCHEDULER_SCRIPT`)."""
    import asyncio
    import subprocess
    import sys
    import tempfile

    import dask.config
    from distributed import Nanny, SpecCluster
    from distributed.deploy.spec import ProcessInterface
    from distributed.worker_memory import parse_memory_limit

    # quiet: not even Dask's errors (a worker whose heartbeat meets the scheduler already gone at a
    # stop logs a traceback); what fails for a site is in that site's result
    level = logging.CRITICAL if quiet_logs else logging.WARNING

    class SchedulerProcess(ProcessInterface):
        """The scheduler subprocess, for ``SpecCluster``: started, found by its file, killed."""

        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self.proc: subprocess.Popen[bytes] | None = None

        async def start(self) -> None:
            import json

            env = dict(os.environ)
            # the client's Dask config (allowed-failures …), as Dask hands it to its own workers
            env["DASK_INTERNAL_INHERIT_CONFIG"] = dask.config.serialize(dask.config.global_config)
            env["PYTHONSAFEPATH"] = "1"  # ``-c`` would put the current directory first on sys.path
            with tempfile.TemporaryDirectory(prefix="pharmcheck-dask-") as tmp:
                address_file = Path(tmp) / "scheduler.json"
                mode = "quiet" if quiet_logs else "-"
                argv = [sys.executable, "-c", SCHEDULER_SCRIPT, str(address_file), mode]
                self.proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL if quiet_logs else None,
                    env=env, start_new_session=True,  # Ctrl-C reaches the client, which stops the batch
                )
                loop = asyncio.get_running_loop()
                deadline = loop.time() + SCHEDULER_START_S
                while self.address is None:
                    if self.proc.poll() is not None or loop.time() > deadline:
                        await self.close()
                        raise ClusterError("the local Dask scheduler did not start")
                    with suppress(OSError, ValueError, KeyError):
                        self.address = json.loads(address_file.read_text(encoding="utf-8"))["address"]
                    if self.address is None:
                        await asyncio.sleep(0.1)
            await super().start()  # type: ignore[no-untyped-call]

        async def close(self) -> None:
            proc, self.proc = self.proc, None
            if proc is not None and proc.poll() is None:
                proc.terminate()
                for _ in range(50):
                    if proc.poll() is not None:
                        break
                    await asyncio.sleep(0.1)
                else:
                    proc.kill()
                    proc.wait()
            await super().close()  # type: ignore[no-untyped-call]

    worker = {
        "cls": Nanny,
        "options": {
            "nthreads": threads,
            "host": "127.0.0.1",
            "dashboard": False,
            "dashboard_address": None,
            "silence_logs": level,
            # Ctrl-C in a terminal reaches the whole process group: the client stops the batch and
            # closes the workers; a worker process that took it itself only printed a traceback
            "preload": [WORKER_IGNORES_SIGINT],
            "memory_limit": parse_memory_limit("auto", 1, n_workers, logger=logging.getLogger(__name__)),
        },
    }
    return SpecCluster(  # type: ignore[no-untyped-call]
        workers={i: worker for i in range(n_workers)},
        scheduler={"cls": SchedulerProcess, "options": {}},
        worker=worker,
        silence_logs=level,
        name="pharmcheck-local",
    )


class _SafeExecutor(Executor):
    """``concurrent.futures`` over a Dask client, like ``client.get_executor(pure=False)``, minus
    its race at a stop: a future the batch cancels while its task finishes made Dask log an
    ``InvalidStateError`` traceback from ``set_result``. Here the late outcome is dropped.

    Every ``KEY_CACHE_EVERY``-th submit also clears ``dask.utils.key_split``'s cache, an
    ``lru_cache(100000)`` keyed by task key: every site has a unique key, so without this the
    client keeps ~100,000 dead keys (it is a cache: clearing it only costs a recomputed split)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        from functools import partial

        import dask.utils

        self.submitted += 1
        if self.submitted % KEY_CACHE_EVERY == 0:
            dask.utils.key_split.cache_clear()
        task = self._client.submit(fn, *args, pure=False, **kwargs)
        out: Future[Any] = Future()

        def cancel_task(f: Future[Any]) -> None:
            if f.cancelled():
                with suppress(Exception):  # the client is closing anyway
                    task.cancel()

        out.add_done_callback(cancel_task)
        task.add_done_callback(partial(_cascade, out))
        return out

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass  # the client is closed by :func:`connect`


def _cascade(out: Future[Any], task: Any) -> None:
    """A finished Dask future's outcome into ``out`` (in Dask's callback thread)."""
    if out.done():  # cancelled by the batch at a stop
        return
    try:
        if task.status == "finished":
            out.set_result(task.result())
        elif task.status == "cancelled":
            if out.cancel():
                out.set_running_or_notify_cancel()
        else:
            failure = task.exception()  # waits while Dask recomputes a result a dead worker lost
            if failure is None:  # "lost" when this callback ran, recomputed since: its result after all
                out.set_result(task.result())
            else:
                out.set_exception(failure)
    except InvalidStateError:  # cancelled by the batch meanwhile
        pass
    except Exception as exc:  # the result could not be fetched (a worker lost it, the client closing)
        with suppress(InvalidStateError):
            out.set_exception(exc)


@dataclass
class Connected:
    executor: Executor
    window: int  # tasks in flight
    threads: int  # worker threads in the cluster when connected
    client: Any


@contextmanager
def connect(spec: ClusterSpec, *, workers: int, quiet_logs: bool = True) -> Iterator[Connected]:
    """A client on the cluster (starting a LocalCluster for ``local``); closed on exit, whatever happens."""
    import dask.config
    from distributed import Client

    if quiet_logs:
        for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker"):
            logging.getLogger(name).setLevel(logging.ERROR)
    cluster: Any = None
    client: Any = None
    try:
        with dask.config.set(DASK_CONFIG):
            if spec.address is None:
                n = spec.n_workers or (os.cpu_count() or 1)
                try:
                    cluster = local_cluster(n, max(1, workers // n), quiet_logs=quiet_logs)
                except (OSError, RuntimeError, ClusterError) as exc:  # Dask wraps a start failure
                    raise ClusterError(f"cannot start the local Dask cluster: {exc}") from None
                client = Client(cluster, set_as_default=False)  # type: ignore[no-untyped-call]
            else:
                try:
                    client = Client(  # type: ignore[no-untyped-call]
                        spec.address, timeout="10s", set_as_default=False
                    )
                except (OSError, TimeoutError) as exc:
                    raise ClusterError(f"cannot reach the Dask scheduler at {spec.address}: {exc}") from None
        info = client.scheduler_info()
        threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()) or 1
        window = max(4, 2 * threads)
        executor = _SafeExecutor(client)
        yield Connected(executor=executor, window=window, threads=threads, client=client)
    finally:
        if client is not None:
            with suppress(Exception):  # a client that is already gone
                client.close(timeout=10)
        if cluster is not None:
            with suppress(Exception):
                cluster.close(timeout=10)


def task_for(first: Callable[[Any], Snapshot], rules_dirs: tuple[Path, ...]) -> Callable[[Any], Any]:
    """The callable submitted per site (a picklable partial of :func:`site_task`)."""
    from functools import partial

    return partial(site_task, first=first, rules_dirs=rules_dirs)


def run_on_cluster(
    spec: ClusterSpec, items: Any, sinks: Any, plan: Any, *, task: Callable[[Any], Any] | None = None,
    **kwargs: Any,
) -> Any:
    """:func:`pharmcheck.batch.run_batch` with every site sent to the cluster; same stats and sinks.

    ``task`` replaces the per-site task, e.g. one WARC file per task that returns a list of
    ``(allow host, report dict)`` (:func:`pharmcheck.warc.file_task`)."""
    from dataclasses import replace

    from pharmcheck.batch import run_batch

    with connect(spec, workers=plan.workers) as conn:
        remote_plan = replace(
            plan,
            remote=conn.executor,
            task=task or task_for(plan.first, plan.rules_dirs),
            window=max(conn.window, plan.window),
            processes=0,
        )
        stats = run_batch(items, sinks, remote_plan, **kwargs)
    # Tasks still running at a stop were cancelled on the cluster and the client is closed:
    # nothing in this process is left to wait for.
    stats.abandoned = 0
    return stats
