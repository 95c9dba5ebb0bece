"""The role stage (PC003, issue 9): who the site is decides whose red flags they are.

Sites under ``corpus/`` written for this (general wording, never sample text) are scanned
through the demo proxy (a real local HTTPS server); small snapshots test single cues.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pharmcheck.api import scan_snapshot
from pharmcheck.demo import Sample, samples, scan_options, scan_sample
from pharmcheck.demo.corpus import load_corpus
from pharmcheck.demo.server import DemoProxy
from pharmcheck.knowledge import default_knowledge
from pharmcheck.report import Report
from pharmcheck.role import quoted
from pharmcheck.snapshot import Page, Snapshot

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
# site -> (role, verdict)
EXPECTED = {
    "en-forum-quoted-offers": ("forum", "not_pharmacy"),
    "en-gp-practice-no-dispensing": ("prescriber", "not_pharmacy"),
    "de-news-report-raid": ("publisher", "not_pharmacy"),
    "it-blog-farmacista": ("publisher", "not_pharmacy"),
    "en-thin-pharmacy-identity": ("seller", "suspicious"),
    "en-hacked-club-injected-shop": ("seller", "rogue"),
}


@pytest.fixture(scope="module")
def reports() -> Iterator[dict[str, Report]]:
    sites = load_corpus(CORPUS)
    wanted: list[Sample] = [s for s in samples(sites) if s.name in EXPECTED]
    with DemoProxy(sites) as proxy:
        yield {s.name: scan_sample(s, scan_options(proxy)).report for s in wanted}


@pytest.mark.parametrize("site", sorted(EXPECTED))
def test_role_and_verdict(site: str, reports: dict[str, Report]) -> None:
    report = reports[site]
    role, verdict = EXPECTED[site]
    assert report.role is not None and report.role["role"] == role
    assert report.verdict == verdict
    assert report.reasons[0].startswith("role: ")  # every verdict names the role
    assert any(f.id == "PC003" for f in report.findings)


def test_forum_quotes_are_reported_not_offered_and_linked_shops_named(reports: dict[str, Report]) -> None:
    report = reports["en-forum-quoted-offers"]
    reported = {f.id for f in report.findings if f.data.get("reported")}
    assert "PC501" in reported
    assert all(str(f.outcome) == "info" for f in report.findings if f.data.get("reported"))
    role = next(f for f in report.findings if f.id == "PC003")
    assert "cheap-meds-direct.example" in role.message
    assert "reported, not offered" in " ".join(report.reasons)


def test_injected_shop_page_is_the_sites_own_offer(reports: dict[str, Report]) -> None:
    report = reports["en-hacked-club-injected-shop"]
    assert any(f.decisive and f.id in ("PC402", "PC501") for f in report.findings)


def test_thin_pharmacy_is_not_enough_evidence_with_what_is_missing(reports: dict[str, Report]) -> None:
    reasons = " ".join(reports["en-thin-pharmacy-identity"].reasons)
    assert "not enough evidence to judge" in reasons
    assert "a physical address" in reasons


def _snapshot(html: str, url: str = "https://site.example.com/") -> Snapshot:
    page = Page(url=url, status=200, kind="home", content_type="text/html", html=html, headers={})
    return Snapshot(input=url, url=url, final_url=url, registered_domain="example.com",
                    start_registered_domain="example.com", pages=[page], redirect_chain=[url])


def test_pharmacy_markup_alone_is_a_seller_never_not_pharmacy() -> None:
    html = ('<script type="application/ld+json">{"@type": "Pharmacy", "name": "Corner Pharmacy"}</script>'
            "<p>Welcome.</p>")
    report = scan_snapshot(_snapshot(html), default_knowledge())
    assert report.role is not None and report.role["role"] == "seller"
    assert report.verdict == "suspicious"


def test_a_page_about_medicines_with_no_identity_or_offer_is_not_pharmacy() -> None:
    html = "<h1>Five questions to ask about your medicines</h1><p>Ask your pharmacist about side effects.</p>"
    report = scan_snapshot(_snapshot(html), default_knowledge())
    assert report.verdict == "not_pharmacy"


@pytest.mark.parametrize(("excerpt", "phrases", "want"), [
    ("sites that promise “no prescription needed” and fast delivery", ["no prescription"], True),
    ("Anbieter werben mit „kein Rezept nötig“ und Bitcoin", ["kein Rezept"], True),
    ('they wrote "buy now, no prescription" in the subject', ["no prescription"], True),
    ("Viagra 100mg, no prescription needed, order today", ["no prescription"], False),
    ("“Our pharmacy” is the title. No prescription needed here", ["no prescription"], False),
])
def test_quoted(excerpt: str, phrases: list[str], want: bool) -> None:
    assert quoted(excerpt, phrases) is want


def test_uncovered_language_naming_medicines_is_not_enough_evidence() -> None:
    html = ('<html lang="pl"><body><h1>Tramadol i sildenafil</h1>'
            "<p>Tabletki dostępne od ręki, szybka wysyłka w całym kraju.</p></body></html>")
    report = scan_snapshot(_snapshot(html), default_knowledge())
    assert report.verdict == "suspicious"
    assert "not enough evidence" in " ".join(report.reasons)


def test_uncovered_language_with_prices_is_judged_on_them() -> None:
    html = ('<html lang="pl"><body><a href="/koszyk/cart">Koszyk</a>'
            "<p>Sildenafil 100 mg 10 zł, €2.50</p><p>Tadalafil 20 mg €3.10</p></body></html>")
    report = scan_snapshot(_snapshot(html), default_knowledge())
    assert report.role is not None and report.role["role"] == "seller"
