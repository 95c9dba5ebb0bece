"""Bytes to text, the way browsers pick the encoding (WHATWG order, simplified).

Order: byte-order mark, charset of the Content-Type header, ``<meta charset>`` or
``<meta http-equiv=content-type>`` in the first 4 KiB (a regex prescan, so the page is
parsed only once later), strict UTF-8, charset_normalizer, then UTF-8 with replacement.
Labels browsers treat as windows-1252 (latin1, ascii) are decoded as windows-1252.
"""

from __future__ import annotations

import codecs
import re

_PRESCAN_BYTES = 4096
_GUESS_BYTES = 64 * 1024  # charset_normalizer is slow on big bodies; a sample decides
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"<meta\b[^>]{0,512}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE
)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_WIN1252_ALIASES = {"iso8859-1", "latin-1", "ascii", "iso8859-9"}


def normalise(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    if name in _WIN1252_ALIASES:
        return "cp1252"
    if name in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        return None  # a meta/header claim of UTF-16 without a BOM is wrong per WHATWG
    return name


def header_charset(content_type: str) -> str | None:
    m = _HEADER_CHARSET.search(content_type or "")
    return normalise(m.group(1)) if m else None


def meta_charset(body: bytes) -> str | None:
    m = _META_CHARSET.search(body[:_PRESCAN_BYTES])
    return normalise(m.group(1).decode("ascii", "replace")) if m else None


def decode_body(body: bytes, content_type: str = "") -> tuple[str, str]:
    """Return ``(text, encoding used)``; never raises."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, "replace"), name
    for declared in (header_charset(content_type), meta_charset(body)):
        if declared:
            return body.decode(declared, "replace"), declared
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(body) - 4:  # a multi-byte character cut by the size limit
            return body.decode("utf-8", "replace"), "utf-8"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(body[:_GUESS_BYTES]).best()
        guessed = normalise(best.encoding) if best is not None else None
    except Exception:
        guessed = None
    if guessed:
        return body.decode(guessed, "replace"), guessed
    return body.decode("utf-8", "replace"), "utf-8"
