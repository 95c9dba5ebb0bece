"""The verdict model: unreachable, decisive, scope (and what overrides it), thresholds and gates."""

from __future__ import annotations

from pharmcheck.findings import Finding, Outcome
from pharmcheck.knowledge import default_knowledge
from pharmcheck.scoring import decide
from pharmcheck.snapshot import Page, Snapshot


def _snap(reachable: bool = True) -> Snapshot:
    pages = [Page(url="https://x.example/", status=200, html="<p>x</p>")] if reachable else []
    return Snapshot(input="x.example", url="https://x.example/", pages=pages, errors=["refused"])


def _f(rule: str, outcome: Outcome, **data: object) -> Finding:
    return Finding(id=rule, name=rule, outcome=outcome, message="m", data=dict(data))


def test_unreachable_is_not_a_grade() -> None:
    d = decide([], _snap(reachable=False), default_knowledge())
    assert (d.verdict, d.score) == ("unreachable", None)
    assert "refused" in d.reasons[0]


def test_decisive_failure_is_rogue_whatever_else() -> None:
    findings = [_f("PC201", Outcome.PASS), _f("PC301", Outcome.PASS), _f("PC401", Outcome.PASS),
                _f("PC402", Outcome.FAIL)]
    d = decide(findings, _snap(), default_knowledge())
    assert d.verdict == "rogue"
    assert findings[-1].decisive and findings[-1].points < 0


def test_scope_sets_aside_a_non_pharmacy() -> None:
    d = decide([_f("PC001", Outcome.INFO, pharmacy=False)], _snap(), default_knowledge())
    assert (d.verdict, d.score) == ("not_pharmacy", None)


def test_selling_tells_override_scope() -> None:
    findings = [_f("PC001", Outcome.INFO, pharmacy=False), _f("PC510", Outcome.FAIL),
                _f("PC201", Outcome.FAIL)]
    d = decide(findings, _snap(), default_knowledge())
    assert d.verdict in ("rogue", "suspicious")
    assert "PC510" in d.reasons[0]


def test_score_is_base_plus_points_and_gates_hold() -> None:
    kb = default_knowledge()
    findings = [_f("PC201", Outcome.PASS), _f("PC401", Outcome.PASS), _f("PC101", Outcome.PASS),
                _f("PC202", Outcome.PASS), _f("PC301", Outcome.WARN)]
    d = decide(findings, _snap(), kb)
    assert d.score == int(kb.scoring["base"]) + sum(f.points for f in findings)
    assert d.verdict == "suspicious"  # PC301 is a gate for legitimate
    findings[-1] = _f("PC301", Outcome.PASS)
    d = decide(findings, _snap(), kb)
    assert d.verdict == "legitimate"


def test_missing_signals_alone_are_suspicious_not_rogue() -> None:
    kb = default_knowledge()
    absent = [_f("PC001", Outcome.INFO, pharmacy=True), _f("PC201", Outcome.FAIL), _f("PC202", Outcome.FAIL),
              _f("PC301", Outcome.FAIL, number="", authority=""), _f("PC401", Outcome.FAIL)]
    d = decide(absent, _snap(), kb)
    assert d.score is not None and d.score < int(kb.scoring["thresholds"]["suspicious"])
    assert d.verdict == "suspicious"
    # a red flag found on the site (a malformed licence number) makes the same low score rogue
    absent[3] = _f("PC301", Outcome.FAIL, number="12345", authority="GPhC")
    assert decide(absent, _snap(), kb).verdict == "rogue"
