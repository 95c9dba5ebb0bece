"""Settings: one table, precedence flag > env > file > default, and `pharmcheck config`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pharmcheck.cli import app
from pharmcheck.config import SETTINGS, ConfigError, default_workers, resolve
from pharmcheck.inputs import InputError, load_allowlist


def test_defaults(tmp_path: Path) -> None:
    cfg = resolve({}, env={}, cwd=tmp_path)
    assert cfg["fail_on"] == "rogue"
    assert cfg["workers"] == default_workers()
    assert all(cfg.sources[s.name] == "default" for s in SETTINGS)


def test_precedence_flag_env_file_default(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.pharmcheck]\nfail-on = "never"\n'
        'workers = 3\nmax_pages = 4\ntimeout = 2.5\n'
    )
    env = {"PHARMCHECK_WORKERS": "5", "PHARMCHECK_MAX_PAGES": "6"}
    cfg = resolve({"max_pages": 7}, env=env, cwd=tmp_path)
    assert cfg["max_pages"] == 7 and cfg.sources["max_pages"] == "flag --max-pages"
    assert cfg["workers"] == 5 and cfg.sources["workers"] == "env PHARMCHECK_WORKERS"
    assert cfg["fail_on"] == "never" and cfg.sources["fail_on"] == "pyproject.toml [tool.pharmcheck]"
    assert cfg["timeout"] == 2.5
    assert cfg["deadline"] == 60.0 and cfg.sources["deadline"] == "default"


def test_pharmcheck_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.pharmcheck]\nfail-on = "never"\n')
    (tmp_path / "pharmcheck.toml").write_text('fail-on = "suspicious"\nrules = ["packs/extra"]\n')
    cfg = resolve({}, env={}, cwd=tmp_path)
    assert cfg["fail_on"] == "suspicious" and cfg.sources["fail_on"] == "pharmcheck.toml"
    assert cfg["rules"] == (tmp_path / "packs" / "extra",)  # relative to the config file


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PHARMCHECK_FAIL_ON": "sometimes"}, "PHARMCHECK_FAIL_ON"),
        ({"PHARMCHECK_WORKERS": "many"}, "PHARMCHECK_WORKERS"),
        ({"PHARMCHECK_WORKERS": "0"}, "at least"),
        ({"PHARMCHECK_OFFLINE": "perhaps"}, "true or false"),
    ],
)
def test_bad_values_name_their_source(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve({}, env=env, cwd=tmp_path)


def test_unknown_file_key(tmp_path: Path) -> None:
    (tmp_path / "pharmcheck.toml").write_text("wrokers = 3\n")
    with pytest.raises(ConfigError, match="unknown setting 'wrokers'"):
        resolve({}, env={}, cwd=tmp_path)


def test_config_command_shows_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pharmcheck.toml").write_text("max-pages = 3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PHARMCHECK_FAIL_ON", "suspicious")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "env PHARMCHECK_FAIL_ON" in lines["fail-on"] and "suspicious" in lines["fail-on"]
    assert "pharmcheck.toml" in lines["max-pages"]
    assert "default" in lines["timeout"]


def test_env_bad_value_is_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PHARMCHECK_FAIL_ON", "sometimes")
    result = CliRunner().invoke(app, ["scan", "example.com"])
    assert result.exit_code == 2
    assert "PHARMCHECK_FAIL_ON" in result.output


def test_allowlist_formats(tmp_path: Path) -> None:
    text = tmp_path / "allow.txt"
    text.write_text("# ours\nstaging.example.com  our own staging shop\n")
    allow = load_allowlist(text)
    assert allow.reason_for("www.staging.example.com") == "our own staging shop"
    assert allow.reason_for("example.com") is None
    toml = tmp_path / "allow.toml"
    toml.write_text('[[allow]]\ndomain = "shop.example"\nreason = "customer"\n')
    assert load_allowlist(toml).reason_for("shop.example") == "customer"


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("allow.txt", "staging.example.com\n"),
        ("allow.toml", '[[allow]]\ndomain = "shop.example"\n'),
    ],
)
def test_allowlist_needs_a_reason(tmp_path: Path, name: str, body: str) -> None:
    path = tmp_path / name
    path.write_text(body)
    with pytest.raises(InputError, match="missing reason"):
        load_allowlist(path)
    result = CliRunner().invoke(app, ["scan", "example.com", "--allowlist", str(path)])
    assert result.exit_code == 2
    assert "missing reason" in result.output
