"""User rule packs run on a linear-time regex engine (RE2): catastrophic patterns cost what plain ones do,
constructs RE2 cannot run are refused at load with file:line:key naming the construct."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pharmcheck.api import scan_snapshot
from pharmcheck.checks.patterns import pattern_rules
from pharmcheck.checks.redflags import lexicon
from pharmcheck.knowledge import RulePackError, default_knowledge, knowledge_with
from pharmcheck.linear import compile_linear, is_linear, unsupported
from pharmcheck.snapshot import Page, Snapshot

REDOS = ["(a+)+$", "((a+))+$", "(?:(?:a+))+$", "(a|aa)+$", "a*a*a*a*a*a*a*b", "(a|a?)+$"]

PACK = """family = "local"

[[rule]]
id = "X900"
name = "local.redos"
title = "Hostile patterns"
severity = "low"
summary = "Patterns that backtrack catastrophically in a backtracking engine."
kind = "pattern"
outcome_on_match = "warn"
outcome_otherwise = "none"

[rule.regex]
en = [{patterns}]
"""


def _pack(tmp_path: Path, patterns: list[str]) -> Path:
    quoted = ", ".join(f"'{p}'" for p in patterns)
    (tmp_path / "local.toml").write_text(PACK.format(patterns=quoted), encoding="utf-8")
    return tmp_path


def _page(text: str) -> Snapshot:
    url = "https://www.hostile.example/"
    page = Page(url=url, status=200, kind="home", content_type="text/html",
                html=f"<html><body><p>{text}</p></body></html>")
    return Snapshot(input=url, url=url, final_url=url, registered_domain="hostile.example", pages=[page])


def test_catastrophic_patterns_in_a_user_pack_are_compiled_linear_and_judging_ends(tmp_path: Path) -> None:
    kb = knowledge_with((_pack(tmp_path, REDOS),))
    rule = next(r for r in pattern_rules(kb) if r.meta.id == "X900")
    assert rule.linear and all(is_linear(p) for p in rule.linear.values())
    report = scan_snapshot(_page("a" * 100_000 + "!"), kb)  # a backtracking engine would run for years
    assert report.verdict
    assert not any(f.id == "X900" and f.outcome == "error" for f in report.findings)


def test_linear_pattern_finds_what_python_re_finds_on_ordinary_text() -> None:
    text = "Größe 12 Tabletten, 30 pills +5 bonus; naïve café"
    for source in [r"\w+", r"\d+ pills \+\d+ bonus", r"(?i)GRÖSSE|größe", r"caf[ée]", r"[\w-]+"]:
        want = [m.group() for m in re.finditer(source, text)]
        assert [m.group() for m in compile_linear(source).finditer(text)] == want, source


@pytest.mark.parametrize(
    ("source", "construct"),
    [("(?<=a)b", "lookbehind"), ("(?<!a)b", "lookbehind"), ("a(?=b)", "lookahead"),
     (r"(a)\1", "backreference"), ("(?P<x>a)(?P=x)", "backreference"), ("(?>a)", "atomic"),
     ("a++", "possessive")],
)
def test_unsupported_constructs_are_named(source: str, construct: str) -> None:
    assert construct in (unsupported(source) or "")


def test_user_pack_regex_with_lookbehind_is_refused_with_file_line_key(tmp_path: Path) -> None:
    with pytest.raises(RulePackError) as err:
        knowledge_with((_pack(tmp_path, ["(?<=buy )pills"]),))
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'local.toml'}:14: rule X900: key 'regex.en'"), msg
    assert "lookbehind" in msg


def test_user_pack_data_regex_is_refused_or_compiled_linear(tmp_path: Path) -> None:
    (tmp_path / "flags.toml").write_text(
        'family = "redflags"\n\n[data.offer]\nprice_regex = \'(\\d+)\\s?EUR\\1\'\n', encoding="utf-8")
    with pytest.raises(RulePackError) as err:
        knowledge_with((tmp_path,))
    assert str(err.value).startswith(f"{tmp_path / 'flags.toml'}:4: [data] key 'price_regex'"), str(err.value)
    assert "backreference" in str(err.value)
    (tmp_path / "flags.toml").write_text(
        'family = "redflags"\n\n[data.offer]\nprice_regex = \'(\\d+)+\\s?EUR$\'\n', encoding="utf-8")
    kb = knowledge_with((tmp_path,))
    assert is_linear(lexicon(kb).price)
    assert not is_linear(lexicon(default_knowledge()).price)  # the built-in pack keeps Python re
