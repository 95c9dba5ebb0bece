"""Every CLI setting in one table, resolved with one precedence: flag > env > file > default.

The table (:data:`SETTINGS`) is the single place that names a setting, its type, default
and help; the CLI, ``PHARMCHECK_*`` environment variables, ``[tool.pharmcheck]`` in
``./pyproject.toml`` and ``./pharmcheck.toml`` all go through it, and ``pharmcheck config``
prints it with the source of each value. Kept free of heavy imports: it runs at start-up.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pharmcheck.options import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PAGES,
    DEFAULT_TIMEOUT,
    LIMITS,
    OptionError,
    check_number,
)

ENV_PREFIX = "PHARMCHECK_"
# Settings a config file in the working directory may not turn on: a checkout of someone
# else's project must not be able to open the SSRF guard. Flag or environment only.
FLAG_OR_ENV_ONLY = frozenset({"allow_private"})
FORMATS = ("text", "json", "jsonl", "csv", "markdown", "junit", "html")
FAIL_ON = ("rogue", "suspicious", "never")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class ConfigError(ValueError):
    """A setting has a bad value; the message names the setting and where it came from."""


def default_workers() -> int:
    """Sites in flight at once: fetching is I/O-bound, so several per core."""
    return min(32, 8 * (os.cpu_count() or 1))


@dataclass(frozen=True)
class Setting:
    name: str  # python name; the flag is --name-with-dashes, the env var PHARMCHECK_NAME
    kind: str  # str, int, float, bool, path, paths, choice
    default: Callable[[], Any]
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("format", "choice", lambda: "text", "output format", FORMATS),
    Setting("fail_on", "choice", lambda: "rogue", "verdicts that make the exit code 1", FAIL_ON),
    Setting("workers", "int", default_workers, "sites scanned at once", minimum=1),
    Setting(
        "per_host",
        "int",
        lambda: 2,
        "sites of one host (registered domain and port) scanned at once",
        minimum=1,
    ),
    Setting("max_pages", "int", lambda: DEFAULT_MAX_PAGES, "pages fetched per site", minimum=1),
    Setting("timeout", "float", lambda: DEFAULT_TIMEOUT, "seconds per request", minimum=0.1),
    Setting("deadline", "float", lambda: DEFAULT_DEADLINE, "seconds per site, all included", minimum=0.1),
    Setting("rate_limit", "float", lambda: 0.0, "requests per second per host (0: unlimited)", minimum=0.0),
    Setting("max_bytes", "int", lambda: DEFAULT_MAX_BYTES, "bytes per response body", minimum=1024),
    Setting("offline", "bool", lambda: False, "no lookups beyond the site itself"),
    Setting("allow_private", "bool", lambda: False, "allow loopback/private addresses"),
    Setting("allowlist", "path", lambda: None, "allowlist file (TOML or text: domain and reason)"),
    Setting("rules", "paths", lambda: (), "extra rule-pack directories"),
    Setting("user_agent", "str", lambda: "", "User-Agent header (empty: pharmcheck's own)"),
    Setting(
        "cluster",
        "str",
        lambda: "",
        "Dask scheduler address, local or local:N (empty: this machine; DASK_SCHEDULER_ADDRESS also counts)",
    ),
    Setting("history", "path", lambda: None, "SQLite history of every result (monitoring)"),
)
BY_NAME = {s.name: s for s in SETTINGS}


@dataclass
class Resolved:
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def convert(setting: Setting, raw: Any, where: str, base: Path | None = None) -> Any:
    """Turn a raw value (string from env, TOML value, or typed flag value) into the setting's type."""
    name = f"{setting.name} ({where})"
    kind = setting.kind
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ConfigError(f"{name}: expected true or false, got {raw!r}")
        if kind in ("int", "float"):
            if isinstance(raw, bool):
                raise ValueError
            if setting.name in LIMITS:  # the range shared with the library (options.LIMITS)
                try:
                    return check_number(setting.name, raw, name)
                except OptionError as exc:
                    raise ConfigError(str(exc)) from None
            num: float = int(str(raw).strip()) if kind == "int" else float(str(raw).strip())
            if not math.isfinite(num):
                raise ConfigError(f"{name}: must be a finite number, got {raw!r}")
            if setting.minimum is not None and num < setting.minimum:
                raise ConfigError(f"{name}: must be at least {setting.minimum:g}, got {raw!r}")
            return num
        if kind == "choice":
            text = str(raw).strip().lower()
            if text not in setting.choices:
                raise ConfigError(f"{name}: must be one of {', '.join(setting.choices)}, got {raw!r}")
            return text
        if kind == "path":
            if raw is None or str(raw) == "":
                return None
            return _path(str(raw), base)
        if kind == "paths":
            if isinstance(raw, str):
                items = [p for p in raw.split(os.pathsep) if p]
            elif isinstance(raw, list | tuple):
                items = [str(p) for p in raw]
            else:
                raise ValueError
            return tuple(_path(p, base) for p in items)
        if not isinstance(raw, str):
            raise ValueError
        return raw
    except ConfigError:
        raise
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected {kind}, got {raw!r}") from None


def _path(text: str, base: Path | None) -> Path:
    p = Path(text).expanduser()
    return p if p.is_absolute() or base is None else base / p


def find_config_file(cwd: Path) -> tuple[Path, dict[str, Any]] | None:
    """``./pharmcheck.toml`` (whole file) wins over ``./pyproject.toml`` ``[tool.pharmcheck]``."""
    own = cwd / "pharmcheck.toml"
    if own.is_file():
        doc = _read_toml(own)
        if "tool" in doc:
            tool = doc["tool"]
            if not isinstance(tool, dict):
                raise ConfigError(f"{own}: 'tool' must be a table, got {tool!r}")
            table = tool.get("pharmcheck", doc)
        else:
            table = doc
        if not isinstance(table, dict):
            raise ConfigError(f"{own}: [tool.pharmcheck] must be a table, got {table!r}")
        return own, table
    py = cwd / "pyproject.toml"
    if py.is_file():
        tool = _read_toml(py).get("tool", {})
        if not isinstance(tool, dict):
            return None  # someone else's pyproject: not ours to judge
        table = tool.get("pharmcheck")
        if isinstance(table, dict):
            return py, table
        if table is not None:
            raise ConfigError(f"{py}: [tool.pharmcheck] must be a table, got {table!r}")
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def resolve(
    flags: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Resolved:
    """Apply the precedence flag > env > file > default to every setting of the table.

    ``flags`` holds only the options given on the command line (already typed).
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    found = find_config_file(cwd)
    file_values: dict[str, Any] = {}
    file_label = ""
    base: Path | None = None
    if found:
        path, table = found
        base = path.parent
        file_label = f"{path.name} [tool.pharmcheck]" if path.name == "pyproject.toml" else path.name
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in BY_NAME:
                known = ", ".join(s.name.replace("_", "-") for s in SETTINGS)
                raise ConfigError(f"{path}: unknown setting '{key}' (known: {known})")
            file_values[name] = value
    out = Resolved()
    for name in sorted(FLAG_OR_ENV_ONLY & set(file_values)):
        del file_values[name]
        flag = BY_NAME[name].flag
        out.warnings.append(
            f"{file_label}: '{name}' is ignored in a config file (security-relevant): "
            f"use {flag} or {BY_NAME[name].env}"
        )
    for s in SETTINGS:
        if s.name in flags and flags[s.name] is not None:
            out.values[s.name] = convert(s, flags[s.name], s.flag)
            out.sources[s.name] = f"flag {s.flag}"
        elif env.get(s.env) not in (None, ""):
            out.values[s.name] = convert(s, env[s.env], s.env)
            out.sources[s.name] = f"env {s.env}"
        elif s.name in file_values:
            out.values[s.name] = convert(s, file_values[s.name], file_label, base)
            out.sources[s.name] = file_label
        else:
            out.values[s.name] = s.default()
            out.sources[s.name] = "default"
    return out


def show(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return "(empty)"
    return str(value)
