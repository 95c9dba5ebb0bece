"""The scan history: every result in one SQLite file (stdlib ``sqlite3``), for monitoring.

- WAL mode and a busy timeout: several batches may write the same file at once; readers
  never block writers. ``synchronous=NORMAL`` in WAL mode survives a killed process (a
  committed transaction is in the WAL file); only a power cut may lose the last ones.
- One ``BEGIN IMMEDIATE`` transaction per result: the previous record of the site is read,
  the new one inserted and the ``latest`` pointer moved together, so a ``kill -9`` leaves
  either the whole result or none of it, never half.
- The schema is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` upgrades an
  older file in place; a file from a newer pharmcheck is refused (not silently altered).
- Each result keeps the report and its comparison facts (:func:`pharmcheck.changes.facts_of`),
  zlib-compressed with a per-database dictionary, apart from the small row a timeline reads
  (verdict, score, the change against the site's previous record), so listings stay fast.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pharmcheck.changes import compare, facts_of, site_key

BUSY_TIMEOUT_MS = 60_000

MIGRATIONS: tuple[str, ...] = (
    # 1: runs; scans (what a timeline shows) apart from scan_data (facts and report, compressed), so
    # listing 10,000 sites reads a few MB; latest pointer per site; zlib dictionaries
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        command TEXT NOT NULL,
        pid INTEGER NOT NULL
    );
    CREATE TABLE scans (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(id),
        site TEXT NOT NULL,
        registered_domain TEXT NOT NULL,
        scanned_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        verdict TEXT NOT NULL,
        score INTEGER,
        change_status TEXT NOT NULL,
        change_summary TEXT NOT NULL,
        regression INTEGER NOT NULL
    );
    CREATE INDEX scans_site ON scans(site, id);
    CREATE INDEX scans_domain ON scans(registered_domain, id);
    CREATE INDEX scans_run ON scans(run_id);
    CREATE TABLE scan_data (
        scan_id INTEGER PRIMARY KEY REFERENCES scans(id),
        facts BLOB NOT NULL,
        report BLOB NOT NULL
    );
    CREATE TABLE latest (
        site TEXT PRIMARY KEY,
        scan_id INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE zdicts (
        name TEXT PRIMARY KEY,
        data BLOB NOT NULL
    ) WITHOUT ROWID;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryError(Exception):
    """The history file cannot be used (not SQLite, from a newer pharmcheck, not writable)."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and create or migrate) a history database."""
    if not create and not path.is_file():
        raise HistoryError(f"no history database at {path}")
    try:
        if create and path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise HistoryError(f"cannot open history {path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise HistoryError(f"{path}: not a pharmcheck history database ({exc})") from None
    except HistoryError:
        conn.close()
        raise
    return conn


def _retry(op: Any, attempts: int = 50) -> Any:
    for i in range(attempts):
        try:
            return op()
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or i == attempts - 1:
                raise
            time.sleep(0.05 * (i + 1))
    return None  # pragma: no cover


def _migrate(conn: sqlite3.Connection) -> None:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"history schema {version} is newer than this pharmcheck understands ({SCHEMA_VERSION})"
        )
    if version == SCHEMA_VERSION:
        return
    _retry(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another process may have won
        for n in range(version, SCHEMA_VERSION):
            for stmt in MIGRATIONS[n].split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {n + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class _Codec:
    """zlib with a preset dictionary per database: the first report (and facts) recorded.

    Reports of different sites share most of their bytes (keys, rule ids, messages), so a
    dictionary taken from one of them cuts each stored report several times over. A blob starts
    with ``D`` (compressed with the dictionary) or ``Z`` (plain zlib).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.dicts: dict[str, bytes] = {}

    def _dict(self, name: str, sample: bytes | None) -> bytes | None:
        if name not in self.dicts:
            row = self.conn.execute("SELECT data FROM zdicts WHERE name = ?", (name,)).fetchone()
            if row is None and sample is not None:  # inside the writer's transaction
                self.conn.execute("INSERT INTO zdicts(name, data) VALUES (?, ?)", (name, sample[-32768:]))
                row = (sample[-32768:],)
            if row is None:
                return None
            self.dicts[name] = bytes(row[0])
        return self.dicts[name]

    def pack(self, name: str, obj: Any) -> bytes:
        raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        zdict = self._dict(name, raw)
        if zdict is None:
            return b"Z" + zlib.compress(raw, 6)
        comp = zlib.compressobj(6, zdict=zdict)
        return b"D" + comp.compress(raw) + comp.flush()

    def unpack(self, name: str, blob: bytes) -> dict[str, Any]:
        blob = bytes(blob)
        if blob[:1] == b"D":
            zdict = self._dict(name, None)
            if zdict is None:
                raise HistoryError(f"history: the {name} dictionary is missing")
            dec = zlib.decompressobj(zdict=zdict)
            raw = dec.decompress(blob[1:]) + dec.flush()
        else:
            raw = zlib.decompress(blob[1:])
        return dict(json.loads(raw))


class History:
    """A writer for one run: ``record`` one result at a time, each in its own transaction."""

    def __init__(self, path: Path, command: str = "scan") -> None:
        self.path = path
        self.conn = connect(path)
        self.codec = _Codec(self.conn)
        self.run_id = uuid.uuid4().hex
        self.started_at = _now()
        self.conn.execute(
            "INSERT INTO runs(id, started_at, command, pid) VALUES (?, ?, ?, ?)",
            (self.run_id, self.started_at, command, os.getpid()),
        )

    def baseline_facts(self) -> dict[str, dict[str, Any]]:
        """The latest facts of every site recorded before this run (the baseline ``history``)."""
        out: dict[str, dict[str, Any]] = {}
        rows = self.conn.execute(
            "SELECT s.site, d.facts FROM latest l JOIN scans s ON s.id = l.scan_id"
            " JOIN scan_data d ON d.scan_id = s.id WHERE s.run_id != ?",
            (self.run_id,),
        ).fetchall()
        for site, facts in rows:
            out[str(site)] = self.codec.unpack("facts", facts)
        return out

    def record(self, report: dict[str, Any], facts: dict[str, Any] | None = None) -> dict[str, Any]:
        """Store one result; returns its change against the site's previous record."""
        facts = facts if facts is not None else facts_of(report)
        site = site_key(report)
        _retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        try:
            row = self.conn.execute(
                "SELECT d.facts FROM scans s JOIN scan_data d ON d.scan_id = s.id"
                " WHERE s.site = ? ORDER BY s.id DESC LIMIT 1",
                (site,),
            ).fetchone()
            change = compare(self.codec.unpack("facts", row[0]) if row else None, facts)
            cur = self.conn.execute(
                "INSERT INTO scans(run_id, site, registered_domain, scanned_at, recorded_at, verdict, score,"
                " change_status, change_summary, regression) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.run_id,
                    site,
                    str(report.get("registered_domain") or ""),
                    str(report.get("scanned_at") or "") or _now(),
                    _now(),
                    str(report.get("verdict", "")),
                    report.get("score"),
                    change["status"],
                    change["summary"],
                    int(bool(change["regression"])),
                ),
            )
            self.conn.execute(
                "INSERT INTO scan_data(scan_id, facts, report) VALUES (?, ?, ?)",
                (cur.lastrowid, self.codec.pack("facts", facts), self.codec.pack("report", report)),
            )
            self.conn.execute(
                "INSERT INTO latest(site, scan_id) VALUES (?, ?) ON CONFLICT(site) DO UPDATE"
                " SET scan_id = excluded.scan_id WHERE excluded.scan_id > latest.scan_id",
                (site, cur.lastrowid),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.codec.dicts.clear()  # a dictionary inserted in the rolled-back transaction is gone
            raise
        return change

    def close(self) -> None:
        self.conn.close()


# --- reading ----------------------------------------------------------------------------------


def iter_latest_reports(db_path: Path) -> Iterator[dict[str, Any]]:
    """The latest report (``Report.to_dict()`` form) of every site in a history database."""
    conn = connect(db_path, create=False)
    codec = _Codec(conn)
    try:
        rows = conn.execute(
            "SELECT d.report FROM latest l JOIN scan_data d ON d.scan_id = l.scan_id ORDER BY l.site"
        )
        for (blob,) in rows:
            yield codec.unpack("report", blob)
    finally:
        conn.close()


_COLS = "s.id, s.site, s.registered_domain, s.scanned_at, s.verdict, s.score, s.change_status, " \
        "s.change_summary, s.regression"


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": r[0],
        "site": r[1],
        "registered_domain": r[2],
        "scanned_at": r[3],
        "verdict": r[4],
        "score": r[5],
        "change": r[6],
        "summary": r[7],
        "regression": bool(r[8]),
    }


def latest_states(db_path: Path, since: str | None = None) -> list[dict[str, Any]]:
    """One row per site: its latest verdict, score and change (optionally scanned since a date)."""
    conn = connect(db_path, create=False)
    try:
        sql = f"SELECT {_COLS} FROM latest l JOIN scans s ON s.id = l.scan_id"
        args: tuple[Any, ...] = ()
        if since:
            sql += " WHERE s.scanned_at >= ?"
            args = (since,)
        return [_row(r) for r in conn.execute(sql + " ORDER BY l.site", args)]
    finally:
        conn.close()


def timeline(db_path: Path, site: str, since: str | None = None) -> list[dict[str, Any]]:
    """Every record of a site (matched by its input or its registered domain), oldest first."""
    conn = connect(db_path, create=False)
    try:
        sql = f"SELECT {_COLS} FROM scans s WHERE (s.site = ? OR s.registered_domain = ?)"
        args: tuple[Any, ...] = (site, site.lower())
        if since:
            sql += " AND s.scanned_at >= ?"
            args = (*args, since)
        return [_row(r) for r in conn.execute(sql + " ORDER BY s.id", args)]
    finally:
        conn.close()
