"""Reporters: sinks that receive each site's :class:`~pharmcheck.report.Report` as it finishes.

Every sink streams (jsonl/csv write a row per result) or keeps only small per-site
tuples (markdown, junit) or compressed records (html, ≈1.2 kB a site), never whole
reports, so a 10,000-site batch runs in flat memory. ``make_sink`` maps a format name
to its sink; ``fails`` is the one definition of "at or beyond --fail-on" shared by the
exit code and JUnit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.report import Report

# How bad a verdict is for --fail-on (mirrors scoring.VERDICT_RANK without importing scoring).
RANK = {"legitimate": 0, "not_pharmacy": 0, "suspicious": 1, "rogue": 2}
FAIL_AT = {"suspicious": 1, "rogue": 2}
NOT_SCANNED = ("unreachable", "error")
VERDICT_ORDER = ("legitimate", "suspicious", "rogue", "not_pharmacy", "unreachable", "error")


def fails(verdict: str, suppressed: str | None, fail_on: str) -> bool:
    """True when a verdict is at or beyond ``fail_on`` and the site is not allowlisted."""
    if suppressed or fail_on not in FAIL_AT:
        return False
    return RANK.get(verdict, -1) >= FAIL_AT[fail_on]


def top_findings(report: Report, n: int = 5) -> list[str]:
    """The findings that weigh most against the site, as short ``ID outcome points`` strings."""
    bad = [f for f in report.findings if str(f.outcome) in ("fail", "warn", "error") or f.decisive]
    bad.sort(key=lambda f: (not f.decisive, f.points, f.id))
    return [f"{f.id} {f.outcome} {f.points:+d}: {f.message}" for f in bad[:n]]


@dataclass
class RunInfo:
    """What a sink knows about the whole run when it closes."""

    fail_on: str = "rogue"
    counts: Mapping[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    interrupted: bool = False
    changes: Mapping[str, Any] | None = None  # monitoring: monitor.ChangeSummary.to_dict(), with a baseline


class Sink(Protocol):
    def write(self, report: Report) -> None: ...

    def close(self, info: RunInfo) -> None: ...


PIPED_WIDTH = 200  # text written to a file or pipe: one width for every command


def output_width(stream: object) -> int | None:
    """Terminal width on a terminal; PIPED_WIDTH when piped or written to a file."""
    isatty = getattr(stream, "isatty", None)
    try:
        return None if isatty is not None and isatty() else PIPED_WIDTH
    except (ValueError, OSError):
        return PIPED_WIDTH


def make_sink(
    fmt: str,
    stream: TextIO,
    *,
    fail_on: str,
    single: bool = False,
    color: bool = False,
    verbose: bool = False,
    title: str | None = None,
) -> Sink:
    """The sink for ``fmt`` writing to ``stream`` (the caller owns the stream)."""
    if fmt == "jsonl":
        from pharmcheck.reporters.jsonout import JsonlSink

        return JsonlSink(stream)
    if fmt == "json":
        from pharmcheck.reporters.jsonout import JsonSink

        return JsonSink(stream, single=single)
    if fmt == "csv":
        from pharmcheck.reporters.csvout import CsvSink

        return CsvSink(stream)
    if fmt == "markdown":
        from pharmcheck.reporters.markdown import MarkdownSink

        return MarkdownSink(stream, fail_on=fail_on)
    if fmt == "junit":
        from pharmcheck.reporters.junit import JunitSink

        return JunitSink(stream, fail_on=fail_on)
    if fmt == "html":
        from pharmcheck.reporters.html import DEFAULT_TITLE, HtmlSink

        return HtmlSink(stream, title=title or DEFAULT_TITLE, fail_on=fail_on)
    if fmt == "text":
        return TextSink(stream, color=color, verbose=verbose)
    raise ValueError(f"unknown format {fmt!r}")


class TextSink:
    """Human output through the rich renderer in ``reporters.text`` (or plain lines without it)."""

    def __init__(self, stream: TextIO, color: bool = False, verbose: bool = False) -> None:
        from rich.console import Console

        self.stream = stream
        self.verbose = verbose
        self.console = Console(
            file=stream,
            force_terminal=color or None,
            no_color=not color,
            highlight=False,
            soft_wrap=False,
            width=output_width(stream),
        )

    def write(self, report: Report) -> None:
        try:
            from pharmcheck.reporters.text import render_report
        except ImportError:  # pragma: no cover - the text renderer ships with the package
            self.stream.write(f"{report.input}\t{report.verdict}\t{report.score}\n")
        else:
            render_report(report, self.console, verbose=self.verbose)
        self.stream.flush()

    def close(self, info: RunInfo) -> None:
        self.stream.flush()
