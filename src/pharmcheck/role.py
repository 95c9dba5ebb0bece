"""PC003 the site's role: a stage between the rules and the verdict (issue 9).

Who is speaking on these pages? A seller or dispenser of medicines, a prescriber or clinic that
does not dispense, a publisher (news, blog, encyclopedia, regulator, charity, school), a forum,
a shop for other goods, or something else. Regulators' criteria apply to sellers only, so the
verdict reads the role first, and the red flags found by the rules are attributed: an offer
counts against the site only when the site itself makes it (:func:`attribute`).

Evidence comes in three kinds, each with its excerpt: commerce and dispensing (offers of
named medicines next to prices or order controls, upload/transfer flows), pharmacy identity
(schema.org Pharmacy, a registry entry naming the domain, a pharmacy authority's licence,
"our pharmacy", a responsible pharmacist, a pharmacy word in the brand) and other-role cues
(schema.org article/forum/clinic types, bylines, reported speech, repeated post blocks,
appointment vocabulary). The cue lists are data in ``rules/role.toml``.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pharmcheck.checks.context import context_of, education_page
from pharmcheck.checks.lang import page_language
from pharmcheck.checks.pagehits import (
    controls,
    first_match,
    first_words,
    led_lines,
    matches,
    phrases_all,
    search_in,
)
from pharmcheck.checks.scope import analyse as analyse_scope
from pharmcheck.checks.scope import drug_hits, jsonld_types, price_possible
from pharmcheck.checks.scope import patterns as scope_patterns
from pharmcheck.checks.textmatch import compile_all, compile_phrases, lang_table, per_kb, str_list
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.knowledge import Knowledge
from pharmcheck.site import ParsedPage, Site
from pharmcheck.urls import registered_domain

SELLER = "seller"
PRESCRIBER = "prescriber"
PUBLISHER = "publisher"
FORUM = "forum"
SHOP = "shop"
OTHER = "other"
ROLES = (SELLER, PRESCRIBER, PUBLISHER, FORUM, SHOP, OTHER)
ROLE_WORDS = {
    SELLER: "seller or dispenser of medicines",
    PRESCRIBER: "prescriber or clinic that does not dispense",
    PUBLISHER: "publisher (news, blog, reference, regulator, charity or school)",
    FORUM: "forum or user-generated content",
    SHOP: "shop for goods other than medicines",
    OTHER: "no role as a seller of medicines",
}
COVERED = ("en", "de", "fr", "es", "it", "nl")
MAX_CONTROLS = 600
MAX_JSONLD_NODES = 300
BYLINE_MAX = 80  # characters of a byline/date line
TITLE_SPLIT = re.compile(r"\s+[|–—·:-]\s+|\s+[|–—·]\s*")
# Red flags whose failure counts against a site only when the site itself makes the offer.
ATTRIBUTED = ("PC402", "PC501", "PC503", "PC502", "PC510", "PC511", "PC512", "PC513", "PC520", "PC521",
              "PC522", "PC530", "PC403")


@dataclass(frozen=True)
class RoleData:
    identity_types: frozenset[str]
    publisher_types: frozenset[str]
    forum_types: frozenset[str]
    clinic_types: frozenset[str]
    brand: re.Pattern[str] | None
    institution: re.Pattern[str] | None
    self_pharmacy: re.Pattern[str] | None
    pharmacist: re.Pattern[str] | None
    dispensing: re.Pattern[str] | None
    clinic: re.Pattern[str] | None
    byline: re.Pattern[str] | None
    reported: re.Pattern[str] | None
    forum: re.Pattern[str] | None
    forum_min_posts: int
    forum_leads: frozenset[str] | None  # first words of the forum phrases (pagehits.led_lines)
    byline_leads: frozenset[str] | None
    identity_needed: int
    sale_words: re.Pattern[str] | None
    rx_glued: re.Pattern[str] | None  # prescription-only medicine names, also inside glued words


def _build(kb: Knowledge) -> RoleData:
    d = kb.family("role")
    byline = compile_all(lang_table(d, "byline"))
    rx = [n for n in str_list(kb.family("scope"), "rx_drugs") if len(n) >= 5]
    brand_words = str_list(d, "brand_words")
    return RoleData(
        identity_types=frozenset(str_list(d, "identity_types")),
        publisher_types=frozenset(str_list(d, "publisher_types")),
        forum_types=frozenset(str_list(d, "forum_types")),
        clinic_types=frozenset(str_list(d, "clinic_types")),
        # inside a brand a pharmacy word may be glued to others: Apotheke24, Chemist4U, MesaRx
        brand=re.compile("(?:" + "|".join(re.escape(w) for w in sorted(brand_words, key=len, reverse=True))
                         + ")", re.I) if brand_words else None,
        institution=compile_phrases(str_list(d, "institution_words")),
        self_pharmacy=phrases_all(lang_table(d, "self_pharmacy")),
        pharmacist=phrases_all(lang_table(d, "responsible_pharmacist")),
        dispensing=phrases_all(lang_table(d, "dispensing")),
        clinic=phrases_all(lang_table(d, "clinic")),
        # a byline is a short line that starts with "By"/"Von"/… or a date word
        byline=re.compile(r"^(?:" + byline.pattern + r")\b", re.I) if byline is not None else None,
        reported=phrases_all(lang_table(d, "reported")),
        forum=re.compile(r"^(?:" + p.pattern + r")", re.I)
        if (p := compile_all(lang_table(d, "forum"))) is not None else None,
        forum_min_posts=int(d.get("forum_min_posts", 3)),
        forum_leads=first_words(p for v in lang_table(d, "forum").values() for p in v),
        byline_leads=first_words(p for v in lang_table(d, "byline").values() for p in v),
        identity_needed=int(d.get("identity_needed", 2)),
        sale_words=re.compile("|".join(re.escape(w) for w in str_list(d, "domain_sale_words")), re.I)
        if str_list(d, "domain_sale_words") else None,
        rx_glued=re.compile("|".join(re.escape(n) for n in sorted(rx, key=len, reverse=True)), re.I)
        if rx else None,
    )


def role_data(kb: Knowledge) -> RoleData:
    return per_kb(kb, "role", _build)


@dataclass
class RoleView:
    """Page evidence of the site's role, computed once per Site before any verdict."""

    offers: dict[str, Evidence] = field(default_factory=dict)
    offer_pages: set[str] = field(default_factory=set)
    identity: dict[str, Evidence] = field(default_factory=dict)
    dispensing: dict[str, Evidence] = field(default_factory=dict)
    publisher: dict[str, Evidence] = field(default_factory=dict)
    forum: dict[str, Evidence] = field(default_factory=dict)
    clinic: dict[str, Evidence] = field(default_factory=dict)
    talk_pages: set[str] = field(default_factory=set)  # pages that report, teach or carry user posts
    other_shop: bool = False
    linked_shops: list[str] = field(default_factory=list)
    drugs_named: bool = False
    languages: list[str] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return not self.languages or any(lang in COVERED for lang in self.languages)

    @property
    def other_cues(self) -> int:
        return len(self.publisher) + len(self.forum) + len(self.clinic)


def _first(pattern: re.Pattern[str] | None, page: ParsedPage) -> Evidence | None:
    m = first_match(page, pattern)
    return Evidence(page.url, page.excerpt(m.start(), m.end())) if m else None


def _brand_names(site: Site) -> list[tuple[str, str]]:
    """(name, url) of the site's own name: domain label, og:site_name, the part of the page
    titles that recurs on several pages (or the home page's title on a one-page site)."""
    out: list[tuple[str, str]] = []
    label = site.domain.split(".")[0] if site.domain else ""
    if label:
        out.append((label, site.snapshot.final_url or site.snapshot.url))
    counts: dict[str, int] = {}
    first_url: dict[str, str] = {}
    for page in site.pages:
        for meta in page.named("meta"):
            if meta.get("property") == "og:site_name":
                content = meta.get("content")
                if isinstance(content, str) and content.strip():
                    out.append((content.strip()[:80], page.url))
        parts = [p.strip() for p in TITLE_SPLIT.split(page.title) if p.strip()]
        for part in dict.fromkeys(p for p in parts if len(p) <= 60):  # title order, not a set's (hash seed)
            counts[part] = counts.get(part, 0) + 1
            first_url.setdefault(part, page.url)
    needed = 2 if len(site.pages) > 1 else 1
    out.extend((part, first_url[part]) for part, n in counts.items() if n >= needed)
    return out


def _post_blocks(page: ParsedPage, data: RoleData) -> int:
    """Lines of post furniture (Reply, Quote, Posts:, Joined: …) on the page."""
    if data.forum is None:
        return 0
    led = led_lines(page, data.forum_leads)  # the lines that start with a forum word
    lines = page.lines
    forum = data.forum
    if led is not None:  # only those lines can match
        return sum(1 for i in led if len(lines[i]) <= 40 and forum.match(lines[i]))
    return sum(1 for line in lines if len(line) <= 40 and forum.match(line))


# a person's name right after the title ("Superintendent Pharmacist: Ruth Lennox"), or right before it
_NAME_AFTER = re.compile(r"\s*[:,–-]?\s*(?:(?:Dr|Mr|Mrs|Ms|Mag|Dott|Dott\.ssa|Dña|Sra|Sr|Mevr|Dhr)\.?\s+)?"
                         r"[A-ZÀ-ÝĀ-Ž][\w'’-]+\s+(?:[a-z]{1,3}\s+)?[A-ZÀ-ÝĀ-Ž][\w'’-]+")
_NAME_BEFORE = re.compile(r"[A-ZÀ-ÝĀ-Ž][\w'’-]+\s+[A-ZÀ-ÝĀ-Ž][\w'’-]+,?\s*(?:\([^)]{0,40}\)\s*)?[,–-]?\s*$")


def _named_pharmacist(page: ParsedPage, data: RoleData) -> Evidence | None:
    """A responsible pharmacist named by the site: the title next to a person's name."""
    text = page.text
    for m in matches(page, data.pharmacist, 20):
        if _NAME_AFTER.match(text, m.end()) or _NAME_BEFORE.search(text[max(0, m.start() - 60): m.start()]):
            return Evidence(page.url, page.excerpt(m.start(), m.end()))
    return None


_DATED_PATH = re.compile(r"/(?:19|20)\d\d/[01]?\d/")


def _dated(url: str) -> bool:
    """The URL's path is a dated post path (its path is part of the URL: most URLs are ruled out
    without splitting them; urlsplit drops tabs and line breaks first)."""
    if "\t" not in url and "\r" not in url and "\n" not in url and not _DATED_PATH.search(url):
        return False
    return bool(_DATED_PATH.search(urlsplit(url).path))


def _article_markup(page: ParsedPage) -> Evidence | None:
    """Blog or news furniture: several <article> elements, an <article> with a <time>, or links to
    dated post paths (/2025/03/…)."""
    articles = page.named("article")
    if len(articles) >= 2 or (articles and page.named("time")):
        return Evidence(page.url, f"{len(articles)} <article> element(s)")
    urls = [lk.url for lk in page.links if lk.same_site]
    joined = " ".join(urls)  # no match of _DATED_PATH holds a space: one scan tells most pages apart
    if _DATED_PATH.search(joined) or "\t" in joined or "\r" in joined or "\n" in joined:
        dated = [url for url in urls if _dated(url)]
    else:
        dated = []  # _dated(url) is False for each: no line break or tab, no dated path
    if len(set(dated)) >= 2:
        return Evidence(page.url, f"links to dated posts: {dated[0]}")
    return None


def _bylines(page: ParsedPage, data: RoleData) -> Evidence | None:
    if data.byline is None:
        return None
    led = led_lines(page, data.byline_leads)  # the lines that start with a byline word
    lines = page.lines[:200]
    for i in range(len(lines)) if led is None else sorted(i for i in led if i < 200):  # in line order
        line = lines[i]
        if len(line) <= BYLINE_MAX and data.byline.match(line) and re.search(r"\d|[A-Z]\w+ [A-Z]", line):
            return Evidence(page.url, line)
    return None


def _offers(page: ParsedPage, site: Site, view: RoleView) -> None:
    """Named medicines offered on this page: next to prices, a cart or an order control."""
    sp = scope_patterns(site.kb)
    if sp.drugs is None:
        return
    text = page.text
    drugs = drug_hits(page, sp, 300)
    if not drugs:
        return
    view.drugs_named = True
    priced: dict[int, Evidence] = {}
    for m in drugs:
        end = m.end() + sp.price_window
        p = sp.price.search(text, m.end(), end) if price_possible(page, sp, m.end(), end) else None
        if p and p.start() not in priced:
            priced[p.start()] = Evidence(page.url, page.excerpt(m.start(), p.end(), radius=30))
            if len(priced) >= 2:
                break  # two prices decide, the first is the evidence: the rest cannot change either
    if len(priced) >= 2:
        view.offers.setdefault("prices next to medicine names", next(iter(priced.values())))
        view.offer_pages.add(page.url)
    for control in controls(page, sp.cart_words)[:MAX_CONTROLS]:
        tag = control.tag
        text_ = control.text[:60] if tag.name != "input" else str(tag.get("value", ""))
        classes = " ".join(str(c) for c in (tag.get("class") or []))
        href = tag.get("href")
        cart = bool(sp.cart_class is not None and sp.cart_class.search(classes))
        if isinstance(href, str) and sp.cart_path is not None and control.path is not None:
            cart = cart or bool(sp.cart_path.search(control.path))
        buy = bool(text_ and len(text_) <= 40 and sp.buy is not None and sp.buy.search(text_))
        if cart or buy:
            view.offers.setdefault("order control next to named medicines",
                                   Evidence(page.url, text_ or classes or str(href)))
            view.offer_pages.add(page.url)
            break
    types: list[tuple[str, str]] = []
    for doc in page.jsonld:
        jsonld_types(doc, types, [MAX_JSONLD_NODES])
    for typ, name in types:
        if typ in sp.drug_types or (typ in sp.product_types and name and sp.drugs.search(name)):
            view.offers.setdefault("medicine product data (JSON-LD)",
                                   Evidence(page.url, f"@type {typ} {name}"))
            view.offer_pages.add(page.url)


def _analyse(site: Site) -> RoleView:
    data = role_data(site.kb)
    view = RoleView()
    ctx = context_of(site.kb)
    langs: dict[str, int] = {}
    for page in site.pages:
        lang = page_language(page, site.kb)
        if lang:
            langs[lang] = langs.get(lang, 0) + 1
        _offers(page, site, view)
        types: list[tuple[str, str]] = []
        for doc in page.jsonld:
            jsonld_types(doc, types, [MAX_JSONLD_NODES])
        for typ, name in types:
            ev = Evidence(page.url, f"@type {typ} {name}".strip())
            if typ in data.identity_types:
                view.identity.setdefault("schema.org Pharmacy", ev)
            elif typ in data.forum_types:
                view.forum.setdefault("schema.org forum or comment markup", ev)
                view.talk_pages.add(page.url)
            elif typ in data.publisher_types:
                view.publisher.setdefault("schema.org article or publisher markup", ev)
                if typ not in ("CollegeOrUniversity", "EducationalOrganization", "GovernmentOrganization",
                               "NGO", "NewsMediaOrganization"):
                    view.talk_pages.add(page.url)
            elif typ in data.clinic_types:
                view.clinic.setdefault("schema.org clinic or physician markup", ev)
        for meta in page.named("meta"):
            if meta.get("property") == "og:type" and str(meta.get("content", "")).lower() == "article":
                view.publisher.setdefault("og:type article", Evidence(page.url, "og:type article"))
                view.talk_pages.add(page.url)
        if "names a responsible pharmacist" not in view.identity:
            named = _named_pharmacist(page, data)
            if named is not None:
                view.identity["names a responsible pharmacist"] = named
        for key, pattern, target in (
            ("calls itself a pharmacy", data.self_pharmacy, view.identity),
            ("dispensing services", data.dispensing, view.dispensing),
            ("appointments or GP/clinic services", data.clinic, view.clinic),
        ):
            if key not in target:
                found = _first(pattern, page)
                if found is not None:
                    target[key] = found
        edu = education_page(page, ctx)
        if edu:
            view.publisher.setdefault("warning or education page", Evidence(page.url, edu))
            view.talk_pages.add(page.url)
        byline = _bylines(page, data)
        if byline is not None:
            view.publisher.setdefault("byline or date line", byline)
        markup = _article_markup(page)
        if markup is not None:
            view.publisher.setdefault("article or post markup", markup)
        posts = _post_blocks(page, data)
        if posts >= data.forum_min_posts:
            view.forum.setdefault("repeated post blocks",
                                  Evidence(page.url, f"{posts} lines of post furniture"))
            view.talk_pages.add(page.url)
        if data.reported is not None:
            reported = matches(page, data.reported, 3)
            if len(reported) >= 3:
                first = reported[0]
                view.publisher.setdefault("reported speech",
                                         Evidence(page.url, page.excerpt(first.start(), first.end())))
    # the site's own name
    names = _brand_names(site)
    institution = data.institution is not None and any(data.institution.search(n) for n, _ in names)
    if data.brand is not None and not institution:
        for name, url in names:
            m = data.brand.search(name)
            if m and not (data.institution is not None and data.institution.search(name)):
                # a pharmacy word as a word or glued to a brand (Apotheke24, Chemist4U, DrugMart);
                # "rx" only at the end of the name or before a non-letter (MesaRx, rx-shop)
                word = m.group().lower()
                if word == "rx" and not re.search(r"rx(?:$|[\W\d_])", name, re.I):
                    continue
                view.identity.setdefault("pharmacy word in the brand", Evidence(url, name))
                break
    label = site.domain.split(".")[0] if site.domain else ""
    if (label and data.sale_words is not None and data.rx_glued is not None
            and data.sale_words.search(label) and data.rx_glued.search(label)):
        view.offers.setdefault("a medicine for sale in the domain name",
                               Evidence(site.snapshot.final_url or site.snapshot.url, label))
    scope = analyse_scope(site)
    upload = scope.strong.get("prescription upload form")
    if upload is not None:  # a pharmacy's flow: a prescriber writes prescriptions, it does not collect them
        view.offers.setdefault("prescription upload form", upload)
        view.offer_pages.add(upload.url)
    service = scope.strong.get("prescription service control")
    if service is not None:
        view.dispensing.setdefault("prescription service control", service)
    if "commerce controls without medicines" in scope.notes and not view.offers:
        view.other_shop = True
    view.languages = sorted(langs, key=lambda k: -langs[k])
    view.linked_shops = _linked_shops(site)
    return view


def _linked_shops(site: Site) -> list[str]:
    """Other domains linked as shops: a medicine named in the link, or a pharmacy brand as host
    with an order word in the link text ("Buy Viagra", "cheap-meds-pharmacy.example/order")."""
    sp = scope_patterns(site.kb)
    data = role_data(site.kb)
    out: dict[str, None] = {}
    for page in site.pages:
        for link in page.links[:500]:
            if link.same_site:
                continue
            host = urlsplit(link.url).hostname or ""
            named = sp.drugs is not None and search_in(sp.drugs, f"{link.text} {link.url}")
            branded = (data.brand is not None and data.brand.search(host) and sp.buy is not None
                       and sp.buy.search(link.text))
            if named or branded:
                domain = registered_domain(host)
                if domain:
                    out.setdefault(domain)
            if len(out) >= 10:
                break
    return list(out)


_VIEWS: weakref.WeakKeyDictionary[Site, RoleView] = weakref.WeakKeyDictionary()


def analyse(site: Site) -> RoleView:
    """The page evidence of the site's role (once per Site; no findings needed)."""
    view = _VIEWS.get(site)
    if view is None:
        view = _VIEWS[site] = _analyse(site)
    return view


@dataclass
class Role:
    role: str
    why: str
    identity: dict[str, Evidence]
    offers: dict[str, Evidence]
    other: dict[str, Evidence]
    missing: list[str] = field(default_factory=list)
    linked_shops: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    uncovered: bool = False  # no seller by language-independent evidence, in an uncovered language

    @property
    def seller(self) -> bool:
        return self.role == SELLER


def _passed(findings: list[Finding], rule_id: str) -> Finding | None:
    return next((f for f in findings if f.id == rule_id and f.outcome == Outcome.PASS), None)


def decide(site: Site, findings: list[Finding]) -> Role:
    """The site's role from page evidence and the credential rules (registry, licence)."""
    view = analyse(site)
    data = role_data(site.kb)
    identity = dict(view.identity)
    registry = _passed(findings, "PC310")
    if registry is not None:
        identity["entry in a pharmacy register naming this domain"] = (
            registry.evidence[0] if registry.evidence else Evidence(site.snapshot.url, registry.message))
    dotpharmacy = _passed(findings, "PC313")
    if dotpharmacy is not None:
        identity[".pharmacy domain"] = Evidence(site.snapshot.url, dotpharmacy.message)
    licence = _passed(findings, "PC301")
    if licence is not None:
        identity["licence of a pharmacy authority"] = (
            licence.evidence[0] if licence.evidence else Evidence(site.snapshot.url, licence.message))
    strong_identity = bool({"schema.org Pharmacy", "entry in a pharmacy register naming this domain",
                            ".pharmacy domain"} & set(identity))
    # a pharmacist's own registration or CV names a person, not a business: identity without an
    # offer needs the business to call itself a pharmacy (brand, "our pharmacy", markup, register)
    business = strong_identity or bool(
        {"pharmacy word in the brand", "calls itself a pharmacy"} & set(identity))
    other: dict[str, Evidence] = {**view.publisher, **view.forum, **view.clinic}
    own_offers = {k: e for k, e in view.offers.items() if e.url not in view.talk_pages}
    n_id = len(identity) + (1 if view.dispensing else 0)

    if own_offers:
        role, why = SELLER, "offers named medicines: " + ", ".join(own_offers)
    elif strong_identity or (business and n_id > len(other) and (n_id >= data.identity_needed or not other)):
        role, why = SELLER, "presents itself as a pharmacy: " + ", ".join([*identity, *view.dispensing])
    elif view.offers and not view.forum:
        # offers only on pages that also report or teach: still the site's own pages
        role, why = SELLER, "offers named medicines: " + ", ".join(view.offers)
    elif view.forum:
        role, why = FORUM, "user posts: " + ", ".join(view.forum)
    elif view.clinic and not view.dispensing:
        role, why = PRESCRIBER, ("appointments or GP/clinic services without dispensing: "
                                 + ", ".join(view.clinic))
    elif view.publisher:
        role, why = PUBLISHER, "publishes about medicines: " + ", ".join(view.publisher)
    elif view.other_shop:
        role, why = SHOP, "a shop whose cart and prices sit next to no medicine"
    else:
        role, why = OTHER, "no offer of medicines and no pharmacy identity"
    from pharmcheck.scoring import named_in

    template = [f for f in findings if f.named in named_in(site.kb, "seller")]
    if template and role in (OTHER, SHOP, PUBLISHER):
        role, why = SELLER, "a known shop template: " + ", ".join(f"{f.id} {f.message}" for f in template[:2])
    if role in (OTHER, SHOP):
        offer_names = _offer_names(site.kb)
        tells = [f for f in findings if f.named in offer_names
                 and any(e.url not in view.talk_pages and not quoted(e.excerpt, _phrases(f))
                         for e in f.evidence)]
        decisive = _decisive_names(site.kb)
        if len({f.id for f in tells}) >= 2 or (not other and any(f.named in decisive for f in tells)):
            role, why = SELLER, "advertises medicines with a shop's tells: " + ", ".join(
                f"{f.id} {f.name}" for f in tells[:4])
    result = Role(role, why, identity, dict(view.offers), other, linked_shops=list(view.linked_shops))
    result.languages = list(view.languages)
    result.uncovered = role != SELLER and not view.covered and view.drugs_named
    if role == SELLER:
        result.missing = _missing(site, findings)
    return result


def _decisive_names(kb: Knowledge) -> frozenset[str]:
    from pharmcheck.scoring import named_in

    return named_in(kb, "decisive")


def _offer_names(kb: Knowledge) -> frozenset[str]:
    from pharmcheck.scoring import named_in

    return named_in(kb, "offer")


NEED_WORDS = {
    "address": "a physical address",
    "licence": "a licence or registration number of a pharmacy authority",
    "prescription": "a prescription requirement for the prescription-only medicines it offers",
}


def _missing(site: Site, findings: list[Finding]) -> list[str]:
    """What a pharmacy must show and this one does not (for 'not enough evidence' reports)."""
    from pharmcheck.scoring import legitimate_needs

    names = {f.named for f in findings}
    out = [NEED_WORDS.get(need, need) for need, ok in legitimate_needs(site.kb).items() if not names & ok]
    if "phone-found" not in names:
        out.append("a telephone number")
    return out


def finding(site: Site, role: Role) -> Finding:
    """PC003, always info: the role and the evidence of each kind."""
    message = f"{ROLE_WORDS[role.role]}: {role.why}"
    if role.role == FORUM and role.linked_shops:
        message += "; links out to shops: " + ", ".join(role.linked_shops[:5])
    evidence = [*role.offers.values(), *role.identity.values(), *role.other.values()]
    return site.finding(
        "PC003", Outcome.INFO, message, evidence, role=role.role,
        identity=sorted(role.identity), offers=sorted(role.offers), other=sorted(role.other),
        linked_shops=role.linked_shops, missing=role.missing, languages=role.languages,
        uncovered_language=role.uncovered,
    )


def attribute(site: Site, role: Role, findings: list[Finding]) -> None:
    """Red flags count only where the site itself makes the offer (issue 9, item 2).

    A failure of an attributed rule stays a failure when at least one piece of its evidence sits
    on one of the site's own offer pages, or on a seller's page that neither reports nor carries
    user posts. Otherwise it becomes ``info``: reported, not offered.
    """
    view = analyse(site)
    for f in findings:
        if f.id not in ATTRIBUTED or f.outcome not in (Outcome.FAIL, Outcome.WARN):
            continue
        urls = [e.url for e in f.evidence]
        own = [e.url for e in f.evidence if e.url in view.offer_pages and e.url not in view.talk_pages]
        if not own and role.seller:
            own = [e.url for e in f.evidence
                   if e.url not in view.talk_pages and not quoted(e.excerpt, _phrases(f))]
        if not own and role.seller and not urls:
            own = ["(site-wide)"]
        if own:
            continue
        where = {FORUM: "user posts", SELLER: "pages that report or warn",
                 PUBLISHER: "a publisher's pages", PRESCRIBER: "a prescriber's pages",
                 SHOP: "a shop of other goods"}.get(role.role, "no seller")
        f.data["reported"] = True
        f.data["was"] = str(f.outcome)
        f.message = f"reported, not offered ({where}): {f.message}"
        f.outcome = Outcome.INFO


_PAIRS = (("“", "”"), ("„", "“"), ("«", "»"), ("‹", "›"), ("‘", "’"), ("‚", "‘"))


def _phrases(f: Finding) -> list[str]:
    out: list[str] = []
    for key in ("phrases", "matches", "substances"):
        value = f.data.get(key)
        if isinstance(value, list):
            out.extend(str(v) for v in value if v)
    return out


def quoted(excerpt: str, phrases: list[str] | None = None) -> bool:
    """The match in an evidence excerpt (one of ``phrases``, else the excerpt's middle) sits inside
    quotation marks: quoted or reported wording (sites offering “no prescription needed”), not the
    site's own voice."""
    low = excerpt.lower()
    spots = [i for i in (low.find(p.lower()) for p in phrases or []) if i >= 0] or [len(excerpt) // 2]
    return any(_inside_quotes(excerpt, at) for at in spots)


def _inside_quotes(excerpt: str, mid: int) -> bool:
    before, after = excerpt[:mid], excerpt[mid : mid + 160]
    if before.count('"') % 2 == 1 and '"' in after:
        return True
    for open_, close in _PAIRS:
        at = before.rfind(open_)
        if at >= 0 and before.rfind(close, at + 1) < 0 and close in after:
            return True
    return False


def iter_reasons(role: Role) -> Iterator[str]:
    yield f"role: {ROLE_WORDS[role.role]} ({role.why})"
