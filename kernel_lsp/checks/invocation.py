"""Invocation checks: 020_2 (function defined nowhere), 404_2 (undeclared), 405_2 (static elsewhere).

A direct call ``f(...)`` inside a function is an invocation unless ``f`` is a local or parameter
(dropped at extraction) or a builtin. It is right when a declaration or definition of ``f`` is
visible at the call (earlier in the same file, in a block-scope prototype of the calling
function, or in a header included, transitively, before the call), or when ``f`` is a
function-like macro whose definition is visible there. Being declared is not being invocable:
a function whose only definitions are ``static`` in other ``.c`` files is 405_2 whatever
prototypes are in scope (the method's invocable relationship; the linker agrees).
"""

from __future__ import annotations

from collections import defaultdict

from kernel_lsp.checks.inputs import (
    CheckInputs,
    dropped_here,
    dropped_unit,
    macro_seen,
    seen_at,
    unknown_header_seen,
)
from kernel_lsp.checks.pasting import Pasting
from kernel_lsp.checks.typevis import home_order
from kernel_lsp.findings import Finding
from kernel_lsp.model.symbols import FuncSym
from kernel_lsp.model.visibility import visible


def check_invocations(ctx: CheckInputs) -> list[Finding]:
    local_protos: dict[tuple[int, str], list[tuple[str, int]]] = defaultdict(list)
    for fid, proto in ctx.facts.local_prototypes(ctx.file_ids):
        local_protos[(fid, proto.parent)].append((proto.name, proto.start_byte))
    findings = []
    syms = ctx.symbols
    pasting = Pasting(lambda name: [d for d in syms.macro_definitions(name)
                                    if d[0] not in syms.foreign_ids])
    for fid, call in ctx.facts.calls_in(ctx.file_ids):
        caller, callee, start = call.caller, call.callee, call.start_byte
        if caller is None or fid in ctx.hosted:
            continue  # file-scope macro uses; host programs calling the C library
        if any(n == callee and s < start for n, s in local_protos.get((fid, caller), ())):
            continue
        mask = ctx.visibility.before(fid, start)
        found = check_call(ctx, fid, call, mask)
        if found is not None and not pasting.unmakes(  # ``er32(TXDCTL(0))``
                call, lambda f, fid=fid, mask=mask: f == fid or visible(mask, f), fid):
            findings.append(found)
    return findings


def check_call(ctx: CheckInputs, fid: int, call, mask: int) -> Finding | None:
    """The finding of one direct call of ``fid`` seeing the files of ``mask`` there, or None."""
    syms, callee, start = ctx.symbols, call.callee, call.start_byte
    if (fid, start) in syms.ifdef_calls.get(callee, ()):
        return None  # under ``#elif defined(callee)``: a macro, visible, wherever it is built
    where = (ctx.path(fid), call.line, call.col, call.line, call.end_col)
    every = syms.functions.get(callee) or []
    declared = [e for e in every if seen_at(e.file_id, e.start_byte, fid, start, mask)]
    entries = syms.native(every, fid)
    if declared:
        return _static_elsewhere(ctx, where, callee, fid, entries, declared, mask)
    if macro_seen(ctx, callee, fid, start, mask):
        return None  # a macro use
    # a macro of another .c file is private to it: only a header's can be included
    macros = [m for m in syms.native(syms.macros.get(callee) or [], fid)
              if syms.is_header(m.file_id)]
    if callee in syms.variables:
        return None  # a call through a global function pointer
    if not entries and not macros:
        if syms.functions.get(callee) or syms.macros.get(callee):
            return None  # only other architectures, user-space tools or other programs do
        if syms.hidden_at(fid).get(callee):
            return None  # defined in a branch this configuration drops: built only with it?
        if any(syms.functions.get(m) for m in syms.renamed_as(fid, callee)):
            return None  # ``#define __ei_open ax_ei_open`` then ``#include "lib8390.c"``
        if unknown_header_seen(ctx, fid, start):
            return None  # a generated header the tree lacks is in scope: it may define it
        return _finding("020_2", where, callee, f"function '{callee}' is called but defined and "
                        "declared nowhere in the model")
    if fid in syms.off_ids and dropped_here(ctx, fid, mask, entries or macros, callee):
        return None  # what the configuration that builds this file keeps may declare it
    # (a generated header above the call may declare it, or include the header that does: an
    # ``.asn1.h`` includes ``<linux/asn1_decoder.h>``; it cannot make another file's static
    # function callable)
    if not entries:
        if dropped_unit(ctx, fid, macros) or unknown_header_seen(ctx, fid, start, above=True):
            return None  # defined above, in the configuration that builds this
        return _undeclared_macro(ctx, where, callee, macros)
    static_only = _static_elsewhere(ctx, where, callee, fid, entries, [], mask)
    if static_only is not None:
        return static_only
    if dropped_unit(ctx, fid, entries) or fid in ctx.symbols.hidden_in.get(callee, ()) or (
            unknown_header_seen(ctx, fid, start, above=True)):
        return None  # declared above, in the configuration that builds this
    return _undeclared(ctx, where, callee, entries)


def _static_elsewhere(ctx: CheckInputs, where, callee: str, fid: int, entries: list[FuncSym],
                      declared: list[FuncSym], mask: int) -> Finding | None:
    """405_2 when every definition of ``callee`` is ``static`` in a ``.c`` file other than the
    caller's and not included by it, whatever prototypes the caller's own file writes. A
    prototype in a header is trusted: the function may be defined where the model does not
    look (assembly, a generated file)."""
    defs = [e for e in entries if e.is_definition]
    if not defs or any(e.storage != "static" for e in defs):
        return None
    if any(e.file_id == fid and e.storage == "static" for e in declared) or (
            fid in ctx.symbols.hidden_in.get(callee, ())):
        return None  # the file's own function (a static prototype; a dropped #if branch)
    if any(ctx.symbols.is_header(e.file_id) and not e.is_definition for e in declared):
        return None
    reachable = [e for e in defs if e.file_id == fid or ctx.symbols.is_header(e.file_id)
                 or visible(mask, e.file_id)]
    if reachable:
        return None  # defined in this file, or in a header (a static inline): visible or 404_2
    if not declared and any(ctx.symbols.is_header(e.file_id) for e in entries):
        return None
    if same_unit(ctx, fid, defs):
        return None
    homes = sorted({ctx.path(e.file_id) for e in defs})
    return _finding("405_2", where, callee, f"function '{callee}' is static in {homes[0]} and "
                    "cannot be invoked from here", {"static_in": homes})


def same_unit(ctx: CheckInputs, fid: int, defs: list) -> bool:
    """Whether one of ``defs`` is in a translation unit ``fid`` is part of: a ``.c`` file that
    another ``.c`` file includes (``wl.c`` includes ``fastmap-wl.c``) shares its statics, also
    when the ``#include`` sits in a branch this configuration drops (the included file is then
    built only inside its includer, never on its own)."""
    if ctx.symbols.is_header(fid):
        return False
    unit = ctx.visibility.unit(fid)
    return any(e.file_id != fid and visible(unit, e.file_id) for e in defs) or dropped_unit(
        ctx, fid, defs)


def _undeclared(ctx: CheckInputs, where, callee: str, entries: list[FuncSym]) -> Finding:
    syms = ctx.symbols
    # the header to name first: a shared one (include/...) before a program's own
    headers = home_order(ctx, [e.file_id for e in entries if syms.is_header(e.file_id)])
    defined = sorted({ctx.path(e.file_id) for e in entries
                      if e.is_definition and e.storage != "static"})
    if headers:
        detail = f"declared in {headers[0]}, which is not included before the call"
    else:
        detail = f"defined in {defined[0] if defined else min(ctx.path(e.file_id) for e in entries)} " \
                 "with no declaration in scope"
    return _finding("404_2", where, callee,
                    f"implicit declaration of function '{callee}': {detail}",
                    {"declared_in": headers, "defined_in": defined})


def _undeclared_macro(ctx: CheckInputs, where, callee: str, macros: list) -> Finding:
    """A function-like macro that exists, with no definition visible at the call."""
    headers = home_order(ctx, [f for f, _fl, _s in macros if ctx.symbols.is_header(f)])
    detail = (f"a macro defined in {headers[0]}, which is not included before the call" if headers
              else f"a macro defined only in {min(ctx.path(m[0]) for m in macros)}")
    return _finding("404_2", where, callee, f"implicit declaration of function '{callee}': "
                    f"{detail}", {"declared_in": headers, "defined_in": [], "macro": True})


def _finding(code: str, where, symbol: str, message: str, context: dict | None = None) -> Finding:
    path, line, col, end_line, end_col = where
    return Finding(code, path, line, col, end_line, end_col, symbol, message, context or {})
