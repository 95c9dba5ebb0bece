"""The verdict model: unreachable, role, the seller's decisive outcomes, thresholds and needs,
all read from named outcomes through the outcome table of rules/scoring.toml."""

from __future__ import annotations

from pharmcheck.findings import Finding, Outcome
from pharmcheck.knowledge import default_knowledge
from pharmcheck.scoring import decide, legitimate_needs, named_in
from pharmcheck.snapshot import Page, Snapshot


def _snap(reachable: bool = True) -> Snapshot:
    pages = [Page(url="https://x.example/", status=200, html="<p>x</p>")] if reachable else []
    return Snapshot(input="x.example", url="https://x.example/", pages=pages, errors=["refused"])


def _f(rule: str, outcome: Outcome, result: str = "", **data: object) -> Finding:
    return Finding(id=rule, name=rule, outcome=outcome, message="m", data=dict(data), result=result)


def _role(role: str = "seller", **data: object) -> Finding:
    return _f("PC003", Outcome.INFO, role=role, **data)


GOOD = [("PC201", Outcome.PASS, "address-found"), ("PC301", Outcome.PASS, "licence-wellformed"),
        ("PC401", Outcome.PASS, "prescription-required"), ("PC101", Outcome.PASS, ""),
        ("PC202", Outcome.PASS, "phone-found")]


def _good() -> list[Finding]:
    return [_role(), *(_f(r, o, n) for r, o, n in GOOD)]


def test_unreachable_is_not_a_grade() -> None:
    d = decide([], _snap(reachable=False), default_knowledge())
    assert (d.verdict, d.score) == ("unreachable", None)
    assert "refused" in d.reasons[0]


def test_decisive_outcome_of_a_seller_is_rogue_whatever_else() -> None:
    findings = [*_good(), _f("PC402", Outcome.FAIL, "rx-offered-without-prescription")]
    d = decide(findings, _snap(), default_knowledge())
    assert d.verdict == "rogue"
    assert findings[-1].decisive and findings[-1].points < 0
    assert d.reasons[0].startswith("role:")


def test_a_site_that_is_not_a_seller_is_not_pharmacy_and_says_its_role() -> None:
    for role in ("publisher", "forum", "prescriber", "shop", "other"):
        d = decide([_role(role), _f("PC201", Outcome.PASS, "address-found")], _snap(), default_knowledge())
        assert (d.verdict, d.score) == ("not_pharmacy", None)
        assert d.reasons[0].startswith("role:")


def test_reported_red_flags_are_listed_not_counted() -> None:
    reported = _f("PC402", Outcome.INFO, reported=True)
    d = decide([_role("publisher"), reported], _snap(), default_knowledge())
    assert d.verdict == "not_pharmacy"
    assert any("reported, not offered" in r for r in d.reasons)


def test_uncovered_language_is_not_enough_evidence_never_not_pharmacy() -> None:
    d = decide([_role("other", uncovered_language=True, languages=["pl"])], _snap(), default_knowledge())
    assert d.verdict == "suspicious"
    assert "not enough evidence" in " ".join(d.reasons)


def test_score_is_base_plus_points_and_needs_hold() -> None:
    kb = default_knowledge()
    findings = _good()
    findings[2] = _f("PC301", Outcome.WARN, "licence-number-absent")
    d = decide(findings, _snap(), kb)
    assert d.score == int(kb.scoring["base"]) + sum(f.points for f in findings)
    assert d.verdict == "suspicious"  # a licence is a need of legitimate
    findings[2] = _f("PC301", Outcome.PASS, "licence-wellformed")
    assert decide(findings, _snap(), kb).verdict == "legitimate"


def test_otc_only_online_meets_the_prescription_need() -> None:
    findings = _good()
    findings[3] = _f("PC401", Outcome.WARN, "prescription-not-offered")
    assert "prescription-not-offered" in legitimate_needs(default_knowledge())["prescription"]
    assert decide(findings, _snap(), default_knowledge()).verdict == "legitimate"


def test_missing_signals_alone_are_not_enough_evidence_not_rogue() -> None:
    kb = default_knowledge()
    absent = [_role(missing=["a physical address"]), _f("PC201", Outcome.FAIL, "address-absent"),
              _f("PC202", Outcome.FAIL, "phone-absent"), _f("PC301", Outcome.FAIL, "licence-absent"),
              _f("PC401", Outcome.FAIL, "prescription-not-required")]
    d = decide(absent, _snap(), kb)
    assert d.score is not None and d.score < int(kb.scoring["thresholds"]["suspicious"])
    assert d.verdict == "suspicious"
    assert "not enough evidence to judge: missing a physical address" in d.reasons[-1]
    # a malformed licence number is a weak negative, not the seller's own red flag
    absent[3] = _f("PC301", Outcome.FAIL, "licence-malformed")
    assert decide(absent, _snap(), kb).verdict == "suspicious"
    # a red flag found on the site (payment by crypto-currency) makes the same low score rogue
    absent.append(_f("PC530", Outcome.FAIL))
    assert decide(absent, _snap(), kb).verdict == "rogue"


def test_a_verified_registry_entry_is_not_made_rogue_by_weak_negatives() -> None:
    kb = default_knowledge()
    findings = [_role(), _f("PC310", Outcome.PASS, "licence-verified"), _f("PC101", Outcome.FAIL),
                _f("PC301", Outcome.FAIL, "licence-malformed"), _f("PC201", Outcome.FAIL, "address-absent"),
                _f("PC202", Outcome.FAIL, "phone-absent"), _f("PC601", Outcome.FAIL)]
    d = decide(findings, _snap(), kb)
    assert d.verdict == "suspicious"
    assert d.basis == "verified_credential"
    # a counterfeit credential still is decisive
    findings.append(_f("PC311", Outcome.FAIL, "credential-counterfeit"))
    assert decide(findings, _snap(), kb).verdict == "rogue"


def test_outcome_table_names_exist_in_the_weight_rows() -> None:
    kb = default_knowledge()
    weights = kb.scoring["weights"]
    named = {k for row in weights.values() if isinstance(row, dict) for k in row if "-" in k}
    for cls in ("decisive", "absence", "weak", "offer", "seller"):
        for name in named_in(kb, cls):
            assert name in named or "." in name, name
    for names in legitimate_needs(kb).values():
        assert names <= named
