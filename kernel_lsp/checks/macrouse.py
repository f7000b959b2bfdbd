"""File-scope macro invocations with no definition of the macro visible (404_2).

``ACPI_GLOBAL(struct acpi_table_list, acpi_gbl_root_table_list);`` at file scope is a macro use
only where a definition of ``ACPI_GLOBAL`` is visible. Where none is, the compiler reads the
line as C: an old-style function declaration whose "parameters" are the arguments (GCC:
``unknown type name 'acpi_gbl_root_table_list'``, ``expected ')' before '(' token``, ``data
definition has no type or storage class``). The cause is the missing macro, so the finding
names it and the header that defines it (the include quick fix reads ``declared_in``), as
for a macro called inside a function (``checks/invocation.py``).

Only macros that some header of the tree defines are reported: a name defined nowhere may
come from a generated header the tree does not hold. Nor are macros of a header that some
``#include`` in a dropped ``#if`` branch names (``printk.h`` includes ``dynamic_debug.h`` only
under ``CONFIG_DYNAMIC_DEBUG``): the invocation may be built only in the configuration that
keeps that branch. Nor, in a header no file includes (in this configuration), anything.
"""

from __future__ import annotations

from kernel_lsp.checks.inputs import CheckInputs, dropped_unit, seen_at, unknown_header_seen
from kernel_lsp.checks.typevis import home_order
from kernel_lsp.findings import Finding


def check_macro_uses(ctx: CheckInputs) -> list[Finding]:
    """404_2 at the file-scope invocations of ``ctx.file_ids`` whose macro is not visible
    (a header's seen leniently, from what any includer provides: ``unitvis`` checks it as each
    unit includes it)."""
    out = []
    for fid, inv in ctx.facts.invocations_in(ctx.file_ids):
        if inv.args is None:
            continue  # an X-macro list alone on its line: a compiler reads nothing else there
        if fid in ctx.hosted or (ctx.symbols.is_header(fid)
                                 and not ctx.visibility.includers_for(fid)):
            continue  # a header built only in another configuration, if at all
        found = check_macro_use(ctx, fid, inv, ctx.visibility.before(fid, inv.start_byte))
        if found is not None:
            out.append(found)
    return out


def check_macro_use(ctx: CheckInputs, fid: int, inv, mask: int) -> Finding | None:
    """The finding of one file-scope invocation ``inv`` of ``fid`` seeing the files of ``mask``
    there, or None."""
    syms, name, start = ctx.symbols, inv.name, inv.start_byte
    every = syms.macros.get(name) or []
    if not every or syms.functions.get(name) or name in syms.variables:
        return None  # defined nowhere (a generated header?), or not only a macro
    if any(seen_at(f, s, fid, start, mask) for f, _fl, s in every) or unknown_header_seen(
            ctx, fid, start, above=True):
        return None  # (a generated header in scope may include its header)
    # a macro of another .c file is private to it: only a header's can be included
    macros = [m for m in syms.native(every, fid) if m.function_like and syms.is_header(m.file_id)]
    if not macros or dropped_unit(ctx, fid, macros) or any(
            _included_elsewhere(syms, fid, ctx.path(m.file_id)) for m in macros):
        return None  # another architecture's; or visible in another configuration
    headers = home_order(ctx, [m.file_id for m in macros])
    where = (ctx.path(fid), inv.line, inv.col, inv.line, inv.col + len(name))
    return Finding("404_2", *where, name,
                   f"macro '{name}' is not defined here, so this line is read as a declaration: "
                   f"it is defined in {headers[0]}, which is not included before this line",
                   {"declared_in": headers, "defined_in": [], "macro": True})


def _included_elsewhere(syms, fid: int, path: str) -> bool:
    """Whether an ``#include`` in a dropped ``#if`` branch may name the header at ``path``
    (``hidden`` kind ``header``, the target as written: any tail of the path), as ``fid`` is
    judged (``Symbols.hidden_at``)."""
    parts, hidden = path.split("/"), syms.hidden_at(fid)
    return any("header" in (hidden.get("/".join(parts[i:])) or ()) for i in range(len(parts)))
