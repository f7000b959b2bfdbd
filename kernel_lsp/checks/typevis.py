"""Type visibility (407_2): a type used where the use needs its declaration or its definition,
and none is visible there although the tree has one (the method's accessible relationship for
structs).

What a use needs (``TypeUse.need``): a typedef name needs a visible typedef (GCC: ``unknown type
name``); a struct/union/enum declared by value needs its definition (``storage size ... isn't
known``, ``field has incomplete type``), and so do ``sizeof`` (``invalid application of
'sizeof' to incomplete type``) and a member access through a typed local (``invalid use of
undefined type``). A pointer to an undeclared struct stays legal. A type defined nowhere is
020_2 (``checks/structure.py``), not this.
"""

from __future__ import annotations

from kernel_lsp.checks.inputs import CheckInputs, dropped_here, dropped_unit, unknown_header_seen
from kernel_lsp.findings import Finding
from kernel_lsp.model.rows import more_sites
from kernel_lsp.model.visibility import visible
from kernel_lsp.parse.facts import NEED_MEMBERS, NEED_NAME, NEED_SIZE, NEED_SIZEOF
from kernel_lsp.parse.macroargs import ArgNeeds

MESSAGES = {
    NEED_NAME: "unknown type name '{spelled}': {where}",
    NEED_SIZE: "'{spelled}' has incomplete type here: {where}",
    NEED_SIZEOF: "invalid application of 'sizeof' to incomplete type '{spelled}': {where}",
    NEED_MEMBERS: "invalid use of undefined type '{spelled}': {where}",
}


def check_type_visibility(ctx: CheckInputs) -> list[Finding]:
    needs = arg_needs(ctx)
    out: list[Finding] = []
    for fid, use in ctx.facts.type_uses_in(ctx.file_ids):
        defs = inaccessible(ctx, needs, fid, use)
        if not defs or unknown_header_seen(ctx, fid, use.start_byte, above=True):
            continue  # (a generated header in scope may define it, or include its header)
        typedef = use.kind == "typedef"
        spelled = use.name if typedef else f"{use.kind} {use.name}"
        homes = home_order(ctx, [t.file_id for t in defs])
        where = f"{defined_as(defs, typedef)} in {homes[0]}, which is not included before this use"
        if use.via_macro is not None:
            where = f"through {use.via_macro}(), {where}"
        out.append(Finding("407_2", ctx.path(fid), use.line, use.col, use.line, use.end_col,
                           use.name, MESSAGES[use.need].format(spelled=spelled, where=where),
                           {"kind": use.kind, "defined_in": homes, **also(use)}))
    return out


def arg_needs(ctx: CheckInputs) -> ArgNeeds:
    """What the macros' arguments need, read from their definitions as the checks ask."""
    syms = ctx.symbols
    return ArgNeeds(lambda name: [(params, body) for fid, params, body
                                  in syms.macro_definitions(name)
                                  if fid not in syms.foreign_ids], syms.macro_needs_memo)


def inaccessible(ctx: CheckInputs, needs: ArgNeeds, fid: int, use) -> list:
    """The definitions of the type of ``use`` when none is visible where the use needs one
    (a 407_2), else an empty list."""
    syms = ctx.symbols
    if not use.need or fid in ctx.hosted:
        return []
    if use.via_macro is not None and not _macro_needs(ctx, needs, fid, use):
        return []
    defs = type_definitions(ctx, fid, use)
    if not defs:
        return []  # defined nowhere: 020_2
    mask = ctx.visibility.before(fid, use.start_byte)
    # a definition seen there, or a visible macro standing for the type
    if any(_seen(t, fid, use.start_byte, mask) for t in (*defs, *(syms.macros.get(use.name) or ()))):
        return []
    if dropped_unit(ctx, fid, defs):
        return []  # a .c file another includes in a branch this configuration drops
    if fid in syms.off_ids and dropped_here(ctx, fid, mask, defs):
        return []  # what the configuration that builds this file keeps may define it
    return defs


def type_definitions(ctx: CheckInputs, fid: int, use) -> list:
    """What defines the type ``use`` needs, as file ``fid`` may reach it: its typedefs (a
    typedef name) or its definitions (a tag); for a typedef name with none, the object-like
    macros of headers that stand for it (``#define acpi_mutex void *``; kernel type macros are
    lower-case: an upper-case name read as a type is a macro of members or an annotation,
    ``#ifdef SOC_MAP_PAD`` / ``SOC_MAP_PAD`` / ``#endif`` in a struct)."""
    syms = ctx.symbols
    typedef = use.kind == "typedef"
    defs = [t for t in syms.native(syms.types.get(use.name) or [], fid)
            if (t.kind == "typedef") == typedef and (typedef or t.kind == use.kind)
            and (typedef or t.is_definition)]
    if not defs and typedef and use.need == NEED_NAME and not use.name.isupper():
        defs = [m for m in syms.macros.get(use.name) or () if not m.function_like
                and m.file_id not in syms.foreign_ids and syms.is_header(m.file_id)]
    return defs


def defined_as(defs: list, typedef: bool) -> str:
    """How the message says ``defs`` define the type."""
    if defs and hasattr(defs[0], "function_like"):
        return "defined as a macro"
    return "declared" if typedef else "defined"


def macro_needs_argument(needs: ArgNeeds, use) -> bool:
    """Whether the macro that ``use`` is an argument of needs that argument's struct
    complete (``use.via_macro``, ``use.via_arg``)."""
    got = needs.of(use.via_macro)
    return use.via_arg in (got.types if use.via_type else got.pointers)


def unparsed_bodies(ctx: CheckInputs) -> set[tuple[int, str]]:
    """(file, function) of the definitions whose parameter list names a typedef that is not
    visible there: the compiler reports the name (``unknown type name``) and then skips the
    whole body, so nothing inside it is reported (checked against GCC 12)."""
    names: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for fid, d in ctx.facts.definitions_in(ctx.file_ids):
        if d.kind == "func":
            names.setdefault((fid, d.name), []).append((d.line, d.col))
    needs, out = arg_needs(ctx), set()
    for fid, use in ctx.facts.type_uses_in(ctx.file_ids):
        if use.need != NEED_NAME or use.function is not None or use.owner is None:
            continue
        at = names.get((fid, use.owner))
        if not at or (fid, use.owner) in out:
            continue
        # in the parameter list: after a name of the function, and not right before one (the
        # return type of a definition that a prototype above declares too)
        here = (use.line, use.col)
        if any(p < here for p in at) and not any(
                p > here and p[0] - use.line <= 1 for p in at) and inaccessible(
                    ctx, needs, fid, use):
            out.add((fid, use.owner))
    return out


def _macro_needs(ctx: CheckInputs, needs: ArgNeeds, fid: int, use) -> bool:
    """Whether ``use``, an argument of the macro ``use.via_macro``, needs its struct complete:
    a definition of the macro is visible there (else the compiler reports the macro, not the
    struct) and the macro's body needs that argument (``parse/macroargs.py``)."""
    mask = ctx.visibility.before(fid, use.start_byte)
    if not any(m.function_like and _seen(m, fid, use.start_byte, mask)
               for m in ctx.symbols.macros.get(use.via_macro) or ()):
        return False
    return macro_needs_argument(needs, use)


def _seen(entry, fid: int, at: int, mask: int) -> bool:
    """Whether ``entry`` (a type or macro of the symbol table) is seen at byte ``at`` of
    ``fid``: above it in the file, or in a file visible there (``mask``)."""
    return entry.start_byte < at if entry.file_id == fid else visible(mask, entry.file_id)


def home_order(ctx: CheckInputs, fids) -> list[str]:
    """The paths of ``fids``, the one to name first: headers before ``.c`` files (a host tool's
    ``typedef ... u16;`` is no home for the kernel's ``u16``), the shared include directories
    (``include/``, ``arch/*/include/``) before a driver's own, then by path."""
    def key(path: str) -> tuple:
        shared = path.startswith("include/") or (path.startswith("arch/") and "/include/" in path)
        return (not path.endswith(".h"), not shared, path)
    return sorted({ctx.path(f) for f in fids}, key=key)


def also(use) -> dict:
    """``{"also": [[line, col, end_col], ...]}``: the later lines of ``use`` in its scope (one
    use per scope is stored and checked; the finding names each line, as a compiler reports
    each), or nothing."""
    width = use.end_col - use.col
    sites = [[line, col, col + width] for line, col in more_sites(use)]
    return {"also": sites} if sites else {}


def unit_context(ctx: CheckInputs, unit: int, edge) -> dict:
    """A finding's context naming the unit it is seen from and that unit's include line
    ``edge`` (the fix goes before it)."""
    return {"unit": ctx.path(unit), "unit_line": edge.line, "unit_col": edge.col,
            "unit_end_col": edge.end_col}
