"""Call hierarchy from the calls table: a function's definitions, its callers and its callees."""

from __future__ import annotations

from kernel_lsp.navigate.queries import (
    Scope,
    function_rows,
    name_loc,
    range_loc,
    site_loc,
    visible_macro,
)
from kernel_lsp.navigate.records import CallItem, Location, SymbolAt

MAX_ITEMS = 50  # definitions offered for one name when none is visible from the file


def _item(row: dict) -> CallItem:
    return CallItem(row["name"], "function", row["path"], range_loc(row), name_loc(row),
                    row["signature"] or row["name"])


def call_item(model, sym: SymbolAt | None, from_path: str) -> list[CallItem]:
    """The definition(s) of the function ``sym`` names, the most visible from ``from_path`` only
    (its own, else those in headers it includes, else the non-static ones elsewhere);
    prototypes when the model has no definition."""
    if sym is None or not sym.name or sym.kind in ("include", "local", "field", "type:base"):
        return []
    if sym.kind.startswith("type:"):
        return []
    scope = Scope(model, from_path)
    for definition in (True, False):
        rows = scope.order(function_rows(model, sym.name, definition))
        if rows:
            best = scope.rank(rows[0])
            rows = [r for r in rows if scope.rank(r) == best]
            return [_item(r) for r in rows[:MAX_ITEMS]]
    return []


def _own_row(model, item: CallItem) -> dict | None:
    """The model row of ``item`` (its file's definition or prototype on the item's name line)."""
    for row in function_rows(model, item.name, True) + function_rows(model, item.name, False):
        if row["path"] == item.path and row["name_line"] == item.selection.line:
            return row
    return None


def incoming_calls(model, item: CallItem) -> list[tuple[CallItem, list[Location]]]:
    """The functions calling ``item`` with their call sites (by name: a static ``item`` in a
    ``.c`` file is called from its file only; files with their own static namesake are left out)."""
    if item is None or not item.name:
        return []
    own = _own_row(model, item)
    static_here = own is not None and own["storage"] == "static" and not item.path.endswith(".h")
    namesakes = {r["file_id"] for r in function_rows(model, item.name, True)
                 if r["storage"] == "static" and (own is None or r["file_id"] != own["file_id"])}
    groups: dict[tuple[int, str], tuple[dict, dict]] = {}  # -> ({site: None}, {line: row})
    for (fid, path, caller, line, col, end_col), row in model.nav_callers(item.name):
        if caller is None or (static_here and fid != own["file_id"]) or (
                not static_here and fid in namesakes):
            continue
        sites, defs = groups.setdefault((fid, caller), ({}, {}))
        sites[site_loc(path, line, col, end_col)] = None
        if row is not None:
            defs[row["name_line"]] = row
    out = []
    for (_, caller), (sites, defs) in groups.items():
        locs = list(sites)
        out.append((_caller_item(caller, locs, list(defs.values())), locs))
    out.sort(key=lambda pair: (pair[0].path, pair[0].range.line))
    return out


def _caller_item(caller: str, sites: list[Location], rows: list[dict]) -> CallItem:
    """The definition among ``rows`` (the caller's in its file) that holds the call sites; the
    first site stands for it when the model has none (a body a macro opens)."""
    first = sites[0]
    for row in rows:
        if row["line"] <= first.line <= (row["end_line"] if row["end_line"] is not None
                                         else row["line"]):
            return _item(row)
    if rows:
        return _item(rows[0])
    return CallItem(caller, "function", first.path, first, first, caller)


def outgoing_calls(model, item: CallItem) -> list[tuple[CallItem, list[Location]]]:
    """The functions ``item`` calls, each resolved to one definition (same file first, then
    headers it includes, then non-static elsewhere), with the call sites; callees without a
    definition (macros, functions the model lacks) are left out."""
    if item is None or not item.name:
        return []
    fid = model.file_id(item.path)
    if fid is None:
        return []
    sites: dict[str, list[Location]] = {}
    for callee, line, col, end_col in model.nav_calls_from(
            fid, item.name, item.range.line, item.range.end_line):
        sites.setdefault(callee, []).append(site_loc(item.path, line, col, end_col))
    scope = Scope(model, item.path)
    out = []
    for callee, locs in sites.items():
        rows = scope.order(function_rows(model, callee, True))
        if not rows or scope.rank(rows[0]) == 3:
            continue
        if scope.rank(rows[0]) == 2 and visible_macro(model, callee, scope):
            continue  # a macro here; the function of that name is somewhere else
        out.append((_item(rows[0]), locs))
    return out
