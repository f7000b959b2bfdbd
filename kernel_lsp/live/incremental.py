"""Re-extract only the function body an edit touched, keeping the other bodies' rows.

Typing inside a function changes only the facts of that body. The file is re-extracted as a
*skeleton*: every other function body is blanked (same offsets, newlines kept), so file-scope
context (macros, types, prototypes) is intact while the parse and the walk cover one body. Rows
inside the other bodies come from the previous extraction, shifted by the edit. Anything else
(an edit at file scope, a change in the set of functions) returns None: extract it all.
"""

from __future__ import annotations

from kernel_lsp.model.store import fact_rows
from kernel_lsp.parse.extract import extract

# per table: (start_byte index, byte indexes to shift, line indexes to shift) in fact_rows tuples
_LAYOUT = {
    "functions": (8, (8, 9), (10, 12, 14)),
    "types": (6, (6,), (7, 9, 11)),
    "variables": (5, (5,), (6,)),
    "calls": (3, (3,), (4,)),
    "type_uses": (4, (4,), (5,)),
    "var_uses": (2, (2,), (3,)),
    "includes": (2, (2,), (3,)),
    "macros": (3, (3,), (4,)),
    "invocations": (3, (3,), (4,)),
}
_BLANK = bytes(b if b == 0x0A else 0x20 for b in range(256))
_DESCEND = ("translation_unit", "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
            "preproc_elifdef", "ERROR", "linkage_specification", "declaration_list")


def body_ranges(tree) -> list[tuple[int, int]]:
    """Byte ranges of the bodies of file-scope function definitions, in file order."""
    out, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        for child in reversed(node.children):
            if child.type == "function_definition":
                body = child.child_by_field_name("body")
                if body is not None:
                    out.append((body.start_byte, body.end_byte))
            elif child.type in _DESCEND:
                stack.append(child)
    out.sort()
    return out


def _touched(bodies_old, bodies_new, start, old_end, new_end) -> int | None:
    """Index of the one body holding the edit when every other body is unchanged, else None."""
    if len(bodies_old) != len(bodies_new):
        return None
    delta = new_end - old_end
    hit = None
    for i, ((os_, oe), (ns, ne)) in enumerate(zip(bodies_old, bodies_new, strict=True)):
        if os_ < start and old_end < oe and ns < start and new_end < ne and ns == os_:
            if ne - oe != delta:
                return None
            hit = i
        elif oe <= start:
            if (os_, oe) != (ns, ne):
                return None
        elif (os_ + delta, oe + delta) != (ns, ne) or os_ < old_end:
            return None
    return hit


def _inside(ranges: list[tuple[int, int]], pos: int) -> bool:
    lo, hi = 0, len(ranges)
    while lo < hi:
        mid = (lo + hi) // 2
        if ranges[mid][1] <= pos:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(ranges) and ranges[lo][0] < pos < ranges[lo][1]


def _shift(row: tuple, bytes_at, lines_at, db: int, dl: int) -> tuple:
    out = list(row)
    for i in bytes_at:
        if out[i] is not None:
            out[i] += db
    for i in lines_at:
        if out[i] is not None:
            out[i] += dl
    return tuple(out)


def reextract(path: str, source: bytes, tree, old_rows: dict, old_bodies: list,
              edit: tuple[int, int, int, int]) -> tuple[dict, list] | None:
    """(rows, bodies) for ``source`` reusing ``old_rows`` outside the edited body, or None."""
    start, old_end, new_end, dl = edit
    bodies = body_ranges(tree)
    hit = _touched(old_bodies, bodies, start, old_end, new_end)
    if hit is None:
        return None
    parts, pos = [], 0
    for i, (a, b) in enumerate(bodies):
        if i == hit:
            continue
        parts += [source[pos:a + 1], source[a + 1:b - 1].translate(_BLANK)]
        pos = b - 1
    parts.append(source[pos:])
    rows = fact_rows(extract(path, b"".join(parts)))
    others_old = [r for i, r in enumerate(old_bodies) if i != hit]
    others_new = [r for i, r in enumerate(bodies) if i != hit]
    db = new_end - old_end
    for table, (at, bytes_at, lines_at) in _LAYOUT.items():
        mine = [r for r in rows[table] if not _inside(others_new, r[at])]
        kept = [r if r[at] < start else _shift(r, bytes_at, lines_at, db, dl)
                for r in old_rows.get(table, ()) if _inside(others_old, r[at])]
        rows[table] = sorted(mine + kept, key=lambda r, at=at: r[at])
    return rows, bodies
