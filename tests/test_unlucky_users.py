"""Issue 11: hostile sites and unlucky users, round two. One test per numbered item, named
after what it proves. Real local servers, real processes and signals; no internet."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest
from servers import Resp, serve

from pharmcheck.connguard import is_public, literal_ip
from pharmcheck.fetch import fetch_site, netguard
from pharmcheck.fetch.netguard import check_url
from pharmcheck.fetch.session import Deadline, Requester
from pharmcheck.options import ScanOptions
from pharmcheck.target import parse_target

PUBLIC_NAME = "www.public-name.test"


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard's resolver says PUBLIC_NAME is a public address (as a hostile DNS would at
    check time); the resolver that connects still says 127.0.0.1 (DNS rebinding)."""
    real = socket.getaddrinfo

    def guard_resolve(host: str, port: int) -> list[Any]:
        if host == PUBLIC_NAME:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real(host, port, type=socket.SOCK_STREAM)

    def connect_resolve(host: Any, *args: Any, **kw: Any) -> Any:
        return real("127.0.0.1" if host == PUBLIC_NAME else host, *args, **kw)

    monkeypatch.setattr(netguard, "resolve", guard_resolve)
    monkeypatch.setattr(socket, "getaddrinfo", connect_resolve)


# --- 1. SSRF ------------------------------------------------------------------------------------


def test_backslash_authority_is_refused_before_any_connection(public_dns: None) -> None:
    with serve({"/": "<p>internal secret</p>"}) as canary:
        url = f"http://127.0.0.1:{canary.port}\\@{PUBLIC_NAME}/"
        reason = check_url(url)
        assert reason is not None and "backslash" in reason
        req = Requester(ScanOptions(timeout=2, deadline=5), Deadline(5))
        try:
            res = req.get(url, check=check_url)
        finally:
            req.close()
        assert canary.requests == []
    assert res.blocked and res.body == b""


def test_connect_time_check_stops_a_url_the_guard_let_through(public_dns: None) -> None:
    """Even with a check that lets everything pass, the connection itself refuses loopback."""
    with serve({"/": "<p>internal secret</p>"}) as canary:
        req = Requester(ScanOptions(timeout=2, deadline=5), Deadline(5))
        try:
            for url in (f"http://127.0.0.1:{canary.port}\\@{PUBLIC_NAME}/", f"http://127.0.0.1:{canary.port}/"):
                res = req.get(url, check=lambda u: None)
                assert res.body == b"" and res.error and "non-public address 127.0.0.1" in res.error
                assert "Pool(" not in res.error and "object at 0x" not in res.error
        finally:
            req.close()
        assert canary.requests == []


def test_dns_rebinding_name_is_refused_at_connect_time(public_dns: None) -> None:
    with serve({"/": "<p>internal secret</p>"}) as canary:
        url = f"http://{PUBLIC_NAME}:{canary.port}/"
        assert check_url(url) is None  # the guard's DNS said public …
        snap = fetch_site(parse_target(url), ScanOptions(timeout=2, deadline=5))
        assert canary.requests == []  # … but the address connected to was loopback
    assert not snap.reachable
    assert any("non-public address 127.0.0.1" in e for e in snap.errors)


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f.0.0.1", "127.1", "0177.0.0.1", "0x7f000001", "[2002:7f00:1::]",
             "[64:ff9b::a9fe:a9fe]", "[::ffff:169.254.169.254]", "[2002:a9fe:a9fe::1]"]
)
def test_numeric_and_embedded_private_forms_refused_with_a_proxy(host: str) -> None:
    assert check_url(f"http://{host}/", proxy="http://127.0.0.1:3128") is not None
    assert check_url(f"http://{host}/") is not None


def test_numeric_forms_are_ip_literals() -> None:
    assert literal_ip("2130706433") == ipaddress.IPv4Address("127.0.0.1")
    assert literal_ip("0177.0.0.1") == ipaddress.IPv4Address("127.0.0.1")
    assert literal_ip("pharmacy.example") is None
    assert is_public(ipaddress.ip_address("2002:808:808::1"))


def test_redirects_to_backslash_and_numeric_loopback_never_reach_it_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve({"/": "<p>internal secret</p>"}) as canary:
        port = canary.port
        evil = [
            f"http://127.0.0.1:{port}\\@{PUBLIC_NAME}/",
            f"http://2130706433:{port}/",
            f"http://0x7f.0.0.1:{port}/",
            f"http://127.1:{port}/",
            f"http://0177.0.0.1:{port}/",
        ]
        routes: dict[str, Any] = {
            f"http://pharmacy{i}.example/": Resp("", 302, {"Location": loc}) for i, loc in enumerate(evil)
        }
        with serve(routes) as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            for i in range(len(evil)):
                opts = ScanOptions(timeout=2, deadline=5)
                snap = fetch_site(parse_target(f"http://pharmacy{i}.example/"), opts)
                assert not snap.reachable, evil[i]
            assert all("pharmacy" in r for r in proxy.requests), proxy.requests
        assert canary.requests == []
