"""Cluster benchmark: the same batch through the local engine and through ``--cluster local:N``.

Sites are the generated pharmacy-like sites of ``benchmarks/batch.py`` (one port per site, 30–80 kB
pages, served by one server process on 127.0.0.1). Prints:

- the local engine and ``--cluster local:N`` on the same list: wall time, sites/s, and the cluster
  path's cost: start-up of the LocalCluster (measured alone on a one-site list) and the per-site
  overhead left after it, (cluster wall - start-up - local wall) / sites;
- with ``--refused N``, the client's peak RSS (the pharmcheck process only, not the workers nor
  the scheduler process) scanning N targets on closed ports through the cluster, its RSS when 10 %,
  25 %, 50 %, 75 % and 100 % of the results are written (each printed as it passes, for long runs),
  and the growth between 10 % and 100 % per site, to show that the client stays flat.

Usage: ``python benchmarks/cluster.py --sites 300 --pages 3 --workers-n 2 [--refused 100000]``;
the memory run alone: ``--long-only --refused 100000 --log-every 10000``.
Needs ``pharmcheck[cluster]`` and psutil (test extra).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

from batch import machine, serve

PHARMCHECK = [sys.executable, "-m", "pharmcheck"]


CHECKPOINTS = (0.1, 0.25, 0.5, 0.75, 1.0)  # RSS is sampled when this share of the list is written


def _rss(p: Any) -> int:
    import psutil

    try:
        return int(p.memory_info().rss)
    except psutil.Error:
        return 0


def _scheduler_of(proc: Any) -> Any:
    """The ``local:N`` scheduler subprocess of the client (``cluster_engine.SCHEDULER_SCRIPT``)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        for child in proc.children():
            with contextlib.suppress(psutil.Error):
                if any("import Scheduler" in a for a in child.cmdline()):
                    return child
    return None


def _workers_of(proc: Any) -> list[Any]:
    """The ``local:N`` worker processes (spawned by the client's Nannies)."""
    import psutil

    found = []
    with contextlib.suppress(psutil.Error):
        for child in proc.children():
            with contextlib.suppress(psutil.Error):
                if any("spawn_main" in a for a in child.cmdline()):
                    found.append(child)
    return found


def scan(urls: Path, out: Path, pages: int, workers: int, cluster: str | None,
         total: int = 0, log: bool = False, every: int = 0) -> dict[str, Any]:
    """One CLI run; samples the client process's RSS (not its children) every 50 ms.

    With ``total``: also the client's (and the scheduler process's) RSS when 10 %, 25 %, 50 %, 75 %
    and 100 % of the results are written (and every ``every`` results); ``log`` prints each checkpoint
    as it passes (long runs)."""
    import psutil

    out.unlink(missing_ok=True)
    args = [*PHARMCHECK, "scan", "-i", str(urls), "-f", "jsonl", "-o", str(out), "--allow-private",
            "--workers", str(workers), "--max-pages", str(pages + 1), "--fail-on", "never", "-q",
            "--timeout", "10", "--deadline", "60"]
    if cluster:
        args += ["--cluster", cluster]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHARMCHECK_", "DASK_"))}
    started = time.monotonic()
    proc = psutil.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    timeline: list[tuple[float, int]] = []
    marks = [max(1, int(total * f)) for f in CHECKPOINTS] if total else []
    if total and every:
        marks = sorted(set(marks) | set(range(every, total, every)))
    checkpoints: list[dict[str, Any]] = []
    lines, offset, last_count, scheduler = 0, 0, 0.0, None
    while proc.poll() is None:
        now = time.monotonic() - started
        timeline.append((now, _rss(proc)))
        if marks and now - last_count >= 1.0:  # count new result lines (only the bytes added)
            last_count = now
            with contextlib.suppress(OSError), out.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
                cut = chunk.rfind(b"\n") + 1
                lines += chunk.count(b"\n", 0, cut)
                offset += cut
            scheduler = scheduler or _scheduler_of(proc)
            while marks and lines >= marks[0]:
                mark = marks.pop(0)
                point = {"sites": lines, "share": mark / total, "t": now, "client_mb": _rss(proc) / 2**20,
                         "scheduler_mb": _rss(scheduler) / 2**20 if scheduler is not None else 0.0,
                         "workers_mb": [_rss(w) / 2**20 for w in _workers_of(proc)]}
                checkpoints.append(point)
                if log:
                    print(f"    {point['share']:>4.0%}  {lines:>8} results  {now:7.0f} s  "
                          f"{lines / max(now, 1e-9):5.1f} sites/s  client RSS {point['client_mb']:.1f} MB  "
                          f"scheduler process {point['scheduler_mb']:.1f} MB  workers "
                          f"{' + '.join(f'{m:.0f}' for m in point['workers_mb'])} MB", flush=True)
        time.sleep(0.05)
    wall = time.monotonic() - started
    if proc.returncode not in (0, 3):
        raise SystemExit(f"pharmcheck failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    lines = sum(1 for _ in out.open(encoding="utf-8"))
    return {
        "sites": lines,
        "wall": wall,
        "client_peak_mb": max((m for _t, m in timeline), default=0) / 2**20,
        "checkpoints": checkpoints,
    }


def long_run(d: Path, n: int, workers: int, cluster: str, every: int = 0) -> str:
    """``n`` closed-port targets through the cluster: client RSS at each checkpoint, and its growth."""
    with (d / "long.txt").open("w") as f:
        for i in range(n):
            f.write(f"http://127.{1 + i // 62500}.{(i // 250) % 250 + 1}.{i % 250 + 1}:9/\n")
    print(f"  {n} closed ports, --cluster {cluster}:", flush=True)
    long = scan(d / "long.txt", d / "long.jsonl", 0, workers, cluster, total=n, log=True, every=every)
    cps = long["checkpoints"]
    at = "  ".join(f"{c['share']:.0%}: {c['client_mb']:.1f}" for c in cps)
    growth = ""
    if len(cps) >= 2 and cps[-1]["sites"] > cps[0]["sites"]:
        per_site = (cps[-1]["client_mb"] - cps[0]["client_mb"]) * 2**20 / (cps[-1]["sites"] - cps[0]["sites"])
        growth = f"   growth {cps[0]['share']:.0%}→{cps[-1]['share']:.0%}: {per_site:+.0f} B/site"
    sched = f"   scheduler process at the end {cps[-1]['scheduler_mb']:.0f} MB" if cps else ""
    return (f"{long['wall']:.0f} s   {long['sites'] / long['wall']:.0f} sites/s   {long['sites']} results   "
            f"client peak {long['client_peak_mb']:.0f} MB   client RSS (MB) at {at}{growth}{sched}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--pages", type=int, default=3, help="pages per site")
    ap.add_argument("--workers", type=int, default=min(32, 8 * (os.cpu_count() or 1)))
    ap.add_argument("--workers-n", type=int, default=2, help="LocalCluster worker processes")
    ap.add_argument("--refused", type=int, default=0, help="closed-port targets for the client memory run")
    ap.add_argument("--log-every", type=int, default=0, help="also sample the RSS every N results")
    ap.add_argument("--long-only", action="store_true", help="only the closed-ports run (no site comparison)")
    args = ap.parse_args()
    print(machine(), flush=True)
    cluster = f"local:{args.workers_n}"
    ctx = multiprocessing.get_context("spawn")
    ports_q, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(args.sites, args.pages, ports_q, stop), daemon=True)
    server.start()
    urls = [f"http://127.0.0.1:{p}/" for p in ports_q.get(timeout=120)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            (d / "urls.txt").write_text("\n".join(urls) + "\n")
            (d / "one.txt").write_text(urls[0] + "\n")
            if args.long_only:
                print(f"{args.refused} closed ports, {cluster}: "
                      f"{long_run(d, args.refused, args.workers, cluster, args.log_every)}")
                return
            local = scan(d / "urls.txt", d / "local.jsonl", args.pages, args.workers, None)
            print(f"  local engine: {local['wall']:.1f} s", flush=True)
            remote = scan(d / "urls.txt", d / "cluster.jsonl", args.pages, args.workers, cluster)
            print(f"  --cluster {cluster}: {remote['wall']:.1f} s", flush=True)
            one_local = scan(d / "one.txt", d / "one-l.jsonl", args.pages, args.workers, None)
            one_cluster = scan(d / "one.txt", d / "one-c.jsonl", args.pages, args.workers, cluster)
            print(f"  one site: local {one_local['wall']:.1f} s, cluster {one_cluster['wall']:.1f} s",
                  flush=True)
            long = long_run(d, args.refused, args.workers, cluster, args.log_every) if args.refused else None
    finally:
        stop.set()
        server.join(timeout=5)
    startup = max(0.0, one_cluster["wall"] - one_local["wall"])
    n = local["sites"]
    per_site_ms = (remote["wall"] - startup - local["wall"]) / max(1, n) * 1000
    steady = n / max(1e-9, remote["wall"] - startup)
    rows = [
        ("sites × pages", f"{args.sites} × {args.pages} (30–80 kB each), cores {os.cpu_count()}"),
        ("local engine", f"{local['wall']:.1f} s   {n / local['wall']:.2f} sites/s   "
                         f"client peak {local['client_peak_mb']:.0f} MB"),
        (f"--cluster {cluster}", f"{remote['wall']:.1f} s   {remote['sites'] / remote['wall']:.2f} sites/s   "
                                 f"client peak {remote['client_peak_mb']:.0f} MB"),
        ("cluster start-up", f"{startup:.1f} s (one-site run, cluster minus local)"),
        ("cluster after start-up",
         f"{steady:.2f} sites/s   ({steady / (n / local['wall']) * 100:.0f}% of local)"),
        ("per-site overhead", f"{per_site_ms:+.1f} ms/site"),
    ]
    if long is not None:
        rows.append((f"{args.refused} closed ports, {cluster}", long))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
