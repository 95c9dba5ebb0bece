"""Language detection reads the same words as the regex it replaced (issue 10: per-call overhead)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck.checks.lang import _TOKEN, _tokens

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
