"""Compare a site's report with its baseline: ``new``, ``unchanged``, ``changed`` or ``gone``.

A report is reduced to its *comparison facts* (:func:`facts_of`): verdict, score, each
finding's outcome and a hash of its evidence, credentials and their status, RDAP facts,
who the certificate names, where the site lands, the operator's name and address, and a
fingerprint of each kind of page. :func:`compare` turns two fact sets into a ``change``
object (the report's ``change`` field, schema 1.3) that says what changed in words
(``summary``, each item's ``message``) and as data (``items[].kind``, ``from``, ``to``).

An item is an ``alert`` when it is a regression a certification body would act on: the
verdict got worse, a decisive red flag appeared, a verified credential stopped verifying,
the domain was re-registered or moved registrar (possible takeover: expired pharmacy
domains are bought and turned into rogue shops), the certificate names another
organisation, the site now lands on another domain, or checkout moved off the site.
Everything else is a ``notice``. ``regression`` is true when any item is an alert.
Pure functions of their inputs: no network, no clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

NEW, UNCHANGED, CHANGED, GONE = "new", "unchanged", "changed", "gone"
STATUSES = (NEW, UNCHANGED, CHANGED, GONE)
ALERT, NOTICE = "alert", "notice"

# How bad a verdict is (mirrors reporters.RANK); unreachable/error have no rank.
_RANK = {"legitimate": 0, "not_pharmacy": 0, "suspicious": 1, "rogue": 2}
_BAD = ("fail", "warn")
OFFSITE_CHECKOUT = "PC605"
ADDRESS_RULE = "PC201"
NAME_RULE = "PC251"


def site_key(report: Mapping[str, Any]) -> str:
    """What identifies a site across runs: its input line (the same list is scanned each time)."""
    key = str(report.get("input") or "").strip()
    return key or str(report.get("url") or "")


def _evidence_hash(evidence: Any) -> str:
    raw = json.dumps(evidence or [], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _cred_key(c: Mapping[str, Any]) -> str:
    return f"{c.get('registry') or c.get('kind') or '?'}:{c.get('url') or c.get('number') or ''}"


def facts_of(report: Mapping[str, Any]) -> dict[str, Any]:
    """The comparison facts of one report (a ``Report.to_dict()``); plain JSON data."""
    findings: dict[str, list[Any]] = {}
    names: list[str] = []
    address: str | None = None
    for f in report.get("findings") or []:
        if not isinstance(f, dict) or "id" not in f:
            continue
        fid = str(f["id"])
        outcome = str(f.get("outcome", ""))
        findings[fid] = [outcome, _evidence_hash(f.get("evidence")), bool(f.get("decisive"))]
        data = f.get("data") or {}
        if fid == NAME_RULE and isinstance(data.get("names"), list):
            names = sorted({str(n) for n in data["names"]})
        if fid == ADDRESS_RULE and f.get("outcome") == "pass" and data.get("address"):
            address = " ".join(str(data["address"]).split())
    creds: dict[str, str] = {}
    for c in report.get("credentials") or []:
        if isinstance(c, dict):
            creds[_cred_key(c)] = str(c.get("status", ""))
    domain = report.get("domain") or {}
    tls = report.get("tls") or {}
    cert = tls.get("cert") if isinstance(tls.get("cert"), dict) else None
    content: dict[str, str] = {}
    for p in report.get("pages") or []:
        if isinstance(p, dict) and p.get("text_hash"):
            kind = str(p.get("kind") or "other")
            content[kind] = hashlib.sha256(
                (content.get(kind, "") + str(p["text_hash"])).encode()
            ).hexdigest()[:16]
    return {
        "site": site_key(report),
        "input": str(report.get("input", "")),
        "final_url": str(report.get("final_url") or ""),
        "final_domain": str(report.get("registered_domain") or ""),
        "redirect_chain": [str(u) for u in report.get("redirect_chain") or []],
        "verdict": str(report.get("verdict", "")),
        "score": report.get("score"),
        "scanned_at": str(report.get("scanned_at") or ""),
        "algorithm_version": str(report.get("algorithm_version") or ""),
        "findings": findings,
        "credentials": creds,
        "registrar": domain.get("registrar") if domain.get("status") == "ok" else None,
        "created": domain.get("created") if domain.get("status") == "ok" else None,
        "cert": {k: str(cert.get(k) or "") for k in ("subject_cn", "subject_org", "issuer_org")}
        if cert
        else None,
        "operator_names": names,
        "operator_address": address,
        "content": content,
    }


def _item(kind: str, severity: str, message: str, before: Any = None, after: Any = None) -> dict[str, Any]:
    return {"kind": kind, "severity": severity, "message": message, "from": before, "to": after}


def direction(old_verdict: str, new_verdict: str) -> str:
    """``worse``, ``better``, ``same`` or ``unknown`` (a side was not scanned)."""
    if old_verdict == new_verdict:
        return "same"
    a, b = _RANK.get(old_verdict), _RANK.get(new_verdict)
    if a is None or b is None:
        return "unknown"
    return "worse" if b > a else "better" if b < a else "same"


def _items(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    ov, nv = old.get("verdict", ""), new.get("verdict", "")
    if ov != nv:
        way = direction(ov, nv)
        yield _item("verdict", ALERT if way == "worse" else NOTICE, f"verdict {ov} → {nv} ({way})", ov, nv)
    os_, ns = old.get("score"), new.get("score")
    if isinstance(os_, int) and isinstance(ns, int) and os_ != ns:
        yield _item("score", NOTICE, f"score {os_} → {ns} ({ns - os_:+d})", os_, ns)
    if nv not in _RANK or ov not in _RANK:
        return  # one side was not scanned: comparing its findings would only list absences
    of, nf = old.get("findings") or {}, new.get("findings") or {}
    for fid in sorted(set(of) | set(nf)):
        before = (of.get(fid) or ["", "", False])[0]
        after_rec = nf.get(fid) or ["", "", False]
        after = after_rec[0]
        if after in _BAD and before not in _BAD:
            sev = ALERT if (after == "fail" and after_rec[2]) or fid == OFFSITE_CHECKOUT else NOTICE
            text = "checkout moved off the site" if fid == OFFSITE_CHECKOUT else f"{fid} now {after}"
            yield _item("finding_appeared", sev, f"{text} ({fid}, was {before or 'absent'})", before, after)
        elif before in _BAD and after not in _BAD:
            yield _item("finding_disappeared", NOTICE, f"{fid} no longer {before} (now {after or 'absent'})",
                        before, after)
    oc, nc = old.get("credentials") or {}, new.get("credentials") or {}
    for key in sorted(set(oc) | set(nc)):
        b, a = oc.get(key), nc.get(key)
        if b == a:
            continue
        if a == "counterfeit":
            yield _item("credential_counterfeit", ALERT, f"credential {key} is now counterfeit", b, a)
        elif b == "verified":
            lost = f"credential {key} no longer verifies (now {a or 'absent'})"
            yield _item("credential_lost", ALERT, lost, b, a)
        elif a == "verified":
            yield _item("credential_verified", NOTICE, f"credential {key} now verifies", b, a)
        else:
            yield _item("credential", NOTICE, f"credential {key}: {b or 'absent'} → {a or 'absent'}", b, a)
    if old.get("created") and new.get("created") and old["created"] != new["created"]:
        yield _item("domain_reregistered", ALERT,
                    f"domain re-registered (created {old['created']} → {new['created']}): possible takeover",
                    old["created"], new["created"])
    if old.get("registrar") and new.get("registrar") and old["registrar"] != new["registrar"]:
        yield _item("registrar_changed", ALERT,
                    f"registrar changed ({old['registrar']} → {new['registrar']}): possible takeover",
                    old["registrar"], new["registrar"])
    oce, nce = old.get("cert") or {}, new.get("cert") or {}
    if oce and nce:
        b, a = oce.get("subject_org", ""), nce.get("subject_org", "")
        if b != a:
            sev = ALERT if b and a else NOTICE
            yield _item("cert_org_changed", sev,
                        f"certificate organisation {b or '(none)'} → {a or '(none)'}", b or None, a or None)
        elif oce.get("issuer_org") != nce.get("issuer_org"):
            yield _item("cert_issuer_changed", NOTICE,
                        f"certificate issuer {oce.get('issuer_org') or '(none)'} → "
                        f"{nce.get('issuer_org') or '(none)'}", oce.get("issuer_org"), nce.get("issuer_org"))
    ofd, nfd = old.get("final_domain", ""), new.get("final_domain", "")
    if ofd and nfd and ofd != nfd:
        yield _item("redirect_new", ALERT, f"now lands on another domain: {ofd} → {nfd}", ofd, nfd)
    elif old.get("final_url") != new.get("final_url") and old.get("final_url") and new.get("final_url"):
        yield _item("final_url", NOTICE, f"lands on {new['final_url']} (was {old['final_url']})",
                    old["final_url"], new["final_url"])
    on, nn = old.get("operator_names") or [], new.get("operator_names") or []
    if on != nn and (on or nn):
        sev = ALERT if on and nn and not set(on) & set(nn) else NOTICE
        yield _item("operator_name_changed", sev,
                    f"operator name {', '.join(on) or '(none)'} → {', '.join(nn) or '(none)'}", on, nn)
    oa, na = old.get("operator_address"), new.get("operator_address")
    if oa != na and (oa or na):
        sev = ALERT if oa and na else NOTICE
        yield _item("operator_address_changed", sev, f"operator address {oa or '(none)'} → {na or '(none)'}",
                    oa, na)
    ok_, nk = old.get("content") or {}, new.get("content") or {}
    kinds = sorted(k for k in set(ok_) | set(nk) if ok_.get(k) != nk.get(k))
    if kinds and ok_ and nk:
        yield _item("content_changed", NOTICE, f"text changed on page kinds: {', '.join(kinds)}", None, kinds)
    if old.get("algorithm_version") and old.get("algorithm_version") != new.get("algorithm_version"):
        yield _item("algorithm_changed", NOTICE,
                    f"rules changed between scans (algorithm {old['algorithm_version']} → "
                    f"{new['algorithm_version']})", old["algorithm_version"], new["algorithm_version"])


def compare(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``change`` object for a site: ``old`` is the baseline's facts, ``new`` this run's."""
    if new is None:
        assert old is not None
        return {
            "status": GONE,
            "regression": False,
            "direction": "unknown",
            "baseline_scanned_at": old.get("scanned_at") or None,
            "verdict": {"from": old.get("verdict"), "to": None},
            "score_delta": None,
            "items": [],
            "summary": f"gone from the list (was {old.get('verdict')})",
        }
    if old is None:
        return {
            "status": NEW,
            "regression": False,
            "direction": "unknown",
            "baseline_scanned_at": None,
            "verdict": {"from": None, "to": new.get("verdict")},
            "score_delta": None,
            "items": [],
            "summary": "not in the baseline",
        }
    items = list(_items(old, new))
    os_, ns = old.get("score"), new.get("score")
    alerts = [i for i in items if i["severity"] == ALERT]
    shown = alerts or items
    summary = "; ".join(i["message"] for i in shown[:6]) + (" …" if len(shown) > 6 else "")
    return {
        "status": CHANGED if items else UNCHANGED,
        "regression": bool(alerts),
        "direction": direction(str(old.get("verdict", "")), str(new.get("verdict", ""))),
        "baseline_scanned_at": old.get("scanned_at") or None,
        "verdict": {"from": old.get("verdict"), "to": new.get("verdict")},
        "score_delta": ns - os_ if isinstance(os_, int) and isinstance(ns, int) else None,
        "items": items,
        "summary": summary,
    }


def fails_on_change(change: Mapping[str, Any] | None, mode: str | None) -> bool:
    """``--fail-on-change``: ``worse`` = a regression (alert), ``any`` = changed or gone."""
    if not change or not mode:
        return False
    if mode == "worse":
        return bool(change.get("regression"))
    if mode == "any":
        return change.get("status") in (CHANGED, GONE)
    return False


# --- baseline files ---------------------------------------------------------------------------


class BaselineError(ValueError):
    """A baseline file exists but cannot be read at all."""


def iter_report_file(path: Path) -> Iterator[dict[str, Any]]:
    """Reports from a ``-f jsonl`` file (one per line) or a ``-f json`` file (object or array).

    Lines that are not a report (a torn last line, garbage) are skipped.
    """
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            found = 0
            for line in fh:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if _is_report(obj):
                    found += 1
                    yield obj
            if found:
                return
            fh.seek(0)
            try:
                doc = json.load(fh)  # a pretty-printed -f json document
            except ValueError:
                return
        yield from (d for d in (doc if isinstance(doc, list) else [doc]) if _is_report(d))
    except OSError as exc:
        raise BaselineError(f"cannot read {path}: {exc.strerror or exc}") from None


def _is_report(obj: Any) -> bool:
    return isinstance(obj, dict) and "input" in obj and "verdict" in obj


def load_baseline(path: Path) -> dict[str, dict[str, Any]]:
    """Comparison facts by site from a report file (the last report of a site wins)."""
    out: dict[str, dict[str, Any]] = {}
    for rep in iter_report_file(path):
        facts = facts_of(rep)
        out[facts["site"]] = facts
    return out


def diff_reports(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every site of either side with its change, in the order of ``new`` then the gone ones."""
    rows = [{"site": site, **compare(old.get(site), facts)} for site, facts in new.items()]
    rows += [{"site": site, **compare(facts, None)} for site, facts in old.items() if site not in new]
    return rows


def tally(changes: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for c in changes:
        counts[str(c.get("status"))] = counts.get(str(c.get("status")), 0) + 1
    return counts
