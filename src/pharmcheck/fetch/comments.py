"""Long HTML comments do not count against the body cap (issue 11: padding gives no false trust).

A page can push its rogue offer past the crawler's body cap with megabytes of ``<!-- … -->`` that a
browser never shows. While a body streams in, :class:`CommentSkipper` keeps the first
``KEEP_PER_COMMENT`` bytes of every comment and drops the rest, so the cap counts what can be
shown. Text in ``<script>``, ``<style>``, ``<textarea>``, ``<title>`` and ``<xmp>`` is raw text in
HTML, where ``<!--`` starts no comment: it is passed through untouched. The total read stays
bounded by ``RAW_FACTOR`` × the cap (and by the site deadline).
"""

from __future__ import annotations

KEEP_PER_COMMENT = 1024
RAW_FACTOR = 8  # bytes read at most per body: RAW_FACTOR x the cap
_RAW_TAGS = (b"script", b"style", b"textarea", b"title", b"xmp")
_TAG_END = (b">", b" ", b"\t", b"\n", b"\r", b"/", b"\f")
_LOOKAHEAD = 10  # bytes needed after "<" to tell a comment or a raw-text tag


class CommentSkipper:
    """Incremental filter over the bytes of an HTML body (ASCII-compatible encodings)."""

    def __init__(self, keep: int = KEEP_PER_COMMENT) -> None:
        self.keep = keep
        self.state = "text"  # text | comment | raw
        self.kept = 0  # bytes kept of the current comment
        self.raw_end = b""  # b"</script" while in raw text
        self.pending = b""  # undecided tail of the last chunk
        self.dropped = 0  # comment bytes dropped so far

    def feed(self, data: bytes, final: bool = False) -> bytes:
        data = self.pending + data
        self.pending = b""
        out = bytearray()
        i, n = 0, len(data)
        while i < n:
            if self.state == "text":
                j = data.find(b"<", i)
                if j < 0:
                    out += data[i:]
                    break
                out += data[i:j]
                if n - j < _LOOKAHEAD and not final:
                    self.pending = data[j:]
                    break
                head = data[j : j + _LOOKAHEAD].lower()
                if head.startswith(b"<!--"):
                    out += b"<!--"
                    i = j + 4
                    if data.startswith(b">", i) or data.startswith(b"->", i):  # <!--> and <!---> end at once
                        close = 1 if data.startswith(b">", i) else 2
                        out += data[i : i + close]
                        i += close
                        continue
                    self.state, self.kept = "comment", 0
                    continue
                tag = next((t for t in _RAW_TAGS if head.startswith(b"<" + t)
                            and head[1 + len(t) : 2 + len(t)] in _TAG_END), None)
                if tag is not None:
                    self.state, self.raw_end = "raw", b"</" + tag
                out += b"<"
                i = j + 1
            elif self.state == "comment":
                ends = [k for k in (data.find(b"-->", i), data.find(b"--!>", i)) if k >= 0]
                if not ends:
                    stop = n if final else max(i, n - 3)  # "-->" may straddle chunks
                    self._keep(out, data[i:stop])
                    self.pending = data[stop:]
                    break
                k = min(ends)
                self._keep(out, data[i:k])
                close = 3 if data.startswith(b"-->", k) else 4
                out += data[k : k + close]
                i = k + close
                self.state = "text"
            else:  # raw text: pass through to its end tag
                k = data.lower().find(self.raw_end, i)
                if k < 0:
                    stop = n if final else max(i, n - len(self.raw_end))
                    out += data[i:stop]
                    self.pending = data[stop:]
                    break
                out += data[i:k]
                i = k
                self.state = "text"
        if final and self.pending:
            rest, self.pending = self.pending, b""
            if self.state == "comment":
                self._keep(out, rest)
            else:
                out += rest
        return bytes(out)

    def _keep(self, out: bytearray, chunk: bytes) -> None:
        room = max(0, self.keep - self.kept)
        out += chunk[:room]
        self.kept += min(room, len(chunk))
        self.dropped += max(0, len(chunk) - room)
