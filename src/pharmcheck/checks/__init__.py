"""Rule modules. Each rule is a pure function ``Site -> Iterable[Finding]``.

A module registers its functions with :func:`check`; :func:`run_checks` imports the
modules named in ``CHECK_MODULES`` and runs every registered rule. A rule that raises
becomes an ``error`` finding: one broken rule never loses a site's scan.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pharmcheck.findings import Finding, Outcome, Severity
from pharmcheck.site import Site

CheckFunc = Callable[[Site], Iterable[Finding]]

CHECK_MODULES = (
    "pharmcheck.checks.scope",
    "pharmcheck.checks.transport",
    "pharmcheck.checks.address",
    "pharmcheck.checks.licence",
    "pharmcheck.checks.prescription",
    "pharmcheck.checks.credentials",
    "pharmcheck.checks.domain",
    "pharmcheck.checks.lang",
    "pharmcheck.checks.patterns",
    "pharmcheck.checks.redflags",
    "pharmcheck.checks.identity",
    "pharmcheck.checks.signals",
)


@dataclass(frozen=True)
class RegisteredCheck:
    ids: tuple[str, ...]
    func: CheckFunc
    module: str


_REGISTRY: list[RegisteredCheck] = []


def check(*ids: str) -> Callable[[CheckFunc], CheckFunc]:
    """Register a rule function that produces findings with the given IDs."""

    def wrap(func: CheckFunc) -> CheckFunc:
        _REGISTRY.append(RegisteredCheck(ids, func, func.__module__))
        return func

    return wrap


def registered() -> list[RegisteredCheck]:
    for name in CHECK_MODULES:
        importlib.import_module(name)
    # Registration order depends on who imported what first; findings must not.
    order = {name: i for i, name in enumerate(CHECK_MODULES)}
    return sorted(_REGISTRY, key=lambda reg: order.get(reg.module, len(order)))


def run_checks(site: Site) -> list[Finding]:
    findings: list[Finding] = []
    for reg in registered():
        if site.out_of_budget("rules " + ", ".join(reg.ids)):  # Report.truncated says which
            continue
        try:
            findings.extend(reg.func(site))
        except Exception as exc:  # a rule bug must not lose the site
            findings.append(
                Finding(
                    id=reg.ids[0],
                    name=site.kb.rule(reg.ids[0]).name,
                    outcome=Outcome.ERROR,
                    message=f"rule crashed: {type(exc).__name__}: {exc}"[:300],
                    severity=Severity.INFO,
                )
            )
    return findings
