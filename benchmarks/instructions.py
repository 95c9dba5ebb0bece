"""Judging work to count instructions of, under ``valgrind --tool=cachegrind``: load does not move the count.

Per warm scan = (count with --passes 3 − count with --passes 1) / 2 for a case of ``judge.py``; per warm pass
over snapshots = count with --passes 2 − count with --passes 1. Run each as::

    PYTHONHASHSEED=0 PYTHONPATH=src valgrind --tool=cachegrind --cache-sim=no \\
        --cachegrind-out-file=/dev/null python benchmarks/instructions.py --case page_40k --passes 3
    # or: ... --snapshots DIR --sites 30 --passes 2

and read the ``I refs`` line. The first pass also pays the warm-up (pattern compilation, automata).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", help="a case of benchmarks/judge.py")
    ap.add_argument("--snapshots", type=Path, help="a directory of saved snapshots (--save-snapshot)")
    ap.add_argument("--sites", type=int, default=30, help="the first N snapshots (sorted by name)")
    ap.add_argument("--passes", type=int, default=1)
    args = ap.parse_args()

    from pharmcheck.api import scan_snapshot
    from pharmcheck.knowledge import knowledge_with
    from pharmcheck.snapshot import Snapshot

    kb = knowledge_with(())
    if args.case:
        import judge

        snaps = [judge.CASES[args.case]()]
    elif args.snapshots:
        snaps = [Snapshot.load(p) for p in sorted(args.snapshots.glob("*.json"))][: args.sites]
    else:
        ap.error("--case or --snapshots")
    for _ in range(args.passes):
        for snap in snaps:
            scan_snapshot(snap, kb)


if __name__ == "__main__":
    main()
