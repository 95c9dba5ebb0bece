"""A small on-disk cache for lookup results (registry entries, RDAP answers).

Registries and RDAP servers are other people's services: a batch that scans the same
site twice, or many sites on one TLD, must not ask them again within a day. Each entry
is one JSON file named by the SHA-256 of its key, written atomically, with its own
expiry, so a corrupt or stale file is just a miss. Only facts are stored (never page
bodies), and only successful or definitive answers: a timeout is never cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

ENV_DIR = "PHARMCHECK_CACHE_DIR"
DAY = 86400.0


def default_dir() -> Path:
    """``$PHARMCHECK_CACHE_DIR``, else the platform's user cache directory."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("pharmcheck"))


class Cache:
    """Key -> JSON value with a per-entry time to live. Never raises on I/O problems."""

    def __init__(self, directory: Path | None = None, namespace: str = "lookups") -> None:
        self.directory = (directory or default_dir()) / namespace

    def _path(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode("utf-8")).hexdigest() + ".json")

    def get(self, key: str) -> Any | None:
        try:
            doc = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("key") != key:
            return None
        if float(doc.get("expires", 0)) < time.time():
            return None
        return doc.get("value")

    def put(self, key: str, value: Any, ttl: float) -> None:
        if ttl <= 0:
            return
        doc = {"key": key, "stored": time.time(), "expires": time.time() + ttl, "value": value}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False)
            os.replace(tmp, self._path(key))
        except (OSError, TypeError, ValueError):
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
