"""Per-rule pass/fail cases as data (tests/cases/*.toml), run by one parametrised test.

Each ``[[case]]`` has ``name``, ``rule`` (an ID), ``expect`` (the outcome of that rule's
finding), optional ``data`` (a subset of the finding's data that must match), optional
``absent = true`` (no finding with that ID at all) and one or more ``[[case.page]]`` with
``html`` and optional ``url``/``kind``/``lang``. Optional ``[case.tls]`` sets snapshot TLS
fields (``[case.tls.cert]`` a CertInfo); optional ``[case.lookups]``, ``redirect_chain`` and
``fetched_at`` set those snapshot fields (facts of the lookups stage, as data). Cases run
through the real rule registry on a snapshot built from the pages; cases of rule ``PC003`` or
with ``stage = "role"`` also run the role stage (role decided, red flags attributed).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from pharmcheck.checks import run_checks
from pharmcheck.knowledge import default_knowledge
from pharmcheck.site import Site
from pharmcheck.snapshot import CertInfo, Page, Snapshot, TLSInfo
from pharmcheck.urls import registered_domain

CASES_DIR = Path(__file__).parent / "cases"


def _load() -> list[Any]:
    out = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        for i, case in enumerate(doc.get("case", [])):
            out.append(pytest.param(case, id=f"{path.stem}:{i}:{case.get('name', '')}"))
    return out


def build_snapshot(case: dict[str, Any]) -> Snapshot:
    pages = []
    for i, p in enumerate(case.get("page", [])):
        url = p.get("url", "https://www.example-pharmacy.com/" if i == 0 else f"https://www.example-pharmacy.com/p{i}")
        html = p["html"]
        if "lang" in p and "<html" not in html:
            html = f'<html lang="{p["lang"]}"><body>{html}</body></html>'
        kind = p.get("kind", "home" if i == 0 else "other")
        pages.append(Page(url=url, status=p.get("status", 200), kind=kind,
                          content_type="text/html", html=html, headers=p.get("headers", {})))
    first = pages[0].url if pages else "https://www.example-pharmacy.com/"
    tls_args = dict(case.get("tls", {"outcome": "verified"}))
    if isinstance(tls_args.get("cert"), dict):
        tls_args["cert"] = CertInfo(**tls_args["cert"])
    tls = TLSInfo(**tls_args)
    from urllib.parse import urlsplit

    host = urlsplit(first).hostname or ""
    return Snapshot(input=first, url=first, final_url=first, registered_domain=registered_domain(host),
                    start_registered_domain=registered_domain(host), pages=pages, tls=tls,
                    redirect_chain=case.get("redirect_chain", [first]), lookups=case.get("lookups", {}),
                    fetched_at=case.get("fetched_at", ""))


@pytest.mark.parametrize("case", _load())
def test_rule_case(case: dict[str, Any]) -> None:
    kb = default_knowledge()
    site = Site(build_snapshot(case), kb)
    findings = run_checks(site)
    if case["rule"] == "PC003" or case.get("stage") == "role":
        from pharmcheck import role

        decided = role.decide(site, findings)
        role.attribute(site, decided, findings)
        findings.append(role.finding(site, decided))
    mine = [f for f in findings if f.id == case["rule"]]
    errors = [f for f in findings if f.outcome == "error"]
    assert not errors, f"rule crashed: {[e.message for e in errors]}"
    if case.get("absent"):
        assert not mine, f"expected no {case['rule']} finding, got {[(f.outcome, f.message) for f in mine]}"
        return
    assert mine, f"no finding {case['rule']}; got {[(f.id, f.outcome) for f in findings]}"
    outcomes = [str(f.outcome) for f in mine]
    detail = "; ".join(f.message for f in mine)
    assert case["expect"] in outcomes, f"{case['rule']}: expected {case['expect']}, got {outcomes}: {detail}"
    want = case.get("data", {})
    if want:
        f = next(f for f in mine if str(f.outcome) == case["expect"])
        for k, v in want.items():
            assert f.data.get(k) == v, f"data[{k}] = {f.data.get(k)!r}, expected {v!r} ({f.message})"
