"""``#include`` and ``#define`` lines of a file, found by a text scan.

The grammar loses the directives that stand inside a region it cannot parse (an ``ERROR`` node
around a kernel idiom swallows the ``#define ioremap ioremap`` after it), and a lost include or
macro becomes a false finding in every file that relies on it. A line scan does not depend on
the parse: a directive is a line whose first non-blank character is ``#``, outside comments,
with its continuation lines; the text it reads has the configuration's dropped branches blanked.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from kernel_lsp.parse.facts import Include, Macro, Span
from kernel_lsp.parse.lines import Lines, newline_first

# (From the newline before the line: ``lines.newline_first``.)
_LINE = re.compile(rb"\n[ \t]*+#[ \t]*(include|define)\b")
_INCLUDE = re.compile(rb"[ \t]*([<\"])([^>\"\n]+)[>\"]")
# ``#include GENL_MAGIC_INCLUDE_FILE``: a computed include, the target a macro names; recorded
# with the macro's name as target (``model/indexer.py`` resolves it through the macro's body).
_COMPUTED_INCLUDE = re.compile(rb"[ \t]+([A-Za-z_]\w*)[ \t]*(?:/\*.*?\*/[ \t]*|//[^\n]*)?(?=\n|$)")
_NAME = re.compile(rb"[ \t]+([A-Za-z_]\w*)(\()?")
_COMMENT = re.compile(rb"/\*.*?\*/|//[^\n]*", re.S)
_PARAM = re.compile(r"^(?:[A-Za-z_]\w*(?:\.\.\.)?|\.\.\.)$")


class _Comments:
    """Which offsets lie inside a block comment (a directive there is text, not a directive)."""

    def __init__(self, src: bytes):
        spans = [m.span() for m in _COMMENT.finditer(src) if m.group().startswith(b"/*")]
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]

    def inside(self, pos: int) -> bool:
        i = bisect_right(self.starts, pos) - 1
        return i >= 0 and pos < self.ends[i]


def _guard(unsure: list[tuple[int, int, str | None, str | None]], starts: list[int], pos: int
           ) -> str | None:
    """The guard of the innermost of the branches ``unsure`` (``starts``: theirs, in order)
    holding ``pos``: the last one starting before it that has not ended."""
    for i in range(bisect_right(starts, pos) - 1, -1, -1):
        if pos < unsure[i][1]:
            return unsure[i][2]
    return None


def _logical_end(src: bytes, end: int) -> int:
    """End of the line at ``end`` with its backslash-continued lines."""
    while True:
        nl = src.find(b"\n", end)
        if nl < 0:
            return len(src)
        line_end = nl - 1 if nl > 0 and src[nl - 1:nl] == b"\r" else nl
        if line_end > 0 and src[line_end - 1:line_end] == b"\\":
            end = nl + 1
            continue
        return nl


def directives(src: bytes, lines: Lines | None = None,
               unsure: list[tuple[int, int, str | None, str | None]] = ()
               ) -> tuple[list[Include], list[Macro]]:
    """The includes and macro definitions of ``src``, in file order (``lines``: its ``Lines``,
    when the caller has them; ``unsure``: the branches kept on an undecided condition,
    ``conditions.branch_ranges``, which give each include its ``guard``)."""
    comments = _Comments(src)
    starts = [u[0] for u in unsure]
    lines = lines or Lines(src)
    includes: list[Include] = []
    macros: list[Macro] = []
    for m in _LINE.finditer(newline_first(src)):
        line, word_end = m.start(), m.end() - 1  # in ``src``
        if comments.inside(line):
            continue
        end = _logical_end(src, word_end)
        if m.group(1) == b"include":
            inc = _INCLUDE.match(src, word_end)
            if inc is not None and inc.end() <= end:
                target = inc.group(2).decode("utf-8", "replace").strip()
                hash_at = src.index(b"#", line)
                includes.append(Include(target, inc.group(1) == b"<", _span(lines, hash_at, end),
                                        _guard(unsure, starts, hash_at)))
            elif (computed := _COMPUTED_INCLUDE.match(src, word_end)) is not None:
                hash_at = src.index(b"#", line)
                includes.append(Include(computed.group(1).decode(), False,
                                        _span(lines, hash_at, end),
                                        _guard(unsure, starts, hash_at)))
            continue
        name = _NAME.match(src, word_end)
        if name is None or name.end() > end:
            continue
        macro = _macro(src, lines, name, end)
        if macro is not None:
            macros.append(macro)
    return includes, macros


def _macro(src: bytes, lines: Lines, name, end: int) -> Macro | None:
    ident = name.group(1).decode()
    where = _span(lines, name.start(1), name.end(1))
    if name.group(2) is None:  # object-like: ``#define X body`` (a space before any parenthesis)
        return Macro(ident, None, _body(src[name.end():end]), where)
    close = src.find(b")", name.end(), end)
    if close < 0:
        return None
    raw = src[name.end():close].decode("utf-8", "replace").replace("\\\n", " ")
    params = [_param(p) for p in raw.split(",")] if raw.strip() else []
    if not all(_PARAM.match(p) for p in params):
        return None
    return Macro(ident, tuple(params), _body(src[close + 1:end]), where)


def _param(raw: str) -> str:
    """A parameter as written, blanks around it dropped; GCC's named variadic parameter also
    reads with blanks before its dots (``seq ...``, as ``seq...``)."""
    p = raw.strip()
    return p[:-3].rstrip() + "..." if p.endswith("...") else p


def _body(raw: bytes) -> str:
    if b"/" in raw:  # most bodies have no comment: no regex pass for them
        raw = _COMMENT.sub(b" ", raw)
    text = raw.decode("utf-8", "replace").replace("\\\r\n", "\n")
    return text.replace("\\\n", "\n").strip()


def _span(lines: Lines, start: int, end: int) -> Span:
    line, col = lines.point(start)
    end_line, end_col = lines.point(end)
    return Span(start, end, line, col, end_line, end_col)
