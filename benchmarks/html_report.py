"""HTML report benchmark: file size for 1,000 and 10,000 sites, and time to open and filter in Chromium.

Reports are generated from real ones: the bundled sample sites and ``corpus/`` are scanned
through the demo proxy (offline), then each generated site is a copy of one of them under a
new domain, with every digit in its messages and excerpts redrawn (prices, phone numbers,
postcodes, licence numbers differ from site to site) and its score moved a little, so the
compressor cannot simply fold identical sites. The distinct scanned sites alone are measured
too (bytes per distinct site: the pessimistic figure).

Prints: bytes, bytes per site, seconds to write; in headless Chromium (Debian's ``chromium``
via playwright): seconds from navigation to the table being ready, and for the verdict filter
and a domain search to show their rows.

Usage: ``python benchmarks/html_report.py [--sites 1000 10000] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pharmcheck.report import Report
from pharmcheck.reporters.html import write_html

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
_DIGITS = re.compile(r"\d")


def templates() -> list[Report]:
    from pharmcheck.demo import SITES_DIR
    from pharmcheck.evaluate import run

    dirs = [SITES_DIR] + ([ROOT / "corpus"] if (ROOT / "corpus").is_dir() else [])
    results, _wall = run(dirs, jobs=4)
    return [r.report for r in results]


def generate(base: list[Report], n: int, seed: int = 7) -> list[Report]:
    rng = random.Random(seed)
    out: list[Report] = []
    for i in range(n):
        t = base[i % len(base)].to_dict()
        old = t["registered_domain"] or "example.test"
        word = rng.choice(["rx", "meds", "pharma", "care", "health", "pills"])
        new = f"{word}-{i:05d}-{rng.randrange(10**6)}.com"

        def redo(s: str, old: str = old, new: str = new) -> str:
            return _DIGITS.sub(lambda _m: str(rng.randrange(10)), s.replace(old, new))

        for f in t["findings"]:
            f["message"] = redo(f["message"])
            for e in f["evidence"]:
                e["url"], e["excerpt"] = e["url"].replace(old, new), redo(e["excerpt"])
        for p in t["pages"]:
            p["url"] = p["url"].replace(old, new)
        for key in ("input", "url", "final_url"):
            t[key] = t[key].replace(old, new)
        t["registered_domain"] = new
        t["redirect_chain"] = [u.replace(old, new) for u in t["redirect_chain"]]
        if t["score"] is not None:
            t["score"] = max(0, min(100, t["score"] + rng.randrange(-6, 7)))
        t["domain"] = dict(t.get("domain") or {}, age_days=rng.randrange(20, 9000))
        out.append(Report.from_dict(t))
    return out


def write(path: Path, reports: list[Report]) -> tuple[int, float]:
    started = time.perf_counter()
    with path.open("w", encoding="utf-8") as fh:
        write_html(fh, reports, title=f"benchmark: {len(reports)} sites")
    return path.stat().st_size, time.perf_counter() - started


def browser_times(path: Path, verdict: str, needle: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=FLAGS) if exe else pw.chromium.launch(args=FLAGS)
        page = b.new_page(viewport={"width": 1280, "height": 900})
        started = time.perf_counter()
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        opened = time.perf_counter() - started
        started = time.perf_counter()
        page.select_option("#f-verdict", verdict)
        page.wait_for_selector(f"#rows tr[data-verdict={verdict}]")
        filtered = time.perf_counter() - started
        count = page.inner_text("#count")
        started = time.perf_counter()
        page.select_option("#f-verdict", "")
        page.fill("#f-search", needle)
        page.wait_for_function("() => document.getElementById('count').textContent.startsWith('1 of')")
        searched = time.perf_counter() - started  # includes the 120 ms typing debounce
        b.close()
    print(f"    filter {verdict}: {count}")
    return {"open_s": opened, "filter_s": filtered, "search_s": searched}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--sites", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--keep", type=Path, help="keep the generated reports in this folder")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="pc-html-bench-"))
    outdir = args.keep or tmp
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        base = templates()
        empty, _secs = write(outdir / "empty.html", [])
        size, secs = write(outdir / "distinct.html", base)
        print(f"empty report: {empty:,} B; distinct scanned sites: {len(base)}  {size:,} B  "
              f"({(size - empty) / len(base):,.0f} B/site beyond the empty page)  written in {secs:.2f}s")
        for n in args.sites:
            reports = generate(base, n)
            size, secs = write(outdir / f"sites-{n}.html", reports)
            print(f"{n:>6} sites: {size:,} B ({size / n:,.0f} B/site; limit 1,500 B/site)  "
                  f"written in {secs:.2f}s")
            times: dict[str, Any] = browser_times(outdir / f"sites-{n}.html", "rogue", reports[n // 2].input)
            print("    chromium: " + "  ".join(f"{k} {v:.2f}" for k, v in times.items()))
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
