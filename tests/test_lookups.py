"""The lookups stage on real local servers: registries and RDAP behind a forward proxy.

A tiny CONNECT proxy (below) tunnels every registry/RDAP host name to one local HTTPS
server whose trustme certificate covers all of them, so production code runs unchanged:
the proxy comes from ``ScanOptions.proxy``, the CA from ``ScanOptions.ca_bundle``, names
are resolved by the proxy and nothing leaves 127.0.0.1. A host the proxy does not route
gets ``502`` at CONNECT (a registry that is down).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import select
import socket
import socketserver
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from servers import Resp, SiteServer, slow

from pharmcheck.api import scan, scan_snapshot
from pharmcheck.knowledge import Knowledge, default_knowledge
from pharmcheck.lookups import run_lookups
from pharmcheck.lookups.cache import Cache
from pharmcheck.options import ScanOptions
from pharmcheck.report import SCHEMA_VERSION, Report
from pharmcheck.snapshot import Page, Snapshot

GPHC = "www.pharmacyregulation.org"
MHRA = "medicine-seller-register.mhra.gov.uk"
LEGIT = "www.legitscript.com"
IANA = "data.iana.org"
RDAP = "rdap.example-registry.net"
SITE = "www.riverside-chemist.com"
YOUNG = "www.fresh-meds-shop.com"
HOSTS = (GPHC, MHRA, LEGIT, IANA, RDAP, SITE, YOUNG)

GPHC_ENTRY = "/registers/pharmacy/registrationnumber/1234567"
BOOTSTRAP = {
    "version": "1.0",
    "services": [[["com", "net"], [f"https://{RDAP}/com/v1/"]], [["uk"], [f"https://{RDAP}/uk/"]]],
}


def rdap_domain(name: str, registered: str, redacted: bool = True) -> Resp:
    doc: dict[str, Any] = {
        "objectClassName": "domain",
        "ldhName": name,
        "entities": [{"objectClassName": "entity", "roles": ["registrar"],
                      "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                               ["fn", {}, "text", "Test Registrar"]]]}],
        "events": [{"eventAction": "registration", "eventDate": registered},
                   {"eventAction": "expiration", "eventDate": "2030-01-01T00:00:00Z"}],
    }
    if redacted:
        doc["redacted"] = [{"name": {"type": "Registrant Name"}, "method": "removal"}]
    else:
        doc["entities"].append({"objectClassName": "entity", "roles": ["registrant"],
                                "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                                         ["fn", {}, "text", "Riverside Chemist Ltd"]]]})
    return Resp(json.dumps(doc), content_type="application/rdap+json")


def entry_page(name: str, website: str) -> str:
    return (f"<html><head><title>{name} - register</title></head><body><h1>{name}</h1>"
            f"<table><tr><td>Registration number</td><td>1234567</td></tr>"
            f"<tr><td>Website</td><td>{website}</td></tr></table>"
            f'<footer><a href="https://twitter.com/register">Follow us</a></footer></body></html>')


# ---- a tiny CONNECT proxy ----------------------------------------------------------------------


class _Tunnel(socketserver.BaseRequestHandler):
    server: TunnelProxy

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                return
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, _ = [*line.split(" "), "", "", ""][:3]
        host = target.rsplit(":", 1)[0].lower()
        self.server.connects.append(host)
        backend = self.server.routes.get(host)
        if method != "CONNECT" or backend is None:
            sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        try:
            upstream = socket.create_connection(backend, timeout=5)
        except OSError:
            sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sock.settimeout(None)
        upstream.settimeout(None)
        pair = {sock: upstream, upstream: sock}
        try:
            while not self.server.stopping.is_set():
                ready, _, _ = select.select(list(pair), [], [], 0.2)
                for s in ready:
                    buf = s.recv(65536)
                    if not buf:
                        return
                    pair[s].sendall(buf)
        except OSError:
            return
        finally:
            upstream.close()


class TunnelProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, routes: dict[str, tuple[str, int]]) -> None:
        self.routes = routes
        self.connects: list[str] = []
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Tunnel)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


@dataclasses.dataclass
class World:
    backend: SiteServer
    proxy: TunnelProxy
    options: ScanOptions
    cache: Cache

    def requests(self, prefix: str = "") -> list[str]:
        return [p for p in self.backend.requests if p.startswith(prefix)]


@contextlib.contextmanager
def world(routes: dict[str, Any], down: tuple[str, ...] = (), **opts: Any) -> Iterator[World]:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*HOSTS).configure_cert(ctx)
    with tempfile.TemporaryDirectory() as tmp:
        ca_path = str(Path(tmp) / "ca.pem")
        ca.cert_pem.write_to_path(ca_path)
        backend = SiteServer(routes, ssl_context=ctx).start()
        proxy = TunnelProxy({h: ("127.0.0.1", backend.port) for h in HOSTS if h not in down})
        limits = {"timeout": 3.0, "deadline": 10.0, **opts}
        options = ScanOptions(proxy=proxy.url, ca_bundle=ca_path, **limits)
        try:
            yield World(backend, proxy, options, Cache(Path(tmp) / "cache"))
        finally:
            proxy.stop()
            backend.stop()


def snapshot_of(html: str, url: str = f"https://{SITE}/") -> Snapshot:
    from pharmcheck.urls import registered_domain

    host = url.split("/")[2]
    return Snapshot(input=url, url=url, final_url=url, registered_domain=registered_domain(host),
                    start_registered_domain=registered_domain(host), redirect_chain=[url],
                    fetched_at="2026-03-01T12:00:00Z",
                    pages=[Page(url=url, status=200, kind="home", content_type="text/html", html=html)])


def with_counterfeit_decisive(kb: Knowledge) -> Knowledge:
    """The rule pack as proposed to the lead: PC311 decisive (no-op once scoring.toml has it)."""
    decisive = list(kb.scoring.get("decisive", []))
    return dataclasses.replace(kb, scoring={**kb.scoring, "decisive": sorted({*decisive, "PC311"})})


def ids(report: Report, outcome: str | None = None) -> set[str]:
    return {f.id for f in report.findings if outcome is None or str(f.outcome) == outcome}


def finding(report: Report, rule: str) -> Any:
    return next(f for f in report.findings if f.id == rule)


GPHC_LINK = f'<footer>Riverside Chemist <a href="https://{GPHC}{GPHC_ENTRY}"><img alt="GPhC"></a></footer>'
BASE_ROUTES: dict[str, Any] = {
    "/rdap/dns.json": Resp(json.dumps(BOOTSTRAP), content_type="application/json"),
    "/com/v1/domain/riverside-chemist.com": rdap_domain("riverside-chemist.com", "2009-05-01T00:00:00Z"),
    "/com/v1/domain/fresh-meds-shop.com": rdap_domain("fresh-meds-shop.com", "2026-02-10T00:00:00Z"),
}


# ---- registry round-trip -----------------------------------------------------------------------


def test_genuine_round_trip_is_a_verified_credential() -> None:
    routes = {**BASE_ROUTES, GPHC_ENTRY: entry_page("Riverside Chemist", "www.riverside-chemist.com")}
    with world(routes) as w:
        snap = snapshot_of(GPHC_LINK)
        run_lookups(snap, w.options, cache=w.cache)
        facts = snap.lookups["registry"][f"https://{GPHC}{GPHC_ENTRY}"]
        assert facts["status"] == "found" and "riverside-chemist.com" in facts["mentioned"]
        assert "twitter.com" not in facts["declared"]
        report = scan_snapshot(snap)
    pc310 = finding(report, "PC310")
    assert str(pc310.outcome) == "pass" and pc310.data["verified"] is True
    assert report.basis == "verified_credential"
    assert report.credentials[0]["status"] == "verified"
    assert report.credentials[0]["registry"] == "gphc"
    assert "PC311" not in ids(report)


def test_lookalike_registry_host_is_counterfeit_and_rogue() -> None:
    html = '<a href="https://pharmacyregulation-org.com/registers/pharmacy/registrationnumber/1234567">GPhC</a>'
    with world(BASE_ROUTES) as w:
        snap = snapshot_of(html)
        run_lookups(snap, w.options, cache=w.cache)
        assert w.requests("/registers") == []  # a look-alike is never fetched
        assert "pharmacyregulation-org.com" not in w.proxy.connects
    report = scan_snapshot(snap, with_counterfeit_decisive(default_knowledge()))
    assert str(finding(report, "PC311").outcome) == "fail"
    assert report.verdict == "rogue"
    assert report.credentials[0]["status"] == "counterfeit"


def test_entry_naming_another_domain_is_counterfeit() -> None:
    routes = {**BASE_ROUTES, GPHC_ENTRY: entry_page("Genuine Chemist", "https://www.genuine-chemist.co.uk/")}
    with world(routes) as w:
        snap = snapshot_of(GPHC_LINK)
        run_lookups(snap, w.options, cache=w.cache)
    report = scan_snapshot(snap, with_counterfeit_decisive(default_knowledge()))
    pc311 = finding(report, "PC311")
    assert str(pc311.outcome) == "fail" and "genuine-chemist.co.uk" in pc311.message
    assert report.verdict == "rogue"


def test_registry_timeout_leaves_unverified_within_the_deadline() -> None:
    routes = {**BASE_ROUTES, GPHC_ENTRY: slow(5.0, entry_page("Riverside Chemist", "riverside-chemist.com"))}
    with world(routes, timeout=5.0, deadline=1.0) as w:
        snap = snapshot_of(GPHC_LINK)
        started = time.monotonic()
        run_lookups(snap, w.options, cache=w.cache)
        elapsed = time.monotonic() - started
    assert elapsed < 1.8, f"lookups took {elapsed:.2f}s past a 1s deadline"
    facts = snap.lookups["registry"][f"https://{GPHC}{GPHC_ENTRY}"]
    assert facts["status"] in ("unreachable", "deadline")
    report = scan_snapshot(snap, with_counterfeit_decisive(default_knowledge()))
    assert str(finding(report, "PC310").outcome) == "info"
    assert "PC311" not in ids(report)
    assert report.basis == "page_signals"


def test_registry_per_request_timeout_and_server_error() -> None:
    mhra = "/search-registry/356"
    html = GPHC_LINK + f'<a href="https://{MHRA}{mhra}">MHRA</a>'
    routes = {**BASE_ROUTES, GPHC_ENTRY: slow(3.0), mhra: Resp("oops", 503)}
    with world(routes, timeout=0.4, deadline=10.0) as w:
        snap = snapshot_of(html)
        started = time.monotonic()
        run_lookups(snap, w.options, cache=w.cache)
        assert time.monotonic() - started < 2.0
        # a failure is not cached: asking again reaches the registry again
        before = len(w.requests(mhra))
        run_lookups(snapshot_of(html), w.options, cache=w.cache)
        assert len(w.requests(mhra)) == before + 1
    reg = snap.lookups["registry"]
    assert reg[f"https://{GPHC}{GPHC_ENTRY}"]["status"] == "unreachable"
    assert reg[f"https://{MHRA}{mhra}"]["status"] == "unreachable"
    report = scan_snapshot(snap)
    assert str(finding(report, "PC310").outcome) == "info"
    assert {c["status"] for c in report.credentials} == {"unverified"}


def test_registry_down_is_unverified_not_counterfeit() -> None:
    with world(BASE_ROUTES, down=(GPHC,)) as w:
        snap = snapshot_of(GPHC_LINK)
        run_lookups(snap, w.options, cache=w.cache)
    assert snap.lookups["registry"][f"https://{GPHC}{GPHC_ENTRY}"]["status"] == "unreachable"
    assert "PC311" not in ids(scan_snapshot(snap))


def test_registry_redirect_off_its_domain_is_refused() -> None:
    routes = {**BASE_ROUTES, GPHC_ENTRY: Resp("", 302, {"Location": f"https://{SITE}/fake-entry"})}
    with world(routes) as w:
        snap = snapshot_of(GPHC_LINK)
        run_lookups(snap, w.options, cache=w.cache)
        assert w.requests("/fake-entry") == []
    assert snap.lookups["registry"][f"https://{GPHC}{GPHC_ENTRY}"]["status"] == "blocked"


def test_printed_gphc_number_is_looked_up_by_number() -> None:
    routes = {**BASE_ROUTES, GPHC_ENTRY: entry_page("Riverside Chemist", "riverside-chemist.com")}
    with world(routes) as w:
        snap = snapshot_of("<footer>Riverside Chemist Ltd, GPhC registration 1234567</footer>")
        run_lookups(snap, w.options, cache=w.cache)
        assert w.requests(GPHC_ENTRY)
    pc310 = finding(scan_snapshot(snap), "PC310")
    assert str(pc310.outcome) == "pass"
    assert pc310.data["credentials"][0]["kind"] == "registration_number"


def test_at_most_a_handful_of_registry_lookups() -> None:
    links = "".join(f'<a href="https://{MHRA}/search-registry/{n}">x</a>' for n in range(10, 20))
    with world(BASE_ROUTES) as w:
        snap = snapshot_of(links)
        run_lookups(snap, w.options, cache=w.cache)
        assert len(w.requests("/search-registry/")) == 4
    assert len(snap.lookups["registry"]) == 4


# ---- RDAP --------------------------------------------------------------------------------------


def test_rdap_old_and_young_domains() -> None:
    with world(BASE_ROUTES) as w:
        old = snapshot_of("<p>Riverside</p>")
        young = snapshot_of("<p>Fresh meds</p>", f"https://{YOUNG}/")
        run_lookups(old, w.options, cache=w.cache)
        run_lookups(young, w.options, cache=w.cache)
        assert len(w.requests("/rdap/dns.json")) == 1  # the bootstrap file is cached
    r_old, r_young = scan_snapshot(old), scan_snapshot(young)
    assert str(finding(r_old, "PC601").outcome) == "pass"
    assert str(finding(r_young, "PC601").outcome) == "fail"
    assert finding(r_young, "PC601").data["age_days"] == 19
    assert str(finding(r_young, "PC602").outcome) == "warn"  # RFC 9537 redaction
    assert r_young.domain["created"] == "2026-02-10" and r_young.domain["age_days"] == 19
    assert r_old.domain["registrar"] == "Test Registrar"
    assert r_old.domain["registrant_redacted"] is True
    assert r_old.domain["source"] == f"https://{RDAP}/com/v1/domain/riverside-chemist.com"


@pytest.mark.parametrize("down", [(RDAP,), (IANA,)])
def test_rdap_down_is_unknown_never_a_crash(down: tuple[str, ...]) -> None:
    with world(BASE_ROUTES, down=down) as w:
        snap = snapshot_of("<p>Riverside</p>")
        run_lookups(snap, w.options, cache=w.cache)
    assert snap.lookups["rdap"]["status"] == "unreachable"
    report = scan_snapshot(snap)
    assert str(finding(report, "PC601").outcome) == "skip"
    assert report.domain["status"] == "unreachable" and report.domain["age_days"] is None


def test_bootstrap_cached_without_the_tld_is_fetched_again() -> None:
    with world(BASE_ROUTES) as w:
        stale = {"org": ["https://rdap.org-registry.example/"]}  # a cached copy without .com
        w.cache.put(f"rdap-bootstrap:https://{IANA}/rdap/dns.json", stale, 60)
        snap = snapshot_of("<p>Riverside</p>")
        run_lookups(snap, w.options, cache=w.cache)
        assert len(w.requests("/rdap/dns.json")) == 1
    assert snap.lookups["rdap"]["status"] == "ok"


def test_rdap_not_found_is_unknown() -> None:
    with world(BASE_ROUTES) as w:
        snap = snapshot_of("<p>x</p>", "https://www.unregistered-shop.com/")
        run_lookups(snap, w.options, cache=w.cache)
    assert snap.lookups["rdap"]["status"] == "not_found"
    assert str(finding(scan_snapshot(snap), "PC601").outcome) == "skip"


# ---- offline, cache, JSON ----------------------------------------------------------------------


def test_offline_makes_no_lookup() -> None:
    routes = {**BASE_ROUTES, GPHC_ENTRY: entry_page("Riverside Chemist", "riverside-chemist.com")}
    with world(routes, offline=True) as w:
        snap = snapshot_of(GPHC_LINK)
        run_lookups(snap, w.options, cache=w.cache)
        assert w.backend.requests == [] and w.proxy.connects == []
    assert snap.lookups["status"] == "offline"
    report = scan_snapshot(snap)
    assert report.basis == "page_signals"
    assert "page signals alone" in finding(report, "PC601").message
    assert report.credentials[0]["status"] == "unverified"


def test_second_scan_is_served_from_the_cache() -> None:
    routes = {**BASE_ROUTES, GPHC_ENTRY: entry_page("Riverside Chemist", "riverside-chemist.com")}
    with world(routes) as w:
        first = snapshot_of(GPHC_LINK)
        run_lookups(first, w.options, cache=w.cache)
        count = len(w.backend.requests)
        assert count == 3  # bootstrap, RDAP domain, registry entry
        second = snapshot_of(GPHC_LINK)
        run_lookups(second, w.options, cache=Cache(w.cache.directory.parent))
        assert len(w.backend.requests) == count
        assert w.proxy.connects.count(GPHC) == 1
    assert second.lookups["rdap"]["cached"] is True
    assert second.lookups["registry"][f"https://{GPHC}{GPHC_ENTRY}"]["cached"] is True
    assert str(finding(scan_snapshot(second), "PC310").outcome) == "pass"


def test_cache_expiry(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put("k", {"a": 1}, ttl=60)
    assert cache.get("k") == {"a": 1}
    cache.put("old", {"a": 1}, ttl=0.01)
    time.sleep(0.02)
    assert cache.get("old") is None
    (cache.directory / "garbage.json").write_text("{not json")
    assert cache.get("missing") is None


def test_lookups_round_trip_through_snapshot_json() -> None:
    routes = {**BASE_ROUTES, GPHC_ENTRY: entry_page("Riverside Chemist", "riverside-chemist.com")}
    with world(routes) as w:
        snap = snapshot_of(GPHC_LINK)
        run_lookups(snap, w.options, cache=w.cache)
    again = Snapshot.from_json(snap.to_json())
    assert again.lookups == snap.lookups
    a, b = scan_snapshot(snap).to_dict(), scan_snapshot(again).to_dict()
    assert a["credentials"] == b["credentials"] and a["domain"] == b["domain"]


def test_end_to_end_scan_reports_credentials_and_domain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PHARMCHECK_CACHE_DIR", str(tmp_path))
    home = f"<html><body><h1>Riverside Chemist</h1>{GPHC_LINK}</body></html>"
    routes = {**BASE_ROUTES, "/": home, GPHC_ENTRY: entry_page("Riverside Chemist", "riverside-chemist.com")}
    with world(routes, max_pages=2) as w:
        report = scan(f"https://{SITE}/", w.options)
    d = report.to_dict()
    assert d["schema_version"] == SCHEMA_VERSION == "1.3"
    assert d["basis"] == "verified_credential"
    assert d["credentials"][0]["status"] == "verified"
    assert d["domain"]["registered_domain"] == "riverside-chemist.com"
    assert d["domain"]["created"] == "2009-05-01"
    assert Report.from_dict(json.loads(json.dumps(d))).to_dict() == d
    assert any(tmp_path.rglob("*.json"))  # the cache lives where PHARMCHECK_CACHE_DIR says
