"""Labelled sample sites in the farm format (``<site-id>/site.toml`` + ``pages/``).

The same format as the shared evaluation farm, so a corpus written for pharmcheck's own
demo and evaluation can also be run through the farm, and the other way round. Unknown
keys are an error (catches typos); farm-only keys (RDAP dates, faults) are accepted and,
where the demo server does not implement them, ignored.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LABELS = ("legit", "rogue", "not_pharmacy", "infra")
DEFAULT_ACCEPT = {"legit": ["legitimate"], "rogue": ["rogue"], "not_pharmacy": ["not_pharmacy"], "infra": []}
TLS_MODES = ("valid", "expired", "self_signed", "wrong_host", "none")
HTTP_MODES = ("serve", "redirect_https", "none")
_KNOWN = {
    "host", "aliases", "label", "accept", "note", "input", "tls", "http", "hsts", "redirect_to",
    "registered", "expires", "registrar", "rdap", "headers", "robots", "fault", "fault_arg", "routes",
}


class CorpusError(ValueError):
    """A site folder is malformed; the message names the file."""


@dataclass
class SiteSpec:
    site_id: str
    root: Path  # the site folder (holds site.toml and pages/)
    host: str
    label: str
    aliases: list[str] = field(default_factory=list)
    accept: list[str] = field(default_factory=list)
    note: str = ""
    input: str = ""
    tls: str = "valid"
    http: str = "redirect_https"
    hsts: bool = False
    redirect_to: str | None = None
    robots: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)
    fault: str | None = None

    @property
    def hosts(self) -> list[str]:
        return [self.host, *self.aliases]

    @property
    def target(self) -> str:
        return self.input or f"https://{self.host}/"

    @property
    def pages(self) -> Path:
        return self.root / "pages"


def _str_list(value: Any, key: str, where: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CorpusError(f"{where}: {key} must be a list of strings")
    return list(value)


def load_site(folder: Path) -> SiteSpec:
    path = folder / "site.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise CorpusError(f"{path}: unknown keys {', '.join(unknown)}")
    host = data.get("host")
    label = data.get("label")
    if not isinstance(host, str) or not host:
        raise CorpusError(f"{path}: host is required")
    if label not in LABELS:
        raise CorpusError(f"{path}: label must be one of {', '.join(LABELS)}")
    tls = data.get("tls", "valid")
    http = data.get("http", "redirect_https")
    if tls not in TLS_MODES:
        raise CorpusError(f"{path}: tls must be one of {', '.join(TLS_MODES)}")
    if http not in HTTP_MODES:
        raise CorpusError(f"{path}: http must be one of {', '.join(HTTP_MODES)}")
    if tls == "none" and http != "serve":
        raise CorpusError(f"{path}: tls = 'none' requires http = 'serve'")
    routes = data.get("routes", {})
    headers = data.get("headers", {})
    if not isinstance(routes, dict) or not all(isinstance(v, str) for v in routes.values()):
        raise CorpusError(f"{path}: [routes] maps request targets to file names")
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise CorpusError(f"{path}: headers maps names to strings")
    accept = _str_list(data["accept"], "accept", path) if "accept" in data else DEFAULT_ACCEPT[label]
    return SiteSpec(
        site_id=folder.name,
        root=folder,
        host=host.lower(),
        label=label,
        aliases=[a.lower() for a in _str_list(data.get("aliases", []), "aliases", path)],
        accept=[a.lower() for a in accept],
        note=str(data.get("note", "")),
        input=str(data.get("input", "")),
        tls=tls,
        http=http,
        hsts=bool(data.get("hsts", False)),
        redirect_to=data.get("redirect_to"),
        robots=data.get("robots"),
        headers=dict(headers),
        routes=dict(routes),
        fault=data.get("fault"),
    )


def load_corpus(*folders: Path) -> list[SiteSpec]:
    """Every ``<site-id>/site.toml`` under the folders, sorted by site id within each folder."""
    sites: list[SiteSpec] = []
    seen: dict[str, str] = {}
    for folder in folders:
        if not folder.is_dir():
            raise CorpusError(f"{folder}: not a folder")
        for toml in sorted(folder.glob("*/site.toml")):
            site = load_site(toml.parent)
            for h in site.hosts:
                if h in seen:
                    raise CorpusError(f"{toml}: host {h} is already served by {seen[h]}")
                seen[h] = site.site_id
            sites.append(site)
    return sites
