"""Serve a keystroke inside one function body from that body alone: no full-length pass.

An edit strictly inside the body of a file-scope function ``F`` changes only the facts of that
body when the body stays *self-contained*: no directive line in it, its braces, parentheses and
comments balanced inside it, no macro-invocation-looking line at column 0, and nothing pending
(an open parenthesis, a brace) where it starts. Then the text the parser reads differs from the
old one inside the body only, and ``F`` alone (its header plus body, padded to its column) is
blanked, parsed and extracted; rows before the body stay, rows after it move by the edit's byte
and line deltas. Anything else returns None and the caller does the full update.

When the function has a syntax error after the keystroke, tree-sitter's error recovery in a
parse of the whole file can depend on text far from it (measured: an ``#include`` sixty lines
above changed how an error inside a body was read). The keystroke is then still served from the
body (parsed with the next items, which must come out as before), but the result is marked
*approximate*: the caller checks the whole file again when typing pauses.

``BodyIndex`` (built on every full update) says which bodies qualify and what the text state
at their start is; ``local_update`` is the per-keystroke path.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_right
from dataclasses import dataclass
from operator import attrgetter

from kernel_lsp.model.rows import ROW_TYPES, FactRows, fact_rows
from kernel_lsp.parse.extract import Extractor
from kernel_lsp.parse.filescope import MACRO_NAME
from kernel_lsp.parse.parser import reparse_blanked
from kernel_lsp.parse.preprocess import _PAREN_RE, close_paren, parser_text

_DIRECTIVE_LINE = re.compile(rb"^[ \t]*#", re.M)
_COLUMN0_CALL = re.compile(rb"^(?:static\s+)?[A-Za-z_]\w*[ \t]*\(", re.M)
# what ``preprocess.close_paren`` skips (quotes up to the closing one or the end of the line)
_PAREN_TOKEN = re.compile(rb"\"(?:\\[\s\S]|[^\"\\\n])*\"?|'(?:\\[\s\S]|[^'\\\n])*'?|[()]")
# comments, literals and whole directive lines are one token each (``blank_in_braces``)
_BRACE_TOKEN = re.compile(rb"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'"
                          rb"|^[ \t]*#(?:[^\n]*\\\n)*[^\n]*|[{}]", re.S | re.M)
# an unclosed ``/*``, or a ``*/`` that would close one opened before the body (tree-sitter
# reads an unclosed ``/*`` as operators: a ``*/`` typed later turns it into a comment), or a
# quote that opens no literal closed on its line (the lexer's recovery may run past the body)
_UNCLOSED_COMMENT = re.compile(rb"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'"
                               rb"|(/\*|\*/|[\"'])", re.S)
_DESCEND = ("translation_unit", "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
            "preproc_elifdef")
# the directive lines that open and close a conditional block
_CONDITIONAL = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|endif)\b", re.M)
_BYTE_FIELDS = ("start_byte", "end_byte")
_LINE_FIELDS = ("line", "end_line", "name_line")


@dataclass(frozen=True, slots=True)
class Body:
    """The body ``[start, end)`` of file-scope function ``name`` whose definition starts at
    ``item``; ``ok``: the text state at ``start`` lets an edit inside be served alone."""

    start: int
    end: int
    item: int
    name: str
    ok: bool
    top: bool = False  # a child of the translation unit itself (not of a preprocessor block)


# where the blanking and extraction passes start a ``close_paren`` scan: a macro-like call at
# the start of a line (any name at column 0, an upper-case one indented), an annotation
_SCAN_START = re.compile(rb"^(?:[ \t]+[A-Z_][A-Z0-9_]*|(?:static\s+)?[A-Za-z_]\w*)[ \t]*\(",
                         re.M)


def _paren_pending(text: bytes, points: list[int]) -> list[bool]:
    """Per sorted offset of ``points``: whether a parenthesis scan started before it reaches
    it (the scan's result then depends on the text there)."""
    starts = sorted({m.end() - 1 for m in _SCAN_START.finditer(text)}
                    | {m.end() - 1 for m in _PAREN_RE.finditer(text)})
    out, i, reach = [], 0, -1
    for point in points:
        while i < len(starts) and starts[i] < point:
            close = close_paren(text, starts[i])
            reach = max(reach, close if close >= 0 else len(text))
            i += 1
        out.append(reach >= point)
    return out


def _depths(steps, points: list[int]) -> list[int]:
    """The running sum of ``steps`` ((offset, +1/-1/0), ascending) at each of ``points``."""
    out, depth, i = [], 0, 0
    for at, step in steps:
        while i < len(points) and points[i] <= at:
            out.append(depth)
            i += 1
        depth += step
    out += [depth] * (len(points) - i)
    return out


def _brace_depths(text: bytes, points: list[int]) -> list[int]:
    step = {b"{": 1, b"}": -1}
    return _depths(((m.start(), step.get(m.group(), 0)) for m in _BRACE_TOKEN.finditer(text)),
                   points)


def _conditional_depths(text: bytes, points: list[int]) -> list[int]:
    """How many ``#if``/``#ifdef``/``#ifndef`` are open at each of ``points`` (ascending)."""
    return _depths(((m.start(), 1 if m.group(1) != b"endif" else -1)
                    for m in _CONDITIONAL.finditer(text)), points)


def _top_level_functions(tree) -> list[tuple]:
    """(``function_definition`` node, how many ``#if`` blocks of the tree hold it), outside
    any ERROR but the root (preprocessor blocks descended): a file tree-sitter reads as one
    ERROR node still has its functions."""
    out, stack = [], [(tree.root_node, 0)]
    while stack:
        node, depth = stack.pop()
        for child in node.children:
            if child.type == "function_definition":
                out.append((child, depth))
            elif child.type in _DESCEND:
                stack.append((child, depth + (child.type in ("preproc_if", "preproc_ifdef"))))
    return out


class BodyIndex:
    """The file-scope function bodies of a buffer that a keystroke may be served from alone."""

    def __init__(self, bodies: list[Body], items: list[tuple[int, int, str, bool]],
                 untrusted: bool = False):
        self.bodies = bodies
        self.starts = [b.start for b in bodies]
        self.items = items  # (start, end, type, has_error) of the translation unit's children
        # the root is an ERROR node: extraction trusts no type name anywhere in the file
        self.untrusted = untrusted

    def following(self, body: Body, count: int = 2) -> list[tuple[int, int, str, bool]]:
        """The top-level items after the function of ``body`` (a top one), up to the
        ``count``-th one that is not a comment."""
        i = j = bisect_right(self.items, (body.end, -1, "", False))
        while j < len(self.items) and count:
            count -= self.items[j][2] != "comment"
            j += 1
        return self.items[i:j]

    def clean_before(self, body: Body) -> bool:
        """Whether the top-level item before the function of ``body`` parsed without error
        (error recovery in the function could otherwise join the two)."""
        i = bisect_right(self.items, (body.item, -1, "", False)) - 1
        return i < 0 or not self.items[i][3]

    @classmethod
    def build(cls, tree, active: bytes, blanked: bytes, rows: FactRows) -> BodyIndex:
        names: dict[str, int] = {}
        for f in rows["functions"]:
            if f.parent is None and f.is_definition:
                names[f.name] = names.get(f.name, 0) + 1
        for i in rows["invocations"]:
            names[i.name] = names.get(i.name, 0) + 2  # a macro-made function: never alone
        found = []
        root = tree.root_node
        items = [(c.start_byte, c.end_byte, c.type, c.has_error) for c in root.children]
        for node, blocks in _top_level_functions(tree):
            body = node.child_by_field_name("body")
            if body is None or body.type != "compound_statement":
                continue
            name = _declared_name(node)
            found.append((body.start_byte, body.end_byte, node.start_byte, name,
                          node.parent == root, blocks))
        found.sort()
        points = [f[0] for f in found]
        pending = _paren_pending(active, points)
        depths = _brace_depths(blanked, points)
        # an ``#if`` typed with no ``#endif`` yet (open here, though no block of the tree holds
        # the function): the parser's recovery inside that region changes with any later edit
        opened = _conditional_depths(active, points)
        unclosed = _unclosed_comment(blanked)
        out = []
        for (s, e, item, name, top, blocks), p, d, c in zip(found, pending, depths, opened,
                                                             strict=True):
            ok = (name is not None and names.get(name) == 1 and not MACRO_NAME.match(name)
                  and not p and d == 0 and c == blocks and _rest_of_line_blank(active, e)
                  and s < unclosed)
            out.append(Body(s, e, item, name or "", ok, top))
        return cls(out, items, root.type == "ERROR")

    def holding(self, start: int, old_end: int) -> Body | None:
        """The body whose inside holds ``[start, old_end)`` (its braces excluded), if any."""
        i = bisect_right(self.starts, start) - 1
        if i < 0:
            return None
        b = self.bodies[i]
        return b if b.start < start and old_end < b.end else None

    def shifted(self, body: Body, delta: int) -> BodyIndex:
        """The index after an edit of ``delta`` bytes inside ``body``."""
        out = []
        for b in self.bodies:
            if b.start > body.start:
                b = Body(b.start + delta, b.end + delta, b.item + delta, b.name, b.ok, b.top)
            elif b is body:
                b = Body(b.start, b.end + delta, b.item, b.name, b.ok, b.top)
            out.append(b)
        items = [(s + delta, e + delta, t, x) if s > body.start else
                 (s, e + delta, t, x) if e >= body.end else (s, e, t, x)
                 for s, e, t, x in self.items]
        return BodyIndex(out, items, self.untrusted)


def _unclosed_comment(text: bytes) -> int:
    """Where the first ``/*`` that no ``*/`` closes starts (the length of ``text`` if none):
    tree-sitter reads it as operators, and a ``*/`` typed anywhere after it, even inside a
    string of a later body, turns all between into one comment."""
    for m in _UNCLOSED_COMMENT.finditer(text):
        if m.group(1) == b"/*":
            return m.start()
    return len(text)


def _declared_name(node) -> str | None:
    from kernel_lsp.parse.cnodes import function_declarator, text

    fdecl = function_declarator(node.child_by_field_name("declarator"))
    ident = fdecl.child_by_field_name("declarator") if fdecl is not None else None
    return text(ident) if ident is not None and ident.type == "identifier" else None


def _rest_of_line_blank(text: bytes, end: int) -> bool:
    nl = text.find(b"\n", end)
    return not text[end:nl if nl >= 0 else len(text)].strip()


def self_contained(piece: bytes) -> bool:
    """Whether a body's text ``{ ... }`` can be blanked and parsed on its own."""
    if _DIRECTIVE_LINE.search(piece) or _COLUMN0_CALL.search(piece, 1):
        return False
    depth = 0
    for m in _PAREN_TOKEN.finditer(piece):  # balanced, no stray ``)``: an error stays inside
        tok = m.group()
        if tok == b"(":
            depth += 1
        elif tok == b")":
            depth -= 1
            if depth < 0:
                return False
    if depth or piece.count(b"[") != piece.count(b"]"):
        return False
    if any(m.group(1) for m in _UNCLOSED_COMMENT.finditer(piece)):
        return False
    depth, last = 0, len(piece) - 1
    for m in _BRACE_TOKEN.finditer(piece):
        tok = m.group()
        if tok == b"{":
            depth += 1
        elif tok == b"}":
            depth -= 1
            if depth == 0 and m.start() != last:
                return False
        elif m.end() > last:
            return False
        if depth <= 0 and m.start() != last:
            return False
    return depth == 0


@dataclass
class LocalEdit:
    """What a keystroke served alone changed: the body (new offsets), the byte and line deltas
    and the rows of the body before and after."""

    body: Body  # after the edit
    old_end: int  # the body's end before the edit
    delta: int
    lines: int
    old_rows: FactRows  # rows inside the body, before
    new_rows: FactRows  # rows inside the body, after
    edit: tuple[int, int, int]  # (start, old_end, new_end) in the file's bytes
    prev_serial: int = 0  # the rows this edit was applied to (``OpenFile.serial``)
    approximate: bool = False  # the function has a syntax error: a full parse may differ


def diff(old: bytes, new: bytes) -> tuple[int, int, int]:
    """(start, old_end, new_end) of the one region where ``old`` and ``new`` differ."""
    from kernel_lsp.parse.buffer import _common_prefix, _common_suffix

    start = _common_prefix(old, new)
    tail = _common_suffix(old, new, min(len(old), len(new)) - start)
    return start, len(old) - tail, len(new) - tail


def local_update(path: str, buffer, index: BodyIndex, rows: FactRows, source: bytes,
                 timings: dict[str, float] | None = None):
    """(rows, index, LocalEdit) for ``source`` served from the edited body alone, or None.
    ``buffer`` (a ``parse.buffer.Buffer``) is updated only when the answer is not None;
    ``timings`` gets the seconds of its phases (``blank``, ``item``: parse and extraction of
    the function, ``splice``)."""
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        if timings is not None:
            timings[name] = now - clock[0]
        clock[0] = now

    if index.untrusted:
        return None  # the root is an ERROR node: whether ``Extractor`` trusts the function's
        # type names (an error-free island in it) depends on how the whole file is read
    old = buffer.source
    start, old_end, new_end = diff(old, source)
    body = index.holding(start, old_end)
    if body is None or not body.ok:
        return None
    delta = new_end - old_end
    new_body_end = body.end + delta
    old_piece, new_piece = old[body.start:body.end], source[body.start:new_body_end]
    if not (self_contained(old_piece) and self_contained(new_piece)):
        return None
    if _DIRECTIVE_LINE.search(source, body.item, body.start):
        return None
    old_blanked = buffer.blanked
    if _parser_text(old_piece) != old_blanked[body.start:body.end]:
        return None  # the body's blanking depends on its context
    blanked_piece = _parser_text(new_piece)
    lap("blank")
    following = index.following(body) if index.clean_before(body) else []
    got = _extract_item(path, source, old_blanked, body, new_body_end, blanked_piece,
                        following, delta)
    lap("item")
    if got is None:
        return None
    mine, item_row, approximate = got
    lines = source.count(b"\n", start, new_end) - old.count(b"\n", start, old_end)
    new_rows, inside_old = _splice(rows, body, delta, lines, mine, item_row)
    if new_rows is None:
        return None
    buffer.splice(source, (start, old_end, new_end, lines), body.start, body.end, blanked_piece)
    new_body = Body(body.start, new_body_end, body.item, body.name, True, body.top)
    edit = LocalEdit(new_body, body.end, delta, lines, inside_old, mine, (start, old_end, new_end),
                     approximate=approximate)
    index = index.shifted(body, delta)
    lap("splice")
    return new_rows, index, edit


# The last body blanked: typing in one function blanks its text as the new piece of one
# keystroke and again as the old piece of the next (about 1 ms each for a 6 KB body).
_last_blanked: tuple[bytes, bytes] = (b"", b"")


def _parser_text(piece: bytes) -> bytes:
    global _last_blanked
    last = _last_blanked
    if len(last[0]) == len(piece) and last[0] == piece:
        return last[1]
    blanked = parser_text(piece)
    _last_blanked = (piece, blanked)
    return blanked


def _extract_item(path: str, source: bytes, blanked: bytes, body: Body, body_end: int,
                  blanked_piece: bytes, following: list[tuple[int, int, str, bool]],
                  delta: int):
    """(rows inside the new body in file coordinates, the function's own row, whether the
    function has a syntax error) or None.

    The function alone is parsed; when that parse has errors, tree-sitter's recovery may reach
    past the body, so the next top-level items are parsed with it and must come out as
    before."""
    item = body.item
    line_start = source.rfind(b"\n", 0, item) + 1
    col = item - line_start
    pad = b" " * col
    parsed = pad + blanked[item:body.start] + blanked_piece
    tree = reparse_blanked(parsed, None)
    end = body_end
    broken = tree.root_node.has_error
    if broken:
        # the next items must come out as in the last full parse, without error: the body's
        # error did not reach them (an item with errors of its own may recover differently)
        if not body.top or not following or any(x for _s, _e, _t, x in following):
            return None
        end = following[-1][1] + delta
        parsed += blanked[body_end - delta:end - delta]
        tree = reparse_blanked(parsed, None)
    shift = item - col
    root = tree.root_node
    expect = [(item, body_end, "function_definition")] + [
        (s + delta, e + delta, t, x) for s, e, t, x in (following if end != body_end else ())]
    got = [(c.start_byte + shift, c.end_byte + shift, c.type, c.has_error)
           for c in root.children]
    if [got[0][:3]] + got[1:] != expect:
        return None
    fbody = root.children[0].child_by_field_name("body")
    if fbody is None or (fbody.start_byte + shift, fbody.end_byte + shift) != (body.start,
                                                                               body_end):
        return None
    # the function's own subtree only (the next items of a window are not extracted)
    facts = Extractor(path, pad + source[item:body_end], tree=_Subtree(root.children[0]),
                      env=None).run()
    got = fact_rows(facts)
    db, dl = shift, source.count(b"\n", 0, item)
    a, b = body.start, body_end
    for table in ("invocations", "variables", "macros", "includes", "hidden"):
        if any(r.start_byte + db < b for r in got[table]):
            return None
    if any(r.line + dl <= _line_of(source, b) for r in got["exports"]):
        return None
    mine: FactRows = {}
    own = [f for f in got["functions"] if f.parent is None and f.start_byte + db < b]
    if len(own) != 1 or own[0].name != body.name or not own[0].is_definition:
        return None
    for table, rws in got.items():
        if table not in _LAYOUT:
            continue
        mine[table] = [r for r in _MOVERS[table](rws, db, dl) if a < r.start_byte < b]
    return mine, _shift(own[0], "functions", db, dl), broken


class _Subtree:
    """A tree whose root is one node of another tree (what ``Extractor`` reads of a tree)."""

    def __init__(self, node):
        self.root_node = node


def _line_of(source: bytes, offset: int) -> int:
    return source.count(b"\n", 0, offset)


def _layout(table: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    fields = ROW_TYPES[table]._fields
    return (tuple(i for i, f in enumerate(fields) if f in _BYTE_FIELDS),
            tuple(i for i, f in enumerate(fields) if f in _LINE_FIELDS))


_LAYOUT = {t: _layout(t) for t in ROW_TYPES if "start_byte" in ROW_TYPES[t]._fields}


def _mover(table: str):
    """A function ``(rows, db, dl) -> rows`` moving every position of ``table``'s rows (a
    generated comprehension: thousands of rows move on every keystroke)."""
    bytes_at, lines_at = _LAYOUT[table]
    width = len(ROW_TYPES[table]._fields)
    parts = [f"r[{i}] + db" if i in bytes_at else f"r[{i}] + dl" if i in lines_at else f"r[{i}]"
             for i in range(width)]
    nullable = {i for i in bytes_at + lines_at if ROW_TYPES[table]._fields[i] != "start_byte"}
    parts = [f"(None if r[{i}] is None else {p})" if i in nullable else p
             for i, p in enumerate(parts)]
    code = f"lambda rows, db, dl: [new(cls, ({', '.join(parts)},)) for r in rows]"
    return eval(code, {"new": tuple.__new__, "cls": ROW_TYPES[table]})  # noqa: S307


_MOVERS = {t: _mover(t) for t in _LAYOUT}


def _shift(row, table: str, db: int, dl: int):
    return _MOVERS[table]((row,), db, dl)[0]


def _splice(rows: FactRows, body: Body, delta: int, lines: int, mine: FactRows, item_row):
    """(new rows of the file, old rows inside the body) or (None, None) when the function's
    own row does not match its old one."""
    a, b = body.start, body.end
    functions = rows["functions"]
    hit = [i for i, r in enumerate(functions) if r.parent is None and r.is_definition
           and r.name == body.name and r.end_byte == b and r.start_byte == body.item]
    if len(hit) != 1:
        return None, None
    old_row = functions[hit[0]]
    if old_row._replace(end_byte=b + delta, end_line=old_row.end_line + lines) != item_row:
        return None, None
    out: FactRows = {}
    inside: FactRows = {}
    for table, rws in rows.items():
        if table not in _LAYOUT:  # exports: lines only, at file scope (none after ``}``)
            last = old_row.end_line
            out[table] = [r._replace(line=r.line + lines) if r.line > last else r
                          for r in rws] if lines else list(rws)
            continue
        first = next((i for i, r in enumerate(rws) if r.start_byte > a), len(rws))
        after = next((i for i in range(first, len(rws)) if rws[i].start_byte >= b), len(rws))
        if all(r.start_byte > a for r in rws[first:]) and all(
                r.start_byte >= b for r in rws[after:]):  # in file order: three slices
            old_in = rws[first:after]
            moved = _MOVERS[table](rws[after:], delta, lines) if delta or lines else rws[after:]
            new = rws[:first] + mine.get(table, []) + moved
        else:
            new, old_in = _splice_unordered(table, rws, a, b, delta, lines, mine)
        if table == "functions":
            new = [item_row if r is old_row else r for r in new]
        elif table == "hidden" and delta:  # a branch that holds the body ends later or sooner
            new = [r._replace(end_byte=r.end_byte + delta) if r.start_byte <= a and (
                r.end_byte is not None and r.end_byte >= b) else r for r in new]
        inside[table] = old_in
        out[table] = new
    return out, inside


def _splice_unordered(table: str, rws: list, a: int, b: int, delta: int, lines: int,
                      mine: FactRows) -> tuple[list, list]:
    """``_splice`` of a table not in file order: the body's new rows where its first old one
    was (or before the first row after it), the others in place (those after it moved, in one
    batch)."""
    where = [0 if s <= a else 1 if s < b else 2 for s in map(_START, rws)]
    if delta or lines:
        moved = iter(_MOVERS[table]([r for r, w in zip(rws, where, strict=True) if w == 2],
                                    delta, lines))
        rws = [next(moved) if w == 2 else r for r, w in zip(rws, where, strict=True)]
    first = next((i for i, w in enumerate(where) if w), len(rws))
    rest = zip(rws[first:], where[first:], strict=True)
    old_in = [r for r, w in zip(rws, where, strict=True) if w == 1]
    return rws[:first] + mine.get(table, []) + [r for r, w in rest if w != 1], old_in


_START = attrgetter("start_byte")


def rows_changed_symbols(edit: LocalEdit) -> bool:
    """Whether the body's type definitions changed (they enter the symbol tables)."""
    def key(rws):
        return sorted((t.name, t.kind, t.is_definition, t.members) for t in rws)
    return key(edit.old_rows.get("types", [])) != key(edit.new_rows.get("types", []))
