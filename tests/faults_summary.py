"""A table of time and peak memory per injected fault, printed in pytest's terminal summary.

The fault tests record one row per scan; the first record registers a small plugin whose
``pytest_terminal_summary`` hook prints the table (no ``-s`` needed) and writes it to
``fault-report.txt`` under pytest's base temporary directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Row:
    name: str
    verdict: str
    seconds: float
    peak_rss_mb: float
    note: str = ""
    fetch_s: float | None = None  # the snapshot's own elapsed time (the part under --deadline)
    judge_s: float | None = None  # parsing, rules, scoring


class FaultSummary:
    """The pytest plugin holding the rows; one instance per session."""

    def __init__(self, out_dir: Path) -> None:
        self.rows: list[Row] = []
        self.path = out_dir / "fault-report.txt"

    def render(self) -> str:
        head = (f"{'fault':<18} {'verdict':<13} {'wall s':>7} {'fetch s':>7} {'judge s':>7} "
                f"{'peak MB':>8}  note")
        lines = [head, "-" * len(head)]
        for r in sorted(self.rows, key=lambda r: r.name):
            note = " ".join(r.note.split())[:60]
            fetch = "" if r.fetch_s is None else f"{r.fetch_s:.2f}"
            judge = "" if r.judge_s is None else f"{r.judge_s:.2f}"
            lines.append(f"{r.name:<18} {r.verdict:<13} {r.seconds:>7.2f} {fetch:>7} {judge:>7} "
                         f"{r.peak_rss_mb:>8.1f}  {note}")
        return "\n".join(lines) + "\n"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.rows:
            return
        text = self.render()
        self.path.write_text(text, encoding="utf-8")
        terminalreporter.section("pharmcheck fault injection: time and peak RSS per fault")
        terminalreporter.write(text)
        terminalreporter.write_line(f"(written to {self.path})")


_NAME = "pharmcheck-fault-summary"


def summary(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> FaultSummary:
    plugin = config.pluginmanager.get_plugin(_NAME)
    if plugin is None:
        plugin = FaultSummary(tmp_path_factory.getbasetemp())
        config.pluginmanager.register(plugin, _NAME)
    assert isinstance(plugin, FaultSummary)
    return plugin
