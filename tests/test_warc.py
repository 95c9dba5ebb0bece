"""WARC input: the bundled demo sites captured into a WARC (warcio's writer) and judged from it."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("warcio")

from warc_capture import capture_sites

from pharmcheck.demo import SITES_DIR, samples, scan_options, scan_sample
from pharmcheck.demo.corpus import load_corpus
from pharmcheck.demo.server import DemoProxy
from pharmcheck.target import parse_target
from pharmcheck.urls import registered_domain

BIN = [sys.executable, "-m", "pharmcheck"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHARMCHECK_", "DASK_"))}
    return subprocess.run([*BIN, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def demo_warc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The demo sites captured to a WARC, and the live demo's verdict per registered domain."""
    sites = load_corpus(SITES_DIR)
    path = tmp_path_factory.mktemp("warc") / "demo.warc.gz"
    live: dict[str, str] = {}
    pages.clear()
    with DemoProxy(sites) as proxy:
        opts = scan_options(proxy)
        starts = []
        for sample in samples(sites):
            if sample.label == "unreachable":
                continue
            target = parse_target(sample.target)
            starts.append(list(target.candidates))
            report = scan_sample(sample, opts).report
            live[registered_domain(target.host)] = report.verdict
            pages[registered_domain(target.host)] = _paths(p.url for p in report.pages)
        assert capture_sites(starts, path, proxy=proxy.url, ca_file=proxy.ca_file) > len(starts)
    return path, live


pages: dict[str, list[str]] = {}  # the live demo's pages per registered domain (path and query)


def _paths(urls: Any) -> list[str]:
    out = []
    for u in urls:
        p = urlsplit(u)
        out.append(p.path + ("?" + p.query if p.query else ""))
    return sorted(out)


def read_jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_warc_gives_the_live_demo_verdicts(demo_warc: tuple[Path, dict[str, str]]) -> None:
    path, live = demo_warc
    r = run("score", "--warc", str(path), "-f", "jsonl", "--fail-on", "never")
    assert r.returncode == 0, r.stderr[-2000:]
    results = read_jsonl(r.stdout)
    got = {str(x["registered_domain"]): str(x["verdict"]) for x in results}
    assert got == live
    assert len(results) == len(live)  # one result per registered domain
    # the archive's key pages are the ones the live crawler chose
    assert {str(x["registered_domain"]): _paths(p["url"] for p in x["pages"]) for x in results} == pages
    for x in results:
        assert x["tls"]["outcome"] == "unknown_archived"
        assert x["pages"], x["input"]
        pc101 = next(f for f in x["findings"] if f["id"] == "PC101") if x["findings"] else None
        assert pc101 is None or pc101["outcome"] == "skip"


def test_warc_folder_and_bad_files(demo_warc: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    path, live = demo_warc
    folder = tmp_path / "crawl"
    folder.mkdir()
    (folder / "a.warc.gz").write_bytes(path.read_bytes())
    (folder / "notes.txt").write_text("not a warc")
    r = run("score", "--warc", str(folder), "-f", "csv", "--fail-on", "never", "--max-pages", "4")
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(r.stdout.strip().splitlines()) == len(live) + 1  # header + one row per site
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(gzip.compress(b"this is not a WARC record\r\n\r\n"))
    r = run("score", "--warc", str(bad))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "WARC" in r.stderr
    r = run("score", "--warc", str(tmp_path / "missing.warc"))
    assert r.returncode == 2 and "not found" in r.stderr
    r = run("score")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run("scan", "--warc", str(path), "-f", "jsonl", "--fail-on", "never", "-q")  # as score --warc
    assert r.returncode == 0, r.stderr[-2000:]
    assert {json.loads(x)["registered_domain"] for x in r.stdout.splitlines()} == set(live)


def _split_warc(path: Path, folder: Path) -> dict[str, str]:
    """Rewrite ``path`` into two WARC files (warcio's writer), the domains shared out between them.

    Returns domain → file name."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    folder.mkdir()
    where: dict[str, str] = {}
    a, b = folder / "a.warc.gz", folder / "b.warc.gz"
    with path.open("rb") as src, a.open("wb") as fa, b.open("wb") as fb:
        writers = {"a.warc.gz": WARCWriter(fa, gzip=True), "b.warc.gz": WARCWriter(fb, gzip=True)}
        for record in ArchiveIterator(src):
            host = urlsplit(record.rec_headers.get_header("WARC-Target-URI") or "").hostname or ""
            domain = registered_domain(host)
            if domain not in where:
                where[domain] = "a.warc.gz" if len(where) % 2 == 0 else "b.warc.gz"
            writers[where[domain]].write_record(record)
    return where


@pytest.mark.slow
def test_warc_files_are_cluster_tasks(demo_warc: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """--cluster local:2: one task per WARC file (the worker indexes and judges it); same verdicts."""
    pytest.importorskip("distributed")
    import psutil

    path, live = demo_warc
    where = _split_warc(path, tmp_path / "crawl")
    assert set(where.values()) == {"a.warc.gz", "b.warc.gz"}
    out = tmp_path / "cluster.jsonl"
    args = ["score", "--warc", str(tmp_path / "crawl"), "-f", "jsonl", "-o", str(out), "--fail-on", "never"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHARMCHECK_", "DASK_"))}
    proc = subprocess.Popen([*BIN, *args, "--cluster", "local:2", "-q"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    family: set[int] = set()
    while proc.poll() is None:  # every process the run starts (the LocalCluster's workers, nannies)
        try:
            family.update(c.pid for c in psutil.Process(proc.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.2)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {str(x["registered_domain"]): str(x["verdict"]) for x in results} == live
    assert len(results) == len(live)  # one result per registered domain, each judged once
    local = run(*args[:5], "--fail-on", "never")  # the local engine over the same files, to stdout
    assert local.returncode == 0, local.stderr[-2000:]

    def table(rows: list[dict[str, Any]]) -> set[tuple[str, str, Any]]:
        return {(str(x["input"]), str(x["verdict"]), x["score"]) for x in rows}

    assert table(results) == table(read_jsonl(local.stdout))
    assert family  # the cluster ran in worker processes …
    alive = [p for p in family if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive  # … and none is left
