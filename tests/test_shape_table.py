"""The stored pattern readings (``src/pharmcheck/shapes.json``) are exact, current and used.

The table only saves start-up time: a stored shape must equal a fresh reading of its pattern, the
table must carry the reader's current stamp (else it is ignored), judging the saved snapshots must
not need a pattern the table lacks, and a damaged table must change nothing but the cost.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from pharmcheck import anchors, shapetable, site
from pharmcheck.api import scan_snapshot
from pharmcheck.knowledge import knowledge_with
from pharmcheck.snapshot import Snapshot

ROOT = Path(__file__).resolve().parent.parent
REBUILD = "stale: run `PYTHONPATH=src python tools/build_shapes.py` and commit src/pharmcheck/shapes.json"


def _table() -> dict[str, object]:
    data: dict[str, object] = json.loads(shapetable.TABLE.read_text(encoding="utf-8"))
    return data


def test_table_carries_the_current_reader_stamp() -> None:
    assert _table()["stamp"] == shapetable.stamp(), REBUILD


def test_every_stored_shape_equals_a_fresh_reading() -> None:
    rows = _table()["shapes"]
    assert isinstance(rows, list) and len(rows) > 100
    for source, flags, stored in rows:
        assert shapetable.decode(stored) == anchors.shape(source, flags), source[:80]


def test_encoding_round_trips_every_kind_of_reading() -> None:
    for source, flags in [(r"(?i)\bpharmacy\s+(?:licence|license)\b", re.I), (r"\d{5}\s+[A-Z]\w+", 0),
                          (r"(?:abc|\d{7})x", 0), (r"(a+)+$", 0), ("(?x) a b", re.X), (r"^(?:ab|cd)\n", 0)]:
        got = anchors.shape(source, flags)
        assert shapetable.decode(json.loads(json.dumps(shapetable.encode(got)))) == got


def test_judging_the_saved_snapshots_needs_no_pattern_the_table_lacks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    missed: list[str] = []
    read = anchors.shape

    def reading(source: str, flags: int) -> anchors.Shape | None:
        missed.append(source[:80])
        return read(source, flags)

    monkeypatch.setattr(anchors, "shape", reading)
    monkeypatch.setattr(site, "_shape_of", shapetable.shape)  # no per-process memo: every ask is seen
    kb = knowledge_with(())
    for path in sorted((ROOT / "tests" / "snapshots").glob("*.json.gz"))[:12]:
        scan_snapshot(Snapshot.from_json(gzip.decompress(path.read_bytes()).decode("utf-8")), kb)
    assert not missed, f"{len(missed)} patterns not in the table ({missed[0]!r}…); {REBUILD}"


@pytest.mark.parametrize("body", ["", "{", "[]", '{"stamp": "other", "shapes": []}', "x" * 100])
def test_a_damaged_or_foreign_table_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              body: str) -> None:
    bad = tmp_path / "shapes.json"
    bad.write_text(body, encoding="utf-8")
    monkeypatch.setattr(shapetable, "TABLE", bad)
    shapetable._stored.cache_clear()
    try:
        assert shapetable._stored() == {}
        assert shapetable.shape(r"\bpharmacy\b", 0) == anchors.shape(r"\bpharmacy\b", 0)
    finally:
        shapetable._stored.cache_clear()


def test_a_damaged_entry_is_read_afresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "shapes.json"
    source = r"\bpharmacy\b"
    table.write_text(json.dumps({"stamp": shapetable.stamp(), "shapes": [[source, 0, {"digit": "x"}]]}),
                     encoding="utf-8")
    monkeypatch.setattr(shapetable, "TABLE", table)
    shapetable._stored.cache_clear()
    try:
        assert shapetable.shape(source, 0) == anchors.shape(source, 0)
    finally:
        shapetable._stored.cache_clear()


def test_the_builder_writes_a_table_the_reader_accepts(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "shapes.json"
    count = shapetable.write({(r"\bpharmacy\b", 0), (r"(?i)licen[cs]e\s+\d{4,}", re.I)}, out)
    assert count == 2
    monkeypatch.setattr(shapetable, "TABLE", out)
    shapetable._stored.cache_clear()
    try:
        assert len(shapetable._stored()) == 2
    finally:
        shapetable._stored.cache_clear()
