#!/usr/bin/env python3
"""Generate the demo TLS material committed in ``src/pharmcheck/demo/certs/`` (dev-only, needs trustme).

Run once, and again whenever a bundled demo site's host names change::

    .venv/bin/python tools/make_demo_certs.py

The runtime then needs no cryptography library: ``pharmcheck demo`` loads these PEM files with the
stdlib ``ssl`` module. The private keys are demo material, trusted by nothing but the demo itself.
"""

from __future__ import annotations

import datetime
import sys
import tomllib
from pathlib import Path

import trustme

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "src" / "pharmcheck" / "demo"
WRONG_HOST = "default.demo-hosting.test"
NOT_BEFORE = datetime.datetime(2024, 1, 1)
NOT_AFTER = datetime.datetime(2046, 1, 1)  # ~20 years: the demo must keep working
EXPIRED = (datetime.datetime(2020, 1, 1), datetime.datetime(2021, 1, 1))


def demo_hosts(sites: Path) -> list[str]:
    hosts: list[str] = []
    for toml in sorted(sites.glob("*/site.toml")):
        data = tomllib.loads(toml.read_text(encoding="utf-8"))
        for h in [data["host"], *data.get("aliases", [])]:
            if h.lower() not in hosts:
                hosts.append(h.lower())
    return hosts


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="ascii")
    print("wrote", path.relative_to(ROOT))


def main() -> int:
    out = DEMO / "certs"
    out.mkdir(exist_ok=True)
    hosts = demo_hosts(DEMO / "sites")
    ca_name = "pharmcheck demo CA (not trusted anywhere else)"
    other_name = "pharmcheck demo untrusted CA"
    ca = trustme.CA(organization_name=ca_name)
    other = trustme.CA(organization_name=other_name)
    # Leaves carry their CA's name as organisation (like a domain-validated certificate, which names
    # no operator), not trustme's default, which PC603 would read as a stranger operating the site.
    leaves = {
        "valid": ca.issue_cert(*hosts, organization_name=ca_name, not_before=NOT_BEFORE, not_after=NOT_AFTER),
        "expired": ca.issue_cert(*hosts, organization_name=ca_name, not_before=EXPIRED[0],
                                 not_after=EXPIRED[1]),
        "self_signed": other.issue_cert(*hosts, organization_name=other_name, not_before=NOT_BEFORE,
                                        not_after=NOT_AFTER),
        "wrong_host": ca.issue_cert(WRONG_HOST, organization_name=ca_name, not_before=NOT_BEFORE,
                                    not_after=NOT_AFTER),
    }
    write(out / "ca.pem", ca.cert_pem.bytes().decode("ascii"))
    for name, leaf in leaves.items():
        chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
        write(out / f"{name}.pem", leaf.private_key_pem.bytes().decode("ascii") + chain.decode("ascii"))
    write(out / "hosts.txt", "\n".join(hosts) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
