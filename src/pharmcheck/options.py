"""Scan options: every limit and switch in one place, with its default."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_PAGES = 12
DEFAULT_TIMEOUT = 10.0  # seconds, per request (connect and each read)
DEFAULT_DEADLINE = 60.0  # seconds, per site
DEFAULT_MAX_BYTES = 3 * 1024 * 1024  # per response body, after decompression
DEFAULT_MAX_REDIRECTS = 10


@dataclass
class ScanOptions:
    max_pages: int = DEFAULT_MAX_PAGES
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    allow_private: bool = False  # fetch loopback/private addresses (demo and tests)
    respect_robots: bool = True
    offline: bool = False  # no lookups beyond the site itself
    rate_limit: float = 0.0  # requests per second per host, 0 = unlimited
    user_agent: str = ""  # empty: the default honest User-Agent
    rules_dirs: tuple[Path, ...] = field(default_factory=tuple)
    save_snapshot: Path | None = None
    proxy: str | None = None  # forward proxy for http and https, used instead of HTTP(S)_PROXY
    ca_bundle: str | None = None  # CA bundle file, used instead of REQUESTS_CA_BUNDLE / certifi
