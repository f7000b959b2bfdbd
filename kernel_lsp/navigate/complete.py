"""Completion at a point: the names visible there, or the members of the struct before ``->``/``.``.

Names are those a C compiler would accept at the point (``navigate/scope.py``): locals and
parameters in scope, the file's own declarations above the point, and everything declared in
the headers it includes above the point. After ``p->`` or ``s.``, the members of the struct of
``p`` (a local, parameter or global variable; typedefs and chains ``a->b.c`` followed) from the
model. After ``struct``/``union``/``enum``, only tags of that kind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from kernel_lsp.navigate.scope import Name, Point, declared_type, visible_names

MAX_ITEMS = 100  # a longer list is cut and marked incomplete: the client asks again as one
# types (clangd's default limit too)
_MEMBER = re.compile(rb"([A-Za-z_]\w*(?:\s*(?:->|\.)\s*[A-Za-z_]\w*)*)\s*(->|\.)\s*(\w*)$")
_TAG = re.compile(rb"\b(struct|union|enum)\s+(\w*)$")
_WORD = re.compile(rb"\w*$")
_NO_COMPLETION = {"comment", "string_literal", "string_content", "char_literal",
                  "system_lib_string", "number_literal"}
_RANK = {"local": 0, "parameter": 0}


@dataclass(frozen=True, slots=True)
class Completion:
    """One proposal: ``kind`` as ``scope.Name`` kinds plus ``method`` (a function-pointer
    member); ``rank`` 0 locals, 1 this file, 2 included headers, 3 members."""

    label: str
    kind: str
    detail: str | None
    rank: int


@dataclass(frozen=True, slots=True)
class Completions:
    items: list[Completion]
    incomplete: bool
    start: int  # byte offset (in the current text) where the word being completed starts


def complete(point: Point) -> Completions:
    """The completions at ``point`` (empty in comments, strings and numbers)."""
    before, cursor = point.line_before, point.cursor
    if _silent(point, before):
        return Completions([], False, cursor)
    member = _MEMBER.search(before)
    if member is not None:
        word = member.group(3)
        chain = re.split(rb"\s*(?:->|\.)\s*", member.group(1))
        items = member_completions(point, [c.decode() for c in chain], word.decode())
        return _finish(items, cursor - len(word))
    tag = _TAG.search(before)
    word = (tag.group(2) if tag else _WORD.search(before).group()).decode()
    if word[:1].isdigit():
        return Completions([], False, cursor)
    keep = None
    if tag is not None:
        kind = tag.group(1).decode()

        def keep(n: Name) -> bool:
            return n.kind == kind
    names = visible_names(point, word, MAX_ITEMS, keep)
    return _finish(_proposals(point, names), cursor - len(word.encode()))


def _silent(point: Point, before: bytes) -> bool:
    """Inside a comment, string or number, or on a preprocessor line other than #if/#define."""
    if re.match(rb"\s*#\s*(include|pragma|error|warning)\b", before):
        return True
    pos = max(point.offset - 1, 0)
    node = point.tree.root_node.descendant_for_byte_range(pos, pos)
    while node is not None:
        if node.type in _NO_COMPLETION:
            return node.start_byte < point.offset <= node.end_byte and not (
                node.type == "number_literal" and node.end_byte < point.offset)
        node = node.parent
    return False


def _proposals(point: Point, names: list[Name]) -> list[Completion]:
    out: list[Completion] = []
    seen: set[tuple[str, str]] = set()
    for n in names:
        kind = "macro" if n.kind == "macro()" else n.kind
        key = (n.name, "tag" if kind in ("struct", "union", "enum") else "ordinary")
        if key in seen:
            continue
        seen.add(key)
        rank = _RANK.get(n.kind, 1 if n.file_id == point.file_id else 2)
        detail = n.detail
        if n.kind == "macro()":
            detail = _macro_detail(n.name, n.detail)
        elif n.kind == "enumerator" and detail:
            detail = f"enum {detail}"
        out.append(Completion(n.name, kind, detail, rank))
    return out


def _macro_detail(name: str, params: str | None) -> str:
    try:
        return f"{name}({', '.join(json.loads(params or '[]'))})"
    except (ValueError, TypeError):
        return f"{name}(...)"


def _finish(items: list[Completion], start: int) -> Completions:
    items.sort(key=lambda c: (c.rank, c.label))
    return Completions(items[:MAX_ITEMS], len(items) > MAX_ITEMS, start)


# -- members -------------------------------------------------------------------------------------
def member_completions(point: Point, chain: list[str], prefix: str) -> list[Completion]:
    """Members of the struct/union that ``chain`` (``p``, ``p->a``, ``s.b.c``) designates."""
    base = declared_type(point, chain[0])
    if base is None:
        return []
    members = members_of(point, *base)
    for step in chain[1:]:
        entry = next((m for m in members if m[0] == step), None)
        if entry is None or not entry[1]:
            return []
        members = members_of(point, entry[2], entry[1])
    out = []
    for m in members:
        if m[0] and m[0].startswith(prefix):
            kind = "method" if len(m) > 3 and m[3] else "field"
            detail = (f"{m[2]} {m[1]}" if m[2] in ("struct", "union", "enum") else m[1])
            out.append(Completion(m[0], kind, detail, 3))
    return out


def members_of(point: Point, kind: str | None, name: str | None, depth: int = 0) -> list[list]:
    """The member list ``[[name, type, kind, is_function], ...]`` of struct/union ``name``
    (a typedef is followed to its struct), preferring a definition visible at the point."""
    if not name or kind not in ("struct", "union", "typedef") or depth > 8:
        return []
    rows = [r for r in (point.rows or {}).get("types", ()) if r.name == name]
    candidates = [(0, r.kind, r.is_definition, r.members, r.underlying_name, r.underlying_kind)
                  for r in rows]
    if point.model is not None:
        mask = point.mask
        for r in point.model.nav_types(name):
            seen = 1 if (mask >> r["file_id"]) & 1 else 2
            candidates.append((seen, r["kind"], r["is_definition"], r["members"],
                               r["underlying_name"], r["underlying_kind"]))
    candidates.sort(key=lambda c: c[0])
    for _, k, is_def, members, under, under_kind in candidates:
        if k != kind:
            continue
        if kind == "typedef":
            if under_kind in ("struct", "union", "typedef") and under:
                return members_of(point, under_kind, under, depth + 1)
            if members:  # typedef struct { ... } name;
                return _members(members)
            continue
        if is_def and members:
            return _members(members)
    return []


def _members(text: str) -> list[list]:
    try:
        return [m for m in json.loads(text) if isinstance(m, list) and m]
    except (ValueError, TypeError):
        return []

