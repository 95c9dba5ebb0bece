"""Link resolution without ``urljoin`` for the common href shapes, with exactly ``urljoin``'s result.

A page of 100+ links spent more on ``urljoin`` + ``urlsplit`` (a dozen function calls each) than
on reading the links. Most hrefs have one of three plain shapes: absolute ``http(s)://host/path?query``,
root-relative ``/path?query`` or relative ``path?query``, in a conservative character set (RFC 3986
unreserved and sub-delimiters, ``%``, ``:``, ``@``; no ``;``, no whitespace, no empty query, no ``//``
or dot segments in a path). For those, ``urljoin`` returns the href itself (absolute), the base's
``scheme://netloc`` followed by the href (root-relative) or by the base's directory and the href
(relative, when the base's path is plain too), and the host is the href's host (lower-cased) or the
base's; every other href goes through ``urljoin``/``urlsplit`` as before.
``tests/test_linkres.py`` checks the fast path against ``urljoin`` with generated hrefs.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

SAFE_CHARS = r"A-Za-z0-9._~!$&'()*+,=:@%-"  # href characters both fast paths accept (also fetch.discovery)
_CHARS = SAFE_CHARS
# absolute: scheme, host, port, path, query (the fragment is cut before matching)
_ABSOLUTE = re.compile(rf"https?://([A-Za-z0-9.-]+)(?::[0-9]{{1,5}})?(?:/[{_CHARS}/]*)?(?:\?[{_CHARS}/?]+)?")
# root-relative: segments without "//", then an optional query; dot segments are checked apart.
# Each "/" after the first follows a non-empty segment: one way to match any path (linear; a nested
# ``(?:[…]+/?)*`` would backtrack exponentially on a long segment followed by a refused character).
_ROOTED = re.compile(rf"/(?:[{_CHARS}]+/)*[{_CHARS}]*(?:\?[{_CHARS}/?]+)?")
_DOT_SEGMENT = re.compile(r"/\.\.?(?=/|\?|$)")


class Base:
    """What resolution needs of a page URL, computed once per page."""

    __slots__ = ("dir", "host", "origin", "url", "valid")

    def __init__(self, url: str) -> None:
        self.url = url
        self.origin = ""  # "scheme://netloc" when root-relative hrefs may take the fast path
        self.dir = ""  # the path up to its last "/" when relative hrefs may take it too
        self.host = ""
        self.valid = False  # urljoin can read it (it raises ValueError on a URL urlsplit refuses)
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return
        self.valid = True
        if parts.scheme in ("http", "https") and parts.netloc and host:
            self.origin = f"{parts.scheme}://{parts.netloc}"
            self.host = host
            path = parts.path
            if not path:
                self.dir = "/"
            elif plain_rooted(path):  # no ";", no "//", no dot segment: urljoin keeps it as it is
                self.dir = path[: path.rfind("/") + 1]


def plain_rooted(url: str) -> bool:
    """A root-relative URL (fragment cut) that joins to ``origin + url``: plain characters, no "//",
    no dot segment in the path."""
    return _ROOTED.fullmatch(url) is not None and not _DOT_SEGMENT.search(url.split("?", 1)[0])


def fast(base: Base, href: str) -> tuple[str, str] | None:
    """(absolute URL without fragment, lower-cased host) when ``href`` has a plain shape, else None.

    Equal to ``urljoin(base.url, href).split("#", 1)[0]`` and that URL's ``urlsplit(...).hostname``.
    """
    url = href.split("#", 1)[0]
    if url.startswith("/"):
        if not base.origin or not plain_rooted(url):  # _ROOTED never matches "//"
            return None
        return base.origin + url, base.host
    m = _ABSOLUTE.fullmatch(url)
    if m is not None:
        return (url, m.group(1).lower()) if base.valid else None
    # relative (``page.html?x=1``): joined to the base's directory; no ":" before the first "/" or "?"
    # (urlsplit would read a scheme), plain characters, no "//", no dot segment
    if (base.dir and url and url[0] != "?" and ":" not in url.split("/", 1)[0].split("?", 1)[0]
            and plain_rooted("/" + url)):
        return base.origin + base.dir + url, base.host
    return None


def slow(base_url: str, href: str) -> tuple[str, str] | None:
    """The reference: (absolute URL without fragment, host) of an http(s) result, else None."""
    try:
        absolute = urljoin(base_url, href).split("#", 1)[0]
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and parts.hostname:
            return absolute, parts.hostname
    except ValueError:
        return None
    return None


def resolve(base: Base, href: str) -> tuple[str, str] | None:
    """(absolute URL without fragment, host) of an http(s) link, else None (``slow``'s result)."""
    got = fast(base, href)
    return got if got is not None else slow(base.url, href)


def host_of(base: Base, href: str) -> str:
    """``urlsplit(urljoin(base.url, href)).hostname or ""`` (lower-cased); "" when that raises."""
    got = fast(base, href)
    if got is not None:
        return got[1]
    try:
        return urlsplit(urljoin(base.url, href)).hostname or ""
    except ValueError:
        return ""
