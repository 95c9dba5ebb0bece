"""The fetch stage: the only code that talks to the site. ``fetch_site(target, options) -> Snapshot``."""

from pharmcheck.fetch.crawler import fetch_site

__all__ = ["fetch_site"]
