"""Judge-stage benchmark: time ``scan_snapshot`` on realistic and hostile snapshots (no network).

Realistic sites use the page generator of ``benchmarks/batch.py`` (30–80 kB pharmacy-like
pages); hostile snapshots are what an adversarial site can make the crawler store within its
limits (3 MB per body, 12 pages). Prints CPU ms per snapshot and per page; ``--profile NAME``
prints a cProfile of one case.

Usage: ``python benchmarks/judge.py [--repeat 3] [--profile deep_nesting]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch import page_html

from pharmcheck.api import scan_snapshot
from pharmcheck.knowledge import knowledge_with
from pharmcheck.snapshot import Page, Snapshot

MAX_BYTES = 3 * 1024 * 1024  # the crawler's default body limit (options.DEFAULT_MAX_BYTES)


def snapshot(name: str, bodies: list[str], kinds: list[str] | None = None) -> Snapshot:
    base = f"https://{name.replace('_', '-')}.example/"
    pages = [
        Page(url=base if i == 0 else f"{base}p{i}", status=200, kind=(kinds or [])[i] if kinds else
             ("home" if i == 0 else "other"), content_type="text/html", html=b)
        for i, b in enumerate(bodies)
    ]
    domain = base.split("/")[2].split(".", 1)[0] + ".example"
    return Snapshot(input=base, url=base, final_url=base, registered_domain=domain, pages=pages)


def realistic(n_pages: int, seed: int = 1) -> Snapshot:
    rng = random.Random(seed)
    kinds = ["home", "contact", "about", "legal", "shipping", "products", "faq", "privacy", "terms"]
    bodies = [page_html(seed, i, n_pages, rng).decode() for i in range(n_pages)]
    return snapshot("realistic", bodies, [kinds[i % len(kinds)] for i in range(n_pages)])


def deep_nesting() -> Snapshot:
    depth = 100_000
    body = "<div>" * depth + "deep pharmacy text" + "</div>" * depth
    return snapshot("deep_nesting", ["<html><body>" + body + "</body></html>"])


def link_farm() -> Snapshot:
    bodies = []
    for p in range(6):
        rng = random.Random(p)
        links = "".join(
            f'<a href="/farm/{rng.getrandbits(64):016x}">contact page {i}</a>\n' for i in range(3000)
        )
        bodies.append(f"<html><body><h1>Pharmacy {p}</h1>{links}</body></html>")
    return snapshot("link_farm", bodies)


def random_bytes() -> Snapshot:
    data = random.Random(7).randbytes(MAX_BYTES)
    return snapshot("random_bytes", [data.decode("utf-8", "replace")])


def random_latin1() -> Snapshot:
    data = random.Random(8).randbytes(MAX_BYTES)
    return snapshot("random_latin1", [data.decode("latin-1")])


def huge_text() -> Snapshot:
    block = "<p>" + "a" * 1020 + "</p>"
    return snapshot("huge_text", [(block * (MAX_BYTES // len(block)))])


def tag_flood() -> Snapshot:
    """3 MB of tiny flat elements: ~300k tags (what a 100k-node limit must stop)."""
    unit = '<span class="x"><a href="/p">buy</a></span><br>'
    return snapshot("tag_flood", [unit * (MAX_BYTES // len(unit))])


def twelve_big_pages() -> Snapshot:
    """12 pages of 3 MB realistic-looking markup: the crawler's whole budget, all markup."""
    rng = random.Random(3)
    page = page_html(3, 1, 12, rng).decode()
    body, rest = page.split("<tbody>", 1)
    rows, tail = rest.split("</tbody>", 1)
    big = body + "<tbody>" + rows * (MAX_BYTES // len(rows)) + "</tbody>" + tail
    return snapshot("twelve_big_pages", [big[:MAX_BYTES]] * 12)


CASES: dict[str, Callable[[], Snapshot]] = {
    "realistic_1": lambda: realistic(1),
    "realistic_4": lambda: realistic(4),
    "realistic_12": lambda: realistic(12),
    "deep_nesting": deep_nesting,
    "link_farm": link_farm,
    "random_bytes": random_bytes,
    "random_latin1": random_latin1,
    "huge_text": huge_text,
    "tag_flood": tag_flood,
    "twelve_big_pages": twelve_big_pages,
}


def judge_cpu(snap: Snapshot) -> float:
    kb = knowledge_with(())
    t = time.process_time()
    scan_snapshot(snap, kb)
    return time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", choices=sorted(CASES))
    ap.add_argument("--only", nargs="*", choices=sorted(CASES))
    args = ap.parse_args()
    kb = knowledge_with(())
    scan_snapshot(realistic(1, seed=99), kb)  # warm: rule pack, regex compilation, imports
    if args.profile:
        snap = CASES[args.profile]()
        prof = cProfile.Profile()
        prof.enable()
        scan_snapshot(snap, kb)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        return
    print(f"{'case':<18} {'pages':>5} {'KB':>7} {'verdict':<13} {'CPU ms (median)':>15} {'ms/page':>8}")
    for name in args.only or CASES:
        snap = CASES[name]()
        times = [judge_cpu(snap) for _ in range(args.repeat)]
        report = scan_snapshot(snap, kb)
        kbytes = sum(len(p.html) for p in snap.pages) / 1000
        med = statistics.median(times) * 1000
        print(f"{name:<18} {len(snap.pages):>5} {kbytes:>7.0f} {report.verdict:<13} {med:>15.0f} "
              f"{med / len(snap.pages):>8.1f}")


if __name__ == "__main__":
    main()
