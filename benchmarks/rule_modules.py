"""Judging CPU per rule module: where a page's judging time goes, module by module (no network).

Builds the cases of ``benchmarks/judge.py``, parses each page first (text, markup, links, JSON-LD,
folded text: the ``(parse)`` row), then runs every registered rule module in order and the role
stage (``role.decide``), timing each with ``time.process_time``. Prints the median of ``--repeat``
runs in ms; a fresh ``Site`` each run, so nothing is carried over but the compiled rule pack.

Usage: ``python benchmarks/rule_modules.py [--repeat 5] [--only page_40k realistic_4]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from judge import CASES, realistic

from pharmcheck import role
from pharmcheck.api import scan_snapshot
from pharmcheck.checks import registered
from pharmcheck.knowledge import knowledge_with
from pharmcheck.site import Site


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", nargs="*", choices=sorted(CASES), default=["page_40k", "realistic_4"])
    args = ap.parse_args()
    kb = knowledge_with(())
    scan_snapshot(realistic(1, seed=99), kb)  # warm: rule pack, regex compilation, imports
    for name in args.only:
        snap = CASES[name]()
        scan_snapshot(snap, kb)
        times: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            site = Site(snap, kb)
            t = time.process_time()
            for page in site.pages:
                _ = (page.text, page.soup, page.folded_text, page.links, page.jsonld, page.title, page.lang)
            times.setdefault("(parse)", []).append(time.process_time() - t)
            findings = []
            for reg in registered():
                t = time.process_time()
                findings.extend(reg.func(site))
                times.setdefault(reg.module.rsplit(".", 1)[-1], []).append(time.process_time() - t)
            t = time.process_time()
            role.decide(site, findings)
            times.setdefault("role.decide", []).append(time.process_time() - t)
        rows = sorted(((statistics.median(v) * 1000, k) for k, v in times.items()), reverse=True)
        print(f"== {name} ({len(snap.pages)} page(s)), CPU ms, median of {args.repeat}")
        for ms, module in rows:
            print(f"  {module:<16} {ms:8.2f}")
        print(f"  {'total':<16} {sum(ms for ms, _ in rows):8.2f}")


if __name__ == "__main__":
    main()
