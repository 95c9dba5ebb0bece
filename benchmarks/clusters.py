"""Affiliate-network clustering at scale: N synthetic fingerprint sets with planted families.

    PYTHONPATH=src python benchmarks/clusters.py [--sites 100000] [--seed 1]

Prints the time to cluster, the peak RSS of the process, and the pairwise recall and precision of
the planted families. The generator is deterministic per seed and regenerates the reports on each
pass (the clustering reads its sources twice), so the reports themselves are never all in memory.

What is planted (each family shares 1-3 kinds of facts; each member carries each with p=0.8, and
at least one):
a checkout host, an analytics id, a template (MinHash signature with ~6% of values changed per
member), and a phone + licence number pair (two medium facts). Noise that must NOT link: 15% of the
sites are shops on one platform theme (near-identical templates, platform marked), hosted checkouts
of payment giants, placeholder analytics ids, one registrar, a statutory paragraph shared by
thousands, and random pairs of unrelated sites sharing a single phone number.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from pharmcheck.knowledge import default_knowledge
from pharmcheck.networks import cluster

PERM = 64


def _sig(rng: random.Random) -> list[int]:
    return [rng.getrandbits(32) for _ in range(PERM)]


def _mutate(base: list[int], rng: random.Random, rate: float) -> list[int]:
    return [rng.getrandbits(32) if rng.random() < rate else v for v in base]


def plan(n: int, seed: int) -> list[int]:
    """Family id per site (-1: no family). About 30% of sites are in families of 2-60."""
    rng = random.Random(seed)
    fam: list[int] = []
    fid = 0
    while len(fam) < n:
        if rng.random() < 0.3 / 15:
            size = min(n - len(fam), rng.choice([2, 3, 4, 5, 8, 12, 20, 30, 60]))
            fam.extend([fid] * size)
            fid += 1
        else:
            fam.append(-1)
    order = list(range(n))
    rng.shuffle(order)  # members of a family are scattered through the batch
    return [fam[i] for i in order]


def reports(n: int, seed: int, families: list[int]) -> Iterator[dict[str, Any]]:
    fam_rng: dict[int, dict[str, Any]] = {}
    theme = _sig(random.Random(seed * 7 + 1))
    for i in range(n):
        rng = random.Random(seed * 1_000_003 + i)
        f = families[i]
        domain = f"site{i}.example"
        fp: dict[str, Any] = {
            "domain": domain, "checkout_hosts": [], "affiliate_hosts": [], "analytics_ids": [],
            "messengers": [], "boilerplate": [f"{rng.getrandbits(64):016x}"], "phones": [], "emails": [],
            "licences": [], "registry_links": [], "verified_credentials": [],
            "registrar": "Example Registrar, Inc.", "created": None, "cert_org": None,
            "template": {"minhash": _sig(rng), "elements": 300, "platforms": []},
        }
        if rng.random() < 0.3:
            fp["checkout_hosts"].append("www.paypal.com")
        if rng.random() < 0.05:
            fp["analytics_ids"].append("gtm:GTM-XXXXXX")
        if rng.random() < 0.3:
            fp["boilerplate"].append("statutory0000000")  # shared by thousands: over medium_max_sites
        if rng.random() < 0.15:  # a shop on the platform's default theme
            fp["template"] = {"minhash": _mutate(theme, rng, 0.08), "elements": 300, "platforms": ["shopify"]}
        if rng.random() < 0.02:  # a phone number shared with one unrelated site (a single medium fact)
            fp["phones"].append(f"+4420{(i // 2) % 10_000_000:07d}")
        else:
            fp["analytics_ids"].append(f"ga4:G-{i:010d}")
        if f >= 0:
            spec = fam_rng.get(f)
            if spec is None:
                frng = random.Random(seed * 31 + f)
                kinds = frng.sample(["checkout", "analytics", "template", "contact"],
                                    frng.choice([1, 2, 2, 3]))
                spec = fam_rng[f] = {"kinds": kinds, "sig": _sig(frng), "f": f}
            carried = [k for k in spec["kinds"] if rng.random() < 0.8] or [rng.choice(spec["kinds"])]
            for kind in carried:
                if kind == "checkout":
                    fp["checkout_hosts"].append(f"secure.orders-{f}.example")
                elif kind == "analytics":
                    fp["analytics_ids"].append(f"gtm:GTM-F{f:06d}")
                elif kind == "template":
                    sig = _mutate(spec["sig"], rng, 0.03)
                    fp["template"] = {"minhash": sig, "elements": 300, "platforms": []}
                else:
                    fp["phones"].append(f"+4413{f:07d}")
                    fp["licences"].append(f"LIC{f:07d}")
        verdict = "rogue" if f >= 0 and rng.random() < 0.5 else "suspicious"
        yield {"input": domain, "registered_domain": domain, "verdict": verdict, "fingerprints": fp}


def pairs(counter: Counter[Any]) -> int:
    return sum(c * (c - 1) // 2 for c in counter.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    n = args.sites
    families = plan(n, args.seed)
    kb = default_knowledge()
    import numpy  # noqa: F401 - imported before the baseline, as the CLI would

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    result = cluster([lambda: reports(n, args.seed, families)], kb)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    index = {m.input: i for i, m in enumerate(result.members)}
    assigned = [-1] * n
    for c_no, c in enumerate(result.clusters):
        for i in c.members:
            assigned[int(result.members[i].input[4:].split(".")[0])] = c_no
    del index
    true_pairs = pairs(Counter(f for f in families if f >= 0))
    found_pairs = pairs(Counter(a for a in assigned if a >= 0))
    both = pairs(Counter((a, f) for a, f in zip(assigned, families, strict=True) if a >= 0 and f >= 0))
    recall = both / true_pairs if true_pairs else 1.0
    precision = both / found_pairs if found_pairs else 1.0
    planted = len({f for f in families if f >= 0})
    in_fam = sum(1 for f in families if f >= 0)
    print(f"sites={n} planted_families={planted} sites_in_families={in_fam} clusters={len(result.clusters)}")
    print(f"time={elapsed:.1f}s ({n / elapsed:,.0f} sites/s; two passes, generating the reports included)")
    print(f"peak_rss={peak / 1024:.0f}MB (before clustering {base / 1024:.0f}MB)")
    print(f"pairwise recall={recall:.3f} precision={precision:.3f} "
          "(members carrying disjoint facts of their family, with no member between, cannot be linked)")


if __name__ == "__main__":
    main()
