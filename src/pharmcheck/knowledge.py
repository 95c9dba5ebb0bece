"""The rule pack: rule metadata, patterns, formats, registries and weights, as data.

The pack is the ``rules/`` folder of the source tree, shipped inside the wheel as
``pharmcheck/rulepack``. Each ``*.toml`` file holds ``[[rule]]`` entries (the
documentation ``pharmcheck explain`` prints) and a ``[data]`` table of knowledge the
rule modules read; ``scoring.toml`` holds the one table of weights.
"""

from __future__ import annotations

import functools
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


@dataclass
class Knowledge:
    rules: dict[str, RuleMeta] = field(default_factory=dict)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # family -> [data]
    scoring: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

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


def _str(entry: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    value = entry.get(key, "")
    if required and not value:
        raise RulePackError(f"{where}: missing required key '{key}'")
    if not isinstance(value, str):
        raise RulePackError(f"{where}: key '{key}' must be a string")
    return value


def _load_file(kb: Knowledge, path: Path) -> None:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RulePackError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulePackError(f"{path}: cannot read ({exc})") from None
    kb.files.append(str(path))
    if path.name == "scoring.toml":
        kb.scoring = doc
        return
    family = str(doc.get("family", path.stem))
    for i, entry in enumerate(doc.get("rule", [])):
        where = f"{path}: rule[{i}]"
        rid = _str(entry, "id", where)
        where = f"{path}: rule {rid}"
        severity = _str(entry, "severity", where)
        if severity not in SEVERITIES:
            raise RulePackError(f"{where}: key 'severity' must be one of {', '.join(SEVERITIES)}")
        sources = entry.get("sources", [])
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise RulePackError(f"{where}: key 'sources' must be a list of strings")
        kb.rules[rid] = RuleMeta(
            id=rid,
            name=_str(entry, "name", where),
            title=_str(entry, "title", where),
            severity=severity,
            summary=_str(entry, "summary", where),
            rationale=_str(entry, "rationale", where, required=False),
            passes=_str(entry, "passes", where, required=False),
            fails=_str(entry, "fails", where, required=False),
            sources=tuple(sources),
            family=family,
            origin=str(path),
            aliases=tuple(entry.get("aliases", [])),
        )
    data = doc.get("data", {})
    if not isinstance(data, dict):
        raise RulePackError(f"{path}: [data] must be a table")
    merged = kb.data.setdefault(family, {})
    merged.update(data)


def load_pack(directories: list[Path]) -> Knowledge:
    kb = Knowledge()
    for directory in directories:
        files = sorted(directory.glob("*.toml"))
        # scoring last so a user pack's weights override the built-in table key by key
        for path in files:
            if path.name == "scoring.toml" and kb.scoring:
                extra = Knowledge()
                _load_file(extra, path)
                _merge_scoring(kb.scoring, extra.scoring)
                kb.files.append(str(path))
            else:
                _load_file(kb, path)
    if not kb.scoring:
        raise RulePackError(f"{directories[0]}: scoring.toml is missing")
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
