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


def _json(value) -> str:
    """The JSON text of a list column (parameters, members, arguments): compact, as SQLite's
    ``json()`` writes it (schema 17 rewrote the older, spaced texts so)."""
    return json.dumps(value, separators=(",", ":"))


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


def _pos(s) -> dict:
    """Start byte, line and columns of a one-line span (a multi-line one is cut to one char)."""
    return {"start_byte": s.start_byte, "line": s.line, "col": s.col,
            "end_col": s.end_col if s.end_line == s.line else s.col + 1}


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


def _function(f) -> Function:
    ret_name, ret_kind = _typed(f.ret)
    params = _json([[p.name, *_typed(p.type)] for p in f.params])
    s, n = f.span, f.name_span
    return Function(
        name=f.name, is_definition=int(f.is_definition), storage=f.storage, inline=int(f.inline),
        ret_name=ret_name, ret_kind=ret_kind, params=params, signature=f.signature,
        start_byte=s.start_byte, end_byte=s.end_byte, line=s.line, col=s.col,
        end_line=s.end_line, end_col=s.end_col, name_line=n.line, name_col=n.col,
        name_end_col=n.end_col, parent=f.parent, generated_by=f.generated_by)


def _type(t) -> Type:
    members = _json([[m.name, *_typed(m.type), int(m.is_function)]
                          for m in t.members]) if t.members else None
    under_name, under_kind = _typed(t.underlying)
    s, n = t.span, t.name_span
    return Type(
        name=t.name, kind=t.kind, is_definition=int(t.is_definition), members=members,
        underlying_name=under_name, underlying_kind=under_kind, start_byte=s.start_byte,
        line=s.line, col=s.col, end_line=s.end_line, end_col=s.end_col, name_line=n.line,
        name_col=n.col, name_end_col=n.end_col, generated_by=t.generated_by)


def _variable(v) -> Variable:
    type_name, type_kind = _typed(v.type)
    n = v.name_span
    return Variable(
        name=v.name, storage=v.storage, is_definition=int(v.is_definition), type_name=type_name,
        type_kind=type_kind, start_byte=n.start_byte, line=n.line, col=n.col,
        end_col=n.end_col, generated_by=v.generated_by)


def plain_rows(rows: FactRows) -> dict[str, list[tuple]]:
    """``rows`` as plain tuples, for a pipe to the store (which reads them by position, in the
    order of ``schema.FACT_COLUMNS``): a named tuple pickles with its class, and a cold index of
    Linux sends 12 million rows from its workers; plain ones pickle and load twice as fast."""
    return {table: [tuple(r) for r in table_rows] for table, table_rows in rows.items()}


def fact_rows(facts) -> FactRows:
    """The named rows (without ``file_id``) of each fact table for one file's ``FileFacts``."""
    return {
        "functions": [_function(f) for f in facts.functions],
        "types": [_type(t) for t in facts.types],
        "variables": [_variable(v) for v in facts.variables],
        "calls": [Call(caller=c.caller, callee=c.callee, kind=c.kind,
                       via_macro=c.via[0] if c.via else None,
                       via_arg=c.via[1] if c.via else None,
                       via_args=c.via[2] if c.via else None, **_pos(c.span))
                  for c in facts.calls],
        "type_uses": [TypeUse(name=u.name, kind=u.kind, function=u.function, owner=u.owner,
                              need=u.need, more=_more(u.span.line, u.more),
                              via_macro=u.via[0] if u.via else None,
                              via_arg=u.via[1] if u.via else None,
                              via_type=int(u.via[2]) if u.via else None,
                              drops_owner=1 if u.drops_owner else None, **_pos(u.span))
                      for u in facts.type_uses],
        "var_uses": [VarUse(function=u.function, name=u.name, **_pos(u.span))
                     for u in facts.var_uses],
        "includes": [Include(target=i.target, angled=int(i.angled), resolved_id=None,
                             guard=i.guard,
                             **_pos(i.span)) for i in facts.includes],
        "macros": [Macro(name=m.name,
                         params=_json(list(m.params)) if m.params is not None else None,
                         body=m.body[:MACRO_BODY_LIMIT] if m.params is not None else
                         _object_body(m.body), **_pos(m.span)) for m in facts.macros],
        "exports": [Export(name=name, line=s.line, col=s.col) for name, s in facts.exports],
        "invocations": [Invocation(name=i.name,
                                   args=_json(list(i.args)) if i.args is not None else None,
                                   has_body=int(i.has_body), start_byte=i.span.start_byte,
                                   line=i.span.line, col=i.span.col) for i in facts.invocations],
        "hidden": [Hidden(name=name, kind=kind, end_byte=span.end_byte, **_pos(span))
                   for name, kind, span in facts.hidden],
    }
