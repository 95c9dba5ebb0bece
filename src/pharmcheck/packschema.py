"""Schema of rule-pack files: validate ``[[rule]]`` entries and report errors as ``file:line``.

tomllib gives no positions for keys, so the line of a bad key is found by scanning the
file text for ``key =`` inside the table where it belongs (the n-th ``[[rule]]``, or its
``[rule.patterns]`` sub-table). Unknown keys are errors: a typo in a user pack
(``severty``) must not silently drop a setting.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from pharmcheck.knowledge import SEVERITIES, Knowledge, RuleMeta, RulePackError

TOP_KEYS = frozenset({"family", "rule", "data"})
META_KEYS = ("name", "title", "severity", "summary", "rationale", "passes", "fails")
REQUIRED = ("name", "title", "severity", "summary")
COMMON_KEYS = frozenset({"id", *META_KEYS, "sources", "aliases", "kind", "weight"})
PATTERN_KEYS = frozenset(
    {
        "patterns",
        "regex",
        "negators",
        "kinds",
        "outcome_on_match",
        "outcome_otherwise",
        "min_matches",
        "context",
        "message",
        "message_otherwise",
    }
)
KINDS = ("python", "pattern")
OUTCOMES = ("pass", "fail", "warn", "info", "skip", "error")
ON_MATCH = ("fail", "warn", "info", "pass")
OTHERWISE = ("pass", "info", "skip", "none")
_LANG_KEY = re.compile(r"^(?:any|[a-z]{2,3})$")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")
# a group that repeats something already repeated: (a+)+, (a*)*, (a+){2,} — the classic ReDoS shape
_NESTED_QUANT = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")
MAX_PATTERN = 400
MAX_PATTERNS = 200


class _Lines:
    """Finds the line of a key in a TOML text, for error messages."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.rule_starts = [i for i, ln in enumerate(self.lines) if ln.strip().startswith("[[rule]]")]

    def _region(self, index: int) -> tuple[int, int]:
        if index >= len(self.rule_starts):
            return 0, len(self.lines)
        start = self.rule_starts[index]
        end = len(self.lines)
        for j in range(start + 1, len(self.lines)):
            s = self.lines[j].strip()
            if s.startswith("[") and not s.startswith("[rule."):
                end = j
                break
        return start, end

    def find(self, index: int, key: str, sub: str = "") -> int:
        """1-based line of ``key`` in rule ``index`` (in ``[rule.<sub>]`` when given)."""
        start, end = self._region(index)
        key_re = re.compile(r"^\s*(?:" + re.escape(key) + r'|"' + re.escape(key) + r'")\s*[=.]')
        if sub:
            sub_re = re.compile(r"^\s*\[\s*rule\.\s*" + re.escape(sub) + r"\s*\]")
            in_sub = False
            for j in range(start, end):
                line = self.lines[j]
                if line.strip().startswith("["):
                    in_sub = bool(sub_re.match(line))
                    continue
                if in_sub and key_re.match(line):
                    return j + 1
            dotted = re.compile(r"^\s*" + re.escape(sub) + r"\s*\.\s*" + re.escape(key) + r"\s*=")
            for j in range(start, end):
                if dotted.match(self.lines[j]):
                    return j + 1
            key_re = re.compile(r"^\s*" + re.escape(sub) + r"\s*[=.]")  # inline table: its own line
        in_sub = False
        for j in range(start, end):
            line = self.lines[j]
            if line.strip().startswith("[") and j != start:
                in_sub = True  # a [rule.x] sub-table: its keys are not the rule's own
                continue
            if not in_sub and key_re.match(line):
                return j + 1
        return start + 1


class _Rule:
    def __init__(self, path: Path, lines: _Lines, index: int, rid: str) -> None:
        self.path, self.lines, self.index, self.rid = path, lines, index, rid

    def error(self, key: str, problem: str, sub: str = "") -> RulePackError:
        line = self.lines.find(self.index, key, sub)
        who = f"rule {self.rid}" if self.rid else f"rule[{self.index}]"
        shown = f"{sub}.{key}" if sub else key
        return RulePackError(f"{self.path}:{line}: {who}: key '{shown}' {problem}")


def _lang_lists(r: _Rule, entry: dict[str, Any], key: str) -> dict[str, list[str]]:
    value = entry[key]
    if not isinstance(value, dict):
        raise r.error(key, "must be a table of language -> list of strings")
    out: dict[str, list[str]] = {}
    for lang, items in value.items():
        if not _LANG_KEY.match(lang):
            raise r.error(lang, "is not a language code (two letters such as 'en', or 'any')", key)
        if not isinstance(items, list) or not all(isinstance(x, str) and x.strip() for x in items):
            raise r.error(lang, "must be a list of non-empty strings", key)
        if len(items) > MAX_PATTERNS or any(len(x) > MAX_PATTERN for x in items):
            raise r.error(lang, f"allows at most {MAX_PATTERNS} patterns of {MAX_PATTERN} characters", key)
        out[lang] = list(items)
    return out


def _check_regexes(r: _Rule, table: dict[str, list[str]], key: str, untrusted: bool = False) -> None:
    from pharmcheck.linear import unsupported

    for lang, items in table.items():
        for source in items:
            if untrusted:  # run by RE2 (linear time): nested quantifiers are harmless there
                problem = unsupported(source)
                if problem is not None:
                    raise r.error(lang, f"pattern {source!r} uses {problem} (rule packs run on a "
                                  "linear-time regex engine)", key)
                continue
            if _NESTED_QUANT.search(source):
                raise r.error(lang, f"pattern {source!r} nests quantifiers (catastrophic backtracking)", key)
            try:
                re.compile(source, re.IGNORECASE)
            except re.error as exc:
                raise r.error(lang, f"pattern {source!r} is not a valid regex ({exc})", key) from None


def _check_phrases(r: _Rule, table: dict[str, list[str]], key: str) -> None:
    from pharmcheck.checks.textmatch import compile_phrases

    for lang, items in table.items():
        try:
            compile_phrases(items)
        except re.error as exc:
            raise r.error(lang, f"has a phrase that does not compile ({exc})", key) from None


def _spec(r: _Rule, entry: dict[str, Any], untrusted: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for key in ("patterns", "negators"):
        if key in entry:
            table = _lang_lists(r, entry, key)
            _check_phrases(r, table, key)
            spec[key] = table
    if "regex" in entry:
        table = _lang_lists(r, entry, "regex")
        _check_regexes(r, table, "regex", untrusted)
        spec["regex"] = table
    if "kinds" in entry:
        kinds = entry["kinds"]
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise r.error("kinds", "must be a list of page kinds (home, product, faq …)")
        spec["kinds"] = list(kinds)
    for key, allowed in (("outcome_on_match", ON_MATCH), ("outcome_otherwise", OTHERWISE)):
        if key in entry:
            if entry[key] not in allowed:
                raise r.error(key, f"must be one of {', '.join(allowed)}")
            spec[key] = entry[key]
    if "min_matches" in entry:
        n = entry["min_matches"]
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 100:
            raise r.error("min_matches", "must be an integer from 1 to 100")
        spec["min_matches"] = n
    if "context" in entry:
        if not isinstance(entry["context"], bool):
            raise r.error("context", "must be true or false")
        spec["context"] = entry["context"]
    for key in ("message", "message_otherwise"):
        if key in entry:
            if not isinstance(entry[key], str):
                raise r.error(key, "must be a string")
            spec[key] = entry[key]
    return spec


def _weight(r: _Rule, entry: dict[str, Any]) -> dict[str, int]:
    value = entry["weight"]
    if not isinstance(value, dict):
        raise r.error("weight", "must be a table of outcome -> points, e.g. { fail = -10 }")
    for outcome, points in value.items():
        if outcome not in OUTCOMES:
            raise r.error("weight", f"has unknown outcome '{outcome}' (one of {', '.join(OUTCOMES)})")
        if not isinstance(points, int) or isinstance(points, bool) or not -100 <= points <= 100:
            raise r.error("weight", f"'{outcome}' must be an integer from -100 to 100")
    return dict(value)


def load_rules(
    kb: Knowledge, path: Path, text: str, doc: dict[str, Any], inline_weights: dict[str, Any],
    untrusted: bool = False,
) -> None:
    """Validate one rule-pack file and add (or override) its rules and data in ``kb``.

    ``untrusted`` (a user pack): every regex of the file must run on the linear-time engine
    (:mod:`pharmcheck.linear`), and its strings are recorded so rule modules compile them with it.
    """
    lines = _Lines(text)
    for key in doc:
        if key not in TOP_KEYS:
            line = next(
                (
                    i + 1
                    for i, ln in enumerate(lines.lines)
                    if re.match(r"^\s*\[*\s*" + re.escape(key) + r"\b", ln)
                ),
                1,
            )
            raise RulePackError(f"{path}:{line}: unknown top-level key '{key}' (allowed: family, rule, data)")
    family = doc.get("family", path.stem)
    if not isinstance(family, str) or not family:
        raise RulePackError(f"{path}:1: key 'family' must be a non-empty string")
    rules = doc.get("rule", [])
    if not isinstance(rules, list):
        raise RulePackError(f"{path}:1: 'rule' must be written as [[rule]] tables")
    for i, entry in enumerate(rules):
        r = _Rule(path, lines, i, "")
        rid = entry.get("id")
        if not isinstance(rid, str) or not _ID.match(rid):
            raise r.error("id", "is required: a short code such as 'X001' (letters, digits, . _ -)")
        r.rid = rid
        for key in entry:
            if key not in COMMON_KEYS and key not in PATTERN_KEYS:
                raise r.error(
                    key, "is unknown (typo?); allowed: " + ", ".join(sorted(COMMON_KEYS | PATTERN_KEYS))
                )
        existing = kb.rules.get(rid)
        fields: dict[str, Any] = {}
        for key in META_KEYS:
            if key in entry:
                if not isinstance(entry[key], str):
                    raise r.error(key, "must be a string")
                fields[key] = entry[key]
            elif existing is None and key in REQUIRED:
                raise r.error(key, "is required for a new rule")
        if "severity" in fields and fields["severity"] not in SEVERITIES:
            raise r.error("severity", f"must be one of {', '.join(SEVERITIES)}")
        for key in ("sources", "aliases"):
            if key in entry:
                value = entry[key]
                if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
                    raise r.error(key, "must be a list of strings")
                fields[key] = tuple(value)
        kind = entry.get("kind", existing.kind if existing else "python")
        if kind not in KINDS:
            raise r.error("kind", f"must be one of {', '.join(KINDS)}")
        fields["kind"] = kind
        spec = _spec(r, entry, untrusted)
        if untrusted:
            kb.untrusted.update(s for items in spec.get("regex", {}).values() for s in items)
        if kind == "python" and spec:
            raise r.error(sorted(spec)[0], 'is only allowed in a rule with kind = "pattern"')
        merged = {**(existing.spec if existing else {}), **spec}
        if kind == "pattern" and not (merged.get("patterns") or merged.get("regex")):
            raise r.error("patterns", "is required for kind = \"pattern\" (or 'regex')")
        if "weight" in entry:
            inline_weights[rid] = _weight(r, entry)
        fields.update(spec=merged, origin=str(path), family=family)
        if existing is None:
            kb.rules[rid] = RuleMeta(id=rid, **fields)
        else:
            fields.setdefault("family", existing.family)
            kb.rules[rid] = replace(existing, **fields)
    data = doc.get("data", {})
    if not isinstance(data, dict):
        raise RulePackError(f"{path}:1: [data] must be a table")
    if untrusted:
        _check_data_regexes(path, lines, data, kb.untrusted)
    kb.data.setdefault(family, {}).update(data)


def _strings(value: Any, key: str = "") -> list[tuple[str, str]]:
    """Every string in a [data] value, with the key it sits under."""
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _strings(v, str(k))]
    if isinstance(value, list):
        return [pair for v in value for pair in _strings(v, key)]
    return []


def _check_data_regexes(path: Path, lines: _Lines, data: dict[str, Any], untrusted: set[str]) -> None:
    """A user pack's [data] strings that are regexes must run on the linear-time engine.

    Which strings a rule module reads as regexes is the module's business, so every string that
    Python would compile as a regex is checked; plain words and phrases compile in both engines.
    """
    from pharmcheck.linear import unsupported

    for key, source in _strings(data):
        untrusted.add(source)
        try:
            re.compile(source)
        except (re.error, RecursionError, OverflowError):
            continue  # not a regex (a phrase such as "* bitcoin"): nothing runs it as one
        problem = unsupported(source)
        if problem is not None:
            key_line = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
            line = next((i + 1 for i, ln in enumerate(lines.lines) if source in ln), 0) or next(
                (i + 1 for i, ln in enumerate(lines.lines) if key_line.match(ln)), 1)
            raise RulePackError(f"{path}:{line}: [data] key '{key}': pattern {source!r} uses {problem} "
                                "(rule packs run on a linear-time regex engine)")
