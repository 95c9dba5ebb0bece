"""JUnit XML reporter: one testcase per site, for CI systems that display test results.

A site whose verdict is at or beyond ``--fail-on`` is a ``<failure>`` carrying its main
findings; a site that could not be scanned is an ``<error>``; an allowlisted site that
would have failed is ``<skipped>`` with the reason. ElementTree escapes the text, and
characters XML 1.0 forbids are removed first. Only small per-site tuples are kept.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, NamedTuple, TextIO

from pharmcheck.reporters import NOT_SCANNED, fails, top_findings
from pharmcheck.safety import clean_text

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.report import Report
    from pharmcheck.reporters import RunInfo

_XML_BAD = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: object, max_len: int = 2000) -> str:
    return _XML_BAD.sub("\ufffd", clean_text("" if text is None else str(text), max_len))


class Case(NamedTuple):
    name: str
    verdict: str
    kind: str  # "", "failure", "error", "skipped"
    message: str
    detail: str
    seconds: float


class JunitSink:
    def __init__(self, stream: TextIO, fail_on: str = "rogue") -> None:
        self.stream = stream
        self.fail_on = fail_on
        self.cases: list[Case] = []

    def write(self, report: Report) -> None:
        head = f"{report.verdict}" + (f" (score {report.score})" if report.score is not None else "")
        lines = top_findings(report, 8)
        kind = ""
        message = head
        if report.verdict in NOT_SCANNED:
            kind = "error"
            message = f"{report.verdict}: {report.errors[0] if report.errors else 'not scanned'}"
            lines = list(report.errors[:8])
        elif fails(report.verdict, None, self.fail_on):
            kind = "skipped" if report.suppressed else "failure"
            if report.suppressed:
                message = f"allowlisted ({report.suppressed}): {head}"
        change = report.change or {}
        if change.get("status") == "changed":
            lines = [f"change{' (regression)' if change.get('regression') else ''}: {change.get('summary')}",
                     *lines]
        detail = "\n".join([f"url: {report.final_url or report.url}", *report.reasons[:3], *lines])
        self.cases.append(
            Case(
                xml_text(report.input, 500),
                report.verdict,
                kind,
                xml_text(message, 500),
                xml_text(detail, 4000),
                report.elapsed_ms / 1000,
            )
        )

    def close(self, info: RunInfo) -> None:
        for gone in (info.changes or {}).get("changes", []):  # monitoring: sites no longer scanned
            if gone.get("status") == "gone":
                self.cases.append(Case(xml_text(gone.get("site"), 500), "gone", "skipped",
                                       xml_text(gone.get("summary"), 500), "", 0.0))
        failures = sum(c.kind == "failure" for c in self.cases)
        errors = sum(c.kind == "error" for c in self.cases)
        skipped = sum(c.kind == "skipped" for c in self.cases)
        suites = ET.Element("testsuites")
        suite = ET.SubElement(
            suites,
            "testsuite",
            {
                "name": "pharmcheck",
                "tests": str(len(self.cases)),
                "failures": str(failures),
                "errors": str(errors),
                "skipped": str(skipped),
                "time": f"{info.elapsed_s:.3f}",
            },
        )
        for c in self.cases:
            case = ET.SubElement(
                suite,
                "testcase",
                {"classname": f"pharmcheck.{c.verdict}", "name": c.name, "time": f"{c.seconds:.3f}"},
            )
            if c.kind:
                el = ET.SubElement(case, c.kind, {"message": c.message})
                if c.kind != "skipped":
                    el.set("type", c.verdict)
                    el.text = c.detail
            else:
                out = ET.SubElement(case, "system-out")
                out.text = c.detail
        ET.indent(suites)
        self.stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.stream.write(ET.tostring(suites, encoding="unicode") + "\n")
        self.stream.flush()
