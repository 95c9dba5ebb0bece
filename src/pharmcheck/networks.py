"""Affiliate networks: cluster many reports by shared fingerprints, and the PC701 second pass (issue 14).

How two sites are linked (the evidence is kept for every cluster):

- **strong** facts link alone: the same registered domain reached (a doorway and its shop), an
  off-site checkout/order host, an outbound host that receives an affiliate id, an analytics or tag
  id, a messenger handle, a near-identical home-page template (MinHash Jaccard >= ``template_strong``)
  when neither site runs on a known shop platform;
- **medium** facts link only in pairs from two different groups: template (a similar template),
  contact (phone, e-mail), licence (number claimed, registry entry linked;
  never one the site verified at the registry: copycats borrow real pharmacies' numbers),
  operator (certificate organisation), registration (registrar and creation day); a medium fact
  shared by more than ``medium_share`` of a batch (at least ``medium_min_cap`` sites) or by more than
  ``medium_max_sites`` is common (a hotline, a CA's name), not an operator's, and never links;
- **supporting** facts (shared long paragraphs) are shown as evidence but never link: statutory
  texts and regulators' wording are copied by legitimate pharmacies;
- **weak** facts never count: payment giants and hosted checkouts, mainstream affiliate programmes,
  placeholder analytics ids, CDN/hosting certificate organisations (``rules/network.toml``).

Scale: facts are hashed to 64-bit keys in flat arrays, grouped by one sort; template candidates come
from MinHash banding (LSH: ``lsh_bands`` bands of the signature, sites meeting in a band compared);
a union-find joins linked sites. Memory is a few dozen bytes per fact plus 256 bytes per template,
and values (for the evidence) are read back in a second pass over the reports.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

from pharmcheck.knowledge import Knowledge

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.report import Report

ReportSource = Callable[[], Iterable[Mapping[str, Any]]]  # re-iterable: called once per pass

STRONG = "strong"
MEDIUM = "medium"
SUPPORTING = "supporting"  # listed as evidence, never links (statutory texts are copied legitimately)
# kind -> (strength, medium group bit)
KINDS: dict[str, tuple[str, int]] = {
    "domain": (STRONG, 0),
    "checkout_host": (STRONG, 0),
    "affiliate_host": (STRONG, 0),
    "analytics_id": (STRONG, 0),
    "messenger": (STRONG, 0),
    "template": (STRONG, 0),  # near-identical, no platform
    "similar_template": (MEDIUM, 1),
    "boilerplate": (SUPPORTING, 0),
    "phone": (MEDIUM, 2),
    "email": (MEDIUM, 2),
    "licence": (MEDIUM, 4),
    "registry_entry": (MEDIUM, 4),
    "cert_org": (MEDIUM, 8),
    "registration": (MEDIUM, 16),
}
_CODES = {k: i for i, k in enumerate(KINDS)}
_NAMES = list(KINDS)
ROGUE = "rogue"
RULE_ID = "PC701"
MAX_LISTED = 50  # members / evidence entries listed per cluster in a report's section


@dataclass
class Params:
    template_strong: float = 0.90
    template_medium: float = 0.80
    bands: int = 16
    medium_max_sites: int = 200
    medium_share: float = 0.05
    medium_min_cap: int = 10
    weak_checkout: frozenset[str] = frozenset()
    weak_affiliate: frozenset[str] = frozenset()
    weak_analytics: frozenset[str] = frozenset()
    weak_cert_orgs: frozenset[str] = frozenset()
    weak_mailboxes: frozenset[str] = frozenset()

    @classmethod
    def from_kb(cls, kb: Knowledge) -> Params:
        from pharmcheck.checks.textmatch import str_list, subtable

        d = kb.family("network")
        weak = subtable(d, "weak")

        def low(key: str) -> frozenset[str]:
            return frozenset(s.lower() for s in str_list(weak, key))

        return cls(
            template_strong=float(d.get("template_strong", 0.9)),
            template_medium=float(d.get("template_medium", 0.8)),
            bands=int(d.get("lsh_bands", 16)),
            medium_max_sites=int(d.get("medium_max_sites", 200)),
            medium_share=float(d.get("medium_share", 0.05)),
            medium_min_cap=int(d.get("medium_min_cap", 10)),
            weak_checkout=low("checkout_domains"),
            weak_affiliate=low("affiliate_domains"),
            weak_analytics=frozenset(str_list(weak, "analytics_ids")),
            weak_cert_orgs=low("cert_orgs"),
            weak_mailboxes=low("generic_mailboxes"),
        )


def facts(report: Mapping[str, Any], p: Params) -> Iterator[tuple[str, str]]:
    """(kind, value) of every strong or medium fact of one report (weak ones filtered out)."""
    from pharmcheck.urls import registered_domain

    fp = report.get("fingerprints")
    fp = fp if isinstance(fp, Mapping) else {}
    if fp.get("error"):
        fp = {}
    domain = str(fp.get("domain") or report.get("registered_domain") or "")
    if domain:
        yield "domain", domain

    def items(key: str) -> list[str]:
        v = fp.get(key)
        return [str(x) for x in v if x] if isinstance(v, list) else []

    def weak_host(host: str, weak: frozenset[str]) -> bool:
        rd = registered_domain(host)
        return rd in weak or host in weak

    for h in items("checkout_hosts"):
        if not weak_host(h, p.weak_checkout):
            yield "checkout_host", h
    for h in items("affiliate_hosts"):
        if not weak_host(h, p.weak_affiliate) and not weak_host(h, p.weak_checkout):
            yield "affiliate_host", h
    for a in items("analytics_ids"):
        if a.split(":", 1)[-1] not in p.weak_analytics:
            yield "analytics_id", a
    for m in items("messengers"):
        yield "messenger", m
    for b in items("boilerplate"):
        yield "boilerplate", b
    for ph in items("phones"):
        yield "phone", ph
    for e in items("emails"):
        if e not in p.weak_mailboxes:
            yield "email", e
    verified = set(items("verified_credentials"))
    for lic in items("licences"):
        if lic not in verified:
            yield "licence", lic
    for r in items("registry_links"):
        if r not in verified:
            yield "registry_entry", r
    org = fp.get("cert_org")
    if isinstance(org, str) and org.strip() and org.strip().lower() not in p.weak_cert_orgs:
        yield "cert_org", org.strip()
    registrar, created = fp.get("registrar"), fp.get("created")
    if registrar and created:
        yield "registration", f"{registrar} {created}"


def _key(kind: str, value: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{kind}\0{value}".encode(), digest_size=8).digest(), "little")


def _signature(report: Mapping[str, Any]) -> tuple[list[int] | None, bool]:
    fp = report.get("fingerprints")
    if not isinstance(fp, Mapping):
        return None, False
    t = fp.get("template")
    if not isinstance(t, Mapping):
        return None, False
    sig = t.get("minhash")
    platform = bool(t.get("platforms"))
    if isinstance(sig, list) and sig and all(isinstance(x, int) for x in sig):
        return sig, platform
    return None, platform


@dataclass
class Member:
    input: str
    domain: str
    verdict: str
    url: str
    verified: bool  # the verdict rests on a verified registry credential

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "domain": self.domain, "verdict": self.verdict}


@dataclass
class Evidence:
    kind: str
    value: str
    strength: str
    members: list[int] = field(default_factory=list)  # member indices sharing it (within the cluster)

    def to_dict(self, members: list[Member]) -> dict[str, Any]:
        domains = sorted({members[i].domain for i in self.members})
        return {"kind": self.kind, "value": self.value, "strength": self.strength,
                "sites": len(self.members), "domains": domains[:MAX_LISTED]}


@dataclass
class Cluster:
    id: str
    members: list[int]
    evidence: list[Evidence]

    def rogue(self, all_members: list[Member]) -> list[int]:
        return [i for i in self.members if all_members[i].verdict == ROGUE]


@dataclass
class Result:
    members: list[Member]
    clusters: list[Cluster]
    current: int  # members[:current] came from the batch itself, the rest from history

    def by_member(self) -> dict[int, Cluster]:
        return {i: c for c in self.clusters for i in c.members}

    def to_json(self, only_current: bool = False) -> dict[str, Any]:
        """``{"clusters": [...]}``; ``only_current``: the networks with a member from the batch itself."""
        return {"clusters": [
            {"id": c.id, "members": [self.members[i].to_dict() for i in c.members],
             "evidence": [e.to_dict(self.members) for e in c.evidence]}
            for c in self.clusters
            if not only_current or any(i < self.current for i in c.members)]}


class _UnionFind:
    def __init__(self) -> None:
        self.parent: array[int] = array("l")

    def add(self) -> None:
        self.parent.append(len(self.parent))

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if ra > rb:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return True


def cluster(sources: Iterable[ReportSource], kb: Knowledge) -> Result:
    """Cluster the reports of ``sources`` (the first is the batch; later ones, e.g. history, add
    sites not already seen by ``input``). Each source is read twice (facts, then evidence values)."""
    import numpy as np

    p = Params.from_kb(kb)
    sources = list(sources)
    members: list[Member] = []
    seen: set[str] = set()
    keys: array[int] = array("Q")
    owners: array[int] = array("L")
    codes: array[int] = array("B")
    width = int(kb.family("network").get("minhash_perm", 64))
    sigs: array[int] = array("I")  # flat: ``width`` 32-bit values per site with a template
    sig_owner: array[int] = array("L")
    sig_platform = bytearray()
    current = 0
    uf = _UnionFind()
    for n, source in enumerate(sources):
        for rep in source():
            inp = str(rep.get("input", ""))
            if inp in seen:
                continue
            seen.add(inp)
            idx = len(members)
            fp = rep.get("fingerprints")
            fp_domain = (fp.get("start_domain") or fp.get("domain")) if isinstance(fp, Mapping) else None
            domain = str(fp_domain or rep.get("registered_domain") or "")  # a doorway is itself
            members.append(Member(inp, domain, str(rep.get("verdict", "")),
                                  str(rep.get("final_url") or rep.get("url") or inp),
                                  rep.get("basis") == "verified_credential"))
            uf.add()
            for kind, value in facts(rep, p):
                keys.append(_key(kind, value))
                owners.append(idx)
                codes.append(_CODES[kind])
            sig, platform = _signature(rep)
            if sig is not None and len(sig) == width and all(0 <= v < 1 << 32 for v in sig):
                sigs.extend(sig)
                sig_owner.append(idx)
                sig_platform.append(1 if platform else 0)
        if n == 0:
            current = len(members)

    medium_cap = min(p.medium_max_sites, max(p.medium_min_cap, int(p.medium_share * len(members))))
    pair_bits: dict[tuple[int, int], int] = defaultdict(int)
    links: list[tuple[int, int, int, int]] = []  # (code, key-or-anchor, a, b): what linked, for evidence
    # --- shared facts, grouped by one sort over the 64-bit keys
    if keys:
        k = np.frombuffer(keys, dtype=np.uint64)
        o = np.array(owners, dtype=np.uint32)
        c = np.frombuffer(codes, dtype=np.uint8)
        order = np.argsort(k, kind="stable")
        ks, os_, cs = k[order], o[order], c[order]
        bounds = np.flatnonzero(np.diff(ks)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [len(ks)]))
        multi = np.flatnonzero(ends - starts >= 2)
        for j in multi:
            s, e = int(starts[j]), int(ends[j])
            owners_run = sorted(set(os_[s:e].tolist()))
            if len(owners_run) < 2:
                continue
            code = int(cs[s])
            strength, bit = KINDS[_NAMES[code]]
            key = int(ks[s])
            if strength == STRONG:
                first = owners_run[0]
                for other in owners_run[1:]:
                    uf.union(first, other)
                links.append((code, key, -1, -1))
            elif len(owners_run) <= medium_cap:
                if bit:
                    for x in range(len(owners_run)):
                        for y in range(x + 1, len(owners_run)):
                            pair_bits[(owners_run[x], owners_run[y])] |= bit
                links.append((code, key, -1, -1))
    del keys, owners, codes
    # --- templates: MinHash banding (LSH) -> candidate pairs -> estimated Jaccard
    template_pairs: list[tuple[int, int, bool]] = []
    if len(sig_owner) >= 2:
        m = np.frombuffer(sigs, dtype=np.uint32).reshape(len(sig_owner), width)  # no copy
        rows = max(1, width // max(1, p.bands))
        rng = np.random.default_rng(7)
        mult = rng.integers(1, 2**63 - 1, size=rows, dtype=np.uint64) | np.uint64(1)
        checked: set[tuple[int, int]] = set()
        for b in range(width // rows):
            band = m[:, b * rows : (b + 1) * rows].astype(np.uint64)
            with np.errstate(over="ignore"):
                h = (band * mult).sum(axis=1, dtype=np.uint64)
            order = np.argsort(h, kind="stable")
            hs = h[order]
            bounds = np.flatnonzero(np.diff(hs)) + 1
            starts = np.concatenate(([0], bounds))
            ends = np.concatenate((bounds, [len(hs)]))
            for j in np.flatnonzero(ends - starts >= 2):
                group = order[int(starts[j]) : int(ends[j])].tolist()
                anchor = group[0]
                for pos in range(1, len(group)):
                    for other in {anchor, group[pos - 1]}:
                        a, bb = sorted((other, group[pos]))
                        if a == bb or (a, bb) in checked:
                            continue
                        checked.add((a, bb))
                        jac = float(np.count_nonzero(m[a] == m[bb])) / width
                        if jac >= p.template_medium:
                            strong = jac >= p.template_strong and not sig_platform[a] and not sig_platform[bb]
                            template_pairs.append((int(sig_owner[a]), int(sig_owner[bb]), strong))
        del checked, m
    for a, b, strong in template_pairs:
        if strong:
            uf.union(a, b)
        else:
            pair_bits[(min(a, b), max(a, b))] |= KINDS["similar_template"][1]
    for (a, b), bits in pair_bits.items():
        if bin(bits).count("1") >= 2:
            uf.union(a, b)

    # --- clusters: components with at least two distinct domains
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(members)):
        groups[uf.find(i)].append(i)
    comps = {r: g for r, g in groups.items() if len(g) >= 2 and len({members[i].domain for i in g}) >= 2}
    del groups
    root_of = {i: r for r, g in comps.items() for i in g}
    ev: dict[int, dict[tuple[str, str], Evidence]] = defaultdict(dict)
    # template evidence
    for a, b, strong in template_pairs:
        r = root_of.get(a)
        if r is None or root_of.get(b) != r:
            continue
        kind = "template" if strong else "similar_template"
        te = ev[r].setdefault((kind, ""), Evidence(kind, "home-page tag/class skeleton", KINDS[kind][0]))
        for x in (a, b):
            if x not in te.members:
                te.members.append(x)
    # fact evidence: a second pass reads the values of the keys that linked members of a cluster
    wanted = {key for _code, key, _a, _b in links}
    if comps and wanted:
        idx = 0
        seen.clear()
        for source in sources:
            for rep in source():
                inp = str(rep.get("input", ""))
                if inp in seen:
                    continue
                seen.add(inp)
                r = root_of.get(idx)
                if r is not None:
                    for kind, value in facts(rep, p):
                        if _key(kind, value) in wanted:
                            fe = ev[r].setdefault((kind, value), Evidence(kind, value, KINDS[kind][0]))
                            fe.members.append(idx)
                idx += 1
    clusters: list[Cluster] = []
    for r, g in comps.items():
        entries = [e for e in ev[r].values() if len(e.members) >= 2 and e.kind != "boilerplate"]
        paragraphs = [e for e in ev[r].values() if len(e.members) >= 2 and e.kind == "boilerplate"]
        if paragraphs:  # one entry for all shared paragraphs: their hashes are for machines
            sharing = sorted({i for e in paragraphs for i in e.members})
            value = f"{len(paragraphs)} long paragraph(s) in common"
            entries.append(Evidence("boilerplate", value, SUPPORTING, sharing))
        # a medium fact is evidence only where it joins members linked in this cluster
        rank = {STRONG: 0, MEDIUM: 1, SUPPORTING: 2}
        entries.sort(key=lambda e: (rank[e.strength], -len(e.members), _CODES[e.kind], e.value))
        domains = sorted({members[i].domain for i in g})
        cid = "net-" + hashlib.sha1("\n".join(domains).encode()).hexdigest()[:10]
        ordered = sorted(g, key=lambda i: (members[i].verdict != ROGUE, members[i].domain))
        clusters.append(Cluster(cid, ordered, entries))
    clusters.sort(key=lambda c: (-len(c.members), c.id))
    return Result(members, clusters, current)


# --- sources -----------------------------------------------------------------------------------


def jsonl_source(paths: Iterable[Path]) -> ReportSource:
    """Reports from JSON-lines files (a JSON array file works too); bad lines are skipped."""
    files = list(paths)

    def read() -> Iterator[Mapping[str, Any]]:
        for path in files:
            with path.open(encoding="utf-8", errors="replace") as fh:
                head = fh.read(1)
                while head and head.isspace():
                    head = fh.read(1)
                if head == "[":
                    fh.seek(0)
                    try:
                        doc = json.load(fh)
                    except ValueError:
                        continue
                    yield from (d for d in doc if isinstance(d, dict) and "input" in d)
                    continue
                fh.seek(0)
                for line in fh:
                    try:
                        d = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(d, dict) and "input" in d:
                        yield d

    return read


class NetworkError(Exception):
    """A report source cannot be read (one-line message for the CLI)."""


def history_source(db_path: Path) -> ReportSource:
    """The latest report of every site in a history database (issue 13's ``pharmcheck.history``)."""
    try:
        from pharmcheck import history  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        raise NetworkError("this pharmcheck has no history store (pharmcheck.history)") from None
    reader = getattr(history, "iter_latest_reports", None)
    if reader is None:
        raise NetworkError("pharmcheck.history has no iter_latest_reports")

    def read() -> Iterator[Mapping[str, Any]]:
        try:
            yield from reader(db_path)
        except Exception as exc:  # sqlite3 errors, a database of another version …
            raise NetworkError(f"{db_path}: {type(exc).__name__}: {exc}") from None

    return read


def list_source(reports: Iterable[Mapping[str, Any]]) -> ReportSource:
    items = list(reports)
    return lambda: items


# --- the second pass: PC701 --------------------------------------------------------------------


def network_finding(
    report: Report, index: int, result: Result, kb: Knowledge, by: Mapping[int, Cluster] | None = None
) -> bool:
    """Add PC701 to ``report`` (member ``index`` of ``result``) when its cluster has a member judged
    rogue on its own evidence; re-decide the verdict (never towards legitimate, never to rogue).
    Also fills ``report.fingerprints['cluster']``. Returns True when the report changed."""
    from pharmcheck.findings import Evidence as FEvidence
    from pharmcheck.findings import Finding, Outcome, Severity

    c = (by if by is not None else result.by_member()).get(index)
    if c is None:
        return False
    members = result.members
    me = members[index]
    section = {
        "id": c.id,
        "size": len(c.members),
        "members": [members[i].to_dict() for i in c.members[:MAX_LISTED]],
        "evidence": [e.to_dict(members) for e in c.evidence[:MAX_LISTED]],
    }
    fp = dict(report.fingerprints or {})
    fp["cluster"] = section
    report.fingerprints = fp
    rogue = [i for i in c.rogue(members) if i != index]
    if not rogue:
        return True
    shared = [e for e in c.evidence if index in e.members and any(r in e.members for r in rogue)]
    if not shared:
        shared = [e for e in c.evidence if index in e.members]
    said: list[str] = []
    for e in shared:
        if len(said) < 3 and e.value not in " ".join(said):
            said.append(f"{_label(e.kind)} {e.value}".strip())
    what = ", ".join(said) or "fingerprints"
    names = ", ".join(members[i].domain for i in rogue[:10]) + (" …" if len(rogue) > 10 else "")
    message = f"shares {what} with {len(rogue)} site(s) judged rogue ({names})"
    own = report.verdict
    if own == ROGUE:
        outcome, note = Outcome.INFO, "judged rogue on its own evidence; member of a network"
    elif own in ("legitimate", "suspicious") and not me.verified:
        outcome, note = Outcome.FAIL, ""
    else:
        outcome, note = Outcome.INFO, ("the verdict rests on a verified registry credential"
                                       if me.verified else f"verdict {own} kept")
    meta = kb.rule(RULE_ID)
    weights = kb.scoring.get("weights", {}).get(RULE_ID, {})
    points = int(weights.get(str(outcome), 0)) if isinstance(weights, dict) else 0
    finding = Finding(
        id=meta.id, name=meta.name, outcome=outcome, severity=Severity(meta.severity), points=points,
        message=message + (f" ({note})" if note else ""),
        evidence=[FEvidence(members[i].url, f"judged rogue; shares {what}") for i in rogue[:5]],
        data={"cluster": c.id, "size": len(c.members),
              "rogue_members": [members[i].domain for i in rogue[:MAX_LISTED]],
              "shared": [{"kind": e.kind, "value": e.value} for e in shared[:10]]},
    )
    report.findings.append(finding)
    if outcome == Outcome.FAIL:
        sc = kb.scoring
        th = sc.get("thresholds", {})
        legit_at, susp_at = int(th.get("legitimate", 75)), int(th.get("suspicious", 40))
        if report.score is not None:
            report.score = max(susp_at, min(legit_at - 1, report.score + points))
        report.reasons.append(
            f"{RULE_ID} {meta.name}: {message}: {own} -> suspicious (a network finding never makes a site "
            "legitimate or rogue by itself)")
        report.verdict = "suspicious"
    return True


def _label(kind: str) -> str:
    return _LABELS.get(kind, kind)


_LABELS = {
    "domain": "destination domain", "checkout_host": "checkout host", "affiliate_host": "affiliate host",
    "analytics_id": "analytics id", "template": "template", "similar_template": "similar template",
    "boilerplate": "", "registry_entry": "registry entry", "cert_org": "certificate organisation",
}


class SpillSink:
    """A sink that keeps the batch's reports in a temporary JSON-lines file for the network pass."""

    def __init__(self) -> None:
        import tempfile

        self.file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115

    def write(self, report: Report) -> None:
        self.file.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")

    def close(self, info: object) -> None:
        self.file.flush()

    def source(self) -> ReportSource:
        def read() -> Iterator[Mapping[str, Any]]:
            self.file.seek(0)
            for line in self.file:
                yield json.loads(line)

        return read


def replay_with_clusters(
    spill: SpillSink,
    sinks: list[Any],
    kb: Knowledge,
    *,
    fail_on: str,
    prior: Iterable[ReportSource] = (),
    elapsed_s: float = 0.0,
    interrupted: bool = False,
) -> tuple[Counter[str], int, int, Result]:
    """Cluster the spilled batch (plus ``prior`` sources: history, a resumed file), add PC701,
    write every report to ``sinks`` in order and close them. Returns (counts, failing,
    not_scanned, result) recomputed after the network pass."""
    from pharmcheck.report import Report
    from pharmcheck.reporters import NOT_SCANNED, RunInfo, fails

    result = cluster([spill.source(), *prior], kb)
    by = result.by_member()
    counts: Counter[str] = Counter()
    failing = not_scanned = 0
    seen: dict[str, int] = {m.input: i for i, m in enumerate(result.members[: result.current])}
    for d in spill.source()():
        report = Report.from_dict(dict(d))
        idx = seen.get(report.input)
        if idx is not None and idx in by:
            network_finding(report, idx, result, kb, by)
        for sink in sinks:
            sink.write(report)
        counts[report.verdict] += 1
        not_scanned += report.verdict in NOT_SCANNED
        failing += fails(report.verdict, report.suppressed, fail_on)
    info = RunInfo(fail_on=fail_on, counts=dict(counts), elapsed_s=elapsed_s, interrupted=interrupted)
    batch = result.to_json(only_current=True)["clusters"]
    for sink in sinks:
        hook = getattr(sink, "set_clusters", None)  # the HTML report's "networks" section
        if callable(hook):
            hook(batch)
        sink.close(info)
    spill.file.close()
    return counts, failing, not_scanned, result


# --- output of `pharmcheck clusters` -----------------------------------------------------------


def render_clusters(result: Result, fmt: str, out: TextIO, report_files: Iterable[Path] = ()) -> None:
    """``json``: {"clusters": [{"id", "members": [{"input", "domain", "verdict"}], "evidence": [...]}]};
    ``csv``: one row per member; ``text``: one block per cluster; ``html``: the HTML report of the
    ``report_files`` with a networks section."""
    if fmt == "html":
        from pharmcheck.reporters.html import reports_from_jsonl, write_html

        write_html(out, reports_from_jsonl(report_files), result.to_json()["clusters"],
                   title="pharmcheck networks")
        return
    if fmt == "json":
        json.dump(result.to_json(), out, ensure_ascii=False, indent=1)
        out.write("\n")
        return
    if fmt == "csv":
        import csv

        from pharmcheck.safety import csv_cell

        w = csv.writer(out)
        w.writerow(["cluster", "size", "rogue_members", "input", "domain", "verdict", "evidence"])
        for c in result.clusters:
            ev = "; ".join(f"{e.kind}={e.value} ({len(e.members)})" for e in c.evidence[:10])
            rogue = len(c.rogue(result.members))
            for i in c.members:
                m = result.members[i]
                w.writerow([c.id, len(c.members), rogue, csv_cell(m.input), csv_cell(m.domain), m.verdict,
                            csv_cell(ev)])
        return
    from pharmcheck.safety import clean_text

    if not result.clusters:
        out.write(f"no networks among {len(result.members)} sites\n")
        return
    for c in result.clusters:
        rogue = len(c.rogue(result.members))
        out.write(f"{c.id}  {len(c.members)} sites, {rogue} judged rogue\n")
        for e in c.evidence[:8]:
            value = clean_text(f"{_label(e.kind)} {e.value}".strip(), 160)
            out.write(f"  shared ({e.strength}, {len(e.members)} sites): {value}\n")
        for i in c.members:
            m = result.members[i]
            out.write(f"  {m.verdict:<13} {clean_text(m.domain, 80):<40} {clean_text(m.input, 120)}\n")
        out.write("\n")
    out.write(f"{len(result.clusters)} network(s) among {len(result.members)} sites\n")

