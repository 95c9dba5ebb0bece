"""Neutralising hostile text on its way out: terminal, rich markup, CSV, file names."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# C0/C1 controls (ESC starts CSI/OSC sequences), zero-width and bidi controls, word joiner and
# invisible operators (U+2060–U+2064), the BOM/ZWNBSP (U+FEFF), Arabic letter mark, line/paragraph
# separators: nothing a terminal should receive from a hostile site or rule pack.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)
# Characters escaped as \uXXXX in JSON output, so `cat report.jsonl` is safe on a terminal.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_FILENAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean_text(text: str, max_len: int = 2000) -> str:
    """Printable text only: control characters (ESC, BEL, bidi overrides …) replaced."""
    text = _CONTROL.sub("\ufffd", text)
    return text if len(text) <= max_len else text[: max_len - 1] + "…"


def json_safe(text: str) -> str:
    """JSON text with C1 controls, bidi and invisible characters written as ``\\uXXXX``.

    ``json.dumps`` already escapes C0 controls; these characters can only occur inside JSON
    strings, so replacing them anywhere in the document keeps it valid and equal in value.
    """
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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
