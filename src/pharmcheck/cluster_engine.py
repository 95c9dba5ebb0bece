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
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Executor

    from pharmcheck.knowledge import Knowledge
    from pharmcheck.snapshot import Snapshot

ENV_CLUSTER = "PHARMCHECK_CLUSTER"
ENV_DASK = "DASK_SCHEDULER_ADDRESS"  # Dask's own ``scheduler-address`` setting as an env var
DASK_CONFIGURED = "dask"  # ``--cluster dask``: Dask's configured ``scheduler-address``
ALLOWED_FAILURES = 1  # a site may kill one worker; the second death is its error result


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
    return report.to_dict()


# --- on the client -------------------------------------------------------------------------------


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
    from distributed import Client, LocalCluster

    if quiet_logs:
        for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker"):
            logging.getLogger(name).setLevel(logging.ERROR)
    cluster: Any = None
    client: Any = None
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
            if spec.address is None:
                n = spec.n_workers or (os.cpu_count() or 1)
                cluster = LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=n,
                    threads_per_worker=max(1, workers // n),
                    processes=True,
                    dashboard_address="127.0.0.1:0",  # the scheduler's HTTP server: loopback, any free port
                    silence_logs=logging.ERROR if quiet_logs else logging.WARNING,
                )
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
        executor = client.get_executor(pure=False)
        yield Connected(executor=executor, window=window, threads=threads, client=client)
    finally:
        if client is not None:
            with suppress(Exception):  # a client that is already gone
                client.close(timeout=10)
        if cluster is not None:
            with suppress(Exception):
                cluster.close(timeout=10)


KEY_CACHE_EVERY = 2000  # submits between clearing Dask's key_split cache in the client process


def _trim_span_metadata(scheduler: Any) -> None:
    """Dedupe the span metadata of an in-process scheduler (``local``): Dask appends one
    ``{"type": "Future"}`` to the default span's ``collections`` list per ``submit``, forever."""
    spans = getattr(scheduler, "extensions", {}).get("spans")
    for span in list(getattr(spans, "spans", {}).values()):
        meta = getattr(span, "_metadata", None)
        cols = meta.get("collections") if isinstance(meta, dict) else None
        if isinstance(cols, list) and len(cols) > 1:
            unique: list[Any] = []
            for c in cols:
                if c not in unique:
                    unique.append(c)
            cols[:] = unique


def _key_cache_clearing(executor: Executor, scheduler: Any = None) -> Executor:
    """``executor`` whose every ``KEY_CACHE_EVERY``-th submit clears ``dask.utils.key_split``'s cache.

    ``key_split`` is an ``lru_cache(100000)`` keyed by task key, called by the client and by a
    ``local`` cluster's scheduler (which runs in this process). Every site has a unique key, so
    without this the cache keeps ~100,000 dead keys: client memory climbs for the first 100,000
    sites before it levels off. It is a cache: clearing it only costs a recomputed split."""
    from concurrent.futures import Executor as _Executor
    from concurrent.futures import Future

    import dask.utils

    class _Clearing(_Executor):
        def __init__(self) -> None:
            self.submitted = 0

        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            self.submitted += 1
            if self.submitted % KEY_CACHE_EVERY == 0:
                dask.utils.key_split.cache_clear()
                if scheduler is not None:  # on the scheduler's own event loop (thread-safe hand-over)
                    with suppress(Exception):  # Dask internals: never fail a batch over a trim
                        scheduler.loop.add_callback(_trim_span_metadata, scheduler)
            return executor.submit(fn, *args, **kwargs)

        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            executor.shutdown(wait=wait, cancel_futures=cancel_futures)

    return _Clearing()


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
        # a ``local`` cluster's scheduler runs in this process: its per-submit metadata is trimmed
        local_scheduler = getattr(getattr(conn.client, "cluster", None), "scheduler", None)
        if spec.address is not None:
            local_scheduler = None
        remote_plan = replace(
            plan,
            remote=_key_cache_clearing(conn.executor, local_scheduler),
            task=task or task_for(plan.first, plan.rules_dirs),
            window=max(conn.window, plan.window),
            processes=0,
        )
        stats = run_batch(items, sinks, remote_plan, **kwargs)
    # Tasks still running at a stop were cancelled on the cluster and the client is closed:
    # nothing in this process is left to wait for.
    stats.abandoned = 0
    return stats
