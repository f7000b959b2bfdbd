"""Re-extract only the function body an edit touched, keeping the other bodies' rows.

Typing inside a function changes only the facts of that body. The file is re-extracted as a
*skeleton*: every other function body is blanked (same offsets, newlines kept), so file-scope
context (macros, types, prototypes) is intact while the parse and the walk cover one body. Rows
inside the other bodies come from the previous extraction, shifted by the edit. Anything else
(an edit at file scope, a change in the set of functions) returns None: extract it all.
"""

from __future__ import annotations

from kernel_lsp.model.rows import ROW_TYPES, fact_rows
from kernel_lsp.parse.extract import extract

_BYTE_FIELDS = ("start_byte", "end_byte")
_LINE_FIELDS = ("line", "end_line", "name_line")


def _layout(table: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(indexes of byte offsets, indexes of line numbers) in a row of ``table``."""
    fields = ROW_TYPES[table]._fields
    return (tuple(i for i, f in enumerate(fields) if f in _BYTE_FIELDS),
            tuple(i for i, f in enumerate(fields) if f in _LINE_FIELDS))


# tables whose rows are anchored by position (``exports`` has none and is always re-extracted)
_LAYOUT = {t: _layout(t) for t in ROW_TYPES if "start_byte" in ROW_TYPES[t]._fields}
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
    return row._make(out)


def reextract(path: str, source: bytes, tree, old_rows: dict, old_bodies: list,
              edit: tuple[int, int, int, int], env=None) -> tuple[dict, list] | None:
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
        if source.find(b"#", a + 1, b - 1) >= 0:
            return None  # a directive blanked with a body can change how the rest parses
        parts += [source[pos:a + 1], source[a + 1:b - 1].translate(_BLANK)]
        pos = b - 1
    parts.append(source[pos:])
    rows = fact_rows(extract(path, b"".join(parts), env=env))
    others_old = [r for i, r in enumerate(old_bodies) if i != hit]
    others_new = [r for i, r in enumerate(bodies) if i != hit]
    db = new_end - old_end
    for table, (bytes_at, lines_at) in _LAYOUT.items():
        mine = [r for r in rows[table] if not _inside(others_new, r.start_byte)]
        kept = [r if r.start_byte < start else _shift(r, bytes_at, lines_at, db, dl)
                for r in old_rows.get(table, ()) if _inside(others_old, r.start_byte)]
        rows[table] = sorted(mine + kept, key=lambda r: r.start_byte)
    return rows, bodies
