"""The link fast path (pharmcheck.linkres) gives exactly what urljoin + urlsplit give."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck import linkres

BASES = [
    "https://shop.example/",
    "https://Shop.Example:8443/a/b/page.html?x=1#top",
    "http://shop.example",
    "http://user@shop.example/dir//sub/./x",
    "https://[::1]:8080/p",
    "https://[::1/p",  # urlsplit refuses it: urljoin raises, whatever the href
    "file:///tmp/page.html",
    "https://shop.example/a;p?q",
    "HTTPS://SHOP.example/x",
    "https://shop.example/dir/sub/",
    "https://shop.example/dir/index.php?route=a/b&x=1",
    "https://shop.example?q=1",
    "https://shop.example/a:b/c@d/",
    "https://shop.example/.well/x..y",
    "",
]
PIECES = ["http://", "https://", "HTTP://", "//", "/", "./", "../", ".", "..", "?", "#", ":", ";", "%2F",
          "@", "[", "]", " ", "\t", "\n", "a", "B", "0", "-", "_", "~", "host.example", "x.co.uk", ":80",
          "=", "&", "+", "\\", "é", "mailto:", "javascript:", "/p", "q", "index.php", "page.html", ".x", "x."]

href_strategy = st.lists(st.sampled_from(PIECES), min_size=0, max_size=8).map("".join)


reference = linkres.slow  # urljoin + urlsplit, what every fast path must equal


def reference_host(base: str, href: str) -> str:
    try:
        return urlsplit(urljoin(base, href)).hostname or ""
    except ValueError:
        return ""


@settings(max_examples=600, deadline=None)
@given(base=st.sampled_from(BASES), href=href_strategy)
def test_fast_path_equals_urljoin(base: str, href: str) -> None:
    b = linkres.Base(base)
    assert linkres.resolve(b, href) == reference(base, href)
    assert linkres.host_of(b, href) == reference_host(base, href)
    got = linkres.fast(b, href)
    if got is not None:
        assert got == reference(base, href)


def test_common_shapes_take_the_fast_path() -> None:
    b = linkres.Base("https://Shop.Example:8443/a/b/page.html?x=1")
    want = ("https://Shop.Example:8443/cart?add=12&qty=1", "shop.example")
    assert linkres.fast(b, "/cart?add=12&qty=1#x") == want
    assert linkres.fast(b, "https://Other.example/p/q") == ("https://Other.example/p/q", "other.example")
    assert linkres.fast(b, "/a/../b") is None  # dot segments: urljoin resolves them
    assert linkres.fast(b, "/a//b") is None  # urljoin collapses the empty segment
    relative = ("https://Shop.Example:8443/a/b/page.html?p=a/b", "shop.example")
    assert linkres.fast(b, "page.html?p=a/b") == relative
    assert linkres.fast(b, "../page.html") is None  # dot segments
    assert linkres.fast(b, "a:b/c") is None  # a scheme for urlsplit
    assert linkres.fast(linkres.Base("https://shop.example/a//b"), "page.html") is None  # base not plain
    for href in ("/a/../b", "/a//b", "page.html", "?q", "//cdn.example/x", "../page.html", "a:b/c", "x/:y"):
        assert linkres.resolve(b, href) == reference(b.url, href)


def test_long_hostile_hrefs_end_and_agree_with_urljoin() -> None:
    """A long segment then a character the fast path refuses must not make its pattern backtrack
    (a nested ``(?:[…]+/?)*`` took seconds at 24 letters and minutes at 30); the answer is urljoin's."""
    base = linkres.Base("https://shop.example/a/")
    for href in ("/" + "a" * 5000 + " ", "/" + "a/" * 5000 + "\n", "/" + "b" * 5000 + "?" + "c" * 5000 + " ",
                 "https://shop.example/" + "d" * 5000 + " "):
        assert linkres.resolve(base, href) == reference(base.url, href)
