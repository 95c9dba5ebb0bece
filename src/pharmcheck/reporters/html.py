"""The HTML report: one self-contained file (inline CSS, script, SVG charts and data), no network.

Layout: a summary (verdict chart, score histogram, rules failed most often, languages and
jurisdictions, time, algorithm and rule-pack version), a table of every site (sort, filter
by verdict, search; rendered a page at a time, so 10,000 rows stay quick), a detail panel
per site (verdict, findings with points and evidence, pages, TLS, redirects, credentials),
and, when present, "changes since baseline" and "networks".

Hostile content stays inert:

- the page text is produced by jinja2 with autoescape; the batch summary is JSON in a
  ``<script type="application/json">`` with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped;
- the per-site data is gzip-compressed JSON in base64 (inert by construction; the browser
  inflates it with ``DecompressionStream``), which keeps 1,000 sites under 1.5 MB: one
  stream for the table rows, read on load, and one per :data:`CHUNK` sites for the detail,
  read when a site in it is opened (a 10,000-site report opens in about a second); the
  script writes every value with ``textContent``, never as markup;
- a Content-Security-Policy meta tag allows only the report's own script and stylesheet
  (by SHA-256 hash), images only from ``data:``, and nothing else (no fetch, no frames);
- links to scanned sites are ``http(s)`` only and carry ``rel="noopener noreferrer nofollow"``.

Memory stays flat: each report becomes a compact record that is compressed as it arrives.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pharmcheck import __version__
from pharmcheck.reporters.html_data import Summary, cluster_records, row_record, site_record, txt
from pharmcheck.reporters.html_svg import hbar_chart, histogram

if TYPE_CHECKING:  # pragma: no cover
    from pharmcheck.report import Report
    from pharmcheck.reporters import RunInfo

DEFAULT_TITLE = "pharmcheck report"
CHUNK = 100  # sites per compressed detail block
VERDICTS = ("legitimate", "suspicious", "rogue", "not_pharmacy", "unreachable", "error")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>``, ``<!--``, U+2028/2029."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "".join(_JSON_ESCAPES.get(ch, ch) for ch in text)


def _asset(name: str) -> str:
    return resources.files("pharmcheck.reporters").joinpath("html_assets", name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


class HtmlSink:
    """Collects compact records as reports arrive; writes the page on ``close``."""

    def __init__(self, stream: TextIO, *, title: str = DEFAULT_TITLE, fail_on: str = "rogue",
                 clusters: list[dict[str, Any]] | None = None) -> None:
        self.stream = stream
        self.title = title
        self.fail_on = fail_on
        self.clusters = clusters
        self.summary = Summary()
        self._rows = _Gzip()
        self._detail = _Gzip()
        self._blocks: list[str] = []  # base64 gzip of each full CHUNK of detail records
        self._started = time.monotonic()

    def write(self, report: Report) -> None:
        self._rows.add(row_record(report))
        self._detail.add(site_record(report))
        self.summary.add(report)
        if self.summary.sites % CHUNK == 0:
            self._blocks.append(self._detail.finish())
            self._detail = _Gzip()

    def set_clusters(self, clusters: list[dict[str, Any]] | None) -> None:
        self.clusters = clusters

    def close(self, info: RunInfo | None = None) -> None:
        self._add_gone(info)
        if self._detail.count:
            self._blocks.append(self._detail.finish())
        rows, blocks = self._rows.finish(), self._blocks
        self._blocks = []
        elapsed = info.elapsed_s if info is not None and info.elapsed_s else time.monotonic() - self._started
        interrupted = bool(info.interrupted) if info is not None else False
        self.stream.write(render_page(self.summary, rows, blocks, title=self.title, elapsed_s=elapsed,
                                      clusters=self.clusters, fail_on=self.fail_on, interrupted=interrupted))
        self.stream.flush()


    def _add_gone(self, info: RunInfo | None) -> None:
        """Sites of the baseline this run did not see (issue 13: monitor.ChangeSummary in RunInfo)."""
        from pharmcheck.reporters.html_data import MAX_CHANGES, change_record

        for g in ((info.changes or {}).get("changes") or []) if info is not None else []:
            if isinstance(g, dict) and g.get("status") == "gone":
                self.summary.changes["gone"] += 1
                if len(self.summary.changed) < MAX_CHANGES:
                    rec = change_record({"status": "gone", "verdict": g.get("verdict"),
                                         "summary": g.get("summary"), "regression": False})
                    self.summary.changed.append({"i": txt(g.get("site"), 300), "v": ""} | rec)


class _Gzip:
    """A JSON array compressed as it grows (gzip container, as ``DecompressionStream`` reads it)."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(9, zlib.DEFLATED, 31)
        self._parts: list[bytes] = [self._z.compress(b"[")]
        self.count = 0

    def add(self, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._parts.append(self._z.compress(b"," + text if self.count else text))
        self.count += 1

    def finish(self) -> str:
        self._parts += [self._z.compress(b"]"), self._z.flush()]
        data, self._parts = b"".join(self._parts), []
        return base64.b64encode(data).decode("ascii")


def _counts(counter: Any, n: int = 12) -> list[tuple[str, int]]:
    return [(str(k), int(v)) for k, v in counter.most_common(n)]


def render_page(summary: Summary, rows: str, blocks: list[str], *, title: str, elapsed_s: float,
                clusters: list[dict[str, Any]] | None, fail_on: str, interrupted: bool = False) -> str:
    import jinja2
    from markupsafe import Markup

    verdict_items = [(v, summary.verdicts[v]) for v in VERDICTS if summary.verdicts.get(v)]
    verdict_items += [(v, n) for v, n in sorted(summary.verdicts.items()) if v not in VERDICTS]
    failed = [
        (f"{rid} {summary.rule_names.get(rid, '')}", n) for rid, n in summary.failed_rules.most_common(10)
    ]
    charts = {
        "verdicts": hbar_chart(verdict_items, title="sites per verdict", label_width=110,
                               classes=[f"v-{v}" for v, _n in verdict_items]),
        "scores": histogram(summary.histogram, title="score distribution"),
        "rules": hbar_chart(failed, title="rules failed most often", label_width=300, width=600),
    }
    meta = {
        "title": txt(title, 200),
        "sites": summary.sites,
        "verdicts": dict(summary.verdicts),
        "fail_on": txt(fail_on, 20),
        "elapsed_s": round(elapsed_s, 1),
        "scan_time_s": round(summary.elapsed_ms / 1000, 1),
        "algorithms": _counts(summary.algorithms, 5),
        "versions": _counts(summary.versions, 5),
        "languages": _counts(summary.languages, 20),
        "jurisdictions": _counts(summary.jurisdictions, 20),
        "countries": _counts(summary.countries, 20),
        "rule_names": summary.rule_names,
        "changes": dict(summary.changes),
        "changed": summary.changed,
        "clusters": cluster_records(clusters),
        "first_scan": summary.first_scan,
        "last_scan": summary.last_scan,
        "interrupted": interrupted,
        "generator": f"pharmcheck {__version__}",
        "chunk": CHUNK,
    }
    css = _asset("report.css")
    js = _asset("report.js")
    csp = (
        f"default-src 'none'; script-src {_csp_hash(js)}; style-src {_csp_hash(css)}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_asset("report.html.j2"))
    return template.render(
        title=meta["title"], csp=csp, css=Markup(css),
        js=Markup(js), charts={k: Markup(v) for k, v in charts.items()},
        meta=meta, meta_json=Markup(script_json(meta)), rows=rows, blocks=blocks,
        verdict_names=[v for v, _n in verdict_items],
    )


def reports_from_jsonl(paths: Iterable[Path]) -> Iterator[Report]:
    """Reports read back from jsonl files (``scan -f jsonl``), skipping lines that are not reports."""
    from pharmcheck.report import Report

    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    yield Report.from_dict(json.loads(line))
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue


def write_html(out: TextIO, reports: Iterable[Report], clusters: list[dict[str, Any]] | None = None,
               title: str = DEFAULT_TITLE, *, fail_on: str = "rogue", elapsed_s: float = 0.0) -> int:
    """Write one self-contained HTML report of ``reports`` (and ``clusters``) to ``out``; returns sites."""
    from pharmcheck.reporters import RunInfo

    sink = HtmlSink(out, title=title, fail_on=fail_on, clusters=clusters)
    for report in reports:
        sink.write(report)
    sink.close(RunInfo(fail_on=fail_on, counts=dict(sink.summary.verdicts), elapsed_s=elapsed_s))
    return sink.summary.sites
