"""PC4xx prescription practice: required (PC401), offered without (PC402), questionnaire only (PC403).

Phrases are matched per language with that language's negators, so "we never sell without a
prescription" and "nie ohne Rezept" read as the promises they are. An offer "without
prescription" counts only when it is about a prescription-only medicine (the nearest medicine
named in the passage) or about the whole shop: "available without prescription" next to
ibuprofen is ordinary OTC wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pharmcheck.checks import check
from pharmcheck.checks.pagehits import finditer_between, matches, phrases, phrases_tagged
from pharmcheck.checks.scope import analyse
from pharmcheck.checks.scope import patterns as scope_patterns
from pharmcheck.checks.textmatch import (
    clause_before,
    compile_by_lang,
    is_question,
    lang_table,
    negated,
    per_kb,
    sentence_bounds,
    str_list,
)
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.knowledge import Knowledge
from pharmcheck.site import ParsedPage, Site

MAX_HITS_PER_PAGE = 200
Langs = dict[str, re.Pattern[str]]
Tagged = re.Pattern[str] | None  # one pattern, one named group per language


@dataclass(frozen=True)
class RxPatterns:
    required: Tagged
    required_negators: Langs
    required_window: int
    strong: Tagged
    weak: Tagged
    general: Tagged
    negators: Langs
    warnings_after: Langs
    questions: Langs
    verbs: Langs
    drug_window: int
    wide_window: int
    questionnaire: Tagged
    review: Tagged
    otc: re.Pattern[str] | None  # OTC medicines and non-medicines (vitamins …)


def _anchored(table: dict[str, list[str]]) -> Langs:
    """Question words must open the clause."""
    out: Langs = {}
    for lang, pat in compile_by_lang(table).items():
        out[lang] = re.compile(r"^\W{0,3}" + pat.pattern, pat.flags)
    return out


def _build(kb: Knowledge) -> RxPatterns:
    d = kb.family("prescription")
    s = kb.family("scope")
    return RxPatterns(
        required=phrases_tagged(lang_table(d, "required")),
        required_negators=compile_by_lang(lang_table(d, "required_negators")),
        required_window=int(d.get("required_negator_window", 25)),
        strong=phrases_tagged(lang_table(d, "offer_strong")),
        weak=phrases_tagged(lang_table(d, "offer_weak")),
        general=phrases_tagged(lang_table(d, "offer_general")),
        negators=compile_by_lang(lang_table(d, "offer_negators")),
        warnings_after=compile_by_lang(lang_table(d, "offer_warnings_after")),
        questions=_anchored(lang_table(d, "question_words")),
        verbs=compile_by_lang(lang_table(d, "offer_verbs")),
        drug_window=int(d.get("drug_window", 150)),
        wide_window=int(d.get("wide_drug_window", 400)),
        questionnaire=phrases_tagged(lang_table(d, "questionnaire")),
        review=phrases_tagged(lang_table(d, "clinician_review")),
        otc=phrases(str_list(s, "otc_drugs") + str_list(s, "non_medicines")),
    )


def patterns(kb: Knowledge) -> RxPatterns:
    return per_kb(kb, "prescription", _build)


@dataclass
class Hit:
    page: ParsedPage
    lang: str
    start: int
    end: int
    phrase: str

    def evidence(self) -> Evidence:
        return Evidence(self.page.url, self.page.excerpt(self.start, self.end))


def _hits(page: ParsedPage, pattern: Tagged) -> Iterator[Hit]:
    """The phrase's matches on the page (the first MAX_HITS_PER_PAGE), read once per page."""
    for m in matches(page, pattern, MAX_HITS_PER_PAGE):
        yield Hit(page, m.lastgroup or "en", m.start(), m.end(), m.group())


def _negator(p: RxPatterns, hit: Hit) -> str | None:
    text = hit.page.text
    return negated(text, hit.start, hit.end, p.negators.get(hit.lang), p.warnings_after.get(hit.lang))


def _asked(p: RxPatterns, hit: Hit) -> bool:
    """A question such as 'Can I buy X without a prescription?' asks; it does not offer."""
    if not is_question(hit.page.text, hit.end):
        return False
    q = p.questions.get(hit.lang)
    return bool(q and q.search(clause_before(hit.page.text, hit.start, radius=120).lstrip()))


# --- PC401 -----------------------------------------------------------------------------------


@check("PC401")
def prescription_required(site: Site) -> Iterator[Finding]:
    """The site says a valid prescription is required, or runs a prescription service."""
    scope = analyse(site)
    p = patterns(site.kb)
    evidence: list[Evidence] = []
    for page in site.pages:
        for hit in _hits(page, p.required):
            neg = p.required_negators.get(hit.lang)
            before = page.text[max(0, hit.start - p.required_window) : hit.start]
            if neg is not None and neg.search(before):
                continue
            evidence.append(hit.evidence())
            break
        if len(evidence) >= 3:
            break
    flows = [ev for name, ev in scope.strong.items() if "prescription" in name]
    if not evidence and not flows:
        # an online clinic: its own clinicians review a consultation and issue the prescription
        # (GPhC guidance for pharmacies providing services at a distance, prescribing by a clinician)
        reviewed = _clinician_prescribing(site, p)
        if reviewed is not None:
            yield site.finding("PC401", Outcome.PASS, "prescriptions are issued by the site's clinicians "
                               "after review of a consultation", reviewed, result="prescription-service")
            return
    if not scope.pharmacy and not evidence:
        # whether the site sells at all is the role stage's question (PC003): a site that presents
        # itself as a pharmacy without a shop is judged on what it says
        yield site.finding("PC401", Outcome.SKIP, "no shop of medicines seen: prescription "
                           "policy not assessed",
                           result="prescription-not-offered" if not scope.rx_drugs else "")
        return
    if evidence or flows:
        what = ("says a valid prescription is required" if evidence
                else "runs a prescription upload/transfer service")
        yield site.finding("PC401", Outcome.PASS, what, [*evidence, *flows], service=bool(flows),
                           result="prescription-required" if evidence else "prescription-service")
        return
    if not scope.rx_drugs:
        # OTC-only online (prescriptions handled in store): the prescription requirement is met
        yield site.finding("PC401", Outcome.WARN,
                           "no prescription policy stated, and no prescription-only medicine seen",
                           scope.evidence(), result="prescription-not-offered")
        return
    drugs = ", ".join(sorted(scope.rx_drugs)[:5])
    yield site.finding("PC401", Outcome.FAIL,
                       f"sells medicines, including prescription-only ones ({drugs}), but never says a "
                       "prescription is required", scope.evidence(), rx_drugs=sorted(scope.rx_drugs)[:10],
                       result="prescription-not-required")


def _clinician_prescribing(site: Site, p: RxPatterns) -> list[Evidence] | None:
    """Evidence of a consultation that a clinician reviews before prescribing, or None."""
    asked: list[Evidence] = []
    review: list[Evidence] = []
    for page in site.pages:
        for hit in _hits(page, p.questionnaire):
            if not (_negator(p, hit) or _asked(p, hit)):
                asked.append(hit.evidence())
                break
        for hit in _hits(page, p.review):
            review.append(hit.evidence())
            break
        if asked and review:
            return [asked[0], review[0]]
    return None


# --- PC402 -----------------------------------------------------------------------------------


def _nearest_medicine(p: RxPatterns, site: Site, hit: Hit, window: int) -> tuple[str, str] | None:
    """('rx'|'otc', name) of the medicine named nearest to the phrase within ``window``."""
    sp = scope_patterns(site.kb)
    text = hit.page.text
    a, b = max(0, hit.start - window), min(len(text), hit.end + window)
    if window == p.drug_window:  # first the same sentence: "Ibuprofen – no prescription. Atorvastatin: Rx"
        near = _nearest_in(p, sp.rx, hit, *sentence_bounds(text, hit.start, hit.end, window))
        if near is not None:
            return near
    return _nearest_in(p, sp.rx, hit, a, b)


def _nearest_in(
    p: RxPatterns, rx: re.Pattern[str] | None, hit: Hit, a: int, b: int
) -> tuple[str, str] | None:
    best: tuple[int, str, str] | None = None
    for kind, pat in (("otc", p.otc), ("rx", rx)):  # OTC first: on a tie, "Viagra Connect" is OTC
        if pat is None:
            continue
        for m in finditer_between(hit.page, pat, a, b):
            if hit.start <= m.start() < hit.end:
                continue  # part of the phrase itself ("non-prescription")
            dist = hit.start - m.end() if m.end() <= hit.start else m.start() - hit.end
            if best is None or dist < best[0]:
                best = (dist, kind, m.group())
    return (best[1], best[2]) if best else None


def _offer(p: RxPatterns, site: Site, hit: Hit, kind: str, pharmacy: bool) -> str | None:
    """Why this hit is an offer of prescription medicines without prescription, or None."""
    if _negator(p, hit) or _asked(p, hit):
        return None
    if not pharmacy:
        verbs = p.verbs.get(hit.lang)
        clause = clause_before(hit.page.text, hit.start, radius=120)
        if verbs is None or not verbs.search(clause):
            return None
    if kind == "general":
        return "offered for the whole shop"
    near = _nearest_medicine(p, site, hit, p.drug_window)
    if near is None and kind == "strong":
        near = _nearest_medicine(p, site, hit, p.wide_window)
    if near is None:
        return None
    what, name = near
    return f"tied to the prescription-only medicine {name}" if what == "rx" else None


@check("PC402")
def no_prescription_offer(site: Site) -> Iterator[Finding]:
    """Prescription-only medicines offered without a prescription: decisive."""
    p = patterns(site.kb)
    pharmacy = analyse(site).pharmacy
    offers: list[tuple[Hit, str]] = []
    ignored = 0
    for page in site.pages:
        for kind, table in (("general", p.general), ("strong", p.strong), ("weak", p.weak)):
            for hit in _hits(page, table):
                if any(h.page is page and h.start <= hit.start < h.end for h, _ in offers):
                    continue
                why = _offer(p, site, hit, kind, pharmacy)
                if why:
                    offers.append((hit, why))
                else:
                    ignored += 1
            if len(offers) >= 5:
                break
    if offers:
        hit, why = offers[0]
        yield site.finding("PC402", Outcome.FAIL,
                           f"offers medicines without prescription: '{hit.phrase}' {why}",
                           [h.evidence() for h, _ in offers],
                           phrases=sorted({h.phrase.lower() for h, _ in offers}),
                           result="rx-offered-without-prescription")
        return
    message = "no offer of prescription-only medicines without prescription"
    if ignored:
        message += f" ({ignored} mention(s) read as warnings, questions or OTC wording)"
    yield site.finding("PC402", Outcome.PASS, message)


# --- PC403 -----------------------------------------------------------------------------------


@check("PC403")
def questionnaire_only(site: Site) -> Iterator[Finding]:
    """Prescriptions issued from a questionnaire alone, without a clinician's review."""
    p = patterns(site.kb)
    offers: list[Hit] = []
    review: list[Hit] = []
    for page in site.pages:
        for hit in _hits(page, p.questionnaire):
            if not (_negator(p, hit) or _asked(p, hit)) and len(offers) < 5:
                offers.append(hit)
        for hit in _hits(page, p.review):
            if len(review) < 3:
                review.append(hit)
    if not offers:
        if not analyse(site).pharmacy:
            yield site.finding("PC403", Outcome.SKIP, "not a pharmacy: no questionnaire prescribing")
        else:
            yield site.finding("PC403", Outcome.PASS, "no questionnaire-based prescribing offered")
        return
    phrase = offers[0].phrase
    if review:
        yield site.finding("PC403", Outcome.WARN,
                           f"prescribes after an online questionnaire ('{phrase}'), with signs of "
                           f"clinician review ('{review[0].phrase}'); "
                           "the clinician's registration is not checked here",
                           [h.evidence() for h in offers[:3] + review[:2]], clinician_review=True)
        return
    yield site.finding("PC403", Outcome.FAIL,
                       f"questionnaire or free consultation instead of a prescription ('{phrase}'), "
                       "with no sign that a clinician reviews it", [h.evidence() for h in offers],
                       clinician_review=False)
