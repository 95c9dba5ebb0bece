"""JSON reporters: ``jsonl`` (one object per line, flushed per site) and ``json`` (one document).

``json`` is the report object when exactly one target was given on the command line,
and a JSON array of report objects otherwise (any ``-i`` input, several targets), so the
shape depends only on the command line, never on how many lines a file happened to have.
Only the previous object is held back (to place the separating comma), never the batch.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.report import Report
    from pharmcheck.reporters import RunInfo


def dumps(report: Report, indent: int | None = None) -> str:
    from pharmcheck.safety import json_safe

    return json_safe(json.dumps(report.to_dict(), ensure_ascii=False, indent=indent))


class JsonlSink:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, report: Report) -> None:
        self.stream.write(dumps(report) + "\n")
        self.stream.flush()

    def close(self, info: RunInfo) -> None:
        self.stream.flush()


class JsonSink:
    def __init__(self, stream: TextIO, single: bool = False) -> None:
        self.stream = stream
        self.single = single
        self.count = 0

    def write(self, report: Report) -> None:
        if self.single:
            if self.count == 0:
                self.stream.write(dumps(report, indent=2) + "\n")
        else:
            self.stream.write(("[\n" if self.count == 0 else ",\n") + dumps(report, indent=2))
        self.count += 1
        self.stream.flush()

    def close(self, info: RunInfo) -> None:
        if not self.single:
            self.stream.write("[]\n" if self.count == 0 else "\n]\n")
        elif self.count == 0:
            self.stream.write("null\n")
        self.stream.flush()
