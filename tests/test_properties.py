"""Property tests (hypothesis) for the parsers that read hostile input.

- ``parse_target`` takes anything a user or a scraped list can contain: it either returns
  http(s) candidates or raises :class:`TargetError`, nothing else.
- ``ParsedPage`` (text, links, forms, JSON-LD, language) reads arbitrary HTML-ish text
  without raising, and only yields http(s) links.
- The rule registry on arbitrary pages produces no ``error`` findings (a rule that raises
  becomes an ``error`` finding, so this catches crashing rules).
- The output helpers in ``safety`` neutralise what they promise to neutralise.

Example counts are modest so the suite stays fast; the strategies mix random text with
fragments hostile pages really use (deep nesting, broken tags, odd schemes, escapes).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pharmcheck.checks import run_checks
from pharmcheck.findings import Outcome
from pharmcheck.knowledge import default_knowledge
from pharmcheck.safety import clean_text, csv_cell, safe_filename
from pharmcheck.site import ParsedPage, Site
from pharmcheck.snapshot import Page, Snapshot
from pharmcheck.target import Target, TargetError, parse_target, redact

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- targets ------------------------------------------------------------------------------

_url_bits = st.sampled_from([
    "http://", "https://", "HTTP://", "ftp://", "file:///", "javascript:", "data:text/html,", "mailto:",
    "//", "user:pass@", "@", ":", ":80", ":99999", ":-1", "[::1]", "[", "]", "127.0.0.1", "0x7f.1",
    "xn--mnchen-apotheke-1vb.de", "münchen-apotheke.de", "example.com", "localhost", "a..b", ".",
    "-bad-.com", "/", "?", "#", "%00", "%2e%2e/", "\ufeff", " ", "\t", "\n", "\u202e", "ß", "例え.テスト",
    "a" * 64 + ".com", "www.", ".co.uk",
])
_targets = st.one_of(
    st.text(max_size=80),
    st.lists(_url_bits, max_size=8).map("".join),
    st.tuples(st.lists(_url_bits, max_size=4).map("".join), st.text(max_size=20)).map("".join),
)


@FAST
@given(_targets)
def test_parse_target_raises_only_target_error(text: str) -> None:
    try:
        target = parse_target(text)
    except TargetError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(target, Target)
    assert target.input == redact(text)  # echoed as given, minus any password
    assert "@" not in text or "//" not in text or target.input.count("@") <= text.count("@")
    assert target.candidates
    for url in target.candidates:
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https")
        assert parts.hostname
        assert "@" not in parts.netloc  # credentials never travel into candidates
        assert not parts.fragment


@FAST
@given(st.text(max_size=60))
def test_redact_never_raises_and_removes_password(secret: str) -> None:
    url = f"http://user:{secret}@example.com/x"
    out = redact(url)
    assert isinstance(out, str)
    if secret and not any(c in secret for c in "@/?#\\"):
        netloc = out.split("//", 1)[1].split("/", 1)[0]  # by hand: urlsplit rejects some of these
        assert secret not in netloc.rsplit("@", 1)[0] or "@" not in netloc, out


@pytest.mark.parametrize("text", [
    "münchen-apotheke.de", "xn--mnchen-apotheke-1vb.de", "[::1]:8080", "http://[2001:db8::1]/",
    "https://user:secret@shop.example.com:8443/path?q=1#frag", "\ufeffexample.com", "  example.com  ",
])
def test_parse_target_examples(text: str) -> None:
    target = parse_target(text)
    assert all(u.startswith(("http://", "https://")) for u in target.candidates)
    assert all("secret" not in u and "#" not in u for u in target.candidates)


@pytest.mark.parametrize("text", [
    "javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>x</b>", "ftp://example.com/",
    "", "   ", "\ufeff", "exa mple.com", "http://", "http://[::1", "gopher://x.example/",
])
def test_parse_target_rejects(text: str) -> None:
    with pytest.raises(TargetError):
        parse_target(text)


# --- page parsing -------------------------------------------------------------------------

_html_bits = st.sampled_from([
    "<html>", "</html>", "<head>", "<body>", "<div>", "</div>", "<p>", "</p>", "<br>", "<br/>",
    "<a href=\"/contact\">", "<a href=\"javascript:alert(1)\">", "<a href=\"http://[::1\">",
    "<a href=\"//evil.example/x\">", "<a href=\"data:text/html,x\">", "<a href=\"http://a:b@c.example\">",
    "<a href=\"https://xn--80ak6aa92e.com/\">", "<a href='\x00'>", "<a href=\"http://%zz\">", "</a>",
    "<a href=\"http://[::1]:99999/\">", "<a href=\"http:///nohost\">", "<a href=\"mailto:x@y\">",
    "<form action=\"/login\" method=POST><input type=password></form>", "<form action=\"\x1b[31m\">",
    "<script type=\"application/ld+json\">", "{\"@type\":\"Pharmacy\"}", "[[[[[[[[[[", "</script>",
    "<script>alert(1)</script>", "<style>p{}</style>", "<!--", "-->", "<![CDATA[", "]]>", "<!doctype html>",
    "<html lang=\"de-DE\">", "<html lang=\"\">", "<html lang>", "<title>", "</title>", "<svg><a>",
    "<template><p>hidden", "&amp;", "&#0;", "&#x110000;", "&nbsp;", "\x1b[31m", "\x07", "\u202e",
    "Straße", "€", "Rx only", "prescription", "viagra", "no prescription needed", "licence 1234567",
    "<", ">", "\"", "'", "=", "\x00", "\ud7ff", "\n", " ",
])
_html = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(_html_bits, st.text(max_size=10)), max_size=60).map("".join),
)


def _page(html: str, url: str = "https://www.example-pharmacy.com/", kind: str = "home") -> Page:
    return Page(url=url, status=200, kind=kind, content_type="text/html", html=html)


@FAST
@given(_html)
def test_parsed_page_never_raises(html: str) -> None:
    pp = ParsedPage(_page(html), "example-pharmacy.com")
    assert isinstance(pp.text, str)
    assert all(line.strip() == line and line for line in pp.lines)
    for link in pp.links:
        parts = urlsplit(link.url)
        assert parts.scheme in ("http", "https") and parts.hostname
        assert "#" not in link.url
        assert len(link.text) <= 200
    for form in pp.forms:
        assert isinstance(form.action, str)
    assert isinstance(pp.jsonld, list)
    assert isinstance(pp.lang, str)
    assert isinstance(pp.title, str)
    if pp.text:
        assert isinstance(pp.excerpt(0, min(5, len(pp.text))), str)
    for hit in pp.search(re.compile(r"pharm\w*", re.I)):
        assert hit.evidence().url == pp.url


def test_parsed_page_deep_nesting_and_json() -> None:
    deep = "<div>" * 50_000 + "hello" + "</div>" * 50_000
    deep_json = '<script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000 + "</script>"
    pp = ParsedPage(_page(deep + deep_json), "example-pharmacy.com")
    assert "hello" in pp.text
    assert isinstance(pp.jsonld, list)


def _site(pages: list[Page]) -> Site:
    snap = Snapshot(input="example-pharmacy.com", url=pages[0].url, final_url=pages[0].url,
                    registered_domain="example-pharmacy.com", start_registered_domain="example-pharmacy.com",
                    pages=pages, redirect_chain=[pages[0].url])
    return Site(snap, default_knowledge())


_kinds = st.sampled_from(["home", "contact", "about", "legal", "terms", "prescription", "product", "other"])


@SLOW
@given(st.lists(st.tuples(_html, _kinds), min_size=1, max_size=4))
def test_rules_never_error_on_arbitrary_pages(pages: list[tuple[str, str]]) -> None:
    base = "https://www.example-pharmacy.com/"
    site = _site([_page(html, f"{base}p{i}" if i else base, kind) for i, (html, kind) in enumerate(pages)])
    findings = run_checks(site)
    errors = [f"{f.id}: {f.message}" for f in findings if f.outcome == Outcome.ERROR]
    assert not errors, errors


# --- output helpers -----------------------------------------------------------------------

_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@FAST
@given(st.text(max_size=200))
def test_clean_text_has_no_controls(text: str) -> None:
    out = clean_text(text)
    assert "\x1b" not in out and "\x07" not in out
    assert not _CTRL.search(out)


@FAST
@given(st.text(max_size=100))
def test_csv_cell_never_starts_a_formula(text: str) -> None:
    out = csv_cell(text)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert "\x1b" not in out


@FAST
@given(st.text(max_size=200))
def test_safe_filename_stays_in_its_directory(name: str) -> None:
    out = safe_filename(name)
    assert out and "/" not in out and "\\" not in out and "\x00" not in out
    assert out not in (".", "..") and not out.startswith(".")
    assert PurePosixPath("snaps", out + ".json").parent == PurePosixPath("snaps")
    assert len(out.encode()) < 250
