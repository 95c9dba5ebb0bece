"""Language detection reads the same words as the regex it replaced (issue 10: per-call overhead)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck.checks.lang import (
    _TOKEN,
    Detector,
    _build,
    _detect,
    _detect_in_order,
    _stopword_counts,
    _tokens,
)
from pharmcheck.knowledge import builtin_pack_dir, load_pack

SAMPLES = [
    "Die Apotheke liefert, wir beraten: 24/7 – ¡Hola! ½ Preis² für_alle; l'équipe d’été",
    "ΣΊΣΥΦΟΣ ς ﬅ İstanbul ǅemal ⅷ ① x²y 3rd straße\u00a0café\u2003naïve\u200bzero",
    "",
    "   \n\t ",
]


def test_samples() -> None:
    for text in SAMPLES:
        assert _tokens(text) == _TOKEN.findall(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_any_text(text: str) -> None:
    assert _tokens(text) == _TOKEN.findall(text)
    low = text.lower()
    assert _tokens(low) == _TOKEN.findall(low)


DETECTOR = _build(load_pack([builtin_pack_dir()]))
STOP = sorted(DETECTOR.words)[::7][:60]


def _counts_in_order(low: str, det: Detector) -> dict[str, int]:
    out: dict[str, int] = {}
    for token in _tokens(low):
        lang = det.words.get(token)
        if lang:
            out[lang] = out.get(lang, 0) + 1
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*STOP, " ", "\n", ",", "-", "2", "é", "²", "_", "zz", "l'"]), max_size=80),
       st.sampled_from([1.0, 1.5]), st.integers(1, 6))
def test_counts_and_decision_equal_the_ordered_count(parts: list[str], ratio: float, hits: int) -> None:
    from dataclasses import replace

    low = "".join(parts).lower()
    det = replace(DETECTOR, min_ratio=ratio, min_hits=hits)
    assert _stopword_counts(low, det.words) == _counts_in_order(low, det)
    assert _detect(low, det) == _detect_in_order(low, det)
