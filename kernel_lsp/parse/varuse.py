"""Free identifiers of function bodies: names used in a body that no local or parameter declares.

These are the candidates for variable accesses (Accessible relationships, ``406_2``). A lexical
scan is enough here and much cheaper than walking every identifier node: comments and strings
are blanked, and names that cannot be variables (members after ``.``/``->``, callees, tags
after ``struct``, labels, ALL-CAPS macro-style names, keywords) are skipped.
"""

from __future__ import annotations

import re

from kernel_lsp.parse.facts import Span, VarUse
from kernel_lsp.parse.lines import Lines, blank, newline_first

# Comments, literals and directive lines (those from the newline before them:
# ``lines.newline_first``).
_NOISE = re.compile(rb'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\''
                    rb"|\n[ \t]*#(?:[^\n]*\\\n)*[^\n]*", re.S)
# A lower-case identifier that is not a member, a tag, a label, a goto's target or a callee.
# The character class comes first and the lookbehinds look past it: the engine then tries only
# offsets holding such a character.
_IDENT = re.compile(
    rb"([a-z_](?<![\w.>#][a-z_])(?<!->[a-z_])(?<!struct [a-z_])(?<!union [a-z_])"
    rb"(?<!enum [a-z_])(?<!goto [a-z_])[A-Za-z0-9_]*)\b(?!\s*\()(?!\s*:[^:])"
)
# An identifier token that is not a member or a directive's word (``\w`` before it cannot match:
# a scan sees each token from its first byte only).
_TOKEN = re.compile(rb"[A-Za-z_](?<![\w.>#][A-Za-z_])(?<!->[A-Za-z_])\w*")
KEYWORDS = frozenset(b"""
auto break case char const continue default do double else enum extern float for goto if inline
int long register restrict return short signed sizeof static struct switch typedef union
unsigned void volatile while _Bool bool true false typeof asm __asm__ __volatile__ volatile
__typeof__ _Alignof alignof _Static_assert static_assert _Generic __auto_type __label__ defined
""".split())


def _blank(m: re.Match) -> bytes:
    return blank(m.group(0))


def free_identifiers(src: bytes, bodies, locals_: dict[str, set[str]],
                     lines: Lines | None = None) -> list[VarUse]:
    """First use per function of each free identifier, for the (start, end, name) ``bodies``
    (``lines``: the ``Lines`` of ``src``, when the caller has them)."""
    if not bodies:
        return []
    clean = _NOISE.sub(_blank, newline_first(src))[1:] if (
        b"/*" in src or b"//" in src or b'"' in src or b"'" in src or b"#" in src) else src
    lines = lines or Lines(src)
    out: list[VarUse] = []
    for start, end, fn in bodies:
        body = clean[start:end]
        names = dict.fromkeys(_IDENT.findall(body))  # C-speed scan; positions only for survivors
        skip = KEYWORDS.union(n.encode() for n in locals_.get(fn, ()))
        wanted = [n for n in names if n not in skip and not n.endswith(b"_t")]
        first = _first_sites(body, wanted)
        for name in wanted:
            if name not in first:
                continue
            pos = start + first[name]
            line, col = lines.point(pos)
            out.append(VarUse(name.decode(), fn, Span(pos, pos + len(name), line, col, line,
                                                      col + len(name))))
    return out


def _first_sites(body: bytes, wanted: list[bytes]) -> dict[bytes, int]:
    """Offset in ``body`` of the first token of each ``wanted`` name that is not a member
    (after ``.`` or ``->``) or a directive's word. One scan of the tokens, stopped once every
    name is found: a search per name was quadratic in a body with thousands of names (41 s for
    one habanalabs file)."""
    need, first = set(wanted), {}
    if not need:
        return first
    for m in _TOKEN.finditer(body):
        name = m.group()
        if name in need:
            first[name] = m.start()
            need.discard(name)
            if not need:
                break
    return first

