"""The data-only rule engine: every rule with ``kind = "pattern"`` in the rule pack, no Python.

A pattern rule lists phrases per language (``[rule.patterns]``, phrase syntax of
:mod:`pharmcheck.checks.textmatch`) and optionally raw regexes (``[rule.regex]``). Each
match is read in context (:mod:`pharmcheck.checks.context`): negated or warning-page
matches do not count. Enough distinct matches give ``outcome_on_match``, otherwise
``outcome_otherwise`` (``none`` = no finding). Built-in rules and user packs
(``--rules DIR``) use the same engine; docs/rule-packs.md describes the format.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from pharmcheck.checks import check
from pharmcheck.checks.context import find_affirmed
from pharmcheck.checks.pagehits import register
from pharmcheck.checks.textmatch import compile_by_lang, compile_phrases, per_kb
from pharmcheck.findings import Finding, Outcome, Severity
from pharmcheck.knowledge import Knowledge, RuleMeta
from pharmcheck.linear import compile_linear
from pharmcheck.site import Site

MAX_EVIDENCE = 5


@dataclass(frozen=True)
class PatternRule:
    meta: RuleMeta
    patterns: dict[str, re.Pattern[str]]
    linear: dict[str, re.Pattern[str]]  # a user pack's regexes, run by RE2 (pharmcheck.linear)
    negators: dict[str, re.Pattern[str]]
    kinds: tuple[str, ...]
    on_match: str
    otherwise: str
    min_matches: int
    context: bool
    message: str
    message_otherwise: str


def _combine(phrases: list[str], regexes: list[str]) -> re.Pattern[str] | None:
    sources: list[str] = []
    compiled = compile_phrases(phrases) if phrases else None
    if compiled is not None:
        sources.append(compiled.pattern)
    sources.extend(f"(?:{r})" for r in regexes)
    if not sources:
        return None
    return re.compile("|".join(sources), re.IGNORECASE)


def compile_rule(meta: RuleMeta, untrusted: frozenset[str] | set[str] = frozenset()) -> PatternRule:
    spec = meta.spec
    phrases: dict[str, list[str]] = spec.get("patterns", {})
    regexes: dict[str, list[str]] = spec.get("regex", {})
    patterns: dict[str, re.Pattern[str]] = {}
    linear: dict[str, re.Pattern[str]] = {}
    for lang in sorted(set(phrases) | set(regexes)):
        ours = [r for r in regexes.get(lang, []) if r not in untrusted]
        theirs = [r for r in regexes.get(lang, []) if r in untrusted]
        pattern = _combine(phrases.get(lang, []), ours)
        if pattern is not None:
            patterns[lang] = pattern
            if not ours:  # phrases only: matched from their first words (pagehits)
                register(pattern, phrases.get(lang, []))
        if theirs:
            linear[lang] = compile_linear("|".join(f"(?:{r})" for r in theirs), re.IGNORECASE)
    return PatternRule(
        meta=meta,
        patterns=patterns,
        linear=linear,
        negators=compile_by_lang(spec.get("negators", {})),
        kinds=tuple(spec.get("kinds", ())),
        on_match=str(spec.get("outcome_on_match", "fail")),
        otherwise=str(spec.get("outcome_otherwise", "pass")),
        min_matches=int(spec.get("min_matches", 1)),
        context=bool(spec.get("context", True)),
        message=str(spec.get("message", "")),
        message_otherwise=str(spec.get("message_otherwise", "")),
    )


def pattern_rules(kb: Knowledge) -> list[PatternRule]:
    """Every pattern rule of the pack, compiled once per Knowledge object."""
    return per_kb(
        kb,
        "patterns.rules",
        lambda k: [
            compile_rule(m, k.untrusted)
            for m in sorted(k.rules.values(), key=lambda m: m.id)
            if m.kind == "pattern"
        ],
    )


def run_rule(site: Site, rule: PatternRule) -> Iterator[Finding]:
    if not site.pages:
        yield site.finding(rule.meta.id, Outcome.SKIP, "no page to read")
        return
    hits = []
    distinct: dict[str, None] = {}
    found = find_affirmed(site, rule.patterns, rule.kinds or None, rule.context, rule.negators)
    if rule.linear:
        found = itertools.chain(found, find_affirmed(site, rule.linear, rule.kinds or None, rule.context,
                                                     rule.negators))
    for hit in found:
        hits.append(hit)
        distinct.setdefault(" ".join(hit.text.lower().split())[:80])
        if len(hits) >= 50:
            break
    if len(distinct) >= rule.min_matches:
        shown = list(distinct)[:10]
        message = rule.message or f"{rule.meta.title}: {', '.join(repr(s) for s in shown[:3])}"
        yield site.finding(
            rule.meta.id,
            Outcome(rule.on_match),
            message,
            [h.evidence() for h in hits[:MAX_EVIDENCE]],
            matches=shown,
            languages=sorted({h.lang for h in hits}),
        )
        return
    if rule.otherwise == "none":
        return
    message = rule.message_otherwise or f"no {rule.meta.title.lower()} found"
    if hits:
        message += f" ({len(distinct)} match(es), {rule.min_matches} needed)"
    yield site.finding(rule.meta.id, Outcome(rule.otherwise), message)


@check("PC503", "PC510", "PC520", "PC521", "PC522", "PC530")
def pattern_rules_check(site: Site) -> Iterator[Finding]:
    """Run every ``kind = "pattern"`` rule; one broken rule gives an error finding, not a lost scan."""
    for rule in pattern_rules(site.kb):
        try:
            yield from list(run_rule(site, rule))
        except Exception as exc:  # a user pattern must not take the other rules down
            yield Finding(
                id=rule.meta.id,
                name=rule.meta.name,
                outcome=Outcome.ERROR,
                severity=Severity.INFO,
                message=f"pattern rule crashed: {type(exc).__name__}: {exc}"[:300],
            )
