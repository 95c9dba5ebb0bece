"""TLS outcomes of the fetch stage against real HTTPS servers on 127.0.0.1 (trustme certificates)."""

from __future__ import annotations

import pytest
from servers import Resp, serve, tls_server

from pharmcheck.fetch import fetch_site
from pharmcheck.fetch.crawler import probe_http_redirect
from pharmcheck.fetch.session import Deadline, Requester, ca_bundle
from pharmcheck.fetch.tls import classify_ssl_error, short_reason
from pharmcheck.options import ScanOptions
from pharmcheck.target import parse_target

HOME = '<html><body><h1>Pharmacy</h1><a href="/contact">Contact us</a></body></html>'
ROUTES = {
    "/": Resp(HOME, headers={"Strict-Transport-Security": "max-age=63072000"}),
    "/contact": "<p>Call us</p>",
}


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("valid", "verified"),
        ("expired", "expired"),
        ("untrusted", "self_signed"),
        ("wrong_host", "wrong_host"),
    ],
)
def test_tls_outcomes(
    kind: str, outcome: str, local_options: ScanOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tls_server(kind, ROUTES) as (url, ca_path):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_path)
        snap = fetch_site(parse_target(url + "/"), local_options)
    assert snap.tls.outcome == outcome
    assert snap.tls.host == "127.0.0.1"
    assert snap.reachable, snap.errors
    assert [p.kind for p in snap.pages] == ["home", "contact"]
    if kind == "valid":
        assert not snap.tls.insecure_read
        assert snap.tls.hsts == "max-age=63072000"
        assert snap.tls.cert is not None
        assert snap.tls.cert.subject_org == "Test Pharmacy Ltd"
        assert "127.0.0.1" in snap.tls.cert.san
        assert snap.tls.cert.not_after.startswith("3000-")
    else:
        # A TLS failure is evidence, not unreachable: the site is read without verification, and said so.
        assert snap.tls.insecure_read
        assert "without certificate verification" in snap.tls.detail
        assert snap.errors == []


def test_ssl_cert_file_is_honoured(local_options: ScanOptions, monkeypatch: pytest.MonkeyPatch) -> None:
    with tls_server("valid", ROUTES) as (url, ca_path):
        monkeypatch.setenv("SSL_CERT_FILE", ca_path)
        assert ca_bundle() == ca_path
        snap = fetch_site(parse_target(url), local_options)
    assert snap.tls.outcome == "verified"


def test_default_trust_store_rejects_test_ca(local_options: ScanOptions) -> None:
    with tls_server("valid", ROUTES) as (url, _ca):
        snap = fetch_site(parse_target(url), local_options)
    assert snap.tls.outcome == "self_signed"
    assert snap.reachable


def test_http_only_site_bare_domain(local_options: ScanOptions) -> None:
    """A bare domain tries https first; a port that does not speak TLS means no HTTPS at all."""
    with serve({"/": HOME, "/contact": "<p>x</p>"}) as server:
        snap = fetch_site(parse_target(f"127.0.0.1:{server.port}"), local_options)
    assert snap.tls.outcome == "none"
    assert snap.url.startswith("http://")
    assert snap.final_url == f"http://127.0.0.1:{server.port}/"
    assert snap.reachable
    assert snap.errors == []


def test_explicit_http_target_never_upgraded(local_options: ScanOptions) -> None:
    with serve({"/": HOME}) as server:
        snap = fetch_site(parse_target(server.url), local_options)
    assert snap.tls.outcome == "none"
    assert "plain http" in snap.tls.detail


def test_https_refused_then_http(local_options: ScanOptions) -> None:
    """A refused https candidate is TLS 'none'; the http candidate is read."""
    with serve({"/": HOME}) as server:
        port = server.port
        target = parse_target(f"127.0.0.1:{port}")
    # Build candidates: https on a closed port, then http on the live one.
    with serve({"/": HOME}) as live:
        from pharmcheck.target import Target

        t = Target(input="x", candidates=(f"https://127.0.0.1:{port}/", f"{live.url}/"), host="127.0.0.1")
        snap = fetch_site(t, local_options)
    assert target.candidates[0].startswith("https://")
    assert snap.tls.outcome == "none"
    assert "refused" in snap.tls.detail
    assert snap.reachable


def test_probe_http_redirect(local_options: ScanOptions) -> None:
    with (
        serve({"/": Resp("", 301, {"Location": "https://127.0.0.1:1/"})}) as redirecting,
        serve({"/": HOME}) as plain,
    ):
        req = Requester(local_options, Deadline(10))
        try:
            assert probe_http_redirect(req, redirecting.url + "/") is True
            assert probe_http_redirect(req, plain.url + "/") is False
            assert probe_http_redirect(req, f"http://127.0.0.1:{redirecting.port + 0}/x") is False
        finally:
            req.close()
    req = Requester(local_options, Deadline(10))
    try:
        assert probe_http_redirect(req, plain.url + "/") is None  # server stopped: refused
    finally:
        req.close()


@pytest.mark.parametrize(
    ("message", "outcome"),
    [
        (
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1)",
            "expired",
        ),
        ("certificate verify failed: self-signed certificate (_ssl.c:1006)", "self_signed"),
        (
            "certificate verify failed: self signed certificate in certificate chain (_ssl.c:1006)",
            "self_signed",
        ),
        ("certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)", "self_signed"),
        (
            "certificate verify failed: Hostname mismatch, certificate is not valid for 'x.com'. (_ssl.c:1)",
            "wrong_host",
        ),
        ("hostname 'a.com' doesn't match 'b.com'", "wrong_host"),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", "none"),
        ("[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)", "error"),
    ],
)
def test_classify_ssl_error(message: str, outcome: str) -> None:
    assert classify_ssl_error(message) == outcome
    assert "_ssl.c" not in short_reason(message)
