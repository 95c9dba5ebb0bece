"""Change detection between two reports (pure), report files as baselines, and ``pharmcheck diff``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from pharmcheck.changes import compare, facts_of, fails_on_change, load_baseline
from pharmcheck.cli import app


def report(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "input": "shop.example",
        "url": "https://shop.example/",
        "final_url": "https://shop.example/",
        "registered_domain": "shop.example",
        "verdict": "legitimate",
        "score": 90,
        "scanned_at": "2026-03-01T12:00:00Z",
        "algorithm_version": "7",
        "redirect_chain": ["https://shop.example/"],
        "findings": [
            {"id": "PC201", "outcome": "pass", "decisive": False, "evidence": [{"url": "u", "excerpt": "a"}],
             "data": {"address": "1 High Street, Leeds, LS1 1AA"}},
            {"id": "PC251", "outcome": "pass", "decisive": False, "evidence": [],
             "data": {"names": ["shop ltd"]}},
            {"id": "PC402", "outcome": "pass", "decisive": False, "evidence": [], "data": {}},
            {"id": "PC605", "outcome": "pass", "decisive": False, "evidence": [], "data": {}},
        ],
        "credentials": [{"kind": "seal_link", "registry": "gphc", "url": "https://reg.example/1",
                         "status": "verified"}],
        "domain": {"status": "ok", "created": "2009-05-01", "registrar": "Good Registrar"},
        "tls": {"outcome": "verified", "cert": {"subject_cn": "shop.example", "subject_org": "Shop Ltd",
                                                "issuer_org": "CA One"}},
        "pages": [{"url": "https://shop.example/", "status": 200, "kind": "home", "text_hash": "aaaa"}],
    }
    base.update(over)
    return base


def finding(rep: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(f for f in rep["findings"] if f["id"] == rid)


def kinds(change: dict[str, Any]) -> set[str]:
    return {i["kind"] for i in change["items"]}


def test_same_report_is_unchanged() -> None:
    c = compare(facts_of(report()), facts_of(report()))
    assert c["status"] == "unchanged" and not c["regression"] and c["items"] == []
    assert not fails_on_change(c, "any") and not fails_on_change(c, "worse")


def test_new_and_gone() -> None:
    assert compare(None, facts_of(report()))["status"] == "new"
    gone = compare(facts_of(report()), None)
    assert gone["status"] == "gone" and gone["verdict"] == {"from": "legitimate", "to": None}
    assert fails_on_change(gone, "any") and not fails_on_change(gone, "worse")


def test_verdict_worse_with_a_decisive_finding() -> None:
    new = report(verdict="rogue", score=20)
    f = finding(new, "PC402")
    f.update(outcome="fail", decisive=True)
    c = compare(facts_of(report()), facts_of(new))
    assert c["status"] == "changed" and c["direction"] == "worse" and c["regression"]
    assert c["score_delta"] == -70
    assert {"verdict", "score", "finding_appeared"} <= kinds(c)
    appeared = next(i for i in c["items"] if i["kind"] == "finding_appeared")
    assert appeared["severity"] == "alert" and "PC402" in appeared["message"]
    assert "legitimate → rogue (worse)" in c["summary"]
    assert fails_on_change(c, "worse")


def test_better_verdict_is_not_a_regression() -> None:
    c = compare(facts_of(report(verdict="suspicious", score=60)), facts_of(report()))
    assert c["direction"] == "better" and not c["regression"] and c["status"] == "changed"


def test_takeover_signals() -> None:
    new = report(domain={"status": "ok", "created": "2026-02-10", "registrar": "Cheap Names Inc"})
    c = compare(facts_of(report()), facts_of(new))
    assert {"domain_reregistered", "registrar_changed"} <= kinds(c)
    assert c["regression"] and "possible takeover" in c["summary"]
    # an RDAP lookup that failed this time is not a re-registration
    c2 = compare(facts_of(report()), facts_of(report(domain={"status": "unreachable"})))
    assert c2["status"] == "unchanged"


def test_credential_lost_and_counterfeit() -> None:
    lost = report(credentials=[{"kind": "seal_link", "registry": "gphc", "url": "https://reg.example/1",
                                "status": "unverified"}])
    c = compare(facts_of(report()), facts_of(lost))
    assert kinds(c) == {"credential_lost"} and c["regression"]
    fake = copy.deepcopy(lost)
    fake["credentials"][0]["status"] = "counterfeit"
    assert "credential_counterfeit" in kinds(compare(facts_of(report()), facts_of(fake)))


def test_cert_operator_redirect_checkout_and_content() -> None:
    new = report(
        registered_domain="other-shop.example",
        final_url="https://other-shop.example/",
        tls={"outcome": "verified",
             "cert": {"subject_cn": "x", "subject_org": "Other Org", "issuer_org": "CA One"}},
        pages=[{"url": "https://other-shop.example/", "status": 200, "kind": "home", "text_hash": "bbbb"}],
    )
    finding(new, "PC201")["data"]["address"] = "9 Far Road, Lagos"
    finding(new, "PC251")["data"]["names"] = ["cheap meds"]
    finding(new, "PC605")["outcome"] = "fail"
    c = compare(facts_of(report()), facts_of(new))
    assert {"cert_org_changed", "redirect_new", "operator_name_changed", "operator_address_changed",
            "finding_appeared", "content_changed"} <= kinds(c)
    sev = {i["kind"]: i["severity"] for i in c["items"]}
    assert sev["cert_org_changed"] == sev["redirect_new"] == sev["finding_appeared"] == "alert"
    assert sev["content_changed"] == "notice"
    assert any("checkout moved off the site" in i["message"] for i in c["items"])


def test_content_change_alone_is_a_notice() -> None:
    new = report(pages=[{"url": "https://shop.example/", "status": 200, "kind": "home", "text_hash": "cccc"}])
    c = compare(facts_of(report()), facts_of(new))
    assert c["status"] == "changed" and not c["regression"] and kinds(c) == {"content_changed"}
    assert fails_on_change(c, "any") and not fails_on_change(c, "worse")


def test_unreachable_is_compared_on_the_verdict_only() -> None:
    down = report(verdict="unreachable", score=None, findings=[], credentials=[], pages=[])
    c = compare(facts_of(report()), facts_of(down))
    assert kinds(c) == {"verdict"} and c["direction"] == "unknown" and not c["regression"]


def write_jsonl(path: Path, reports: list[dict[str, Any]], torn: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in reports)
    path.write_text(text + ('{"input": "cut' if torn else ""), encoding="utf-8")
    return path


def test_baseline_file_forms(tmp_path: Path) -> None:
    a, b = report(), report(input="b.example")
    torn = write_jsonl(tmp_path / "x.jsonl", [a, b], torn=True)
    assert set(load_baseline(torn)) == {"shop.example", "b.example"}
    (tmp_path / "one.json").write_text(json.dumps(a, indent=1), encoding="utf-8")
    assert set(load_baseline(tmp_path / "one.json")) == {"shop.example"}
    (tmp_path / "arr.json").write_text(json.dumps([a, b], indent=1), encoding="utf-8")
    assert len(load_baseline(tmp_path / "arr.json")) == 2
    (tmp_path / "junk.txt").write_text("not json\n", encoding="utf-8")
    assert load_baseline(tmp_path / "junk.txt") == {}


def test_diff_command(tmp_path: Path) -> None:
    worse = report(verdict="rogue", score=10)
    old = write_jsonl(tmp_path / "old.jsonl", [report(), report(input="same.example"),
                                               report(input="gone.example")])
    new = write_jsonl(tmp_path / "new.jsonl",
                      [worse, report(input="same.example"), report(input="new.example")])
    runner = CliRunner()
    r = runner.invoke(app, ["diff", str(old), str(new), "-f", "json"])
    assert r.exit_code == 0, r.output
    rows = {row["site"]: row for row in json.loads(r.stdout)}
    assert {k: v["status"] for k, v in rows.items()} == {
        "shop.example": "changed", "same.example": "unchanged", "new.example": "new", "gone.example": "gone"}
    assert rows["shop.example"]["regression"] is True
    r = runner.invoke(app, ["diff", str(old), str(new), "--fail-on-change", "worse"])
    assert r.exit_code == 1
    assert "shop.example" in r.stdout and "gone.example" in r.stdout and "same.example" not in r.stdout
    r = runner.invoke(app, ["diff", str(old), str(old), "--fail-on-change", "any"])
    assert r.exit_code == 0
    r = runner.invoke(app, ["diff", str(old), str(tmp_path / "missing.jsonl")])
    assert r.exit_code == 2 and "not found" in r.stderr
