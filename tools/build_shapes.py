"""Write ``src/pharmcheck/shapes.json``: the shapes of every pattern judging asks about.

Judges the built-in warm-up page and every snapshot under ``tests/snapshots`` with the built-in
rule pack, notes each (source, flags) whose shape is asked for (``pharmcheck.site.pattern_shape``)
and stores their readings (:func:`pharmcheck.shapetable.write`). Run it after changing a rule
pattern or ``anchors.py``; ``tests/test_shape_table.py`` says when it is due.

    PYTHONPATH=src python tools/build_shapes.py
"""

from __future__ import annotations

import gzip
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
    return asked


def main() -> None:
    from pharmcheck import shapetable

    count = shapetable.write(asked_patterns())
    print(f"{count} shapes -> {shapetable.TABLE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
