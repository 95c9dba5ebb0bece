"""CPU of the fetch stage per site (crawl + link discovery + lookups; no judging), one thread.

This is the work the batch's fetch threads do in the batch process, where one GIL bounds it:
when judging gets cheap, it decides the batch's throughput. Run it against the farm (the proxy/CA
environment set as ``run.py`` sets it) with a ``urls.txt`` from a ``run.py --bench`` run:

    PYTHONPATH=src python benchmarks/fetch_sites.py URLS_FILE [--skip 100] [--sites 40] [--profile]

Prints CPU ms (``time.thread_time``) and wall ms per site; ``--profile`` adds a cProfile listing.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from pathlib import Path

from pharmcheck.batch import fetch_snapshot
from pharmcheck.options import ScanOptions
from pharmcheck.target import parse_target


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("urls", type=Path)
    ap.add_argument("--skip", type=int, default=100)
    ap.add_argument("--sites", type=int, default=40)
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    lines = [x.strip() for x in a.urls.read_text().splitlines() if x.strip()]
    urls = lines[a.skip : a.skip + a.sites + 1]
    opts = ScanOptions()
    fetch_snapshot(parse_target(urls[0]), opts)  # imports, keyword tables, rule pack
    prof = cProfile.Profile() if a.profile else None
    pages = 0
    cpu, wall = time.thread_time(), time.perf_counter()
    if prof:
        prof.enable()
    for url in urls[1:]:
        pages += len(fetch_snapshot(parse_target(url), opts).pages)
    if prof:
        prof.disable()
    n = len(urls) - 1
    cpu_ms = (time.thread_time() - cpu) * 1000 / n
    wall_ms = (time.perf_counter() - wall) * 1000 / n
    print(f"{n} sites, {pages} pages: fetch CPU {cpu_ms:.1f} ms/site, wall {wall_ms:.1f} ms/site; "
          f"load {os.getloadavg()[0]:.2f}")
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
