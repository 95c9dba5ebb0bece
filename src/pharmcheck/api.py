"""The library API: ``scan(target) -> Report``. The CLI is a thin layer over this."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from pharmcheck.knowledge import Knowledge, knowledge_with
from pharmcheck.options import ScanOptions
from pharmcheck.report import Report, from_snapshot_summary, text_hash
from pharmcheck.snapshot import Snapshot
from pharmcheck.target import Target, parse_target


def scan(target: str | Target, options: ScanOptions | None = None, **overrides: Any) -> Report:
    """Fetch a site and judge it. Raises :class:`~pharmcheck.target.TargetError` for a bad target.

    ``overrides`` are :class:`ScanOptions` fields, e.g. ``scan("example.com", max_pages=5)``.
    Network failures never raise: they give an ``unreachable`` report.
    """
    from pharmcheck.fetch import fetch_site

    opts = replace(options or ScanOptions(), **overrides)
    parsed = target if isinstance(target, Target) else parse_target(target)
    kb = knowledge_with(opts.rules_dirs)
    snapshot = fetch_site(parsed, opts)
    from pharmcheck.lookups import run_lookups

    run_lookups(snapshot, opts)  # with opts.offline it only records that lookups are off
    if opts.save_snapshot is not None:
        try_save_snapshot(snapshot, opts.save_snapshot)
    return scan_snapshot(snapshot, kb)


def scan_snapshot(snapshot: Snapshot, kb: Knowledge | None = None) -> Report:
    """Judge an already fetched snapshot (pure: no network)."""
    from pharmcheck import role as site_role
    from pharmcheck.checks import run_checks
    from pharmcheck.lookups.summary import credentials_of, domain_of
    from pharmcheck.scoring import decide, limit_to_what_was_read
    from pharmcheck.site import Site

    kb = kb or knowledge_with(())
    started = time.monotonic()
    site = Site(snapshot, kb)
    # An unreachable site has nothing to judge: rules would only report absences.
    findings = run_checks(site) if snapshot.reachable else []
    role: dict[str, Any] | None = None
    if snapshot.reachable:
        # the role stage: who the site is, and whose offers its red flags are (issue 9)
        decided = site_role.decide(site, findings)
        site_role.attribute(site, decided, findings)
        role_finding = site_role.finding(site, decided)
        findings.append(role_finding)
        role = {"role": decided.role, "why": decided.why, **{k: role_finding.data[k] for k in (
            "identity", "offers", "other", "linked_shops", "missing")}}
    decision = decide(findings, snapshot, kb)
    truncated = site.truncation if snapshot.reachable else []
    decision = limit_to_what_was_read(decision, truncated, findings, kb)
    findings.sort(key=lambda f: (not f.decisive, f.points >= 0, -abs(f.points), f.id))
    pages, tls = from_snapshot_summary(snapshot)
    text_hashes = {pp.url: text_hash(pp.text) for pp in site.pages} if snapshot.reachable else {}
    for summary in pages:
        summary.text_hash = text_hashes.get(summary.url)
    domain = domain_of(snapshot, site.domain)
    fingerprints = _fingerprints(site, findings, domain) if snapshot.reachable else None
    judge_ms = int((time.monotonic() - started) * 1000)
    return Report(
        input=snapshot.input,
        url=snapshot.url,
        final_url=snapshot.final_url or snapshot.url,
        verdict=decision.verdict,
        score=decision.score,
        findings=findings,
        pages=pages,
        errors=[*snapshot.errors, *site.notes],
        elapsed_ms=snapshot.elapsed_ms + judge_ms,
        reasons=decision.reasons,
        basis=decision.basis,
        registered_domain=site.domain,
        credentials=credentials_of(findings),
        domain=domain,
        redirect_chain=list(snapshot.redirect_chain),
        tls=tls,
        algorithm_version=kb.algorithm_version,
        scanned_at=snapshot.fetched_at,
        role=role,
        truncated=truncated,
        fingerprints=fingerprints,
    )


def _fingerprints(site: Any, findings: list[Any], domain: dict[str, Any]) -> dict[str, Any] | None:
    """Network fingerprints (issue 14); a bug there must never lose the site's verdict."""
    from pharmcheck.fingerprints import compute

    try:
        return compute(site, findings, domain)
    except Exception as exc:  # a fingerprint bug is reported in the report, never raised
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}


def try_save_snapshot(snapshot: Snapshot, directory: Path) -> Path | None:
    """Save the snapshot; a failure (disk full, permissions …) is a warning in ``errors``, not
    a lost verdict: the judgement does not depend on the copy on disk."""
    try:
        return save_snapshot(snapshot, directory)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        snapshot.errors.append(f"warning: snapshot not saved to {directory}: {reason}")
        return None


def save_snapshot(snapshot: Snapshot, directory: Path) -> Path:
    """Write the snapshot under ``directory`` with a file name that cannot escape it."""
    from pharmcheck.safety import safe_filename

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (safe_filename(snapshot.final_url or snapshot.url or snapshot.input) + ".json")
    snapshot.save(path)
    return path
