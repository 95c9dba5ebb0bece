"""``pharmcheck demo``: serves the bundled samples, scans them, prints reports and a summary table."""

from __future__ import annotations

import importlib.util
import io

import pytest
from rich.console import Console

from pharmcheck.demo import SITES_DIR, main_demo, samples
from pharmcheck.demo.corpus import load_corpus

NAMES = [s.name for s in samples(load_corpus(SITES_DIR))]


def test_main_demo_text() -> None:
    buf = io.StringIO()
    rc = main_demo(Console(file=buf, width=160, color_system=None))
    text = buf.getvalue()
    assert "pharmcheck demo: bundled samples" in text
    for name in NAMES:
        assert name in text
    assert rc == 0, text[-3000:]


def test_main_demo_jsonl() -> None:
    import json

    buf, out = io.StringIO(), io.StringIO()
    main_demo(Console(file=buf, width=160, color_system=None), "jsonl", out=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(records) == len(NAMES)
    assert {r["verdict"] for r in records} >= {"unreachable"}


@pytest.mark.skipif(importlib.util.find_spec("pharmcheck.cli") is None, reason="CLI module not present")
def test_cli_demo_command() -> None:
    from typer.testing import CliRunner

    from pharmcheck.cli import app

    result = CliRunner().invoke(app, ["demo"])
    assert "pharmcheck demo: bundled samples" in result.output
    assert result.exit_code == 0, result.output[-3000:]
