"""PC2xx identity and contact: a physical address (PC201) and a telephone number (PC202).

Addresses are read from schema.org data (JSON-LD, microdata, RDFa), ``<address>`` elements and
the visible text. In text, an address is a country's postcode pattern with a street-like component
a few lines above it (both from ``rules/address.toml``): neither alone counts, so prices, dosages,
phone numbers, years and town names in sentences are not addresses. P.O. boxes, private mailboxes
and virtual offices receive mail but are not premises: they warn. Telephone numbers are parsed with
libphonenumber (``phonenumbers``) in the region of the address, the domain or the page language.
"""

from __future__ import annotations

import re
import weakref
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import accumulate, repeat
from operator import add
from typing import Any
from urllib.parse import unquote

import phonenumbers

from pharmcheck import site as site_module  # site_module.pattern_shape: looked up at call time
from pharmcheck.checks import check, digitlines
from pharmcheck.checks.pagehits import line_starts
from pharmcheck.checks.textmatch import per_kb
from pharmcheck.findings import Evidence, Finding, Outcome
from pharmcheck.fingerprints import link_hrefs, lower_html
from pharmcheck.knowledge import Knowledge
from pharmcheck.site import ParsedPage, Site, fold

MAX_LOCALITY_HITS = 200  # per format and text: bounds work on hostile pages
MAX_JSONLD_NODES = 2000
MAX_JSONLD_DEPTH = 12
MAX_PHONE_SNIPPETS = 40  # per page: spans around digit runs given to the phone matcher
SNIPPET_RADIUS = 60
MAX_ADDRESS_CHARS = 200
FULL_SCAN_KINDS = frozenset({"contact", "legal", "about", "home"})
FULL_SCAN_HEAD, FULL_SCAN_TAIL = 100_000, 20_000  # characters read on those pages
HEAD_LINES, TAIL_LINES = 30, 80  # lines read on other pages (header, footer)
SOURCE_RANK = {"jsonld": 0, "microdata": 1, "address-tag": 2, "text": 3}
KIND_RANK = {"contact": 0, "legal": 1, "about": 2, "home": 3}
MAILBOX_LABEL = {
    "po_box": "P.O. box",
    "private_mailbox": "private mailbox (PMB)",
    "virtual_office": "mail-forwarding / virtual-office",
}
_PHONEISH = re.compile(r"(?:\d[ ().\-/]{0,3}){7}")
_PHONEISH_DIGITS = 7  # each _PHONEISH match holds 7 digits
_SEPARATED = re.compile(r"[+ ().\-/]")
_DIGIT = re.compile(r"\d")
_TEL = re.compile(r"^\s*tel:", re.I)
_LETTER = re.compile(r"[^\W\d_]")
_HAS_POSTAL = re.compile(r"postaladdress", re.I)
_HAS_JSONLD = re.compile(r"ld\+json", re.I)
_HAS_ADDRESS_TAG = re.compile(r"<address\b", re.I)
_ANY = re.compile("")  # attribute present, any value (BeautifulSoup filter)
# The only characters other than ASCII letters that re.IGNORECASE matches with an ASCII letter
# (İ ı ſ K: tests/test_address_speed.py checks this against every code point); without them,
# str.lower() maps every character to one character, as re.IGNORECASE compares them.
_FOLDS_TO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")


# --------------------------------------------------------------------------------------------
# The rule pack's address knowledge, compiled once per Knowledge object.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Format:
    country: str
    locality: re.Pattern[str]
    postcode: re.Pattern[str]
    streets: tuple[re.Pattern[str], ...]
    run: int = 0  # every locality match holds this many digits in a row, on one line (digitlines)


@dataclass(frozen=True)
class _Compiled:
    formats: tuple[_Format, ...]
    all_streets: tuple[re.Pattern[str], ...]
    mailbox: tuple[tuple[str, re.Pattern[str]], ...]
    no_address: re.Pattern[str] | None
    phone_words: re.Pattern[str] | None
    window_before: int
    window_after: int
    max_distance: int
    country_names: dict[str, str]
    tld_country: dict[str, str]
    lang_region: dict[str, str]
    default_region: str
    gates: dict[re.Pattern[str], re.Pattern[str]]  # pattern -> its case-widened form (prefilter only)
    line_local: frozenset[re.Pattern[str]] = frozenset()  # mailbox patterns whose matches lie in one line

    # the same keyed by the patterns' ids (hashing a compiled pattern hashes its code; the patterns
    # live as long as this object)
    @cached_property
    def gate_of(self) -> dict[int, re.Pattern[str]]:
        return {id(p): wide for p, wide in self.gates.items()}

    @cached_property
    def line_local_ids(self) -> frozenset[int]:
        return frozenset(id(p) for p in self.line_local)

    @cached_property
    def street_local_ids(self) -> frozenset[int]:
        """The street styles whose every match lies in one line (digitlines.line_local)."""
        return frozenset(id(p) for p in self.all_streets if digitlines.line_local(p))


def _opt(kb: Knowledge, pattern: Any) -> re.Pattern[str] | None:
    return kb.regex(pattern) if isinstance(pattern, str) and pattern else None


def _compile(kb: Knowledge) -> _Compiled:
    data = kb.family("address")
    styles = {name: kb.regex(entry["pattern"]) for name, entry in data.get("street_style", {}).items()}
    formats = tuple(
        _Format(
            country=str(f["country"]).upper(),
            locality=kb.regex(f["locality"]),
            postcode=kb.regex(f["postcode"]),
            streets=tuple(styles[name] for name in f.get("street", []) if name in styles),
            run=digitlines.digit_run(kb.regex(f["locality"])),
        )
        for f in data.get("format", [])
    )
    mailbox = tuple((str(m["kind"]), kb.regex(m["pattern"])) for m in data.get("mailbox", []))
    return _Compiled(
        formats=formats,
        all_streets=tuple(styles.values()),
        mailbox=mailbox,
        no_address=_opt(kb, data.get("no_address")),
        phone_words=_opt(kb, data.get("phone_words")),
        window_before=int(data.get("window_before", 4)),
        window_after=int(data.get("window_after", 1)),
        max_distance=int(data.get("max_distance", 320)),
        country_names={str(k).lower(): str(v).upper() for k, v in data.get("country_names", {}).items()},
        tld_country={str(k).lower(): str(v).upper() for k, v in data.get("tld_country", {}).items()},
        lang_region={str(k).lower(): str(v).upper() for k, v in data.get("phone_region_by_lang", {}).items()},
        default_region=str(data.get("phone_default_region", "US")).upper(),
        gates=_gates([p for _, p in mailbox] + [_opt(kb, data.get("no_address"))]),
        line_local=frozenset(p for _, p in mailbox if digitlines.line_local(p)),
    )


def _gates(patterns: Iterable[re.Pattern[str] | None]) -> dict[re.Pattern[str], re.Pattern[str]]:
    out: dict[re.Pattern[str], re.Pattern[str]] = {}
    for p in patterns:
        wide = digitlines.case_widened(p) if p is not None else None
        if p is not None and wide is not None:
            out[p] = wide
    return out


def _may(c: _Compiled, may_match: Callable[[re.Pattern[str]], bool], pattern: re.Pattern[str]) -> bool:
    """``may_match`` of the pattern, or of its case-widened form (whose anchors the prefilter reads)."""
    return may_match(c.gate_of.get(id(pattern), pattern))


def compiled(kb: Knowledge) -> _Compiled:
    """The address knowledge of ``kb``, compiled on first use (regexes are compiled once per pack)."""
    return per_kb(kb, "address.compiled", _compile)


Scan = Callable[[re.Pattern[str], int, "int | None"], Iterator[re.Match[str]]]


def _page_finditer(page: ParsedPage) -> Scan:
    """``pattern.finditer(page.text, pos, endpos)``: ``ParsedPage.finditer`` (the same matches, found in
    windows around anchor words and digit runs) where the page view has it."""
    got: Scan | None = getattr(page, "finditer", None)
    if got is not None:
        return got
    text = page.text

    def plain(pattern: re.Pattern[str], pos: int = 0, endpos: int | None = None) -> Iterator[re.Match[str]]:
        return pattern.finditer(text, pos, len(text) if endpos is None else endpos)

    return plain


# --------------------------------------------------------------------------------------------
# Addresses in free text.
# --------------------------------------------------------------------------------------------
@dataclass
class Address:
    text: str
    country: str
    source: str  # jsonld, microdata, address-tag, text
    mailbox: str = ""  # "" for premises, else a MAILBOX_LABEL key
    evidence: Evidence = field(default_factory=lambda: Evidence(""))
    page_kind: str = "other"

    def rank(self) -> tuple[int, int]:
        return (KIND_RANK.get(self.page_kind, 9), SOURCE_RANK.get(self.source, 9))


@dataclass(frozen=True)
class TextAddress:
    start: int
    end: int
    country: str
    mailbox: str
    text: str
    street_first: bool = True  # the usual order; a street read after its postcode is a weaker reading


class _Lines:
    """Line offsets of a text, to find the line of a character position."""

    def __init__(self, text: str, starts: list[int] | None = None) -> None:
        self.text = text
        self._starts: list[int] | None = starts  # else read on first use: most texts hold no address

    @property
    def starts(self) -> list[int]:
        got = self._starts
        if got is None:
            # where each line starts: 0, then one past each "\n" (the running sum of the line lengths + 1)
            lengths = map(len, self.text.split("\n")[:-1])
            got = self._starts = list(accumulate(map(add, lengths, repeat(1)), initial=0))
        return got

    def index(self, pos: int) -> int:
        return bisect_right(self.starts, pos) - 1

    def start(self, line: int) -> int:
        return self.starts[max(0, min(line, len(self.starts) - 1))]

    def end(self, line: int) -> int:
        if line + 1 < len(self.starts):
            return self.starts[line + 1] - 1
        return len(self.text)


def _clean(text: str) -> str:
    parts = [" ".join(p.split()) for p in text.split("\n")]
    out = ", ".join(p.strip(" ,") for p in parts if p.strip(" ,"))
    return out[:MAX_ADDRESS_CHARS]


def _mailbox_kind(
    c: _Compiled, text: str, start: int = 0, end: int | None = None, skip: tuple[str, ...] = ()
) -> str:
    end = len(text) if end is None else end
    for kind, pattern in c.mailbox:
        if kind not in skip and pattern.search(text, start, end):
            return kind
    return ""


# per site: the locality matches of each format in one digit window's text, relative to the window
# (a window of whole lines; (window text, starts the text, ends the text) -> one list per format)
WindowMemo = dict[tuple[str, bool, bool], list["list[tuple[int, int]] | None"]]


MEMO_WINDOW_MAX = 4000  # longer windows are not remembered (no page repeats them; keying costs a copy)
_Entries = list[tuple[int, int, "list[list[tuple[int, int]] | None] | None"]]


def _window_entries(text: str, windows: list[tuple[int, int]], memo: WindowMemo | None,
                    slots: int) -> _Entries:
    """Each window with its memo entry (one list per format), or None when it is not remembered."""
    n = len(text)
    out: _Entries = []
    for a, b in windows:
        if memo is None or b - a > MEMO_WINDOW_MAX:
            out.append((a, b, None))
            continue
        key = (text[a:b], a == 0, b == n)
        entry = memo.get(key)
        if entry is None:
            entry = memo[key] = [None] * slots
        out.append((a, b, entry))
    return out


def _locality_spans(fmt: _Format, i: int, text: str,
                    entries: _Entries | None) -> Iterator[tuple[int, int]]:
    """The spans of ``fmt.locality.finditer(text)``. A format whose matches hold ``fmt.run`` digits in
    a row and lie within one line is scanned only in the digit windows (``entries``, from
    :func:`_window_entries`); a window's memo entry (one site's) keeps its matches: footers and
    headers repeat on every page. A line-local match depends only on its line (before a line's first
    character stands "\n" or the start of the text, after its last "\n" or the end of the scan: no
    part of the pattern can match "\n" and it has no ``$``, so each reads alike; ``^`` is told apart
    by the window starting the text)."""
    if not fmt.run or entries is None:
        for m in fmt.locality.finditer(text):
            yield m.span()
        return
    for a, b, entry in entries:
        got = entry[i] if entry is not None else None
        if got is None:
            got = [(m.start() - a, m.end() - a) for m in fmt.locality.finditer(text, a, b)]
            if entry is not None:
                entry[i] = got
        for s, e in got:
            yield a + s, a + e


def find_in_text(text: str, c: _Compiled, hint: str = "",
                 windows: digitlines.Windows | None = None,
                 memo: WindowMemo | None = None, folded_text: str | None = None,
                 street_memo: StreetMemo | None = None, lines: _Lines | None = None) -> list[TextAddress]:
    """Street + postcode addresses in ``text``; overlapping readings keep the ``hint`` country.
    ``windows``: the digit lines of ``text``, when the caller has them; ``memo``: the locality
    matches of digit windows already read on the site's other pages (see :func:`_locality_spans`);
    ``folded_text``: ``fold(text)``, when the caller has it; ``street_memo``: the street styles'
    matches in runs of whole lines already read on the site's other pages (see :func:`_nearest_street`);
    ``lines``: the line offsets of ``text``, when the caller has them."""
    if lines is None or lines.text is not text:
        lines = _Lines(text)
    found: dict[int, TextAddress] = {}  # keyed by postcode position
    # postcodes hold digits: read only the lines that have them (the same matches as a full scan)
    if windows is None or windows.text is not text:
        windows = digitlines.Windows(text)
    streets: dict[tuple[int, int, int], list[tuple[int, int]]] = {}  # formats share windows
    # the folded text, once (for the street styles' anchor words)
    folded: list[str] = [folded_text] if folded_text is not None and len(folded_text) == len(text) else []
    by_run: dict[int, _Entries] = {}  # the windows of each run length, with their memo entries
    for i, fmt in enumerate(c.formats):
        entries = by_run.get(fmt.run)
        if entries is None and fmt.run:
            entries = by_run[fmt.run] = _window_entries(text, windows.get(fmt.run), memo, len(c.formats))
        for n, (pc_start, pc_end) in enumerate(_locality_spans(fmt, i, text, entries)):
            if n >= MAX_LOCALITY_HITS:
                break
            old = found.get(pc_start)
            if old is not None and not (fmt.country == hint and old.country != hint):
                continue  # an earlier format's reading of this postcode stays whatever this one finds
            li = lines.index(pc_start)
            lo = max(lines.start(li - c.window_before), pc_start - c.max_distance)
            hi = min(lines.end(li + c.window_after), pc_end + c.max_distance)
            street = _nearest_street(fmt.streets, text, lo, hi, pc_start, pc_end, streets, folded,
                                     street_memo, c.street_local_ids)
            if street is None:
                continue
            start, end = min(street[0], pc_start), max(street[1], pc_end)
            line_start = lines.start(lines.index(start))
            if start - line_start <= 80:  # "Unit 4, 12 High St": the street's line, not only its tail
                label = text.rfind(": ", line_start, start)  # but not a label ("Visit us: ...")
                start = label + 2 if label >= 0 else line_start
            box_lo = max(lines.start(lines.index(start) - 1), start - 120)
            box_hi = min(lines.end(lines.index(end)), end + 80)
            # A street with a PMB or in a virtual office is a mailbox; a P.O. box beside a street is
            # not (find_mailboxes reports it on its own).
            box = _mailbox_kind(c, text, box_lo, box_hi, skip=("po_box",))
            street_first = street[1] <= pc_start
            found[pc_start] = TextAddress(start, end, fmt.country, box, _clean(text[start:end]),
                                          street_first)
    out: list[TextAddress] = []
    for addr in sorted(found.values(), key=lambda a: (a.start, -a.end)):
        if out and addr.start < out[-1].end:  # one address read twice ("Dublin 2, D02 X285")
            old = out[-1]
            if (addr.street_first, addr.end - addr.start) > (old.street_first, old.end - old.start):
                out[-1] = addr
            continue
        out.append(addr)
    return out


def _may_hold_in(style: re.Pattern[str], text: str, lo: int, hi: int, folded: list[str]) -> bool:
    """``may_hold(style, text[lo:hi])`` without the slice: ``str.find`` in bounds, in the folded text
    (folded once per text; folding keeps positions, so the slice of the folded text is the folded
    slice)."""
    got = site_module.pattern_shape(style)
    if got is None or got.anchors is None or got.digit:
        return True
    hay = text
    if got.folded:
        if not folded:
            folded.append(fold(text))
        hay = folded[0]
    find = hay.find
    return any(find(a, lo, hi) >= 0 for a in got.anchors)


# per site: a line-local street style's matches in a run of whole lines, relative to its start
# ((id of the style, the lines' text, starts the text) -> spans; see _locality_spans)
StreetMemo = dict[tuple[int, str, bool], list[tuple[int, int]]]


def _nearest_street(
    styles: Iterable[re.Pattern[str]], text: str, lo: int, hi: int, pc_start: int, pc_end: int,
    memo: dict[tuple[int, int, int], list[tuple[int, int]]] | None = None,
    folded: list[str] | None = None,
    site_memo: StreetMemo | None = None, local: frozenset[int] = frozenset(),
) -> tuple[int, int] | None:
    """The span of the street-style match in ``text[lo:hi]`` nearest the postcode at
    ``pc_start:pc_end``; ``memo`` keeps the scans of one text (``style.finditer(text, lo, hi)``, keyed
    by the style's id: the styles live as long as the rule pack), which postcodes read by several
    formats repeat; ``folded`` holds the folded text once computed. ``site_memo`` (one site's) keeps
    the scans of whole lines by the styles in ``local`` (ids of line-local styles): the address
    block of a footer is read once per site."""
    best: tuple[int, int] | None = None
    best_gap = 1 << 30
    folded = [] if folded is None else folded
    lines_key: str | None = None
    for style in styles:
        key = (id(style), lo, hi)
        got = memo.get(key) if memo is not None else None
        if got is None:
            site_key: tuple[int, str, bool] | None = None
            if site_memo is not None and id(style) in local and hi - lo <= MEMO_WINDOW_MAX:
                if lines_key is None:
                    whole = (lo == 0 or text[lo - 1] == "\n") and (hi == len(text) or text[hi] == "\n")
                    lines_key = text[lo:hi] if whole else ""
                if lines_key:
                    site_key = (id(style), lines_key, lo == 0)
                    rel = site_memo.get(site_key)
                    if rel is not None:
                        got = [(lo + a, lo + b) for a, b in rel]
            if got is None:
                got = [m.span() for m in style.finditer(text, lo, hi)] \
                    if _may_hold_in(style, text, lo, hi, folded) else []
                if site_key is not None and site_memo is not None:
                    site_memo[site_key] = [(a - lo, b - lo) for a, b in got]
            if memo is not None:
                memo[key] = got
        for s, e in got:
            if pc_start <= s < pc_end:
                continue  # the postcode itself ("Dublin 2" is no street)
            gap = pc_start - e if e <= pc_start else s - pc_end
            gap = gap if gap >= 0 else 0
            if gap < best_gap:
                best, best_gap = (s, e), gap
    return best


SpanScan = Callable[[re.Pattern[str]], Iterator[tuple[int, int]]]


def find_mailboxes(text: str, c: _Compiled, hint: str = "",
                   may_match: Callable[[re.Pattern[str]], bool] | None = None,
                   spans: SpanScan | None = None, lines: _Lines | None = None) -> list[TextAddress]:
    """P.O. boxes and private mailboxes with a number, no street needed: "P.O. Box 123", "Postfach 10 20".

    ``may_match`` (``ParsedPage.may_match`` of the page ``text`` is part of) skips the patterns
    whose anchor words the page lacks; ``spans`` (the page's, when ``text`` is the page text)
    gives the spans of ``pattern.finditer(text)``; ``lines``: the line offsets of ``text``, when the
    caller has them."""
    if lines is not None and lines.text is not text:
        lines = None
    out: list[TextAddress] = []
    for kind, pattern in c.mailbox:
        if kind == "virtual_office":
            continue  # a phrase, not an address, unless it stands in one (see find_in_text)
        # the page's span scan tries a pattern only where its words or digits are: no may_match first
        if spans is None and may_match is not None and not _may(c, may_match, pattern):
            continue
        if lines is None:
            lines = _Lines(text)
        found = (m.span() for m in pattern.finditer(text)) if spans is None else spans(pattern)
        for n, (m_start, m_end) in enumerate(found):
            if n >= MAX_LOCALITY_HITS:
                break
            if not (_DIGIT.search(text, m_end, min(len(text), m_end + 14)) or _DIGIT.search(
                    text, max(0, m_start - 8), m_start)):
                continue
            li = lines.index(m_start)
            start, end = max(lines.start(li), m_start - 60), min(lines.end(li + 1), m_end + 120)
            matched = [f.country for f in c.formats if f.locality.search(text, start, end)]
            known = hint in {f.country for f in c.formats}
            country = hint if hint in matched or (hint and not known) else (matched[0] if matched else hint)
            out.append(TextAddress(m_start, end, country, kind, _clean(text[m_start:end])))
    return out


# --------------------------------------------------------------------------------------------
# Structured addresses (schema.org in JSON-LD, microdata, RDFa).
# --------------------------------------------------------------------------------------------
@dataclass
class _Postal:
    street: str = ""
    locality: str = ""
    postcode: str = ""
    region: str = ""
    country: str = ""
    pobox: str = ""

    def text(self) -> str:
        box = f"P.O. Box {self.pobox}" if self.pobox else ""
        if self.region:  # North American / Australian order: town, region postcode
            parts = [self.street, box, self.locality, " ".join(p for p in (self.region, self.postcode) if p)]
        else:
            parts = [self.street, box, " ".join(p for p in (self.postcode, self.locality) if p)]
        return ", ".join(p for p in [*parts, self.country] if p)[:MAX_ADDRESS_CHARS]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return _as_text(value.get("name") or value.get("@id") or "")
    if isinstance(value, list) and value:
        return _as_text(value[0])
    return ""


_POSTAL_KEYS = {
    "streetaddress": "street", "addresslocality": "locality", "postalcode": "postcode",
    "addressregion": "region", "addresscountry": "country", "postofficeboxnumber": "pobox",
}


def _postal_from_dict(d: dict[str, Any]) -> _Postal:
    p = _Postal()
    for key, value in d.items():
        attr = _POSTAL_KEYS.get(str(key).rsplit(":", 1)[-1].lower())
        if attr:
            setattr(p, attr, _as_text(value)[:300])
    return p


def _types(d: dict[str, Any]) -> list[str]:
    t = d.get("@type", [])
    items = t if isinstance(t, list) else [t]
    return [str(x).rsplit("/", 1)[-1].rsplit(":", 1)[-1] for x in items if isinstance(x, str)]


def _jsonld_addresses(doc: Any) -> Iterator[_Postal | str]:
    """Every PostalAddress (or address string) anywhere in a JSON-LD document, bounded."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    seen = 0
    while stack and seen < MAX_JSONLD_NODES:
        node, depth = stack.pop()
        seen += 1
        if depth > MAX_JSONLD_DEPTH:
            continue
        if isinstance(node, list):
            stack.extend((x, depth + 1) for x in reversed(node))
        elif isinstance(node, dict):
            if "PostalAddress" in _types(node):
                yield _postal_from_dict(node)
            for key, value in node.items():
                if str(key).rsplit(":", 1)[-1].lower() == "address":
                    if isinstance(value, str):
                        yield value
                    elif isinstance(value, list):
                        yield from (v for v in value if isinstance(v, str))
                if isinstance(value, dict | list):
                    stack.append((value, depth + 1))


def _microdata_addresses(page: ParsedPage) -> Iterator[_Postal]:
    soup = page.soup
    postal = re.compile("PostalAddress", re.I)
    for attr, prop in (("itemtype", "itemprop"), ("typeof", "property")):
        for el in soup.find_all(True, attrs={attr: postal}, limit=20):
            p = _Postal()
            for child in el.find_all(True, attrs={prop: _ANY}, limit=50):
                value_attr = child.get(prop)
                names = list(value_attr) if isinstance(value_attr, list) else str(value_attr or "").split()
                for name in names:
                    key = _POSTAL_KEYS.get(str(name).rsplit(":", 1)[-1].rsplit("/", 1)[-1].lower())
                    if not key:
                        continue
                    content = child.get("content")
                    value = content if isinstance(content, str) else child.get_text(" ")
                    setattr(p, key, " ".join(value.split())[:300])
            yield p


def _country_code(c: _Compiled, value: str) -> str:
    v = value.strip().lower()
    if v in c.country_names:
        return c.country_names[v]
    if len(v) == 2 and v.isalpha():
        return "GB" if v == "uk" else v.upper()
    return ""


def _judge_postal(c: _Compiled, p: _Postal, hint: str) -> tuple[bool, str, str]:
    """(is an address, mailbox kind, country) for a structured address."""
    text = p.text()
    box = "po_box" if p.pobox else _mailbox_kind(c, text)
    street_ok = bool(p.street) and bool(_LETTER.search(p.street)) and (
        bool(_DIGIT.search(p.street)) or any(s.search(p.street) for s in c.all_streets)
    )
    is_address = (street_ok and bool(p.postcode or p.locality)) or bool(box and (p.postcode or p.locality))
    country = _country_code(c, p.country)
    if not country and p.postcode:
        fits = [f.country for f in c.formats if f.postcode.fullmatch(p.postcode.upper())]
        country = hint if hint in fits else (fits[0] if fits else "")
    return is_address, box, country or hint


# --------------------------------------------------------------------------------------------
# The site's addresses, computed once and shared by PC201 and PC202.
# --------------------------------------------------------------------------------------------
@dataclass
class AddressResult:
    addresses: list[Address]
    pages_checked: int
    says_none: Evidence | None = None

    @property
    def physical(self) -> list[Address]:
        return [a for a in self.addresses if not a.mailbox]

    @property
    def mailboxes(self) -> list[Address]:
        return [a for a in self.addresses if a.mailbox]

    @property
    def country(self) -> str:
        for group in (self.physical, self.mailboxes):
            for a in group:
                if a.country:
                    return a.country
        return ""


_RESULTS: weakref.WeakKeyDictionary[Site, AddressResult] = weakref.WeakKeyDictionary()


def site_hint(site: Site, c: _Compiled) -> str:
    """The country the domain (ccTLD) or else the page language points to, or ""."""
    tld = site.domain.rsplit(".", 1)[-1].lower() if site.domain else ""
    if len(tld) == 2 and tld.isalpha():
        return c.tld_country.get(tld, tld.upper())
    for lang in site.languages:
        if lang in c.lang_region:
            return c.lang_region[lang]
    return ""


def _line_windows(page: ParsedPage, c: _Compiled, pattern: re.Pattern[str]) -> list[tuple[int, int]] | None:
    """For a mailbox pattern whose every match lies in one line (digitlines.line_local) and holds one
    of its words or a run of digits (pattern_shape of its case-widened form): the runs of whole lines
    that hold those, where all its matches are; None for any other pattern."""
    gate = c.gate_of.get(id(pattern), pattern)
    shape = site_module.pattern_shape(gate)
    if id(pattern) not in c.line_local_ids or shape is None or shape.anchors is None:
        return None
    text = page.text
    spans: list[tuple[int, int]] = list(_page_windows(page).get(shape.digit)) if shape.digit else []
    # may_match (memoised, no positions built) answers for the words when the pattern needs no digits
    found = page.word_starts(shape.anchors, folded=shape.folded) \
        if shape.digit or page.may_match(gate) else {}
    if not found:
        return spans  # whole lines already, joined as below
    starts = line_starts(page)
    for where in found.values():
        for at in where:
            li = bisect_right(starts, at) - 1
            spans.append((starts[li], starts[li + 1] - 1 if li + 1 < len(starts) else len(text)))
    spans.sort()
    windows: list[tuple[int, int]] = []
    for a, b in spans:  # whole lines: join those that touch or overlap
        if windows and a <= windows[-1][1] + 1:
            if b > windows[-1][1]:
                windows[-1] = (windows[-1][0], b)
        else:
            windows.append((a, b))
    return windows


def _line_scan(page: ParsedPage, c: _Compiled) -> Scan:
    """``pattern.finditer(page.text, pos, endpos)``: for a mailbox pattern whose every match lies in one
    line, a scan of the lines that may hold one (:func:`_line_windows`); else ``ParsedPage.finditer``."""
    fallback = _page_finditer(page)
    text = page.text

    def scan(pattern: re.Pattern[str], pos: int = 0, endpos: int | None = None) -> Iterator[re.Match[str]]:
        windows = _line_windows(page, c, pattern) if not pos and endpos is None else None
        if windows is None:
            return fallback(pattern, pos, endpos)
        return digitlines.finditer(pattern, text, windows, True)

    return scan


# per site: a line-local mailbox pattern's matches in one run of whole lines, relative to it
# ((id of the pattern, the lines' text, starts the text, ends the text) -> spans; see _locality_spans)
LineMemo = dict[tuple[int, str, bool, bool], list[tuple[int, int]]]


def _line_spans(page: ParsedPage, c: _Compiled, memo: LineMemo) -> SpanScan:
    """The spans of ``pattern.finditer(page.text)`` as :func:`_line_scan` finds them, the matches of
    each run of lines read once per site (``memo``): a line-local match depends only on its line."""
    fallback = _page_finditer(page)
    text = page.text
    n = len(text)

    def scan(pattern: re.Pattern[str]) -> Iterator[tuple[int, int]]:
        windows = _line_windows(page, c, pattern)
        if windows is None:
            for m in fallback(pattern, 0, None):
                yield m.span()
            return
        pid = id(pattern)  # the pattern lives as long as the rule pack, the memo as long as one site
        for a, b in windows:
            if b - a > MEMO_WINDOW_MAX:
                for m in pattern.finditer(text, a, b):
                    yield m.span()
                continue
            key = (pid, text[a:b], a == 0, b == n)
            got = memo.get(key)
            if got is None:
                got = memo[key] = [(m.start() - a, m.end() - a) for m in pattern.finditer(text, a, b)]
            for s, e in got:
                yield a + s, a + e

    return scan


def _page_lines(page: ParsedPage) -> _Lines:
    """The line offsets of the page text, from the page's line starts (shared by the rules) when the
    text holds no "\n" but those joining its lines (then they are the offsets a split gives)."""
    got = page.shared.get("address.lines")
    if not isinstance(got, _Lines):
        text = page.text
        starts = line_starts(page)
        got = _Lines(text, list(starts) if len(starts) == text.count("\n") + 1 else None)
        page.shared["address.lines"] = got
    return got


def _page_windows(page: ParsedPage) -> digitlines.Windows:
    """The digit lines of the page text (one pass, shared by the address and phone rules)."""
    got = page.shared.get("digitlines.windows")
    if not isinstance(got, digitlines.Windows):
        got = page.shared["digitlines.windows"] = digitlines.Windows(page.text)
    return got


def _regions(page: ParsedPage) -> list[tuple[int, int]]:
    """Parts of the page text read for addresses: all of it on the pages that carry one (contact,
    legal, about, home), else the header and the footer, where shops repeat their address. This
    bounds the work on long product listings, whose middle holds no address."""
    text = page.text
    n = len(text)
    if page.kind in FULL_SCAN_KINDS:
        if n <= FULL_SCAN_HEAD + FULL_SCAN_TAIL:
            return [(0, n)]
        return [(0, FULL_SCAN_HEAD), (n - FULL_SCAN_TAIL, n)]
    lines = page.lines
    if len(lines) <= HEAD_LINES + TAIL_LINES:
        return [(0, n)]
    head = sum(len(x) + 1 for x in lines[:HEAD_LINES])
    tail = n - sum(len(x) + 1 for x in lines[-TAIL_LINES:]) + 1
    return [(0, head), (tail, n)]


def _holds(page: ParsedPage, word: str, pattern: re.Pattern[str]) -> bool:
    """``pattern.search(html)`` for ``pattern``, the ASCII ``word`` compiled with re.IGNORECASE: a
    substring test of the lower-cased markup (once per page) instead of a regex attempt at every
    position of the markup; markup holding one of the few other characters re.IGNORECASE equates
    with an ASCII letter gets a scan for the word's letters as character classes instead (no
    lower-cased copy of a hostile page, and about half the time of an IGNORECASE scan)."""
    html = page.page.html or ""
    if html.isascii() or not any(ch in html for ch in _FOLDS_TO_ASCII):
        return word in lower_html(page)
    return _cased(word).search(html) is not None


@lru_cache(maxsize=64)
def _cased(word: str) -> re.Pattern[str]:
    """``word`` (ASCII) as ``re.IGNORECASE`` reads it, each letter a class of the characters it
    matches (its two cases and those of _FOLDS_TO_ASCII that re itself equates with it), compiled
    without IGNORECASE: rule-pack-independent, a pattern cache like ``re``'s own."""
    parts = []
    for ch in word:
        if ch.isascii() and ch.isalpha():
            also = "".join(f for f in _FOLDS_TO_ASCII if re.fullmatch(re.escape(ch), f, re.IGNORECASE))
            parts.append(f"[{ch.lower()}{ch.upper()}{also}]")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts))


def _page_addresses(
    page: ParsedPage, c: _Compiled, hint: str, seen: dict[str, list[TextAddress]],
    memo: WindowMemo | None = None, lines_memo: LineMemo | None = None,
    street_memo: StreetMemo | None = None,
) -> Iterator[Address]:
    def structured(p: _Postal | str, source: str) -> Iterator[Address]:
        if isinstance(p, str):
            for t in find_in_text(p[:2000], c, hint) + find_mailboxes(p[:2000], c, hint):
                yield Address(t.text, t.country, source, t.mailbox, Evidence(page.url, p), page.kind)
            return
        ok, box, country = _judge_postal(c, p, hint)
        if ok:
            yield Address(p.text(), country, source, box, Evidence(page.url, p.text()), page.kind)

    html = page.page.html or ""
    # the parsed view first: a page without JSON-LD or <address> costs no scan of its HTML
    for doc in page.jsonld if page.jsonld and _holds(page, "ld+json", _HAS_JSONLD) else ():
        for item in _jsonld_addresses(doc):
            yield from structured(item, "jsonld")
    if _holds(page, "postaladdress", _HAS_POSTAL):
        for postal in _microdata_addresses(page):
            yield from structured(postal, "microdata")
    if page.named("address") and _HAS_ADDRESS_TAG.search(html):
        for tag in page.soup.find_all("address", limit=20):
            text = "\n".join(" ".join(x.split()) for x in tag.get_text("\n").split("\n") if x.strip())[:4000]
            for t in find_in_text(text, c, hint) + find_mailboxes(text, c, hint):
                yield Address(t.text, t.country, "address-tag", t.mailbox, Evidence(page.url, t.text),
                              page.kind)
    for a, b in _regions(page):
        chunk = page.text[a:b]
        found = seen.get(chunk)
        if found is None:  # footers repeat on every page: read each distinct one once
            whole = (a, b) == (0, len(page.text))
            spans = _line_spans(page, c, {} if lines_memo is None else lines_memo) if whole else None
            lines = _page_lines(page) if whole else None
            found = find_in_text(chunk, c, hint, _page_windows(page) if whole else None, memo,
                                 page.folded_text if whole else None, street_memo, lines) \
                + find_mailboxes(chunk, c, hint, page.may_match, spans, lines)
            seen[chunk] = found
        for t in found:
            excerpt = page.excerpt(a + t.start, a + t.end)
            yield Address(t.text, t.country, "text", t.mailbox, Evidence(page.url, excerpt), page.kind)


def analyse(site: Site) -> AddressResult:
    """All addresses of the site, best first (premises before mailboxes, contact pages first)."""
    cached = _RESULTS.get(site)
    if cached is not None:
        return cached
    c = compiled(site.kb)
    hint = site_hint(site, c)
    addresses: list[Address] = []
    says_none: Evidence | None = None
    seen: dict[str, list[TextAddress]] = {}
    memo: WindowMemo = {}  # this site's digit windows read for postcodes
    lines_memo: LineMemo = {}  # and its lines read for mailboxes
    street_memo: StreetMemo = {}  # and for street styles
    for page in sorted(site.pages, key=lambda p: KIND_RANK.get(p.kind, 9)):
        addresses.extend(_page_addresses(page, c, hint, seen, memo, lines_memo, street_memo))
        if says_none is None and c.no_address is not None and _may(c, page.may_match, c.no_address):
            m = next(_page_finditer(page)(c.no_address, 0, FULL_SCAN_HEAD), None)  # search(text, 0, HEAD)
            if m:
                says_none = Evidence(page.url, page.excerpt(m.start(), m.end()))
    addresses.sort(key=Address.rank)
    result = AddressResult(addresses, len(site.pages), says_none)
    _RESULTS[site] = result
    return result


def _checked_evidence(site: Site, note: str) -> list[Evidence]:
    pages = sorted(site.pages, key=lambda p: KIND_RANK.get(p.kind, 9))[:3]
    return [Evidence(p.url, f"{note} ({p.kind} page: {p.title or p.url})") for p in pages]


@check("PC201")
def physical_address(site: Site) -> Iterator[Finding]:
    if not site.pages:
        yield site.finding("PC201", Outcome.SKIP, "no pages to check for an address")
        return
    result = analyse(site)
    if result.physical:
        best = result.physical[0]
        where = best.country or "country unknown"
        message = f"physical address found ({where}, {best.source}): {best.text}"
        yield site.finding("PC201", Outcome.PASS, message, result="address-found",
                           evidence=[a.evidence for a in result.physical[:3]],
                           country=best.country, address=best.text, source=best.source)
        return
    if result.mailboxes:
        best = result.mailboxes[0]
        label = MAILBOX_LABEL.get(best.mailbox, best.mailbox)
        message = f"the only address is a {label} address, not a physical pharmacy address: {best.text}"
        yield site.finding("PC201", Outcome.WARN, message, result="address-mailbox-only",
                           evidence=[a.evidence for a in result.mailboxes[:3]],
                           country=best.country, address=best.text, source=best.source, mailbox=best.mailbox)
        return
    message = f"no physical address found on {result.pages_checked} pages checked"
    evidence = _checked_evidence(site, "no address")
    if result.says_none is not None:
        message += "; the site says it has no physical address"
        evidence.insert(0, result.says_none)
    yield site.finding("PC201", Outcome.FAIL, message, evidence, result="address-absent",
                       pages_checked=result.pages_checked)


# --------------------------------------------------------------------------------------------
# PC202 telephone.
# --------------------------------------------------------------------------------------------
@dataclass
class _Number:
    e164: str
    country: str
    calling_code: int
    evidence: Evidence


def _phone_region(site: Site, c: _Compiled) -> str:
    return analyse(site).country or site_hint(site, c) or c.default_region


def _add(found: dict[str, _Number], num: Any, evidence: Evidence, valid: bool = False) -> None:
    """Keep ``num`` when it is a valid number (``valid``: known to be, see :func:`_text_numbers`)."""
    if not valid and not phonenumbers.is_valid_number(num):
        return
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    if e164 not in found:
        country = phonenumbers.region_code_for_number(num) or ""
        found[e164] = _Number(e164, country, num.country_code, evidence)


def _tel_links(page: ParsedPage, region: str, found: dict[str, _Number]) -> None:
    # _TEL matches only where "tel:" stands in some case (no other character folds to t, e or l)
    if "tel:" not in "\n".join(link_hrefs(page)).lower():
        return
    tels = [a for a in page.named("a") if isinstance(a.get("href"), str) and _TEL.search(str(a.get("href")))]
    for a in tels[:50]:
        href = a.get("href")
        if not isinstance(href, str):
            continue
        raw = unquote(href.strip()[4:])[:40]
        try:
            num = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        label = " ".join(a.get_text(" ").split())
        _add(found, num, Evidence(page.url, f'<a href="{href.strip()[:60]}"> {label}'.strip()))


def _snippets(page: ParsedPage) -> list[tuple[int, int]]:
    """Short spans of the page text around digit runs that could be phone numbers, those with a
    "+" or a phone word first, at most MAX_PHONE_SNIPPETS per page (header, footer, contact pages)."""
    text = page.text
    spans: list[tuple[int, int]] = []
    # a _PHONEISH match holds 7 digits and no "\n": only lines with 7 digits in the region can hold
    # one (the digits of each region are read, not those of the whole page)
    for a, b in _regions(page):
        windows = _page_windows(page) if (a, b) == (0, len(text)) else digitlines.Windows(text, lo=a, hi=b)
        found = (m for lo, hi in windows.lines_with(_PHONEISH_DIGITS)
                 for m in _PHONEISH.finditer(text, max(lo, a), min(hi, b)))
        for n, m in enumerate(found):  # _PHONEISH.finditer(text, a, b)
            if n >= MAX_PHONE_SNIPPETS * 4:
                break
            lo = max(a, m.start() - SNIPPET_RADIUS, text.rfind("\n", 0, m.start()) + 1)
            nl = text.find("\n", m.end())
            hi = min(b, m.end() + SNIPPET_RADIUS, nl if nl >= 0 else len(text))
            if spans and lo < spans[-1][1]:
                spans[-1] = (spans[-1][0], max(hi, spans[-1][1]))
            else:
                spans.append((lo, hi))
    return spans[: MAX_PHONE_SNIPPETS * 4]


def _text_numbers(
    page: ParsedPage, c: _Compiled, region: str, found: dict[str, _Number], seen: set[str]
) -> None:
    text = page.text
    spans = _snippets(page)
    # snippets with "+" or a phone word first: those are the numbers the site means as phone numbers
    spans.sort(key=lambda ab: 0 if "+" in text[ab[0]:ab[1]] or (c.phone_words and c.phone_words.search(
        text, ab[0], ab[1])) else 1)
    for lo, hi in spans[:MAX_PHONE_SNIPPETS]:
        snippet = text[lo:hi]
        if snippet in seen:  # the footer's number again
            continue
        seen.add(snippet)
        for match in phonenumbers.PhoneNumberMatcher(snippet, region):
            worded = bool(c.phone_words and c.phone_words.search(snippet))
            if not worded and not _SEPARATED.search(match.raw_string):
                continue  # a bare run of digits (order number, SKU) with no phone word beside it
            # the matcher's default leniency (Leniency.VALID) gives only numbers is_valid_number accepts
            _add(found, match.number, Evidence(page.url, page.excerpt(lo + match.start, lo + match.end)),
                 valid=True)


@check("PC202")
def phone(site: Site) -> Iterator[Finding]:
    if not site.pages:
        yield site.finding("PC202", Outcome.SKIP, "no pages to check for a telephone number")
        return
    c = compiled(site.kb)
    region = _phone_region(site, c)
    found: dict[str, _Number] = {}
    seen: set[str] = set()
    pages = sorted(site.pages, key=lambda p: KIND_RANK.get(p.kind, 9))
    for page in pages:
        _tel_links(page, region, found)
        _text_numbers(page, c, region, found, seen)
    if not found:
        message = f"no valid telephone number found on {len(pages)} pages checked"
        yield site.finding("PC202", Outcome.FAIL, message, result="phone-absent",
                           evidence=_checked_evidence(site, "no telephone number"),
                           region=region)
        return
    numbers = list(found.values())[:10]
    address_country = analyse(site).country
    mismatch = False
    message = f"telephone number found: {numbers[0].e164} ({numbers[0].country or 'international'})"
    if len(numbers) > 1:
        message += f" and {len(numbers) - 1} more"
    if address_country:
        code = phonenumbers.country_code_for_region(address_country)
        if code and all(n.calling_code != code for n in numbers):
            mismatch = True
            countries = ", ".join(sorted({n.country or "?" for n in numbers}))
            message += f"; phone country ({countries}) differs from the address country ({address_country})"
    yield site.finding("PC202", Outcome.PASS, message, result="phone-found",
                       evidence=[n.evidence for n in numbers[:5]],
                       numbers=[{"e164": n.e164, "country": n.country} for n in numbers],
                       mismatch=mismatch, address_country=address_country)
