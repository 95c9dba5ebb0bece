"""The HTML report, opened in headless Chromium (Debian's ``chromium`` driven by playwright).

Proved here: the page loads with no console error and no request beyond the file itself;
the verdict filter, search and sort show the right rows; a site's detail opens with its
findings and evidence; hostile page text (``<img src=x onerror=…>`` in the title,
``</script><script>…`` in the body) runs nothing and shows as text; changes and networks
sections render; 1,000 sites stay under 1.5 MB. The browser tests skip, with the reason,
only when no Chromium can be started (``.ci/run`` installs Debian's package).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import threading
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from faultserver import offline_env, run_pharmcheck

from pharmcheck.findings import Evidence, Finding, Outcome, Severity
from pharmcheck.report import PageSummary, Report
from pharmcheck.reporters.html import script_json, write_html

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
XSS_TITLE = "<img src=x onerror=alert(1)>"
XSS_TEXT = "</script><script>alert(2)</script>"


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install '.[test]')")
    exe = chromium_path()
    pw = sync_playwright().start()
    try:
        try:
            b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS) if exe else pw.chromium.launch(
                args=CHROMIUM_FLAGS)
        except Exception as exc:  # no browser on this machine
            pytest.skip(f"no headless Chromium could be started (apt-get install chromium): {exc}"[:300])
        yield b
        b.close()
    finally:
        pw.stop()


class Opened:
    """A report open in a browser tab, with everything the page tried to do recorded."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.console: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-ready]")
        assert self.page.get_attribute("body", "data-ready") == "1", self.page.inner_text("#rows")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        problems = [c for c in self.console if c.startswith(("error", "warning"))]
        assert not problems, problems
        assert not self.errors, self.errors
        assert not self.dialogs, f"the report ran script from a site: {self.dialogs}"
        assert [u for u in self.requests if u != self.url] == [], self.requests

    def rows(self) -> list[dict[str, str]]:
        return list(self.page.eval_on_selector_all(
            "#rows tr[data-n]",
            "rs => rs.map(r => ({verdict: r.dataset.verdict, site: r.cells[0].innerText,"
            " score: r.cells[2].innerText}))",
        ))

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def opener(browser: Any) -> Iterator[Any]:
    tabs: list[Opened] = []

    def open_(path: Path) -> Opened:
        tab = Opened(browser, path)
        tabs.append(tab)
        return tab

    yield open_
    for tab in tabs:
        tab.close()


# --- reports to show -------------------------------------------------------------------------

VERDICT_CYCLE = ["legitimate", "rogue", "suspicious", "rogue", "not_pharmacy", "unreachable", "suspicious"]


def make_report(n: int, verdict: str | None = None, **extra: Any) -> Report:
    verdict = verdict or VERDICT_CYCLE[n % len(VERDICT_CYCLE)]
    domain = f"site{n:05d}-{verdict.replace('_', '')}.example"
    base = f"https://www.{domain}/"
    score = None if verdict == "unreachable" else {"legitimate": 90, "suspicious": 55, "rogue": 10,
                                                    "not_pharmacy": 50}[verdict] + n % 7
    findings = []
    if verdict != "unreachable":
        findings = [
            Finding("PC402", "prescription.no_prescription_offer",
                    Outcome.FAIL if verdict == "rogue" else Outcome.PASS,
                    f"offer number {n} without prescription" if verdict == "rogue" else "no such offer",
                    Severity.CRITICAL, -100 if verdict == "rogue" else 0,
                    [Evidence(base + "shop", f"Buy pills item {n} with no prescription needed")],
                    decisive=verdict == "rogue"),
            Finding("PC201", "identity.physical_address",
                    Outcome.PASS if verdict == "legitimate" else Outcome.FAIL,
                    f"address of site {n}", Severity.HIGH, 15 if verdict == "legitimate" else -10,
                    [Evidence(base + "contact", f"{n} High Street, Leeds LS1 {n % 9}AA")]),
            Finding("PC002", "scope.languages", Outcome.INFO, "languages: en", data={"languages": ["en"]}),
        ]
    return Report(
        input=domain, url=base, final_url=base, verdict=verdict, score=score, findings=findings,
        pages=[PageSummary(base, 200, "home"), PageSummary(base + "contact", 200, "contact")],
        registered_domain=domain, tls={"outcome": "verified"}, algorithm_version="test.1",
        scanned_at="2026-01-01T00:00:00Z", elapsed_ms=100 + n,
        credentials=[{"kind": "seal_link", "registry": "gphc", "registry_name": "GPhC register",
                      "url": f"https://www.pharmacyregulation.org/registers/pharmacy/{n}", "number": None,
                      "status": "verified" if verdict == "legitimate" else "unverified", "evidence": []}],
        domain={"age_days": 400 + n, "status": "ok"}, **extra,
    )


def write(path: Path, reports: list[Report], **kw: Any) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        write_html(fh, reports, **kw)
    return path


# --- without a browser -----------------------------------------------------------------------


def test_script_json_cannot_close_the_script() -> None:
    text = script_json({"t": XSS_TEXT + "<!-- \u2028\u2029 & >"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text)["t"] == XSS_TEXT + "<!-- \u2028\u2029 & >"


def test_page_is_self_contained_and_has_a_strict_csp(tmp_path: Path) -> None:
    html = write(tmp_path / "r.html", [make_report(i) for i in range(20)], title=XSS_TITLE).read_text()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = csp.group(1).replace("&#39;", "'")
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", policy)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "a resource from elsewhere"
    assert XSS_TITLE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_thousand_sites_stay_under_the_size_limit() -> None:
    out = io.StringIO()
    write_html(out, (make_report(i) for i in range(1000)))
    assert len(out.getvalue().encode()) <= 1_500_000


# --- in the browser --------------------------------------------------------------------------


def test_filter_search_sort_and_pages(tmp_path: Path, opener: Any) -> None:
    reports = [make_report(i) for i in range(250)]
    tab = opener(write(tmp_path / "r.html", reports))
    page = tab.page
    assert page.inner_text("#count") == "250 of 250 sites"
    assert len(tab.rows()) == 100  # one page at a time
    page.select_option("#f-verdict", "rogue")
    rogue = [r for r in reports if r.verdict == "rogue"]
    assert page.inner_text("#count") == f"{len(rogue)} of 250 sites"
    rows = tab.rows()
    assert rows and {r["verdict"] for r in rows} == {"rogue"}
    assert [r["site"] for r in rows] == [r.registered_domain for r in rogue][:100]
    page.select_option("#f-verdict", "")
    page.fill("#f-search", "site00123")
    page.wait_for_function("() => document.getElementById('count').textContent.startsWith('1 of')")
    assert [r["site"] for r in tab.rows()] == [reports[123].registered_domain]
    page.fill("#f-search", "")
    page.wait_for_function("() => document.getElementById('count').textContent.startsWith('250 of')")
    page.click("#table th[data-key=s]")
    page.click("#table th[data-key=s]")  # descending
    scores = [int(r["score"]) for r in tab.rows() if r["score"] != "–"]
    assert scores == sorted(scores, reverse=True) and scores[0] == max(r.score or 0 for r in reports)
    page.click("#next")
    assert page.inner_text("#pageinfo") == "page 2 of 3"
    tab.assert_clean()


def test_detail_opens_with_findings_and_evidence(tmp_path: Path, opener: Any) -> None:
    tab = opener(write(tmp_path / "r.html", [make_report(i) for i in range(10)]))
    page = tab.page
    assert page.is_hidden("#detail")
    page.click("#rows tr[data-verdict=rogue] >> nth=0")
    page.wait_for_selector("#detail[data-n]")
    text = page.inner_text("#detail")
    assert "site00001-rogue.example" in text and "decisive" in text
    assert "offer number 1 without prescription" in text
    assert "Buy pills item 1 with no prescription needed" in text  # the excerpt
    assert "GPhC register" in text and "Pages crawled (2)" in text
    links = page.eval_on_selector_all("#detail a", "as => as.map(a => [a.href, a.rel, a.target])")
    assert "https://www.site00001-rogue.example/shop" in [h for h, _r, _t in links]
    assert all(rel == "noopener noreferrer nofollow" and t == "_blank" for _h, rel, t in links)
    tab.assert_clean()  # opening the detail loaded nothing


def test_changes_and_networks_sections(tmp_path: Path, opener: Any) -> None:
    # the shapes of issue 13's change object and issue 14's clusters
    reports = [make_report(0, change={"status": "changed", "regression": True, "direction": "worse",
                                      "verdict": {"from": "legitimate", "to": "rogue"}, "score_delta": -80,
                                      "items": [{"kind": "verdict", "severity": "alert",
                                                 "message": f"verdict legitimate -> rogue {XSS_TEXT}"}],
                                      "summary": "verdict legitimate -> rogue"}),
               make_report(1, change={"status": "unchanged", "items": []}), make_report(2)]
    clusters = [{"id": "net-1", "members": [{"input": r.input, "domain": r.registered_domain,
                                             "verdict": r.verdict} for r in reports[:2]],
                 "evidence": [{"kind": "checkout_host", "value": f"pay.{XSS_TITLE}.example",
                               "strength": "strong", "sites": 2,
                               "domains": [r.registered_domain for r in reports[:2]]}, XSS_TEXT]}]
    tab = opener(write(tmp_path / "r.html", reports, clusters=clusters))
    changes = tab.page.inner_text("#changes")
    assert "changed: 1" in changes and "unchanged: 1" in changes
    assert "verdict legitimate → rogue" in changes and "score -80" in changes and "regression" in changes
    assert XSS_TEXT in changes
    networks = tab.page.inner_text("#networks")
    assert "net-1 (2 sites)" in networks and "site00000-legitimate.example" in networks
    assert "checkout_host" in networks and XSS_TITLE in networks and XSS_TEXT in networks
    assert "strong" in networks
    assert tab.page.evaluate("document.images.length") == 0
    tab.assert_clean()


# The title is text (RCDATA) in HTML; the script-closing words are escaped in the page, so the
# visible text (what pharmcheck quotes) holds them literally; raw copies are markup as well.
HOSTILE_PAGE = f"""<!doctype html><html lang="en"><head><title>{XSS_TITLE}</title></head><body>
<h1>Online Pharmacy {XSS_TITLE}</h1>
<p>Buy Viagra 100mg without prescription, only $0.99 per pill. No prescription needed! {escape(XSS_TEXT)}</p>
<p>Tramadol 50mg $1.20 <button>Add to cart</button> {XSS_TEXT}</p>
<p><a href="javascript:alert(3)">Contact</a> <a href="/about">About {XSS_TEXT}</a></p>
</body></html>"""


@pytest.fixture(scope="module")
def hostile_site() -> Iterator[str]:
    body = HOSTILE_PAGE.encode("utf-8")

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status, data = (404, b"") if self.path.startswith("/robots.txt") else (200, body)
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_hostile_site_stays_inert(tmp_path: Path, hostile_site: str, opener: Any) -> None:
    out = tmp_path / "hostile.html"
    run = run_pharmcheck(["scan", hostile_site, "--allow-private", "--offline", "--max-pages", "3",
                          "--timeout", "3", "-f", "html", "-o", str(out), "--fail-on", "never"], timeout=90)
    assert run.returncode == 0, run.stderr
    html = out.read_text()
    assert XSS_TITLE not in html and XSS_TEXT not in html and "alert(3)" not in html.split("<script>")[0]
    tab = opener(out)
    tab.page.click("#rows tr[data-n] >> nth=0")
    tab.page.wait_for_selector("#detail[data-n]")
    detail = tab.page.inner_text("#detail")
    assert "rogue" in detail
    assert XSS_TEXT in detail and XSS_TITLE in detail, "the hostile words are shown as text"
    assert tab.page.evaluate("document.images.length") == 0
    runnable = tab.page.eval_on_selector_all(
        "script", "ss => ss.filter(s => !['application/json', 'application/octet-stream'].includes(s.type))"
        ".length")
    assert runnable == 1  # the report's own script, and nothing a site put in
    hrefs = tab.page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if not h.startswith(("#", "http://", "https://"))], hrefs
    tab.assert_clean()


def test_demo_report_from_the_cli(tmp_path: Path, opener: Any) -> None:
    out = tmp_path / "demo.html"
    run = run_pharmcheck(["demo", "--report", f"html={out}"], timeout=180,
                         env=offline_env(PHARMCHECK_CACHE_DIR=str(tmp_path / "cache")))
    assert run.returncode == 0, run.stderr
    tab = opener(out)
    assert tab.page.title() == "pharmcheck demo"
    verdicts = {r["verdict"] for r in tab.rows()}
    assert {"legitimate", "rogue", "not_pharmacy", "unreachable"} <= verdicts
    assert "Verdicts" in tab.page.inner_text("#summary")
    shot = tmp_path / "demo.png"
    tab.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    tab.assert_clean()


def test_bad_report_path_is_a_one_line_error(tmp_path: Path) -> None:
    run = run_pharmcheck(["demo", "--report", f"html={tmp_path / 'missing' / 'x.html'}"], timeout=60,
                         env=offline_env(PHARMCHECK_CACHE_DIR=str(tmp_path / "cache")))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("pharmcheck: error: cannot write"), run.stderr



def rows_of(html: str) -> list[list[Any]]:
    """The table rows a report carries (its compressed ``pc-rows`` block), read without a browser."""
    import base64
    import gzip

    found = re.search(r'<script type="application/octet-stream" id="pc-rows">([^<]*)</script>', html)
    assert found is not None
    return list(json.loads(gzip.decompress(base64.b64decode(found.group(1)))))


def test_score_and_resume_write_html(tmp_path: Path, hostile_site: str) -> None:
    flags = ["--allow-private", "--offline", "--max-pages", "2", "--timeout", "3", "--fail-on", "never", "-q"]
    first = run_pharmcheck(["scan", hostile_site, *flags, "-f", "jsonl", "-o", str(tmp_path / "out.jsonl"),
                            "--save-snapshot", str(tmp_path / "snaps")], timeout=90)
    assert first.returncode == 0, first.stderr
    score = run_pharmcheck(["score", str(tmp_path / "snaps"), "-f", "html", "-o", str(tmp_path / "s.html"),
                           "--fail-on", "never"])
    assert score.returncode == 0, score.stderr
    assert [r[2] for r in rows_of((tmp_path / "s.html").read_text())] == ["rogue"]
    # --resume: the HTML report covers the whole batch, the results already in the jsonl included
    second = run_pharmcheck(["scan", hostile_site, hostile_site + "about", *flags, "-f", "jsonl", "-o",
                             str(tmp_path / "out.jsonl"), "--resume", "--report",
                             f"html={tmp_path / 'all.html'}"], timeout=90)
    assert second.returncode == 0, second.stderr
    rows = rows_of((tmp_path / "all.html").read_text())
    assert sorted(r[0] for r in rows) == sorted([hostile_site, hostile_site + "about"])


def test_eval_writes_html(tmp_path: Path) -> None:
    from pharmcheck.demo import SITES_DIR

    out = tmp_path / "eval.html"
    run = run_pharmcheck(["eval", str(SITES_DIR), "--report", f"html={out}"], timeout=180,
                         env=offline_env(PHARMCHECK_CACHE_DIR=str(tmp_path / "cache")))
    assert run.returncode == 0, run.stderr
    html = out.read_text()
    assert "<title>pharmcheck eval: sites</title>" in html
    assert {r[2] for r in rows_of(html)} >= {"legitimate", "rogue", "not_pharmacy"}


def test_password_in_a_target_url_never_reaches_the_report(tmp_path: Path, hostile_site: str) -> None:
    import base64
    import gzip

    secret = "s3cr3tPassw0rd"
    out = tmp_path / "r.html"
    url = hostile_site.replace("http://", f"http://admin:{secret}@")
    run = run_pharmcheck(["scan", url, "--allow-private", "--offline", "--max-pages", "2", "--timeout", "3",
                          "--fail-on", "never", "-f", "html", "-o", str(out)], timeout=90)
    assert run.returncode == 0, run.stderr
    html = out.read_text()
    blocks = re.findall(r'<script type="application/octet-stream" id="pc-[a-z0-9]+">([^<]*)</script>', html)
    assert len(blocks) == 2  # the rows and one detail block
    inflated = [gzip.decompress(base64.b64decode(b)).decode() for b in blocks]
    assert "admin:" in inflated[0] or "127.0.0.1" in inflated[0]
    assert all(secret not in text for text in [html, *inflated])
