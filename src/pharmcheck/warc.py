"""Judge archived crawls: WARC response records grouped by registered domain into snapshots.

- One pass over each WARC file indexes its ``response`` records (URL → byte offset), grouped by
  registered domain; bodies are read again by offset only when that domain is judged, so memory
  holds an index, never a whole archive.
- Each domain becomes a :class:`~pharmcheck.snapshot.Snapshot` by running the normal crawler
  (:class:`~pharmcheck.fetch.crawler.Crawl`) over the archive instead of the network: the start
  page is the domain's captured home page (https first), redirects recorded in the archive are
  followed, and the key pages are chosen exactly as in a live scan, among the captured pages.
  Nothing is fetched: no DNS, no robots.txt request (the archive's crawler already obeyed it).
- TLS cannot be judged from an archive (the certificate is not recorded): the outcome is
  ``unknown_archived`` and the TLS rules skip. An http→https redirect and an HSTS header that
  were captured still count as page facts.
- Lookups (registries, RDAP) are off unless asked for: an archive is usually judged offline,
  and a registry answers about today, not about the capture date.

warcio reads the files (``pip install 'pharmcheck[warc]'``); it is imported only here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit, urlunsplit

from pharmcheck.fetch.crawler import _ROOT_PATHS, Crawl
from pharmcheck.fetch.session import Deadline, Result, strip_fragment
from pharmcheck.inputs import InputItem
from pharmcheck.options import ScanOptions
from pharmcheck.snapshot import TLS_ARCHIVED, Snapshot, TLSInfo
from pharmcheck.target import Target
from pharmcheck.urls import registered_domain

WARC_SUFFIXES = (".warc", ".warc.gz")
ARCHIVE_NOTE = "judged from an archived capture (WARC): TLS not observable, nothing fetched live"


class WarcError(ValueError):
    """A file that is not a readable WARC."""


def _url_key(url: str) -> str:
    """Exact capture key: scheme, lower-case host, path ('/' when empty) and query."""
    try:
        p = urlsplit(url)
    except ValueError:
        return url
    return urlunsplit((p.scheme.lower(), p.netloc.lower(), p.path or "/", p.query, ""))


@dataclass
class DomainCaptures:
    """The captures of one registered domain in one WARC: URL key → (offset, status)."""

    warc: str
    domain: str
    captures: dict[str, tuple[int, int]] = field(default_factory=dict)
    date: str = ""  # WARC-Date of the first capture

    def start_url(self) -> str | None:
        """The home page a crawler would start from: a root page, https first, then the shortest host."""

        def rank(key: str) -> tuple[int, int, int, str]:
            p = urlsplit(key)
            root = p.path in _ROOT_PATHS and not p.query
            status = self.captures[key][1]
            return (0 if root else 1, 0 if 200 <= status < 400 else 1, 0 if p.scheme == "https" else 1,
                    key)

        if not self.captures:
            return None
        best = min(self.captures, key=rank)
        return best


def warc_files(paths: list[Path]) -> list[Path]:
    """WARC files named or found (sorted) in the folders named."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.name.endswith(WARC_SUFFIXES) and f.is_file()))
        else:
            out.append(p)
    return out


def index_warc(path: Path) -> Iterator[DomainCaptures]:
    """The captures of each registered domain in ``path``, in order of first appearance."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    domains: dict[str, DomainCaptures] = {}
    try:
        with path.open("rb") as fh:
            it = ArchiveIterator(fh)
            for record in it:
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
                try:
                    host = (urlsplit(url).hostname or "").lower()
                except ValueError:
                    continue
                if not host or not url.startswith(("http://", "https://")):
                    continue
                domain = registered_domain(host) or host
                try:
                    status = int(record.http_headers.get_statuscode() or 0)
                except ValueError:
                    status = 0
                entry = domains.get(domain)
                if entry is None:
                    entry = domains[domain] = DomainCaptures(
                        str(path), domain, date=record.rec_headers.get_header("WARC-Date") or ""
                    )
                entry.captures.setdefault(_url_key(url), (it.get_record_offset(), status))
    except ArchiveLoadFailed as exc:
        raise WarcError(f"{path}: not a WARC file ({' '.join(str(exc).split())[:200]})") from None
    except OSError as exc:
        raise WarcError(f"{path}: {exc.strerror or exc}") from None
    yield from domains.values()


class ArchiveRequester:
    """The crawler's Requester, answered from one domain's WARC records instead of the network."""

    def __init__(self, captures: DomainCaptures, options: ScanOptions, fh: BinaryIO) -> None:
        self.options = options
        self.deadline = Deadline(options.deadline)
        self.captures = captures
        self._fh = fh

    def close(self) -> None:
        self._fh.close()

    def has(self, url: str) -> bool:
        return _url_key(url) in self.captures.captures

    def _read(self, offset: int, res: Result, want_body: Callable[[Result], bool], limit: int) -> None:
        from warcio.archiveiterator import ArchiveIterator

        self._fh.seek(offset)
        record = next(iter(ArchiveIterator(self._fh)))
        headers: dict[str, str] = {}
        for name, value in record.http_headers.headers:
            headers[name] = value if name not in headers else headers[name] + ", " + value
        # Header names as requests gives them (case-insensitive lookups in the crawler use these).
        from requests.structures import CaseInsensitiveDict

        res.headers = dict(CaseInsensitiveDict(headers))
        res.status = int(record.http_headers.get_statuscode() or 0)
        if 200 <= res.status < 300 and want_body(res):
            body = record.content_stream().read(limit + 1)
            res.truncated = len(body) > limit
            res.body = body[:limit]

    def get(
        self,
        url: str,
        *,
        check: Callable[[str], str | None],
        insecure: bool = False,
        max_bytes: int | None = None,
        want_body: Callable[[Result], bool] = lambda r: r.maybe_html,
        max_redirects: int | None = None,
    ) -> Result:
        limit = self.options.max_redirects if max_redirects is None else max_redirects
        res = Result(url=url)
        current = url
        seen: set[str] = set()
        for _hop in range(limit + 1):
            res.url = current
            key = _url_key(current)
            if key in seen:
                res.error = f"{url}: redirect loop at {current}"
                return res
            seen.add(key)
            found = self.captures.captures.get(key)
            if found is None:
                res.status, res.headers, res.body = 0, {}, b""
                res.error = f"{current}: not captured in the archive"
                return res
            self._read(found[0], res, want_body, max_bytes or self.options.max_bytes)
            location = res.headers.get("Location") if 300 <= res.status < 400 else None
            if not location:
                return res
            res.redirects.append(current)
            current = strip_fragment(urljoin(current, location))
        res.location = current
        res.error = f"{url}: more than {limit} redirects"
        return res


class _ArchiveCrawl(Crawl):
    """The live crawler's choices over archived pages: only captured URLs are queued, no hop checks."""

    req: ArchiveRequester  # type: ignore[assignment]

    def check(self, url: str) -> str | None:
        return None

    def _push(self, url: str, kind: str) -> None:
        if self.req.has(url):
            super()._push(url, kind)


def snapshot_from_captures(captures: DomainCaptures, options: ScanOptions) -> Snapshot:
    """One domain's snapshot, built from its archived pages as the crawler would choose them."""
    from pharmcheck.fetch.discovery import load_keywords
    from pharmcheck.target import parse_target

    start = captures.start_url() or f"https://{captures.domain}/"
    host = (urlsplit(start).hostname or captures.domain).lower()
    try:
        target = parse_target(start)
    except ValueError:
        target = Target(input=start, candidates=(start,), host=host)
    opts = ScanOptions(**{**options.__dict__, "respect_robots": False})
    with Path(captures.warc).open("rb") as fh:
        requester = ArchiveRequester(captures, opts, fh)
        keywords = load_keywords(tuple(opts.rules_dirs))
        snap = _ArchiveCrawl(target, opts, requester, keywords).run()  # type: ignore[arg-type]
    live = snap.tls
    snap.tls = TLSInfo(
        outcome=TLS_ARCHIVED,
        host=live.host or host,
        detail="the certificate is not recorded in an archive",
        http_redirects_to_https=live.http_redirects_to_https,
        hsts=live.hsts,
    )
    snap.input = start
    if captures.date:
        snap.fetched_at = captures.date
    snap.errors.append(ARCHIVE_NOTE)
    return snap


def snapshot_from_payload(payload: tuple[DomainCaptures, ScanOptions]) -> Snapshot:
    """Batch stage (picklable for processes and the cluster): captures + options → snapshot (+ lookups)."""
    captures, options = payload
    snap = snapshot_from_captures(captures, options)
    from pharmcheck.lookups import run_lookups

    run_lookups(snap, options)  # offline unless --lookups: records that lookups are off
    if options.save_snapshot is not None:
        from pharmcheck.api import save_snapshot

        save_snapshot(snap, options.save_snapshot)
    return snap


@dataclass(frozen=True)
class WarcItem(InputItem):
    """A batch input item for one domain of one WARC (``input`` is its start URL)."""

    captures: DomainCaptures | None = None


def check_warc(path: Path) -> None:
    """Raise WarcError unless ``path`` opens as a WARC (its first record is read)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        with path.open("rb") as fh:
            next(iter(ArchiveIterator(fh)), None)
    except ArchiveLoadFailed as exc:
        raise WarcError(f"{path}: not a WARC file ({' '.join(str(exc).split())[:200]})") from None
    except OSError as exc:
        raise WarcError(f"{path}: {exc.strerror or exc}") from None


def iter_items(paths: list[Path]) -> Iterator[InputItem]:
    """One item per registered domain per WARC file; a file that breaks midway gives an error item."""
    for path in paths:
        try:
            for captures in index_warc(path):
                start = captures.start_url() or captures.domain
                yield WarcItem(start, captures=captures)
        except WarcError as exc:
            yield InputItem(str(path), error=str(exc))


def job_for_item(item: InputItem, options: ScanOptions) -> Any:
    """The batch job for a WarcItem: the payload is its captures and the options (small, picklable)."""
    from pharmcheck.batch import Job

    assert isinstance(item, WarcItem) and item.captures is not None
    c = item.captures
    return Job(
        key=(c.warc, c.domain), inputs=[item.input], payload=(c, options), host=None, allow_host=c.domain
    )


# --- with --cluster: one WARC file is one task -----------------------------------------------------


def file_reports(path: Path, options: ScanOptions, kb: Any) -> list[tuple[str, dict[str, Any]]]:
    """Judge every registered domain of one WARC file: ``(domain, report dict)`` per domain.

    Indexing, grouping, snapshots and judging all happen here (on a worker with ``--cluster``);
    only the small report dicts travel back. A domain split across two files is judged per file.
    A file that breaks while it is indexed gives one ``error`` result named after the file."""
    from pharmcheck.api import scan_snapshot
    from pharmcheck.report import error_report

    out: list[tuple[str, dict[str, Any]]] = []
    try:
        domains = list(index_warc(path))
    except WarcError as exc:
        return [("", error_report(str(path), str(exc)).to_dict())]
    for captures in domains:
        start = captures.start_url() or captures.domain
        try:
            report = replace(scan_snapshot(snapshot_from_payload((captures, options)), kb), input=start)
        except Exception as exc:  # one domain's failure is that domain's error result, as locally
            report = error_report(start, f"internal error while scanning: {type(exc).__name__}: {exc}"[:500])
        out.append((captures.domain, report.to_dict()))
    return out


def file_task(
    path: str, options: ScanOptions, rules_dirs: tuple[Path, ...]
) -> list[tuple[str, dict[str, Any]]]:
    """The cluster task for one WARC file (the rule pack loaded once per worker process)."""
    from pharmcheck.cluster_engine import _worker_kb

    return file_reports(Path(path), options, _worker_kb(rules_dirs))


def iter_file_items(paths: list[Path]) -> Iterator[InputItem]:
    """One item per WARC file (``--cluster``): the file is the unit of work; the worker indexes it."""
    for path in paths:
        yield InputItem(str(path))


def job_for_file(item: InputItem) -> Any:
    """The batch job for one WARC file; its task returns one report per registered domain."""
    from pharmcheck.batch import Job

    return Job(
        key=("warc-file", item.input), inputs=[item.input], payload=item.input, host=None, allow_host=""
    )
