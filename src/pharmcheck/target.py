"""Parse and normalise scan targets: a URL or a bare domain.

A bare domain is tried as https first, then http. Anything that is not an
http(s) URL or a plausible host name is a :class:`TargetError` with a one-line
message; nothing is fetched for it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_TARGET_LEN = 2048


class TargetError(ValueError):
    """The target cannot be scanned; ``str(exc)`` is a one-line explanation."""


@dataclass(frozen=True)
class Target:
    input: str  # exactly as given
    candidates: tuple[str, ...]  # URLs to try, in order
    host: str

    @property
    def url(self) -> str:
        return self.candidates[0]


def _valid_host(host: str) -> bool:
    if not host:
        return False
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
            return True
        except ValueError:
            return False
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(_LABEL.match(label) for label in labels)


def _strip_credentials(netloc: str) -> str:
    return netloc.rsplit("@", 1)[-1]


def parse_target(text: str) -> Target:
    raw = text
    text = text.strip().lstrip("\ufeff").strip()
    if not text:
        raise TargetError("empty target")
    if len(text) > MAX_TARGET_LEN:
        raise TargetError(f"target longer than {MAX_TARGET_LEN} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text) or " " in text:
        raise TargetError("target contains whitespace or control characters")
    m = _SCHEME.match(text)
    has_scheme = bool(m) and text[m.end():m.end() + 2] == "//" if m else False
    if m and not has_scheme and not re.match(r"^[^:/]+:\d+(/|$)", text):
        raise TargetError(f"unsupported scheme '{m.group(1).lower()}:' (only http and https are scanned)")
    if has_scheme and m:
        scheme = m.group(1).lower()
        if scheme not in ("http", "https"):
            raise TargetError(f"unsupported scheme '{scheme}' (only http and https are scanned)")
        candidates_schemes = [scheme]
        rest = text
    else:
        candidates_schemes = ["https", "http"]
        rest = "https://" + text
    try:
        parts = urlsplit(rest)
        port = parts.port
        host = (parts.hostname or "").lower()
    except ValueError as exc:
        raise TargetError(f"malformed URL: {exc}") from None
    if parts.netloc and "[" in parts.netloc:
        host = f"[{host}]"
    if not _valid_host(host):
        raise TargetError(f"not a valid host name: {host or text!r}")
    if "." not in host and not host.startswith("[") and host != "localhost":
        raise TargetError(f"not a valid host name: {host!r} (a domain needs a dot)")
    netloc = host + (f":{port}" if port else "")
    path = parts.path or "/"
    candidates = tuple(
        urlunsplit((scheme, netloc, path, parts.query, "")) for scheme in candidates_schemes
    )
    # input: as given, minus any user:password@ — reports, snapshots and --resume all echo it,
    # and a password must not reach any output (fault-injection suite, test_output_safety.py).
    return Target(input=redact(raw), candidates=candidates, host=host)


# The authority's userinfo: everything up to the last "@" before the path, query or fragment.
# Matched by regex, not urlsplit, so a malformed URL (``http://user:[@host``) is redacted too
# instead of being echoed whole (fault-injection suite, tests/test_properties.py).
_USERINFO = re.compile(r"^(\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//)[^/?#]*@")


def redact(url: str) -> str:
    """A URL with any user:password@ removed, for output. Never raises."""
    return _USERINFO.sub(r"\1", url, count=1)
