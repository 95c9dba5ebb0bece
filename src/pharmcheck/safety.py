"""Neutralising hostile text on its way out: terminal, rich markup, CSV, file names."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_FILENAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean_text(text: str, max_len: int = 2000) -> str:
    """Printable text only: control characters (ESC, BEL, bidi overrides …) replaced."""
    text = _CONTROL.sub("\ufffd", text)
    return text if len(text) <= max_len else text[: max_len - 1] + "…"


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not evaluate as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub(" ", text)
    if text.startswith(CSV_FORMULA_START):
        return "'" + text
    return text


def safe_filename(name: str, max_len: int = 120) -> str:
    """A file name derived from untrusted text that cannot contain a path separator or '..'."""
    norm = unicodedata.normalize("NFKC", name)
    norm = re.sub(r"^[a-z]+://", "", norm)
    stem = _FILENAME_BAD.sub("_", norm).strip("._-")[:max_len] or "site"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{stem}-{digest}"
