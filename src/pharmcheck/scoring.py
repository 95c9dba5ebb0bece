"""Score and verdict: read findings only, from the one weight table in ``rules/scoring.toml``.

Order of decisions (DESIGN §3, issue 9): unreachable → the site's role (PC003): a site that
is not a seller of medicines is not_pharmacy → the seller's own decisive outcome (rogue) →
score thresholds, where ``legitimate`` also needs every need of the outcome table met. The
verdict reads named outcomes (``Finding.named``) through ``[outcomes]`` in
``rules/scoring.toml``; every point of the score is the ``points`` of one finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pharmcheck.findings import Finding, Outcome
from pharmcheck.knowledge import Knowledge
from pharmcheck.snapshot import Snapshot

LEGITIMATE = "legitimate"
SUSPICIOUS = "suspicious"
ROGUE = "rogue"
NOT_PHARMACY = "not_pharmacy"
UNREACHABLE = "unreachable"
ERROR = "error"  # the scan itself failed (batch results only)
VERDICTS = (LEGITIMATE, SUSPICIOUS, ROGUE, NOT_PHARMACY, UNREACHABLE)

# How bad a verdict is, for --fail-on comparisons.
VERDICT_RANK = {LEGITIMATE: 0, NOT_PHARMACY: 0, SUSPICIOUS: 1, ROGUE: 2}


@dataclass
class Decision:
    verdict: str
    score: int | None
    reasons: list[str] = field(default_factory=list)
    basis: str = "page_signals"  # or "verified_credential"


def _weights(kb: Knowledge) -> dict[str, Any]:
    w = kb.scoring.get("weights", {})
    return w if isinstance(w, dict) else {}


def assign_points(findings: list[Finding], kb: Knowledge) -> None:
    """Points of each finding: its named outcome's entry in the weight row, else its outcome's."""
    weights = _weights(kb)
    for f in findings:
        row = weights.get(f.id, {})
        if not isinstance(row, dict):
            f.points = 0
            continue
        value: Any = row.get(f.result) if f.result else None
        f.points = int(value if value is not None else row.get(str(f.outcome), 0))


def outcome_table(kb: Knowledge) -> dict[str, Any]:
    table = kb.scoring.get("outcomes", {})
    return table if isinstance(table, dict) else {}


def named_in(kb: Knowledge, key: str) -> frozenset[str]:
    """The named outcomes of one class of the outcome table (``decisive``, ``absence`` …)."""
    value = outcome_table(kb).get(key, [])
    return frozenset(str(v) for v in value) if isinstance(value, list) else frozenset()


def legitimate_needs(kb: Knowledge) -> dict[str, frozenset[str]]:
    needs = outcome_table(kb).get("legitimate_needs", {})
    if not isinstance(needs, dict):
        return {}
    return {str(k): frozenset(str(x) for x in v) for k, v in needs.items() if isinstance(v, list)}


def rule_outcomes(kb: Knowledge, rule_id: str) -> set[str]:
    """Named outcomes a rule can give (its weight row's keys, and ``<ID>.<outcome>``)."""
    row = _weights(kb).get(rule_id, {})
    keys = set(row) if isinstance(row, dict) else set()
    return {k if "-" in k else f"{rule_id}.{k}" for k in keys} | {f"{rule_id}.{o}" for o in Outcome}


def _role_of(findings: list[Finding], kb: Knowledge) -> Finding | None:
    role_id = str(kb.scoring.get("role_rule", "PC003"))
    return next((f for f in findings if f.id == role_id), None)


def decide(findings: list[Finding], snapshot: Snapshot, kb: Knowledge) -> Decision:
    """The verdict, read from the role finding (PC003) and the outcome table."""
    assign_points(findings, kb)
    sc = kb.scoring
    if not snapshot.reachable:
        reason = snapshot.errors[0] if snapshot.errors else "no page could be fetched"
        return Decision(UNREACHABLE, None, [f"unreachable: {reason}"])

    base = int(sc.get("base", 50))
    total = max(0, min(100, base + sum(f.points for f in findings)))
    verified = any(f.named == "licence-verified" for f in findings)
    basis = "verified_credential" if verified else "page_signals"
    role_f = _role_of(findings, kb)
    role = str(role_f.data.get("role", "seller")) if role_f is not None else _legacy_role(findings, kb)
    role_reason = f"role: {role_f.message}" if role_f is not None else f"role: {role}"
    reported = [f for f in findings if f.data.get("reported")]
    decisive_names = named_in(kb, "decisive")
    decisive = [f for f in findings if f.named in decisive_names]

    if role != "seller":
        reasons = [role_reason]
        if reported:
            reasons.append("reported, not offered: "
                           + ", ".join(sorted({f"{f.id} {f.name}" for f in reported})))
        languages = role_f.data.get("languages", []) if role_f is not None else []
        if role_f is not None and role_f.data.get("uncovered_language"):
            reasons.append("not enough evidence to judge: the site's language ("
                           + ", ".join(languages) + ") is not covered by the rule pack, and no offer or "
                           "pharmacy identity that does not depend on language was found")
            return Decision(SUSPICIOUS, total, reasons, basis)
        return Decision(NOT_PHARMACY, None, reasons, basis)

    if decisive:
        for f in decisive:
            f.decisive = True
        return Decision(ROGUE, total,
                        [role_reason, *(f"{f.id} {f.name}: {f.message}" for f in decisive)], basis)

    thresholds = sc.get("thresholds", {})
    legit_at = int(thresholds.get("legitimate", 70))
    susp_at = int(thresholds.get("suspicious", 40))
    reasons = [role_reason, f"score {total} = base {base} "
               + " ".join(f"{f.points:+d} ({f.id})" for f in findings if f.points)]
    names = {f.named for f in findings}
    unmet = [need for need, ok in legitimate_needs(kb).items() if not names & ok]
    missing = [str(m) for m in (role_f.data.get("missing", []) if role_f is not None else [])]
    absence = named_in(kb, "absence")
    red_flags = [f for f in findings if f.outcome == Outcome.FAIL and f.points < 0 and f.named not in absence]
    if total >= legit_at and not unmet:
        return Decision(LEGITIMATE, total, reasons, basis)
    if total >= legit_at:
        reasons.append("not legitimate: no " + ", ".join(unmet) + " shown")
        return Decision(SUSPICIOUS, total, reasons, basis)
    if not red_flags or total >= susp_at:
        if not red_flags and missing:
            reasons.append("not enough evidence to judge: missing " + ", ".join(missing))
        elif not red_flags:
            reasons.append("low score from missing trust signals only, no red flag found: "
                           "suspicious, not rogue")
        return Decision(SUSPICIOUS, total, reasons, basis)
    weak = named_in(kb, "weak")
    if verified and all(f.named in weak or f.points > -30 for f in red_flags):
        reasons.append("a registry entry names this domain: its negatives ("
                       + ", ".join(sorted({f.named for f in red_flags}))
                       + ") lower the score but cannot make it rogue")
        return Decision(SUSPICIOUS, total, reasons, basis)
    if all(f.named in weak for f in red_flags):
        reasons.append("not enough evidence to judge: only weak negatives ("
                       + ", ".join(sorted({f.named for f in red_flags})) + ")"
                       + (", missing " + ", ".join(missing) if missing else ""))
        return Decision(SUSPICIOUS, total, reasons, basis)
    return Decision(ROGUE, total, reasons, basis)


def _legacy_role(findings: list[Finding], kb: Knowledge) -> str:
    """Without a role finding (a report from an older pack): the scope rule and the offer outcomes."""
    offers = named_in(kb, "offer")
    if any(f.id == "PC001" and f.data.get("pharmacy") is False for f in findings) and not any(
            f.named in offers for f in findings):
        return "other"
    return "seller"
