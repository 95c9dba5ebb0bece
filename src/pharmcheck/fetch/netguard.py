"""Refuse to fetch non-public addresses (SSRF guard).

A scanner fed untrusted target lists must not become a way to reach the machine it runs
on or its network (cloud metadata at 169.254.169.254, admin consoles on 10.x …). Every
hop's host is resolved and *all* its addresses must be public. When a proxy is
configured for the URL the proxy resolves names, so only literal IP hosts (in every
numeric spelling) are checked. The host is read with the parser that connects (see
:mod:`pharmcheck.connguard`), and without a proxy the address actually connected to is
checked again at connect time (fetch/session.py), so DNS rebinding cannot slip through.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import requests.utils

from pharmcheck.connguard import IPAddress, connecting_host, is_public, literal_ip

__all__ = ["IPAddress", "check_url", "is_public", "resolve", "uses_proxy"]


def _literal_ip(host: str) -> IPAddress | None:
    return literal_ip(host)


def resolve(host: str, port: int) -> list[Any]:
    """DNS for the guard (a function so tests can stand in for a resolver)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def uses_proxy(url: str) -> bool:
    """Whether requests would send ``url`` through a proxy from the environment."""
    try:
        proxies = requests.utils.get_environ_proxies(url)
    except Exception:
        return False
    scheme = urlsplit(url).scheme
    return bool(proxies.get(scheme) or proxies.get("all"))


def check_url(url: str, allow_private: bool = False, proxy: str | None = None) -> str | None:
    """``None`` when ``url`` may be fetched, else a one-line reason.

    ``proxy`` is an explicitly configured proxy (ScanOptions.proxy); environment proxies
    are looked up here as requests would.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return f"malformed URL {url!r}"
    if parts.scheme not in ("http", "https"):
        return f"refusing {parts.scheme or 'schemeless'} URL (only http and https are fetched): {url}"
    host, problem = connecting_host(url)
    if problem:
        return problem
    if not host:
        return f"URL without a host: {url}"
    if allow_private:
        return None
    literal = _literal_ip(host)
    if literal is not None:
        if is_public(literal):
            return None
        return f"refusing non-public address {literal} ({url}); allow_private is off"
    if proxy or uses_proxy(url):
        return None  # the proxy resolves the name; we cannot see what it connects to
    try:
        infos = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        return f"DNS lookup failed for {host}: {exc}"
    for info in infos:
        ip = _literal_ip(str(info[4][0]))
        if ip is None or not is_public(ip):
            return f"refusing {host}: it resolves to non-public address {info[4][0]}; allow_private is off"
    return None
