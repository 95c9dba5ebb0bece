"""Output files: never the input, never two writers.

- ``-i urls.txt -o urls.txt`` (or ``--report markdown=urls.txt``) would truncate the list
  before reading it: :func:`refuse_overlap` compares the files (same inode, or the same
  resolved path for files not created yet) before anything is opened for writing.
- Two batches writing the same ``-o`` interleave and lose results: :func:`lock_outputs` takes
  an advisory lock (``fcntl.flock``, exclusive, non-blocking) on every output file, held until
  the process exits, and refuses a second writer with a clear error. Advisory: it stops
  other pharmcheck runs, not other programs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path


class OutputError(Exception):
    """An output that must not be written; ``str(exc)`` is a one-line explanation."""


def _same(a: Path, b: Path) -> bool:
    with contextlib.suppress(OSError):
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def refuse_overlap(outputs: Iterable[Path], inputs: Iterable[Path]) -> None:
    """Raise :class:`OutputError` when an output file is also an input file."""
    ins = [p for p in inputs if str(p) != "-"]
    for out in outputs:
        for inp in ins:
            if _same(out, inp):
                raise OutputError(f"output {out} is also an input ({inp}): refusing to overwrite it")


def lock_outputs(paths: Iterable[Path]) -> list[int]:
    """Lock every output file (created if missing); the descriptors must stay open while writing."""
    fds: list[int] = []
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks
        return fds
    for path in paths:
        if path.exists() and not path.is_file():
            continue  # /dev/stdout, a FIFO …: nothing to lock
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
        except OSError as exc:
            release(fds)
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            release(fds)
            raise OutputError(
                f"{path} is being written by another pharmcheck run: refusing a second writer"
            ) from None
        fds.append(fd)
    return fds


def release(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    fds.clear()
