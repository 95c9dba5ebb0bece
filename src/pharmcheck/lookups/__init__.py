"""The lookups stage: facts about a site that come from elsewhere than the site itself.

Runs between fetch and rules (DESIGN §1): registry entries behind seal links and
printed registration numbers (``registry.py``) and the domain's registration via RDAP
(``rdap.py``). Each lookup runs in its own thread with its own timeout, all of them
bounded by what is left of the site's deadline, and each answer is cached on disk.
``ScanOptions.offline`` turns the stage off; the rules then say the verdict rests on
page signals alone. Results land in ``snapshot.lookups`` (plain JSON data), so a saved
snapshot is re-scored offline with the same facts.

``snapshot.lookups`` shape::

    {"status": "done" | "offline" | "skipped", "note": str,
     "registry": {entry_url: {"status": "found" | "not_found" | "unreachable" | "blocked" | "deadline",
                              "mentioned": [domain…], "declared": [domain…], …}},
     "rdap": {"status": "ok" | "not_found" | "unreachable" | "no_server" | "deadline" | …,
              "domain", "registration", "expiration", "registrar", "registrant_redacted", "source"},
     "elapsed_ms": int}
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from pharmcheck.lookups.cache import Cache
from pharmcheck.options import ScanOptions
from pharmcheck.snapshot import Snapshot

Job = Callable[[Callable[[], Any]], dict[str, Any]]  # (lazy client getter) -> facts
OFFLINE_NOTE = "lookups are off (--offline): the verdict rests on page signals alone"
_GRACE = 0.5  # seconds a lookup thread gets after the deadline to notice the watchdog


def run_lookups(
    snapshot: Snapshot,
    options: ScanOptions,
    session_factory: Callable[[], Any] | None = None,
    cache: Cache | None = None,
) -> None:
    """Add registry and RDAP facts to ``snapshot.lookups``. Never raises for network trouble."""
    if options.offline:
        snapshot.lookups = {"status": "offline", "note": OFFLINE_NOTE}
        return
    if not snapshot.reachable:
        snapshot.lookups = {"status": "skipped", "note": "site unreachable: nothing to look up"}
        return
    budget = options.deadline - snapshot.elapsed_ms / 1000.0
    if budget <= 0.05:
        snapshot.lookups = {"status": "skipped", "note": "site deadline reached before lookups"}
        return

    from pharmcheck.fetch.session import Deadline
    from pharmcheck.knowledge import knowledge_with
    from pharmcheck.lookups import rdap, registry
    from pharmcheck.lookups.net import LookupClient
    from pharmcheck.site import Site
    from pharmcheck.urls import suffix_of

    started = time.monotonic()
    kb = knowledge_with(tuple(options.rules_dirs))
    site = Site(snapshot, kb)
    reg_cfg = registry.config(kb)
    rdap_cfg = rdap.RdapConfig.from_data(kb.family("domain"))
    store = cache or Cache()
    deadline = Deadline(budget)

    jobs: dict[str, tuple[float, Job]] = {}
    for rid, url in registry.lookup_urls(registry.find_candidates(site, reg_cfg), reg_cfg.max_lookups):
        job = functools.partial(_registry_job, store, rid, url, reg_cfg)
        jobs["registry:" + url] = (reg_cfg.timeout, job)
    domain = site.domain
    if domain and suffix_of(domain):
        jobs["rdap"] = (rdap_cfg.timeout, functools.partial(_rdap_job, store, domain, rdap_cfg))

    results: dict[str, dict[str, Any]] = {}

    def work(key: str, timeout: float, fn: Job) -> None:
        made: list[LookupClient] = []

        def client() -> LookupClient:  # created lazily: a cache hit opens no connection
            if not made:
                made.append(LookupClient(options, deadline, timeout, session_factory))
            return made[0]

        try:
            results[key] = fn(client)
        except Exception as exc:  # a lookup bug must not lose the scan
            results[key] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
        finally:
            for c in made:
                c.close()

    threads = [
        threading.Thread(target=work, args=(key, t, fn), name=f"lookup-{key[:40]}", daemon=True)
        for key, (t, fn) in jobs.items()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline.remaining()) + _GRACE)

    late = {"status": "deadline", "error": f"site deadline of {options.deadline:g}s reached"}
    out: dict[str, Any] = {"status": "done", "note": "", "registry": {}}
    for key in jobs:
        facts = dict(results.get(key) or late)
        if key == "rdap":
            facts.setdefault("domain", domain)
            out["rdap"] = facts
        else:
            out["registry"][key.removeprefix("registry:")] = facts
    if "rdap" not in out:
        out["rdap"] = {"status": "no_domain", "domain": domain, "error": "no registered domain to look up"}
    elapsed = int((time.monotonic() - started) * 1000)
    out["elapsed_ms"] = elapsed
    snapshot.lookups = out
    snapshot.elapsed_ms += elapsed


def _registry_job(store: Cache, rid: str, url: str, cfg: Any, client: Callable[[], Any]) -> dict[str, Any]:
    from pharmcheck.lookups.registry import lookup_entry

    return lookup_entry(client, store, rid, url, cfg)


def _rdap_job(store: Cache, domain: str, cfg: Any, client: Callable[[], Any]) -> dict[str, Any]:
    from pharmcheck.lookups.rdap import lookup_domain

    return lookup_domain(client, store, domain, cfg)


__all__ = ["OFFLINE_NOTE", "run_lookups"]
