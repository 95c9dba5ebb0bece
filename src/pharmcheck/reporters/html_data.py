"""Data for the HTML report: one compact record per site and a running summary of the batch.

Records are plain JSON-able dicts with short keys (the page script reads them); everything
from a scanned site stays text here, and the page puts it in the DOM with ``textContent``
only. :class:`Summary` keeps counts, never reports, so a 10,000-site batch costs little.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from pharmcheck.safety import clean_text
from pharmcheck.target import redact

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.report import Report

MAX_EVIDENCE = 3  # excerpts per finding kept in the page (the JSON report has them all)
MAX_REASONS = 4
MAX_PAGES = 40
MAX_CHANGES = 2000  # sites listed in "changes since baseline"
OUTCOME_ORDER = {"fail": 0, "warn": 1, "error": 2, "pass": 3, "info": 4, "skip": 5}
BAD_OUTCOMES = ("fail", "warn", "error")


def txt(value: object, max_len: int = 400) -> str:
    return clean_text("" if value is None else str(value), max_len)


def _url(value: object) -> str:
    return redact(txt(value, 600))


def _small(value: Any, depth: int = 0) -> Any:
    """A bounded copy of free-form data (``change``, cluster evidence): short strings, few items."""
    if depth > 3:
        return txt(value, 120)
    if isinstance(value, dict):
        return {txt(k, 60): _small(v, depth + 1) for k, v in list(value.items())[:20]}
    if isinstance(value, list | tuple):
        return [_small(v, depth + 1) for v in list(value)[:20]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return txt(value, 300)


def role_label(report: Report) -> str:
    role = report.role
    if not role:
        return ""
    for key in ("role", "kind", "name", "label"):
        if isinstance(role.get(key), str):
            return txt(role[key], 40)
    return ""


def key_reasons(report: Report) -> list[str]:
    """Up to three findings against the site, decisive first, as short ``ID message`` lines."""
    bad = [f for f in report.findings if f.decisive or str(f.outcome) in BAD_OUTCOMES]
    bad.sort(key=lambda f: (not f.decisive, OUTCOME_ORDER.get(str(f.outcome), 9), f.points, f.id))
    return [f"{txt(f.id, 20)} {txt(f.message, 90)}" for f in bad[:3]]


def row_record(report: Report) -> list[Any]:
    """The table row of one site: input, domain, verdict, score, role, key reasons,
    credentials verified, credentials found, domain age (days), final URL."""
    age = (report.domain or {}).get("age_days")
    return [
        txt(report.input, 300), txt(report.registered_domain, 200), txt(report.verdict, 20), report.score,
        role_label(report), key_reasons(report),
        sum(1 for c in report.credentials if c.get("status") == "verified"), len(report.credentials),
        age if isinstance(age, int) else None, _url(report.final_url or report.url),
    ]


def site_record(report: Report) -> dict[str, Any]:
    """The compact record the page reads for one site's detail."""
    findings = sorted(
        report.findings,
        key=lambda f: (not f.decisive, OUTCOME_ORDER.get(str(f.outcome), 9), f.points, f.id),
    )
    frows: list[list[Any]] = []
    for f in findings:
        outcome = str(f.outcome)
        ev = [[_url(e.url), txt(e.excerpt, 260)] for e in f.evidence[:MAX_EVIDENCE]]
        frows.append(
            [txt(f.id, 20), outcome, int(f.points), int(bool(f.decisive)), txt(f.message, 300), ev,
             max(0, len(f.evidence) - MAX_EVIDENCE), txt(f.severity, 12)]
        )
    creds = [
        [txt(c.get("kind"), 30), txt(c.get("registry_name") or c.get("registry"), 120),
         _url(c.get("url") or ""), txt(c.get("number"), 60), txt(c.get("status"), 20),
         txt(c.get("reason"), 200)]
        for c in report.credentials[:20]
    ]
    dom = report.domain or {}
    rec: dict[str, Any] = {
        "b": txt(report.basis, 30),
        "rs": [txt(r, 300) for r in report.reasons[:MAX_REASONS]],
        "F": frows,
        "P": [[_url(p.url), p.status, txt(p.kind, 20), txt(p.error, 160)] for p in report.pages[:MAX_PAGES]],
        "T": {k: txt(v, 200) for k, v in (report.tls or {}).items() if v not in (None, "")},
        "R": [_url(u) for u in report.redirect_chain[:10]],
        "C": creds,
        "ms": report.elapsed_ms,
    }
    if len(report.pages) > MAX_PAGES:
        rec["Pm"] = len(report.pages) - MAX_PAGES
    if dom:
        rec["dm"] = {k: txt(dom.get(k), 120) for k in ("status", "created", "registrar") if dom.get(k)}
    if report.errors:
        rec["E"] = [txt(e, 300) for e in report.errors[:5]]
    if report.suppressed:
        rec["sup"] = txt(report.suppressed, 200)
    if report.truncated:
        rec["tr"] = len(report.truncated)
    if report.change:
        rec["ch"] = change_record(report.change)
    return rec


def change_record(change: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of a ``change`` object (issue 13): status, direction, verdict from/to,
    score delta, summary and the items (severity, message); unknown shapes fall back to ``raw``."""
    verdict: dict[str, Any] = change["verdict"] if isinstance(change.get("verdict"), dict) else {}
    items = [
        [txt(i.get("severity"), 20), txt(i.get("message") or i.get("kind"), 300)]
        for i in (change.get("items") or [])[:20]
        if isinstance(i, dict)
    ]
    rec: dict[str, Any] = {
        "st": change_status(change),
        "dir": txt(change.get("direction"), 20),
        "reg": bool(change.get("regression")),
        "vf": txt(verdict.get("from"), 20),
        "vt": txt(verdict.get("to"), 20),
        "sd": change.get("score_delta") if isinstance(change.get("score_delta"), int) else None,
        "sum": txt(change.get("summary"), 600),
        "it": items,
    }
    known = {"status", "direction", "regression", "verdict", "score_delta", "summary", "items",
             "baseline_scanned_at", "state", "kind"}
    raw = {k: v for k, v in change.items() if k not in known}
    if raw:
        rec["raw"] = _small(raw)
    if change.get("baseline_scanned_at"):
        rec["at"] = txt(change.get("baseline_scanned_at"), 40)
    return rec


def change_status(change: dict[str, Any] | None) -> str:
    if not change:
        return ""
    for key in ("status", "state", "kind"):
        if isinstance(change.get(key), str):
            return txt(change[key], 30)
    return "changed"


class Summary:
    """Batch-wide figures, updated per report in O(1) memory per distinct value."""

    def __init__(self) -> None:
        self.sites = 0
        self.verdicts: Counter[str] = Counter()
        self.histogram = [0] * 10  # score buckets 0-9, 10-19 … 90-100
        self.failed_rules: Counter[str] = Counter()
        self.rule_names: dict[str, str] = {}
        self.languages: Counter[str] = Counter()
        self.jurisdictions: Counter[str] = Counter()
        self.countries: Counter[str] = Counter()
        self.algorithms: Counter[str] = Counter()
        self.versions: Counter[str] = Counter()
        self.elapsed_ms = 0
        self.changes: Counter[str] = Counter()
        self.changed: list[dict[str, Any]] = []
        self.first_scan = ""
        self.last_scan = ""

    def add(self, report: Report) -> None:
        self.sites += 1
        self.verdicts[report.verdict] += 1
        if report.score is not None:
            self.histogram[min(9, max(0, int(report.score)) // 10)] += 1
        self.elapsed_ms += max(0, int(report.elapsed_ms))
        if report.algorithm_version:
            self.algorithms[txt(report.algorithm_version, 40)] += 1
        self.versions[txt(report.pharmcheck_version, 40)] += 1
        if report.scanned_at:
            at = txt(report.scanned_at, 40)
            self.first_scan = min(self.first_scan or at, at)
            self.last_scan = max(self.last_scan, at)
        jur: set[str] = set()
        for f in report.findings:
            if str(f.outcome) == "fail" or f.decisive:
                self.failed_rules[f.id] += 1
                self.rule_names.setdefault(f.id, txt(f.name, 80))
            data = f.data or {}
            if f.id == "PC002":
                for lang in data.get("languages") or []:
                    self.languages[txt(lang, 12)] += 1
            elif f.id == "PC301":
                if data.get("jurisdiction"):
                    jur.add(txt(data["jurisdiction"], 12))
                for claim in data.get("claims") or []:
                    if isinstance(claim, dict) and claim.get("jurisdiction"):
                        jur.add(txt(claim["jurisdiction"], 12))
            elif f.id == "PC201" and str(f.outcome) == "pass" and data.get("country"):
                self.countries[txt(data["country"], 12)] += 1
        for j in jur:
            self.jurisdictions[j] += 1
        if report.change:
            status = change_status(report.change)
            self.changes[status] += 1
            if status not in ("unchanged", "") and len(self.changed) < MAX_CHANGES:
                row = {"i": txt(report.input, 300), "v": txt(report.verdict, 20)}
                self.changed.append(row | change_record(report.change))


def evidence_record(e: Any) -> list[Any]:
    """One piece of shared evidence (issue 14: kind, value, strength, sites, domains) as
    [strength, kind, value, sites, domains]; any other shape as its text in ``value``."""
    if not isinstance(e, dict):
        return ["", "", txt(e, 300), None, []]
    sites = e.get("sites") if isinstance(e.get("sites"), int) else None
    value = e.get("value") if "value" in e else {k: v for k, v in e.items() if k not in ("kind", "strength")}
    value_text = txt(value, 300) if not isinstance(value, dict | list) else json.dumps(_small(value))[:300]
    return [txt(e.get("strength"), 20), txt(e.get("kind"), 40), value_text, sites,
            [txt(d, 120) for d in (e.get("domains") or [])[:20]]]


def cluster_records(clusters: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Networks as given by the clusters command: id, members (input, domain, verdict), evidence."""
    out: list[dict[str, Any]] = []
    for c in clusters or []:
        if not isinstance(c, dict):
            continue
        members = [
            {"i": txt(m.get("input"), 300), "d": txt(m.get("domain"), 200), "v": txt(m.get("verdict"), 20)}
            for m in (c.get("members") or [])[:500]
            if isinstance(m, dict)
        ]
        out.append(
            {"id": txt(c.get("id"), 60), "m": members, "n": len(c.get("members") or []),
             "e": [evidence_record(e) for e in (c.get("evidence") or [])[:30]]}
        )
    return out
