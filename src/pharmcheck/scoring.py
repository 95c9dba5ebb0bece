"""Score and verdict: read findings only, from the one weight table in ``rules/scoring.toml``.

Order of decisions (DESIGN §3): unreachable → decisive red flags (rogue) → scope
(not_pharmacy) → score thresholds, where ``legitimate`` also needs every gate rule to
pass. Every point of the score is the ``points`` of one finding.
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
    weights = _weights(kb)
    for f in findings:
        row = weights.get(f.id, {})
        value = row.get(str(f.outcome), 0) if isinstance(row, dict) else 0
        f.points = int(value)


def decide(findings: list[Finding], snapshot: Snapshot, kb: Knowledge) -> Decision:
    assign_points(findings, kb)
    sc = kb.scoring
    if not snapshot.reachable:
        reason = snapshot.errors[0] if snapshot.errors else "no page could be fetched"
        return Decision(UNREACHABLE, None, [f"unreachable: {reason}"])

    decisive_ids = set(sc.get("decisive", []))
    decisive = [f for f in findings if f.id in decisive_ids and f.outcome == Outcome.FAIL]
    base = int(sc.get("base", 50))
    total = max(0, min(100, base + sum(f.points for f in findings)))
    verified = any(f.outcome == Outcome.PASS and f.data.get("verified") for f in findings)
    basis = "verified_credential" if verified else "page_signals"
    if decisive:
        for f in decisive:
            f.decisive = True
        return Decision(ROGUE, total, [f"{f.id} {f.name}: {f.message}" for f in decisive], basis)

    scope_id = str(sc.get("scope_rule", "PC001"))
    # A shop's tells (bonus pills, a controlled drug on offer, crypto payment …) are signs of selling
    # medicines even where no cart or price list was found: such a site is judged, not set aside.
    selling_ids = set(sc.get("selling_signals", []))
    selling = [f for f in findings if f.id in selling_ids and f.outcome in (Outcome.FAIL, Outcome.WARN)]
    for f in findings:
        if f.id == scope_id and f.data.get("pharmacy") is False:
            if not selling:
                return Decision(NOT_PHARMACY, None, [f"{f.id} {f.name}: {f.message}"], basis)
            first_reason = (f"judged as a pharmacy although {f.id} found no shop: "
                            + ", ".join(f"{s.id} {s.name}" for s in selling[:4]))
            break
    else:
        first_reason = ""

    thresholds = sc.get("thresholds", {})
    legit_at = int(thresholds.get("legitimate", 70))
    susp_at = int(thresholds.get("suspicious", 40))
    reasons = [f"score {total} = base {base} "
               + " ".join(f"{f.points:+d} ({f.id})" for f in findings if f.points)]
    if first_reason:
        reasons.insert(0, first_reason)
    if total >= legit_at:
        gates = [str(g) for g in sc.get("legitimate_requires", [])]
        passed = {f.id for f in findings if f.outcome == Outcome.PASS}
        missing = [g for g in gates if g not in passed]
        if not missing:
            return Decision(LEGITIMATE, total, reasons, basis)
        reasons.append("not legitimate without a pass from " + ", ".join(
            f"{g} {kb.rule(g).name}" for g in missing))
        return Decision(SUSPICIOUS, total, reasons, basis)
    if total >= susp_at:
        return Decision(SUSPICIOUS, total, reasons, basis)
    # A low score made only of missing trust signals (no address, no licence number …) is not
    # evidence of wrongdoing: rogue needs at least one red flag that was found on the site.
    absence_ids = set(sc.get("absence_rules", []))
    red_flags = [f for f in findings if f.outcome == Outcome.FAIL and f.points < 0
                 and not (f.id in absence_ids and _is_absence(f))]
    if not red_flags:
        reasons.append("low score from missing trust signals only, no red flag found: suspicious, not rogue")
        return Decision(SUSPICIOUS, total, reasons, basis)
    return Decision(ROGUE, total, reasons, basis)


def _is_absence(f: Finding) -> bool:
    """A failure because something was not found (rather than found wrong, like a malformed number)."""
    return not f.data.get("number") and not f.data.get("authority") and not f.data.get("mailbox")


def limit_to_what_was_read(decision: Decision, truncated: list[dict[str, Any]], findings: list[Finding],
                           kb: Knowledge) -> Decision:
    """Post-step: a verdict on part of a site can be neither ``legitimate`` nor ``not_pharmacy``.

    When a cap (body bytes, markup, text window, pages per site, judging budget) cut what was
    judged, the unread part may hold what would make the site rogue (a padded page hides its offer
    behind 3 MB of comment). Such a site is ``suspicious`` at best, with the cut named in the reasons.
    """
    if not truncated or decision.verdict not in (LEGITIMATE, NOT_PHARMACY):
        return decision
    score = decision.score
    if score is None:
        base = int(kb.scoring.get("base", 50))
        score = max(0, min(100, base + sum(f.points for f in findings)))
    caps = sorted({str(t.get("cap", "cap")) for t in truncated})
    reason = (f"judged on part of the site ({', '.join(caps)} cut what was read): "
              f"{decision.verdict} is not given on a partial reading")
    return Decision(SUSPICIOUS, score, [reason, *decision.reasons], decision.basis)
