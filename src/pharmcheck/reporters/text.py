"""Human output: a verdict panel and a findings table with evidence.

Everything that came from a scanned page (messages quote page text, excerpts, URLs)
is passed to rich as ``Text`` after :func:`pharmcheck.safety.clean_text`, so neither
rich markup (``[link=…]``) nor terminal control sequences from a hostile page reach
the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from pharmcheck.report import Report
from pharmcheck.safety import clean_text
from pharmcheck.target import redact

VERDICT_STYLE = {
    "legitimate": "bold green",
    "suspicious": "bold yellow",
    "rogue": "bold red",
    "not_pharmacy": "bold blue",
    "unreachable": "bold magenta",
    "error": "bold magenta",
}
OUTCOME_STYLE = {
    "pass": "green", "fail": "red", "warn": "yellow", "info": "cyan", "skip": "dim", "error": "magenta",
}
CREDENTIAL_STYLE = {"verified": "bold green", "unverified": "yellow", "counterfeit": "bold red"}
OUTCOME_ORDER = {"fail": 0, "warn": 1, "error": 2, "pass": 3, "info": 4, "skip": 5}


def safe(text: object, max_len: int = 2000) -> Text:
    return Text(clean_text("" if text is None else str(text), max_len))


def render_report(report: Report, console: Console, verbose: bool = False) -> None:
    """Print one site's verdict panel and findings table."""
    style = VERDICT_STYLE.get(report.verdict, "bold")
    head = Text()
    head.append(report.verdict.upper().replace("_", " "), style=style)
    if report.score is not None:
        head.append(f"   score {report.score}/100")
    if report.suppressed:
        head.append("   (allowlisted: ")
        head.append_text(safe(report.suppressed, 200))
        head.append(")")
    lines: list[Text] = [head]
    site = Text("site: ")
    site.append_text(safe(redact(report.final_url or report.url or report.input), 4000))
    if report.final_url and report.url and report.final_url.rstrip("/") != report.url.rstrip("/"):
        site.append("  (from ")
        site.append_text(safe(redact(report.url), 4000))
        site.append(")")
    lines.append(site)
    if report.verdict not in ("unreachable", "error"):
        basis = "a verified credential" if report.basis == "verified_credential" else "page signals alone"
        lines.append(Text(f"pages read: {len(report.pages)}   basis: {basis}   "
                          f"algorithm {report.algorithm_version}   {report.elapsed_ms} ms", style="dim"))
    for cred in report.credentials[:4]:
        status = str(cred.get("status", ""))
        line = Text(f"credential: {status} ", style=CREDENTIAL_STYLE.get(status, ""))
        what = cred.get("registry_name") or cred.get("registry") or cred.get("kind") or ""
        ref = cred.get("number") or cred.get("url") or ""
        line.append_text(safe(f"{what} {ref}".strip(), 200))
        lines.append(line)
    dom = report.domain or {}
    if dom.get("age_days") is not None:
        lines.append(safe(f"domain: {dom.get('registered_domain', '')} registered {dom.get('created', '')} "
                          f"({dom['age_days']} days ago) by {dom.get('registrar') or 'unknown registrar'}"
                          + (", registrant hidden" if dom.get("registrant_redacted") else ""), 300))
    change = report.change or {}
    if change.get("status"):  # monitoring: against the baseline
        mark = "changed (REGRESSION)" if change.get("regression") else str(change["status"])
        lines.append(Text("change: ", style="bold magenta" if change.get("regression") else "")
                     + safe(f"{mark}: {change.get('summary', '')}", 500))
    for reason in report.reasons[:3]:
        lines.append(safe("• " + reason, 400))
    for err in report.errors[:3]:
        lines.append(Text("! ", style="magenta") + safe(err, 300))
    console.print(Panel(Group(*lines), title=safe(report.input, 200), title_align="left",
                        border_style=style.replace("bold ", "")))
    if not report.findings:
        return
    table = Table(box=box.SIMPLE_HEAD, show_lines=False, expand=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("pts", justify="right", no_wrap=True)
    table.add_column("finding and evidence", ratio=1, overflow="fold")  # a URL wraps, never cut
    findings = sorted(
        report.findings,
        key=lambda f: (not f.decisive, OUTCOME_ORDER.get(str(f.outcome), 9), -abs(f.points), f.id),
    )
    for f in findings:
        if str(f.outcome) == "skip" and not verbose:
            continue
        body = safe(f.message, 500)
        if f.decisive:
            body = Text("DECISIVE ", style="bold red") + body
        for ev in f.evidence[: (3 if verbose else 1)]:
            body.append("\n")
            body.append_text(Text(clean_text(redact(ev.url), 4000), style="dim underline"))  # never cut
            if ev.excerpt:
                body.append("\n  “")
                body.append_text(Text(clean_text(ev.excerpt, 260), style="italic"))
                body.append("”")
        rule = Text(f.id) + Text("\n" + f.name, style="dim")
        table.add_row(rule, Text(str(f.outcome), style=OUTCOME_STYLE.get(str(f.outcome), "")),
                      Text(f"{f.points:+d}" if f.points else "0"), body)
    console.print(table)


def render_summary(
    counts: Mapping[str, int], elapsed_s: float, console: Console, total: int | None = None
) -> None:
    """The end-of-batch table: how many sites got each verdict."""
    table = Table(title="pharmcheck summary", box=box.SIMPLE_HEAD)
    table.add_column("verdict")
    table.add_column("sites", justify="right")
    order = ["legitimate", "suspicious", "rogue", "not_pharmacy", "unreachable", "error"]
    keys = order + sorted(k for k in counts if k not in order)
    for k in keys:
        if counts.get(k):
            table.add_row(Text(k, style=VERDICT_STYLE.get(k, "")), str(counts[k]))
    done = sum(counts.values())
    table.add_row(Text("total", style="bold"), str(done if total is None else f"{done}/{total}"))
    console.print(table)
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    console.print(Text(f"elapsed {elapsed_s:.1f}s  ({rate:.2f} sites/s)", style="dim"))
