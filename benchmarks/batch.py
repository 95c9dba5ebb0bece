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
- ``pharmcheck --version`` start-up time.

Usage: ``python benchmarks/batch.py --sites 200 --pages 5``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
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
                site = str(self.server.server_address[1]).encode()
                body, status = bodies[idx].replace(b"Site 0 ", b"Site " + site + b" "), 200
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    servers = []
    for _ in range(n_sites):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True).start()
        servers.append(httpd)
    ports_out.put([s.server_address[1] for s in servers])
    stop.wait()


def sample_tree(proc: Any, cpu_seen: dict[int, float]) -> int:
    """RSS of the process tree now; records each process's CPU time (scoring processes are
    children of the forkserver, so RUSAGE_CHILDREN would miss them)."""
    import psutil

    total = 0
    try:
        tree = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in tree:
        try:
            total += p.memory_info().rss
            t = p.cpu_times()
            cpu_seen[p.pid] = t.user + t.system
        except psutil.Error:
            pass
    return total


def run_scan(urls_file: Path, out: Path, workers: int, pages: int) -> dict[str, float]:
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
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sample_tree(proc, cpu_seen))
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
        "cpu_util": cpu / wall / (os.cpu_count() or 1),
        "unreachable": sum(r["verdict"] in ("unreachable", "error") for r in results),
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--pages", type=int, default=3, help="pages per site")
    ap.add_argument("--workers", type=int, default=min(32, 8 * (os.cpu_count() or 1)))
    ap.add_argument("--baseline-sites", type=int, default=40, help="sites for the --workers 1 run")
    args = ap.parse_args()

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
    finally:
        stop.set()
        server.join(timeout=5)
    rate = pc["sites"] / pc["wall"]
    rate1 = one["sites"] / one["wall"]
    rows = [
        ("sites × pages", f"{args.sites} × {args.pages} (30–80 kB each), cores {os.cpu_count()}"),
        (
            f"pharmcheck --workers {args.workers}",
            f"{pc['wall']:.1f} s   {rate:.1f} sites/s   {pc['pages'] / pc['wall']:.0f} pages/s   "
            f"peak RSS {pc['rss_mb']:.0f} MB   CPU {pc['cpu_util'] * 100:.0f}%   "
            f"not scanned {pc['unreachable']:.0f}",
        ),
        (
            f"pharmcheck --workers 1 ({one['sites']:.0f} sites)",
            f"{one['wall']:.1f} s   {rate1:.2f} sites/s   peak RSS {one['rss_mb']:.0f} MB   "
            f"CPU {one['cpu_util'] * 100:.0f}%",
        ),
        ("speed-up vs --workers 1", f"{rate / rate1:.1f}×"),
        (
            "floor (fetch + lxml parse)",
            f"{fl['wall']:.1f} s   {fl['sites'] / fl['wall']:.1f} sites/s   "
            f"{fl['pages'] / fl['wall']:.0f} pages/s",
        ),
        ("pharmcheck / floor (wall)", f"{pc['wall'] / fl['wall']:.1f}×"),
        ("pharmcheck --version", f"{up * 1000:.0f} ms"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
