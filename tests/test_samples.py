"""Every bundled demo sample, scanned end to end through the demo proxy, gets its expected verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pharmcheck.demo import SITES_DIR, Sample, samples, scan_options, scan_sample
from pharmcheck.demo.corpus import load_corpus
from pharmcheck.demo.server import DemoProxy
from pharmcheck.options import ScanOptions

SITES = load_corpus(SITES_DIR)
SAMPLES = samples(SITES)


@pytest.fixture(scope="module")
def opts() -> Iterator[ScanOptions]:
    with DemoProxy(SITES) as proxy:
        yield scan_options(proxy)


def test_the_demo_covers_every_verdict() -> None:
    expected = {v for s in SAMPLES for v in s.expected}
    assert {"legitimate", "rogue", "not_pharmacy", "unreachable"} <= expected
    assert len(SAMPLES) >= 7


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_sample_verdict(sample: Sample, opts: ScanOptions) -> None:
    outcome = scan_sample(sample, opts)
    report = outcome.report
    why = "\n".join([*report.reasons, *report.errors,
                     *(f"{f.id} {f.outcome} {f.points:+d} {f.message}" for f in report.findings)])
    assert report.verdict in sample.expected, f"{sample.name}: got {report.verdict}\n{why}"
    if sample.label != "unreachable":
        assert report.pages, "the sample must be fetched through the proxy"
    # the JSON every sample prints is valid against the published schema
    import jsonschema

    schema = json.loads((Path(__file__).parents[1] / "schema" / "report.schema.json").read_text("utf-8"))
    jsonschema.validate(json.loads(json.dumps(report.to_dict())), schema)
    # every point of the score is one finding's points
    if report.score is not None:
        from pharmcheck.knowledge import default_knowledge

        base = int(default_knowledge().scoring["base"])
        assert report.score == max(0, min(100, base + sum(f.points for f in report.findings)))
        # a failure that found something shows it; only absences ("no address found") have no excerpt
        for f in report.findings:
            if f.outcome == "fail" and not f.message.lower().startswith("no "):
                assert f.evidence, f"{f.id} fails without evidence: {f.message}"
