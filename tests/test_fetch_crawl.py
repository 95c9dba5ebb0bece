"""The crawler against real local HTTP servers: discovery, redirects, limits, charsets, robots, errors."""

from __future__ import annotations

import gzip
import time
from dataclasses import replace
from pathlib import Path

import pytest
from servers import Resp, drip, serve, slow

from pharmcheck.fetch import fetch_site
from pharmcheck.fetch.decode import decode_body
from pharmcheck.fetch.discovery import extract_links, load_keywords
from pharmcheck.options import ScanOptions
from pharmcheck.snapshot import Snapshot
from pharmcheck.target import parse_target


def _kinds(snap: Snapshot) -> dict[str, str]:
    return {p.url.split("/", 3)[-1]: p.kind for p in snap.pages}


def test_discovery_german_site_folder(tmp_path: Path, local_options: ScanOptions) -> None:
    site = tmp_path / "apotheke"
    (site / "pages" / "produkte").mkdir(parents=True)
    (site / "site.toml").write_text('[headers]\nX-Test = "1"\n', encoding="utf-8")
    (site / "pages" / "index.html").write_text(
        """<html lang="de"><body><nav>
        <a href="/produkte/">Sortiment</a> <a href="/blog/eintrag-1">Neuigkeiten</a>
        <a href="/impressum">Impressum</a> <a href="/kontakt">Kontakt</a>
        <a href="/ueber-uns">Über uns</a> <a href="/agb">AGB</a> <a href="/datenschutz">Datenschutz</a>
        <a href="/rezept-einloesen">Rezept einlösen</a> <a href="/versand">Versand &amp; Lieferung</a>
        <a href="/logo.png">Logo</a> <a href="/katalog.pdf">Katalog</a>
        <a href="?add-to-cart=12">In den Warenkorb</a>
        <a href="https://elsewhere.example/impressum">Fremd</a> <a href="mailto:x@y.de">Mail</a>
        </nav></body></html>""",
        encoding="utf-8",
    )
    for name in ("impressum", "kontakt", "ueber-uns", "agb", "datenschutz", "rezept-einloesen", "versand"):
        (site / "pages" / f"{name}.html").write_text(f"<p>{name}</p>", encoding="utf-8")
    (site / "pages" / "produkte" / "index.html").write_text("<p>Produkte</p>", encoding="utf-8")
    with serve(folder=site) as server:
        snap = fetch_site(parse_target(server.url), local_options)
    kinds = _kinds(snap)
    assert kinds == {
        "": "home",
        "kontakt": "contact",
        "impressum": "legal",
        "ueber-uns": "about",
        "rezept-einloesen": "prescription",
        "agb": "terms",
        "datenschutz": "privacy",
        "versand": "shipping",
        "produkte/": "product",
        "blog/eintrag-1": "other",
    }
    # key pages first, in priority order; product/other after them
    assert [p.kind for p in snap.pages][:4] == ["home", "contact", "legal", "about"]
    assert not any("png" in p.url or "pdf" in p.url or "cart" in p.url for p in snap.pages)
    assert snap.pages[0].headers.get("X-Test") == "1"
    assert all(s == "" for s in server.requests if s.endswith((".png", ".pdf")))


def test_discovery_french_and_query_string_links(local_options: ScanOptions) -> None:
    home = """<html lang="fr"><body>
      <a href="/index.php?route=information/contact">Écrivez-nous</a>
      <a href="/?page=mentions-legales">Mentions légales</a>
      <a href="/index.php?id_cms=3">Conditions générales de vente</a>
      <a href="/index.php?id_cms=7">Qui sommes-nous ?</a>
      <a href="/index.php?id_cms=9">Foire aux questions</a>
    </body></html>"""
    with serve({"/": home}) as server:
        snap = fetch_site(parse_target(server.url), local_options)
    by_url = {p.url.split("/", 3)[-1]: p.kind for p in snap.pages}
    assert by_url["index.php?route=information/contact"] == "contact"
    assert by_url["?page=mentions-legales"] == "legal"
    assert by_url["index.php?id_cms=3"] == "terms"
    assert by_url["index.php?id_cms=7"] == "about"
    assert by_url["index.php?id_cms=9"] == "faq"


@pytest.mark.parametrize(
    ("url", "text", "kind"),
    [
        ("/aviso-legal", "Aviso legal", "legal"),
        ("/x", "Note legali", "legal"),
        ("/colofon", "Colofon", "legal"),
        ("/contacto", "Contacto", "contact"),
        ("/contatti", "", "contact"),
        ("/over-ons", "Over ons", "about"),
        ("/chi-siamo", "Chi siamo", "about"),
        ("/envios", "Envíos", "shipping"),
        ("/spedizioni", "", "shipping"),
        ("/how-to-order", "How to order", "order"),
        ("/upload", "Upload prescription", "prescription"),
        ("/transfer-rx", "Transfer a prescription", "prescription"),
        ("/privacy-policy", "", "privacy"),
        ("/faq", "", "faq"),
        ("/p/123", "Amoxicillin 500mg", "product"),
        ("/product/viagra-100mg", "", "product"),
        ("/privacy", "", "privacy"),  # "p" (product) must not match the start of "privacy"
        ("/blog/2024/news", "News", "other"),
        ("/contactlenses", "Lenses", "contact"),  # URL keywords match at a word start: documented limit
    ],
)
def test_classify(url: str, text: str, kind: str) -> None:
    assert load_keywords().classify("https://shop.example" + url, text) == kind


def test_extract_links_base_and_junk() -> None:
    html = """<html><head><base href="https://shop.example/de/"></head><body>
      <a href="kontakt">K</a><a href="#top">top</a><a href="javascript:alert(1)">j</a>
      <a href="tel:+49">t</a><a href="ftp://x/">f</a><a href="kontakt#a">dup</a>
      <map><area href="/map" alt="m"></map><a href="http://[bad">bad</a></body></html>"""
    links = extract_links(html, "https://shop.example/")
    assert [link.url for link in links] == ["https://shop.example/de/kontakt", "https://shop.example/map"]
    assert extract_links("", "https://x/") == []


def test_deep_url_target_visits_home(local_options: ScanOptions) -> None:
    with serve(
        {"/": '<a href="/contact">Contact</a>', "/shop/item-1": "<p>item</p>", "/contact": "c"}
    ) as server:
        snap = fetch_site(parse_target(server.url + "/shop/item-1"), local_options)
    assert [p.kind for p in snap.pages] == ["product", "home", "contact"]
    assert snap.final_url == server.url + "/shop/item-1"


def test_max_pages(local_options: ScanOptions) -> None:
    links = "".join(f'<a href="/p{i}">item {i}</a>' for i in range(40))
    routes = {"/": f'<a href="/contact">Contact</a>{links}', "/contact": "c"}
    routes.update({f"/p{i}": f"<p>{i}</p>" for i in range(40)})
    with serve(routes) as server:
        snap = fetch_site(parse_target(server.url), replace(local_options, max_pages=5))
    assert len(snap.pages) == 5
    assert [p.kind for p in snap.pages][:2] == ["home", "contact"]
    assert len([r for r in server.requests if r != "/robots.txt"]) == 5


def test_redirect_chain_recorded(local_options: ScanOptions) -> None:
    routes = {
        "/": Resp("", 301, {"Location": "/a"}),
        "/a": Resp("", 302, {"Location": "/b#frag"}),
        "/b": '<a href="/">home</a> <a href="/contact">Contact</a>',
        "/contact": "c",
    }
    with serve(routes) as server:
        snap = fetch_site(parse_target(server.url), local_options)
    base = server.url
    assert snap.redirect_chain == [f"{base}/", f"{base}/a", f"{base}/b"]
    assert snap.final_url == f"{base}/b"
    assert snap.pages[0].redirects == [f"{base}/", f"{base}/a"]
    assert [p.url for p in snap.pages] == [f"{base}/b", f"{base}/contact"]  # "/" is already a visited hop


def test_redirect_hop_limit_and_loop(local_options: ScanOptions) -> None:
    routes = {f"/r{i}": Resp("", 302, {"Location": f"/r{i + 1}"}) for i in range(10)}
    routes["/loop"] = Resp("", 302, {"Location": "/loop2"})
    routes["/loop2"] = Resp("", 302, {"Location": "/loop"})
    with serve(routes) as server:
        snap = fetch_site(parse_target(server.url + "/r0"), replace(local_options, max_redirects=3))
        assert not snap.reachable
        assert any("more than 3 redirects" in e for e in snap.errors)
        assert snap.redirect_chain[:4] == [f"{server.url}/r{i}" for i in range(4)]
        snap = fetch_site(parse_target(server.url + "/loop"), local_options)
        assert any("redirect loop" in e for e in snap.errors)
        assert not snap.reachable


def test_cross_domain_redirect_via_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Host names other than 127.0.0.1 through a local forward proxy (HTTP_PROXY honoured)."""
    routes = {
        "http://old-pharmacy.example/": Resp("", 301, {"Location": "http://www.new-pharmacy.example/start"}),
        "http://www.new-pharmacy.example/start": '<a href="http://shop.new-pharmacy.example/kontakt">Kontakt</a>'
        '<a href="http://old-pharmacy.example/impressum">Impressum</a>',
        "http://shop.new-pharmacy.example/kontakt": "<p>k</p>",
    }
    with serve(routes) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        # allow_private stays off: names are resolved by the proxy, so the guard does not resolve them.
        snap = fetch_site(parse_target("http://old-pharmacy.example/"), ScanOptions(timeout=3, deadline=10))
    assert snap.redirect_chain == ["http://old-pharmacy.example/", "http://www.new-pharmacy.example/start"]
    assert snap.start_registered_domain == "old-pharmacy.example"
    assert snap.registered_domain == "new-pharmacy.example"
    # same site = the registered domain it landed on; the old domain's page is another site now
    assert [p.url for p in snap.pages] == [
        "http://www.new-pharmacy.example/start",
        "http://www.new-pharmacy.example/",  # the landing page is deep, so its home page is visited too
        "http://shop.new-pharmacy.example/kontakt",
    ]
    assert "http://www.new-pharmacy.example/robots.txt" in proxy.requests


def test_max_bytes_truncation_and_gzip_bomb(local_options: ScanOptions) -> None:
    big = "<html><body>" + "x" * 50_000 + "</body></html>"
    bomb = gzip.compress(b"<html><body>" + b"\0" * (200 * 1024 * 1024), compresslevel=9)
    routes = {
        "/": '<a href="/big">big</a><a href="/bomb">bomb</a>',
        "/big": big,
        "/bomb": Resp(bomb, headers={"Content-Encoding": "gzip"}),
    }
    with serve(routes) as server:
        snap = fetch_site(parse_target(server.url), replace(local_options, max_bytes=10_000))
    pages = {p.url.rsplit("/", 1)[-1]: p for p in snap.pages}
    assert pages["big"].truncated and len(pages["big"].html) == 10_000
    assert pages["bomb"].truncated and len(pages["bomb"].html) == 10_000
    assert not pages[""].truncated


def test_charset_from_meta_only() -> None:
    body = '<html><head><meta charset="ISO-8859-1"></head><body>Apotheke Müller, Straße</body></html>'
    routes = {"/": Resp(body.encode("latin-1"), content_type="text/html")}
    with serve(routes) as server:
        snap = fetch_site(parse_target(server.url), ScanOptions(allow_private=True, timeout=3))
    assert "Müller, Straße" in snap.pages[0].html
    assert snap.pages[0].encoding == "cp1252"


@pytest.mark.parametrize(
    ("body", "ctype", "expected", "encoding"),
    [
        ("Grüße".encode("cp1252"), "text/html; charset=windows-1252", "Grüße", "cp1252"),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-15">€'.encode(
                "iso-8859-15"
            ),
            "text/html",
            "€",
            "iso8859-15",
        ),
        ("\ufeffÄrzte".encode(), "text/html; charset=latin1", "Ärzte", "utf-8"),  # BOM wins
        ("日本語のテキスト".encode(), "text/html", "日本語のテキスト", "utf-8"),
        ("Grüße".encode() + b"\xc3", "text/html", "Grüße\ufffd", "utf-8"),  # cut mid-character
        (
            b"caf\xe9 cr\xe8me br\xfbl\xe9e et pharmacie fran\xe7aise",
            "text/html",
            "pharmacie française",
            None,
        ),
        (b"x", "text/html; charset=bogus-charset", "x", "utf-8"),
    ],
)
def test_decode_body(body: bytes, ctype: str, expected: str, encoding: str | None) -> None:
    text, used = decode_body(body, ctype)
    assert expected in text
    if encoding:
        assert used == encoding


def test_non_html_recorded_not_read(local_options: ScanOptions) -> None:
    routes = {
        "/": Resp('<a href="/feed">Feed</a><a href="/notype">x</a>', content_type=""),
        "/feed": Resp('{"a": 1}', content_type="application/json"),
        "/notype": Resp("plain words", content_type=""),
    }
    with serve(routes) as server:
        snap = fetch_site(parse_target(server.url), local_options)
    feed = snap.pages[1]
    assert feed.status == 200 and feed.content_type == "application/json" and feed.html == ""
    assert snap.pages[0].html.startswith("<a")  # no Content-Type: sniffed as HTML
    assert snap.pages[2].status == 200 and snap.pages[2].html == ""  # no Content-Type, not markup


def test_slow_server_times_out(local_options: ScanOptions) -> None:
    routes = {"/": '<a href="/contact">Contact</a>', "/contact": slow(5)}
    with serve(routes) as server:
        started = time.monotonic()
        snap = fetch_site(parse_target(server.url), replace(local_options, timeout=0.5))
    assert time.monotonic() - started < 3
    contact = snap.pages[1]
    assert contact.status == 0 and contact.error and "timed out" in contact.error
    assert snap.reachable  # the home page was read


def test_deadline_against_drip(local_options: ScanOptions) -> None:
    """A server that drips one byte every 0.2 s never trips the read timeout; the deadline stops it."""
    with serve({"/": drip(b"<html><body>" + b"a" * 500, delay=0.2)}) as server:
        started = time.monotonic()
        snap = fetch_site(parse_target(server.url), replace(local_options, timeout=2, deadline=1.5))
        took = time.monotonic() - started
    assert took < 3, took
    assert any("deadline" in e for e in snap.errors)


def test_deadline_against_dripping_headers(local_options: ScanOptions) -> None:
    def drip_headers(h: object) -> None:
        wfile = h.wfile  # type: ignore[attr-defined]
        for ch in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
            try:
                wfile.write(bytes([ch]))
                wfile.flush()
            except OSError:
                return
            time.sleep(0.2)

    with serve({"/": drip_headers}) as server:
        started = time.monotonic()
        snap = fetch_site(parse_target(server.url), replace(local_options, timeout=2, deadline=1.5))
        took = time.monotonic() - started
    assert took < 3.5, took
    assert not snap.reachable


def test_robots_disallow(local_options: ScanOptions) -> None:
    robots = "User-agent: *\nDisallow: /private\n\nUser-agent: otherbot\nDisallow: /\n"
    routes = {
        "/robots.txt": Resp(robots, content_type="text/plain"),
        "/": '<a href="/private/contact">Contact</a><a href="/about">About us</a>',
        "/about": "a",
        "/private/contact": "secret",
    }
    with serve(routes) as server:
        snap = fetch_site(parse_target(server.url), local_options)
        assert [p.kind for p in snap.pages] == ["home", "about"]
        assert snap.robots_disallowed == [f"{server.url}/private/contact"]
        assert "/private/contact" not in server.requests
        snap = fetch_site(parse_target(server.url), replace(local_options, respect_robots=False))
        assert len(snap.pages) == 3


def test_robots_disallows_start_page(local_options: ScanOptions) -> None:
    routes = {
        "/robots.txt": Resp("User-agent: pharmcheck\nDisallow: /\n", content_type="text/plain"),
        "/": "x",
    }
    with serve(routes) as server:
        snap = fetch_site(parse_target(server.url), local_options)
        assert "/" not in server.requests
    assert not snap.reachable
    assert snap.errors and "robots.txt disallows" in snap.errors[0]
    assert snap.robots_disallowed == [f"{server.url}/"]


def test_errors_are_data(local_options: ScanOptions) -> None:
    with serve({"/": Resp("<p>down</p>", 503)}) as server:
        snap = fetch_site(parse_target(server.url), local_options)
        port = server.port
    assert not snap.reachable
    assert snap.errors == [f"{server.url}/: HTTP 503"]
    assert snap.pages[0].status == 503
    snap = fetch_site(parse_target(f"http://127.0.0.1:{port}/"), local_options)  # server gone
    assert not snap.reachable and "connection refused" in snap.errors[0]
    assert snap.fetched_at.endswith("Z") and snap.elapsed_ms >= 0
    bare = fetch_site(parse_target(f"127.0.0.1:{port}"), local_options)
    assert len(bare.errors) == 2 and all("refused" in e for e in bare.errors)
    assert bare.tls.outcome == "none"


def test_dns_failure_is_data() -> None:
    snap = fetch_site(parse_target("http://no-such-host.invalid/"), ScanOptions(timeout=2, deadline=5))
    assert not snap.reachable
    assert "DNS lookup failed" in snap.errors[0]


def test_user_agent_is_honest(local_options: ScanOptions) -> None:
    seen: list[str] = []

    def record(h: object) -> None:
        seen.append(h.headers.get("User-Agent", ""))  # type: ignore[attr-defined]
        h.send_simple(Resp("ok"))  # type: ignore[attr-defined]

    with serve({"/": record}) as server:
        fetch_site(parse_target(server.url), local_options)
    assert (
        seen
        and seen[0].startswith("pharmcheck/")
        and "(+https://github.com/pharmcheck/pharmcheck)" in seen[0]
    )
