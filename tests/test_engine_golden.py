"""The judging engine gives the same verdict, score and findings on saved snapshots.

The snapshots in ``tests/snapshots`` (demo samples and the own corpus, written by
``tools/save_snapshots.py``) and a few fault-suite and hostile pages built here are judged offline;
what each report says is compared with ``tests/golden/engine.json``. An engine change (parser,
matching, caps) must leave this file unchanged; a change of rules or weights regenerates it with
one command::

    PHARMCHECK_UPDATE_GOLDEN=1 python -m pytest -q tests/test_engine_golden.py
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from faultserver import GOOD_CONTACT, GOOD_HOME, GOOD_LEGAL, LEGACY_TEXT

from pharmcheck.api import scan_snapshot
from pharmcheck.knowledge import knowledge_with
from pharmcheck.report import Report
from pharmcheck.snapshot import Page, Snapshot

HERE = Path(__file__).parent
SNAPSHOTS = HERE / "snapshots"
GOLDEN = HERE / "golden" / "engine.json"


def _snap(name: str, bodies: list[tuple[str, str]]) -> Snapshot:
    base = f"https://www.{name}.example/"
    pages = [Page(url=base if i == 0 else f"{base}{kind}", status=200, kind=kind,
                  content_type="text/html", html=html) for i, (kind, html) in enumerate(bodies)]
    return Snapshot(input=base, url=base, final_url=base, registered_domain=f"{name}.example", pages=pages)


def built_cases() -> dict[str, Snapshot]:
    """Fault-suite pages and hostile shapes small enough to judge in a test."""
    good = [("home", GOOD_HOME), ("contact", GOOD_CONTACT), ("legal", GOOD_LEGAL)]
    legacy = (f'<html lang="de"><head><meta charset="windows-1252"></head><body><p>{LEGACY_TEXT}</p>'
              "</body></html>")
    deep = ("<html><body>" + "<div>" * 5000 + "<p>online pharmacy, buy now</p>" + "</div>" * 5000
            + "</body></html>")
    farm = "<html><body><h1>Pharmacy</h1>" + "".join(
        f'<a href="/farm/{i:06d}">contact page {i}</a>\n' for i in range(2000)) + "</body></html>"
    nested_inline = ("<html><body><p>" + "<b>" * 3000 + "no prescription needed" + "</b>" * 3000
                     + "</p></body></html>")
    return {
        "fault-good": _snap("fault-good", good),
        "fault-legacy-charset": _snap("fault-legacy", [("home", legacy)]),
        "hostile-deep-nesting": _snap("deep", [("home", deep)]),
        "hostile-link-farm": _snap("farm", [("home", farm)]),
        "hostile-nested-inline": _snap("inline", [("home", nested_inline)]),
        "empty-page": _snap("empty", [("home", "<html><body></body></html>")]),
    }


def all_cases() -> dict[str, Snapshot]:
    cases: dict[str, Snapshot] = {}
    for path in sorted(SNAPSHOTS.glob("*.json.gz")):
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        cases[path.name.removesuffix(".json.gz")] = Snapshot.from_json(text)
    cases.update(built_cases())
    return cases


def summary(report: Report) -> dict[str, Any]:
    return {
        "verdict": report.verdict,
        "score": report.score,
        "findings": [
            {"id": f.id, "outcome": str(f.outcome), "points": f.points, "message": f.message,
             "evidence": [[e.url, e.excerpt] for e in f.evidence]}
            for f in report.findings
        ],
    }


def test_engine_gives_same_verdict_score_and_findings_on_saved_snapshots() -> None:
    assert len(list(SNAPSHOTS.glob("*.json.gz"))) >= 40, "snapshots missing: run tools/save_snapshots.py"
    kb = knowledge_with(())
    got = {name: summary(scan_snapshot(snap, kb)) for name, snap in all_cases().items()}
    if os.environ.get("PHARMCHECK_UPDATE_GOLDEN") == "1":
        text = json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.exists(), f"no golden file {GOLDEN}; write it with PHARMCHECK_UPDATE_GOLDEN=1"
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(want), "set of judged snapshots changed"
    changed = [name for name in want if got[name] != want[name]]
    assert not changed, f"judging changed for {len(changed)} snapshot(s): {changed[:10]}"
