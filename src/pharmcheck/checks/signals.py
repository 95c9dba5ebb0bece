"""Positive signals: a named pharmacist, a prescription flow, a privacy law, the authority, clinician review.

Each is cheap for a real pharmacy and awkward for a template shop; none verifies a site
alone (registry round-trips do that), so each passes or stays ``info`` and never fails.
Word lists are data in ``rules/signals.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pharmcheck.checks import check
from pharmcheck.checks.context import LANGS, find_affirmed
from pharmcheck.checks.pagehits import first_match, has_file_input, phrases, phrases_by_lang
from pharmcheck.checks.textmatch import (
    as_strs,
    compile_all,
    compile_phrases,
    lang_table,
    per_kb,
    subtable,
)
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.knowledge import Knowledge
from pharmcheck.site import ParsedPage, Site


def _langs(data: Mapping[str, Any], key: str) -> dict[str, re.Pattern[str]]:
    return phrases_by_lang({k: v for k, v in lang_table(data, key).items() if k in LANGS})


@dataclass(frozen=True)
class Authority:
    name: str
    names: re.Pattern[str]
    hosts: tuple[str, ...]
    host_contains: tuple[str, ...]


@dataclass(frozen=True)
class SignalData:
    roles: dict[str, re.Pattern[str]]
    registration: re.Pattern[str] | None
    number: re.Pattern[str]
    window: int
    rx_flow: dict[str, re.Pattern[str]]
    rx_links: re.Pattern[str] | None
    rx_words: re.Pattern[str] | None
    privacy_acronyms: re.Pattern[str] | None
    privacy_names: re.Pattern[str] | None
    privacy_page: re.Pattern[str] | None
    authorities: tuple[Authority, ...]
    questionnaire: dict[str, re.Pattern[str]]
    review: dict[str, re.Pattern[str]]


def _build(kb: Knowledge) -> SignalData:
    data = kb.family("signals")
    reg = subtable(data, "registration")
    priv = subtable(data, "privacy")
    page_words = as_strs(priv.get("page_words"))
    acronyms = sorted(as_strs(priv.get("acronyms")), key=len, reverse=True)
    authorities = []
    for a in data.get("authorities", []):
        names = phrases(as_strs(a.get("names"))) if isinstance(a, Mapping) else None
        if isinstance(a, Mapping) and names is not None:
            authorities.append(
                Authority(
                    str(a.get("name", "")),
                    names,
                    tuple(as_strs(a.get("hosts"))),
                    tuple(as_strs(a.get("host_contains"))),
                )
            )
    return SignalData(
        roles=_langs(data, "pharmacist_roles"),
        registration=compile_all({k: v for k, v in lang_table(data, "registration").items() if k in LANGS}),
        number=kb.regex(str(reg.get("number_regex", r"\d{4,10}"))),
        window=int(reg.get("window", 300)),
        rx_flow=_langs(data, "rx_flow"),
        rx_links=compile_all({k: v for k, v in lang_table(data, "rx_flow").items() if k in LANGS}),
        rx_words=compile_phrases(as_strs(subtable(data, "rx_flow").get("prescription_words"))),
        privacy_acronyms=re.compile(r"(?<!\w)(?:" + "|".join(re.escape(a) for a in acronyms) + r")(?!\w)")
        if acronyms
        else None,
        privacy_names=phrases(as_strs(priv.get("names"))),
        privacy_page=re.compile("|".join(map(re.escape, page_words)), re.IGNORECASE) if page_words else None,
        authorities=tuple(authorities),
        questionnaire=_langs(data, "questionnaire"),
        review=_langs(data, "clinician_review"),
    )


def signal_data(kb: Knowledge) -> SignalData:
    return per_kb(kb, "signals.data", _build)


@check("PC260")
def pharmacist_named(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    d = signal_data(site.kb)
    role_only: Evidence | None = None
    for hit in find_affirmed(site, d.roles):
        text = hit.page.text
        a, b = max(0, hit.start - d.window // 3), min(len(text), hit.end + d.window)
        reg = d.registration.search(text, a, b) if d.registration is not None else None
        num = d.number.search(text, reg.start(), min(len(text), reg.end() + 60)) if reg else None
        if reg and num:
            ev = Evidence(hit.page.url, hit.page.excerpt(hit.start, num.end(), radius=40))
            yield site.finding(
                "PC260",
                Outcome.PASS,
                "responsible pharmacist named with a registration number",
                [ev],
                number=num.group(),
            )
            return
        role_only = role_only or hit.evidence()
    if role_only is not None:
        yield site.finding(
            "PC260",
            Outcome.INFO,
            "a responsible pharmacist is mentioned, without a registration number",
            [role_only],
        )
    else:
        yield site.finding("PC260", Outcome.INFO, "no responsible pharmacist named")


def _has_upload_form(page: ParsedPage, d: SignalData) -> bool:
    if d.rx_words is None or not has_file_input(page):
        return False
    # the form first: most pages have no file upload, and then the text need not be read
    if not any(form.find("input", attrs={"type": "file"}) is not None for form in page.named("form")[:50]):
        return False
    return bool(d.rx_words.search(page.text[:50000]))


@check("PC450")
def rx_flow(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    d = signal_data(site.kb)
    for page in site.pages:
        if _has_upload_form(page, d):
            yield site.finding(
                "PC450",
                Outcome.PASS,
                "prescription upload form",
                [Evidence(page.url, "form with file upload")],
                via="form",
            )
            return
    links = d.rx_links
    if links is not None:
        seen: set[str] = set()  # link texts read already (pages repeat their menus)
        for page in site.pages:
            for link in page.links:
                if link.text in seen:
                    continue
                seen.add(link.text)
                if links.search(link.text):
                    yield site.finding(
                        "PC450",
                        Outcome.PASS,
                        f"prescription flow link: {link.text[:80]}",
                        [Evidence(link.url, link.text)],
                        via="link",
                    )
                    return
    for hit in find_affirmed(site, d.rx_flow):
        yield site.finding(
            "PC450", Outcome.PASS, f"prescription flow: {hit.text[:80]}", [hit.evidence()], via="text"
        )
        return
    yield site.finding(
        "PC450", Outcome.INFO, "no prescription upload, transfer or prescriber verification found"
    )


def _is_privacy_page(page: ParsedPage, d: SignalData) -> bool:
    if page.kind == "privacy":
        return True
    return d.privacy_page is not None and bool(
        d.privacy_page.search(urlsplit(page.url).path + " " + page.title)
    )


@check("PC270")
def privacy_policy(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    d = signal_data(site.kb)
    privacy_pages = [p for p in site.pages if _is_privacy_page(p, d)]
    for page in privacy_pages:
        for pattern in (d.privacy_acronyms, d.privacy_names):
            m = first_match(page, pattern)
            if m:
                yield site.finding(
                    "PC270",
                    Outcome.PASS,
                    f"privacy policy names {m.group()}",
                    [Evidence(page.url, page.excerpt(m.start(), m.end()))],
                    law=m.group(),
                )
                return
    if privacy_pages:
        yield site.finding(
            "PC270",
            Outcome.INFO,
            "privacy page names no health or data-protection law",
            [Evidence(privacy_pages[0].url, privacy_pages[0].title)],
        )
    else:
        yield site.finding("PC270", Outcome.INFO, "no privacy page among the fetched pages")


def _host_ok(host: str, auth: Authority) -> bool:
    host = host.lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in auth.hosts) or any(
        c in host for c in auth.host_contains
    )


@check("PC350")
def competent_authority(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    d = signal_data(site.kb)
    named: list[tuple[Authority, Evidence]] = []
    hosts: dict[str, str] = {}  # the host of each link's URL, split once for all authorities
    for auth in d.authorities:
        hit = next(iter(find_affirmed(site, {"any": auth.names})), None)
        if hit is None:
            continue
        named.append((auth, hit.evidence()))
        for page in site.pages:
            for link in page.links:
                if link.same_site:
                    continue  # never the authority's site: its host need not be split out
                host = hosts.get(link.url)
                if host is None:
                    host = hosts[link.url] = urlsplit(link.url).hostname or ""
                if _host_ok(host, auth):
                    yield site.finding(
                        "PC350",
                        Outcome.PASS,
                        f"competent authority named and linked: {auth.name}",
                        [hit.evidence(), Evidence(link.url, link.text or host)],
                        authority=auth.name,
                        link=link.url,
                    )
                    return
    if named:
        auth, ev = named[0]
        yield site.finding(
            "PC350",
            Outcome.WARN,
            f"{auth.name} named but its website is not linked",
            [ev],
            authority=auth.name,
        )
    else:
        yield site.finding("PC350", Outcome.INFO, "no competent authority named")


@check("PC451")
def clinician_review(site: Site) -> Iterator[Finding]:
    if not site.pages:
        return
    d = signal_data(site.kb)
    questionnaire = list(find_affirmed(site, d.questionnaire))
    if not questionnaire:
        yield site.finding("PC451", Outcome.INFO, "no health questions before supply found")
        return
    pages = {id(h.page): h.page for h in questionnaire}
    for hit in find_affirmed(site, d.review, pages=list(pages.values())):
        q = next(h for h in questionnaire if h.page is hit.page)
        yield site.finding(
            "PC451",
            Outcome.PASS,
            "health questions are reviewed by a clinician before supply",
            [q.evidence(), hit.evidence()],
        )
        return
    yield site.finding(
        "PC451",
        Outcome.INFO,
        "health questions asked, but no clinician review stated",
        [questionnaire[0].evidence()],
    )
