"""Work the fetch stage does once instead of per connection or per request, with unchanged results:
one verifying SSLContext per CA bundle and process, the proxy environment read once per origin."""

from __future__ import annotations

import ssl
from dataclasses import replace
from typing import Any

import pytest
import requests
from servers import tls_server

from pharmcheck.fetch import fetch_site, session
from pharmcheck.options import ScanOptions
from pharmcheck.target import parse_target

ROUTES = {"/": '<html><body><a href="/contact">Contact</a></body></html>', "/contact": "<p>Call us</p>"}


@pytest.fixture
def bundle_loads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every CA bundle loaded into an SSLContext from now on (a fresh shared-context table)."""
    monkeypatch.setattr(session, "_SHARED_CTX", {})
    loads: list[Any] = []
    original = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(kwargs.get("cafile") or kwargs.get("capath") or (args[0] if args else None))
        original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    return loads


def test_bundle_loaded_once_for_many_connections(
    local_options: ScanOptions, monkeypatch: pytest.MonkeyPatch, bundle_loads: list[Any]
) -> None:
    with tls_server("valid", ROUTES) as (url, ca_path):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_path)
        snaps = [fetch_site(parse_target(url + "/"), local_options) for _ in range(3)]
    assert [s.tls.outcome for s in snaps] == ["verified"] * 3
    assert all(len(s.pages) == 2 for s in snaps)
    assert bundle_loads == [ca_path]  # three scans, each its own session and connections: one load


def test_shared_context_still_rejects_other_cas(
    local_options: ScanOptions, monkeypatch: pytest.MonkeyPatch, bundle_loads: list[Any]
) -> None:
    with tls_server("valid", ROUTES) as (url_a, ca_a), tls_server("valid", ROUTES) as (url_b, _ca_b):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_a)
        good = fetch_site(parse_target(url_a + "/"), local_options)
        other = fetch_site(parse_target(url_b + "/"), local_options)  # signed by a CA not in the bundle
        expired = None
        with tls_server("expired", ROUTES) as (url_c, ca_c):
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_c)
            expired = fetch_site(parse_target(url_c + "/"), local_options)
    assert good.tls.outcome == "verified" and not good.tls.insecure_read
    assert other.tls.outcome == "self_signed" and other.tls.insecure_read
    assert expired.tls.outcome == "expired"
    assert sorted(bundle_loads) == sorted([ca_a, ca_c])


def test_missing_bundle_fails_as_before(local_options: ScanOptions, tmp_path: Any) -> None:
    missing = str(tmp_path / "no-such-ca.pem")
    with tls_server("valid", ROUTES) as (url, _ca):
        snap = fetch_site(parse_target(url + "/"), replace(local_options, ca_bundle=missing))
    assert snap.tls.outcome == "unknown"  # as with requests' own handling: the request fails, nothing is read
    assert any("invalid path: " + missing in e for e in snap.errors), snap.errors
    assert session.shared_ssl_context(missing) is None


def test_environment_read_once_per_origin_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "bypass.example")
    plain = requests.Session()
    ours = session._Session()
    calls = 0
    original = requests.Session.merge_environment_settings

    def counting(self: requests.Session, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(self, *args)

    monkeypatch.setattr(requests.Session, "merge_environment_settings", counting)
    urls = ["https://bypass.example/a", "https://shop.example/a", "https://shop.example/b?x=1",
            "http://shop.example/", "https://bypass.example/c", "https://shop.example/a"]
    for url in urls:
        want = original(plain, url, {}, True, "/ca.pem", None)
        got = ours.merge_environment_settings(url, {}, True, "/ca.pem", None)
        assert got == want, url
    assert calls == 3  # https://bypass.example, https://shop.example, http://shop.example
    got = ours.merge_environment_settings("https://shop.example/", {}, True, "/ca.pem", None)
    got["proxies"]["https"] = "changed"  # a caller changing its copy does not change the memo
    assert ours.merge_environment_settings("https://shop.example/", {}, True, "/ca.pem", None)[
        "proxies"]["https"] == "http://proxy.invalid:3128"


# --- link resolution fast path (fetch/discovery.py join_link) ------------------------------------

_BASES = [
    "https://shop.example/", "https://shop.example/a/b.html?x=1", "http://Shop.Example:8080/dir/",
    "https://user@shop.example/p;q?r#f", "http://[::1]:80/x", "https://shop.example", "ftp://files.example/",
    "file:///tmp/x.html", "https://xn--bcher-kva.example/%7Euser/",
]
_PIECES = ["/", "//", "a", "B", ".", "..", "?", "#", "=", "&", ";", ":", "@", "%20", "%", " ", "\t", "~",
           "http:", "https:", "HTTPS:", "x.example", ":8443", "[::1]", "\\", "'", "(", "*", "é", "-", "_"]


def _reference(base: str, href: str) -> str:
    from urllib.parse import urljoin

    from pharmcheck.fetch.session import strip_fragment

    return strip_fragment(urljoin(base, href))


@pytest.mark.parametrize("base", _BASES)
def test_join_link_equals_urljoin(base: str) -> None:
    import random

    from pharmcheck.fetch.discovery import _origin, join_link

    rng = random.Random(base)
    origin = _origin(base)
    hrefs = ["/", "/a/b?c=d", "https://x.example", "https://x.example?q=1", "http://x.example:81/a//b/../c",
             "/a//b", "/a/./b", "/a/..", "/a?", "/a?#f", "//x.example/a", "/a;b", "/%7E/x?y=/z?w"]
    hrefs += ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 9))) for _ in range(3000)]
    for href in hrefs:
        try:
            want: str | type[ValueError] = _reference(base, href)
        except ValueError:
            want = ValueError
        try:
            got: str | type[ValueError] = join_link(base, origin, href)
        except ValueError:
            got = ValueError
        assert got == want, (base, href)


def test_join_link_linear_on_hostile_hrefs() -> None:
    from pharmcheck.fetch.discovery import _origin, join_link

    base = "https://shop.example/"
    long = "a" * 100_000
    for href in ("/" + long + " ", "/" + "a/" * 50_000 + "<", "https://x.example/" + long + "<"):
        assert join_link(base, _origin(base), href) == _reference(base, href)
