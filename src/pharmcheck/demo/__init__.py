"""``pharmcheck demo``: scan the bundled sample sites, offline, through a local proxy.

The samples (``sites/``, farm format) are served by :class:`~pharmcheck.demo.server.DemoProxy`
under reserved ``.test`` host names with certificates from the bundled demo CA, and scanned
through the normal library API with the proxy and CA passed in :class:`ScanOptions`. Nothing
leaves the machine: every other host gets ``502`` from the proxy, and lookups are off.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pharmcheck.demo.corpus import SiteSpec, load_corpus
from pharmcheck.demo.server import DemoProxy
from pharmcheck.options import ScanOptions

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from pharmcheck.report import Report
    from pharmcheck.reporters import Sink

SITES_DIR = Path(__file__).resolve().parent / "sites"
# A sample the proxy refuses (no site folder serves it): shows the ``unreachable`` verdict.
UNREACHABLE_HOST = "www.closed-down-chemist.test"


@dataclass
class Sample:
    name: str
    target: str
    expected: list[str]
    label: str


@dataclass
class Outcome:
    sample: Sample
    report: Report
    seconds: float

    @property
    def ok(self) -> bool:
        return self.report.verdict in self.sample.expected


LABEL_ORDER = {"legit": 0, "rogue": 1, "not_pharmacy": 2}


def samples(sites: list[SiteSpec]) -> list[Sample]:
    """The samples in a readable order: legitimate first, then rogue, then the rest."""
    ordered = sorted((s for s in sites if s.label != "infra"),
                     key=lambda s: (LABEL_ORDER.get(s.label, 3), s.site_id))
    out = [Sample(s.site_id, s.target, s.accept, s.label) for s in ordered]
    out.append(Sample("unreachable-closed-down-chemist", UNREACHABLE_HOST, ["unreachable"], "unreachable"))
    return out


def scan_options(proxy: DemoProxy, max_pages: int | None = None, *, lookups: bool = False) -> ScanOptions:
    """Options for scanning through the demo proxy, private addresses allowed (it is on 127.0.0.1).

    Lookups are off unless asked for: registry hosts the proxy does not serve would only answer 502.
    With ``lookups`` they go through the same proxy and CA, so a corpus can serve stand-in registry
    entries as ``infra`` sites; the caller must point the lookup cache at a temporary folder
    (:func:`pharmcheck.evaluate.temporary_cache`) so stand-ins never reach the user's cache.
    """
    opts = ScanOptions(proxy=proxy.url, ca_bundle=proxy.ca_file, offline=not lookups, allow_private=True)
    if max_pages is not None:
        opts.max_pages = max_pages
    return opts


def scan_sample(sample: Sample, opts: ScanOptions) -> Outcome:
    from pharmcheck.api import scan
    from pharmcheck.report import error_report

    started = time.monotonic()
    try:
        report = scan(sample.target, opts)
    except Exception as exc:
        report = error_report(sample.target, f"scan failed: {type(exc).__name__}: {exc}")
    return Outcome(sample, report, time.monotonic() - started)


def _render(report: Report, console: Console, verbose: bool) -> None:
    try:
        from pharmcheck.reporters.text import render_report
    except ImportError:  # pragma: no cover - the text reporter is part of the package
        console.print(f"{report.input}: {report.verdict} (score {report.score})", markup=False)
        return
    render_report(report, console, verbose=verbose)


def summary_table(outcomes: list[Outcome], console: Console) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from pharmcheck.reporters.text import VERDICT_STYLE

    table = Table(title="pharmcheck demo: bundled samples", box=box.SIMPLE_HEAD)
    for col in ("sample", "expected", "verdict", "score", "time", ""):
        table.add_column(col, justify="right" if col in ("score", "time") else "left")
    for o in outcomes:
        v = o.report.verdict
        table.add_row(o.sample.name, " | ".join(o.sample.expected), Text(v, style=VERDICT_STYLE.get(v, "")),
                      "-" if o.report.score is None else str(o.report.score), f"{o.seconds:.2f}s",
                      Text("ok", style="green") if o.ok else Text("MISS", style="bold red"))
    console.print(table)


def main_demo(console: Console, fmt: str = "text", *, max_pages: int | None = None, verbose: bool = False,
              out: TextIO | None = None, sites_dir: Path | None = None,
              extra_sinks: list[Sink] | None = None) -> int:
    """Serve and scan every bundled sample; 0 when each got its expected verdict, else 1.

    ``fmt`` "text" prints each report with the text reporter on ``console``; any other format
    name is handed to the reporter sinks (json, jsonl, csv, markdown, junit) writing to ``out``
    (default stdout), and only the summary table goes to ``console``. ``extra_sinks`` (e.g. the
    HTML report of ``--report html=FILE``) receive every report too and are closed at the end.
    """
    sites = load_corpus(sites_dir or SITES_DIR)
    sink = None
    if fmt != "text":
        from pharmcheck.reporters import make_sink

        sink = make_sink(fmt, out or sys.stdout, fail_on="never", title="pharmcheck demo")
    extras = list(extra_sinks or [])
    outcomes: list[Outcome] = []
    started = time.monotonic()
    with DemoProxy(sites) as proxy:
        for note in proxy.notes:
            console.print(f"note: {note}", style="yellow", markup=False)
        opts = scan_options(proxy, max_pages)
        for sample in samples(sites):
            outcome = scan_sample(sample, opts)
            outcomes.append(outcome)
            for extra in extras:
                extra.write(outcome.report)
            if sink is not None:
                sink.write(outcome.report)
            else:
                console.rule(f"{sample.name}  (expected: {' | '.join(sample.expected)})", style="dim")
                _render(outcome.report, console, verbose)
    if sink is not None or extras:
        from collections import Counter

        from pharmcheck.reporters import RunInfo

        counts = Counter(o.report.verdict for o in outcomes)
        info = RunInfo(fail_on="never", counts=counts, elapsed_s=time.monotonic() - started)
        for closing in [*([sink] if sink is not None else []), *extras]:
            closing.close(info)
    summary_table(outcomes, console)
    missed = [o for o in outcomes if not o.ok]
    if missed:
        console.print(f"{len(missed)} of {len(outcomes)} samples did not get their expected verdict: "
                      + ", ".join(o.sample.name for o in missed), style="bold red", markup=False)
        return 1
    console.print(f"all {len(outcomes)} samples got their expected verdict", style="green")
    return 0


__all__ = ["SITES_DIR", "Outcome", "Sample", "main_demo", "samples", "scan_options", "scan_sample"]
