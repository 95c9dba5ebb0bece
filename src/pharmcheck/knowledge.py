"""The rule pack: rule metadata, patterns, formats, registries and weights, as data.

The pack is the ``rules/`` folder of the source tree, shipped inside the wheel as
``pharmcheck/rulepack``. Each ``*.toml`` file holds ``[[rule]]`` entries (the
documentation ``pharmcheck explain`` prints) and a ``[data]`` table of knowledge the
rule modules read; ``scoring.toml`` holds the one table of weights.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")


class RulePackError(ValueError):
    """A rule-pack file is malformed; the message names file and key."""


@dataclass(frozen=True)
class RuleMeta:
    id: str
    name: str
    title: str
    severity: str
    summary: str
    rationale: str = ""
    passes: str = ""
    fails: str = ""
    sources: tuple[str, ...] = ()
    family: str = ""
    origin: str = ""  # file the rule came from
    aliases: tuple[str, ...] = ()
    kind: str = "python"  # "pattern": a data-only rule run by pharmcheck.checks.patterns
    spec: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # pattern-rule keys


@dataclass
class Knowledge:
    rules: dict[str, RuleMeta] = field(default_factory=dict)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # family -> [data]
    scoring: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # compiled views
    # strings a user pack (``--rules DIR``) supplied: their regexes compile with RE2 (pharmcheck.linear)
    untrusted: set[str] = field(default_factory=set, compare=False, repr=False)

    def regex(self, source: str, flags: int = 0) -> re.Pattern[str]:
        """A rule-pack regex: linear-time (RE2) when a user pack supplied it, else Python ``re``."""
        from pharmcheck.linear import compile_for

        return compile_for(self.untrusted, source, flags)

    def family(self, name: str) -> dict[str, Any]:
        return self.data.get(name, {})

    def rule(self, rule_id: str) -> RuleMeta:
        if rule_id in self.rules:
            return self.rules[rule_id]
        for meta in self.rules.values():
            if rule_id in meta.aliases or rule_id == meta.name:
                return meta
        raise KeyError(rule_id)

    @property
    def algorithm_version(self) -> str:
        return str(self.scoring.get("algorithm_version", "0"))


def builtin_pack_dir() -> Path:
    """The installed rule pack, or the source tree's ``rules/`` in a development checkout."""
    packaged = resources.files("pharmcheck").joinpath("rulepack")
    if packaged.is_dir():
        return Path(str(packaged))
    source = Path(__file__).resolve().parents[2] / "rules"
    if source.is_dir():
        return source
    raise RulePackError("rule pack not found: the installation is incomplete (no pharmcheck/rulepack)")


def _load_file(kb: Knowledge, path: Path, inline_weights: dict[str, Any] | None = None,
               untrusted: bool = False) -> None:
    from pharmcheck.packschema import load_rules

    try:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulePackError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulePackError(f"{path}: cannot read ({exc})") from None
    kb.files.append(str(path))
    if path.name == "scoring.toml":
        kb.scoring = doc
        return
    load_rules(kb, path, text, doc, inline_weights if inline_weights is not None else {}, untrusted)


def load_pack(directories: list[Path]) -> Knowledge:
    """Load rule-pack directories in order; later ones add rules or override them by ID.

    Within one directory, inline ``weight`` tables of its rules apply first and its
    ``scoring.toml`` then overrides them key by key; a later directory overrides both.
    """
    kb = Knowledge()
    for directory in directories:
        if not directory.is_dir():
            raise RulePackError(f"{directory}: rule-pack directory not found")
        inline: dict[str, Any] = {}
        scoring_file: Path | None = None
        for path in sorted(directory.glob("*.toml")):
            if path.name == "scoring.toml":
                scoring_file = path
            else:
                _load_file(kb, path, inline, untrusted=directory != directories[0])
        if inline:
            _merge_scoring(kb.scoring, {"weights": inline})
        if scoring_file is not None:
            extra = Knowledge()
            _load_file(extra, scoring_file)
            _merge_scoring(kb.scoring, extra.scoring)
            kb.files.append(str(scoring_file))
        elif directory == directories[0]:
            raise RulePackError(f"{directory}: scoring.toml is missing")
    return kb


def _merge_scoring(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge_scoring(base[key], value)
        else:
            base[key] = value


@functools.cache
def default_knowledge() -> Knowledge:
    return load_pack([builtin_pack_dir()])


def knowledge_with(extra: tuple[Path, ...]) -> Knowledge:
    if not extra:
        return default_knowledge()
    return load_pack([builtin_pack_dir(), *extra])
