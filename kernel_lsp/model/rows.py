"""Named row types of the model: one per fact table, generated from ``schema.FACT_COLUMNS``.

A file's facts travel as ``dict[table, list[Row]]`` (see ``store.fact_rows``) from the extractor
to the database, to editor overlays and to the checks; the query methods the checks use return
``(file_id, Row)`` pairs. Rows are tuples (cheap to pickle and insert) with field names, so no
reader depends on a column's position: a migration that adds a column changes only the schema.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from typing import NamedTuple

from kernel_lsp.model.schema import FACT_COLUMNS

MACRO_BODY_LIMIT = 16000  # characters of a function-like macro's body that are stored
# An object-like macro's body is stored only when it names a header (a computed include's).
_HEADER_NAME = re.compile(r"^\s*[<\"][^>\"]+[>\"]\s*$")
# ... and when it is one identifier: an alias of another macro (``#define TRACE_EVENT_RCU
# TRACE_EVENT_NOP``), expanded as that macro where it is invoked with arguments.
_ALIAS = re.compile(r"^\s*[A-Za-z_]\w*\s*$")
# ... and when it is an X-macro list: the same macro called twice or more, one call after the
# other (``#define MBOX_MESSAGES M(READY, 0x001, ready, ...) M(ATTACH_RESOURCES, ...) ...``),
# which a file invokes bare after defining that macro (``model/expand.py``).
_LIST_CALL = re.compile(r"\)\s*([A-Za-z_]\w*)\s*\(")
LIST_BODY_LIMIT = 1 << 16


def is_macro_list(body: str) -> bool:
    """Whether an object-like macro's body is an X-macro list (see ``_LIST_CALL``)."""
    if "(" not in body:
        return False
    first = re.match(r"\s*(?:/\*.*?\*/\s*)*([A-Za-z_]\w*)\s*\(", body, re.S)
    return first is not None and first.group(1) in _LIST_CALL.findall(body)


def _object_body(body: str) -> str | None:
    """What is stored of an object-like macro's body (None: nothing)."""
    if _HEADER_NAME.match(body) or _ALIAS.match(body):
        return body[:MACRO_BODY_LIMIT]
    return body[:LIST_BODY_LIMIT] if is_macro_list(body) else None


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # (json.dumps would make one per call)


def _json(value) -> str:
    """The JSON text of a list column (parameters, members, arguments): compact, as SQLite's
    ``json()`` writes it (schema 17 rewrote the older, spaced texts so)."""
    return _ENCODER.encode(value)


Function = namedtuple("Function", FACT_COLUMNS["functions"])
Type = namedtuple("Type", FACT_COLUMNS["types"])
Variable = namedtuple("Variable", FACT_COLUMNS["variables"])
Call = namedtuple("Call", FACT_COLUMNS["calls"])
TypeUse = namedtuple("TypeUse", FACT_COLUMNS["type_uses"])
VarUse = namedtuple("VarUse", FACT_COLUMNS["var_uses"])
Include = namedtuple("Include", FACT_COLUMNS["includes"])
Macro = namedtuple("Macro", FACT_COLUMNS["macros"])
Export = namedtuple("Export", FACT_COLUMNS["exports"])
Invocation = namedtuple("Invocation", FACT_COLUMNS["invocations"])
Hidden = namedtuple("Hidden", FACT_COLUMNS["hidden"])

ROW_TYPES = {"functions": Function, "types": Type, "variables": Variable, "calls": Call,
             "type_uses": TypeUse, "var_uses": VarUse, "includes": Include, "macros": Macro,
             "exports": Export, "invocations": Invocation, "hidden": Hidden}

FactRows = dict[str, list[tuple]]  # table -> rows of ``ROW_TYPES[table]``


class IncludeEdge(NamedTuple):
    """One ``#include`` line of a file as the include graph holds it (in file order)."""

    start_byte: int
    resolved_id: int | None  # the included file, None when it resolves to nothing
    target: str
    line: int
    col: int
    end_col: int
    guard: str | None = None  # ``Include.guard``: under an undecided ``#ifndef guard``
    angled: int = 0  # 1: ``#include <...>``; 0: ``"..."``


class Definition(NamedTuple):
    """Where a file defines a design type: a file-scope function or a struct/union/enum/typedef."""

    kind: str  # "func" | "struct" | "union" | "enum" | "typedef"
    name: str
    line: int
    col: int
    end_col: int


def _more(first: int, sites) -> str | None:
    """``TypeUse.more`` as stored: ``lines-below:col`` per site (relative: a row moved by an
    edit above it keeps its sites right)."""
    return " ".join(f"{line - first}:{col}" for line, col in sites) or None


def more_sites(use) -> list[tuple[int, int]]:
    """The later (line, col) of a stored type use in the same scope (``TypeUse.more``)."""
    out = []
    for site in (use.more or "").split():
        below, col = site.split(":")
        out.append((use.line + int(below), int(col)))
    return out


def _typed(t) -> tuple[str | None, str | None]:
    return (t.name, t.kind) if t is not None else (None, None)


def _params(f) -> str:
    return _json([[p.name, *_typed(p.type)] for p in f.params])


def _members(t) -> str | None:
    return _json([[m.name, *_typed(m.type), int(m.is_function)]
                  for m in t.members]) if t.members else None


def _macro_params(m) -> str | None:
    return _json(list(m.params)) if m.params is not None else None


def _macro_body(m) -> str | None:
    return m.body[:MACRO_BODY_LIMIT] if m.params is not None else _object_body(m.body)


# What each column of a fact table's row is, as a Python expression of one fact ``f`` of
# ``FileFacts`` (a ``parse.facts`` object, or a tuple for ``exports`` and ``hidden``), of its span
# ``s`` and of its name's span ``n``. ``_builder`` compiles them, in ``FACT_COLUMNS`` order, into
# one function per table that makes a file's rows as plain tuples: a cold index of Linux makes 12
# million rows, and a named tuple made with keywords cost ten times a plain one.
_AT = {"start_byte": "s.start_byte", "line": "s.line", "col": "s.col",
       "end_col": "(s.end_col if s.end_line == s.line else s.col + 1)"}  # a one-line span
_VIA = {"via_macro": "(f.via[0] if f.via else None)", "via_arg": "(f.via[1] if f.via else None)"}
_COLUMNS: dict[str, tuple[str, dict[str, str]]] = {  # table: (its spans, its columns)
    "functions": ("s, n = f.span, f.name_span", {
        "name": "f.name", "is_definition": "int(f.is_definition)", "storage": "f.storage",
        "inline": "int(f.inline)", "ret_name": "_typed(f.ret)[0]", "ret_kind": "_typed(f.ret)[1]",
        "params": "_params(f)", "signature": "f.signature", "start_byte": "s.start_byte",
        "end_byte": "s.end_byte", "line": "s.line", "col": "s.col", "end_line": "s.end_line",
        "end_col": "s.end_col", "name_line": "n.line", "name_col": "n.col",
        "name_end_col": "n.end_col", "parent": "f.parent", "generated_by": "f.generated_by"}),
    "types": ("s, n = f.span, f.name_span", {
        "name": "f.name", "kind": "f.kind", "is_definition": "int(f.is_definition)",
        "members": "_members(f)", "underlying_name": "_typed(f.underlying)[0]",
        "underlying_kind": "_typed(f.underlying)[1]", "start_byte": "s.start_byte",
        "line": "s.line", "col": "s.col", "end_line": "s.end_line", "end_col": "s.end_col",
        "name_line": "n.line", "name_col": "n.col", "name_end_col": "n.end_col",
        "generated_by": "f.generated_by"}),
    "variables": ("n = f.name_span", {
        "name": "f.name", "storage": "f.storage", "is_definition": "int(f.is_definition)",
        "type_name": "_typed(f.type)[0]", "type_kind": "_typed(f.type)[1]",
        "start_byte": "n.start_byte", "line": "n.line", "col": "n.col", "end_col": "n.end_col",
        "generated_by": "f.generated_by"}),
    "calls": ("s = f.span", {
        "caller": "f.caller", "callee": "f.callee", "kind": "f.kind", **_VIA,
        "via_args": "(f.via[2] if f.via else None)", **_AT}),
    "type_uses": ("s = f.span", {
        "name": "f.name", "kind": "f.kind", "function": "f.function", "owner": "f.owner",
        "need": "f.need", "more": "_more(s.line, f.more)", **_VIA,
        "via_type": "(int(f.via[2]) if f.via else None)",
        "drops_owner": "(1 if f.drops_owner else None)", **_AT}),
    "var_uses": ("s = f.span", {"function": "f.function", "name": "f.name", **_AT}),
    "includes": ("s = f.span", {
        "target": "f.target", "angled": "int(f.angled)", "resolved_id": "None",
        "guard": "f.guard", **_AT}),
    "macros": ("s = f.span", {
        "name": "f.name", "params": "_macro_params(f)", "body": "_macro_body(f)", **_AT}),
    "exports": ("s = f[1]", {"name": "f[0]", "line": "s.line", "col": "s.col"}),
    "invocations": ("s = f.span", {
        "name": "f.name", "args": "(_json(list(f.args)) if f.args is not None else None)",
        "has_body": "int(f.has_body)", "start_byte": "s.start_byte", "line": "s.line",
        "col": "s.col"}),
    "hidden": ("s = f[2]", {
        "name": "f[0]", "kind": "f[1]", "end_byte": "s.end_byte", **_AT}),
}


def _builder(table: str):
    """The function making ``table``'s rows (plain tuples) of a ``FileFacts``, from
    ``_COLUMNS``."""
    spans, exprs = _COLUMNS[table]
    if set(exprs) != set(FACT_COLUMNS[table]):
        raise ValueError(f"{table}: the columns read are not the table's fact columns")
    row = ", ".join(exprs[c] for c in FACT_COLUMNS[table])
    code = (f"def build(facts):\n    out = []\n    for f in facts.{table}:\n"
            f"        {spans}\n        out.append(({row},))\n    return out\n")
    namespace = {"_typed": _typed, "_params": _params, "_members": _members, "_more": _more,
                 "_macro_params": _macro_params, "_macro_body": _macro_body, "_json": _json}
    exec(compile(code, f"<rows of {table}>", "exec"), namespace)
    return namespace["build"]


_BUILDERS = {table: _builder(table) for table in ROW_TYPES}


def fact_tuples(facts) -> dict[str, list[tuple]]:
    """``fact_rows`` as plain tuples, for a pipe to the store (which reads them by position, in
    the order of ``schema.FACT_COLUMNS``): a named tuple pickles with its class, and a cold
    index of Linux sends 12 million rows from its workers; plain ones pickle and load twice as
    fast."""
    return {table: build(facts) for table, build in _BUILDERS.items()}


def fact_rows(facts) -> FactRows:
    """The named rows (without ``file_id``) of each fact table for one file's ``FileFacts``."""
    return {table: list(map(ROW_TYPES[table]._make, rows))
            for table, rows in fact_tuples(facts).items()}
