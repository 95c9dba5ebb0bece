"""The red-flag rules' exact shortcuts (issue 10): a page without a character every match needs is skipped."""

from __future__ import annotations

import re
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pharmcheck.checks import redflags
from pharmcheck.knowledge import knowledge_with


@pytest.mark.parametrize(("source", "needed"), [
    (r"(\d{2})\s?%", True),
    (r"(?i)(?:save|off)\D{0,12}(\d{2})\s?%|(\d{2})\s?%\s?(?:off|discount)", True),
    (r"a%?", False), (r"a%*", False), (r"a%{0,2}", False),  # optional
    (r"a%|b", False),  # one branch without it
    (r"(a%)", False), (r"(?:a%|b)", False),  # inside a group: not read
    (r"[%]", False), (r"[]%]|%", False), (r"[^]%]%", True),  # classes
    (r"\%a%", True), (r"\%", False),
    (r"(?x)a %", False),  # verbose: not read
])
def test_needs_char(source: str, needed: bool) -> None:
    assert redflags.needs_char(re.compile(source), "%") is needed


def test_needs_char_refuses_cased_or_special_characters() -> None:
    assert not redflags.needs_char(re.compile("a"), "a")
    assert not redflags.needs_char(re.compile(r"x\|"), "|")


def test_bundled_discount_pattern_needs_a_percent_sign() -> None:
    assert redflags.lexicon(knowledge_with(())).discount_needs == "%"


_PARTS = st.sampled_from(["%", "a", "|", "(", ")", "?", "*", "[", "]", "^", "\\", "{1}", "(?:", "\\d", "b"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PARTS, max_size=10).map("".join), st.text(alphabet="ab%1 ", max_size=12))
def test_a_pattern_that_needs_it_never_matches_without_it(source: str, text: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "possible nested set": generated classes
            pattern = re.compile(source)
    except re.error:
        return
    if redflags.needs_char(pattern, "%") and "%" not in text:
        assert pattern.search(text) is None
