"""Definitions, declarations and references of a symbol, by name, ranked by visibility from a file."""

from __future__ import annotations

import posixpath

from kernel_lsp.navigate.records import Location, SymbolAt

MAX_LOCATIONS = 100  # definitions/declarations listed at most (static namesakes can be hundreds)
MAX_REFERENCES = 20000


class Scope:
    """Ranks rows of the model by how visible they are from one file (0 best .. 3 worst).

    0: in the file itself; 1: in a file it includes (transitively); 2: a non-static function or
    variable elsewhere, or anything in a header it does not include; 3: static functions and
    variables, types and macros of other ``.c`` files (invisible from here).
    """

    def __init__(self, model, from_path: str | None):
        self.model = model
        self.fid = model.file_id(from_path) if from_path else None
        self.header = bool(from_path) and from_path.endswith(".h")
        self._visible: set[int] | None = None

    @property
    def visible(self) -> set[int]:
        if self._visible is None:
            self._visible = (self.model.nav_include_closure(self.fid)
                             if self.fid is not None else set())
        return self._visible

    def rank(self, row: dict) -> int:
        if row["file_id"] == self.fid:
            return 0
        if row["file_id"] in self.visible:
            return 1
        storage = row.get("storage")
        if storage is not None:
            return 3 if storage == "static" and not row["path"].endswith(".h") else 2
        return 2 if row["path"].endswith(".h") else 3

    def with_member(self, name: str, enum: bool) -> list[dict]:
        """Types having a member (``enum``: an enumerator) ``name``: those visible from the file
        (cheap, through the file index) or, when there are none, all of them (a table scan) —
        for enumerators only from a header, whose includes do not show what it uses."""
        if not name:
            return []
        if self.fid is not None:
            rows = self.model.nav_types_with_member(name, enum, self.visible)
            if rows or (enum and not self.header):
                return rows
        return self.model.nav_types_with_member(name, enum)

    def order(self, rows: list[dict]) -> list[dict]:
        """``rows`` best first; the invisible ones (rank 3) only when nothing better exists."""
        ranked = sorted(rows, key=lambda r: (self.rank(r), r["path"], r.get("line") or 0))
        if ranked and self.rank(ranked[0]) < 3:
            ranked = [r for r in ranked if self.rank(r) < 3]
        return ranked[:MAX_LOCATIONS]


# -- locations of model rows ---------------------------------------------------------------------
def name_loc(row: dict) -> Location:
    """The name of a function or type row (a macro-generated name may span lines: clamp it)."""
    line, col, end = row["name_line"], row["name_col"], row["name_end_col"]
    if end is None or end <= col:
        end = col + len(row["name"])
    return Location(row["path"], line, col, line, end)


def range_loc(row: dict) -> Location:
    """The whole definition or declaration of a function or type row."""
    end_line, end_col = row["end_line"], row["end_col"]
    if end_line is None or (end_line, end_col) < (row["line"], row["col"]):
        end_line, end_col = row["line"], row["col"]
    return Location(row["path"], row["line"], row["col"], end_line, end_col)


def line_loc(row: dict) -> Location:
    """The name of a variable or macro row."""
    end = row["end_col"] if row["end_col"] and row["end_col"] > row["col"] else (
        row["col"] + len(row["name"]))
    return Location(row["path"], row["line"], row["col"], row["line"], end)


def site_loc(path: str, line: int, col: int, end_col: int) -> Location:
    return Location(path, line, col, line, end_col if end_col > col else col + 1)


# -- the rows of a symbol, by category -----------------------------------------------------------
def function_rows(model, name: str, definition: bool) -> list[dict]:
    return [r for r in model.nav_functions(name) if bool(r["is_definition"]) == definition]


def type_rows(model, name: str, kind: str | None, definition: bool) -> list[dict]:
    rows = [r for r in model.nav_types(name) if bool(r["is_definition"]) == definition]
    exact = [r for r in rows if kind is None or r["kind"] == kind]
    return exact or (rows if kind == "typedef" else [])


def _functions(model, name, kind, definition, scope):
    return [(r, name_loc(r)) for r in function_rows(model, name, definition)]


def _types(model, name, kind, definition, scope):
    return [(r, name_loc(r)) for r in type_rows(model, name, kind, definition)]


def _variables(model, name, kind, definition, scope):
    return [(r, line_loc(r)) for r in model.nav_variables(name)
            if bool(r["is_definition"]) == definition]


def _macros(model, name, kind, definition, scope):
    return [(r, line_loc(r)) for r in model.nav_macros(name)] if definition else []


def _enumerators(model, name, kind, definition, scope):
    return [(r, name_loc(r)) for r in scope.with_member(name, True)] if definition else []


_LOOKUP = {
    "call": (_functions, _macros), "func": (_functions, _macros),
    "var": (_variables, _functions, _enumerators, _macros),
    "macro": (_macros, _enumerators, _variables, _functions),
    "enumerator": (_enumerators, _macros, _variables),
}


def type_kind(sym_kind: str) -> str | None:
    """``type:struct`` -> ``struct``; None for other symbol kinds."""
    return sym_kind.split(":", 1)[1] if sym_kind.startswith("type:") else None


def _lookups(kind: str):
    if kind.startswith("type:"):
        return (_types, _macros)
    return _LOOKUP.get(kind, _LOOKUP["var"])


def _find(model, sym: SymbolAt, from_path: str, definition: bool) -> list[Location]:
    """Rows of every category the kind suggests, ranked together (visibility first, then the
    category order); later categories are not searched once a visible row is found."""
    scope = Scope(model, from_path)
    tkind = type_kind(sym.kind)
    found: list[tuple[int, int, str, int, Location]] = []
    for order, lookup in enumerate(_lookups(sym.kind)):
        for row, loc in lookup(model, sym.name, tkind, definition, scope):
            found.append((scope.rank(row), order, row["path"], loc.line, loc))
        if found and min(f[0] for f in found) <= 1:
            break
    found.sort(key=lambda f: f[:4])
    if found and found[0][0] < 3:
        found = [f for f in found if f[0] < 3]
    return _unique([f[4] for f in found])[:MAX_LOCATIONS]


def visible_macro(model, name: str, scope: Scope) -> bool:
    """Whether a ``#define name`` is in the file or a header it includes."""
    return any(scope.rank(r) <= 1 for r in model.nav_macros(name))


def _unique(locs: list[Location]) -> list[Location]:
    return list(dict.fromkeys(locs))


# -- the public queries --------------------------------------------------------------------------
def definitions(model, sym: SymbolAt | None, from_path: str) -> list[Location]:
    """Where ``sym`` is defined, best first (same file, included headers, then the others)."""
    if sym is None or not sym.name:
        return []
    if sym.kind == "include":
        path = resolve_include(model, sym.name, from_path)
        return [Location(path, 0, 0, 0, 0)] if path else []
    if sym.kind == "local":
        return [sym.decl] if sym.decl else []
    if sym.kind == "type:base":
        return []
    if sym.kind == "field":
        scope = Scope(model, from_path)
        rows = scope.order(scope.with_member(sym.name, False))
        return _unique([name_loc(r) for r in rows])
    return _find(model, sym, from_path, True)


def declarations(model, sym: SymbolAt | None, from_path: str) -> list[Location]:
    """Prototypes, ``extern`` declarations and forward declarations; else the definitions."""
    if sym is None or not sym.name:
        return []
    if sym.kind in ("call", "func", "var") or sym.kind.startswith("type:"):
        found = _find(model, sym, from_path, False)
        if found:
            return found
    return definitions(model, sym, from_path)


def references(model, sym: SymbolAt | None, include_declaration: bool) -> list[Location]:
    """Recorded uses of ``sym`` by name (see docs/navigation.md for what is recorded)."""
    if sym is None or not sym.name:
        return []
    name, kind = sym.name, sym.kind
    locs: list[Location] = []
    if kind == "include":
        path = resolve_include(model, name, None)
        return [site_loc(p, ln, c, c + len(f"#include <{t}>"))  # the usual spelling
                for p, ln, c, t in model.nav_includers(path)] if path else []
    if kind == "local":
        return [sym.decl] if include_declaration and sym.decl else []
    if kind == "field":
        locs = [site_loc(p, ln, c, e) for _, p, _, ln, c, e in model.nav_calls_to(name, "member")]
    elif kind.startswith("type:"):
        tkind = type_kind(kind)
        locs = [site_loc(*r) for r in model.nav_type_uses(name, None if tkind == "typedef"
                                                          else tkind)]
        if include_declaration:
            locs += [name_loc(r) for r in model.nav_types(name) if tkind == "typedef"
                     or r["kind"] == tkind]
    else:
        locs = [site_loc(p, ln, c, e) for _, p, _, ln, c, e in model.nav_calls_to(name)]
        locs += [site_loc(*r) for r in model.nav_var_uses(name)]
        if include_declaration:
            locs += [name_loc(r) for r in model.nav_functions(name)]
            locs += [line_loc(r) for r in model.nav_variables(name)]
            locs += [line_loc(r) for r in model.nav_macros(name)]
    locs = sorted(set(locs), key=lambda x: (x.path, x.line, x.col))
    return locs[:MAX_REFERENCES]


def resolve_include(model, target: str, from_path: str | None) -> str | None:
    """The indexed file an ``#include`` of ``target`` in ``from_path`` reaches, if any.

    The model's own resolution of that line first; for lines it does not know (unsaved edits,
    or no ``from_path``), the includer's directory, ``include/``, then any path ending so.
    """
    if not target:
        return None
    fid = model.file_id(from_path) if from_path else None
    if fid is not None:
        hit = model.nav_resolved_include(fid, target)
        if hit:
            return hit
    candidates = ["include/" + target, "include/uapi/" + target]
    if from_path:
        here = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), target))
        candidates.insert(0, here.lstrip("/"))
    known = model.nav_paths_among(candidates)
    if known:
        return known[0]
    ending = model.nav_paths_ending(target.lstrip("./"), 1)
    return ending[0] if ending else None
