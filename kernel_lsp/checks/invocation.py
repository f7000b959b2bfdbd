"""Invocation checks: 020_2 (function defined nowhere), 404_2 (undeclared), 405_2 (static elsewhere).

A direct call ``f(...)`` inside a function is an invocation unless ``f`` is a local or parameter
(dropped at extraction), a builtin, or a macro. It is right when a declaration or definition of
``f`` is visible at the call: earlier in the same file, in a block-scope prototype of the calling
function, or in a header included (transitively) before the call.
"""

from __future__ import annotations

from collections import defaultdict

from kernel_lsp.checks.inputs import CheckInputs
from kernel_lsp.findings import Finding
from kernel_lsp.model.symbols import FuncSym
from kernel_lsp.model.visibility import visible


def _declared_here(syms: list[FuncSym], fid: int, pos: int, mask: int) -> bool:
    for s in syms:
        if s.file_id == fid:
            if s.start_byte < pos:
                return True
        elif visible(mask, s.file_id):
            return True
    return False


def _macro_visible(entries, fid: int, pos: int, mask: int) -> bool:
    return any((f == fid and start < pos) or (f != fid and visible(mask, f))
               for f, _fl, start in entries)


def check_invocations(ctx: CheckInputs) -> list[Finding]:
    syms = ctx.symbols
    local_protos: dict[tuple[int, str], list[tuple[str, int]]] = defaultdict(list)
    for fid, proto in ctx.facts.local_prototypes(ctx.file_ids):
        local_protos[(fid, proto.parent)].append((proto.name, proto.start_byte))
    findings = []
    for fid, call in ctx.facts.calls_in(ctx.file_ids):
        caller, callee, start = call.caller, call.callee, call.start_byte
        if caller is None or fid in ctx.hosted:
            continue  # file-scope macro uses; host programs calling the C library
        if any(n == callee and s < start for n, s in local_protos.get((fid, caller), ())):
            continue
        mask = ctx.visibility.before(fid, start)
        entries = syms.functions.get(callee)
        if entries and _declared_here(entries, fid, start, mask):
            continue
        if entries:
            entries = syms.native(entries, fid)
            if not entries:
                continue  # only other architectures or user-space tools define it
        if callee in syms.macros:
            # a macro use, visible or hidden behind configuration we do not evaluate
            continue
        if callee in syms.variables:
            continue  # a call through a global function pointer
        where = (ctx.path(fid), call.line, call.col, call.line, call.end_col)
        if not entries:
            findings.append(_finding("020_2", where, callee,
                                     f"function '{callee}' is called but defined and declared "
                                     "nowhere in the model"))
            continue
        others = [e for e in entries if e.file_id != fid]
        if others and all(e.storage == "static" for e in others):
            home = ctx.path(others[0].file_id)
            findings.append(_finding("405_2", where, callee,
                                     f"function '{callee}' is static in {home} and cannot be "
                                     "invoked from here",
                                     {"static_in": sorted({ctx.path(e.file_id) for e in others})}))
            continue
        findings.append(_undeclared(ctx, where, callee, entries))
    return findings


def _undeclared(ctx, where, callee: str, entries: list[FuncSym]) -> Finding:
    syms = ctx.symbols
    headers = sorted({ctx.path(e.file_id) for e in entries
                      if syms.is_header(e.file_id) and e.storage != "static"})
    defined = sorted({ctx.path(e.file_id) for e in entries
                      if e.is_definition and e.storage != "static"})
    if headers:
        detail = f"declared in {headers[0]}, which is not included before the call"
    else:
        detail = f"defined in {defined[0] if defined else ctx.path(entries[0].file_id)} " \
                 "with no declaration in scope"
    return _finding("404_2", where, callee,
                    f"implicit declaration of function '{callee}': {detail}",
                    {"declared_in": headers, "defined_in": defined})


def _finding(code: str, where, symbol: str, message: str, context: dict | None = None) -> Finding:
    path, line, col, end_line, end_col = where
    return Finding(code, path, line, col, end_line, end_col, symbol, message, context or {})
