"""Shared fixtures: scans in tests talk only to servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
from collections.abc import Iterator

import psutil
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


PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> bool:
    """Orphans of the test run (a SIGKILLed CLI's workers …) are re-parented to pytest, not to
    init, so the check below sees them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


@pytest.fixture(scope="session", autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    """pytest leaves no process behind: the process tree is back to where it started."""
    me = psutil.Process()
    _become_subreaper()
    before = {p.pid for p in me.children(recursive=True)}
    yield
    # In-process batches (tests of run_batch) start this process's own fork server and resource
    # tracker, which multiprocessing keeps until the interpreter exits: stop them now.
    import multiprocessing.forkserver
    import multiprocessing.resource_tracker

    helpers = (multiprocessing.forkserver._forkserver, multiprocessing.resource_tracker._resource_tracker)
    for helper in helpers:
        stop = getattr(helper, "_stop", None)
        if stop is not None:
            with contextlib.suppress(Exception):  # best effort; the check below reports what is left
                stop()
    new = [p for p in me.children(recursive=True) if p.pid not in before]
    _gone, alive = psutil.wait_procs(new, timeout=20)
    leftover = []
    for p in alive:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                leftover.append(f"{p.pid} {' '.join(p.cmdline())[:200]}")
                p.kill()
        except psutil.Error:
            continue
    assert not leftover, f"processes left behind by the tests: {leftover}"
