"""CPU time of each rule function over a directory of saved snapshots (``--save-snapshot`` JSON files).

Every snapshot is judged once first (patterns compiled, shapes read, automata built), then each rule
runs in ``run_checks`` order on fresh ``Site`` objects, ``--repeat`` times; the minimum per rule is
printed. With ``--parsed`` the pages are parsed (text, links, lines, forms) before the clock starts,
so a rule is not charged for the parse that happens to be its first use.

    PYTHONPATH=src python benchmarks/rules_cpu.py SNAPSHOT_DIR [--repeat 3] [--parsed] [--only licence domain]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

from pharmcheck.api import scan_snapshot
from pharmcheck.checks import registered
from pharmcheck.knowledge import knowledge_with
from pharmcheck.site import Site
from pharmcheck.snapshot import Snapshot


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("snapshots", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parsed", action="store_true", help="parse every page before timing the rules")
    ap.add_argument("--only", nargs="*", default=None, help="rule modules to list (all by default)")
    args = ap.parse_args()
    snaps = [Snapshot.load(f) for f in sorted(args.snapshots.glob("*.json"))]
    kb = knowledge_with(())
    for snap in snaps:  # warm-up: compiled patterns, shapes, automata
        scan_snapshot(snap, kb)
    regs = registered()
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        spent: dict[str, float] = defaultdict(float)
        for snap in snaps:
            site = Site(snap, kb)
            if args.parsed:
                for page in site.pages:
                    _ = (page.text, page.folded_text, page.links, page.lines, page.forms, page.title)
            for reg in regs:
                name = f"{reg.func.__module__.rsplit('.', 1)[-1]}.{reg.func.__name__}"
                started = time.thread_time()
                list(reg.func(site))
                spent[name] += time.thread_time() - started
        best = dict(spent) if not best else {k: min(v, best.get(k, v)) for k, v in spent.items()}
    shown = {k: v for k, v in best.items() if args.only is None or k.split(".")[0] in args.only}
    pages = sum(len(s.pages) for s in snaps)
    print(f"{len(snaps)} snapshots, {pages} pages; CPU ms, minimum of {args.repeat}")
    for name, spent_s in sorted(shown.items(), key=lambda kv: -kv[1]):
        print(f"{name:45s} {spent_s * 1000:8.1f}")
    print(f"{'total (listed)':45s} {sum(shown.values()) * 1000:8.1f}")


if __name__ == "__main__":
    main()
