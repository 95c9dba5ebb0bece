"""Network guard: no loopback/private/link-local/metadata addresses unless allow_private."""

from __future__ import annotations

import ipaddress

import pytest
from servers import Resp, serve

from pharmcheck.fetch import fetch_site
from pharmcheck.fetch.netguard import check_url, is_public
from pharmcheck.options import ScanOptions
from pharmcheck.target import parse_target


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "224.0.0.1",
        "0.0.0.0",
        "240.0.0.1",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "ff02::1",
    ],
)
def test_non_public(ip: str) -> None:
    assert not is_public(ipaddress.ip_address(ip))
    assert check_url(f"http://{ip if ':' not in ip else f'[{ip}]'}/") is not None


@pytest.mark.parametrize("ip", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_public(ip: str) -> None:
    assert is_public(ipaddress.ip_address(ip))


def test_schemes_and_names() -> None:
    assert "only http and https" in (check_url("file:///etc/passwd", allow_private=True) or "")
    assert "only http and https" in (check_url("ftp://example.com/", allow_private=True) or "")
    assert "non-public" in (check_url("http://localhost:8080/") or "")
    assert check_url("http://localhost:8080/", allow_private=True) is None
    # with a proxy the proxy resolves names; literal private IPs are still refused
    assert check_url("http://intranet.example/", proxy="http://127.0.0.1:3128") is None
    assert check_url("http://10.0.0.1/", proxy="http://127.0.0.1:3128") is not None


def test_loopback_target_refused_by_default() -> None:
    with serve({"/": "<p>hi</p>"}) as server:
        snap = fetch_site(parse_target(server.url), ScanOptions(timeout=2, deadline=5))
        assert server.requests == []
    assert not snap.reachable
    assert "non-public" in snap.errors[0]


def test_redirect_to_metadata_address_refused(
    local_options: ScanOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every hop is checked: a public-looking name redirecting to 169.254.169.254 is stopped."""
    routes = {
        "http://pharmacy.example/": Resp("", 302, {"Location": "http://169.254.169.254/latest/meta-data/"})
    }
    with serve(routes) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        snap = fetch_site(parse_target("http://pharmacy.example/"), ScanOptions(timeout=2, deadline=5))
        assert not any("169.254" in r for r in proxy.requests)
    assert not snap.reachable
    assert any("169.254.169.254" in e for e in snap.errors)
