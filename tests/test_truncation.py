"""Padding gives no false trust: when a cap cuts what is judged, the report says what was skipped
(``truncated``) and the verdict is neither ``legitimate`` nor ``not_pharmacy`` (issue 11, item 2)."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

from pharmcheck.api import scan_snapshot
from pharmcheck.knowledge import default_knowledge
from pharmcheck.options import DEFAULT_MAX_BYTES
from pharmcheck.site import MAX_TEXT_CHARS
from pharmcheck.snapshot import Page, Snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"
# our own wording (not from any corpus): a rogue offer of prescription-only and controlled medicines
ROGUE_BLOCK = ("<div><h2>Special offers</h2><p>Buy Viagra, tramadol and Xanax online without prescription. "
               "No prescription needed, overnight delivery. Viagra 100mg 30 pills $59.</p></div>")


def _legit() -> Snapshot:
    path = SNAPSHOTS / "uk-riverside-pharmacy.json.gz"
    return Snapshot.from_json(gzip.decompress(path.read_bytes()).decode("utf-8"))


def _with_home(snap: Snapshot, html: str, truncated: bool) -> Snapshot:
    home = replace(snap.pages[0], html=html, truncated=truncated)
    return replace(snap, pages=[home, *snap.pages[1:]])


def _insert(html: str, block: str) -> str:
    at = html.lower().rfind("</body>")
    return html[:at] + block + html[at:] if at >= 0 else html + block


def test_legitimate_copy_with_a_rogue_block_is_rogue_unpadded() -> None:
    snap = _legit()
    kb = default_knowledge()
    assert scan_snapshot(snap, kb).verdict == "legitimate"
    control = _with_home(snap, _insert(snap.pages[0].html, ROGUE_BLOCK), truncated=False)
    assert scan_snapshot(control, kb).verdict == "rogue"


def test_comment_padding_past_the_body_cap_is_not_judged_legitimate() -> None:
    snap = _legit()
    home = snap.pages[0].html
    padded = _insert(home, "<!--" + "x" * 3_200_000 + "-->" + ROGUE_BLOCK)
    cut = padded.encode("utf-8")[:DEFAULT_MAX_BYTES].decode("utf-8", "ignore")  # what the crawler keeps
    report = scan_snapshot(_with_home(snap, cut, truncated=True), default_knowledge())
    assert report.verdict not in ("legitimate", "not_pharmacy")
    assert any(t["cap"] == "body_bytes" and t["url"] == snap.pages[0].url for t in report.truncated)
    assert any("judged on part of the site" in r for r in report.reasons[:2])  # after the role


def test_rogue_text_in_the_middle_of_a_huge_visible_text_is_not_judged_not_pharmacy() -> None:
    filler = "<p>" + "Gardening notes about roses and tulips in spring. " * 20 + "</p>\n"
    half = filler * ((MAX_TEXT_CHARS // len(filler)) // 2 + 40)
    html = f"<html><body>{half}{ROGUE_BLOCK}{half}</body></html>"
    url = "https://www.padded-blog.example/"
    page = Page(url=url, status=200, kind="home", content_type="text/html", html=html)
    snap = Snapshot(input=url, url=url, final_url=url, registered_domain="padded-blog.example", pages=[page])
    report = scan_snapshot(snap, default_knowledge())
    assert report.verdict not in ("legitimate", "not_pharmacy")
    assert [t["cap"] for t in report.truncated] == ["text_window"]


def test_judging_budget_cuts_work_and_says_so() -> None:
    from pharmcheck.checks import run_checks
    from pharmcheck.site import Site

    site = Site(_legit(), default_knowledge(), budget_s=0.0)
    assert run_checks(site) == []
    cuts = [t for t in site.truncation if t["cap"] == "judging_budget"]
    assert cuts and "rules PC001" in cuts[0]["skipped"]
    assert any("judging stopped" in n for n in site.notes)


def test_nothing_cut_means_nothing_reported() -> None:
    report = scan_snapshot(_legit(), default_knowledge())
    assert report.truncated == []
    assert report.to_dict()["truncated"] == []
