"""Batch benchmark: N generated pharmacy-like sites on 127.0.0.1, scanned by the real pipeline.

Each site is its own port (a distinct origin, so per-host politeness does not serialise
the run) served by one server process; pages are 30–80 kB of realistic HTML (navigation,
product tables with prices, a footer with address and licence). The script measures:

- ``pharmcheck scan -i urls.txt -f jsonl -o out --allow-private --workers W`` as a
  subprocess: sites/s, pages/s, peak RSS of the whole process tree (scoring processes
  included), CPU utilisation = CPU time of the tree / wall / cores;
- the same with ``--workers 1`` on a subset, for the single-worker speed-up;
- a floor: a bare loop that fetches the same pages (threads, requests) and parses them
  with lxml, no rules — and the ratio pharmcheck / floor;
- ``pharmcheck --version`` start-up time;
- with ``--refused N``, a long-list run: the served sites plus N targets on closed ports of
  distinct loopback addresses (each is quick to resolve: connection refused), to show that
  memory stays flat over a list of thousands of targets.

Memory is reported twice: the sum of RSS over the process tree (counts pages shared by the
forked scoring processes once per process, so it overstates) and the sum of PSS (shared
pages divided among the processes that share them: what the tree really costs).

Usage: ``python benchmarks/batch.py --sites 200 --pages 5 [--refused 8000]``.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PHARMCHECK = [sys.executable, "-m", "pharmcheck"]
DRUGS = [
    "Paracetamol",
    "Ibuprofen",
    "Cetirizine",
    "Loratadine",
    "Omeprazole",
    "Aspirin",
    "Naproxen",
    "Vitamin D3",
    "Folic acid",
    "Hydrocortisone cream",
    "Chlorphenamine",
    "Loperamide",
    "Simvastatin",
]
KINDS = ["contact", "about", "legal", "delivery", "products", "faq", "privacy", "terms"]


def page_html(site: int, index: int, pages: int, rng: random.Random) -> bytes:
    """One page of 30–80 kB: nav, a product table, prose, and a footer with address and licence."""
    target = rng.randint(30_000, 80_000)
    kind = "home" if index == 0 else KINDS[(index - 1) % len(KINDS)]
    nav = " ".join(
        f'<li><a href="/{"" if i == 0 else KINDS[(i - 1) % len(KINDS)] + f"-{i}"}">'
        f"{'Home' if i == 0 else KINDS[(i - 1) % len(KINDS)].title()}</a></li>"
        for i in range(pages)
    )
    head = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Site {site} pharmacy — {kind}'
        f'</title><meta name="viewport" content="width=device-width"></head><body>'
        f"<header><h1>Site {site} Pharmacy</h1><nav><ul>{nav}</ul></nav></header><main>"
    )
    foot = (
        f"</main><footer><p>Site {site} Pharmacy Ltd, {rng.randint(1, 200)} High Street, Bristol BS1 4DJ, "
        f"United Kingdom. Telephone 0117 496 {rng.randint(1000, 9999)}. GPhC registration number "
        f"{rng.randint(1000000, 9999999)}. Superintendent pharmacist: A. Person.</p>"
        f'<p><a href="/contact-1">Contact</a> <a href="/legal-3">Legal notice</a></p></footer></body></html>'
    )
    parts = [
        head,
        "<h2>Products</h2><table><thead><tr><th>Product</th><th>Pack</th><th>Price</th><th></th>"
        "</tr></thead><tbody>",
    ]
    size = len(head) + len(foot)
    while size < target:
        drug = rng.choice(DRUGS)
        row = (
            f"<tr><td>{drug} {rng.choice([100, 200, 250, 500])} mg tablets</td><td>{rng.choice([16, 24, 32])}"
            f'</td><td>£{rng.randint(1, 30)}.{rng.randint(0, 99):02d}</td><td><a href="/basket?add={size}">'
            f"Add to basket</a></td></tr><tr><td colspan=4><p>{drug} is used for the relief of mild "
            f"to moderate "
            f"pain and fever. Always read the label. Pharmacy medicine: our pharmacist may ask questions "
            f"before supplying it.</p></td></tr>"
        )
        parts.append(row)
        size += len(row)
    parts.append("</tbody></table>")
    parts.append(foot)
    return "".join(parts).encode()


def serve(n_sites: int, pages: int, ports_out: Any, stop: Any) -> None:
    """Server process: one ThreadingHTTPServer per site, pages generated once and shared."""
    rng = random.Random(1)
    bodies = [page_html(0, i, pages, rng) for i in range(pages)]
    paths = {"/": 0, **{f"/{KINDS[(i - 1) % len(KINDS)]}-{i}": i for i in range(1, pages)}}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            idx = paths.get(self.path.split("?", 1)[0])
            if idx is None:
                body, status = b"not found", 404
            else:
                addr: Any = self.server.server_address
                site = str(addr[1]).encode()
                body, status = bodies[idx].replace(b"Site 0 ", b"Site " + site + b" "), 200
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that closes early (deadline, page limit) is not news

    servers = []
    for _ in range(n_sites):
        httpd = Server(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True).start()
        servers.append(httpd)
    ports_out.put([s.server_address[1] for s in servers])
    stop.wait()


def sample_tree(proc: Any, cpu_seen: dict[int, float], pss: bool) -> tuple[int, int]:
    """(RSS, PSS) of the process tree now; records each process's CPU time (scoring processes
    are children of the forkserver, so RUSAGE_CHILDREN would miss them). PSS is read only
    when asked (it walks /proc/PID/smaps, which costs the sampler some CPU)."""
    import psutil

    rss = pss_total = 0
    try:
        tree = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for p in tree:
        try:
            if pss:
                full = p.memory_full_info()
                rss += full.rss
                pss_total += full.pss
            else:
                rss += p.memory_info().rss
            t = p.cpu_times()
            cpu_seen[p.pid] = t.user + t.system
        except psutil.Error:
            pass
    return rss, pss_total


def run_scan(urls_file: Path, out: Path, workers: int, pages: int) -> dict[str, Any]:
    import psutil

    out.unlink(missing_ok=True)
    cpu_seen: dict[int, float] = {}
    started = time.monotonic()
    proc = psutil.Popen(
        [
            *PHARMCHECK,
            "scan",
            "-i",
            str(urls_file),
            "-f",
            "jsonl",
            "-o",
            str(out),
            "--allow-private",
            "--workers",
            str(workers),
            "--max-pages",
            str(pages + 1),
            "--fail-on",
            "never",
            "--quiet",
            "--timeout",
            "10",
            "--deadline",
            "60",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak = peak_pss = 0
    load_before = os.getloadavg()[0]
    timeline: list[tuple[float, int]] = []  # (seconds, PSS) every sample, to show flat memory
    n = 0
    while proc.poll() is None:
        rss, pss = sample_tree(proc, cpu_seen, pss=n % 5 == 0)
        peak = max(peak, rss)
        if pss:
            peak_pss = max(peak_pss, pss)
            timeline.append((time.monotonic() - started, pss))
        n += 1
        time.sleep(0.05)
    wall = time.monotonic() - started
    if proc.returncode not in (0, 3):
        raise SystemExit(f"pharmcheck failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    import json

    results = [json.loads(line) for line in out.read_text().splitlines()]
    n_pages = sum(len(r["pages"]) for r in results)
    cpu = sum(cpu_seen.values())
    return {
        "sites": len(results),
        "pages": n_pages,
        "wall": wall,
        "rss_mb": peak / 2**20,
        "pss_mb": peak_pss / 2**20,
        "cpu_util": cpu / wall / (os.cpu_count() or 1),
        "unreachable": sum(r["verdict"] in ("unreachable", "error") for r in results),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "pss_quartiles": [
            max((m for t, m in timeline if q * wall / 4 <= t < (q + 1) * wall / 4), default=0) / 2**20
            for q in range(4)
        ],
    }


def floor(urls: list[str], pages: int, workers: int) -> dict[str, float]:
    """Fetch every page of every site and parse it with lxml, nothing else."""
    import lxml.html
    import requests

    local = threading.local()
    page_paths = ["/"] + [f"/{KINDS[(i - 1) % len(KINDS)]}-{i}" for i in range(1, pages)]

    def one(base: str) -> int:
        session = getattr(local, "s", None) or requests.Session()
        local.s = session
        n = 0
        for path in page_paths:
            resp = session.get(base.rstrip("/") + path, timeout=10)
            lxml.html.fromstring(resp.content).text_content()
            n += 1
        return n

    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        n_pages = sum(pool.map(one, urls))
    return {"sites": len(urls), "pages": n_pages, "wall": time.monotonic() - started}


def startup() -> float:
    times = []
    for _ in range(5):
        t = time.monotonic()
        subprocess.run([*PHARMCHECK, "--version"], check=True, capture_output=True)
        times.append(time.monotonic() - t)
    return statistics.median(times)


def machine() -> str:
    """nproc, CPU model, RAM, Python, date: what the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                      if x.startswith("MemTotal"))
        ram = f"{mem_kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        ram = "?"
    return (f"machine: nproc {os.cpu_count()}, {model or platform.processor()}, RAM {ram}, "
            f"Python {platform.python_version()}, {datetime.datetime.now().isoformat(timespec='minutes')}, "
            f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--pages", type=int, default=3, help="pages per site")
    ap.add_argument("--workers", type=int, default=min(32, 8 * (os.cpu_count() or 1)))
    ap.add_argument("--baseline-sites", type=int, default=40, help="sites for the --workers 1 run")
    ap.add_argument("--refused", type=int, default=0, help="extra targets on closed ports (long-list run)")
    args = ap.parse_args()
    print(machine())

    ctx = multiprocessing.get_context("spawn")
    ports_q, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(args.sites, args.pages, ports_q, stop), daemon=True)
    server.start()
    ports = ports_q.get(timeout=60)
    urls = [f"http://127.0.0.1:{p}/" for p in ports]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            (d / "urls.txt").write_text("\n".join(urls) + "\n")
            (d / "base.txt").write_text("\n".join(urls[: args.baseline_sites]) + "\n")
            up = startup()
            fl = floor(urls, args.pages, args.workers)
            pc = run_scan(d / "urls.txt", d / "out.jsonl", args.workers, args.pages)
            one = run_scan(d / "base.txt", d / "one.jsonl", 1, args.pages)
            long = None
            if args.refused:
                refused = [f"http://127.{1 + i // 65000}.{(i // 250) % 250 + 1}.{i % 250 + 1}:9/"
                           for i in range(args.refused)]
                mixed = urls + refused
                random.Random(5).shuffle(mixed)
                (d / "long.txt").write_text("\n".join(mixed) + "\n")
                long = run_scan(d / "long.txt", d / "long.jsonl", args.workers, args.pages)
    finally:
        stop.set()
        server.join(timeout=5)
    rate = pc["sites"] / pc["wall"]
    rate1 = one["sites"] / one["wall"]
    rows = [
        ("sites × pages", f"{args.sites} × {args.pages} (30–80 kB each), cores {os.cpu_count()}"),
        (
            f"pharmcheck --workers {args.workers}",
            f"{pc['wall']:.1f} s   {rate:.2f} sites/s   {pc['pages'] / pc['wall']:.1f} pages/s   "
            f"peak RSS-sum {pc['rss_mb']:.0f} MB   peak PSS {pc['pss_mb']:.0f} MB   "
            f"CPU {pc['cpu_util'] * 100:.0f}%   not scanned {pc['unreachable']:.0f}   "
            f"load {pc['load_before']:.2f}→{pc['load_after']:.2f}",
        ),
        (
            f"pharmcheck --workers 1 ({one['sites']:.0f} sites)",
            f"{one['wall']:.1f} s   {rate1:.2f} sites/s   {one['pages'] / one['wall']:.1f} pages/s   "
            f"peak RSS-sum {one['rss_mb']:.0f} MB   peak PSS {one['pss_mb']:.0f} MB   "
            f"CPU {one['cpu_util'] * 100:.0f}%   load {one['load_before']:.2f}→{one['load_after']:.2f}",
        ),
        ("speed-up vs --workers 1", f"{rate / rate1:.1f}×"),
        (
            "floor (fetch + lxml parse)",
            f"{fl['wall']:.1f} s   {fl['sites'] / fl['wall']:.1f} sites/s   "
            f"{fl['pages'] / fl['wall']:.0f} pages/s",
        ),
        ("pharmcheck / floor (wall)", f"{pc['wall'] / fl['wall']:.1f}×"),
        ("pharmcheck --version", f"{up * 1000:.0f} ms (median of 5)"),
    ]
    if long is not None:
        q = "  ".join(f"{m:.0f}" for m in long["pss_quartiles"])
        rows.append((
            f"long list: {long['sites']:.0f} targets",
            f"{long['wall']:.1f} s   {long['sites'] / long['wall']:.0f} targets/s   "
            f"peak RSS-sum {long['rss_mb']:.0f} MB   peak PSS {long['pss_mb']:.0f} MB   "
            f"PSS per quarter of the run {q} MB   not scanned {long['unreachable']:.0f}   "
            f"load {long['load_before']:.2f}→{long['load_after']:.2f}",
        ))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
