"""Accuracy of pharmcheck on labelled corpora: ``python -m pharmcheck.evaluate CORPUS...``.

Each corpus is a folder of farm-format sites (``<site-id>/site.toml`` + ``pages/``). They are
served by the demo proxy on 127.0.0.1, every non-infra site is scanned (in threads), and the
result is a confusion matrix (label × verdict) plus the ratios the shared farm reports:

* ``false_trust``: rogue or not_pharmacy sites called ``legitimate`` — the worst error;
* ``rogue_recall``: rogue sites judged ``rogue``; ``rogue_caught``: judged ``rogue`` or ``suspicious``;
* ``legit_accept``: legit sites judged ``legitimate``; ``np_acc``: not_pharmacy judged ``not_pharmacy``;
* ``accepted``: sites whose verdict is in their ``accept`` list.

Each miss is listed with the finding that decided it. Exit status 1 when false_trust > 0
(or a ``--max-false-trust``-style threshold fails), 2 when the corpus cannot be loaded.

Lookups are off by default (verdicts rest on page signals). ``--lookups`` turns them on through
the same proxy: registry entries are then answered by the corpus's ``infra`` sites served under
the registries' real host names (certificates made on the fly by ``trustme``), any other host
gets 502 (so RDAP is unreachable and domain age unknown), and the lookup cache lives in a
temporary folder for the run, so stand-in registry answers never reach the user's cache.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pharmcheck.demo import Sample, scan_options, scan_sample
from pharmcheck.demo.corpus import CorpusError, SiteSpec, load_corpus
from pharmcheck.demo.server import DemoProxy
from pharmcheck.lookups.cache import ENV_DIR

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from pharmcheck.findings import Finding
    from pharmcheck.report import Report
    from pharmcheck.reporters import Sink

LABELS = ("legit", "rogue", "not_pharmacy")
VERDICTS = ("legitimate", "suspicious", "rogue", "not_pharmacy", "unreachable", "error")
DEFAULT_JOBS = 8


@dataclass
class Result:
    site: SiteSpec
    report: Report
    seconds: float
    requests: int = 0

    @property
    def verdict(self) -> str:
        return self.report.verdict.lower()

    @property
    def accepted(self) -> bool:
        return self.verdict in self.site.accept

    @property
    def false_trust(self) -> bool:
        return self.site.label in ("rogue", "not_pharmacy") and self.verdict == "legitimate"


def deciding_finding(report: Report, label: str) -> Finding | None:
    """The finding that most plausibly decided a verdict, for the miss list.

    Decisive findings first; a too-kind verdict is explained by the largest positive finding,
    a too-harsh one by the largest negative one; not_pharmacy by the scope finding.
    """
    findings = list(report.findings)
    decisive = [f for f in findings if f.decisive]
    if decisive:
        return decisive[0]
    if report.verdict == "not_pharmacy":
        return next((f for f in findings if f.id == "PC001"), None)
    kind = report.verdict == "legitimate" or (label == "rogue" and report.verdict == "suspicious")
    scored = [f for f in findings if (f.points > 0 if kind else f.points < 0)]
    if not scored:
        return None  # the verdict came from a threshold or gate: the report's reasons say which
    return max(scored, key=lambda f: (abs(f.points), f.id))


def ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def metrics(results: list[Result]) -> dict[str, Any]:
    by_label: dict[str, list[Result]] = {lab: [r for r in results if r.site.label == lab] for lab in LABELS}
    confusion: dict[str, dict[str, int]] = {}
    for lab, rows in by_label.items():
        counts = Counter(r.verdict for r in rows)
        confusion[lab] = {v: counts.get(v, 0) for v in sorted(set(VERDICTS) | set(counts), key=_vorder)}
    rogue, legit, np_ = by_label["rogue"], by_label["legit"], by_label["not_pharmacy"]
    misses = []
    for r in results:
        if r.accepted:
            continue
        f = deciding_finding(r.report, r.site.label)
        misses.append({
            "site": r.site.site_id, "host": r.site.host, "label": r.site.label, "verdict": r.verdict,
            "score": r.report.score, "false_trust": r.false_trust,
            "finding": None if f is None else {
                "id": f.id, "outcome": str(f.outcome), "points": f.points, "message": f.message,
                "url": f.evidence[0].url if f.evidence else "",
            },
            "reason": next(iter(r.report.errors or r.report.reasons[-1:]), None),
        })
    return {
        "sites": len(results),
        "confusion": confusion,
        "false_trust": sum(r.false_trust for r in results),
        "rogue_recall": ratio(sum(r.verdict == "rogue" for r in rogue), len(rogue)),
        "rogue_caught": ratio(sum(r.verdict in ("rogue", "suspicious") for r in rogue), len(rogue)),
        "legit_accept": ratio(sum(r.verdict == "legitimate" for r in legit), len(legit)),
        "np_acc": ratio(sum(r.verdict == "not_pharmacy" for r in np_), len(np_)),
        "accepted": ratio(sum(r.accepted for r in results), len(results)),
        "misses": misses,
        "results": [
            {"site": r.site.site_id, "input": r.site.target, "label": r.site.label, "verdict": r.verdict,
             "score": r.report.score, "accepted": r.accepted, "seconds": round(r.seconds, 3),
             "requests": r.requests}
            for r in results
        ],
    }


def _vorder(v: str) -> tuple[int, str]:
    return (VERDICTS.index(v) if v in VERDICTS else len(VERDICTS), v)


@contextlib.contextmanager
def temporary_cache() -> Iterator[Path]:
    """Point the lookup cache (``$PHARMCHECK_CACHE_DIR``) at a fresh folder, restored on exit.

    Process-wide (an environment variable): meant for the evaluation run, not for concurrent scans.
    """
    old = os.environ.get(ENV_DIR)
    with tempfile.TemporaryDirectory(prefix="pharmcheck-eval-cache-") as tmp:
        os.environ[ENV_DIR] = tmp
        try:
            yield Path(tmp)
        finally:
            if old is None:
                os.environ.pop(ENV_DIR, None)
            else:
                os.environ[ENV_DIR] = old


def run(corpus_dirs: list[Path], *, jobs: int = DEFAULT_JOBS, max_pages: int | None = None,
        notes: list[str] | None = None, lookups: bool = False) -> tuple[list[Result], float]:
    """Serve the corpora and scan every non-infra site; returns results in corpus order."""
    sites = load_corpus(*corpus_dirs)
    if not lookups:
        return _run(sites, jobs, max_pages, notes, lookups)
    with temporary_cache():
        return _run(sites, jobs, max_pages, notes, lookups)


def _run(sites: list[SiteSpec], jobs: int, max_pages: int | None, notes: list[str] | None,
         lookups: bool) -> tuple[list[Result], float]:
    scanned = [s for s in sites if s.label != "infra"]
    started = time.monotonic()
    with DemoProxy(sites) as proxy:
        if notes is not None:
            notes.extend(proxy.notes)
            if lookups:
                infra = sorted(h for s in sites if s.label == "infra" for h in s.hosts)
                served = ", ".join(infra) or "none"
                notes.append(f"lookups on: registry hosts served by the corpus: {served}; "
                             "every other host (RDAP included) answers 502")
        opts = scan_options(proxy, max_pages, lookups=lookups)

        def one(site: SiteSpec) -> Result:
            outcome = scan_sample(Sample(site.site_id, site.target, site.accept, site.label), opts)
            return Result(site, outcome.report, outcome.seconds)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(one, scanned))
        for r in results:
            r.requests = proxy.requests_for(r.site.site_id)
    return results, time.monotonic() - started


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.0f}%"


def render(m: dict[str, Any], wall: float, console: Console) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    verdicts = sorted({v for row in m["confusion"].values() for v, n in row.items() if n}
                      | {"legitimate", "suspicious", "rogue", "not_pharmacy"}, key=_vorder)
    table = Table(title="confusion matrix (label × verdict)", box=box.SIMPLE_HEAD)
    table.add_column("label \\ verdict")
    for v in verdicts:
        table.add_column(v, justify="right")
    table.add_column("total", justify="right")
    for lab, row in m["confusion"].items():
        cells = []
        for v in verdicts:
            n = row.get(v, 0)
            good = (lab, v) in (("legit", "legitimate"), ("rogue", "rogue"), ("not_pharmacy", "not_pharmacy"))
            bad = v == "legitimate" and lab != "legit"
            cells.append(Text(str(n), style=("green" if good else "bold red" if bad else "") if n else "dim"))
        table.add_row(lab, *cells, str(sum(row.values())))
    console.print(table)
    ft = m["false_trust"]
    console.print(Text(f"false trust (rogue/not_pharmacy called legitimate): {ft}",
                       style="bold red" if ft else "bold green"))
    console.print(f"rogue recall (verdict rogue): {_pct(m['rogue_recall'])}   "
                  f"rogue flagged (rogue or suspicious): {_pct(m['rogue_caught'])}", markup=False)
    console.print(f"legitimate accepted: {_pct(m['legit_accept'])}   "
                  f"not_pharmacy accuracy: {_pct(m['np_acc'])}   "
                  f"acceptable verdicts: {_pct(m['accepted'])}   sites: {m['sites']}   wall: {wall:.1f}s",
                  markup=False)
    if not m["misses"]:
        return
    misses = Table(title=f"misses ({len(m['misses'])})", box=box.SIMPLE_HEAD, expand=True)
    for col in ("site", "label", "verdict", "score"):
        misses.add_column(col, no_wrap=col != "site", justify="right" if col == "score" else "left")
    misses.add_column("deciding finding", ratio=1, min_width=30)
    for miss in m["misses"]:
        f = miss["finding"]
        why = Text()
        if miss["false_trust"]:
            why.append("FALSE TRUST ", style="bold red")
        if f:
            why.append(f"{f['id']} {f['outcome']} {f['points']:+d}: {f['message']}")
            if f["url"]:
                why.append("\n" + f["url"], style="dim")
        if miss["reason"] and (not f or r_gate(miss["reason"])):
            why.append(("\n" if f else "") + miss["reason"])
        score = "-" if miss["score"] is None else str(miss["score"])
        misses.add_row(miss["site"], miss["label"], miss["verdict"], score, why)
    console.print(misses)


def main_eval(corpus_dirs: list[Path], console: Console, *, as_json: bool = False, out: TextIO | None = None,
              jobs: int = DEFAULT_JOBS, max_pages: int | None = None, max_false_trust: int = 0,
              lookups: bool = False, extra_sinks: list[Sink] | None = None) -> int:
    """Evaluate on the corpora; print the matrix (or JSON to ``out``). Exit 1 if false trust > limit.

    ``extra_sinks`` (e.g. the HTML report of ``--report html=FILE``) receive every site's report.
    """
    notes: list[str] = []
    try:
        results, wall = run(corpus_dirs, jobs=jobs, max_pages=max_pages, notes=notes, lookups=lookups)
    except CorpusError as exc:
        console.print(f"error: {exc}", style="red", markup=False)
        return 2
    for note in notes:
        console.print(f"note: {note}", style="yellow", markup=False)
    if extra_sinks:
        from pharmcheck.reporters import RunInfo

        info = RunInfo(fail_on="never", counts=Counter(r.report.verdict for r in results), elapsed_s=wall)
        for sink in extra_sinks:
            for r in results:
                sink.write(r.report)
            sink.close(info)
    m = metrics(results)
    m["lookups"] = lookups
    m["wall_s"] = round(wall, 2)
    if as_json:
        (out or sys.stdout).write(json.dumps(m, ensure_ascii=False, indent=1) + "\n")
    else:
        render(m, wall, console)
    summary = (f"false_trust={m['false_trust']} rogue_recall={_fmt(m['rogue_recall'])} "
               f"rogue_caught={_fmt(m['rogue_caught'])} legit_accept={_fmt(m['legit_accept'])} "
               f"np_acc={_fmt(m['np_acc'])} accepted={_fmt(m['accepted'])} sites={m['sites']} "
               f"lookups={'on' if lookups else 'off'} wall={wall:.1f}s")
    console.print(summary, markup=False, highlight=False)
    return 1 if m["false_trust"] > max_false_trust else 0


def r_gate(reason: str) -> bool:
    return reason.startswith("not legitimate without")


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    parser = argparse.ArgumentParser(prog="python -m pharmcheck.evaluate",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("corpus", nargs="*", type=Path,
                        help="corpus folders (default: the bundled demo sites, and ./corpus when present)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON on stdout")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="sites scanned in parallel")
    parser.add_argument("--max-pages", type=int, default=None)
    parser.add_argument("--max-false-trust", type=int, default=0)
    parser.add_argument("--lookups", action="store_true",
                        help="registry lookups on, answered by the corpus's infra sites "
                             "(RDAP stays unreachable)")
    args = parser.parse_args(argv)
    dirs: list[Path] = list(args.corpus)
    if not dirs:
        from pharmcheck.demo import SITES_DIR

        dirs = [SITES_DIR] + ([Path("corpus")] if Path("corpus").is_dir() else [])
    console = Console(stderr=True) if args.json else Console()
    return main_eval(dirs, console, as_json=args.json, jobs=args.jobs, max_pages=args.max_pages,
                     max_false_trust=args.max_false_trust, lookups=args.lookups)


if __name__ == "__main__":
    sys.exit(main())
