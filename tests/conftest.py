"""Shared fixtures: scans in tests talk only to servers on 127.0.0.1."""

from __future__ import annotations

import pytest

from pharmcheck.options import ScanOptions

_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@pytest.fixture(scope="session")
def _lookup_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("pharmcheck-cache"))


@pytest.fixture(autouse=True)
def _clean_network_env(monkeypatch: pytest.MonkeyPatch, _lookup_cache_dir: str) -> None:
    """No proxy or CA bundle from the developer's shell leaks into a test, and no test
    writes the real user cache (lookups cache registry and RDAP answers on disk)."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PHARMCHECK_CACHE_DIR", _lookup_cache_dir)


@pytest.fixture
def local_options() -> ScanOptions:
    """Options for scanning local test servers: private addresses allowed, short limits."""
    return ScanOptions(allow_private=True, timeout=3.0, deadline=15.0, max_pages=12)
