# ruff: noqa: E501  (generated HTML templates read better unwrapped)
"""Affiliate networks (issue 14): fingerprints, clustering, the PC701 second pass, the CLI.

Sites are generated here: clone families (one template, different brands and prices, one central
checkout host, one tag-manager id) and unrelated shops on one shop platform's theme.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pharmcheck.api import scan_snapshot
from pharmcheck.cli import app
from pharmcheck.knowledge import default_knowledge
from pharmcheck.networks import cluster, list_source, network_finding
from pharmcheck.report import Report
from pharmcheck.snapshot import CertInfo, Page, Snapshot, TLSInfo

BRANDS = ["Northwind Meds", "Bluefield Pharmacy Online", "Cedar Health Store", "Quayside Tablets",
          "Harbour Rx Shop", "Larkspur Wellness"]
PRODUCTS = ["Sildenafil", "Tadalafil", "Finasteride", "Atorvastatin", "Omeprazole", "Sertraline", "Amlodipine",
            "Levothyroxine"]


def _family_home(brand: str, i: int, *, checkout: str, tag: str, rogue: bool = False, theme: str = "pl") -> str:
    """An affiliate template: same skeleton, the brand, products and prices vary per clone."""
    return _family_html(brand, i, checkout=checkout, tag=tag, rogue=rogue).replace("pl-", f"{theme}-")


def _family_html(brand: str, i: int, *, checkout: str, tag: str, rogue: bool) -> str:
    cards = []
    for n, product in enumerate(PRODUCTS[i % 3 :] + PRODUCTS[: i % 3]):
        price = 0.79 + 0.11 * ((n + i) % 7)
        cards.append(
            f'<div class="pl-card"><div class="pl-card__img"><img src="/img/{n}.png" alt=""></div>'
            f'<h3 class="pl-card__name">{product} {25 * (1 + n % 4)} mg</h3>'
            f'<span class="pl-price">€{price:.2f} per pill</span>'
            f'<a class="pl-buy btn btn-order" href="https://{checkout}/cart/add?aff=10{i}7&amp;p={n}">Add to cart</a>'
            "</div>"
        )
    claim = ("<p class='pl-note'>Order without a prescription, no doctor visit needed for Viagra.</p>"
             if rogue else "<p class='pl-note'>Orders are shipped in plain envelopes.</p>")
    return f"""<!doctype html><html lang="en"><head><title>{brand}</title>
<script async src="https://www.googletagmanager.com/gtm.js?id={tag}"></script></head>
<body><header class="pl-top"><div class="pl-logo"><a href="/">{brand}</a></div>
<nav class="pl-nav"><ul class="pl-menu"><li class="pl-menu__item"><a href="/">Home</a></li>
<li class="pl-menu__item"><a href="/faq">FAQ</a></li><li class="pl-menu__item"><a href="/contact">Contact</a></li>
<li class="pl-menu__item"><a href="https://{checkout}/cart?aff=10{i}7">Cart</a></li></ul></nav></header>
<main class="pl-main"><section class="pl-hero"><h1 class="pl-hero__title">Welcome to {brand}</h1>{claim}</section>
<section class="pl-grid">{''.join(cards)}</section></main>
<footer class="pl-foot"><div class="pl-foot__col"><p>© {brand}</p></div></footer></body></html>"""


def _platform_home(shop: str, products: list[str], ga: str) -> str:
    """A shop on a hosted platform's default theme: the skeleton is the theme's, not the operator's."""
    items = "".join(
        f'<li class="grid__item"><div class="card-wrapper product-card"><div class="card__media">'
        f'<img src="https://cdn.shopify.com/s/files/{n}.jpg" alt=""></div><div class="card__content">'
        f'<h3 class="card__heading">{p}</h3><span class="price-item price-item--regular">£{4 + n}.99</span>'
        f"</div></div></li>"
        for n, p in enumerate(products)
    )
    return f"""<!doctype html><html lang="en"><head><title>{shop}</title>
<link rel="stylesheet" href="https://cdn.shopify.com/s/files/theme.css">
<script>gtag('config', '{ga}');</script></head>
<body><div class="announcement-bar"><p class="announcement-bar__message">Free delivery over £30</p></div>
<header class="header header--middle-left"><h1 class="header__heading">{shop}</h1>
<nav class="header__inline-menu"><ul class="list-menu"><li><a class="header__menu-item" href="/collections/all">Shop</a></li>
<li><a class="header__menu-item" href="/pages/contact">Contact</a></li>
<li><a class="header__icon header__icon--cart" href="https://checkout.shopify.com/cart">Cart</a></li></ul></nav></header>
<main id="MainContent" class="content-for-layout"><ul class="grid product-grid">{items}</ul>
<p class="rte">Orders placed before two o'clock in the afternoon on a working day are normally dispatched the same day by tracked courier, and every parcel is packed with care.</p>
</main><footer class="footer"><div class="footer__content-bottom"><p class="copyright">© {shop}, powered by the platform</p></div></footer></body></html>"""


def _contact(brand: str, *, phone: str, licence: bool = True) -> str:
    lic = ("<p>Registered with the General Pharmaceutical Council, registration number 1098765. "
           "Superintendent pharmacist: J. Okafor.</p>") if licence else ""
    return f"""<html lang="en"><body><h1>Contact {brand}</h1>
<address>14 Mill Lane<br>Bristol<br>BS1 4QA<br>United Kingdom</address><p>Telephone: {phone}</p>{lic}
<p>A valid prescription is required for all prescription-only medicines; our pharmacists check every prescription
with the prescriber before it is dispensed.</p></body></html>"""


def _snapshot(domain: str, home: str, extra: dict[str, str] | None = None, *, cert_org: str = "") -> Snapshot:
    url = f"https://www.{domain}/"
    pages = [Page(url=url, status=200, kind="home", content_type="text/html", html=home)]
    for path, html in (extra or {}).items():
        pages.append(Page(url=url + path, status=200, kind=path, content_type="text/html", html=html))
    tls = TLSInfo(outcome="verified", host=f"www.{domain}", http_redirects_to_https=True,
                  cert=CertInfo(subject_org=cert_org) if cert_org else None)
    return Snapshot(input=domain, url=url, final_url=url, registered_domain=domain, start_registered_domain=domain,
                    pages=pages, redirect_chain=[url], tls=tls, fetched_at="2026-01-01T00:00:00Z")


def _family(prefix: str, checkout: str, tag: str, n: int = 4) -> list[Snapshot]:
    out = []
    for i in range(n):
        brand = BRANDS[i % len(BRANDS)]
        domain = f"{prefix}{i}-meds.com"
        home = _family_home(brand, i, checkout=checkout, tag=tag, rogue=i == 0, theme=prefix[:3])
        out.append(_snapshot(domain, home))
    return out


def _platform_shops() -> list[Snapshot]:
    shops = [("Ashby Natural Soap", ["Lavender bar", "Oat bar", "Rose bar", "Cedar bar", "Mint bar", "Honey bar"]),
             ("Kettle & Crumb Bakery Supplies", ["Rye flour", "Proving basket", "Dough scraper", "Bread knife",
                                                 "Loaf tin", "Starter jar"]),
             ("Pennant Outdoor Kit", ["Tent pegs", "Head torch", "Dry bag", "Stove", "Map case", "Bivvy bag"])]
    return [_snapshot(f"shop{i}-store.co.uk", _platform_home(name, prods, f"G-PLAT{i}X9QZ7"))
            for i, (name, prods) in enumerate(shops)]


def _reports(snaps: list[Snapshot]) -> list[dict[str, Any]]:
    kb = default_knowledge()
    return [scan_snapshot(s, kb).to_dict() for s in snaps]


def _clusters_of(reports: list[dict[str, Any]]) -> list[set[str]]:
    result = cluster([list_source(reports)], default_knowledge())
    return [{result.members[i].domain for i in c.members} for c in result.clusters]


def test_fingerprints_are_stored_and_pure() -> None:
    snap = _family("fp", "pay.central-orders.net", "GTM-K7Q2ZP", n=1)[0]
    a = scan_snapshot(snap, default_knowledge()).fingerprints
    b = scan_snapshot(snap, default_knowledge()).fingerprints
    assert a == b and a is not None
    assert a["checkout_hosts"] == ["pay.central-orders.net"]
    assert "pay.central-orders.net" in a["affiliate_hosts"]
    assert "gtm:GTM-K7Q2ZP" in a["analytics_ids"]
    assert len(a["template"]["minhash"]) == 64
    # round-trips through the report schema
    assert Report.from_dict(json.loads(json.dumps(scan_snapshot(snap).to_dict()))).fingerprints == a


def test_clone_families_cluster_and_unrelated_platform_shops_do_not() -> None:
    fam_a = _family("alpha", "secure.orderdesk-rx.net", "GTM-AAA111")
    fam_b = _family("beta", "pay.pillcentral-checkout.com", "GTM-BBB222", n=3)
    shops = _platform_shops()
    reports = _reports(fam_a + fam_b + shops)
    groups = _clusters_of(reports)
    assert {d.removeprefix("www.") for d in groups[0]} == {s.registered_domain for s in fam_a}
    assert {s.registered_domain for s in fam_b} in groups
    assert len(groups) == 2  # the platform shops share a theme, a hosted checkout and a paragraph: no link
    result = cluster([list_source(reports)], default_knowledge())
    kinds = {e.kind: e for e in result.clusters[0].evidence}
    assert kinds["checkout_host"].value == "secure.orderdesk-rx.net"
    assert kinds["analytics_id"].value == "gtm:GTM-AAA111"
    assert "template" in kinds


def test_each_strong_fact_links_alone() -> None:
    base = _family("solo", "a-checkout.example", "GTM-CCC333", n=2)
    # same template only (different checkout and tag): near-identical skeleton links
    t = _reports([_snapshot("t1-meds.com", _family_home("One", 1, checkout="c1.example", tag="GTM-D1D1D1")),
                  _snapshot("t2-meds.com", _family_home("Two", 2, checkout="c2.example", tag="GTM-E2E2E2"))])
    assert _clusters_of(t) == [{"t1-meds.com", "t2-meds.com"}]
    # same analytics id on two unrelated pages
    pages = [f"<html><body><h1>{w}</h1><p>{w} text</p><script>gtag('config','G-SHARED1234')</script></body></html>"
             for w in ("Garden", "Kitchen")]
    a = _reports([_snapshot("g1.example", pages[0]), _snapshot("g2.example", pages[1])])
    assert _clusters_of(a) == [{"g1.example", "g2.example"}]
    assert _clusters_of(_reports(base))  # the family itself


def test_weak_facts_never_link() -> None:
    pages = [f"<html><body><h1>{w}</h1><a href='https://www.paypal.com/checkoutnow?token=1'>Checkout</a>"
             f"<script>gtag('config','G-XXXXXXXXXX')</script></body></html>" for w in ("Garden", "Kitchen")]
    reports = _reports([_snapshot("w1.example", pages[0], cert_org="Cloudflare, Inc."),
                        _snapshot("w2.example", pages[1], cert_org="Cloudflare, Inc.")])
    assert _clusters_of(reports) == []


def test_shops_on_one_shared_hosting_domain_are_not_one_site() -> None:
    snaps = []
    for name in ("alpha", "beta"):
        url = f"https://{name}.blogspot.com/"
        page = Page(url=url, status=200, kind="home", content_type="text/html",
                    html=f"<html><body><h1>{name}</h1><p>{name} pills shop</p></body></html>")
        snaps.append(Snapshot(input=url, url=url, final_url=url, registered_domain="blogspot.com",
                              start_registered_domain="blogspot.com", pages=[page]))
    reports = _reports(snaps)
    assert [r["fingerprints"]["domain"] for r in reports] == ["alpha.blogspot.com", "beta.blogspot.com"]
    assert _clusters_of(reports) == []


def test_clone_without_red_flags_gets_the_network_finding() -> None:
    kb = default_knowledge()
    fam = _family("gamma", "secure.orderdesk-rx.net", "GTM-FFF444", n=3)
    contact = _contact("Cedar Health Store", phone="+44 117 496 0123")
    fam[2] = _snapshot(fam[2].registered_domain, fam[2].pages[0].html, {"contact": contact, "about": contact})
    reports = [scan_snapshot(s, kb) for s in fam]
    own = {r.registered_domain: r.verdict for r in reports}
    assert own["gamma0-meds.com"] == "rogue"
    clone = reports[2]
    assert clone.verdict == "legitimate"  # judged alone, the clone passes
    assert not [f for f in clone.findings if f.decisive]
    result = cluster([list_source([r.to_dict() for r in reports])], kb)
    index = next(i for i, m in enumerate(result.members) if m.domain == clone.registered_domain)
    assert network_finding(clone, index, result, kb)
    pc701 = next(f for f in clone.findings if f.id == "PC701")
    assert clone.verdict == "suspicious"
    assert str(pc701.outcome) == "fail" and pc701.points < 0
    assert "gamma0-meds.com" in pc701.message and "secure.orderdesk-rx.net" in pc701.message
    assert "gamma0-meds.com" in pc701.data["rogue_members"]
    assert clone.fingerprints and clone.fingerprints["cluster"]["size"] == 3
    # the rogue member keeps its own verdict and gets the finding as information
    rogue = reports[0]
    network_finding(rogue, 0, result, kb)
    assert rogue.verdict == "rogue"
    assert next(f for f in rogue.findings if f.id == "PC701").points == 0


def test_network_finding_never_makes_rogue_or_touches_clusters_without_rogue() -> None:
    kb = default_knowledge()
    fam = _family("delta", "secure.orderdesk-rx.net", "GTM-GGG555", n=3)[1:]  # no PC402 member
    contact = _contact("Quayside Tablets", phone="+44 117 496 0999")
    fam = [_snapshot(s.registered_domain, s.pages[0].html, {"contact": contact}) for s in fam]
    reports = [scan_snapshot(s, kb) for s in fam]
    before = [r.verdict for r in reports]
    assert "rogue" not in before
    result = cluster([list_source([r.to_dict() for r in reports])], kb)
    assert len(result.clusters) == 1
    for i, r in enumerate(reports):
        network_finding(r, i, result, kb)
    assert [r.verdict for r in reports] == before
    assert not any(f.id == "PC701" for r in reports for f in r.findings)


def test_history_sources_link_a_new_clone_to_an_old_network() -> None:
    kb = default_knowledge()
    fam = _reports(_family("eps", "secure.orderdesk-rx.net", "GTM-HHH666", n=3))
    new, old = fam[2:], fam[:2]
    result = cluster([list_source(new), list_source(old + new)], kb)  # a site in both counts once
    assert result.current == 1 and len(result.members) == 3
    assert len(result.clusters) == 1 and len(result.clusters[0].members) == 3


@pytest.fixture
def snapshot_dir(tmp_path: Path) -> Path:
    d = tmp_path / "snaps"
    d.mkdir()
    fam = _family("cli", "secure.orderdesk-rx.net", "GTM-JJJ777", n=3)
    for s in fam + _platform_shops():
        s.save(d / f"{s.registered_domain}.json")
    return d


def test_cli_score_clusters_and_clusters_command(snapshot_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["score", str(snapshot_dir), "--clusters", "-f", "jsonl", "-o", str(out),
                              "--fail-on", "never", "-q", "--workers", "1"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6
    by = {r["registered_domain"]: r for r in rows}
    for d in ("cli1-meds.com", "cli2-meds.com"):
        assert any(f["id"] == "PC701" for f in by[d]["findings"])
        assert by[d]["verdict"] != "legitimate"
        assert by[d]["fingerprints"]["cluster"]["size"] == 3
    assert not any(f["id"] == "PC701" for d, r in by.items() if "shop" in d for f in r["findings"])
    import jsonschema

    schema = json.loads((Path(__file__).parents[1] / "schema" / "report.schema.json").read_text())
    for row in rows:
        jsonschema.validate(row, schema)

    res = runner.invoke(app, ["clusters", str(out), "-f", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert len(doc["clusters"]) == 1
    c = doc["clusters"][0]
    assert set(c) >= {"id", "members", "evidence"}
    assert {m["domain"] for m in c["members"]} == {"cli0-meds.com", "cli1-meds.com", "cli2-meds.com"}
    assert set(c["members"][0]) == {"input", "domain", "verdict"}
    assert any(e["kind"] == "checkout_host" and e["value"] == "secure.orderdesk-rx.net" for e in c["evidence"])
    for fmt in ("text", "csv"):
        res = runner.invoke(app, ["clusters", str(out), "-f", fmt])
        assert res.exit_code == 0 and "cli0-meds.com" in res.stdout
    page = tmp_path / "networks.html"
    res = runner.invoke(app, ["clusters", str(out), "-f", "html", "-o", str(page)])
    assert res.exit_code == 0, res.output
    assert c["id"] in page.read_text(encoding="utf-8")
    # the batch's own HTML report gets the networks section too
    html = tmp_path / "batch.html"
    res = runner.invoke(app, ["score", str(snapshot_dir), "--clusters", "-f", "jsonl", "-o", str(tmp_path / "b.jsonl"),
                              "--report", f"html={html}", "--fail-on", "never", "-q", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert c["id"] in html.read_text(encoding="utf-8")


def test_cli_clusters_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["clusters", str(tmp_path / "missing.jsonl")])
    assert res.exit_code == 2 and "not found" in res.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("not json\n")
    res = runner.invoke(app, ["clusters", str(empty)])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_history_hook_in_cli(snapshot_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--history: the latest report of every site ever scanned joins the clustering (issue 13's store
    provides ``pharmcheck.history.iter_latest_reports``; a stand-in here)."""
    import sys
    import types

    import pharmcheck

    old = _reports(_family("cli", "secure.orderdesk-rx.net", "GTM-JJJ777", n=6)[3:])  # scanned last month
    fake = types.ModuleType("pharmcheck.history")
    fake.iter_latest_reports = lambda db: iter(old)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pharmcheck.history", fake)
    monkeypatch.setattr(pharmcheck, "history", fake, raising=False)
    db = tmp_path / "history.db"
    db.write_bytes(b"")
    out = tmp_path / "now.jsonl"
    runner = CliRunner()
    res = runner.invoke(app, ["score", str(snapshot_dir / "cli1-meds.com.json"), "-f", "jsonl", "-o", str(out)])
    assert res.exit_code in (0, 1), res.output
    res = runner.invoke(app, ["clusters", str(out), "--history", str(db), "-f", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [len(c["members"]) for c in doc["clusters"]] == [4]


def test_hostile_or_old_reports_never_crash_the_clustering(tmp_path: Path) -> None:
    odd: list[Any] = [
        {"input": "a", "verdict": "rogue", "fingerprints": None, "registered_domain": "a.example"},
        {"input": "b", "verdict": 3, "fingerprints": {"checkout_hosts": "x", "template": {"minhash": ["z"] * 64}}},
        {"input": "c", "verdict": "rogue", "fingerprints": {"analytics_ids": [None, 7, "gtm:GTM-ODD1"],
                                                              "template": {"minhash": [2**40] * 64},
                                                              "domain": ["list"], "cluster": "x"}},
        {"input": "d", "verdict": "suspicious", "fingerprints": {"analytics_ids": ["gtm:GTM-ODD1"], "error": ""}},
        {"input": "e", "verdict": "legitimate", "fingerprints": {"error": "ValueError: x"}},
        {"no_input": True},
        [1, 2],
    ]
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in odd) + "\n{torn", encoding="utf-8")
    res = CliRunner().invoke(app, ["clusters", str(path), "-f", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [sorted(m["input"] for m in c["members"]) for c in doc["clusters"]] == [["c", "d"]]


def test_scan_with_clusters_on_a_local_server(tmp_path: Path) -> None:
    """The scan path: results are written after the network pass, exit code and counts kept."""
    import os
    import socket
    import subprocess
    import sys

    from faultserver import FaultServer

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    refused = f"http://127.0.0.1:{s.getsockname()[1]}/"
    s.close()
    out = tmp_path / "out.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHARMCHECK_")}
    with FaultServer("good") as good:
        r = subprocess.run(
            [sys.executable, "-m", "pharmcheck", "scan", good.url, refused, "--clusters", "-f", "jsonl", "-o",
             str(out), "--allow-private", "--timeout", "2", "--deadline", "8", "--max-pages", "3"],
            capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 3, r.stderr  # one site unreachable, none failing
    rows = {json.loads(line)["input"]: json.loads(line) for line in out.read_text().splitlines()}
    assert set(rows) == {good.url, refused}
    assert rows[good.url]["fingerprints"]["version"] == 1
    assert rows[refused]["verdict"] == "unreachable" and rows[refused]["fingerprints"] is None
    assert "Traceback" not in r.stderr
