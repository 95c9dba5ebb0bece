"""Regex scans of the rule pack over page text: whole text vs windows (``ParsedPage.finditer``).

Every regex the bundled rule pack compiles (recorded while judging the page once) is run over the
page's text with ``pattern.finditer(text)`` and with ``ParsedPage.finditer(pattern)`` (fresh page
view each round, so the automaton pass, folding and digit runs are counted). Both give the same
matches (tests/test_windows.py); this prints what each costs, CPU ms per page.

Usage: ``python benchmarks/windows.py [--repeat 3] [--only page_40k realistic_4 huge_text]``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import judge

import pharmcheck.linear as linear_mod
from pharmcheck.api import scan_snapshot
from pharmcheck.knowledge import knowledge_with
from pharmcheck.site import Site
from pharmcheck.snapshot import Snapshot


def pack_patterns(snap: Snapshot) -> list[re.Pattern[str]]:
    seen: dict[tuple[str, int], re.Pattern[str]] = {}
    real = linear_mod.compile_for

    def recording(untrusted: Any, source: str, flags: int = 0) -> re.Pattern[str]:
        got = real(untrusted, source, flags)
        if isinstance(got, re.Pattern):
            seen[(got.pattern, got.flags)] = got
        return got

    linear_mod.compile_for = recording  # type: ignore[assignment]
    try:
        scan_snapshot(snap, knowledge_with(()))
    finally:
        linear_mod.compile_for = real  # type: ignore[assignment]
    return list(seen.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=["page_40k", "realistic_4", "huge_text", "random_latin1"])
    args = ap.parse_args()
    cases = {name: fn for name, fn in judge.CASES.items() if name in args.only}
    patterns = pack_patterns(judge.realistic(4))  # the first judging compiles the pack (then cached)
    kb = knowledge_with(())
    for name, make in cases.items():
        snap = make()
        texts = [p.text for p in Site(snap, kb).pages]
        whole, windowed = [], []
        for _ in range(args.repeat):
            t0 = time.thread_time()
            n_whole = sum(1 for text in texts for p in patterns for _m in p.finditer(text))
            whole.append(time.thread_time() - t0)
            site = Site(snap, kb)
            for page in site.pages:
                _ = page.text  # parsing is not what is measured
            t0 = time.thread_time()
            n_win = sum(1 for page in site.pages for p in patterns for _m in page.finditer(p))
            windowed.append(time.thread_time() - t0)
        assert n_whole == n_win, (name, n_whole, n_win)
        chars = sum(map(len, texts))
        print(f"{name:16s} {len(texts):2d} page(s) {chars:8d} chars {len(patterns):4d} patterns  "
              f"whole text {min(whole) * 1000:8.1f} ms   windows {min(windowed) * 1000:8.1f} ms  "
              f"({n_whole} matches)")


if __name__ == "__main__":
    main()
