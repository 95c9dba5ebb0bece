"""Golden JSON report for one bundled sample (volatile fields masked).

Regenerate after an intended change of rules or weights::

    PHARMCHECK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_samples_golden.py

Fields that depend on the day the test runs (``days_to_expiry`` of the demo certificate, timings,
the scan time) are masked, so the test holds on any day. A missing golden file is a failure, never
written silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pharmcheck.demo import SITES_DIR, samples, scan_options, scan_sample
from pharmcheck.demo.corpus import load_corpus
from pharmcheck.demo.server import DemoProxy

GOLDEN = Path(__file__).parent / "golden"
SITE = "uk-riverside-pharmacy"
VOLATILE = ("elapsed_ms", "scanned_at", "pharmcheck_version", "days_to_expiry")


def masked(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: ("<masked>" if k in VOLATILE else masked(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [masked(v) for v in obj]
    return obj


def test_golden_report() -> None:
    sites = load_corpus(SITES_DIR)
    sample = next(s for s in samples(sites) if s.name == SITE)
    with DemoProxy(sites) as proxy:
        report = scan_sample(sample, scan_options(proxy)).report
    got = masked(report.to_dict())
    path = GOLDEN / f"{SITE}.json"
    if os.environ.get("PHARMCHECK_UPDATE_GOLDEN") == "1":
        text = json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; write it with PHARMCHECK_UPDATE_GOLDEN=1"
    want = json.loads(path.read_text(encoding="utf-8"))
    assert got == want, "report changed; if intended, rerun with PHARMCHECK_UPDATE_GOLDEN=1"
