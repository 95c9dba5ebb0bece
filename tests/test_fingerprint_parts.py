"""The faster fingerprint parts give what the plain definitions give (MinHash, paragraphs, platforms)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck import fingerprints as F
from pharmcheck.knowledge import builtin_pack_dir, load_pack

KB = load_pack([builtin_pack_dir()])
DATA = F.network_data(KB)


def minhash_reference(shingles: set[str], permutations: tuple[tuple[int, int], ...]) -> list[int]:
    sig = [F._MAX_HASH] * len(permutations)
    for h in {F._hash32(s) for s in shingles}:
        sig = [min(cur, ((a * h + b) % F._PRIME) & F._MAX_HASH)
               for cur, (a, b) in zip(sig, permutations, strict=True)]
    return sig


@settings(max_examples=80, deadline=None)
@given(st.sets(st.text(max_size=12), max_size=60))
def test_minhash_equals_the_reference(shingles: set[str]) -> None:
    assert F.minhash(shingles, DATA.permutations) == minhash_reference(shingles, DATA.permutations)


EDGE_PERMS = ((1, 0), (F._PRIME - 1, F._PRIME - 1), (F._PRIME - 1, 0), (1, F._PRIME - 1), (0, 0),
              (2**60, 2**60 + 7), *DATA.permutations[:4])
HASH = st.one_of(st.integers(0, F._MAX_HASH), st.sampled_from([0, 1, F._MAX_HASH, F._MAX_HASH - 1, 2**31]))


@settings(max_examples=300, deadline=None)
@given(st.lists(HASH, min_size=1, max_size=40, unique=True))
def test_packed_minhash_lanes_equal_the_formula(hashes: list[int]) -> None:
    for perms in (EDGE_PERMS, DATA.permutations):
        want = [min(((a * h + b) % F._PRIME) & F._MAX_HASH for h in hashes) for a, b in perms]
        assert F._packed_minhash(hashes, perms) == want


LINE = st.text(alphabet=st.sampled_from(list("aZ9 _-!.,'ΣςσİIıéÉ٣\t\u00a0€")), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(LINE, max_size=8))
def test_paragraphs_normalised_together_equal_one_by_one(lines: list[str]) -> None:
    assert F._norm_paragraphs(lines) == [F._norm_paragraph(x) for x in lines]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([*sorted({m for _, ms in DATA.platforms for m in ms}), "x", " ", "<"]),
                max_size=12).map("".join))
def test_platform_markers_equal_substring_tests(low: str) -> None:
    present = F._platform_markers(KB, low)
    for _, markers in DATA.platforms:
        for m in markers:
            assert (m in present) == (m in low)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZ İıΣσς.-/é\u212a")), max_size=40), st.integers(0, 40))
def test_lowered_markup_cut_equals_the_cut_lowered(html: str, cut: int) -> None:
    if "\u0130" not in html and "\u03a3" not in html:
        assert html.lower()[:cut] == html[:cut].lower()
