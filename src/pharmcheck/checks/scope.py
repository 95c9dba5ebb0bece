"""PC001 scope: does the site sell or dispense medicines at all?

Regulators' criteria apply to sellers, so the verdict first asks whether the site trades
in medicines. Talk about pharmacies is not enough: a cart, order controls, product data
or prices must sit next to medicines, or the site must run a prescription service. The
analysis is shared with the prescription rules (PC401 needs the same answer).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pharmcheck.checks import check
from pharmcheck.checks.pagehits import (
    controls,
    first_match,
    has_file_input,
    literal_words,
    matches,
    phrases,
    phrases_all,
)
from pharmcheck.checks.textmatch import compile_phrases, lang_table, longest_first, per_kb, str_list
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.knowledge import Knowledge
from pharmcheck.pageview import Element
from pharmcheck.site import ParsedPage, Site, pattern_shape

MAX_CONTROLS = 800  # per page: buttons, inputs and links examined (carts sit in headers)
MAX_DRUG_HITS = 400  # per page
MAX_JSONLD_NODES = 300
CONTROL_MAX_CHARS = 40


@dataclass(frozen=True)
class ScopePatterns:
    rx: re.Pattern[str] | None
    otc: re.Pattern[str] | None
    drugs: re.Pattern[str] | None  # rx and otc together
    medicine: re.Pattern[str] | None
    buy: re.Pattern[str] | None
    cart_path: re.Pattern[str] | None
    cart_words: re.Pattern[str] | None  # the words of cart_path without its boundaries (a prefilter)
    cart_class: re.Pattern[str] | None
    service: re.Pattern[str] | None
    service_path: re.Pattern[str] | None
    prescriber_words: re.Pattern[str] | None  # shared with prescribers: a service only on a named pharmacy
    self_sale: re.Pattern[str] | None
    pharmacy_name: re.Pattern[str] | None  # in a page title: the site calls itself a pharmacy
    price: re.Pattern[str]
    price_window: int
    # every match of ``price`` holds one of these words or a digit (its shape): a window without any
    # cannot hold a price (None: nothing known); searched in the folded text when ``price_folded``
    price_hint: re.Pattern[str] | None
    price_folded: bool
    drug_types: frozenset[str]
    product_types: frozenset[str]


def _path_pattern(parts: list[str]) -> re.Pattern[str] | None:
    if not parts:
        return None
    alts = "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))
    return re.compile(r"(?:^|[/_.\-?=&])(?:" + alts + r")(?:$|[/_.\-?=&])", re.IGNORECASE)


def _hint(pattern: re.Pattern[str]) -> tuple[re.Pattern[str] | None, bool]:
    """A regex that finds, in any window holding a match of ``pattern``, one of the words or the digit
    its every match holds (:func:`pharmcheck.site.pattern_shape`), and whether to search folded text."""
    got = pattern_shape(pattern)
    if got is None or got.anchors is None:
        return None, False
    parts = [re.escape(word) for word in sorted(got.anchors, key=longest_first)]
    if got.digit > 0:
        parts.append(r"\d")  # Unicode digits: as many as or more than the pattern's \d
    return (re.compile("|".join(parts)), got.folded) if parts else (None, False)


def price_possible(page: ParsedPage, pats: ScopePatterns, start: int, end: int) -> bool:
    """False only when ``page.text[start:end]`` holds no match of ``pats.price`` (no word or digit
    that every price holds): one search of a literal alternation instead of the price regex."""
    hint = pats.price_hint
    if hint is None:
        return True
    return hint.search(page.folded_text if pats.price_folded else page.text, start, end) is not None


def _build(kb: Knowledge) -> ScopePatterns:
    d = kb.family("scope")
    rx, otc = str_list(d, "rx_drugs"), str_list(d, "otc_drugs")
    classes = str_list(d, "cart_classes")
    buy = str_list(d, "buy_controls")
    price = kb.regex(str(d.get("price_regex", r"[$€£]\s?\d{1,5}")), re.IGNORECASE)
    price_hint, price_folded = _hint(price)
    return ScopePatterns(
        rx=phrases(rx),
        otc=compile_phrases(otc),
        drugs=phrases(rx + otc),
        medicine=phrases(str_list(d, "medicine_words") + rx + otc),
        # a control is short: the whole text must be the phrase plus at most a few words
        buy=re.compile(r"^\W{0,3}(?:" + compile_phrases(buy).pattern + r")", re.I)  # type: ignore[union-attr]
        if buy
        else None,
        cart_path=_path_pattern(str_list(d, "cart_paths")),
        cart_words=literal_words(str_list(d, "cart_paths")),
        cart_class=re.compile("|".join(re.escape(c) for c in classes), re.I) if classes else None,
        service=phrases_all(lang_table(d, "prescription_service")),
        service_path=_path_pattern(str_list(d, "prescription_paths")),
        prescriber_words=phrases_all(lang_table(d, "shared_prescription_words")),
        self_sale=phrases_all(lang_table(d, "self_sale")),
        pharmacy_name=compile_phrases(str_list(d, "pharmacy_names")),
        price=price,
        price_window=int(d.get("price_window", 140)),
        price_hint=price_hint,
        price_folded=price_folded,
        drug_types=frozenset(str_list(d, "jsonld_drug_types")),
        product_types=frozenset(str_list(d, "jsonld_product_types")),
    )


def patterns(kb: Knowledge) -> ScopePatterns:
    return per_kb(kb, "scope", _build)


@dataclass
class Scope:
    """Why the site is (not) a pharmacy: strong and weak signals with evidence."""

    strong: dict[str, Evidence] = field(default_factory=dict)
    weak: dict[str, Evidence] = field(default_factory=dict)
    rx_drugs: set[str] = field(default_factory=set)
    medicine_context: bool = False
    notes: list[str] = field(default_factory=list)  # commerce seen but not of medicines

    @property
    def pharmacy(self) -> bool:
        return bool(self.strong) or len(self.weak) >= 2

    @property
    def signals(self) -> list[str]:
        return [*self.strong, *self.weak, *self.notes]

    def evidence(self) -> list[Evidence]:
        return [*self.strong.values(), *self.weak.values()]


def _controls(page: ParsedPage, pats: ScopePatterns,
              memo: dict[str, dict[str, str | None]] | None = None) -> Iterator[tuple[str, str]]:
    """(kind, text) of buy/order/cart controls on the page: buttons, inputs, links, cart classes.

    ``memo`` keeps the answers of the class, href and text tests for the site: its pages repeat
    their menus, and a test's answer depends on the string alone."""
    memo = {} if memo is None else memo
    by_class, by_href, by_text = (memo.setdefault(k, {}) for k in ("class", "href", "text"))
    cart_class, cart_path, service_path = pats.cart_class, pats.cart_path, pats.service_path
    service, buy = pats.service, pats.buy
    blank_cart = cart_path is not None and cart_path.search("") is not None  # an href without a path
    paths = memo.setdefault("path", {})  # href -> path, for the site
    for tag, control_text, control_path in controls(page, pats.cart_words, paths)[:MAX_CONTROLS]:
        attrs = tag.attrs  # tag.get(k, d) is attrs.get(k, d)
        if tag.name == "input":
            if str(attrs.get("type", "")).lower() not in ("submit", "button", "image"):
                continue
            text = str(attrs.get("value", "") or attrs.get("alt", ""))
        else:
            text = control_text
        text = text[:200]
        names = attrs.get("class")
        classes = (" ".join(map(str, names)) if names else "") + " " + str(attrs.get("id", ""))
        if cart_class is not None:
            if classes in by_class:
                cart = by_class[classes]
            else:
                cart = by_class[classes] = "cart" if cart_class.search(classes) else None
            if cart:
                yield "cart", text or classes.strip()
                continue
        href = attrs.get("href")
        if not isinstance(href, str):
            href = None
        elif cart_path is not None and (
                cart_path.search(control_path) if control_path is not None else blank_cart):
            yield "cart", text or href
            continue
        if href is not None and service_path is not None:
            if href in by_href:
                hit = by_href[href]
            else:
                hit = by_href[href] = "service" if service_path.search(href) else None
            if hit:
                yield "service", text or href
                continue
        if not text or len(text) > CONTROL_MAX_CHARS:
            continue
        if text in by_text:
            kind = by_text[text]
        else:
            kind = by_text[text] = ("service" if service is not None and service.search(text)
                                    else "buy" if buy is not None and buy.search(text) else None)
        if kind is not None:
            yield kind, text


def jsonld_types(node: Any, out: list[tuple[str, str]], budget: list[int], depth: int = 0) -> None:
    """Every (@type, name) pair in a JSON-LD document, within a node budget (scope and role share it)."""
    if budget[0] <= 0 or depth > 8:
        return
    budget[0] -= 1
    if isinstance(node, list):
        for item in node:
            jsonld_types(item, out, budget, depth + 1)
    elif isinstance(node, dict):
        t = node.get("@type")
        name = node.get("name")
        for typ in t if isinstance(t, list) else [t]:
            if isinstance(typ, str):
                out.append((typ, name if isinstance(name, str) else ""))
        for value in node.values():
            if isinstance(value, list | dict):
                jsonld_types(value, out, budget, depth + 1)


def drug_hits(page: ParsedPage, pats: ScopePatterns, limit: int = MAX_DRUG_HITS) -> list[re.Match[str]]:
    """The first ``limit`` medicine names on the page (rx and OTC), shared with the role stage."""
    return matches(page, pats.drugs, limit)


def _medicine_here(page: ParsedPage, pats: ScopePatterns) -> bool:
    return first_match(page, pats.medicine) is not None


def _analyse_page(page: ParsedPage, pats: ScopePatterns, scope: Scope, site_medicine: bool,
                  memo: dict[str, dict[str, str | None]] | None = None) -> None:
    text = page.text
    medicine_here = _medicine_here(page, pats)
    scope.medicine_context = scope.medicine_context or medicine_here
    url = page.url

    for kind, label in _controls(page, pats, memo):
        if kind == "service":
            scope.strong.setdefault("prescription service control", Evidence(url, label))
        elif kind == "cart" and medicine_here:
            scope.strong.setdefault("cart or checkout next to medicines", Evidence(url, label))
        elif kind == "cart" and site_medicine:
            # a product page listing brand names only, on a site whose other pages talk about medicines
            scope.weak.setdefault("cart on a site that sells medicines", Evidence(url, label))
        elif kind == "buy" and medicine_here:
            scope.weak.setdefault("buy/order control next to medicines", Evidence(url, label))
        elif "commerce controls without medicines" not in scope.notes:
            scope.notes.append("commerce controls without medicines")

    for form in page.named("form")[:50] if has_file_input(page) else ():
        if isinstance(form, Element) and form.find("input", attrs={"type": "file"}) is not None:
            form_text = " ".join(form.get_text(" ").split())[:400]
            if pats.medicine is not None and pats.medicine.search(form_text + " " + text[:2000]):
                scope.strong.setdefault("prescription upload form", Evidence(url, form_text or "file upload"))

    types: list[tuple[str, str]] = []
    for doc in page.jsonld:
        jsonld_types(doc, types, [MAX_JSONLD_NODES])
    for typ, name in types:
        medicine_product = typ in pats.product_types and (
            (pats.medicine is not None and pats.medicine.search(name)) or (not name and medicine_here)
        )
        if typ in pats.drug_types or medicine_product:
            scope.strong.setdefault("medicine product data (JSON-LD)", Evidence(url, f"@type {typ} {name}"))

    if pats.drugs is not None:
        priced: dict[int, Evidence] = {}  # keyed by the price's position: two names of one drug, one price
        names: set[str] = set()
        rx_names: dict[str, bool] = {}  # the rx test of each spelling seen (a page repeats its names)
        for m in drug_hits(page, pats):
            found = m.group()
            name = found.lower()
            is_rx = rx_names.get(found)
            if is_rx is None:
                is_rx = rx_names[found] = bool(pats.rx is not None and pats.rx.fullmatch(found))
            if is_rx:
                scope.rx_drugs.add(name)
            if name in names or len(priced) >= 2:
                continue  # two prices decide (and the first is the evidence): no more windows to read
            if not price_possible(page, pats, m.end(), m.end() + pats.price_window):
                continue  # no price in the window (the search below would find none)
            window = text[m.end() : m.end() + pats.price_window]
            p = pats.price.search(window)
            if p:
                names.add(name)
                if m.end() + p.start() not in priced:
                    priced[m.end() + p.start()] = Evidence(url, page.excerpt(m.start(), m.end() + p.end(),
                                                                             radius=30))
        if len(priced) >= 2:
            ev = next(iter(priced.values()))
            scope.strong.setdefault("prices next to medicine names", ev)
        elif priced:
            scope.weak.setdefault("a price next to a medicine name", next(iter(priced.values())))

    if pats.service is not None:
        sm = first_match(page, pats.service)
        if sm:
            scope.weak.setdefault("prescription service offered",
                                  Evidence(url, page.excerpt(sm.start(), sm.end())))
    if pats.pharmacy_name is not None and page.title:
        nm = pats.pharmacy_name.search(page.title)
        if nm:
            # weak: a pharmacy by name may still only advise; with a prescription service or an
            # order control it is one that dispenses
            scope.weak.setdefault("calls itself a pharmacy", Evidence(url, f"<title>{page.title[:160]}"))
    if pats.self_sale is not None and medicine_here:
        ss = first_match(page, pats.self_sale)
        if ss:
            scope.weak.setdefault("describes itself as selling medicines",
                                  Evidence(url, page.excerpt(ss.start(), ss.end())))


_RESULTS: weakref.WeakKeyDictionary[Site, Scope] = weakref.WeakKeyDictionary()


def analyse(site: Site) -> Scope:
    """The scope of a site, computed once per Site and shared with other rule modules."""
    cached = _RESULTS.get(site)
    if cached is not None:
        return cached
    pats = patterns(site.kb)
    scope = Scope()
    medicine = pats.medicine
    site_medicine = medicine is not None and any(_medicine_here(p, pats) for p in site.pages)
    memo: dict[str, dict[str, str | None]] = {}  # the control tests' answers, for the site's pages
    for page in site.pages:
        _analyse_page(page, pats, scope, site_medicine, memo)
    words = pats.prescriber_words
    named = "calls itself a pharmacy" in scope.weak
    if words is not None and named and "prescription service offered" not in scope.weak:
        # repeat / NHS / electronic prescriptions: a GP's words too, a dispensing service on a named pharmacy
        for page in site.pages:
            m = first_match(page, words)
            if m:
                ev = Evidence(page.url, page.excerpt(m.start(), m.end()))
                scope.weak["prescription service offered"] = ev
                break
    _RESULTS[site] = scope
    return scope


@check("PC001")
def sells_medicines(site: Site) -> Iterator[Finding]:
    """Always one info finding; data.pharmacy says whether the site sells or dispenses medicines."""
    scope = analyse(site)
    drugs = sorted(scope.rx_drugs)[:10]
    if scope.pharmacy:
        message = "sells or dispenses medicines: " + "; ".join([*scope.strong, *scope.weak])
    elif not site.pages:
        message = "no page could be read, so no sign of medicine sales"
    elif scope.weak:
        weak = next(iter(scope.weak))
        message = f"only one weak sign of medicine sales ({weak}): not treated as a pharmacy"
    elif scope.notes:
        message = "a shop, but not of medicines (no medicine next to its cart, prices or order controls)"
    else:
        message = "no cart, prices, order controls or prescription service for medicines: not a pharmacy"
    yield site.finding("PC001", Outcome.INFO, message, scope.evidence(), pharmacy=scope.pharmacy,
                       signals=scope.signals, rx_drugs=drugs)
