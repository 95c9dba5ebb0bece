"""PC201/PC202 beyond the case table: rule-pack hygiene, hostile input, and the work bound."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck.checks import registered
from pharmcheck.knowledge import default_knowledge
from pharmcheck.site import Site
from pharmcheck.snapshot import Page, Snapshot

registered()  # register all rule modules in their declared order before importing one directly
from pharmcheck.checks import address  # noqa: E402

FOOTER = (
    "<footer><p>Example Pharmacy Ltd</p><p>14 Victoria Street</p><p>London SW1A 1AA</p>"
    "<p>Tel: 020 7946 0958</p></footer>"
)


def _site(pages: list[tuple[str, str, str]], domain: str = "example-pharmacy.co.uk") -> Site:
    snap_pages = [
        Page(url=url, status=200, kind=kind, content_type="text/html", html=html) for url, kind, html in pages
    ]
    first = snap_pages[0].url
    snap = Snapshot(input=first, url=first, final_url=first, registered_domain=domain,
                    start_registered_domain=domain, pages=snap_pages)
    return Site(snap, default_knowledge())


def test_every_format_and_pattern_has_a_source() -> None:
    data = default_knowledge().family("address")
    for fmt in data["format"]:
        assert fmt["source"].startswith("https://"), fmt["country"]
        assert fmt["street"], fmt["country"]
        assert set(fmt["street"]) <= set(data["street_style"]), fmt["country"]
    for name, style in data["street_style"].items():
        assert style["source"].startswith("https://"), name
    for box in data["mailbox"]:
        assert box["source"].startswith("https://"), box["kind"]
        assert box["kind"] in address.MAILBOX_LABEL


def test_compiled_once_per_knowledge() -> None:
    kb = default_knowledge()
    assert address.compiled(kb) is address.compiled(kb)


def test_findings_carry_url_and_excerpt() -> None:
    site = _site([("https://www.example-pharmacy.co.uk/", "home", f"<p>Welcome</p>{FOOTER}")])
    f201 = next(iter(address.physical_address(site)))
    f202 = next(iter(address.phone(site)))
    for f in (f201, f202):
        assert f.outcome == "pass"
        assert f.evidence and f.evidence[0].url.startswith("https://") and f.evidence[0].excerpt
    assert "SW1A 1AA" in f201.evidence[0].excerpt
    assert f202.data["numbers"] == [{"e164": "+442079460958", "country": "GB"}]


def test_twelve_page_site_is_fast() -> None:
    products = "".join(
        f"<div><h3>Product {i} 500 mg</h3><p>30 tablets ${i}.99 - SKU 40{i:04d}12 - since 2019</p></div>"
        for i in range(300)
    )
    nav = "<nav>" + '<a href="/x">Link</a>' * 100 + "</nav>"
    base = "https://www.example-pharmacy.co.uk/p"
    pages = [(f"{base}{i}", "product", f"{nav}{products}{FOOTER}") for i in range(12)]
    site = _site(pages)
    for p in site.pages:  # parsing is shared by all rules: not timed here
        _ = p.text, p.lines, p.soup, p.jsonld
    address.compiled(site.kb)
    start = time.perf_counter()
    f201 = list(address.physical_address(site))
    f202 = list(address.phone(site))
    elapsed = time.perf_counter() - start
    assert f201[0].outcome == "pass" and f202[0].outcome == "pass"
    assert elapsed < 1.0, f"{elapsed:.3f}s for 12 pages"  # a few ms per page unloaded; slack for CI


def test_hostile_pages_are_bounded() -> None:
    hostile = ["A." * 100_000, "1 " * 100_000, "Straße" * 30_000, "NY 10001 " * 20_000,
               "P.O. Box 1 " * 20_000, "1234 Main St " * 20_000, "9" * 200_000]
    for text in hostile:
        site = _site([("https://h.example/", "home", f"<p>{text}</p>")], "h.example")
        _ = site.pages[0].text
        start = time.perf_counter()
        list(address.physical_address(site))
        list(address.phone(site))
        assert time.perf_counter() - start < 3.0, text[:20]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 ABCDEFGHNSWQXYZabcdeorst.,-:\n#+()Straßeweg")),
               max_size=400))
def test_text_scanner_never_crashes(text: str) -> None:
    c = address.compiled(default_knowledge())
    for found in (address.find_in_text(text, c, "US"), address.find_mailboxes(text, c, "GB")):
        for a in found:
            assert 0 <= a.start <= a.end <= len(text)
            assert len(a.text) <= address.MAX_ADDRESS_CHARS


def test_malformed_structured_data_is_ignored() -> None:
    html = ('<script type="application/ld+json">{"@graph": [{"address": {"streetAddress": ["x", 1]}},'
            ' {"address": 5}, {"address": {"@type": "PostalAddress", "postalCode": {"a": []}}}]}</script>'
            '<div itemtype="http://schema.org/PostalAddress"><span itemprop="streetAddress"></span></div>'
            '<p>nothing else</p>')
    site = _site([("https://www.example-pharmacy.co.uk/", "home", html)])
    assert next(iter(address.physical_address(site))).outcome == "fail"
