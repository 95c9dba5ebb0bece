"""Save snapshots of corpus sites (served locally, nothing leaves the machine) for engine tests.

Every site of the given corpus folders (farm format, as ``pharmcheck eval`` reads them) is served by
the demo proxy on 127.0.0.1 and scanned once with lookups off; each snapshot is written gzipped to
``OUT/<site-id>.json.gz``. The engine golden test (``tests/test_engine_golden.py``) judges these
snapshots offline and compares verdict, score and findings with ``tests/golden/engine.json``.

Usage::

    python tools/save_snapshots.py                       # demo samples + own corpus -> tests/snapshots
    python tools/save_snapshots.py --out /tmp/snaps ../shared/corpus/dev   # any other corpus

Regenerate the golden file after an intended change of behaviour (one command)::

    PHARMCHECK_UPDATE_GOLDEN=1 python -m pytest -q tests/test_engine_golden.py
"""

from __future__ import annotations

import argparse
import gzip
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pharmcheck.demo import SITES_DIR, scan_options  # noqa: E402
from pharmcheck.demo.corpus import load_corpus  # noqa: E402
from pharmcheck.demo.server import DemoProxy  # noqa: E402
from pharmcheck.snapshot import Snapshot  # noqa: E402


def save_all(folders: list[Path], out: Path, jobs: int = 4) -> list[Path]:
    sites = [s for s in load_corpus(*folders) if s.label != "infra"]
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with DemoProxy(load_corpus(*folders)) as proxy:
        opts = scan_options(proxy)
        captured: dict[str, Snapshot] = {}

        def one(site_id: str, target: str) -> None:
            from pharmcheck.fetch import fetch_site
            from pharmcheck.lookups import run_lookups
            from pharmcheck.target import parse_target

            snap = fetch_site(parse_target(target), opts)
            run_lookups(snap, opts)
            captured[site_id] = snap

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(lambda s: one(s.site_id, s.target), sites))
    for site_id, snap in sorted(captured.items()):
        path = out / f"{site_id}.json.gz"
        path.write_bytes(gzip.compress(snap.to_json().encode("utf-8"), mtime=0))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("folders", nargs="*", type=Path, help="corpus folders (default: demo sites + corpus/)")
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "snapshots")
    ap.add_argument("--jobs", type=int, default=4)
    args = ap.parse_args(argv)
    folders = args.folders or [SITES_DIR, ROOT / "corpus"]
    written = save_all(folders, args.out, args.jobs)
    print(f"{len(written)} snapshot(s) written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
