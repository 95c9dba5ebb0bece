"""Reporters: CSV formula injection, JUnit validity (junitparser), Markdown escaping, JSON shapes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import junitparser
import pytest

from pharmcheck.findings import Evidence, Finding, Outcome, Severity
from pharmcheck.report import Report, error_report
from pharmcheck.reporters import RunInfo, fails, make_sink
from pharmcheck.reporters.markdown import md_escape

HOSTILE = '=cmd|" /C calc"!A0'


def _report(
    input_text: str = "shop.example",
    verdict: str = "rogue",
    score: int | None = 10,
    message: str = "no prescription asked",
) -> Report:
    f = Finding(
        "PC402",
        "prescription.rx_only_without_rx",
        Outcome.FAIL,
        message,
        Severity.CRITICAL,
        points=-100,
        evidence=[Evidence("https://shop.example/", "buy without prescription")],
        decisive=True,
    )
    return Report(
        input=input_text,
        url="https://shop.example/",
        final_url="https://shop.example/",
        verdict=verdict,
        score=score,
        findings=[f],
        reasons=["PC402: " + message],
    )


def _run(fmt: str, reports: list[Report], fail_on: str = "rogue", single: bool = False) -> str:
    buf = io.StringIO()
    sink = make_sink(fmt, buf, fail_on=fail_on, single=single)
    counts: dict[str, int] = {}
    for r in reports:
        sink.write(r)
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    sink.close(RunInfo(fail_on=fail_on, counts=counts, elapsed_s=1.0))
    return buf.getvalue()


def test_csv_neutralises_formulas_in_every_cell() -> None:
    reports = [
        _report(HOSTILE, message="@SUM(1+1)"),
        error_report("+33 1 23", "-bad"),
        _report("shop.example"),
    ]
    rows = list(csv.reader(io.StringIO(_run("csv", reports))))
    assert rows[0][0] == "input"
    assert len(rows) == 4
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    assert rows[1][0] == "'" + HOSTILE
    assert rows[2][0] == "'+33 1 23"
    assert "PC402" in rows[1][rows[0].index("top_findings")]


def test_junit_parses_and_marks_failures() -> None:
    reports = [
        _report("bad.example", "rogue", message='<script>alert("x")</script> & \x1b[31m\x00'),
        _report("ok.example", "legitimate", 90),
        error_report("down.example", "connection refused", verdict="unreachable"),
        _report(HOSTILE, "suspicious", 50),
    ]
    allowed = _report("mine.example", "rogue")
    allowed.suppressed = "our own staging site"
    xml = _run("junit", [*reports, allowed], fail_on="suspicious")
    suite = next(iter(junitparser.JUnitXml.fromstring(xml.encode("utf-8"))))
    cases = {c.name: c for c in suite}
    assert len(cases) == 5
    assert suite.tests == 5
    assert isinstance(cases["bad.example"].result[0], junitparser.Failure)
    assert "alert" in cases["bad.example"].result[0].text
    assert cases["ok.example"].is_passed
    assert isinstance(cases["down.example"].result[0], junitparser.Error)
    assert isinstance(cases[HOSTILE].result[0], junitparser.Failure)
    assert isinstance(cases["mine.example"].result[0], junitparser.Skipped)
    assert "\x1b" not in xml and "\x00" not in xml


def test_junit_fail_on_never_has_no_failures() -> None:
    xml = _run("junit", [_report()], fail_on="never")
    suite = next(iter(junitparser.JUnitXml.fromstring(xml.encode("utf-8"))))
    assert next(iter(suite)).is_passed


def test_markdown_escapes_pipes_html_and_links() -> None:
    hostile = "evil|site <img src=x onerror=alert(1)> [click](javascript:alert(1))\n| row |"
    md = _run(
        "markdown", [_report(hostile, message="a|b <b>bold</b>"), _report("ok.example", "legitimate", 88)]
    )
    assert "<img" not in md and "<b>" not in md
    assert "](javascript" not in md
    site_rows = [line for line in md.splitlines() if "evil" in line]
    assert len(site_rows) == 1
    # every unescaped pipe is a column separator: 4 columns -> 5 separators
    row = site_rows[0].replace("\\|", "")
    assert row.count("|") == 5
    assert "| rogue | 1 |" in md and "| legitimate | 1 |" in md
    assert md_escape("a_b*c`d") == "a\\_b\\*c\\`d"


def test_json_single_object_and_array() -> None:
    one = json.loads(_run("json", [_report()], single=True))
    assert isinstance(one, dict) and one["verdict"] == "rogue"
    many = json.loads(_run("json", [_report("a.example"), _report("b.example")]))
    assert [r["input"] for r in many] == ["a.example", "b.example"]
    assert json.loads(_run("json", [])) == []


def test_jsonl_one_object_per_line() -> None:
    out = _run("jsonl", [_report("a.example"), error_report("b", "bad target: x")])
    lines = out.splitlines()
    assert len(lines) == 2
    assert [json.loads(x)["input"] for x in lines] == ["a.example", "b"]
    assert json.loads(lines[1])["verdict"] == "error"


def test_report_validates_against_schema() -> None:
    import jsonschema

    schema_path = Path(__file__).parents[1] / "schema" / "report.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    for r in (_report(), error_report("x", "bad target: y")):
        jsonschema.validate(json.loads(_run("json", [r], single=True)), schema)


@pytest.mark.parametrize(
    ("verdict", "suppressed", "fail_on", "expected"),
    [
        ("rogue", None, "rogue", True),
        ("suspicious", None, "rogue", False),
        ("suspicious", None, "suspicious", True),
        ("rogue", None, "suspicious", True),
        ("rogue", "ours", "suspicious", False),
        ("legitimate", None, "suspicious", False),
        ("not_pharmacy", None, "suspicious", False),
        ("unreachable", None, "suspicious", False),
        ("rogue", None, "never", False),
    ],
)
def test_fails(verdict: str, suppressed: str | None, fail_on: str, expected: bool) -> None:
    assert fails(verdict, suppressed, fail_on) is expected
