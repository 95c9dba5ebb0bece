"""The evaluation command: metrics on a small labelled corpus served by the demo proxy."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from pharmcheck.demo.corpus import load_corpus
from pharmcheck.evaluate import Result, deciding_finding, main_eval, metrics
from pharmcheck.findings import Finding, Outcome
from pharmcheck.report import Report

ROOT = Path(__file__).resolve().parent.parent


def _report(verdict: str, findings: list[Finding] | None = None) -> Report:
    return Report(input="x", url="", final_url="", verdict=verdict, score=50, findings=findings or [])


def _finding(fid: str, points: int, outcome: Outcome = Outcome.FAIL, decisive: bool = False) -> Finding:
    f = Finding(id=fid, name="n", outcome=outcome, message=f"msg {fid}")
    f.points = points
    f.decisive = decisive
    return f


def _corpus(tmp_path: Path) -> Path:
    for name, label in (("a", "legit"), ("b", "rogue"), ("c", "not_pharmacy"), ("d", "rogue")):
        (tmp_path / name / "pages").mkdir(parents=True)
        (tmp_path / name / "site.toml").write_text(f'host = "www.{name}-site.test"\nlabel = "{label}"\n')
        (tmp_path / name / "pages" / "index.html").write_text("<p>hello</p>")
    return tmp_path


def test_metrics_and_false_trust(tmp_path: Path) -> None:
    sites = {s.site_id: s for s in load_corpus(_corpus(tmp_path))}
    results = [
        Result(sites["a"], _report("legitimate"), 0.1),
        Result(sites["b"], _report("legitimate", [_finding("PC301", 10, Outcome.PASS),
                                                  _finding("PC201", 15, Outcome.PASS)]), 0.1),
        Result(sites["c"], _report("not_pharmacy"), 0.1),
        Result(sites["d"], _report("suspicious", [_finding("PC201", -20),
                                                  _finding("PC101", 5, Outcome.PASS)]), 0.1),
    ]
    m = metrics(results)
    assert m["false_trust"] == 1
    assert m["confusion"]["rogue"]["legitimate"] == 1
    assert m["confusion"]["rogue"]["suspicious"] == 1
    assert (m["rogue_recall"], m["rogue_caught"], m["legit_accept"], m["np_acc"]) == (0.0, 0.5, 1.0, 1.0)
    misses = {x["site"]: x for x in m["misses"]}
    assert set(misses) == {"b", "d"}
    assert misses["b"]["false_trust"] and misses["b"]["finding"]["id"] == "PC201"  # largest positive
    assert misses["d"]["finding"]["id"] == "PC101"  # what kept a rogue site above the rogue threshold


def test_deciding_finding_prefers_decisive() -> None:
    report = _report("rogue", [_finding("PC201", -20), _finding("PC402", -100, decisive=True)])
    f = deciding_finding(report, "legit")
    assert f is not None and f.id == "PC402"


def test_main_eval_json(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    rc = main_eval([_corpus(tmp_path)], Console(file=err, width=120), as_json=True, out=out, jobs=2)
    data = json.loads(out.getvalue())
    assert data["sites"] == 4
    assert {r["site"] for r in data["results"]} == {"a", "b", "c", "d"}
    assert all(r["requests"] >= 1 for r in data["results"])
    assert rc == (1 if data["false_trust"] else 0)
    assert "false_trust=" in err.getvalue()


def test_main_eval_bad_corpus(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "site.toml").write_text('host = "a.test"\nlabel = "maybe"\n')
    assert main_eval([tmp_path], Console(file=io.StringIO())) == 2


def test_module_entry_point_on_bundled_samples() -> None:
    proc = subprocess.run([sys.executable, "-m", "pharmcheck.evaluate", "--json",
                           str(ROOT / "src" / "pharmcheck" / "demo" / "sites")],
                          capture_output=True, text=True, timeout=300, check=False)
    data = json.loads(proc.stdout)
    assert data["sites"] >= 6
    assert data["false_trust"] == 0, data["misses"]
    assert proc.returncode == 0


def _lookup_subset(tmp_path: Path) -> Path:
    """One verified site, one site borrowing its registry entry, and the stand-in GPhC register."""
    import shutil

    corpus = tmp_path / "corpus"
    for name in ("uk-verified-gphc", "uk-rogue-borrowed-gphc-entry", "infra-gphc-register"):
        shutil.copytree(ROOT / "corpus" / name, corpus / name)
    return corpus


def test_eval_with_lookups_verifies_and_catches_counterfeit(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from pharmcheck.evaluate import run

    user_cache = tmp_path / "user-cache"
    monkeypatch.setenv("PHARMCHECK_CACHE_DIR", str(user_cache))
    results, _wall = run([_lookup_subset(tmp_path)], jobs=2, lookups=True)
    by_id = {r.site.site_id: r.report for r in results}
    assert set(by_id) == {"uk-verified-gphc", "uk-rogue-borrowed-gphc-entry"}  # infra is served, not scored
    verified = by_id["uk-verified-gphc"]
    assert verified.verdict == "legitimate" and verified.basis == "verified_credential"
    pc310 = next(f for f in verified.findings if f.id == "PC310")
    assert str(pc310.outcome) == "pass"
    fake = by_id["uk-rogue-borrowed-gphc-entry"]
    assert fake.verdict == "rogue"
    assert any(f.id == "PC311" and f.decisive for f in fake.findings)
    # the stand-in registry answers went to a temporary cache, never to the user's
    assert os.environ["PHARMCHECK_CACHE_DIR"] == str(user_cache)
    assert not user_cache.exists()


def test_eval_without_lookups_leaves_credentials_unverified(tmp_path: Path) -> None:
    out = io.StringIO()
    rc = main_eval([_lookup_subset(tmp_path)], Console(file=io.StringIO(), width=120), as_json=True, out=out,
                   jobs=2)
    data = json.loads(out.getvalue())
    assert data["lookups"] is False and rc == 0
    verdicts = {r["site"]: r["verdict"] for r in data["results"]}
    assert verdicts["uk-verified-gphc"] == "legitimate"  # on page signals alone
    assert verdicts["uk-rogue-borrowed-gphc-entry"] in ("rogue", "suspicious")


def test_temporary_cache_restores_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pharmcheck.evaluate import temporary_cache

    monkeypatch.delenv("PHARMCHECK_CACHE_DIR", raising=False)
    with temporary_cache() as tmp:
        assert os.environ["PHARMCHECK_CACHE_DIR"] == str(tmp) and tmp.is_dir()
    assert "PHARMCHECK_CACHE_DIR" not in os.environ and not tmp.exists()


def test_module_main_lookups_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pharmcheck.evaluate import main

    assert main(["--lookups", "--json", "--jobs", "2", str(_lookup_subset(tmp_path))]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["lookups"] is True and data["false_trust"] == 0
    assert {r["site"]: r["verdict"] for r in data["results"]} == {
        "uk-verified-gphc": "legitimate", "uk-rogue-borrowed-gphc-entry": "rogue"}


def test_cli_eval_lookups_flag(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pharmcheck.cli import app

    args = ["eval", "--lookups", "--json", "--jobs", "2", str(_lookup_subset(tmp_path))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert '"lookups": true' in result.stdout
