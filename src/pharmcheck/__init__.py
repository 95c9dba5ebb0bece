"""pharmcheck: is this online pharmacy legitimate?

The public library API is :func:`scan`; everything the CLI prints comes from the
:class:`~pharmcheck.report.Report` it returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.api import scan, scan_snapshot
    from pharmcheck.report import Report

__all__ = ["Report", "__version__", "scan", "scan_snapshot"]


def __getattr__(name: str) -> Any:
    # Lazy: `pharmcheck --version` must not pay for requests/bs4/lxml imports.
    if name in ("scan", "scan_snapshot"):
        from pharmcheck import api

        return getattr(api, name)
    if name == "Report":
        from pharmcheck.report import Report

        return Report
    raise AttributeError(name)
