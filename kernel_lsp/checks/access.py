"""Access checks (406_2): variables used where they are not accessible.

Two shapes: an ``extern`` declaration of a variable whose only definitions are ``static`` in
other files, and a use of a variable defined in another file with no declaration in scope.
"""

from __future__ import annotations

from kernel_lsp.checks.inputs import CheckInputs, dropped_unit
from kernel_lsp.checks.invocation import same_unit
from kernel_lsp.findings import Finding
from kernel_lsp.model.visibility import visible


def check_access(ctx: CheckInputs) -> list[Finding]:
    findings = _extern_of_static(ctx)
    findings += _undeclared_uses(ctx)
    return findings


def _definitions_elsewhere(ctx, name: str, fid: int):
    """Definitions of variable ``name`` in other .c files of this configuration."""
    entries = ctx.symbols.native(ctx.symbols.variables.get(name, []), fid)
    return [v for v in entries if v.is_definition and v.storage != "extern" and v.file_id != fid
            and not ctx.symbols.is_header(v.file_id)]


def _first_home(ctx, defs) -> str:
    """The first path defining ``defs`` (by path: not by the order files were indexed in)."""
    return min(ctx.path(d.file_id) for d in defs)


def _extern_of_static(ctx) -> list[Finding]:
    out = []
    for fid, v in ctx.facts.variables_in(ctx.file_ids):
        if v.storage != "extern" or v.is_definition:
            continue
        if ctx.symbols.is_header(fid):
            continue  # trusted: it may be defined where the model does not look (assembly)
        name = v.name
        defs = _definitions_elsewhere(ctx, name, fid)
        if defs and all(d.storage == "static" for d in defs) and not same_unit(ctx, fid, defs):
            home = _first_home(ctx, defs)
            out.append(Finding("406_2", ctx.path(fid), v.line, v.col, v.line, v.end_col, name,
                               f"variable '{name}' is static in {home}; an extern "
                               "declaration cannot reach it", {"static_in": home}))
    return out


def _undeclared_uses(ctx) -> list[Finding]:
    syms = ctx.symbols
    out = []
    for fid, use in ctx.facts.var_uses_in(ctx.file_ids):
        if fid in ctx.hosted:
            continue
        name, start = use.name, use.start_byte
        entries = syms.variables.get(name)
        if not entries or name in syms.functions or name in syms.macros \
                or name in syms.enumerators or name in syms.typedefs or name in syms.members:
            continue  # a member name is far more often a field or macro argument than a global
        mask = ctx.visibility.before(fid, start)
        seen = [v for v in entries if (v.file_id == fid and v.start_byte < start) or
                (v.file_id != fid and visible(mask, v.file_id))]
        defs = _definitions_elsewhere(ctx, name, fid)
        if not defs:
            continue
        all_static = all(d.storage == "static" for d in defs)
        if seen and not (all_static and all(v.storage == "extern" for v in seen)):
            continue  # declared in scope (an extern of a static is no declaration of it)
        if any(syms.is_header(v.file_id) for v in seen):
            continue  # a header's extern is trusted (``_extern_of_static``)
        if same_unit(ctx, fid, defs):
            continue
        if not all_static and dropped_unit(ctx, fid, [v for v in entries if v.file_id != fid
                                                      and not v.is_definition]):
            continue  # declared where a .c file includes this one in a branch dropped here
        if (not all_static and "variable" in (syms.hidden_at(fid).get(name) or ())) or (
                fid in syms.hidden_in.get(name, ())):
            continue  # declared in a branch this configuration drops: built only with it?
        if all_static:
            detail = f"is static in {_first_home(ctx, defs)}"
        else:
            detail = f"is defined in {_first_home(ctx, defs)} with no declaration in scope"
        out.append(Finding("406_2", ctx.path(fid), use.line, use.col, use.line, use.end_col, name,
                           f"variable '{name}' {detail}",
                           {"defined_in": sorted({ctx.path(d.file_id) for d in defs})}))
    return out
