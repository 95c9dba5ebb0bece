"""User rule packs: loading, overriding, validation errors with file:line:key, pattern rules end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from pharmcheck.api import scan_snapshot
from pharmcheck.knowledge import RulePackError, builtin_pack_dir, default_knowledge, knowledge_with
from pharmcheck.snapshot import Page, Snapshot, TLSInfo

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "rule-pack"

RULE = """family = "local"

[[rule]]
id = "X001"
name = "local.skip_doctor"
title = "Skip the doctor"
severity = "medium"
summary = "Promises to skip the doctor."
kind = "pattern"
outcome_on_match = "fail"
outcome_otherwise = "pass"
weight = {{ fail = -10 }}
{extra}
[rule.patterns]
en = ["skip the doctor"]
de = ["ohne Arztbesuch"]
"""


def write(tmp_path: Path, text: str, name: str = "local.toml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def snapshot(html: str, url: str = "https://shop.example.com/") -> Snapshot:
    page = Page(url=url, status=200, kind="home", content_type="text/html", html=html, headers={})
    return Snapshot(
        input=url,
        url=url,
        final_url=url,
        registered_domain="example.com",
        start_registered_domain="example.com",
        pages=[page],
        tls=TLSInfo(outcome="verified"),
        redirect_chain=[url],
    )


def test_builtin_pack_has_pattern_rules_with_origin() -> None:
    kb = default_knowledge()
    patterns = {r.id for r in kb.rules.values() if r.kind == "pattern"}
    assert {"PC503", "PC510", "PC520", "PC521", "PC522", "PC530"} <= patterns
    assert kb.rule("PC510").origin.endswith("redflags.toml")
    assert kb.rule("PC510").spec["patterns"]["de"]


def test_user_pattern_rule_end_to_end(tmp_path: Path) -> None:
    kb = knowledge_with((write(tmp_path, RULE.format(extra="")),))
    assert kb.rule("X001").origin == str(tmp_path / "local.toml")
    report = scan_snapshot(snapshot("<p>Order now and skip the doctor!</p>"), kb)
    mine = [f for f in report.findings if f.id == "X001"]
    assert mine and str(mine[0].outcome) == "fail"
    assert mine[0].points == -10
    assert mine[0].evidence[0].url == "https://shop.example.com/"
    assert "skip the doctor" in mine[0].evidence[0].excerpt


def test_user_pattern_rule_reads_context(tmp_path: Path) -> None:
    kb = knowledge_with((write(tmp_path, RULE.format(extra="")),))
    for html in (
        "<p>We will never let you skip the doctor.</p>",
        "<p>Beware of sites that let you skip the doctor.</p>",
        "<p>Wir verkaufen nicht ohne Arztbesuch.</p>",
    ):
        report = scan_snapshot(snapshot(html), kb)
        assert [str(f.outcome) for f in report.findings if f.id == "X001"] == ["pass"], html


def test_example_pack_loads_and_overrides() -> None:
    kb = knowledge_with((EXAMPLE,))
    assert kb.rule("X001").kind == "pattern"
    assert kb.scoring["weights"]["X001"] == {"fail": -10}
    pc522 = kb.rule("PC522")
    assert pc522.spec["outcome_on_match"] == "info"
    assert pc522.title == default_knowledge().rule("PC522").title  # untouched keys are kept
    assert pc522.origin.endswith("local.toml")
    assert kb.scoring["weights"]["PC522"]["info"] == 0
    report = scan_snapshot(snapshot("<p>Discreet packaging. Skip the doctor visit!</p>"), kb)
    by_id = {f.id: f for f in report.findings}
    assert str(by_id["PC522"].outcome) == "info"
    assert str(by_id["X001"].outcome) == "fail"
    assert "X001" not in {
        f.id for f in scan_snapshot(snapshot("<p>hello</p>"), kb).findings
    }  # outcome_otherwise none


def test_override_replaces_metadata_not_python(tmp_path: Path) -> None:
    text = '[[rule]]\nid = "PC512"\ntitle = "Local title"\nseverity = "low"\n'
    kb = knowledge_with((write(tmp_path, text),))
    assert kb.rule("PC512").title == "Local title"
    assert kb.rule("PC512").kind == "python"
    # a seller (prices next to named medicines), so the red flag is the site's own
    html = "<p>Generic Ozempic in stock.</p><p>Ozempic $199</p><p>Wegovy $249</p>"
    report = scan_snapshot(snapshot(html), kb)
    f = next(f for f in report.findings if f.id == "PC512")
    assert str(f.outcome) == "fail" and str(f.severity) == "low"


def test_user_scoring_overrides_inline_weight(tmp_path: Path) -> None:
    write(tmp_path, RULE.format(extra=""))
    write(tmp_path, "[weights.X001]\nfail = -40\n", "scoring.toml")
    kb = knowledge_with((tmp_path,))
    assert kb.scoring["weights"]["X001"]["fail"] == -40
    assert default_knowledge().scoring["weights"].get("X001") is None  # the cached built-in pack is untouched


@pytest.mark.parametrize(
    ("extra", "line", "key"),
    [
        ('severty = "high"', 13, "severty"),
        ("message = 3", 13, "message"),
        ("min_matches = 0", 13, "min_matches"),
        ('kinds = "home"', 13, "kinds"),
        ("context = 1", 13, "context"),
        ('regex = { en = ["(a+)+b"] }', 13, "regex.en"),
        ('regex = { en = ["(unclosed"] }', 13, "regex.en"),
    ],
)
def test_validation_errors_name_file_line_and_key(tmp_path: Path, extra: str, line: int, key: str) -> None:
    write(tmp_path, RULE.format(extra=extra))
    with pytest.raises(RulePackError) as err:
        knowledge_with((tmp_path,))
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'local.toml'}:{line}: rule X001: key '{key}'"), msg


def test_bad_severity_points_at_its_line(tmp_path: Path) -> None:
    write(tmp_path, RULE.format(extra="").replace('severity = "medium"', 'severity = "urgent"'))
    with pytest.raises(RulePackError, match=r"local\.toml:7: rule X001: key 'severity' must be one of"):
        knowledge_with((tmp_path,))


def test_bad_language_key_in_patterns_table(tmp_path: Path) -> None:
    write(tmp_path, RULE.format(extra="") + 'english = ["x"]\n')
    with pytest.raises(
        RulePackError, match=r"local\.toml:17: rule X001: key 'patterns\.english' is not a language"
    ):
        knowledge_with((tmp_path,))


def test_missing_required_key_for_new_rule(tmp_path: Path) -> None:
    write(tmp_path, '[[rule]]\nid = "X002"\nname = "a.b"\ntitle = "t"\nseverity = "low"\n')
    with pytest.raises(RulePackError, match=r"local\.toml:1: rule X002: key 'summary' is required"):
        knowledge_with((tmp_path,))


def test_pattern_keys_need_pattern_kind(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[[rule]]\nid = "X003"\nname = "a.b"\ntitle = "t"\nseverity = "low"\nsummary = "s"\n'
        'outcome_on_match = "fail"\n',
    )
    with pytest.raises(
        RulePackError, match=r"local\.toml:7: rule X003: key 'outcome_on_match' is only allowed"
    ):
        knowledge_with((tmp_path,))


def test_pattern_rule_without_patterns(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[[rule]]\nid = "X004"\nname = "a.b"\ntitle = "t"\nseverity = "low"\nsummary = "s"\n'
        'kind = "pattern"\n',
    )
    with pytest.raises(RulePackError, match=r"rule X004: key 'patterns' is required"):
        knowledge_with((tmp_path,))


def test_bad_weight_and_unknown_top_level_key(tmp_path: Path) -> None:
    write(tmp_path, RULE.format(extra="").replace("fail = -10", "fial = -10"))
    with pytest.raises(
        RulePackError, match=r"local\.toml:12: rule X001: key 'weight' has unknown outcome 'fial'"
    ):
        knowledge_with((tmp_path,))
    write(tmp_path, 'famliy = "x"\n')
    with pytest.raises(RulePackError, match=r"local\.toml:1: unknown top-level key 'famliy'"):
        knowledge_with((tmp_path,))


def test_missing_directory_and_toml_syntax(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match="not found"):
        knowledge_with((tmp_path / "nope",))
    write(tmp_path, "[[rule]\n")
    with pytest.raises(RulePackError, match=r"local\.toml"):
        knowledge_with((tmp_path,))


def test_every_builtin_rule_file_validates() -> None:
    kb = knowledge_with((builtin_pack_dir(),))  # loading twice = overriding every rule by itself
    assert set(kb.rules) == set(default_knowledge().rules)
