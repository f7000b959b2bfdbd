"""What is visible at a point of a file: its own declarations above the point, the headers it
includes above it (transitively, from the model), and the locals and parameters in scope.

This is the C compiler's view that completion, signature help and member access need. Files'
names are read from the model once per file (``nav_file_names``) and kept sorted, so a prefix
is a bisection per visible file. The point's visibility is a bitset of file ids
(``model.visibility``), computed by the caller's include graph (an open buffer's own includes
count, not its stored file's).
"""

from __future__ import annotations

import heapq
import json
import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from kernel_lsp.model.visibility import bits
from kernel_lsp.parse.cnodes import declarator_name, function_declarator, text, type_ref

# kinds of names: function struct union enum typedef variable macro macro() enumerator
#                 local parameter field


@dataclass(frozen=True, slots=True)
class Name:
    """A declared name: ``kind`` as above, ``detail`` (signature, type, enum, parameters)."""

    name: str
    kind: str
    detail: str | None = None
    file_id: int | None = None


class FileNames:
    """Sorted names of each stored file, read per file on first use (one model at a time)."""

    def __init__(self, model):
        self.model = model
        self.files: dict[int, tuple[list[str], list[Name]]] = {}

    def load(self, file_ids: list[int]) -> None:
        missing = [f for f in file_ids if f not in self.files]
        if not missing:
            return
        per_file: dict[int, list[Name]] = {f: [] for f in missing}
        for fid, name, kind, detail, _start in self.model.nav_file_names(missing):
            if name:
                per_file[fid].append(Name(name, kind, detail, fid))
        for fid, names in per_file.items():
            names.sort(key=lambda n: n.name)
            self.files[fid] = ([n.name for n in names], names)

    def iter_prefix(self, fid: int, prefix: str) -> Iterator[Name]:
        """The names of file ``fid`` starting with ``prefix``, in name order."""
        keys, names = self.files.get(fid, ((), ()))
        i = bisect_left(keys, prefix)
        while i < len(keys) and keys[i].startswith(prefix):
            yield names[i]
            i += 1


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def file_names(model) -> FileNames:
    """The per-model cache of file names (a reloaded model starts a fresh one)."""
    got = _CACHE.get(model)
    if got is None:
        got = _CACHE[model] = FileNames(model)
    return got


@dataclass
class Point:
    """A point in a file, with everything needed to say what is visible there.

    ``source`` is the text as it is now and ``cursor`` the point in it. ``tree`` and ``rows``
    (the file's own fact rows, ``rows.fact_rows`` shape) may be those of a slightly older text
    (the editor's last check, before the word being typed): ``offset`` is the point in *their*
    coordinates, the same as ``cursor`` when they are current. ``visible(pos)`` gives the
    bitset of the files whose declarations are visible at ``pos`` (file itself included)."""

    model: object
    path: str
    file_id: int | None
    source: bytes
    cursor: int
    tree: object  # tree-sitter tree (of the text ``rows`` and ``offset`` belong to)
    offset: int
    rows: dict | None
    visible: Callable[[int], int]
    _mask: int | None = field(default=None, repr=False)

    @property
    def mask(self) -> int:
        if self._mask is None:
            self._mask = self.visible(self.offset) if self.file_id is not None else 0
        return self._mask

    @property
    def line_before(self) -> bytes:
        """The text of the cursor's line before the cursor (as it is now)."""
        return self.source[self.source.rfind(b"\n", 0, self.cursor) + 1:self.cursor]

    def visible_files(self) -> list[int]:
        """Visible files other than this one (their whole file-scope declarations count)."""
        return [f for f in bits(self.mask) if f != self.file_id]


def older_offset(old: bytes, new: bytes, cursor: int) -> int:
    """Where ``cursor`` (an offset in ``new``) falls in ``old``, the text before one edit: the
    same before the edit, shifted after it, the edit's start inside it."""
    if old == new:
        return cursor
    limit = min(len(old), len(new))
    lo, hi = 0, limit
    while lo < hi:  # common prefix, by halving (C-speed slice compares)
        mid = (lo + hi + 1) // 2
        if old[:mid] == new[:mid]:
            lo = mid
        else:
            hi = mid - 1
    start = lo
    if cursor <= start:
        return cursor
    lo, hi = 0, limit - start
    while lo < hi:  # common suffix
        mid = (lo + hi + 1) // 2
        if old[len(old) - mid:] == new[len(new) - mid:]:
            lo = mid
        else:
            hi = mid - 1
    new_end = len(new) - lo
    return cursor - (len(new) - len(old)) if cursor >= new_end else start


def own_names(point: Point) -> Iterator[Name]:
    """The file's own file-scope declarations above the point (from its rows)."""
    if point.rows is None:
        return
    off = point.offset
    for f in point.rows.get("functions", ()):
        if f.parent is None and f.start_byte < off:
            yield Name(f.name, "function", f.signature, point.file_id)
    for t in point.rows.get("types", ()):
        if t.start_byte < off:
            yield Name(t.name, t.kind, t.underlying_name, point.file_id)
            if t.kind == "enum" and t.members:
                yield from _enumerators(t, point.file_id)
    for v in point.rows.get("variables", ()):
        if v.start_byte < off:
            yield Name(v.name, "variable", v.type_name, point.file_id)
    for m in point.rows.get("macros", ()):
        if m.start_byte < off:
            yield Name(m.name, "macro" if m.params is None else "macro()", m.params,
                       point.file_id)


def _enumerators(t, fid) -> Iterator[Name]:
    try:
        for m in json.loads(t.members):
            yield Name(m[0], "enumerator", t.name, fid)
    except (ValueError, TypeError, IndexError):
        return


def visible_names(point: Point, prefix: str, limit: int | None = None,
                  keep: Callable[[Name], bool] | None = None) -> list[Name]:
    """The names starting with ``prefix`` visible at the point (and ``keep`` accepts): locals
    and parameters in scope, the file's own declarations above the point, then the included
    headers' in name order; with ``limit``, the headers' stop after ``limit + 1`` distinct
    names (a short prefix matches tens of thousands on a kernel file)."""
    out = [n for n in (*locals_at(point), *own_names(point))
           if n.name.startswith(prefix) and (keep is None or keep(n))]
    if point.model is None:
        return out
    others = point.visible_files()
    names = file_names(point.model)
    names.load(others)
    distinct: set[str] = set()
    for n in heapq.merge(*(names.iter_prefix(f, prefix) for f in others), key=_by_name):
        if keep is not None and not keep(n):
            continue
        if limit is not None and n.name not in distinct:
            if len(distinct) > limit:
                break
            distinct.add(n.name)
        out.append(n)
    return out


def _by_name(n: Name) -> str:
    return n.name


# -- locals and parameters from the syntax tree --------------------------------------------------
def enclosing_function(tree, offset: int):
    """The ``function_definition`` node around byte ``offset``, or None."""
    node = tree.root_node.descendant_for_byte_range(max(offset - 1, 0), max(offset - 1, 0))
    while node is not None and node.type != "function_definition":
        node = node.parent
    return node


def locals_at(point: Point) -> list[Name]:
    """Parameters of the enclosing function and locals declared before the point in the blocks
    that hold it (innermost first)."""
    func = enclosing_function(point.tree, point.offset)
    if func is None:
        return []
    out: list[Name] = []
    node = point.tree.root_node.descendant_for_byte_range(max(point.offset - 1, 0),
                                                          max(point.offset - 1, 0))
    while node is not None and node != func:
        if node.type in ("compound_statement", "for_statement"):
            for stmt in node.named_children:
                if stmt.start_byte >= point.offset:
                    break
                if stmt.type == "declaration":
                    out += _declared(stmt, "local")
        node = node.parent
    fdecl = function_declarator(func.child_by_field_name("declarator"))
    params = fdecl.child_by_field_name("parameters") if fdecl is not None else None
    for p in params.named_children if params is not None else ():
        if p.type == "parameter_declaration":
            out += _declared(p, "parameter")
    return out


def _declared(decl, kind: str) -> list[Name]:
    """Names a declaration (or parameter) node declares, with the type as detail."""
    ref = type_ref(decl.child_by_field_name("type"))
    detail = None if ref is None else (ref.name if ref.kind in ("base", "typedef")
                                       else f"{ref.kind} {ref.name}")
    out = []
    for d in decl.children_by_field_name("declarator"):
        if function_declarator(d) is not None:
            continue
        ident = declarator_name(d)
        if ident is not None and ident.type == "identifier":
            out.append(Name(text(ident), kind, detail))
    return out


def declared_type(point: Point, name: str) -> tuple[str, str] | None:
    """(kind, name) of the type a local, parameter or global variable ``name`` is declared
    with at the point (``struct``/``union``/``typedef``), or None."""
    func = enclosing_function(point.tree, point.offset)
    if func is not None:
        found = _local_type(point, func, name)
        if found is not None:
            return found
    for v in (point.rows or {}).get("variables", ()):
        if v.name == name and v.type_name and v.start_byte < point.offset:
            return v.type_kind, v.type_name
    if point.model is None:
        return None
    mask = point.mask
    for row in point.model.nav_variables(name):
        if row["type_name"] and (mask >> row["file_id"]) & 1:
            return row["type_kind"], row["type_name"]
    return None


def _local_type(point: Point, func, name: str) -> tuple[str, str] | None:
    node = point.tree.root_node.descendant_for_byte_range(max(point.offset - 1, 0),
                                                          max(point.offset - 1, 0))
    decls = []
    while node is not None and node != func:
        if node.type in ("compound_statement", "for_statement"):
            decls += [s for s in node.named_children
                      if s.type == "declaration" and s.start_byte < point.offset]
        node = node.parent
    fdecl = function_declarator(func.child_by_field_name("declarator"))
    params = fdecl.child_by_field_name("parameters") if fdecl is not None else None
    decls += [p for p in (params.named_children if params is not None else ())
              if p.type == "parameter_declaration"]
    for decl in decls:
        for d in decl.children_by_field_name("declarator"):
            ident = declarator_name(d)
            if ident is not None and text(ident) == name:
                ref = type_ref(decl.child_by_field_name("type"))
                return (ref.kind, ref.name) if ref is not None else None
    return None
