"""Monitoring end to end: the CLI scans local sites twice while they change, with a history and a
baseline; a webhook on a local server receives the summary; parallel and killed batches share one
history without corrupting it or losing a finished result.

Sites, registries and RDAP are served by one local HTTPS server behind the CONNECT proxy of
``test_lookups`` (routed by the Host header), so production code runs unchanged and nothing leaves
127.0.0.1. Each scan gets its own lookup cache: a cached RDAP answer would hide a change.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trustme
from servers import Resp, SiteServer
from test_lookups import IANA, TunnelProxy, entry_page, rdap_domain
from typer.testing import CliRunner

from pharmcheck.cli import app

BIN = [sys.executable, "-m", "pharmcheck"]
DEMO = Path(__file__).resolve().parents[1] / "src" / "pharmcheck" / "demo" / "sites" / "uk-riverside-pharmacy"
GPHC = "www.pharmacyregulation.org"
RDAP = "rdap.example-registry.net"
RIVER = "www.riverside-pharmacy.com"  # legitimate; starts offering medicines without prescription
SEAL = "www.sealed-chemist.com"  # its registry entry stops naming it
TAKEN = "www.taken-over.com"  # its domain is re-registered
STEADY = "www.steady-chemist.com"  # nothing changes
DROPPED = "www.dropped-chemist.com"  # removed from the list before the second scan
HOSTS = (GPHC, RDAP, IANA, RIVER, SEAL, TAKEN, STEADY, DROPPED)
RIVER_ENTRY = "/registers/pharmacy/registrationnumber/1187342"
SEAL_ENTRY = "/registers/pharmacy/registrationnumber/1345678"
OLD_DATE, NEW_DATE = "2009-05-01T00:00:00Z", "2026-02-10T00:00:00Z"
BOOTSTRAP = {"version": "1.0", "services": [[["com"], [f"https://{RDAP}/com/"]]]}


def small_site(name: str, extra: str = "") -> dict[str, Any]:
    page = (f"<html lang='en'><head><title>{name}</title></head><body><h1>{name}</h1>"
            f"<p>Community pharmacy. Prescriptions dispensed by our pharmacists. Paracetamol 500mg £1.99"
            f" <a href='/basket'>Add to basket</a></p>{extra}"
            f"<address>{name} Ltd, 4 Mill Lane, Leeds, LS1 4AB</address></body></html>")
    return {"/": page}


def folder_routes(folder: Path) -> dict[str, Any]:
    routes: dict[str, Any] = {}
    pages = folder / "pages"
    for f in pages.rglob("*"):
        if f.is_file():
            rel = "/" + f.relative_to(pages).as_posix()
            ctype = "text/html; charset=utf-8" if f.suffix == ".html" else "application/octet-stream"
            resp = Resp(f.read_bytes().replace(b"riverside-pharmacy.test", b"riverside-pharmacy.com"),
                        content_type=ctype)
            routes[rel] = resp
            if f.suffix == ".html":
                routes[rel.removesuffix(".html")] = resp
                if f.name == "index.html":
                    routes[rel.removesuffix("index.html") or "/"] = resp
    return routes


class HostServer(SiteServer):
    """Routes by Host header: ``sites[host][path]``."""

    def __init__(self, sites: dict[str, dict[str, Any]], ssl_context: ssl.SSLContext) -> None:
        super().__init__({}, ssl_context=ssl_context)
        self.sites = sites

    def lookup(self, raw_path: str) -> Any:
        return self._dispatch

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        host = (h.headers.get("Host") or "").split(":")[0].lower()
        routes = self.sites.get(host, {})
        path = urlsplit(h.path).path or "/"
        route = routes.get(h.path, routes.get(path))
        if route is None:
            route = Resp("<html><body>not found</body></html>", 404)
        if callable(route):
            route(h)
        else:
            h.send_simple(route if isinstance(route, Resp) else Resp(route))  # type: ignore[attr-defined]


class Hook(ThreadingHTTPServer):
    """A webhook receiver that records the JSON it is sent (the first attempt gets a 503)."""

    daemon_threads = True

    def __init__(self, fail_first: bool = True) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_first = fail_first
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.attempts += 1
                if outer.fail_first and outer.attempts == 1:
                    self.send_response(503)
                else:
                    outer.bodies.append(json.loads(body))
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(("127.0.0.1", 0), H)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@contextlib.contextmanager
def world(tmp: Path) -> Iterator[tuple[dict[str, dict[str, Any]], dict[str, str]]]:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*HOSTS).configure_cert(ctx)
    ca_path = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    sites: dict[str, dict[str, Any]] = {
        IANA: {"/rdap/dns.json": Resp(json.dumps(BOOTSTRAP), content_type="application/json")},
        RDAP: {f"/com/domain/{h.removeprefix('www.')}": rdap_domain(h.removeprefix("www."), OLD_DATE)
               for h in (RIVER, SEAL, TAKEN, STEADY, DROPPED)},
        GPHC: {RIVER_ENTRY: entry_page("Riverside Pharmacy", "riverside-pharmacy.com"),
               SEAL_ENTRY: entry_page("Sealed Chemist", "sealed-chemist.com")},
        RIVER: folder_routes(DEMO),
        SEAL: small_site("Sealed Chemist", f'<footer><a href="https://{GPHC}{SEAL_ENTRY}">'
                                           f'<img alt="GPhC registered pharmacy"></a></footer>'),
        TAKEN: small_site("Taken Chemist"),
        STEADY: small_site("Steady Chemist"),
        DROPPED: small_site("Dropped Chemist"),
    }
    backend = HostServer(sites, ctx).start()
    proxy = TunnelProxy({h: ("127.0.0.1", backend.port) for h in HOSTS})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHARMCHECK_", "HTTP", "NO_PROXY"))}
    env.update(NO_COLOR="1", HTTPS_PROXY=proxy.url, REQUESTS_CA_BUNDLE=str(ca_path))
    try:
        yield sites, env
    finally:
        proxy.stop()
        backend.stop()


def cli(env: dict[str, str], *args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BIN, *args], capture_output=True, text=True, timeout=240,
                          env={**env, "PHARMCHECK_CACHE_DIR": str(cache)})


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.fixture(scope="module")
def two_scans() -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        with world(tmp) as (sites, env):
            db = tmp / "history.db"
            first = tmp / "first.jsonl"
            targets = [f"https://{h}/" for h in (RIVER, SEAL, TAKEN, STEADY, DROPPED)]
            opts = ["--max-pages", "4", "--timeout", "5", "--deadline", "30", "--workers", "2", "-q"]
            r1 = cli(env, "scan", *targets, "-f", "jsonl", "-o", str(first), "--history", str(db), *opts,
                     cache=tmp / "c1")
            # between the scans: the shop turns rogue, a registry entry stops naming its site, a domain
            # is re-registered, and one site leaves the list
            offer = ("<p>Sildenafil 100mg tablets: no prescription needed, order now £19.99 "
                     "<a href='/basket'>Add to basket</a></p>")
            html = sites[RIVER]["/"].body.decode()
            sites[RIVER]["/"] = sites[RIVER]["/index.html"] = html.replace("</h1>", "</h1>" + offer, 1)
            sites[GPHC][SEAL_ENTRY] = entry_page("Sealed Chemist", "")
            sites[RDAP]["/com/domain/taken-over.com"] = rdap_domain("taken-over.com", NEW_DATE)
            hook = Hook()
            second = tmp / "second.jsonl"
            md = tmp / "summary.md"
            junit = tmp / "junit.xml"
            r2 = cli(env, "scan", *targets[:4], "-f", "jsonl", "-o", str(second), "--history", str(db),
                     "--baseline", str(first), "--fail-on-change", "worse", "--fail-on", "never",
                     "--notify", hook.url, "--report", f"markdown={md}", "--report", f"junit={junit}",
                     *opts[:-1], cache=tmp / "c2")  # not -q: the changes summary goes to stderr
            hist_text = cli(env, "history", f"https://{RIVER}/", "--history", str(db), cache=tmp / "c3")
            hist_all = cli(env, "history", "--history", str(db), "-f", "json", cache=tmp / "c3")
            hook.shutdown()
            hook.server_close()
            yield {
                "r1": r1, "r2": r2, "first": lines(first), "second": lines(second), "db": db, "hook": hook,
                "md": md.read_text(encoding="utf-8"), "junit": junit.read_text(encoding="utf-8"),
                "hist_text": hist_text, "hist_all": hist_all, "targets": targets,
            }


def by_host(reports: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {urlsplit(r["input"]).hostname or "": r for r in reports}


def test_first_scan_records_everything(two_scans: dict[str, Any]) -> None:
    assert two_scans["r1"].returncode in (0, 3), two_scans["r1"].stderr
    first = by_host(two_scans["first"])
    assert first[RIVER]["verdict"] == "legitimate", first[RIVER]["reasons"]
    assert first[SEAL]["credentials"][0]["status"] == "verified"
    assert first[TAKEN]["domain"]["created"] == "2009-05-01"
    assert all(r["change"]["status"] == "new" for r in two_scans["first"])  # --history: empty baseline


def test_second_scan_says_what_changed(two_scans: dict[str, Any]) -> None:
    r2 = two_scans["r2"]
    assert r2.returncode == 1, r2.stderr  # --fail-on never, so only --fail-on-change worse can give 1
    second = by_host(two_scans["second"])
    river = second[RIVER]["change"]
    assert second[RIVER]["verdict"] == "rogue"
    assert river["status"] == "changed" and river["direction"] == "worse" and river["regression"]
    assert any(i["kind"] == "finding_appeared" and "PC402" in i["message"] for i in river["items"])
    seal = second[SEAL]["change"]
    assert any(i["kind"] == "credential_lost" for i in seal["items"]) and seal["regression"]
    taken = second[TAKEN]["change"]
    assert any(i["kind"] == "domain_reregistered" for i in taken["items"])
    assert "possible takeover" in taken["summary"]
    steady = second[STEADY]["change"]
    assert steady["status"] == "unchanged" and not steady["regression"] and steady["items"] == []
    assert "changes: 0 new, 1 unchanged, 3 changed, 1 gone" in r2.stderr
    assert "dropped-chemist" in r2.stderr


def test_reports_carry_the_changes(two_scans: dict[str, Any]) -> None:
    md, junit = two_scans["md"], two_scans["junit"]
    assert "### Changes since the baseline" in md and "**regression**" in md and "gone" in md
    assert "possible takeover" in md
    assert "change (regression)" in junit and "dropped-chemist" in junit


def test_webhook_gets_the_summary_after_one_retry(two_scans: dict[str, Any]) -> None:
    hook = two_scans["hook"]
    assert hook.attempts == 2 and len(hook.bodies) == 1
    body = hook.bodies[0]
    assert body["counts"] == {"new": 0, "unchanged": 1, "changed": 3, "gone": 1}
    assert body["regressions"] == 3 and body["failing"] == 3
    gone = [c for c in body["changes"] if c["status"] == "gone"]
    assert [c["site"] for c in gone] == [f"https://{DROPPED}/"]


def test_history_holds_both_runs(two_scans: dict[str, Any]) -> None:
    with contextlib.closing(sqlite3.connect(two_scans["db"])) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM scans").fetchone()[0] == 9
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    text = two_scans["hist_text"]
    assert text.returncode == 0, text.stderr
    assert "legitimate" in text.stdout and "rogue" in text.stdout and "worse" in text.stdout
    rows = json.loads(two_scans["hist_all"].stdout)
    assert len(rows) == 5
    assert {r["site"]: r["verdict"] for r in rows}[f"https://{RIVER}/"] == "rogue"


# --- concurrency and faults ---------------------------------------------------------------------


def slow_page(h: BaseHTTPRequestHandler) -> None:
    time.sleep(0.3)
    h.send_simple(Resp("<html><body><h1>Shop</h1><p>Paracetamol £2</p></body></html>"))  # type: ignore[attr-defined]


def test_parallel_and_killed_batches_share_one_history(tmp_path: Path) -> None:
    server = SiteServer({"/": slow_page}).start()
    try:
        n = 24
        targets = "".join(f"{server.url}/?site={i}\n" for i in range(n))
        (tmp_path / "urls.txt").write_text(targets, encoding="utf-8")
        db = tmp_path / "same.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHARMCHECK_")}
        common = ["scan", "-i", str(tmp_path / "urls.txt"), "-f", "jsonl", "--history", str(db),
                  "--allow-private", "--offline", "--max-pages", "1", "--workers", "2", "-q"]
        outs = [tmp_path / f"run{i}.jsonl" for i in range(3)]
        procs = [subprocess.Popen([*BIN, *common, "-o", str(out)], env=env, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for out in outs]
        victim = procs[2]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(lines_of(outs[2])) < 3:
            time.sleep(0.05)
        os.killpg(victim.pid, signal.SIGKILL)  # the batch and its scoring processes, mid-write
        victim.wait(timeout=30)
        for p in procs[:2]:
            assert p.wait(timeout=240) == 0, p.stderr.read() if p.stderr else ""
        with contextlib.closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            for proc, out in zip(procs, outs, strict=True):
                (run_id,) = conn.execute("SELECT id FROM runs WHERE pid = ?", (proc.pid,)).fetchone()
                sites = [s for (s,) in conn.execute("SELECT site FROM scans WHERE run_id = ?", (run_id,))]
                assert len(sites) == len(set(sites))  # exactly once
                written = {r["input"] for r in lines_of(out)}
                assert written <= set(sites)  # every finished result is in the history
                if proc is not victim:
                    assert len(sites) == n
            assert conn.execute("SELECT count(*) FROM latest").fetchone()[0] == n
    finally:
        server.stop()
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def lines_of(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if raw.endswith("\n"):
            out.append(json.loads(raw))
    return out


# --- the store and the commands, offline (pharmcheck score on saved snapshots) -------------------


def snapshot_file(path: Path, body: str, host: str = "www.offline-chemist.com") -> Path:
    from pharmcheck.snapshot import Page, Snapshot

    url = f"https://{host}/"
    snap = Snapshot(input=host, url=url, final_url=url, registered_domain=host.removeprefix("www."),
                    redirect_chain=[url], fetched_at="2026-03-01T12:00:00Z",
                    pages=[Page(url=url, status=200, kind="home", content_type="text/html", html=body)])
    snap.save(path)
    return path


SHOP = ("<html><body><h1>Offline Chemist</h1><p>Paracetamol 500mg £1.99 <a href='/basket'>Add to basket</a>"
        "</p><p>Prescription medicines are dispensed only against a valid prescription.</p></body></html>")
ROGUE = SHOP.replace("Prescription medicines are dispensed only against a valid prescription.",
                     "Buy Xanax and Oxycodone online, no prescription needed, overnight delivery.")


def test_history_schema_is_versioned_and_checked(tmp_path: Path) -> None:
    from pharmcheck.history import SCHEMA_VERSION, HistoryError, connect

    db = tmp_path / "h.db"
    with contextlib.closing(connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HistoryError, match="newer"):
        connect(db)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    r = CliRunner().invoke(app, ["history", "--history", str(junk)])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "not a pharmcheck history" in r.stderr
    r = CliRunner().invoke(app, ["history", "--history", str(tmp_path / "none.db")])
    assert r.exit_code == 2 and "no history database" in r.stderr


def test_score_with_history_timeline_and_latest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pharmcheck.history import iter_latest_reports

    db = tmp_path / "h.db"
    monkeypatch.setenv("PHARMCHECK_HISTORY", str(db))
    runner = CliRunner()
    snap = snapshot_file(tmp_path / "s.json", SHOP)
    first = runner.invoke(app, ["score", str(snap), "-f", "json", "--fail-on", "never"])
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["change"]["status"] == "new"
    again = runner.invoke(app, ["score", str(snap), "-f", "json", "--fail-on-change", "any"])
    assert again.exit_code == 0 and json.loads(again.stdout)["change"]["status"] == "unchanged"
    snapshot_file(snap, ROGUE)
    worse = runner.invoke(app, ["score", str(snap), "-f", "csv", "--fail-on", "never",
                                "--fail-on-change", "worse"])
    assert worse.exit_code == 1
    row = next(csv_rows(worse.stdout))
    assert row["verdict"] == "rogue" and row["change"].startswith("changed!: verdict ")
    timeline = runner.invoke(app, ["history", "www.offline-chemist.com", "-f", "json"])
    assert timeline.exit_code == 0, timeline.stderr
    rows = json.loads(timeline.stdout)
    assert [r["change"] for r in rows] == ["new", "unchanged", "changed"]
    assert rows[-1]["regression"] and "(worse)" in rows[-1]["summary"]
    assert json.loads(runner.invoke(app, ["history", "offline-chemist.com", "-f", "json"]).stdout) == rows
    assert runner.invoke(app, ["history", "www.offline-chemist.com", "--since", "2027-01-01"]).exit_code == 2
    listing = runner.invoke(app, ["history", "-f", "csv", "--since", "2026-01-01"])
    assert listing.exit_code == 0 and [r["verdict"] for r in csv_rows(listing.stdout)] == ["rogue"]
    assert runner.invoke(app, ["history", "--since", "yesterday"]).exit_code == 2
    latest = list(iter_latest_reports(db))
    assert len(latest) == 1 and latest[0]["verdict"] == "rogue" and latest[0]["change"]["status"] == "changed"


def csv_rows(text: str) -> Iterator[dict[str, str]]:
    import csv
    import io

    yield from csv.DictReader(io.StringIO(text))


def test_baseline_options_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    snap = snapshot_file(tmp_path / "s.json", SHOP)
    r = runner.invoke(app, ["score", str(snap), "--fail-on-change", "worse"])
    assert r.exit_code == 2 and "needs --baseline" in r.stderr
    r = runner.invoke(app, ["score", str(snap), "--baseline", "history"])
    assert r.exit_code == 2 and "--history" in r.stderr
    r = runner.invoke(app, ["score", str(snap), "-f", "jsonl", "--baseline", str(tmp_path / "missing.jsonl"),
                            "--fail-on-change", "any"])
    assert r.exit_code == 0 and "warning" in r.stderr and "every result is new" in r.stderr
    (tmp_path / "base.jsonl").write_text(r.stdout, encoding="utf-8")
    snapshot_file(snap, ROGUE)
    md = tmp_path / "out.md"
    r = runner.invoke(app, ["score", str(snap), "-f", "text", "--baseline", str(tmp_path / "base.jsonl"),
                            "--fail-on", "never", "--report", f"markdown={md}"])
    assert r.exit_code == 0 and "REGRESSION" in r.stdout
    assert "Changes since the baseline" in md.read_text(encoding="utf-8")
    hook = Hook(fail_first=False)
    try:
        # a webhook that is down: a warning, never a failure, results already written
        dead = f"http://127.0.0.1:{refused_port()}/hook"
        r = runner.invoke(app, ["score", str(snap), "-f", "jsonl", "--baseline", str(tmp_path / "base.jsonl"),
                                "--fail-on", "never", "--notify", dead])
        assert r.exit_code == 0 and "webhook was not reached" in r.stderr and r.stdout.count("\n") == 1
        r = runner.invoke(app, ["score", str(snap), "-q", "--baseline", str(tmp_path / "base.jsonl"),
                                "--fail-on", "never", "--notify", hook.url])
        assert r.exit_code == 0 and hook.bodies[0]["counts"]["changed"] == 1
    finally:
        hook.shutdown()
        hook.server_close()


def refused_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_resumed_inputs_are_not_gone(tmp_path: Path) -> None:
    server = SiteServer({"/": SHOP}).start()
    try:
        a, b = f"{server.url}/?a", f"{server.url}/?b"
        (tmp_path / "urls.txt").write_text(f"{a}\n{b}\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHARMCHECK_")}
        fast = ["--allow-private", "--offline", "--max-pages", "1", "--workers", "1", "--fail-on", "never"]
        base = tmp_path / "base.jsonl"
        r = subprocess.run([*BIN, "scan", "-i", str(tmp_path / "urls.txt"), "-f", "jsonl", "-o", str(base),
                            *fast, "-q"], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        out = tmp_path / "out.jsonl"
        out.write_text(base.read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")
        r = subprocess.run([*BIN, "scan", "-i", str(tmp_path / "urls.txt"), "-f", "jsonl", "-o", str(out),
                            "--resume", "--baseline", str(base), "--fail-on-change", "any", *fast],
                           env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert "0 gone" in r.stderr and "1 unchanged" in r.stderr
        assert [x["change"] for x in lines(out)][1]["status"] == "unchanged"
    finally:
        server.stop()


def test_gone_sites_reach_every_report(tmp_path: Path) -> None:
    runner = CliRunner()
    snap = snapshot_file(tmp_path / "s.json", SHOP)
    r = runner.invoke(app, ["score", str(snap), "-f", "jsonl", "--fail-on", "never"])
    gone = json.loads(r.stdout) | {"input": "gone-pharmacy.example"}
    base = tmp_path / "base.jsonl"
    base.write_text(r.stdout + json.dumps(gone) + "\n", encoding="utf-8")
    paths = {fmt: tmp_path / f"out.{fmt}" for fmt in ("html", "markdown", "junit")}
    args = [a for fmt, p in paths.items() for a in ("--report", f"{fmt}={p}")]
    r = runner.invoke(app, ["score", str(snap), "-f", "json", "--baseline", str(base), "--fail-on", "never",
                            "--fail-on-change", "any", *args])
    assert r.exit_code == 1  # a gone site is a change
    assert json.loads(r.stdout)["change"]["status"] == "unchanged"
    for fmt, p in paths.items():
        assert "gone-pharmacy.example" in p.read_text(encoding="utf-8"), fmt
