"""What the connecting code will really reach: host parsing and address checks for the SSRF guard.

Two parsers disagreeing is the classic SSRF bypass: ``http://127.0.0.1:80\\@public.test/``
is ``public.test`` to :func:`urllib.parse.urlsplit` but ``127.0.0.1`` to urllib3, which
ends the authority at ``\\``. So the guard reads the host with urllib3's ``parse_url`` (the
parser that connects), refuses a ``\\`` in the authority outright, and refuses a URL both
parsers do not agree on. Numeric IPv4 spellings (``2130706433``, ``0x7f.0.0.1``, ``127.1``,
``0177.0.0.1``) are IP literals too: ``inet_aton`` (and so every resolver and proxy) reads
them that way. IPv6 forms that embed an IPv4 address (mapped, 6to4, NAT64, Teredo) are judged
by the embedded address. Finally :func:`check_peer` judges the address a socket actually
connected to, which closes DNS rebinding.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from urllib3.util import parse_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NUMERIC_V4 = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(OSError):
    """A connection reached (or would reach) a non-public address."""


def embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv6 one (mapped, 6to4, NAT64, Teredo server/client)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.teredo is not None:
        return ip.teredo[1]
    # IPv4-compatible (deprecated ::a.b.c.d)
    if int(ip) >> 32 == 0 and int(ip) > 0xFFFF:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses, judging embedded IPv4 too."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_v4(ip)
        if inner is not None and not is_public(inner):
            return False
        if ip.ipv4_mapped is not None:
            return True
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def literal_ip(host: str) -> IPAddress | None:
    """The address a host names without DNS: IPv4/IPv6 literals and every numeric IPv4 spelling."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except (OSError, ValueError):
            return None
    return None


def connecting_host(url: str) -> tuple[str, str]:
    """``(host, problem)``: the host urllib3 will connect to, or a reason the URL is refused."""
    try:
        split = urlsplit(url)
        split_host = (split.hostname or "").lower()
    except ValueError:
        return "", f"malformed URL {url!r}"
    rest = url.split("://", 1)[1] if "://" in url else url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "\\" in authority or "\\" in split.netloc:
        return "", f"refusing a backslash in the host part of {url!r}"
    try:
        parsed = parse_url(url)
    except Exception:
        return "", f"malformed URL {url!r}"
    host = (parsed.host or "").strip("[]").lower()
    if host != split_host.strip("[]"):
        return "", f"refusing an ambiguous URL (hosts {host!r} and {split_host!r}): {url!r}"
    return host, ""


def check_peer(sock: socket.socket) -> None:
    """Raise :class:`AddressRefused` when ``sock`` is connected to a non-public address."""
    try:
        peer = sock.getpeername()[0]
    except OSError:
        return
    ip = literal_ip(str(peer))
    if ip is None or not is_public(ip):
        raise AddressRefused(f"refusing connection to non-public address {peer}; allow_private is off")
