"""Write ``src/pharmcheck/shapes.json``: the shapes of every pattern judging may ask about.

Judges the built-in warm-up page and every snapshot under ``tests/snapshots`` with the built-in
rule pack, notes each (source, flags) whose shape is asked for (``pharmcheck.site.pattern_shape``),
adds every pattern the rule modules compiled from the pack, and stores their readings
(:func:`pharmcheck.shapetable.write`). Run it after changing a rule
pattern or ``anchors.py``; ``tests/test_shape_table.py`` says when it is due.

    PYTHONPATH=src python tools/build_shapes.py
"""

from __future__ import annotations

import dataclasses
import gzip
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def asked_patterns() -> set[tuple[str, int]]:
    """Every (source, flags) judging the warm-up page and the saved test snapshots reads."""
    from pharmcheck import site
    from pharmcheck.api import scan_snapshot
    from pharmcheck.knowledge import knowledge_with
    from pharmcheck.snapshot import Snapshot

    asked: set[tuple[str, int]] = set()
    reader = site._shape_of

    def noting(source: str, flags: int):  # type: ignore[no-untyped-def]
        asked.add((source, flags))
        return reader(source, flags)

    site._shape_of = noting  # type: ignore[assignment]
    try:
        import pharmcheck.warmup  # noqa: F401  (judges the built-in warm-up page)

        kb = knowledge_with(())
        for path in sorted((ROOT / "tests" / "snapshots").glob("*.json.gz")):
            scan_snapshot(Snapshot.from_json(gzip.decompress(path.read_bytes()).decode("utf-8")), kb)
    finally:
        site._shape_of = reader  # type: ignore[assignment]
    from pharmcheck.checks import textmatch

    for _kb, value in list(textmatch._CACHE.values()):  # every pattern the rule modules compiled
        asked |= {(p.pattern, p.flags) for p in _patterns_in(value)}
    return asked


def _patterns_in(value: object, depth: int = 0) -> list[re.Pattern[str]]:
    """The ``re`` patterns held by a rule module's compiled data (dataclasses, dicts, sequences)."""
    if isinstance(value, re.Pattern):
        return [value] if isinstance(value.pattern, str) else []
    if depth > 6:
        return []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items: list[object] = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        return []
    return [p for item in items for p in _patterns_in(item, depth + 1)]


def main() -> None:
    from pharmcheck import shapetable

    count = shapetable.write(asked_patterns())
    print(f"{count} shapes -> {shapetable.TABLE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
