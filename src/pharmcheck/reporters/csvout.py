"""CSV reporter: one row per site, written as each result arrives.

Every cell goes through :func:`pharmcheck.safety.csv_cell`, so text taken from a hostile
page or input line (``=HYPERLINK(…)``, ``@SUM(…)``) cannot run as a spreadsheet formula.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any, TextIO

from pharmcheck.reporters import top_findings
from pharmcheck.safety import csv_cell

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.report import Report
    from pharmcheck.reporters import RunInfo

COLUMNS = (
    "input",
    "url",
    "final_url",
    "registered_domain",
    "verdict",
    "score",
    "basis",
    "suppressed",
    "top_findings",
    "errors",
    "pages",
    "elapsed_ms",
    "algorithm_version",
    "change",
)


def _change_cell(change: dict[str, Any] | None) -> str:
    """``status`` (``status!`` for a regression) and what changed, for the ``change`` column."""
    if not change:
        return ""
    head = str(change.get("status", "")) + ("!" if change.get("regression") else "")
    return f"{head}: {change['summary']}" if change.get("status") == "changed" else head


class CsvSink:
    def __init__(self, stream: TextIO, header: bool = True) -> None:
        self.stream = stream
        self.writer = csv.writer(stream, lineterminator="\n")
        if header:
            self.writer.writerow(COLUMNS)

    def write(self, report: Report) -> None:
        d = report.to_dict()
        row = {
            **{k: d.get(k) for k in COLUMNS},
            "top_findings": " | ".join(top_findings(report, 5)),
            "errors": " | ".join(report.errors),
            "pages": len(report.pages),
            "change": _change_cell(report.change),
        }
        self.writer.writerow([csv_cell(row[k]) for k in COLUMNS])
        self.stream.flush()

    def close(self, info: RunInfo) -> None:
        self.stream.flush()
