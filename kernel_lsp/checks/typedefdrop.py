"""Function-pointer typedefs a unit loses (407_2 at their later uses).

``typedef acpi_status (*acpi_object_converter)(...);`` needs ``acpi_status`` as a type name.
Where it is not one, GCC reads ``acpi_status`` as the declarator of an ``int`` typedef, fails
at ``(*`` (``expected declaration specifiers or '...' before '*' token``) and drops the whole
declaration: ``acpi_object_converter`` is then unknown in the rest of the unit, and each later
use is ``unknown type name 'acpi_object_converter'`` (checked against GCC 12). Without the
``(`` (``typedef u8 flag_t;``) GCC declares the name anyway and says nothing more.

``unitvis`` finds the return types a unit does not provide where such a typedef sits in one of
its headers (``TypeUse.drops_owner``); this module reports the uses of the lost typedefs that
the unit reads after it: later in that header, in headers the unit reads after it (that the
header does not include itself), and in the unit after the include that brings it in. A
typedef defined in other files too is left alone (one of those may be the one seen).
"""

from __future__ import annotations

from kernel_lsp.checks.inputs import CheckInputs
from kernel_lsp.checks.typevis import also, home_order, unit_context
from kernel_lsp.findings import Finding
from kernel_lsp.model.visibility import visible

# typedef name -> (header that defines it, the use of its return type there, what defines
# that return type, the unit's include line that brings the header in)
Dropped = dict[str, tuple[int, object, list, object]]


def dropped_typedef_uses(ctx: CheckInputs, unit: int, dropped: Dropped) -> list[Finding]:
    """407_2 at the uses of the typedefs ``unit`` loses (``dropped``), as the unit reads them."""
    syms = ctx.symbols
    lost = {name: d for name, d in dropped.items()
            if {t.file_id for t in syms.types.get(name) or () if t.kind == "typedef"} == {d[0]}}
    if not lost:
        return []
    order = _reading_order(ctx, unit)
    out = []
    for fid, use in ctx.facts.type_uses_in(list(order)):
        d = lost.get(use.name)
        if d is None or use.kind != "typedef" or not use.need or fid in ctx.hosted:
            continue
        header, ret, _defs, edge = d
        if fid == header:
            after = use.start_byte > ret.start_byte
        elif fid == unit:
            after = use.start_byte > edge.start_byte
        else:
            after = order[fid] > order[header] and not visible(
                ctx.visibility.closure(header), fid)
        if after:
            out.append(_finding(ctx, unit, fid, use, d))
    return out


def _reading_order(ctx: CheckInputs, unit: int) -> dict[int, int]:
    """File id -> when the preprocessor first enters it reading ``unit`` (the unit is 0)."""
    order: dict[int, int] = {}
    stack = [unit]
    while stack:
        fid = stack.pop()
        if fid in order:
            continue
        order[fid] = len(order)
        targets = [e.resolved_id for e in ctx.graph.get(fid) or () if e.resolved_id is not None]
        stack.extend(reversed(targets))
    return order


def _finding(ctx: CheckInputs, unit: int, fid: int, use, d) -> Finding:
    header, ret, defs, edge = d
    homes = home_order(ctx, [t.file_id for t in defs])
    where = (f"its typedef in {ctx.path(header)} (line {ret.line + 1}) returns '{ret.name}', "
             f"declared in {homes[0]}, which {ctx.path(unit)} does not include before line "
             f"{edge.line + 1} (#include {edge.target}), so the compiler drops that typedef")
    # the fix includes the return type's header before the unit's include line (also for a
    # use in the unit itself: including it there, after that line, would not bring the typedef)
    context = {"kind": "typedef", "returns": ret.name, "defined_in": homes, **also(use),
               **unit_context(ctx, unit, edge)}
    return Finding("407_2", ctx.path(fid), use.line, use.col, use.line, use.end_col, use.name,
                   f"unknown type name '{use.name}': {where}", context)
