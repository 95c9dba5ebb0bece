"""Pure parts of the lookups stage: RDAP parsing, bootstrap, look-alike hosts, registry entry facts."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck.knowledge import default_knowledge
from pharmcheck.lookups import rdap, registry

CFG = registry.config(default_knowledge())


def vcard(fn: str) -> list[object]:
    return ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", fn]]]


def test_bootstrap_longest_match_and_https_only() -> None:
    services = rdap.parse_bootstrap({"services": [
        [["uk"], ["http://insecure.example/uk/", "https://rdap.nominet.example/uk/"]],
        [["co.uk"], ["https://rdap.co-uk.example/"]],
        [["de"], ["http://only-http.example/"]],
        "garbage",
    ]})
    assert rdap.base_for("shop.co.uk", services) == "https://rdap.co-uk.example/"
    assert rdap.base_for("shop.uk", services) == "https://rdap.nominet.example/uk/"
    assert rdap.base_for("shop.de", services) is None  # no HTTPS base
    assert rdap.parse_bootstrap("nonsense") == {}


@pytest.mark.parametrize(
    ("entities", "extra", "redacted"),
    [
        ([], {}, True),  # no registrant entity at all
        ([{"roles": ["registrant"], "vcardArray": vcard("REDACTED FOR PRIVACY")}], {}, True),
        ([{"roles": ["registrant"], "vcardArray": vcard("Example Pharmacy Ltd"),
           "remarks": [{"title": "REDACTED FOR PRIVACY", "description": ["hidden"]}]}], {}, True),
        ([{"roles": ["registrant"], "vcardArray": vcard("Example Pharmacy Ltd")}],
         {"redacted": [{"name": {"type": "Registrant Name"}}]}, True),  # RFC 9537
        ([{"roles": ["registrant"], "vcardArray": vcard("Example Pharmacy Ltd")}], {}, False),
    ],
)
def test_registrant_redaction(
    entities: list[dict[str, object]], extra: dict[str, object], redacted: bool
) -> None:
    doc = {"objectClassName": "domain", "entities": [
        {"roles": ["registrar"], "vcardArray": vcard("Registrar Inc")}, *entities],
        "events": [{"eventAction": "registration", "eventDate": "2010-01-01T00:00:00Z"}], **extra}
    facts = rdap.parse_domain(doc, "example.com", "https://rdap.example/domain/example.com")
    assert facts["registrant_redacted"] is redacted
    assert facts["registrar"] == "Registrar Inc"
    assert facts["registration"] == "2010-01-01T00:00:00Z"
    assert (facts["registrant"] == "Example Pharmacy Ltd") is (not redacted)


def test_parse_domain_rejects_other_objects() -> None:
    assert rdap.parse_domain({"objectClassName": "entity"}, "x.com", "u")["status"] == "error"
    assert rdap.parse_domain([], "x.com", "u")["status"] == "error"


@pytest.mark.parametrize(
    ("host", "imitates"),
    [
        ("pharmacyregulation-org.com", "gphc"),
        ("legitscript.co", "legitscript"),
        ("www.legitscript.com.verify-seal.net", "legitscript"),
        ("legitscipt.com", "legitscript"),
        ("safe-pharmacy.net", "nabp"),
        ("cipa-verify.com", "cipa"),
        ("pharma-checker.org", "pharmacychecker"),
        ("www.pharmacyregulation.org", None),
        ("static.legitscript.com", None),
        ("safe.pharmacy", None),
        ("municipality.com", None),
        ("vipps.no", None),
        ("paypal.com", None),
        ("principal-pharmacy.co.uk", None),
    ],
)
def test_lookalike_hosts(host: str, imitates: str | None) -> None:
    found = CFG.lookalike(host)
    assert (found.id if found else None) == imitates


def test_entry_facts_declared_website_and_not_found_text() -> None:
    reg = CFG.by_id("gphc")
    assert reg is not None
    html = ("<h1>Register</h1><table><tr><td>Web address</td><td>https://www.Other-Chemist.co.uk/</td></tr>"
            "<tr><td>Email</td><td>info@other-chemist.co.uk</td></tr></table>"
            '<a href="https://www.gov.uk/">GOV.UK</a><a href="https://www.pharmacyregulation.org/x">home</a>'
            "<p>Version 1.2.3 - index.html</p>")
    facts = registry.parse_entry(html, "https://www.pharmacyregulation.org/registers/pharmacy/1", reg, CFG)
    assert facts["declared"] == ["other-chemist.co.uk"]
    assert facts["mentioned"] == ["other-chemist.co.uk"]
    assert facts["says_not_found"] is False
    empty = registry.parse_entry("<p>No results found for your search.</p>", "https://www.legitscript.com/w",
                                 reg, CFG)
    assert empty["says_not_found"] is True and empty["declared"] == []


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=3000))
def test_entry_parse_never_raises(text: str) -> None:
    reg = CFG.registries[0]
    registry.parse_entry(f"<p>{text}</p>", "https://www.pharmacyregulation.org/e", reg, CFG)


def test_hostile_entry_is_fast() -> None:
    reg = CFG.registries[0]
    html = "<p>" + ("a" * 200 + ".") * 2000 + " website " + "-" * 50_000 + "</p>"
    started = time.monotonic()
    registry.parse_entry(html, "https://www.pharmacyregulation.org/e", reg, CFG)
    assert time.monotonic() - started < 3.0


_HREF_PARTS = st.sampled_from(["/", "//", "\\", "..", ".", ":", "?", "#", "@", "a", "B", "x.y", "http",
                               "https", "mailto", "%2f", "&amp;", "&#9;", "\t", " ", "[", "]", "evil.example",
                               ";"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_HREF_PARTS, max_size=8).map("".join),
       st.sampled_from(["/", "/a/b/", "/shop/item?x=1", "/a/../b;p"]),
       st.sampled_from(["/", "/deep/er/page.html", "/q?y=2#f"]))
def test_href_host_depends_on_the_origin_only(href: str, path1: str, path2: str) -> None:
    # registry._may_link_to_registry remembers a raw href's host per origin of the page
    from pharmcheck import linkres

    for origin in ("https://shop.example", "http://Shop.Example:8080"):
        a = linkres.host_of(linkres.Base(origin + path1), href)
        b = linkres.host_of(linkres.Base(origin + path2), href)
        assert a == b


def test_registry_precheck_same_with_and_without_the_site_memo() -> None:
    from pharmcheck.site import ParsedPage
    from pharmcheck.snapshot import Page

    hrefs = ["/x", "page.html", "https://legitscript.com/websites/?checker_keywords=shop.example",
             "//legitscrlpt.com/x", "&#47;&#47;nabp.pharmacy/", "mailto:a@b", "#top", "http:///p"]
    for href in hrefs:
        got = []
        for memo in (None, {}):
            seen: dict[str, bool] = {}
            for path in ("/", "/a/b/c"):
                html = f'<html><body><a href="{href}">x</a></body></html>'
                snap_page = Page(url="https://shop.example" + path, status=200, html=html)
                page = ParsedPage(snap_page, "shop.example")
                got.append(registry._may_link_to_registry(page, CFG, {"shop.example"}, seen, memo))
        assert got[:2] == got[2:], href
