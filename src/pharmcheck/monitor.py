"""Monitoring in a batch: history, baseline comparison, ``--fail-on-change`` and ``--notify``.

:class:`MonitorSink` wraps the run's sinks. For each result, in the main thread and before
any sink sees it, it computes the result's ``change`` against the baseline (a report file
or the history), records the result in the history (one transaction; so every result that
reached an output file is in the history exactly once, even after ``kill -9``) and then
hands the report, with ``change`` filled, to the real sinks. At the end it works out the
sites of the baseline that this run did not see (``gone``) and passes a summary of the
changes to the sinks through :class:`~pharmcheck.reporters.RunInfo`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pharmcheck.changes import GONE, compare, facts_of, fails_on_change, site_key

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.history import History
    from pharmcheck.report import Report
    from pharmcheck.reporters import RunInfo, Sink

MAX_LISTED = 1000  # changes listed one by one in the summary / webhook; the rest are counted
NOTIFY_TIMEOUT_S = 10.0


@dataclass
class ChangeSummary:
    """What the run changed, for the stderr summary, Markdown, JUnit and the webhook."""

    counts: Counter[str] = field(default_factory=Counter)
    regressions: int = 0
    failing: int = 0  # changes matched by --fail-on-change
    listed: list[dict[str, Any]] = field(default_factory=list)  # changed and gone sites
    more: int = 0

    def add(self, site: str, change: dict[str, Any], failing: bool) -> None:
        self.counts[str(change["status"])] += 1
        self.regressions += bool(change.get("regression"))
        self.failing += failing
        if change["status"] in ("changed", GONE):
            if len(self.listed) < MAX_LISTED:
                self.listed.append(
                    {
                        "site": site,
                        "status": change["status"],
                        "regression": bool(change.get("regression")),
                        "direction": change.get("direction"),
                        "verdict": change.get("verdict"),
                        "score_delta": change.get("score_delta"),
                        "summary": change.get("summary", ""),
                        "kinds": sorted({str(i["kind"]) for i in change.get("items", [])}),
                    }
                )
            else:
                self.more += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": {k: self.counts.get(k, 0) for k in ("new", "unchanged", "changed", "gone")},
            "regressions": self.regressions,
            "failing": self.failing,
            "changes": self.listed,
            "more": self.more,
        }


class MonitorSink:
    def __init__(
        self,
        sinks: list[Sink],
        *,
        baseline: dict[str, dict[str, Any]] | None,
        history: History | None,
        baseline_from_history: bool = False,
        fail_on_change: str | None = None,
    ) -> None:
        self.sinks = sinks
        self.history = history
        self.fail_on_change = fail_on_change
        self.from_history = baseline_from_history and history is not None
        self.baseline = baseline
        if self.from_history and history is not None:
            self.baseline = history.baseline_facts()
        self.compare = self.baseline is not None
        self.seen: set[str] = set()
        self.summary = ChangeSummary()

    def write(self, report: Report) -> None:
        d = report.to_dict()
        facts = facts_of(d)
        site = facts["site"]
        if self.compare and self.baseline is not None:
            change = compare(self.baseline.get(site), facts)
            report.change = change
            if site not in self.seen:  # a duplicated input line is one site
                failing = not report.suppressed and fails_on_change(change, self.fail_on_change)
                self.summary.add(site, change, failing)  # an allowlisted site is never failed on
            self.seen.add(site)
        if self.history is not None:
            d["change"] = report.change
            self.history.record(d, facts)
        for sink in self.sinks:
            sink.write(report)

    def close(self, info: RunInfo) -> None:
        if self.compare and self.baseline is not None and not info.interrupted:
            for site, facts in self.baseline.items():
                if site not in self.seen:
                    self.summary.add(site, compare(facts, None), self.fail_on_change == "any")
        if self.compare:
            info = replace(info, changes=self.summary.to_dict())
        for sink in self.sinks:
            sink.close(info)
        if self.history is not None:
            self.history.close()


def notify(url: str, payload: dict[str, Any], timeout: float = NOTIFY_TIMEOUT_S) -> str | None:
    """POST the JSON summary to a webhook: one retry; returns an error message or None."""
    import urllib.error
    import urllib.request

    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    error = "not sent"
    for _attempt in range(2):
        req = urllib.request.Request(
            url, data=body, method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "pharmcheck-notify"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                if 200 <= resp.status < 300:
                    return None
                error = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            error = str(getattr(exc, "reason", exc))
    return error


def webhook_payload(summary: ChangeSummary, counts: dict[str, int], command: str) -> dict[str, Any]:
    from pharmcheck import __version__

    return {
        "tool": "pharmcheck",
        "version": __version__,
        "command": command,
        "verdicts": counts,
        **summary.to_dict(),
    }


def site_of(report: Report) -> str:
    return site_key({"input": report.input, "url": report.url})
