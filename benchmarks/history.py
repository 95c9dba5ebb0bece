"""History benchmark: N sites × S scans recorded in one SQLite history, then queried by the CLI.

Each site's report is the golden report of the bundled UK sample (36 findings, 12 pages; about
the size of a real one), with its input, domain, verdict, score and page hashes varied per site
and per scan (random evidence words per site, so reports do not compress into each other more than
real ones would), and 10% of the sites change verdict between scans. The script measures:

- recording: results per second through :class:`pharmcheck.history.History` (one transaction
  per result, as a batch does; the time of ``record`` only);
- the database size per scan (bytes per recorded result, after all scans);
- ``pharmcheck history --history DB`` (the latest state of every site, text and json) and
  ``pharmcheck history SITE`` (one site's timeline) as subprocesses: wall and CPU time, best of 3
  (on a shared machine the CPU time is the figure that does not depend on the others' load).

Usage: ``python benchmarks/history.py --sites 10000 --scans 3``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pharmcheck.history import History  # noqa: E402

GOLDEN = ROOT / "tests" / "golden" / "uk-riverside-pharmacy.json"
_WORDS = """pharmacy prescription medicines delivery registered pharmacist contact address street road london
leeds order basket tablets capsules paracetamol ibuprofen price licence number council general superintendent
opening hours monday friday saturday privacy policy terms shipping returns questions health advice"""
VOCAB = [*_WORDS.split(), *(str(n) for n in range(100))]


def variant(base: dict[str, Any], i: int, scan: int, rng: random.Random) -> dict[str, Any]:
    d = copy.deepcopy(base)
    site = f"site{i:05d}.example"
    d["input"] = f"https://www.{site}/"
    d["url"] = d["final_url"] = d["input"]
    d["registered_domain"] = site
    d["scanned_at"] = f"2026-0{scan + 1}-01T02:00:00Z"
    changed = scan > 0 and rng.random() < 0.1
    if changed:
        d["verdict"], d["score"] = rng.choice([("suspicious", 55), ("rogue", 20), ("legitimate", 95)])
    words = VOCAB if i % 2 else VOCAB[::-1]
    for f in d["findings"]:  # every site has its own evidence text (a shared one would compress away)
        for e in f.get("evidence", []):
            n = max(1, len(e.get("excerpt", "")) // 7)
            e["excerpt"] = " ".join(rng.choice(words) for _ in range(n))
            e["url"] = e["url"].replace("riverside-pharmacy.test", site)
    for p in d["pages"]:
        p["url"] = p["url"].replace("riverside-pharmacy.test", site)
        if p.get("text_hash") and changed:
            p["text_hash"] = f"{rng.getrandbits(64):016x}"
    d["domain"] = {**d.get("domain", {}), "registered_domain": site, "status": "ok", "created": "2012-03-04",
                   "registrar": "Bench Registrar"}
    return d


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, int]:
    """Best of 3: wall time and CPU time (user + system) of the whole process."""
    best = best_cpu = float("inf")
    out = b""
    code = 0
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, env=env)
        best = min(best, time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        out, code = r.stdout, r.returncode
    return best, best_cpu, len(out.splitlines()), code


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=10_000)
    ap.add_argument("--scans", type=int, default=3)
    args = ap.parse_args()
    base = json.loads(GOLDEN.read_text(encoding="utf-8"))
    rng = random.Random(13)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1"}
    print(f"python {platform.python_version()}  cpus {os.cpu_count()}  load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.db"
        total = 0
        for scan in range(args.scans):
            hist = History(db, command="bench")
            dt = 0.0
            for i in range(args.sites):
                rep = variant(base, i, scan, rng)
                t = time.perf_counter()
                hist.record(rep)
                dt += time.perf_counter() - t
            hist.close()
            total += args.sites
            print(f"scan {scan + 1}: recorded {args.sites} results in {dt:.1f} s ({args.sites / dt:.0f}/s)")
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        size = db.stat().st_size
        print(f"database: {size / 1e6:.1f} MB for {total} results = {size / total / 1024:.1f} kB per result"
              f" ({size / args.scans / 1e6:.1f} MB per scan of {args.sites} sites); integrity {ok}")
        cli = [sys.executable, "-m", "pharmcheck", "history", "--history", str(db)]
        for label, cmd in (
            ("history (latest of every site, text)", cli),
            ("history -f json", [*cli, "-f", "json"]),
            ("history --since 2026-03-01", [*cli, "--since", "2026-03-01"]),
            ("history SITE (timeline)", [*cli, "https://www.site04242.example/"]),
        ):
            secs, cpu, n, code = timed(cmd, env)
            print(f"{label}: wall {secs * 1000:.0f} ms, CPU {cpu * 1000:.0f} ms (best of 3, whole process),"
                  f" {n} lines, exit {code}")
        secs, cpu, _n, _code = timed([sys.executable, "-m", "pharmcheck", "--version"], env)
        print(f"pharmcheck --version (start-up floor): wall {secs * 1000:.0f} ms, CPU {cpu * 1000:.0f} ms")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
