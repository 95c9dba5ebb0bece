"""Markdown reporter, for ``$GITHUB_STEP_SUMMARY`` and pull-request comments.

A summary table per verdict, then one row per site. Page-derived text is escaped: HTML
special characters become entities and Markdown punctuation (pipes, brackets, emphasis,
backticks) is backslash-escaped, so a hostile page cannot break the table or inject
links or HTML. Only a small tuple per site is kept until the end.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from pharmcheck.reporters import VERDICT_ORDER, fails, top_findings
from pharmcheck.safety import clean_text

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.report import Report
    from pharmcheck.reporters import RunInfo

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
MAX_ROWS = 5000  # rows listed in full; the rest are counted


def md_escape(text: object, max_len: int = 300) -> str:
    s = clean_text("" if text is None else str(text), max_len)
    s = " ".join(s.split())
    # Markdown specials first, then HTML: escaping the other way round would turn the "#" of
    # an entity (&#x27;) into "\#" and show the entity as text (issue 11 #20).
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return html.escape(s, quote=False)


class Row(NamedTuple):
    input: str
    verdict: str
    score: int | None
    failing: bool
    suppressed: str | None
    note: str


def _change_lines(changes: Mapping[str, Any], listed: list[tuple[str, str, bool]]) -> list[str]:
    c = changes.get("counts", {})
    out = ["", "### Changes since the baseline", "",
           f"{c.get('new', 0)} new, {c.get('unchanged', 0)} unchanged, {c.get('changed', 0)} changed, "
           f"{c.get('gone', 0)} gone — regressions: {changes.get('regressions', 0)}", ""]
    gone = [g for g in changes.get("changes", []) if g.get("status") == "gone"]
    if listed or gone:
        out += ["| site | change | what changed |", "|---|---|---|"]
        for site, summary, regression in listed:
            out.append(f"| {md_escape(site)} | {'**regression**' if regression else 'changed'} "
                       f"| {md_escape(summary)} |")
        for g in gone[:MAX_ROWS]:
            out.append(f"| {md_escape(g.get('site'))} | gone | {md_escape(g.get('summary'))} |")
    return out


class MarkdownSink:
    def __init__(self, stream: TextIO, fail_on: str = "rogue") -> None:
        self.stream = stream
        self.fail_on = fail_on
        self.rows: list[Row] = []
        self.extra = 0
        self.changes: list[tuple[str, str, bool]] = []  # monitoring: (input, summary, regression)

    def write(self, report: Report) -> None:
        if len(self.rows) >= MAX_ROWS:
            self.extra += 1
            return
        change = report.change or {}
        if change.get("status") == "changed" and len(self.changes) < MAX_ROWS:
            self.changes.append((report.input[:300], str(change.get("summary", ""))[:300],
                                 bool(change.get("regression"))))
        top = top_findings(report, 1)
        note = report.errors[0] if report.errors and not report.ok else (top[0] if top else "")
        self.rows.append(
            Row(
                report.input[:300],
                report.verdict,
                report.score,
                fails(report.verdict, report.suppressed, self.fail_on),
                report.suppressed,
                note[:300],
            )
        )

    def _changes(self, changes: Mapping[str, Any]) -> list[str]:
        return _change_lines(changes, self.changes)

    def close(self, info: RunInfo) -> None:
        out = ["## pharmcheck results", ""]
        counts = dict(info.counts)
        total = sum(counts.values())
        out += ["| verdict | sites |", "|---|---:|"]
        for v in [*VERDICT_ORDER, *sorted(k for k in counts if k not in VERDICT_ORDER)]:
            if counts.get(v):
                out.append(f"| {md_escape(v)} | {counts[v]} |")
        out.append(f"| **total** | {total} |")
        failing = sum(r.failing for r in self.rows)
        out += [
            "",
            f"Fail on: `{self.fail_on}` — failing sites: {failing}"
            + (" (interrupted)" if info.interrupted else ""),
            "",
        ]
        if self.rows:
            out += ["| site | verdict | score | main finding |", "|---|---|---:|---|"]
            for r in self.rows:
                verdict = md_escape(r.verdict)
                if r.failing:
                    verdict = f"**{verdict}**"
                if r.suppressed:
                    verdict += f" (allowlisted: {md_escape(r.suppressed, 120)})"
                score = "" if r.score is None else str(r.score)
                out.append(f"| {md_escape(r.input)} | {verdict} | {score} | {md_escape(r.note)} |")
            if self.extra:
                out.append(f"\n… and {self.extra} more sites (see the machine-readable report).")
        if info.changes is not None:
            out += self._changes(info.changes)
        self.stream.write("\n".join(out) + "\n")
        self.stream.flush()
