"""Registry round-trip for seals and registration numbers.

Two halves. The pure half (config, :func:`find_candidates`, :func:`assess`) reads a
parsed site and is shared by the lookups stage (to know what to fetch) and the PC31x
rules (to interpret what was fetched). The network half (:func:`lookup_entry`) fetches
one registry entry over HTTPS and reduces it to facts: which domains the entry mentions
and which website it declares. Facts, not pages, go into ``snapshot.lookups`` and the
cache, so a saved snapshot is re-scored offline with the same result.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pharmcheck import linkres
from pharmcheck import site as site_module  # site_module.pattern_shape: looked up at call time
from pharmcheck.findings import Evidence
from pharmcheck.fingerprints import lower_html
from pharmcheck.knowledge import Knowledge, RulePackError
from pharmcheck.site import ParsedPage, Site, fold
from pharmcheck.snapshot import Page
from pharmcheck.urls import domain_label, registered_domain, suffix_of

MAX_URL = 2000
MAX_LINKS_PER_PAGE = 2000
# href values read straight from the markup (entities decoded, backslashes read as slashes, as a
# browser does): a cheap pre-check so that a page with no link to a registry or a look-alike is
# never parsed into a tree in the fetch process.
_HREF = re.compile(r"""href\s*=\s*["']?\s*([^"'\s>]{1,2000})""", re.I)
MAX_IMAGES_PER_PAGE = 500
MAX_ENTRY_TEXT = 200_000
MAX_TOKENS = 5000
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{2,252}")

# Credential statuses (report field ``credentials[].status``).
VERIFIED = "verified"
UNVERIFIED = "unverified"
COUNTERFEIT = "counterfeit"

# Candidate kinds.
SEAL_LINK = "seal_link"  # a link to an entry on the official registry host
REGISTRY_LINK = "registry_link"  # a link to the official host that is not an entry
LOOKALIKE_LINK = "lookalike_link"  # a link to a host imitating a registry
NUMBER = "registration_number"  # a number printed on the site, looked up by number


@dataclass(frozen=True)
class Registry:
    id: str
    name: str
    official_domains: tuple[str, ...]
    entry: re.Pattern[str]
    entry_url: str = ""
    brand_tokens: tuple[str, ...] = ()
    number_pattern: re.Pattern[str] | None = None
    id_is_domain: bool = False
    entry_format_verified: bool = False  # the entry URL pattern is sourced, so a miss means something
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    id: str
    name: str
    registries: tuple[str, ...]
    image: re.Pattern[str]
    text: re.Pattern[str]


@dataclass
class RegistryConfig:
    registries: list[Registry]
    claims: list[Claim]
    max_lookups: int = 4
    timeout: float = 8.0
    max_bytes: int = 1 << 20
    ttl: float = 7 * 86400.0
    negative_ttl: float = 86400.0
    lookalike_max_distance: int = 1
    website_labels: re.Pattern[str] = re.compile(r"(?i)\bwebsite\b")
    not_found_text: re.Pattern[str] | None = None
    ignore_domains: frozenset[str] = frozenset()

    def by_id(self, rid: str) -> Registry | None:
        return next((r for r in self.registries if r.id == rid), None)

    def official(self, domain: str) -> Registry | None:
        return next((r for r in self.registries if domain in r.official_domains), None)

    def lookalike(self, host: str) -> Registry | None:
        """The registry ``host`` imitates, if any (never for an official host)."""
        host = host.lower().rstrip(".")
        rd = registered_domain(host)
        if self.official(rd) is not None:
            return None
        suffix = suffix_of(host)
        stem = host[: -len(suffix) - 1] if suffix and host.endswith("." + suffix) else host
        labels = [x for x in stem.split(".") if x]
        tokens = {t for label in labels for t in label.split("-") if t}
        joined = [label.replace("-", "") for label in labels]
        label = domain_label(host).replace("-", "")
        for reg in self.registries:
            for tok in reg.brand_tokens:
                if tok in tokens or (len(tok) >= 8 and any(tok in j for j in joined)):
                    return reg
            for official in reg.official_domains:
                ol = official.split(".")[0].replace("-", "")
                if label == ol:  # same name under another suffix: legitscript.co
                    return reg
                if len(ol) >= 6:
                    limit = self.lookalike_max_distance + (1 if len(ol) >= 10 else 0)
                    if 0 < _distance(label, ol, limit) <= limit:
                        return reg
        return None


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (limit + 1) once it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _pattern(value: Any, where: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise RulePackError(f"registries: {where} must be a non-empty regex string")
    try:
        return re.compile(value)
    except re.error as exc:
        raise RulePackError(f"registries: {where}: bad regex: {exc}") from None


_CONFIGS: dict[int, tuple[Knowledge, RegistryConfig]] = {}


def config(kb: Knowledge) -> RegistryConfig:
    """The registry configuration of a rule pack (parsed once per Knowledge object)."""
    hit = _CONFIGS.get(id(kb))
    if hit is not None and hit[0] is kb:
        return hit[1]
    data = kb.family("registries")
    regs = []
    for i, r in enumerate(data.get("registry", [])):
        rid = str(r.get("id") or f"registry[{i}]")
        regs.append(
            Registry(
                id=rid,
                name=str(r.get("name", rid)),
                official_domains=tuple(str(d).lower() for d in r.get("official_domains", [])),
                entry=_pattern(r.get("entry"), f"{rid}.entry"),
                entry_url=str(r.get("entry_url", "")),
                brand_tokens=tuple(str(t).lower() for t in r.get("brand_tokens", [])),
                number_pattern=_pattern(r["number_pattern"], f"{rid}.number_pattern")
                if r.get("number_pattern") else None,
                id_is_domain=bool(r.get("id_is_domain", False)),
                entry_format_verified=bool(r.get("entry_format_verified", False)),
                sources=tuple(r.get("sources", [])),
            )
        )
    claims = [
        Claim(
            id=str(c.get("id")),
            name=str(c.get("name", c.get("id"))),
            registries=tuple(c.get("registries", [])),
            image=_pattern(c.get("image"), f"claim {c.get('id')}.image"),
            text=_pattern(c.get("text"), f"claim {c.get('id')}.text"),
        )
        for c in data.get("claim", [])
    ]
    day = 86400.0
    cfg = RegistryConfig(
        registries=regs,
        claims=claims,
        max_lookups=int(data.get("max_lookups", 4)),
        timeout=float(data.get("timeout", 8.0)),
        max_bytes=int(data.get("max_bytes", 1 << 20)),
        ttl=float(data.get("ttl_days", 7)) * day,
        negative_ttl=float(data.get("negative_ttl_days", 1)) * day,
        lookalike_max_distance=int(data.get("lookalike_max_distance", 1)),
        website_labels=_pattern(data.get("website_labels", r"(?i)\bwebsite\b"), "website_labels"),
        not_found_text=(_pattern(data["not_found_text"], "not_found_text")
                        if data.get("not_found_text") else None),
        ignore_domains=frozenset(str(d).lower() for d in data.get("ignore_domains", [])),
    )
    _CONFIGS[id(kb)] = (kb, cfg)
    return cfg


# ---- candidates (pure) -------------------------------------------------------------------------


@dataclass
class Candidate:
    """One credential the site shows: a registry link, a look-alike link or a printed number."""

    registry: str
    kind: str
    url: str  # the link as found, or the register URL built from a number
    evidence: Evidence
    lookup_url: str | None = None  # HTTPS URL the lookups stage fetches
    entry_id: str = ""
    number: str | None = None
    counterfeit: str | None = None  # reason, when decided without a lookup
    insecure_link: bool = False  # the site links over http://


def site_domains(site: Site) -> set[str]:
    snap = site.snapshot
    return {d for d in (site.domain, snap.start_registered_domain) if d}


def _https(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("https", parts.netloc, parts.path or "/", parts.query, ""))


def _keyword_domain(raw: str) -> str:
    kw = unquote(raw).strip().lower()
    if "://" in kw:
        kw = urlsplit(kw).hostname or ""
    kw = kw.split("/", 1)[0].strip(". ")
    return registered_domain(kw) if kw else ""


def _link_excerpt(url: str, text: str, images: list[str]) -> str:
    what = text or " ".join(images[:2])
    return f"link to {url}" + (f" ({what})" if what else "")


_HREF_WORD = re.compile("[Hh][Rr][Ee][Ff]")  # where _HREF may start (see _hrefs)


def _hrefs(page: ParsedPage) -> Iterator[re.Match[str]]:
    """``_HREF.finditer(html)``, tried only where "href" stands in some case: no character but H, h,
    R, r, E, e, F, f matches one of those letters under ``re.IGNORECASE`` (tests/test_registry_speed.py
    checks every code point). Found by ``str.find`` in the lower-cased markup the rules share
    (:func:`pharmcheck.fingerprints.lower_html`; with no "İ", the one character lower-cased to two,
    it has each character where the markup has it), else by a scan for the four letters."""
    markup = page.page.html
    if "\u0130" in markup:
        last = 0
        match = _HREF.match
        for w in _HREF_WORD.finditer(markup):
            at = w.start()
            if at >= last:  # not inside the previous match
                m = match(markup, at)
                if m is not None:
                    last = m.end()
                    yield m
        return
    low = lower_html(page)
    match = _HREF.match
    find = low.find
    at = find("href")
    while at >= 0:
        m = match(markup, at)  # finditer's next match: the first place a match starts, from here on
        if m is None:
            at = find("href", at + 1)
        else:
            yield m
            at = find("href", m.end())  # a match is never empty


def _may_link_to_registry(
    page: ParsedPage, cfg: RegistryConfig, ours: set[str], seen: dict[str, bool],
    hosts: dict[str, dict[str, bool]] | None = None,
) -> bool:
    """Whether any href in the page's markup may point at a registry or a look-alike of one.

    ``hosts`` (one site's, optional) remembers the answer for each raw href per origin of the page:
    ``urljoin``'s netloc depends on the base's scheme and netloc only, never on its path."""
    base = linkres.Base(page.url)
    origin = base.origin  # "" when the page URL is not plain http(s): nothing remembered
    known: dict[str, bool] = hosts.setdefault(origin, {}) if hosts is not None and origin else {}
    for i, m in enumerate(_hrefs(page)):
        if i >= MAX_LINKS_PER_PAGE:
            return True  # too many to pre-check cheaply: read the page in full
        raw = m.group(1)
        flagged = known.get(raw)
        if flagged is None:
            href = html.unescape(raw).replace("\\", "/")  # as a browser reads it
            host = linkres.host_of(base, href).lower()  # urlsplit(urljoin(page.url, href)).hostname
            if not host:
                flagged = False
            else:
                if host not in seen:
                    rd = registered_domain(host)
                    seen[host] = rd not in ours and (cfg.official(rd) is not None
                                                     or cfg.lookalike(host) is not None)
                flagged = seen[host]
            known[raw] = flagged
        if flagged:
            return True
    return False


def find_candidates(site: Site, cfg: RegistryConfig) -> list[Candidate]:
    """Every registry, look-alike and number credential on the site, deduplicated, page order."""
    out: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    ours = site_domains(site)

    def add(c: Candidate) -> None:
        key = (c.registry, c.lookup_url or c.url)
        if key not in seen:
            seen.add(key)
            out.append(c)

    hosts: dict[str, bool] = {}
    href_hosts: dict[str, dict[str, bool]] = {}
    for page in site.pages:
        if not _may_link_to_registry(page, cfg, ours, hosts, href_hosts):
            continue
        for link in page.links[:MAX_LINKS_PER_PAGE]:
            if link.same_site or len(link.url) > MAX_URL:
                continue
            host = (urlsplit(link.url).hostname or "").lower()
            rd = registered_domain(host)
            if rd in ours:
                continue
            ev = Evidence(page.url, _link_excerpt(link.url, link.text, link.images))
            reg = cfg.official(rd)
            if reg is None:
                fake = cfg.lookalike(host)
                if fake is not None:
                    why = f"{host} imitates {fake.name} ({', '.join(fake.official_domains)})"
                    add(Candidate(fake.id, LOOKALIKE_LINK, link.url, ev, counterfeit=why))
                continue
            m = reg.entry.match(link.url)
            if m is None:
                add(Candidate(reg.id, REGISTRY_LINK, link.url, ev))
                continue
            entry_id = m.groupdict().get("id") or ""
            cand = Candidate(reg.id, SEAL_LINK, link.url, ev, entry_id=entry_id,
                             insecure_link=link.url.startswith("http:"))
            if reg.id_is_domain:
                named = _keyword_domain(entry_id)
                if named not in ours:
                    cand.counterfeit = f"{reg.name} link checks {named or entry_id!r}, not {site.domain}"
                    add(cand)
                    continue
            cand.lookup_url = reg.entry_url.format(id=entry_id) if reg.entry_url else _https(link.url)
            add(cand)
    linked = {(c.registry, c.entry_id) for c in out if c.kind == SEAL_LINK}
    for reg in cfg.registries:
        if reg.number_pattern is None or not reg.entry_url:
            continue
        for hit in site.search(reg.number_pattern):  # from its leading words (ParsedPage.finditer)
            number = hit.match.group(1)
            if (reg.id, number) in linked:
                continue
            url = reg.entry_url.format(id=number)
            add(Candidate(reg.id, NUMBER, url, hit.evidence(), lookup_url=url, entry_id=number,
                          number=number))
    return out


def lookup_urls(cands: list[Candidate], limit: int) -> list[tuple[str, str]]:
    """(registry id, URL) of the entries to fetch: seal links first, then numbers; at most ``limit``."""
    ordered = [c for c in cands if c.kind == SEAL_LINK] + [c for c in cands if c.kind == NUMBER]
    out: list[tuple[str, str]] = []
    for c in ordered:
        if c.lookup_url and c.counterfeit is None and all(u != c.lookup_url for _, u in out):
            out.append((c.registry, c.lookup_url))
    return out[:limit]


@dataclass
class Assessment:
    status: str  # verified | unverified | counterfeit
    reason: str
    level: str = "info"  # for unverified: "warn" (the registry said no) or "info" (could not ask)
    facts: dict[str, Any] = field(default_factory=dict)


def assess(c: Candidate, lookups: dict[str, Any], ours: set[str], cfg: RegistryConfig) -> Assessment:
    """What one credential amounts to, given the lookups stage's facts (pure)."""
    reg = cfg.by_id(c.registry)
    rname = reg.name if reg else c.registry
    # A registry whose entry format is not sourced may just render its answer differently:
    # its silence is no evidence against the site.
    miss = "warn" if reg is not None and reg.entry_format_verified else "info"
    if c.counterfeit:
        return Assessment(COUNTERFEIT, c.counterfeit)
    if c.kind == REGISTRY_LINK:
        return Assessment(UNVERIFIED, f"links to {rname} but not to a register entry", "warn")
    status = str(lookups.get("status", ""))
    facts = (lookups.get("registry") or {}).get(c.lookup_url or "")
    if not isinstance(facts, dict):
        if status == "offline":
            return Assessment(UNVERIFIED, f"{rname} entry not checked (lookups are off)")
        if status == "done":
            return Assessment(UNVERIFIED, f"{rname} entry not checked (lookup limit reached)")
        return Assessment(UNVERIFIED, f"{rname} entry not checked (no lookups in this snapshot)")
    st = facts.get("status")
    if st == "found":
        mentioned = set(facts.get("mentioned", []))
        declared = [d for d in facts.get("declared", []) if d not in ours]
        if mentioned & ours:
            return Assessment(VERIFIED, f"{rname} entry names {site_label(ours)}", facts=facts)
        if declared and c.kind == SEAL_LINK:
            return Assessment(COUNTERFEIT, f"{rname} entry belongs to {', '.join(declared[:3])}, not "
                              f"{site_label(ours)}", facts=facts)
        if declared:
            return Assessment(UNVERIFIED, f"{rname} entry for number {c.number} names "
                              f"{', '.join(declared[:3])}, not this site", "warn", facts)
        if facts.get("says_not_found"):
            return Assessment(UNVERIFIED, f"{rname} reports no such entry", miss, facts)
        return Assessment(UNVERIFIED, f"{rname} entry does not name {site_label(ours)}", miss, facts)
    if st == "not_found":
        return Assessment(UNVERIFIED, f"{rname} has no such entry (HTTP {facts.get('http_status')})",
                          miss, facts)
    why = facts.get("error") or st or "no answer"
    return Assessment(UNVERIFIED, f"{rname} could not be reached: {why}", facts=facts)


def site_label(ours: set[str]) -> str:
    return " / ".join(sorted(ours)) or "this site"


# ---- seal claims (pure) ------------------------------------------------------------------------


def find_unlinked_claims(
    site: Site, cfg: RegistryConfig, cands: list[Candidate]
) -> list[tuple[Claim, Evidence]]:
    """Seal claims whose scheme's official registry the site never links to."""
    linked = {c.registry for c in cands if c.kind in (SEAL_LINK, REGISTRY_LINK)}
    wanted = [c for c in cfg.claims if not linked.intersection(c.registries)]
    if not wanted:
        return []
    images = [(page, _image_attrs(page)) for page in site.pages]
    out: list[tuple[Claim, Evidence]] = []
    blobs: dict[int, dict[bool, str]] = {}
    for claim in wanted:
        ev = _claim_evidence(claim, images, blobs)
        if ev is not None:
            out.append((claim, ev))
    return out


def _image_attrs(page: ParsedPage) -> list[tuple[str, str]]:
    """(attribute, value) of the page's images, read once for every claim."""
    out: list[tuple[str, str]] = []
    for img in page.soup.find_all("img", limit=MAX_IMAGES_PER_PAGE):
        for attr in ("alt", "title", "src"):
            value = img.get(attr)
            if isinstance(value, str) and value:
                out.append((attr, value[:MAX_URL]))
    return out


def _may_be_in(pattern: re.Pattern[str], attrs: list[tuple[str, str]], blobs: dict[bool, str]) -> bool:
    """False only when no attribute value can hold a match of ``pattern``: none of the words one of
    which every match holds (:func:`pharmcheck.site.pattern_shape`) occurs in the values joined by
    "\n" (folded for a case-insensitive pattern; folding keeps positions, so the folded join is the
    join of the folded values); ``blobs`` keeps the joins of one page."""
    got = site_module.pattern_shape(pattern)
    if got is None or got.anchors is None or got.digit or any("\n" in a for a in got.anchors):
        return True
    blob = blobs.get(got.folded)
    if blob is None:
        raw = "\n".join(value for _, value in attrs)
        blob = blobs[got.folded] = fold(raw) if got.folded else raw
    return any(a in blob for a in got.anchors)


def _claim_evidence(claim: Claim, images: list[tuple[ParsedPage, list[tuple[str, str]]]],
                    blobs: dict[int, dict[bool, str]] | None = None) -> Evidence | None:
    """The first page's image (or text) that makes ``claim``; ``blobs``: per place in ``images``, the
    joined attribute values of its images (see :func:`_may_be_in`), kept across the claims of a site."""
    blobs = {} if blobs is None else blobs
    for i, (page, attrs) in enumerate(images):
        if attrs and _may_be_in(claim.image, attrs, blobs.setdefault(i, {})):
            for attr, value in attrs:
                if claim.image.search(value):
                    return Evidence(page.url, f"image {attr}={value[:160]!r}")
        if not _absent_folded(page, claim.text):
            for hit in page.search(claim.text):  # tried only where its leading words start
                return hit.evidence()
    return None


def _absent_folded(page: ParsedPage, pattern: re.Pattern[str]) -> bool:
    """True when a case-sensitive ``pattern`` has no match on the page because none of its words
    occurs even folded: looked up in the page's pass over its folded text, which the case-insensitive
    rules make anyway, this spares a second automaton pass over the text as written (the pass
    ``page.search`` would make for a case-sensitive pattern). A word as written occurs folded at the
    same place (folding keeps positions)."""
    got = site_module.pattern_shape(pattern)
    if got is None or got.anchors is None or got.digit or got.folded:
        return False
    return not page.word_starts(got.anchors, folded=True)


# ---- registry entry facts (network + parse) ----------------------------------------------------


@functools.lru_cache(maxsize=8192)
def domain_of_token(token: str) -> str:
    """The registered domain a text token names (``www.shop.co.uk.`` -> ``shop.co.uk``), else ''."""
    token = token.strip(".-").lower()
    if "." not in token or token.replace(".", "").isdigit():
        return ""
    if not suffix_of(token) or not domain_label(token):
        return ""
    return registered_domain(token)


def _ignored(domain: str, skip: set[str] | frozenset[str]) -> bool:
    """``domain`` is one of ``skip`` or below one (``www.gov.uk`` under ``gov.uk``)."""
    return domain in skip or any(domain.endswith("." + s) for s in skip)


def parse_entry(html: str, url: str, reg: Registry, cfg: RegistryConfig) -> dict[str, Any]:
    """Reduce a registry entry page to facts: the domains it mentions and the website it declares."""
    own = set(reg.official_domains) | {registered_domain(urlsplit(url).hostname or "")}
    page = ParsedPage(Page(url=url, status=200, html=html), registered_domain(urlsplit(url).hostname or ""))
    text = page.text[:MAX_ENTRY_TEXT]
    skip = own | cfg.ignore_domains

    mentioned: set[str] = set()
    for i, m in enumerate(_TOKEN.finditer(text)):
        if i >= MAX_TOKENS:
            break
        d = domain_of_token(m.group(0))
        if d and not _ignored(d, skip):
            mentioned.add(d)
    declared: list[str] = []
    for m in cfg.website_labels.finditer(text):
        window = text[m.end(): m.end() + 120]
        for t in _TOKEN.finditer(window):
            d = domain_of_token(t.group(0))
            if d:
                if not _ignored(d, skip) and d not in declared:
                    declared.append(d)
                break
        if len(declared) >= 10:
            break
    for link in page.links[:MAX_LINKS_PER_PAGE]:
        if link.same_site:
            continue
        d = registered_domain(urlsplit(link.url).hostname or "")
        if not d or _ignored(d, skip):
            continue
        mentioned.add(d)
        if (cfg.website_labels.fullmatch(link.text.strip()) or domain_of_token(link.text) == d) \
                and d not in declared:
            declared.append(d)
    says_not_found = bool(cfg.not_found_text and cfg.not_found_text.search(text))
    return {
        "status": "found",
        "http_status": 200,
        "title": page.title[:200],
        "mentioned": sorted(mentioned)[:50],
        "declared": declared[:10],
        "says_not_found": says_not_found,
    }


def lookup_entry(client: Any, cache: Any, registry_id: str, url: str, cfg: RegistryConfig) -> dict[str, Any]:
    """Fetch one registry entry (or take it from the cache) and return its facts."""
    key = "registry:" + url
    cached = cache.get(key)
    if isinstance(cached, dict):
        return {**cached, "cached": True}
    reg = cfg.by_id(registry_id)
    if reg is None:
        return {"status": "error", "error": f"unknown registry {registry_id}"}
    fetched = client().get(url, reg.official_domains, cfg.max_bytes)
    base = {"registry": reg.id, "url": url}
    if fetched.blocked:
        return {**base, "status": "blocked", "error": fetched.error}
    if fetched.status in (404, 410):
        facts = {**base, "status": "not_found", "http_status": fetched.status}
        cache.put(key, facts, cfg.negative_ttl)
        return {**facts, "cached": False}
    if fetched.unreachable or fetched.status >= 400 or not fetched.text:
        why = fetched.error or f"HTTP {fetched.status}"
        return {**base, "status": "unreachable", "http_status": fetched.status, "error": why}
    facts = {**base, **parse_entry(fetched.text, fetched.url, reg, cfg)}
    cache.put(key, facts, cfg.ttl)
    return {**facts, "cached": False}
