"""Scan options: every limit and switch in one place, with its default and its valid range.

:data:`LIMITS` is the one place numeric options are validated, for the library
(``ScanOptions(...)`` raises :class:`OptionError`) and the CLI/config (``config.convert``
uses :func:`check_number`): a clear one-line message instead of a TypeError deep inside,
and no NaN, infinity or 1e300 reaching a timer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_MAX_PAGES = 12
DEFAULT_TIMEOUT = 10.0  # seconds, per request (connect and each read)
DEFAULT_DEADLINE = 60.0  # seconds, per site
DEFAULT_MAX_BYTES = 3 * 1024 * 1024  # per response body, after decompression
DEFAULT_MAX_REDIRECTS = 10


class OptionError(ValueError):
    """An option has a bad value; ``str(exc)`` names it and says what is expected."""


# name -> (kind, minimum, maximum)
LIMITS: dict[str, tuple[str, float, float]] = {
    "max_pages": ("int", 1, 10_000),
    "timeout": ("float", 0.01, 3600.0),
    "deadline": ("float", 0.01, 86_400.0),
    "max_bytes": ("int", 1024, 1 << 31),
    "max_redirects": ("int", 0, 100),
    "rate_limit": ("float", 0.0, 1_000_000.0),
    "workers": ("int", 1, 1024),
    "per_host": ("int", 1, 1024),
}


def check_number(name: str, value: object, label: str | None = None) -> int | float:
    """``value`` as the option's number type, or :class:`OptionError` (finite, in range)."""
    kind, low, high = LIMITS[name]
    label = label or name
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise OptionError(f"{label}: expected {'an integer' if kind == 'int' else 'a number'}, got {value!r}")
    try:
        num: int | float
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            num = int(value.strip()) if isinstance(value, str) else int(value)
        else:
            num = float(value.strip()) if isinstance(value, str) else float(value)
    except (ValueError, OverflowError):
        raise OptionError(
            f"{label}: expected {'an integer' if kind == 'int' else 'a number'}, got {value!r}"
        ) from None
    if isinstance(num, float) and not math.isfinite(num):
        raise OptionError(f"{label}: must be a finite number, got {value!r}")
    if num < low:
        raise OptionError(f"{label}: must be at least {low:g}, got {value!r}")
    if num > high:
        raise OptionError(f"{label}: must be at most {high:g}, got {value!r}")
    return num


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

    def __post_init__(self) -> None:
        names = {f.name for f in fields(self)}
        for name in LIMITS:
            if name in names:
                setattr(self, name, check_number(name, getattr(self, name)))
        for name in ("allow_private", "respect_robots", "offline"):
            if not isinstance(getattr(self, name), bool):
                raise OptionError(f"{name}: expected true or false, got {getattr(self, name)!r}")
