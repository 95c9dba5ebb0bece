"""Reading a previous JSONL output for ``--resume``: keep every valid line, skip and report bad ones.

A blank line, a torn line (a crash mid-write) or a line that is not a report can sit anywhere
in the file, not only at the end (an editor, a concatenation, two crashes). Every valid line
is kept; only the bad ones are dropped. When there are bad lines the file is rewritten
in place with the valid ones, so
the lines appended next start on a fresh line. Lines are read with a bounded length.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pharmcheck.reporters import fails

MAX_LINE = 64 * 1024 * 1024  # a report line longer than this is not one of ours


@dataclass
class Previous:
    done: Counter[str] = field(default_factory=Counter)  # input -> results already written
    counts: Counter[str] = field(default_factory=Counter)  # verdict -> count
    failing: int = 0
    bad_lines: list[int] = field(default_factory=list)  # 1-based line numbers skipped


def _lines(path: Path) -> Iterator[tuple[bytes, bool]]:
    """``(line, too_long)`` for each line, reading at most MAX_LINE bytes of any line."""
    with path.open("rb") as fh:
        while True:
            raw = fh.readline(MAX_LINE + 1)
            if not raw:
                return
            if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                while True:  # skip the rest of an over-long line
                    more = fh.readline(MAX_LINE)
                    if not more or more.endswith(b"\n"):
                        break
                yield b"", True
                continue
            yield raw, False


def _parse(raw: bytes) -> dict[str, Any] | None:
    if not raw.endswith(b"\n") or not raw.strip():
        return None
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(obj, dict) or "input" not in obj or "verdict" not in obj:
        return None
    return obj


def read_previous(path: Path, fail_on: str) -> Previous:
    """What ``path`` already holds; bad lines are dropped from the file and listed in ``bad_lines``."""
    prev = Previous()
    if not path.exists():
        return prev
    for n, (raw, too_long) in enumerate(_lines(path), 1):
        obj = None if too_long else _parse(raw)
        if obj is None:
            prev.bad_lines.append(n)
            continue
        prev.done[str(obj["input"])] += 1
        prev.counts[str(obj["verdict"])] += 1
        prev.failing += fails(str(obj["verdict"]), obj.get("suppressed"), fail_on)
    if prev.bad_lines:
        _rewrite_valid(path)
    return prev


def _rewrite_valid(path: Path) -> None:
    """Compact the file in place (same inode, so the output lock stays valid): valid lines are
    copied down over the bad ones, then the file is cut. Writing never overtakes reading. A
    crash half-way can duplicate lines, never lose one."""
    with path.open("r+b") as out:
        for raw, too_long in _lines(path):
            if not too_long and _parse(raw) is not None:
                out.write(raw)
        out.truncate()
        out.flush()
        os.fsync(out.fileno())


def iter_reports(path: Path) -> Iterator[Any]:
    """Every report in a (cleaned) JSONL file, for reports rewritten over all results on resume."""
    from pharmcheck.report import Report

    if not path.exists():
        return
    for raw, too_long in _lines(path):
        obj = None if too_long else _parse(raw)
        if obj is not None:
            try:
                yield Report.from_dict(obj)
            except (KeyError, TypeError, ValueError):
                continue
