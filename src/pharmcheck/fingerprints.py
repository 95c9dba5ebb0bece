"""Network fingerprints of one site: the facts an affiliate network's sites share (issue 14).

Pure functions of the parsed snapshot, the findings and the rule pack (``rules/network.toml``):
checkout/order hosts, outbound hosts carrying an affiliate id, analytics and tag ids, a MinHash of
the home page's tag/class skeleton (robust to text, brand and price changes), hashes of normalised
long paragraphs, phones, e-mails, messenger handles, licence numbers claimed and registry entries
linked, RDAP registrar and creation day, and the certificate organisation. The result is stored in
``Report.fingerprints``; :mod:`pharmcheck.networks` clusters many of them.

The MinHash is the scheme of ``datasketch.MinHash`` (universal hashing ``(a·h + b) mod 2^61−1`` of a
32-bit hash of each shingle, ``num_perm`` permutations), computed in plain Python so that judging a
site never imports numpy/scipy; the clustering feeds the values to datasketch's LSH index.
"""

from __future__ import annotations

import hashlib
import heapq
import random
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from pharmcheck.checks.textmatch import per_kb, str_list, subtable
from pharmcheck.findings import Finding, Outcome
from pharmcheck.knowledge import Knowledge
from pharmcheck.urls import registered_domain, site_domain

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.site import ParsedPage, Site

FINGERPRINT_VERSION = 1
MAX_SOURCE_CHARS = 1_500_000  # page source searched for analytics ids, per page
MAX_PLATFORM_CHARS = 200_000  # page source searched for shop-platform markers (they sit in the head)
MAX_SKELETON = 3_000  # home-page elements in the template skeleton (header, menus, the first products)
MAX_EMAILS_SCANNED = 200  # '@' signs looked at per page
MAX_OFFSITE_LINKS = 500  # off-site links looked at per page (a link farm has thousands)
MAX_ITEMS = 20  # per list in a fingerprint
_FEW_LITERALS = 12  # literal sets up to this size are looked for one by one in a non-ASCII text
_PRIME = (1 << 61) - 1
_MAX_HASH = (1 << 32) - 1
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b")
_NON_WORD = re.compile(r"[^\w]+")
_DIGITS = re.compile(r"\d+")
_CLASS_DIGITS = re.compile(r"[\d_-]*\d[\d_-]*")
_SKELETON_SKIP = frozenset({"html", "head", "meta", "title", "script", "style", "link", "noscript", "br"})
_WORD_RUNS = re.compile(r"\w+")  # a normalised line's words (see _norm_paragraphs)
_ASSET = re.compile(r"\.(?:png|jpe?g|gif|webp|svg|css|js)$", re.I)


@dataclass(frozen=True)
class NetworkData:
    """``rules/network.toml`` compiled once per rule pack."""

    perm: int
    shingle: int
    min_skeleton: int
    boilerplate_min: int
    boilerplate_max: int
    affiliate_params: frozenset[str]
    analytics: tuple[tuple[str, re.Pattern[str], frozenset[str] | None], ...]  # name, pattern, literals
    messengers: tuple[tuple[str, re.Pattern[str]], ...]
    platforms: tuple[tuple[str, tuple[str, ...]], ...]
    checkout: re.Pattern[str]
    permutations: tuple[tuple[int, int], ...]


def network_data(kb: Knowledge) -> NetworkData:
    return per_kb(kb, "network.fingerprints", _build)


def _with_anchors(kb: Knowledge, name: str, regex: str) -> tuple[str, re.Pattern[str], frozenset[str] | None]:
    from pharmcheck.site import anchors

    pattern = kb.regex(regex)  # RE2 when a user pack supplied it (pharmcheck.linear)
    return name, pattern, anchors(pattern)


def _build(kb: Knowledge) -> NetworkData:
    d = kb.family("network")
    perm = int(d.get("minhash_perm", 64))
    rng = random.Random(1)  # fixed seed: every report of every version must be comparable
    perms = tuple((rng.randint(1, _PRIME - 1), rng.randint(0, _PRIME - 1)) for _ in range(perm))
    domain = kb.family("domain")
    return NetworkData(
        perm=perm,
        shingle=int(d.get("shingle", 4)),
        min_skeleton=int(d.get("min_skeleton", 40)),
        boilerplate_min=int(d.get("boilerplate_min_chars", 90)),
        boilerplate_max=int(d.get("boilerplate_max", 30)),
        affiliate_params=frozenset(p.lower() for p in str_list(d, "affiliate_params")),
        analytics=tuple(_with_anchors(kb, k, str(v)) for k, v in subtable(d, "analytics").items()),
        messengers=tuple((k, kb.regex(str(v))) for k, v in subtable(d, "messengers").items()),
        platforms=tuple(
            (k, tuple(str(m).lower() for m in v))
            for k, v in subtable(d, "platforms").items()
            if isinstance(v, list)
        ),
        checkout=kb.regex(str(domain.get("checkout", r"(?i)\b(?:checkout|cart|basket|order)\b"))),
        permutations=perms,
    )


# --- MinHash -----------------------------------------------------------------------------------


def _hash32(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "little")


def minhash(shingles: Iterable[str], permutations: tuple[tuple[int, int], ...]) -> list[int]:
    """MinHash signature (datasketch's scheme) of a set of shingles; empty set -> all max values:
    ``[min([((a * h + b) % _PRIME) & _MAX_HASH for h in hashes], default=_MAX_HASH) for a, b in ...]``."""
    hashes = list({_hash32(s) for s in shingles})
    if not hashes or not permutations:
        return [_MAX_HASH] * len(permutations)
    if all(0 <= a < _PRIME and 0 <= b < _PRIME for a, b in permutations):
        return _packed_minhash(hashes, permutations)
    prime, top = _PRIME, _MAX_HASH
    return [min([((a * h + b) % prime) & top for h in hashes], default=top) for a, b in permutations]


_LANE = 96  # bits per permutation in _packed_minhash: a·h + b < 2^61·2^32 + 2^61 < 2^94


def _packed_minhash(hashes: list[int], permutations: tuple[tuple[int, int], ...]) -> list[int]:
    """The signature with every permutation at once: one big integer holds each permutation's value in
    its own 96-bit lane, and every step below keeps each lane within its bits (no carry or borrow
    crosses a lane), so each lane computes exactly ``((a * h + b) % _PRIME) & _MAX_HASH`` and the running
    minimum. Needs 0 <= a, b < _PRIME and 0 <= h < 2^32 (hashes are 32-bit)."""
    w = _LANE
    a_all = b_all = ones = 0
    for j, (a, b) in enumerate(permutations):
        a_all |= a << (w * j)
        b_all |= b << (w * j)
        ones |= 1 << (w * j)
    low61, low33, low32, bit64 = ones * _PRIME, ones * ((1 << 33) - 1), ones * _MAX_HASH, ones << 64
    best = low32  # _MAX_HASH in every lane
    for h in hashes:
        x = a_all * h + b_all  # a·h + b < 2^94 per lane
        x = (x & low61) + ((x >> 61) & low33)  # ≡ x mod 2^61−1 (2^61 ≡ 1), < 2^61 + 2^33
        x = (x & low61) + ((x >> 61) & low33)  # ≤ 2^61: at most one _PRIME too many
        x -= (((x + ones) >> 61) & ones) * _PRIME  # x ≥ _PRIME exactly when x + 1 reaches bit 61
        x &= low32
        smaller = (((best | bit64) - x) >> 64) & ones  # 1 where best ≥ x (bit 64 survives the subtraction)
        keep = smaller * _MAX_HASH
        best = (x & keep) | (best & (low32 ^ keep))
    size = w // 8
    raw = best.to_bytes(size * len(permutations), "little")
    return [int.from_bytes(raw[size * j : size * j + 4], "little") for j in range(len(permutations))]


def jaccard(a: list[int], b: list[int]) -> float:
    """Estimated Jaccard similarity of two signatures of the same length."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def skeleton(page: ParsedPage) -> list[str]:
    """The page's elements as ``tag.class.class`` tokens in document order (no text, no attributes
    but classes; digits in class names dropped, since generated ids vary between copies)."""
    out: list[str] = []
    tokens: dict[tuple[str, tuple[Any, ...]], str] = {}  # (tag, classes) -> token: pages repeat them
    for name, cls in page.soup.name_classes(_SKELETON_SKIP):  # no element view made for this
        raw = tuple(cls) if isinstance(cls, list) else (cls,) if isinstance(cls, str) else ()
        token = tokens.get((name, raw))
        if token is None:
            names = sorted({_CLASS_DIGITS.sub("", c).lower() for c in raw if isinstance(c, str)} - {""})
            token = tokens[(name, raw)] = ".".join([name, *names[:4]])
        out.append(token)
        if len(out) >= MAX_SKELETON:
            break
    return out


def template_signature(tokens: list[str], data: NetworkData) -> list[int] | None:
    if len(tokens) < data.min_skeleton:
        return None
    k = data.shingle
    shingles = {"|".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}
    return minhash(shingles, data.permutations)


# --- facts -------------------------------------------------------------------------------------


def _home(site: Site) -> ParsedPage | None:
    pages = site.pages
    for p in pages:
        if p.kind == "home":
            return p
    return pages[0] if pages else None


def _norm_paragraph(line: str) -> str:
    return " ".join(_NON_WORD.sub(" ", _DIGITS.sub("0", line.lower())).split())


def _norm_paragraphs(lines: list[str]) -> list[str]:
    """``[_norm_paragraph(x) for x in lines]`` with one ``lower``/``sub`` pass over all of them: the
    lines hold no "\\n", lower-casing reads no context across one, and neither regex crosses one.

    After the two passes a line holds word characters and spaces only (no word character is
    whitespace), so its words are its runs of word characters: ``_WORD_RUNS.findall`` on the line
    with digit runs made "0" gives them without the second pass. ASCII text without a digit skips
    the digit pass (``\\d`` on ASCII is 0-9)."""
    if not lines:
        return []
    joined = "\n".join(lines).lower()
    if not (joined.isascii() and not any(d in joined for d in "0123456789")):
        joined = _DIGITS.sub("0", joined)
    findall = _WORD_RUNS.findall
    return [" ".join(findall(part)) for part in joined.split("\n")]


_BOILERPLATE_BATCH = 64  # lines normalised at a time by _boilerplate


def _longest_norm(line: str) -> int:
    """An upper bound of ``len(_norm_paragraph(line))``: the length of ``line.lower()`` (only "İ" lower-cases
    to two characters), which the word runs joined by single spaces and digit runs made "0" never exceed."""
    return len(line) + line.count("\u0130")


def _boilerplate(lines: Iterable[str], minimum: int, most: int) -> list[str]:
    """The hashes of the ``most`` longest distinct normalised ``lines`` at least ``minimum`` long (longest
    first, ties by hash): ``sorted(found, key=lambda h: (-found[h], h))[:most]`` over every line's
    paragraph. A line's paragraph is no longer than the line lower-cased (``_longest_norm``), so once
    ``most`` paragraphs are known, lines whose bound is below the shortest of the ``most`` longest cannot
    enter (nor tie): the lines are normalised by decreasing bound, and the rest is left unread (3 MB of
    random bytes: 800 long lines, the first batches decide)."""
    if most <= 0:
        return []
    ordered = sorted(lines, key=_longest_norm, reverse=True)
    found: dict[str, int] = {}
    for i in range(0, len(ordered), _BOILERPLATE_BATCH):
        if len(found) >= most and _longest_norm(ordered[i]) < heapq.nlargest(most, found.values())[-1]:
            break
        for norm in _norm_paragraphs(ordered[i : i + _BOILERPLATE_BATCH]):
            if len(norm) >= minimum:
                found.setdefault(_para_hash(norm), len(norm))
    return sorted(found, key=lambda h: (-found[h], h))[:most]


def _para_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def _add(items: list[str], value: str, cap: int = MAX_ITEMS) -> None:
    if value and value not in items and len(items) < cap:
        items.append(value)


def _findings(findings: Iterable[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.id == rule_id]


def compute(site: Site, findings: list[Finding], domain: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The site's fingerprints (JSON-ready); empty lists where nothing was found."""
    data = network_data(site.kb)
    ours = {d for d in (site.domain, site.snapshot.start_registered_domain) if d}
    checkout: list[str] = []
    affiliate_hosts: list[str] = []
    affiliate_ids: list[str] = []
    analytics: list[str] = []
    messengers: list[str] = []
    emails: list[str] = []
    platforms: list[str] = []
    analytics_index = per_kb(site.kb, "network.analytics_literals", _analytics_index)
    long_lines: dict[str, None] = {}  # the long lines of every page, each once
    for page in site.pages:
        source = (page.page.html or "")[:MAX_SOURCE_CHARS]
        html = page.page.html or ""
        low: str | None = page.shared.get("html.lower")  # the markup lower-cased, when a rule made it
        # cut, it is the cut markup lower-cased: str.lower maps each character to one, but İ (to two)
        # and Σ (to ς or σ by what follows it)
        if low is None or "\u0130" in html or "\u03a3" in html:
            low = source[:MAX_PLATFORM_CHARS].lower()
        else:
            low = low[:MAX_PLATFORM_CHARS]
        present = _platform_markers(site.kb, low)
        for name, markers in data.platforms:
            if any(m in present for m in markers):
                _add(platforms, name)
        held = analytics_index.present(source)  # the analytics literals in the source, in one pass
        seen: dict[str, bool] = {}
        for name, pattern, literals in data.analytics:
            if literals is not None and held.isdisjoint(literals):
                continue  # none of the literals every match contains: no scan needed
            if not _may_occur(pattern, source, seen):
                continue  # a part every match holds is missing ("G-" of a GA4 id: "id=" is in every page)
            for m in pattern.finditer(source):
                _add(analytics, f"{name}:{m.group(1)}")
        for form in page.forms:
            host = _host(form.action)
            if host and registered_domain(host) not in ours:
                _add(checkout, host)
        offsite = 0
        for link in page.links:
            if link.same_site or offsite >= MAX_OFFSITE_LINKS:
                continue
            offsite += 1
            try:
                parts = urlsplit(link.url)
                query = parse_qsl(parts.query, keep_blank_values=False) if parts.query else []
            except ValueError:
                continue
            host = (parts.hostname or "").lower().rstrip(".")
            if not host or registered_domain(host) in ours:
                continue
            if data.checkout.search(link.text[:200]) or data.checkout.search(parts.path[:300]):
                _add(checkout, host)
            for key, value in query:
                if key.lower() in data.affiliate_params and value:
                    _add(affiliate_hosts, host)
                    _add(affiliate_ids, f"{host}?{key.lower()}={value[:64]}")
        hrefs = [h.strip() for h in link_hrefs(page)]
        joined = "\n".join(hrefs)
        mail = "mailto:" in joined.lower()  # needed by href.lower().startswith("mailto:")
        once: dict[str, str] = {}  # the folded hrefs, made once for every messenger pattern
        kinds = [(name, pattern) for name, pattern in data.messengers if may_hold(pattern, joined, once)]
        for href in hrefs if mail or kinds else ():
            if mail and href.lower().startswith("mailto:"):
                _add(emails, href[7:].split("?", 1)[0].strip().lower())
                continue
            for name, pattern in kinds:
                handle = pattern.match(href)
                if handle:
                    _add(messengers, f"{name}:{handle.group(1).lower()}")
        for address in _emails(page.text):
            _add(emails, address)
        long_lines.update(dict.fromkeys(x for x in page.lines if len(x) >= data.boilerplate_min))
    boilerplate = _boilerplate(long_lines, data.boilerplate_min, data.boilerplate_max)
    home = _home(site)
    tokens = skeleton(home) if home is not None else []
    signature = template_signature(tokens, data)
    phones: list[str] = []
    for f in _findings(findings, "PC202"):
        for n in f.data.get("numbers", []) or []:
            if isinstance(n, dict):
                _add(phones, str(n.get("e164", "")))
    licences: list[str] = []
    verified: list[str] = []
    for f in _findings(findings, "PC301"):
        number = str(f.data.get("number") or "")
        if number:
            _add(licences, _licence_key(number))
    registry_links: list[str] = []
    for f in findings:
        if f.id not in ("PC310", "PC311", "PC312"):
            continue
        for rec in f.data.get("credentials", []) or []:
            if not isinstance(rec, dict):
                continue
            url = str(rec.get("url") or "")
            number = str(rec.get("number") or "")
            ok = rec.get("status") == "verified" and f.outcome == Outcome.PASS
            if url:
                _add(registry_links, _url_key(url))
                if ok:
                    _add(verified, _url_key(url))
            if number:
                _add(licences, _licence_key(number))
                if ok:
                    _add(verified, _licence_key(number))
    dom = dict(domain or {})
    cert = site.snapshot.tls.cert
    snap = site.snapshot
    return {
        "version": FINGERPRINT_VERSION,
        "domain": site_domain(_host(snap.final_url or snap.url)) or site.domain,
        "start_domain": site_domain(_host(snap.url)) or snap.start_registered_domain or site.domain,
        "checkout_hosts": checkout,
        "affiliate_hosts": affiliate_hosts,
        "affiliate_ids": affiliate_ids,
        "analytics_ids": analytics,
        "template": {"minhash": signature, "elements": len(tokens), "platforms": platforms}
        if signature is not None
        else {"minhash": None, "elements": len(tokens), "platforms": platforms},
        "boilerplate": boilerplate,
        "phones": phones,
        "emails": emails,
        "messengers": messengers,
        "licences": licences,
        "registry_links": registry_links,
        "verified_credentials": verified,
        "registrar": dom.get("registrar") or None,
        "created": dom.get("created") or None,
        "cert_org": (cert.subject_org or None) if cert is not None else None,
        "favicon": None,  # the crawler fetches no images: no favicon or logo hash yet
    }


class _Literals:
    """One Aho-Corasick automaton (ahocorasick-rs, every occurrence, overlapping ones too) of a set of
    non-empty literals: which of them occur in a text, in one pass instead of one scan per literal."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = sorted({w for w in words if w})
        self.automaton: Any = None
        if self.words:
            import ahocorasick_rs

            self.automaton = ahocorasick_rs.AhoCorasick(
                self.words, matchkind=ahocorasick_rs.MatchKind.Standard,
                implementation=ahocorasick_rs.Implementation.DFA)  # built once per pack: the fastest reader

    def present(self, text: str) -> set[str]:
        """The literals that occur in ``text``, and "" (it occurs in every text, as ``"" in text`` says)."""
        found = {""}
        if self.automaton is not None and text:
            words = self.words
            if len(words) <= _FEW_LITERALS and not text.isascii():
                # the automaton reads a non-ASCII text through a UTF-8 copy of it (3 MB of random bytes:
                # 20 ms); a few substring scans cost half that
                found.update(w for w in words if w in text)
                return found
            hits = self.automaton.find_matches_as_indexes(text, overlapping=True)
            found.update(words[i] for i, _, _ in hits)
        return found


def _marker_index(kb: Knowledge) -> _Literals:
    """Every platform marker of the pack."""
    return _Literals(m for _, markers in network_data(kb).platforms for m in markers)


def _analytics_index(kb: Knowledge) -> _Literals:
    """Every literal of the analytics patterns (one of which each match of a pattern holds)."""
    return _Literals(a for _, _, literals in network_data(kb).analytics for a in literals or ())


def _platform_markers(kb: Knowledge, low: str) -> set[str]:
    """The platform markers that occur in ``low`` (one automaton pass instead of one scan per marker);
    the empty marker occurs in every text, as ``"" in low`` says."""
    return per_kb(kb, "network.platform_markers", _marker_index).present(low)


def lower_html(page: ParsedPage) -> str:
    """``page.page.html.lower()``, once per page (shared by the rules that look for words in markup)."""
    shared = page.shared
    got: str | None = shared.get("html.lower")
    if got is None:
        got = shared["html.lower"] = (page.page.html or "").lower()
    return got


def link_hrefs(page: ParsedPage) -> list[str]:
    """The ``href`` of every ``<a>`` of the page that has one, in document order (once per page)."""
    shared = page.shared
    got: list[str] | None = shared.get("a.hrefs")
    if got is None:
        got = shared["a.hrefs"] = [h for a in page.named("a") if isinstance(h := a.get("href"), str)]
    return got


def may_hold(pattern: re.Pattern[str], hay: str, folded: dict[str, str] | None = None) -> bool:
    """False only when no substring of ``hay`` can match ``pattern``: none of the words one of which
    every match holds (:func:`pharmcheck.site.pattern_shape`; compared folded for a case-insensitive
    pattern) occurs in it. A few substring tests instead of a regex attempt at every position.
    ``folded``: where the folded ``hay`` is kept between calls on the same ``hay``."""
    from pharmcheck.site import fold, pattern_shape

    got = pattern_shape(pattern)
    if got is None or got.anchors is None or got.digit:  # digit: a run of digits may stand for the words
        return True
    text = hay
    if got.folded:
        known = folded.get(hay) if folded is not None else None
        if known is None:
            known = fold(hay)
            if folded is not None:
                folded[hay] = known
        text = known
    anchors = got.anchors
    if len(anchors) < _AUTOMATON_ANCHORS or "" in anchors:
        return any(a in text for a in anchors)
    automaton = _ANCHOR_AUTOMATA.get(anchors)
    if automaton is None:
        import ahocorasick_rs

        if len(_ANCHOR_AUTOMATA) >= 1024:
            _ANCHOR_AUTOMATA.clear()
        automaton = _ANCHOR_AUTOMATA[anchors] = ahocorasick_rs.AhoCorasick(sorted(anchors))
    return bool(automaton.find_matches_as_indexes(text))  # a match of one anchor at least, if any occurs


# The anchor sets of patterns (street styles hold up to 40 words) as automata: one pass over a window
# instead of a substring test per word. Keyed by the pattern's anchors (bounded; nothing of a page).
_AUTOMATON_ANCHORS = 8
_ANCHOR_AUTOMATA: dict[frozenset[str], Any] = {}


def _may_occur(pattern: re.Pattern[str], hay: str, seen: dict[str, bool]) -> bool:
    """False only when ``pattern`` has no match in ``hay``: its shape's choice tree (every way to find
    the places a match holds, :data:`pharmcheck.anchors.Choice`) read as a condition on the words in
    ``hay`` (each part of an "any" is held by every match, one part of an "all" by each; a run of digits
    may always be there). Case-sensitive patterns only; ``seen``: the words already looked for in ``hay``."""
    from pharmcheck.site import pattern_shape

    got = pattern_shape(pattern)
    if got is None or got.choice is None or got.folded:
        return True
    return _choice_holds(got.choice, hay, seen)


def _choice_holds(choice: tuple[Any, ...], hay: str, seen: dict[str, bool]) -> bool:
    kind = choice[0]
    if kind == "words":
        for w in choice[1]:
            found = seen.get(w)
            if found is None:
                found = seen[w] = w in hay
            if found:
                return True
        return False
    if kind == "any":
        return all(_choice_holds(sub, hay, seen) for sub in choice[1])
    if kind == "all":
        return any(_choice_holds(sub, hay, seen) for sub in choice[1])
    return True  # a run of digits, or a node this reader does not know


def _emails(text: str) -> Iterator[str]:
    """E-mail addresses around the '@' signs of the text (a regex scan of a long text without '@'
    would cost a failed match at every position)."""
    at = text.find("@")
    seen = 0
    while at >= 0 and seen < MAX_EMAILS_SCANNED:
        seen += 1
        window = text[max(0, at - 64) : at + 256]
        for m in _EMAIL.finditer(window):
            if not _ASSET.search(m.group(0)):
                yield m.group(0).lower()
        at = text.find("@", at + 1)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _licence_key(number: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", number).upper()


def _url_key(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    host = (parts.hostname or "").lower()
    return f"{host}{parts.path.rstrip('/')}{'?' + parts.query if parts.query else ''}"
