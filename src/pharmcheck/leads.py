"""Leading words of a regex: literals one of which every match starts with (see :mod:`pharmcheck.anchors`).

Read with the regex reader of :mod:`pharmcheck.anchors` (its digest stamps the stored shapes of
:mod:`pharmcheck.shapetable`: this reading lives apart so the table stays valid). A pattern whose
matches all start with one of a few words is tried by :meth:`pharmcheck.site.ParsedPage.finditer`
only where those words start.
"""

from __future__ import annotations

import re

from pharmcheck.anchors import MAX_ANCHORS, Node, fold, read

MIN_LEAD = 2  # shorter first words would be tried at too many places


def _leads(seq: list[Node], icase: bool) -> list[str] | None:
    """Literals one of which every match of the sequence starts with (None: unknown)."""
    i = 0
    while i < len(seq) and seq[i][0] in ("zero", "look"):  # zero width: the match starts after them
        i += 1
    if i == len(seq):
        return None
    node = seq[i]
    if node[0] == "lit":
        run: list[str] = []
        while i < len(seq) and seq[i][0] == "lit":
            ch = fold(seq[i][1]) if icase else seq[i][1]
            if len(ch) != 1:
                return None
            run.append(ch)
            i += 1
        return ["".join(run)]
    if node[0] == "group":
        return _leads(node[1], icase)
    if node[0] == "repeat" and node[1] >= 1:
        return _leads(node[2], icase)
    if node[0] == "branch":
        out: list[str] = []
        for alt in node[1]:
            got = _leads(alt, icase)
            if got is None:
                return None
            out.extend(got)
        return out
    return None


def leading_literals(source: str, flags: int) -> tuple[frozenset[str], bool] | None:
    """(the literals one of which every match of ``source`` starts with, whether they are folded: when
    the pattern ignores case anywhere, coarser, so still every match's start), or None when no useful
    set is known.

    Zero-width parts before them (``(?<!\\w)``, ``\\b``, ``^`` …) are skipped: they do not move where
    a match starts. A match then begins where one of these words occurs, and is not empty."""
    read_as = read(source, flags)
    if read_as is None:
        return None
    seq, scoped = read_as
    folded = bool(flags & re.IGNORECASE) or scoped
    try:
        got = _leads(seq, folded)
    except RecursionError:
        return None
    if not got or min(map(len, got)) < MIN_LEAD or len(got) > MAX_ANCHORS:
        return None
    return frozenset(got), folded
