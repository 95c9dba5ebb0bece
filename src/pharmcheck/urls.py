"""Registered-domain logic, from tldextract's bundled Public Suffix List only.

tldextract would otherwise try to download a fresh list on first use; a scanner
must never make a network call it was not asked to make, so both the remote URLs
and the on-disk cache are switched off.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _extractor() -> Any:
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


@functools.lru_cache(maxsize=4096)
def registered_domain(host: str) -> str:
    """``www.shop.example.co.uk`` -> ``example.co.uk``; IPs and unknown suffixes map to the host itself."""
    host = (host or "").strip().lower().rstrip(".")
    if not host:
        return ""
    if host.startswith("["):  # IPv6 literal
        return host
    ext = _extractor()(host)
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    labels = host.split(".")
    if not ext.suffix and len(labels) >= 2 and not host.replace(".", "").isdigit():
        # Suffix not in the list (reserved TLDs such as .test, .example, .internal):
        # treat the last label as the suffix, so www.x.test -> x.test.
        return ".".join(labels[-2:])
    return host


def suffix_of(host: str) -> str:
    return str(_extractor()(host).suffix)


def domain_label(host: str) -> str:
    """The registrable label without suffix: ``pfizer-viagra-shop.xyz`` -> ``pfizer-viagra-shop``.

    Like :func:`registered_domain`, a host on a suffix the list does not know (``www.x.test``)
    takes its second-to-last label.
    """
    ext = _extractor()(host)
    if ext.suffix:
        return str(ext.domain)
    labels = (host or "").strip().lower().rstrip(".").split(".")
    return labels[-2] if len(labels) >= 2 else labels[0]


@functools.lru_cache(maxsize=4096)
def site_domain(host: str) -> str:
    """Like :func:`registered_domain`, but a host under a shared-hosting suffix of the list's private
    section keeps its own label: ``shop1.myshopify.com`` -> ``shop1.myshopify.com`` (two shops there
    are two operators), ``www.example.co.uk`` -> ``example.co.uk``."""
    host = (host or "").strip().lower().rstrip(".")
    if not host or host.startswith("["):
        return host
    ext = _extractor()(host, include_psl_private_domains=True)
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    return registered_domain(host)
