"""The evaluation command: metrics on a small labelled corpus served by the demo proxy."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

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
