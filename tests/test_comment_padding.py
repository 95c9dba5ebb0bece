"""Long HTML comments do not count against the body cap: a page padded with megabytes of comment
before its offer is read to the offer (issue 11, item 2; real server on 127.0.0.1)."""

from __future__ import annotations

import random

from pytest_httpserver import HTTPServer

from pharmcheck.fetch import fetch_site
from pharmcheck.fetch.comments import CommentSkipper
from pharmcheck.options import ScanOptions
from pharmcheck.target import parse_target

OFFER = "<p>Order tramadol without prescription, overnight delivery.</p>"


def _filter(data: bytes, cuts: list[int]) -> bytes:
    sk = CommentSkipper(keep=8)
    out, at = b"", 0
    for cut in [*cuts, len(data)]:
        out += sk.feed(data[at:cut])
        at = cut
    return out + sk.feed(b"", final=True)


def test_comment_skipper_keeps_markup_and_cuts_only_long_comments_at_any_chunking() -> None:
    html = (b"<html><head><title>a <!-- not a comment</title><script>if (a<!--b) x='-->';</script></head>"
            b"<body><!-->shown<!--->shown2<p>x</p><!-- " + b"y" * 100 + b" --><p>after</p>"
            b"<!-- z --!><p>bang</p><STYLE>/*<!--*/</STYLE><b>end</b></body></html>")
    whole = _filter(html, [])
    assert b"<title>a <!-- not a comment</title>" in whole
    assert b"if (a<!--b) x='-->';" in whole
    assert b"<!-->shown<!--->shown2" in whole
    assert b"<!-- yyyyyyy-->" in whole and b"y" * 9 not in whole
    assert b"<p>after</p><!-- z --!><p>bang</p><STYLE>/*<!--*/</STYLE><b>end</b>" in whole
    rng = random.Random(5)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(html)), rng.randint(1, 12)))
        assert _filter(html, cuts) == whole, cuts


def test_page_padded_with_a_huge_comment_is_read_to_its_end(httpserver: HTTPServer) -> None:
    body = ("<html><body><h1>Pharmacy</h1><!--" + "x" * 3_200_000 + "-->" + OFFER + "</body></html>")
    httpserver.expect_request("/").respond_with_data(body, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    opts = ScanOptions(allow_private=True, timeout=5.0, deadline=30.0, max_pages=1, offline=True)
    snap = fetch_site(parse_target(httpserver.url_for("/")), opts)
    home = snap.pages[0]
    assert not home.truncated
    assert "tramadol without prescription" in home.html
    assert len(home.html) < 10_000


def test_endless_comment_stays_bounded(httpserver: HTTPServer) -> None:
    body = "<html><body><!--" + "x" * 4_000_000
    httpserver.expect_request("/").respond_with_data(body, content_type="text/html")
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    opts = ScanOptions(allow_private=True, timeout=5.0, deadline=30.0, max_pages=1, offline=True,
                       max_bytes=200_000)
    snap = fetch_site(parse_target(httpserver.url_for("/")), opts)
    home = snap.pages[0]
    assert home.truncated  # more than RAW_FACTOR x the cap was read: cut, and the report will say so
