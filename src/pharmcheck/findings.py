"""Findings: what one rule concluded, with the evidence that decided it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    INFO = "info"
    SKIP = "skip"
    ERROR = "error"


class Severity(StrEnum):
    CRITICAL = "critical"  # decisive: a failure makes the site rogue
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


EXCERPT_MAX = 240


@dataclass
class Evidence:
    url: str
    excerpt: str = ""

    def __post_init__(self) -> None:
        self.excerpt = " ".join(self.excerpt.split())
        if len(self.excerpt) > EXCERPT_MAX:
            self.excerpt = self.excerpt[: EXCERPT_MAX - 1] + "…"


@dataclass
class Finding:
    """One rule's conclusion. ``points`` is filled by scoring from the weight table."""

    id: str
    name: str
    outcome: Outcome
    message: str
    severity: Severity = Severity.INFO
    points: int = 0
    evidence: list[Evidence] = field(default_factory=list)
    decisive: bool = False  # set by scoring: this finding alone fixed the verdict
    data: dict[str, Any] = field(default_factory=dict)  # structured facts (country, number, …)
    # The named outcome (``licence-absent``, ``licence-verified`` …) that the score table in
    # ``rules/scoring.toml`` keys on; empty: ``<ID>.<outcome>`` (see :meth:`named`).
    result: str = ""

    @property
    def named(self) -> str:
        return self.result or f"{self.id}.{self.outcome}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "outcome": str(self.outcome),
            "severity": str(self.severity),
            "points": self.points,
            "decisive": self.decisive,
            "message": self.message,
            "evidence": [{"url": e.url, "excerpt": e.excerpt} for e in self.evidence],
            "data": self.data,
            "result": self.named,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(
            id=d["id"],
            name=d["name"],
            outcome=Outcome(d["outcome"]),
            message=d["message"],
            severity=Severity(d.get("severity", "info")),
            points=int(d.get("points", 0)),
            evidence=[Evidence(e["url"], e.get("excerpt", "")) for e in d.get("evidence", [])],
            decisive=bool(d.get("decisive", False)),
            data=dict(d.get("data", {})),
            result=str(d.get("result", "")),
        )
