"""Page-view benchmark: CPU ms to read pages into the shared page view (parse, visible text, markup
elements, forms, JSON-LD, title, language, caps), without the rules and without link resolution.

Uses the snapshots of ``benchmarks/judge.py``. Run with ``PYTHONPATH`` pointing at the tree to
measure: ``python benchmarks/pageview.py [--repeat 3] [--only page_40k tag_flood]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from judge import CASES

from pharmcheck.site import ParsedPage
from pharmcheck.urls import registered_domain


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", choices=sorted(CASES))
    args = ap.parse_args()
    registered_domain("warm.example.co.uk")  # the public-suffix list loads once
    print(f"{'case':<18} {'pages':>5} {'CPU ms (median)':>15}")
    for name in args.only or list(CASES):
        snap = CASES[name]()
        pages = snap.pages[:2] if name == "twelve_big_pages" else snap.pages  # the site cap reads 2 of 12
        runs = []
        for _ in range(args.repeat):
            started = time.process_time()
            for page in pages:
                view = ParsedPage(page, "bench.example")
                _ = (view.lines, view.elements, view.forms, view.jsonld, view.title, view.lang,
                     view.truncation)
            runs.append(1000 * (time.process_time() - started))
        print(f"{name:<18} {len(pages):>5} {statistics.median(runs):>15.1f}")


if __name__ == "__main__":
    main()
