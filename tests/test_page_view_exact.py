"""Faster readings of a page give exactly what the plain ones gave (issue 10: same results, less work).

Each shortcut is compared with the straightforward computation it replaced, on generated inputs
that reach its corner cases (İ, the Kelvin sign and final sigma for lower-casing, valueless and
repeated attributes, foreign content for element names, whitespace of every kind for excerpts).
"""

from __future__ import annotations

import random
import re
from typing import Any

from pharmcheck import fingerprints as F
from pharmcheck import site as S
from pharmcheck.pageview import PageMarkup, _Holders

_FRAGMENTS = [
    '<div class="a  B\tc">', "<p CLASS=x class=y>", "<span class>", '<i class=" ">', '<svg class="q">', "<a>",
    "</a>", "<svg>", "</svg>", "<math>", "<style>x</style>", "<script>s</script>",
    "<template><img></template>",
    "<img>", "<IMG>", "<p>", "<div>", "</div>", "<table>", "<tr>", "<td>", "text", "<select><option>",
    "<foreignObject>", "<noscript><img></noscript>", "<iframe><img></iframe>", "<textarea><img></textarea>",
    "<Template>", "<sCript>q</script>", "<!-- c -->",
]


def _pages(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 40))) for _ in range(n)]


def test_tag_names_as_on_the_lower_cased_text() -> None:
    rng = random.Random(5)
    alphabet = [*"<</>/ aBzZ\t\nΣσςİK\u212aéÉ\u0345\u00b7:.'x", "<svg", "<A", "</Σ", "<aΣ", "<aΣb"]
    for _ in range(20_000):
        html = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert S._tag_names(html) == S._TAG_NAME.findall(html.lower()), html


def test_nth_from_as_a_whole_split() -> None:
    rng = random.Random(2)
    chunk = S._NTH_CHUNK
    S._NTH_CHUNK = 7
    try:
        for _ in range(5_000):
            html = "".join(rng.choice("<<ab") for _ in range(rng.randint(1, 60)))
            count = html.count("<")
            if not count:
                continue
            n = rng.randint(1, count)
            assert S._nth_from(html, n, False) == len(html) - len(html.split("<", n)[-1]) - 1
            assert S._nth_from(html, n, True) == len(html.rsplit("<", n)[0])
    finally:
        S._NTH_CHUNK = chunk


def test_space_runs_collapse_as_before() -> None:
    rng = random.Random(9)
    for _ in range(20_000):
        text = "".join(rng.choice(" \t\r\f\v\u00a0\u200b\nab\u2003") for _ in range(rng.randint(0, 25)))
        want = S._BLOCK.sub(" ", text)
        got = S._BLOCK_RUNS.sub(" ", text) if "  " in text or any(c in text for c in S._BLOCK_CHARS) else text
        assert got == want, repr(text)


def _excerpt(text: str, start: int, end: int, radius: int) -> str:
    a = max(0, start - radius)
    b = min(len(text), end + radius)
    while a > 0 and not text[a - 1].isspace() and start - a < radius + 20:
        a -= 1
    while b < len(text) and not text[b].isspace() and b - end < radius + 20:
        b += 1
    return ("…" if a > 0 else "") + " ".join(text[a:b].split()) + ("…" if b < len(text) else "")


class _Text:
    def __init__(self, text: str) -> None:
        self.text = text


def test_excerpt_widens_as_the_character_loop() -> None:
    rng = random.Random(1)
    for _ in range(20_000):
        n = rng.randint(0, 300)
        text = "".join(rng.choice("ab \n\u00a0\u2003\x1cx.") for _ in range(n))
        start = rng.randint(0, n)
        end = rng.randint(start, n)
        radius = rng.choice([0, 1, 5, 30, 90])
        page: Any = _Text(text)
        assert S.ParsedPage.excerpt(page, start, end, radius) == _excerpt(text, start, end, radius)


def test_name_index_as_css_and_elements() -> None:
    for html in _pages(400, 4):
        markup = PageMarkup(html)
        by_css = _Holders(markup._tree)
        for el in markup.elements:
            for selector in ("script, style, template", "img"):
                assert markup._holders.holds(el._node, selector) == by_css.holds(el._node, selector), html
        fresh = PageMarkup(html)
        for i in range(0, len(fresh._made), 2):
            fresh._element(i)  # half the views made first: classes read from both kinds
        want = [(e.name, e.get("class")) for e in PageMarkup(html).elements if e.name not in F._SKELETON_SKIP]
        assert list(fresh.name_classes(F._SKELETON_SKIP)) == want, html
        for names in (("button", "input", "a"), ("a",), ("p", "svg", "nothing")):
            wanted = set(names)
            assert markup.named_any(names) == [e for e in markup.elements if e.name in wanted]


def test_boilerplate_as_every_paragraph() -> None:
    rng = random.Random(3)
    alphabet = [*"abcdeXYZ 0123,.-", "\u0130", "\u0131", "é", "\u00a0"]

    def every(lines: dict[str, None], minimum: int, most: int) -> list[str]:
        found: dict[str, int] = {}
        for norm in F._norm_paragraphs(list(lines)):
            if len(norm) >= minimum:
                found.setdefault(F._para_hash(norm), len(norm))
        return sorted(found, key=lambda h: (-found[h], h))[:most]

    for _ in range(600):
        lines = dict.fromkeys("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
                              for _ in range(rng.randint(0, 300)))
        if rng.random() < 0.3:
            lines.update(dict.fromkeys("\u0130" * rng.randint(1, 40) for _ in range(50)))
        minimum, most = rng.choice([0, 5, 20]), rng.choice([0, 1, 3, 30])
        assert F._boilerplate(lines, minimum, most) == every(lines, minimum, most)


def test_norm_paragraphs_as_line_by_line() -> None:
    rng = random.Random(1)
    alphabet = [chr(i) for i in [*range(0x20, 0x250), 0x130, 0x3A3, 0x2160, 0x24B6, 0x1C5, 0x660, 0xFF10,
                                 0x2007, 0x200B, 0xA0, 0x1680, 0x85, 0x1C, 0x1F]]
    for _ in range(5_000):
        lines = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
                 for _ in range(rng.randint(1, 4))]
        assert F._norm_paragraphs(lines) == [F._norm_paragraph(x) for x in lines]


def test_may_occur_never_skips_a_match() -> None:
    rng = random.Random(6)
    ga4 = re.compile(r"""(?:gtag\(\s*['"]config['"]\s*,\s*['"]|[?&]id=)(G-[A-Z0-9]{6,14})\b""")
    pieces = ["gtag(", "'config', '", "?id=", "&id=", "G-", "ABCDEF12", "x", " ", "id=", "config"]
    for _ in range(5_000):
        hay = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        if ga4.search(hay):
            assert F._may_occur(ga4, hay, {}), hay
