"""The command line: a thin typer layer over the library, the batch engine and the reporters.

Exit codes (DESIGN §4), in order of precedence:

- ``130``/``143``: interrupted by SIGINT/SIGTERM (128 + signal). Every result finished so
  far is written and flushed; ``--resume`` completes the batch.
- ``1``: at least one verdict at or beyond ``--fail-on`` (allowlisted sites never count), or
  a change against the baseline matched by ``--fail-on-change`` (worse: a regression; any).
- ``3``: some target could not be scanned (``unreachable`` or ``error``), none failed.
- ``0``: otherwise.
- ``2``: usage or input error, detected before anything is scanned (bad option, bad target
  on the command line, missing input file, bad allowlist/config/rule pack).

Heavy modules (requests, bs4, lxml, rich tables, tldextract) are imported inside the
commands, so ``pharmcheck --version`` starts fast. Results go to stdout (or ``-o``);
progress, warnings and the summary go to stderr.
"""

from __future__ import annotations

import io
import os
import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from pharmcheck import __version__
from pharmcheck.config import FORMATS, ConfigError, Resolved, resolve

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from pharmcheck.batch import BatchStats
    from pharmcheck.reporters import Sink

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_NOT_SCANNED = 0, 1, 2, 3

app = typer.Typer(
    name="pharmcheck",
    help="Is this online pharmacy legitimate? Crawl a site, apply explainable rules, get a verdict.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _plain_help_types() -> None:
    """Help shows no type for flags (``--offline``, not ``--offline <bool>``, which reads as if
    it took a value) and none for positional targets (not ``<list[str]>``)."""
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:  # pragma: no cover
        return
    orig = getattr(TyperOption, "display_type_rich", None)
    if orig is None or getattr(orig, "_pharmcheck", False):
        return

    def option_type(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else orig(self, ctx)

    def argument_type(self: Any, ctx: Any) -> str | None:
        return None

    option_type._pharmcheck = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = option_type  # type: ignore[method-assign]
    if hasattr(TyperArgument, "display_type_rich"):
        TyperArgument.display_type_rich = argument_type  # type: ignore[method-assign]


_plain_help_types()


class Format(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    markdown = "markdown"
    junit = "junit"
    html = "html"


class FailOn(StrEnum):
    rogue = "rogue"
    suspicious = "suspicious"
    never = "never"


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def die(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """A one-line error on stderr and an exit code, never a traceback."""
    from pharmcheck.safety import clean_text

    sys.stderr.write(f"pharmcheck: error: {clean_text(message, 500)}\n")
    _release_outputs()
    raise typer.Exit(code)


def warn(message: str) -> None:
    from pharmcheck.safety import clean_text

    sys.stderr.write(f"pharmcheck: warning: {clean_text(message, 500)}\n")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"pharmcheck {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Is this online pharmacy legitimate?"""


# --- shared option handling -------------------------------------------------------------------

FormatOpt = Annotated[
    Format | None,
    typer.Option("-f", "--format", help="Output format \\[default: text].", case_sensitive=False),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="Write the -f report here instead of stdout.", dir_okay=False),
]
ReportOpt = Annotated[
    list[str] | None,
    typer.Option("--report", metavar="FORMAT=PATH", help="An extra report file; repeatable."),
]
FailOnOpt = Annotated[
    FailOn | None,
    typer.Option(
        "--fail-on", case_sensitive=False, help="Verdicts that make the exit code 1 \\[default: rogue]."
    ),
]
AllowOpt = Annotated[
    Path | None,
    typer.Option(
        "--allowlist",
        help="Domains to report but never fail on "
        "(TOML \\[\\[allow]] domain/reason, or text lines 'domain reason').",
    ),
]
RulesOpt = Annotated[
    list[Path] | None, typer.Option("--rules", help="Extra rule-pack directory; repeatable.")
]
WorkersOpt = Annotated[
    int | None, typer.Option("--workers", help="Sites in flight at once \\[default: min(32, 8×cpu)].")
]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        metavar="ADDRESS|local[:N]|dask",
        help="Run on a Dask cluster: a scheduler address, local:N worker processes here, "
        "or dask (Dask's scheduler-address). Needs pharmcheck\\[cluster].",
    ),
]
ClustersOpt = Annotated[
    bool,
    typer.Option(
        "--clusters",
        help="Cluster the batch into affiliate networks (shared fingerprints); members of a network with a "
        "site judged rogue get PC701 (results are written when the batch ends).",
    ),
]
QuietOpt = Annotated[bool, typer.Option("-q", "--quiet", help="No progress bar and no summary on stderr.")]
VerboseOpt = Annotated[
    bool, typer.Option("-v", "--verbose", help="Text output: show skipped rules and more evidence.")
]


# --- monitoring options (issue 13): history, baseline, change alerts --------------------------


class FailOnChange(StrEnum):
    worse = "worse"
    any = "any"


HistoryOpt = Annotated[
    Path | None,
    typer.Option("--history", metavar="DB", dir_okay=False,
                 help="Record every result in this SQLite history (env PHARMCHECK_HISTORY)."),
]
HistoryReadOpt = Annotated[
    Path | None,
    typer.Option("--history", metavar="DB", dir_okay=False,
                 help="The history database to read (env PHARMCHECK_HISTORY)."),
]
BaselineOpt = Annotated[
    str | None,
    typer.Option("--baseline", metavar="FILE|history",
                 help="Compare each result with a previous json/jsonl report, or with the history."),
]
FailOnChangeOpt = Annotated[
    FailOnChange | None,
    typer.Option("--fail-on-change", case_sensitive=False,
                 help="Exit 1 on a regression (worse) or on any change against the baseline."),
]
NotifyOpt = Annotated[
    str | None,
    typer.Option("--notify", metavar="URL", help="POST a JSON summary of the changes there after the batch."),
]


def _monitor_usage(history: Path | None, baseline: str | None, fail_on_change: Any) -> None:
    """Usage errors of the monitoring options, found before any output file is opened."""
    if fail_on_change and history is None and baseline is None:
        die("--fail-on-change needs --baseline FILE|history (or --history)")
    if baseline == "history" and history is None:
        die("--baseline history needs --history DB (or PHARMCHECK_HISTORY)")
    if history is not None and history.is_dir():
        die(f"--history: {history} is a directory")


def _monitor(
    sinks: list[Sink], history: Path | None, baseline: str | None, fail_on_change: str | None, command: str
) -> tuple[list[Sink], Any]:
    """Wrap the sinks in a MonitorSink when history or a baseline is asked for (else unchanged)."""
    _monitor_usage(history, baseline, fail_on_change)
    if history is None and baseline is None:
        return sinks, None
    from pharmcheck.changes import BaselineError, load_baseline
    from pharmcheck.history import History, HistoryError
    from pharmcheck.monitor import MonitorSink

    facts: dict[str, dict[str, Any]] | None = None
    if baseline is not None and baseline != "history":
        path = Path(baseline)
        if not path.is_file():
            warn(f"baseline {path} not found: every result is new")
            facts = {}
        else:
            try:
                facts = load_baseline(path)
            except BaselineError as exc:
                warn(f"{exc}: every result is new")
                facts = {}
    store = None
    if history is not None:
        try:
            store = History(history, command=command)
        except HistoryError as exc:
            die(str(exc))
    monitor = MonitorSink(
        sinks, baseline=facts, history=store, baseline_from_history=facts is None,
        fail_on_change=fail_on_change,
    )
    return [monitor], monitor


def _after_monitor(
    monitor: Any, notify_url: str | None, stats: BatchStats, command: str, quiet: bool
) -> bool:
    """The changes summary on stderr and the webhook; True when --fail-on-change matched."""
    if monitor is None or not monitor.compare:
        if notify_url:
            warn("--notify: no baseline to compare with, nothing sent")
        return False
    summary = monitor.summary
    if not quiet:
        c = summary.counts
        sys.stderr.write(
            f"changes: {c['new']} new, {c['unchanged']} unchanged, {c['changed']} changed, {c['gone']} gone;"
            f" {summary.regressions} regressions\n"
        )
        from pharmcheck.safety import clean_text

        for row in summary.listed[:20]:
            mark = "!" if row["regression"] else "~" if row["status"] == "changed" else "-"
            sys.stderr.write(f"  {mark} {clean_text(row['site'], 200)}: {clean_text(row['summary'], 300)}\n")
        if len(summary.listed) > 20:
            sys.stderr.write(f"  … {len(summary.listed) - 20 + summary.more} more (see the reports)\n")
    if notify_url:
        from pharmcheck.monitor import notify, webhook_payload

        error = notify(notify_url, webhook_payload(summary, dict(stats.counts), command))
        if error:
            warn(f"--notify: the webhook was not reached ({error}); results are unaffected")
    return bool(summary.failing > 0)


def _settings(flags: dict[str, Any]) -> Resolved:
    try:
        cfg = resolve(
            {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in flags.items() if v is not None}
        )
    except ConfigError as exc:
        die(str(exc))
    for message in cfg.warnings:
        warn(message)
    return cfg


def _report_specs(fmt: str, output: Path | None, reports: list[str] | None) -> list[tuple[str, Path | None]]:
    specs: list[tuple[str, Path | None]] = [(fmt, output)]
    for spec in reports or []:
        name, sep, path = spec.partition("=")
        name = name.strip().lower()
        if not sep or not path:
            die(f"--report expects FORMAT=PATH, got {spec!r}")
        if name not in FORMATS:
            die(f"--report: unknown format {name!r} (one of {', '.join(FORMATS)})")
        specs.append((name, Path(path)))
    targets = [str(p) for _f, p in specs if p is not None]
    if len(set(targets)) != len(targets):
        die("the same output file is named twice")
    return specs


def _refuse_overlap(specs: list[tuple[str, Path | None]], inputs: list[Path]) -> None:
    """An output that is also an input is refused before anything is opened (issue 11 #6)."""
    from pharmcheck.outputlock import OutputError, refuse_overlap

    try:
        refuse_overlap([p for _f, p in specs if p is not None], inputs)
    except OutputError as exc:
        die(str(exc))


_OUTPUT_LOCKS: list[int] = []  # held until the process exits


def _lock_outputs(specs: list[tuple[str, Path | None]]) -> None:
    """A second run writing the same output file is refused (advisory lock, issue 11 #7)."""
    from pharmcheck.outputlock import OutputError, lock_outputs

    try:
        _OUTPUT_LOCKS.extend(lock_outputs(p for _f, p in specs if p is not None))
    except OutputError as exc:
        die(str(exc))


def _progress_ok(specs: list[tuple[str, Path | None]], quiet: bool) -> bool:
    """A progress bar on stderr, unless the report itself goes to the same terminal on stdout:
    the bar would run into it (panel borders split, CSV lines glued to the bar)."""
    if quiet or not sys.stderr.isatty():
        return False
    to_stdout = any(p is None for _f, p in specs)
    return not (to_stdout and sys.stdout.isatty())


def _release_outputs() -> None:
    from pharmcheck.outputlock import release

    release(_OUTPUT_LOCKS)


def _quiet_stdout() -> None:
    """stdout's reader went away (``| head``): send the rest to /dev/null, without a traceback."""
    import contextlib

    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


class _PipeSafeStdout(io.TextIOBase):
    """stdout for consoles and the demo's sinks: a closed pipe (``| head``) ends the output
    quietly instead of an exception that click would turn into exit 1."""

    broken = False

    def write(self, text: str) -> int:
        if not _PipeSafeStdout.broken:
            try:
                sys.stdout.write(text)
            except BrokenPipeError:
                _PipeSafeStdout.broken = True
                _quiet_stdout()
        return len(text)

    def flush(self) -> None:
        if not _PipeSafeStdout.broken:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                _PipeSafeStdout.broken = True
                _quiet_stdout()

    def isatty(self) -> bool:
        try:
            return sys.stdout.isatty()
        except (ValueError, OSError):
            return False

    def writable(self) -> bool:
        return True


class _PipeSafeSink:
    """A stdout sink that survives a closed pipe: the batch goes on (other outputs, exit code)."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.broken = False

    def write(self, report: Any) -> None:
        if self.broken:
            return
        try:
            self.inner.write(report)
        except BrokenPipeError:
            self.broken = True
            _quiet_stdout()

    def close(self, info: Any) -> None:
        if self.broken:
            return
        try:
            self.inner.close(info)
        except BrokenPipeError:
            self.broken = True
            _quiet_stdout()


def _open_sinks(
    specs: list[tuple[str, Path | None]],
    *,
    fail_on: str,
    single: bool,
    verbose: bool,
    resume_path: Path | None,
) -> tuple[list[Sink], list[IO[str]]]:
    from pharmcheck.reporters import make_sink

    sinks: list[Sink] = []
    files: list[IO[str]] = []
    for fmt, path in specs:
        if path is None:
            color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
            sinks.append(
                _PipeSafeSink(
                    make_sink(fmt, sys.stdout, fail_on=fail_on, single=single, color=color, verbose=verbose)
                )
            )
            continue
        appending = resume_path is not None and path == resume_path
        if resume_path is not None and fmt == "csv" and path.exists() and path.stat().st_size > 0:
            appending = True
        try:
            fh = path.open("a" if appending else "w", encoding="utf-8", newline="")
        except OSError as exc:
            die(f"cannot write {path}: {exc.strerror or exc}")
        files.append(fh)
        if fmt == "csv" and appending:
            from pharmcheck.reporters.csvout import CsvSink

            sinks.append(CsvSink(fh, header=False))
        else:
            sinks.append(make_sink(fmt, fh, fail_on=fail_on, single=single, verbose=verbose))
    return sinks, files


def _load_kb(rules: tuple[Path, ...]) -> Any:
    from pharmcheck.knowledge import RulePackError, knowledge_with

    for d in rules:
        if not d.is_dir():
            die(f"--rules: not a directory: {d}")
    try:
        return knowledge_with(rules)
    except RulePackError as exc:
        die(str(exc))


def _load_allowlist(path: Path | None) -> Any:
    if path is None:
        return None
    from pharmcheck.inputs import InputError, load_allowlist

    try:
        return load_allowlist(path)
    except InputError as exc:
        die(str(exc))


def _write_failed(exc: OSError, files: list[IO[str]], *, resumable: bool) -> NoReturn:
    """Writing results failed (disk full, quota …): one line, exit 2; what was written stays."""
    import contextlib

    for fh in files:
        with contextlib.suppress(OSError, ValueError):
            fh.close()
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    hint = "; results written so far are kept"
    if resumable:
        hint += "; free space and run again with --resume"
    die(f"cannot write results{where}: {exc.strerror or exc}{hint}", EXIT_USAGE)


def _finish(
    stats: BatchStats, quiet: bool, total: int | None, files: list[IO[str]], change_fail: bool = False
) -> NoReturn:
    for fh in files:
        fh.close()
    _release_outputs()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    if stats.interrupted:
        warn(f"interrupted: {stats.done} results written; run again with --resume to finish")
    if not quiet and (sum(stats.counts.values()) > 1 or stats.interrupted):
        console = _stderr()
        try:
            from pharmcheck.reporters.text import render_summary
        except ImportError:  # pragma: no cover
            console.print(dict(stats.counts))
        else:
            render_summary(stats.counts, stats.elapsed_s, console, total)
    code = stats.exit_code()
    if change_fail and code in (EXIT_OK, EXIT_NOT_SCANNED):  # --fail-on-change matched
        code = EXIT_FAIL
    if stats.abandoned:
        # Sites still fetching after the grace period: their threads cannot be killed, and
        # everything finished is already flushed, so leave without waiting for them.
        sys.stderr.flush()
        os._exit(code)
    raise typer.Exit(code)


# --- cluster engine (pharmcheck.cluster_engine; Dask is imported only there) --------------------


def _cluster_spec(value: str) -> Any:
    """None for the local engine; else the parsed ``--cluster`` (flag > env > DASK_SCHEDULER_ADDRESS)."""
    from pharmcheck.cluster_engine import ClusterError, cluster_from_env, parse_cluster

    chosen = cluster_from_env(value)
    if not chosen:
        return None
    try:
        import distributed  # noqa: F401
    except ImportError:
        die("--cluster needs Dask distributed: pip install 'pharmcheck[cluster]'")
    try:
        return parse_cluster(chosen)
    except ClusterError as exc:
        die(str(exc))


def _run_cluster(spec: Any, items: Any, sinks: Any, plan: Any, **kwargs: Any) -> BatchStats:
    from pharmcheck.cluster_engine import ClusterError, run_on_cluster

    try:
        stats: BatchStats = run_on_cluster(spec, items, sinks, plan, **kwargs)
    except ClusterError as exc:
        die(str(exc))
    return stats


# --- resume -----------------------------------------------------------------------------------


def read_previous(path: Path, fail_on: str) -> tuple[Counter[str], Counter[str], int]:
    """Inputs already done in a jsonl file, their verdict counts and failures.

    Every valid line is kept; blank, torn or malformed lines anywhere are skipped and reported
    (see :mod:`pharmcheck.resume`).
    """
    from pharmcheck.resume import read_previous as _read

    try:
        prev = _read(path, fail_on)
    except OSError as exc:
        die(f"cannot read {path} for --resume: {exc.strerror or exc}")
    if prev.bad_lines:
        shown = ", ".join(str(n) for n in prev.bad_lines[:10]) + (" …" if len(prev.bad_lines) > 10 else "")
        warn(f"{path}: skipped {len(prev.bad_lines)} torn or malformed line(s) (line {shown}); "
             "every valid result is kept")
    return prev.done, prev.counts, prev.failing


def _replay_previous(
    resume_path: Path, specs: list[tuple[str, Path | None]], sinks: list[Sink], fresh_csv: set[Path]
) -> None:
    """Reports written whole at the end (junit, markdown, json files, a fresh csv, html anywhere:
    a whole-batch view) cover resumed results too."""
    from pharmcheck.resume import iter_reports

    replay = [
        sink
        for (fmt, path), sink in zip(specs, sinks, strict=True)
        if fmt == "html"
        or (
            path is not None
            and path != resume_path
            and (fmt in ("junit", "markdown", "json") or path in fresh_csv)
        )
    ]
    if not replay:
        return
    for report in iter_reports(resume_path):
        for sink in replay:
            sink.write(report)


def _skip_done(items: Any, done: Counter[str]) -> Any:
    for item in items:
        if done[item.input] > 0:
            done[item.input] -= 1
            continue
        yield item


# --- affiliate networks (issue 14) ------------------------------------------------------------


def _spill(enabled: bool) -> Any:
    if not enabled:
        return None
    from pharmcheck.networks import SpillSink

    return SpillSink()


def _network_pass(
    stats: BatchStats,
    spill: Any,
    sinks: list[Sink],
    kb: Any,
    fail_on: str,
    prior: Counter[str],
    prior_failing: int,
    prior_files: list[Path],
    history: Path | None = None,
) -> None:
    """--clusters: cluster the spilled batch (with earlier results of a resumed file and, with
    --history, the latest report of every site ever scanned), add PC701 and write to the real
    sinks; the counts behind the exit code are those after the network pass."""
    from pharmcheck.networks import NetworkError, history_source, jsonl_source, replay_with_clusters

    sources = [jsonl_source([p]) for p in prior_files if p.exists()]
    if history is not None and Path(history).exists():
        try:
            sources.append(history_source(Path(history)))
        except NetworkError as exc:
            warn(f"--clusters: history not used: {exc}")
    try:
        counts, failing, not_scanned, result = replay_with_clusters(
            spill, sinks, kb, fail_on=fail_on, prior=sources, elapsed_s=stats.elapsed_s,
            interrupted=stats.interrupted is not None,
        )
    except NetworkError as exc:  # raised while clustering, before any result was written
        warn(f"--clusters: {exc}; clustering the batch alone")
        counts, failing, not_scanned, result = replay_with_clusters(
            spill, sinks, kb, fail_on=fail_on, elapsed_s=stats.elapsed_s,
            interrupted=stats.interrupted is not None,
        )
    stats.counts = counts + prior
    stats.failing = failing + prior_failing
    stats.not_scanned = not_scanned + sum(prior.get(v, 0) for v in ("unreachable", "error"))
    networks = [c for c in result.clusters if any(i < result.current for i in c.members)]
    if networks:
        rogue = sum(1 for c in networks if c.rogue(result.members))
        sys.stderr.write(f"pharmcheck: {len(networks)} network(s) found, {rogue} with a site judged rogue\n")


# --- commands ---------------------------------------------------------------------------------


@app.command()
def scan(
    targets: Annotated[
        list[str] | None, typer.Argument(help="URLs or bare domains.", show_default=False)
    ] = None,
    input: Annotated[
        list[str] | None,
        typer.Option(
            "-i", "--input", metavar="FILE|-", help="Targets, one per line ('-' = stdin); repeatable."
        ),
    ] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    report: ReportOpt = None,
    fail_on: FailOnOpt = None,
    max_pages: Annotated[
        int | None, typer.Option("--max-pages", help="Pages per site \\[default: 12].")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds per request \\[default: 10].")
    ] = None,
    deadline: Annotated[
        float | None, typer.Option("--deadline", help="Seconds per site \\[default: 60].")
    ] = None,
    workers: WorkersOpt = None,
    per_host: Annotated[
        int | None, typer.Option("--per-host", help="Sites of one host at once \\[default: 2].")
    ] = None,
    rate_limit: Annotated[
        float | None, typer.Option("--rate-limit", help="Requests/second per host (0: no limit).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip inputs already in the jsonl output; append.")
    ] = False,
    allowlist: AllowOpt = None,
    rules: RulesOpt = None,
    save_snapshot: Annotated[
        Path | None,
        typer.Option(
            "--save-snapshot", metavar="DIR", file_okay=False, help="Save each site's snapshot as JSON there."
        ),
    ] = None,
    offline: Annotated[
        bool | None, typer.Option("--offline", help="No lookups beyond the site itself.", show_default=False)
    ] = None,
    allow_private: Annotated[
        bool | None,
        typer.Option("--allow-private", show_default=False, help="Allow loopback/private addresses."),
    ] = None,
    user_agent: Annotated[str | None, typer.Option("--user-agent", help="User-Agent header.")] = None,
    cluster: ClusterOpt = None,
    warc: Annotated[
        list[Path] | None,
        typer.Option("--warc", metavar="FILE|DIR", help="Judge archived crawls instead (as score --warc)."),
    ] = None,
    history: HistoryOpt = None,
    baseline: BaselineOpt = None,
    fail_on_change: FailOnChangeOpt = None,
    notify: NotifyOpt = None,
    clusters: ClustersOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Scan sites and give each a verdict.

    Exit codes: 0 ok, 1 a verdict at or beyond --fail-on (or a change matched by --fail-on-change),
    2 usage error, 3 some site not scanned.
    """
    cfg = _settings(
        {
            "format": format,
            "fail_on": fail_on,
            "max_pages": max_pages,
            "timeout": timeout,
            "deadline": deadline,
            "workers": workers,
            "per_host": per_host,
            "rate_limit": rate_limit,
            "allowlist": allowlist,
            "rules": tuple(rules) if rules else None,
            "offline": offline,
            "allow_private": allow_private,
            "user_agent": user_agent,
            "cluster": cluster,
            "history": history,
        }
    )
    cluster_spec = _cluster_spec(cfg["cluster"])
    if warc:
        if targets or input:
            die("give targets or --warc, not both")
        # archives are judged offline here; `score --warc --lookups` runs lookups
        _score_warc(warc, cfg, output, report, False, cluster_spec, quiet, verbose)
    from pharmcheck.inputs import InputError, count_targets, iter_inputs, open_inputs
    from pharmcheck.target import TargetError, parse_target

    targets = targets or []
    inputs = input or []
    if not targets and not inputs:
        die("no targets: give URLs or domains, or -i FILE (- for stdin)")
    for t in targets:
        try:
            parse_target(t)
        except TargetError as exc:
            die(f"bad target {t!r}: {exc}")
    specs = _report_specs(cfg["format"], output, report)
    _refuse_overlap(specs, [Path(p) for p in inputs])
    _monitor_usage(cfg["history"], baseline, fail_on_change)
    allow = _load_allowlist(cfg["allowlist"])
    kb = _load_kb(cfg["rules"])
    resume_path: Path | None = None
    if resume:
        resume_path = next((p for f, p in specs if f == "jsonl" and p is not None), None)
        if resume_path is None:
            die("--resume needs a jsonl output file (-f jsonl -o FILE, or --report jsonl=FILE)")
    try:
        sources = open_inputs(inputs)
    except InputError as exc:
        die(str(exc))

    total: int | None = len(targets)
    for p in inputs:
        n = count_targets(p)
        total = None if n is None or total is None else total + n
    items = iter_inputs(targets, sources)
    _lock_outputs(specs)
    done_before: Counter[str] = Counter()
    prior: Counter[str] = Counter()
    prior_failing = 0
    if resume_path is not None:
        done_before, prior, prior_failing = read_previous(resume_path, cfg["fail_on"])
        if total is not None:
            total = max(0, total - sum(done_before.values()))
        items = _skip_done(items, done_before)

    from pharmcheck.options import ScanOptions

    options = ScanOptions(
        max_pages=cfg["max_pages"],
        timeout=cfg["timeout"],
        deadline=cfg["deadline"],
        max_bytes=cfg["max_bytes"],
        allow_private=cfg["allow_private"],
        offline=cfg["offline"],
        rate_limit=cfg["rate_limit"],
        user_agent=cfg["user_agent"],
        rules_dirs=cfg["rules"],
        save_snapshot=save_snapshot,
    )
    single = len(targets) == 1 and not inputs
    # A CSV report that starts empty on --resume gets the resumed results too (one with rows is appended to).
    fresh_csv = {
        p for f, p in specs if f == "csv" and p is not None and (not p.exists() or p.stat().st_size == 0)
    }
    sinks, files = _open_sinks(
        specs, fail_on=cfg["fail_on"], single=single, verbose=verbose, resume_path=resume_path
    )
    if resume_path is not None:
        _replay_previous(resume_path, specs, sinks, fresh_csv)
    change_mode = str(fail_on_change) if fail_on_change else None
    sinks, monitor = _monitor(sinks, cfg["history"], baseline, change_mode, "scan")
    if monitor is not None and resume_path is not None:
        monitor.seen.update(done_before)  # done in the interrupted run: not gone
    from functools import partial

    from pharmcheck.batch import BatchPlan, ProgressView, choose_processes, fetch_snapshot, run_batch

    workers_n = int(cfg["workers"])
    plan = BatchPlan(
        first=partial(fetch_snapshot, options=options),
        rules_dirs=cfg["rules"],
        kb=kb,
        workers=workers_n,
        per_host=1 if cfg["rate_limit"] > 0 else int(cfg["per_host"]),
        processes=choose_processes(workers_n, total),
        fail_on=cfg["fail_on"],
        allowlist=allow,
    )
    progress = ProgressView(total) if _progress_ok(specs, quiet) and not single else None
    spill = _spill(clusters)
    try:
        if cluster_spec is not None:
            stats = _run_cluster(
                cluster_spec, items, [spill] if spill else sinks, plan, total=total, progress=progress,
                prior=prior, prior_failing=prior_failing,
            )
        else:
            stats = run_batch(
                items, [spill] if spill else sinks, plan, total=total, progress=progress, prior=prior,
                prior_failing=prior_failing,
            )
        if spill is not None:
            _network_pass(stats, spill, sinks, kb, cfg["fail_on"], prior, prior_failing,
                          [resume_path] if resume_path is not None else [], cfg.values.get("history"))
    except OSError as exc:
        _write_failed(exc, files, resumable=resume_path is not None)
    if stats.done == 0 and not prior and not stats.interrupted:
        for fh in files:
            fh.close()
        die("no targets in the input")
    change_fail = _after_monitor(monitor, notify, stats, "scan", quiet)
    _finish(stats, quiet, total, files, change_fail)


def _score_warc(
    given: list[Path],
    cfg: Resolved,
    output: Path | None,
    report: list[str] | None,
    lookups: bool,
    cluster_spec: Any,
    quiet: bool,
    verbose: bool,
) -> NoReturn:
    """``score --warc``: one result per registered domain in the archives (pharmcheck.warc)."""
    try:
        from pharmcheck import warc as warcmod
    except ImportError:
        die("--warc needs warcio: pip install 'pharmcheck[warc]'")
    files = warcmod.warc_files(given)
    for f in files:
        if not f.is_file():
            die(f"WARC file not found: {f}")
        try:
            warcmod.check_warc(f)
        except warcmod.WarcError as exc:
            die(str(exc))
    if not files:
        die("no WARC files (*.warc, *.warc.gz) in the folders given")
    from functools import partial

    from pharmcheck.batch import BatchPlan, ProgressView, choose_processes, run_batch
    from pharmcheck.options import ScanOptions

    options = ScanOptions(max_pages=int(cfg["max_pages"]), offline=not lookups, rules_dirs=cfg["rules"])
    specs = _report_specs(cfg["format"], output, report)
    allow = _load_allowlist(cfg["allowlist"])
    kb = _load_kb(cfg["rules"])
    sinks, files_out = _open_sinks(
        specs, fail_on=cfg["fail_on"], single=False, verbose=verbose, resume_path=None
    )
    workers_n = min(int(cfg["workers"]), 2 * (os.cpu_count() or 1))
    plan = BatchPlan(
        first=warcmod.snapshot_from_payload,
        rules_dirs=cfg["rules"],
        kb=kb,
        workers=workers_n,
        processes=choose_processes(workers_n, None),
        fail_on=cfg["fail_on"],
        allowlist=allow,
    )
    progress = ProgressView(None) if sys.stderr.isatty() and not quiet else None
    job = partial(warcmod.job_for_item, options=options)
    items = warcmod.iter_items(files)
    if cluster_spec is not None:  # one task per WARC file: the worker indexes, groups and judges it
        stats = _run_cluster(
            cluster_spec, warcmod.iter_file_items(files), sinks, plan, make_job=warcmod.job_for_file,
            task=partial(warcmod.file_task, options=options, rules_dirs=tuple(cfg["rules"])),
            progress=progress,
        )
    else:
        stats = run_batch(items, sinks, plan, make_job=job, progress=progress)
    if stats.done == 0 and not stats.interrupted:
        for fh in files_out:
            fh.close()
        die("no HTTP response records in the WARC files")
    _finish(stats, quiet, None, files_out)


@app.command()
def score(
    snapshots: Annotated[
        list[Path] | None,
        typer.Argument(help="Snapshot JSON files (or folders of them).", show_default=False),
    ] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    report: ReportOpt = None,
    fail_on: FailOnOpt = None,
    workers: WorkersOpt = None,
    allowlist: AllowOpt = None,
    rules: RulesOpt = None,
    warc: Annotated[
        list[Path] | None,
        typer.Option(
            "--warc", metavar="FILE|DIR", help="Judge archived crawls: WARC files or folders; repeatable."
        ),
    ] = None,
    max_pages: Annotated[
        int | None, typer.Option("--max-pages", help="--warc: pages per site \\[default: 12].")
    ] = None,
    lookups: Annotated[
        bool, typer.Option("--lookups", help="--warc: run registry/RDAP lookups (off by default).")
    ] = False,
    cluster: ClusterOpt = None,
    history: HistoryOpt = None,
    baseline: BaselineOpt = None,
    fail_on_change: FailOnChangeOpt = None,
    notify: NotifyOpt = None,
    clusters: ClustersOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Judge saved snapshots again, offline (no network at all). Same outputs and exit codes as scan.

    With --warc, judge the sites in archived crawls (WARC): one result per registered domain.
    """
    cfg = _settings(
        {
            "format": format,
            "fail_on": fail_on,
            "workers": workers,
            "allowlist": allowlist,
            "rules": tuple(rules) if rules else None,
            "max_pages": max_pages,
            "cluster": cluster,
            "history": history,
        }
    )
    cluster_spec = _cluster_spec(cfg["cluster"])
    if warc:
        if snapshots:
            die("give snapshot files or --warc, not both")
        _score_warc(warc, cfg, output, report, lookups, cluster_spec, quiet, verbose)
    if not snapshots:
        die("no snapshot files given (or --warc FILE)")
    paths: list[Path] = []
    for p in snapshots:
        if p.is_dir():
            paths.extend(sorted(p.glob("*.json")))
        elif p.is_file():
            paths.append(p)
        else:
            die(f"snapshot not found: {p}")
    if not paths:
        die("no snapshot files given")
    specs = _report_specs(cfg["format"], output, report)
    _refuse_overlap(specs, paths)
    _monitor_usage(cfg["history"], baseline, fail_on_change)
    allow = _load_allowlist(cfg["allowlist"])
    kb = _load_kb(cfg["rules"])
    _lock_outputs(specs)
    sinks, files = _open_sinks(
        specs, fail_on=cfg["fail_on"], single=len(paths) == 1, verbose=verbose, resume_path=None
    )
    change_mode = str(fail_on_change) if fail_on_change else None
    sinks, monitor = _monitor(sinks, cfg["history"], baseline, change_mode, "score")
    from pharmcheck.batch import BatchPlan, Job, ProgressView, choose_processes, load_snapshot, run_batch
    from pharmcheck.inputs import InputItem

    def job(item: InputItem) -> Job:
        return Job(
            key=str(Path(item.input).resolve()),
            inputs=[item.input],
            payload=Path(item.input),
            host=None,
            allow_host="",
        )

    workers_n = min(int(cfg["workers"]), 2 * (os.cpu_count() or 1))
    plan = BatchPlan(
        first=load_snapshot,
        rules_dirs=cfg["rules"],
        kb=kb,
        workers=workers_n,
        processes=choose_processes(workers_n, len(paths)),
        fail_on=cfg["fail_on"],
        allowlist=allow,
        echo_input=False,
    )
    progress = ProgressView(len(paths)) if _progress_ok(specs, quiet) and len(paths) > 1 else None
    items = (InputItem(str(p)) for p in paths)
    spill = _spill(clusters)
    try:
        if cluster_spec is not None:
            stats = _run_cluster(
                cluster_spec, items, [spill] if spill else sinks, plan, make_job=job, total=len(paths),
                progress=progress,
            )
        else:
            stats = run_batch(
                items, [spill] if spill else sinks, plan, make_job=job, total=len(paths), progress=progress
            )
        if spill is not None:
            _network_pass(
                stats, spill, sinks, kb, cfg["fail_on"], Counter(), 0, [], cfg.values.get("history")
            )
    except OSError as exc:
        _write_failed(exc, files, resumable=False)
    change_fail = _after_monitor(monitor, notify, stats, "score", quiet)
    _finish(stats, quiet, len(paths), files, change_fail)


class HistoryFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    from datetime import date, datetime

    try:
        return (datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)).isoformat()
    except ValueError:
        die(f"--since expects a date (YYYY-MM-DD) or an ISO time, got {value!r}")


def _print_rows(rows: list[dict[str, Any]], cols: tuple[str, ...], fmt: str) -> None:
    """History rows as JSON, CSV (formula-safe cells) or aligned plain text (fast for 10,000 rows)."""
    import json

    from pharmcheck.safety import clean_text, csv_cell

    out = sys.stdout
    if fmt == "json":
        json.dump(rows, out, ensure_ascii=False, indent=1)
        out.write("\n")
        return
    if fmt == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(cols)
        for r in rows:
            writer.writerow([csv_cell(r.get(c)) for c in cols])
        return
    free = [c in ("site", "summary") for c in cols]  # text from inputs and pages: made printable

    def cell(value: Any, dirty: bool) -> str:
        text = "" if value is None else str(value)
        return clean_text(text, 300) if dirty else text

    cells = [[cell(r.get(c), f) for c, f in zip(cols, free, strict=True)] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(cols[:-1])]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols[:-1], widths, strict=True)) + "  " + cols[-1]]
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
    out.write("\n".join(lines) + "\n")


@app.command("history")
def history_cmd(
    site: Annotated[
        str | None, typer.Argument(help="A site (its input line or registered domain): its timeline.")
    ] = None,
    history: HistoryReadOpt = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE", help="Only scans since then.")
    ] = None,
    format: Annotated[
        HistoryFormat, typer.Option("-f", "--format", case_sensitive=False, help="text, json or csv.")
    ] = HistoryFormat.text,
) -> None:
    """A site's timeline (verdict, score, what changed when), or the latest state of every site."""
    from pharmcheck.history import HistoryError, latest_states, timeline

    cfg = _settings({"history": history})
    db = cfg["history"]
    if db is None:
        die("no history: give --history DB or set PHARMCHECK_HISTORY")
    when = _since(since)
    try:
        rows = timeline(db, site, when) if site else latest_states(db, when)
    except HistoryError as exc:
        die(str(exc))
    if site and not rows:
        die(f"{site!r} is not in the history {db}")
    cols = ("scanned_at", "verdict", "score", "change", "summary") if site else (
        "site", "scanned_at", "verdict", "score", "change", "summary")
    _print_rows(rows, cols, str(format))


@app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="The earlier report file (json or jsonl).", show_default=False)],
    new: Annotated[Path, typer.Argument(help="The later report file (json or jsonl).", show_default=False)],
    format: Annotated[
        HistoryFormat, typer.Option("-f", "--format", case_sensitive=False, help="text, json or csv.")
    ] = HistoryFormat.text,
    fail_on_change: FailOnChangeOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="Text: list unchanged and new sites too.")] = False,
) -> None:
    """Compare two report files without a database: new, unchanged, changed and gone sites.

    Exit codes: 0, or 1 when --fail-on-change matched; 2 when a file cannot be read.
    """
    from pharmcheck.changes import BaselineError, diff_reports, fails_on_change, load_baseline

    loaded = []
    for p in (old, new):
        if not p.is_file():
            die(f"report file not found: {p}")
        try:
            loaded.append(load_baseline(p))
        except BaselineError as exc:
            die(str(exc))
    rows = diff_reports(loaded[0], loaded[1])
    mode = str(fail_on_change) if fail_on_change else None
    failing = sum(fails_on_change(r, mode) for r in rows)
    if str(format) == "json":
        _print_rows(rows, (), "json")
    else:
        shown = rows if show_all or str(format) == "csv" else [
            r for r in rows if r["status"] in ("changed", "gone")]
        flat = [{**r, "from": (r.get("verdict") or {}).get("from"), "to": (r.get("verdict") or {}).get("to"),
                 "regression": "yes" if r.get("regression") else ""} for r in shown]
        cols = ("site", "status", "regression", "from", "to", "score_delta", "summary")
        _print_rows(flat, cols, str(format))
        from pharmcheck.changes import tally

        c = tally(rows)
        sys.stderr.write(f"{c['new']} new, {c['unchanged']} unchanged, {c['changed']} changed, "
                         f"{c['gone']} gone; {sum(bool(r.get('regression')) for r in rows)} regressions\n")
    raise typer.Exit(EXIT_FAIL if failing else EXIT_OK)


class ClusterFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"
    html = "html"


@app.command("clusters")
def clusters_cmd(
    reports: Annotated[
        list[Path],
        typer.Argument(help="Report files (jsonl from scan/score, or a JSON array).", show_default=False),
    ],
    format: Annotated[
        ClusterFormat, typer.Option("-f", "--format", case_sensitive=False, help="Output format.")
    ] = ClusterFormat.text,
    output: OutputOpt = None,
    history: Annotated[
        Path | None,
        typer.Option("--history", metavar="DB", dir_okay=False,
                     help="Also cluster the latest report of every site in this history database."),
    ] = None,
    rules: RulesOpt = None,
) -> None:
    """Affiliate networks: group the reported sites that share strong fingerprints, with the evidence.

    Exit codes: 0 ok (with or without clusters), 2 usage or input error.
    """
    from pharmcheck.networks import NetworkError, cluster, history_source, jsonl_source, render_clusters

    for p in reports:
        if not p.is_file():
            die(f"report file not found: {p}")
    sources = [jsonl_source(reports)]
    if history is not None:
        if not history.is_file():
            die(f"history database not found: {history}")
        try:
            sources.append(history_source(history))
        except NetworkError as exc:
            die(str(exc))
    kb = _load_kb(tuple(rules or ()))
    try:
        result = cluster(sources, kb)
    except (OSError, UnicodeDecodeError, NetworkError) as exc:
        die(f"cannot read reports: {exc}")
    if not result.members:
        die("no reports in the input (expected JSON lines with an 'input' field)")
    try:
        fh = output.open("w", encoding="utf-8", newline="") if output is not None else sys.stdout
    except OSError as exc:
        die(f"cannot write {output}: {exc.strerror or exc}")
    try:
        render_clusters(result, str(format), fh, reports)
    finally:
        if output is not None:
            fh.close()


@app.command()
def rules(
    rules_dir: RulesOpt = None,
) -> None:
    """The rule catalogue: id, name, severity, title and the file each rule comes from."""
    from rich.table import Table
    from rich.text import Text

    from pharmcheck.safety import clean_text

    kb = _load_kb(tuple(rules_dir or ()))
    table = Table(box=None, pad_edge=False, show_edge=False)
    for col in ("id", "name", "severity", "title", "origin"):
        table.add_column(col, overflow="fold")
    for rid in sorted(kb.rules):
        m = kb.rules[rid]
        # Rule packs are input too: no rich markup, no terminal escapes (issue 11 #14).
        cells = (m.id, m.name, m.severity, m.title, Path(m.origin).name)
        table.add_row(*(Text(clean_text(str(c), 2000)) for c in cells))
    _stdout_console().print(table)


@app.command()
def explain(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="A rule ID (e.g. PC402) or its dotted name.")],
    rules_dir: RulesOpt = None,
) -> None:
    """Full documentation of one rule: what it checks, why, what passes and fails, sources, weights."""
    kb = _load_kb(tuple(rules_dir or ()))
    try:
        meta = kb.rule(rule_id.strip().upper() if rule_id.strip().upper() in kb.rules else rule_id.strip())
    except KeyError:
        die(f"unknown rule ID {rule_id!r} (see: pharmcheck rules)")
    from rich.text import Text

    from pharmcheck.safety import clean_text

    console = _stdout_console()
    out = _explain_text(meta, kb)
    console.print(Text(clean_text(out.plain, 100_000), spans=out.spans), end="")


def _explain_text(meta: Any, kb: Any) -> Any:
    from rich.text import Text

    weights = kb.scoring.get("weights", {}).get(meta.id, {})
    from pharmcheck.scoring import legitimate_needs, named_in, rule_outcomes

    outcomes = rule_outcomes(kb, meta.id)
    decisive = bool(outcomes & named_in(kb, "decisive"))
    gate = any(outcomes & names for names in legitimate_needs(kb).values())
    out = Text()
    out.append(f"{meta.id}  {meta.name}\n", style="bold")
    out.append(f"{meta.title}\n")
    out.append(
        f"severity: {meta.severity}   family: {meta.family}   file: {Path(meta.origin).name}\n", style="dim"
    )
    if meta.aliases:
        out.append(f"aliases: {', '.join(meta.aliases)}\n", style="dim")
    for label, body in (
        ("What it checks", meta.summary),
        ("Why it matters", meta.rationale),
        ("Passes", meta.passes),
        ("Fails", meta.fails),
    ):
        if body:
            out.append(f"\n{label}\n", style="bold")
            out.append(body.strip() + "\n")
    out.append("\nWeights (rules/scoring.toml)\n", style="bold")
    if isinstance(weights, dict) and weights:
        for outcome, pts in weights.items():
            out.append(f"  {outcome:<5} {int(pts):+d}\n")
    else:
        out.append("  none: informational only\n")
    if decisive:
        out.append("  decisive: the seller's own failure makes the site rogue whatever else it shows\n")
    if gate:
        out.append("  need: a site is legitimate only when this rule meets its need "
                   "(rules/scoring.toml [outcomes])\n")
    if meta.sources:
        out.append("\nSources\n", style="bold")
        for s in meta.sources:
            out.append(f"  {s}\n")
    return out


@app.command("config")
def config_cmd() -> None:
    """Each setting, its value and where it came from (flag > PHARMCHECK_* env > config file > default)."""
    from rich.table import Table

    from pharmcheck.config import SETTINGS, find_config_file, show

    cfg = _settings({})
    try:
        found = find_config_file(Path.cwd())
    except ConfigError as exc:
        die(str(exc))
    console = _stdout_console()
    where = str(found[0]) if found else "(none: ./pharmcheck.toml or ./pyproject.toml [tool.pharmcheck])"
    from pharmcheck.safety import clean_text as _clean

    console.print(f"config file: {_clean(where)}", markup=False)
    table = Table(box=None, pad_edge=False)
    for col in ("setting", "value", "source", "env", "meaning"):
        table.add_column(col, overflow="fold")
    from rich.text import Text

    from pharmcheck.safety import clean_text

    for s in SETTINGS:
        cells = (s.flag.lstrip("-"), show(cfg[s.name]), cfg.sources[s.name], s.env, s.help)
        table.add_row(*(Text(clean_text(c, 2000)) for c in cells))
    console.print(table)


@app.command()
def demo(
    format: FormatOpt = None,
    max_pages: Annotated[int | None, typer.Option("--max-pages", help="Pages per site.")] = None,
    verbose: VerboseOpt = False,
    report: ReportOpt = None,
) -> None:
    """Serve the bundled sample sites on 127.0.0.1 and scan them (works offline)."""
    from pharmcheck.demo import main_demo

    fmt = str(format or "text")
    # Machine formats on stdout carry nothing else: the summary table goes to stderr then.
    console = _stdout_console() if fmt == "text" else _stderr()
    out: Any = _PipeSafeStdout()
    extra, files = _extra_report_sinks(report, title="pharmcheck demo")
    code = main_demo(console, fmt, max_pages=max_pages, verbose=verbose, out=out, extra_sinks=extra)
    for fh in files:
        fh.close()
    raise typer.Exit(code)


def _extra_report_sinks(reports: list[str] | None, *, title: str) -> tuple[list[Sink], list[IO[str]]]:
    """Sinks for ``--report FORMAT=PATH`` on commands without ``-o`` (demo, eval)."""
    from pharmcheck.reporters import make_sink

    specs = _report_specs("text", None, reports)[1:]
    sinks: list[Sink] = []
    files: list[IO[str]] = []
    for fmt, path in specs:
        assert path is not None
        try:
            fh = path.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            die(f"cannot write {path}: {exc.strerror or exc}")
        files.append(fh)
        sinks.append(make_sink(fmt, fh, fail_on="never", title=title))
    return sinks, files


@app.command("eval")
def eval_cmd(
    corpus: Annotated[list[Path], typer.Argument(help="Labelled corpus folder(s).", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON on stdout.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Sites evaluated at once.")] = None,
    max_pages: Annotated[int | None, typer.Option("--max-pages", help="Pages per site.")] = None,
    max_false_trust: Annotated[
        int,
        typer.Option(
            "--max-false-trust", help="Exit 1 when more rogue sites than this are called legitimate."
        ),
    ] = 0,
    lookups: Annotated[
        bool, typer.Option("--lookups", help="Registry lookups on, answered by the corpus's infra sites.")
    ] = False,
    report: ReportOpt = None,
) -> None:
    """Accuracy on a labelled corpus: confusion matrix and per-site results."""
    from pharmcheck.evaluate import main_eval

    for c in corpus:
        if not c.exists():
            die(f"corpus not found: {c}")
    extra: dict[str, Any] = {} if jobs is None else {"jobs": jobs}
    sinks, files = _extra_report_sinks(report, title="pharmcheck eval: " + ", ".join(c.name for c in corpus))
    code = main_eval(
        corpus,
        _stderr() if json_out else _stdout_console(),
        as_json=json_out,
        out=sys.stdout,
        max_pages=max_pages,
        max_false_trust=max_false_trust,
        lookups=lookups,
        extra_sinks=sinks,
        **extra,
    )
    for fh in files:
        fh.close()
    raise typer.Exit(int(code))


def _stdout_console() -> Console:
    """Tables at terminal width on a terminal; wide (no wrapping of IDs and names) when piped."""
    from rich.console import Console

    from pharmcheck.reporters import output_width

    stdout: Any = _PipeSafeStdout()
    return Console(file=stdout, highlight=False, width=output_width(sys.stdout))


class _Interrupted(BaseException):
    """SIGINT/SIGTERM before the batch installed its own handler (start-up, rule-pack loading)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_SIGNALS_SEEN: list[int] = []  # by _early_interrupt, so the exit code names the signal received


def _early_interrupt(signum: int, frame: object) -> None:
    _SIGNALS_SEEN.append(signum)
    raise _Interrupted(signum)


def interrupt_behind(exc: BaseException) -> _Interrupted | None:
    """The early interrupt an exception wraps, if any: a signal landing while Python runs a class body
    or ``__set_name__`` (an import at start-up) reaches us as ``RuntimeError`` caused by it."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, _Interrupted):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def main() -> None:
    """Console-script entry point.

    Runs the app outside click's standalone mode so that an interrupt at any moment (even in
    the first second, before the batch handles signals itself) ends with the "interrupted"
    message and 130/143, never click's "Aborted!" and exit 1 or a traceback.
    """
    import signal

    aborts, click_errors, exits = _click_exceptions()
    interrupts: tuple[type[BaseException], ...] = (KeyboardInterrupt, *aborts)
    if threading_main():
        signal.signal(signal.SIGINT, _early_interrupt)
        signal.signal(signal.SIGTERM, _early_interrupt)
    code: Any = 0
    try:
        code = app(standalone_mode=False)
    except _Interrupted as exc:
        warn("interrupted")
        code = 128 + exc.signum
    except interrupts:  # our _Interrupted turned into KeyboardInterrupt/Abort on its way up
        warn("interrupted")
        code = 128 + (_SIGNALS_SEEN[-1] if _SIGNALS_SEEN else signal.SIGINT)
    except exits as exc:
        code = getattr(exc, "exit_code", EXIT_USAGE)
        if code == 128 + signal.SIGINT and _SIGNALS_SEEN:  # typer: KeyboardInterrupt -> Exit(130)
            code = 128 + _SIGNALS_SEEN[-1]
    except click_errors as exc:
        shown: Any = exc
        shown.show()
        code = shown.exit_code
    except BrokenPipeError:  # `pharmcheck rules | head`: not an error worth a traceback
        _quiet_stdout()
        code = EXIT_OK
    except Exception as exc:  # only our interrupt, wrapped by Python on its way up
        early = interrupt_behind(exc)
        if early is None:
            raise
        warn("interrupted")
        code = 128 + early.signum
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    sys.exit(code if isinstance(code, int) else 0)


def _click_exceptions() -> tuple[
    tuple[type[BaseException], ...], tuple[type[BaseException], ...], tuple[type[BaseException], ...]
]:
    """(Abort, ClickException, Exit) classes of click and of the click typer vendors (0.29+)."""
    import importlib

    found: dict[str, list[Any]] = {"Abort": [], "ClickException": [], "Exit": []}
    for name in ("typer.exceptions", "typer._click.exceptions", "click.exceptions"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        for attr, seen in found.items():
            cls = getattr(mod, attr, None)
            if isinstance(cls, type) and issubclass(cls, BaseException) and cls not in seen:
                seen.append(cls)
    return tuple(found["Abort"]), tuple(found["ClickException"]), tuple(found["Exit"])


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
