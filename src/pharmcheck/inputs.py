"""Reading what to scan: targets from the command line and from ``-i FILE``/``-i -``, and the allowlist.

Input files are streamed line by line as bytes and decoded per line, so a 10,000-line
list is never held in memory and one line of invalid UTF-8 becomes that line's own
error result instead of a traceback. Opening every input happens before anything is
scanned (:func:`open_inputs`) so a missing file is a usage error with nothing done.
"""

from __future__ import annotations

import codecs
import io
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from pharmcheck.target import Target, TargetError, parse_target, redact

BOM = "\ufeff"
MAX_LINE_BYTES = 8192


class InputError(ValueError):
    """An input or allowlist file cannot be used; nothing is scanned (exit code 2)."""


@dataclass(frozen=True)
class InputItem:
    """One thing to scan: ``input`` exactly as given (trimmed), and the parsed target or why not."""

    input: str
    target: Target | None = None
    error: str | None = None


def item_for(text: str) -> InputItem:
    # The echoed input has any user:password@ removed (redact): results and --resume both use it,
    # so a password in a target list never reaches an output file (test_output_safety.py).
    try:
        return InputItem(redact(text), parse_target(text))
    except TargetError as exc:
        return InputItem(redact(text), None, f"bad target: {exc}")


SNIFF_BYTES = 8192
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _check_text(name: str, stream: BinaryIO) -> BinaryIO:
    """A list file must be text: NUL bytes or mostly control bytes in its first 8 KiB mean a binary
    file (or /dev/zero), refused with one line. A UTF-16 file with a BOM is transcoded to UTF-8."""
    peek = getattr(stream, "peek", None)
    head = bytes(peek(SNIFF_BYTES)[:SNIFF_BYTES]) if peek is not None else b""
    if head.startswith(_UTF16_BOMS):
        return cast(BinaryIO, _Utf16(stream))
    if b"\x00" in head:
        raise InputError(f"{name}: not a text file (NUL bytes); give one URL or domain per line")
    controls = sum(1 for b in head if b < 9 or 13 < b < 32 or b == 127)
    if head and controls > max(8, len(head) // 50):
        raise InputError(f"{name}: not a text file (binary content); give one URL or domain per line")
    return stream


class _Utf16(io.RawIOBase):
    """A UTF-16 (BOM) byte stream read as UTF-8 lines."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._text = io.TextIOWrapper(raw, encoding="utf-16", errors="replace", newline=None)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> bytes:
        limit = size if size is not None and size >= 0 else MAX_LINE_BYTES * 4
        if not self._pending:
            self._pending = self._text.readline(limit).encode("utf-8")
        out, self._pending = self._pending[:limit], self._pending[limit:]
        return out

    def close(self) -> None:
        if self._raw is sys.stdin.buffer:
            self._text.detach()  # leave stdin open
        else:
            self._text.close()
        super().close()


def bounded_lines(stream: BinaryIO, max_len: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Lines of at most ``max_len + 1`` bytes: a longer line yields its head (longer than the
    limit, so the caller reports it) and the rest is skipped in bounded reads; memory stays
    flat even for a 400 MB line without a newline."""
    while True:
        raw = stream.readline(max_len + 1)
        if not raw:
            return
        if len(raw) > max_len and not raw.endswith(b"\n"):
            while True:
                more = stream.readline(max_len + 1)
                if not more or more.endswith(b"\n"):
                    break
        yield raw


def open_inputs(paths: list[str]) -> list[tuple[str, BinaryIO]]:
    """Open every ``-i`` source up front; ``-`` is stdin. Raises :class:`InputError`."""
    opened: list[tuple[str, BinaryIO]] = []
    stdin_used = False
    for p in paths:
        if p == "-":
            if stdin_used:
                raise InputError("stdin ('-') given more than once")
            stdin_used = True
            opened.append(("<stdin>", _check_text("<stdin>", sys.stdin.buffer)))
            continue
        path = Path(p)
        if path.is_dir():
            raise InputError(f"input file is a directory: {p}")
        try:
            fh = path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot read input file {p}: {exc.strerror or exc}") from None
        try:
            opened.append((p, _check_text(p, fh)))
        except (InputError, OSError) as exc:
            fh.close()
            if isinstance(exc, InputError):
                raise
            raise InputError(f"cannot read input file {p}: {exc.strerror or exc}") from None
    return opened


def decode_line(raw: bytes, first: bool) -> tuple[str | None, str | None]:
    """(text, error) for one raw line; text None means skip (blank or comment)."""
    if len(raw) > MAX_LINE_BYTES:
        return raw[:60].decode("utf-8", "replace"), f"line longer than {MAX_LINE_BYTES} bytes"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        shown = raw.decode("utf-8", "replace").strip()
        return shown, f"invalid UTF-8 at byte {exc.start}"
    if first:
        text = text.removeprefix(BOM)
    text = text.strip()
    if not text or text.startswith("#"):
        return None, None
    return text, None


def iter_file(stream: BinaryIO) -> Iterator[InputItem]:
    first = True
    for raw in bounded_lines(stream):
        text, error = decode_line(raw, first)
        first = False
        if error is not None:
            yield InputItem(redact(text or ""), None, error)  # no password in the echo (see item_for)
        elif text is not None:
            yield item_for(text)


def count_targets(path: str) -> int | None:
    """Number of target lines in a regular file (a cheap streaming pre-pass), None for stdin/pipes."""
    if path == "-":
        return None
    p = Path(path)
    if not p.is_file():
        return None
    n = 0
    with p.open("rb") as raw_fh:
        try:
            fh = _check_text(path, raw_fh)
        except InputError:
            return None
        first = True
        for raw in bounded_lines(fh):
            text, error = decode_line(raw, first)
            first = False
            n += text is not None or error is not None
    return n


def iter_inputs(targets: list[str], sources: list[tuple[str, BinaryIO]]) -> Iterator[InputItem]:
    """Positional targets first, then each input source, line by line."""
    for t in targets:
        yield item_for(t)
    for _name, stream in sources:
        try:
            yield from iter_file(stream)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()


# --- allowlist -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowlist:
    """Domains whose results are reported but never fail the run; each entry needs a reason."""

    entries: dict[str, str]

    def reason_for(self, host: str) -> str | None:
        """The reason when ``host`` is an allowlisted domain or one of its subdomains."""
        host = host.lower().rstrip(".").strip("[]")
        while host:
            if host in self.entries:
                return self.entries[host]
            if "." not in host:
                return None
            host = host.split(".", 1)[1]
        return None


def _norm_domain(text: str, where: str) -> str:
    domain = text.strip().lower().rstrip(".")
    if "://" in domain:
        domain = domain.split("://", 1)[1]
    domain = domain.split("/", 1)[0]
    if not domain or " " in domain:
        raise InputError(f"{where}: not a domain: {text!r}")
    return domain


def load_allowlist(path: Path) -> Allowlist:
    """TOML (``[[allow]] domain = … reason = …``) for ``*.toml``, else text lines ``domain reason…``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read allowlist {path}: {exc}") from None
    entries: dict[str, str] = {}
    if path.suffix.lower() == ".toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"allowlist {path}: {exc}") from None
        rows = doc.get("allow", [])
        if not isinstance(rows, list):
            raise InputError(f"allowlist {path}: 'allow' must be an array of tables ([[allow]])")
        for i, row in enumerate(rows, 1):
            where = f"allowlist {path}: entry {i}"
            if not isinstance(row, dict):
                raise InputError(f"{where}: must be a table with domain and reason")
            reason = str(row.get("reason", "")).strip()
            if not reason:
                raise InputError(f"{where}: missing reason for {row.get('domain', '?')!r}")
            entries[_norm_domain(str(row.get("domain", "")), where)] = reason
        return Allowlist(entries)
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"allowlist {path}: line {n}"
        parts = line.split(None, 1)
        reason = parts[1].strip().lstrip("#").strip() if len(parts) > 1 else ""
        if not reason:
            raise InputError(f"{where}: missing reason for {parts[0]!r} (write: domain reason…)")
        entries[_norm_domain(parts[0], where)] = reason
    return Allowlist(entries)
