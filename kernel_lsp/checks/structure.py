"""Type-structure checks: 020_2 for missing struct/union/enum/typedef names, 502_2/503_2 at the
definitions whose signature or members use them, and 504_2 for includes that resolve nowhere."""

from __future__ import annotations

from kernel_lsp.checks.inputs import CheckInputs, in_dead, unknown_header_seen
from kernel_lsp.checks.typevis import also
from kernel_lsp.findings import Finding
from kernel_lsp.model.resolve import is_compiler_header, is_generated, kbuild_named
from kernel_lsp.model.symbols import dropped_named, is_system_header
from kernel_lsp.model.visibility import visible
from kernel_lsp.parse.facts import NEED_SIZE

# Types the compiler provides without any declaration.
COMPILER_TYPES = frozenset("""
__builtin_va_list __int128 __int128_t __uint128_t _Float16 _Float32 _Float64 _Float128 __fp16
_Bool _Complex __label__ __auto_type __gnuc_va_list va_list
""".split())
_KIND_WORD = {"struct": "struct", "union": "union", "enum": "enum", "typedef": "type"}


def _missing(syms, name: str, kind: str) -> bool:
    if kind == "typedef":
        return not (name in syms.typedefs or name in COMPILER_TYPES or name in syms.macros)
    return (kind, name) not in syms.tags and name not in syms.macros


def _opaque(syms, name: str, kind: str) -> bool:
    """A struct/union/enum the tree declares (``struct dm_block;``) and never defines: an opaque
    handle by design, legal wherever only a pointer to it is used."""
    return kind != "typedef" and any(t.kind == kind for t in syms.types.get(name, ()))


def _object_in_scope(ctx: CheckInputs, fid: int, use) -> bool:
    """Whether ``use``'s name is declared as a function or variable where it stands: then it
    is no type name there (typedef names share the namespace of functions and objects)."""
    syms, start = ctx.symbols, use.start_byte
    entries = [(e.file_id, e.start_byte) for e in syms.functions.get(use.name, ())]
    entries += [(v.file_id, v.start_byte) for v in syms.variables.get(use.name, ())]
    if not entries:
        return False
    mask = ctx.visibility.before(fid, start)
    return any((f == fid and s < start) or (f != fid and visible(mask, f)) for f, s in entries)


def check_types(ctx: CheckInputs) -> list[Finding]:
    syms = ctx.symbols
    findings: list[Finding] = []
    owners: dict[tuple[int, str], list[str]] = {}
    scopes: dict[tuple, list] = {}  # (file, type, scope) -> its uses: one finding names them all
    for fid, use in ctx.facts.type_uses_in(ctx.file_ids):
        name, kind = use.name, use.kind
        if use.via_macro is not None:
            continue  # a macro's argument: 407_2 reads it (``DECLARE_TEST_OK(u64, struct t)``
            # may define the struct itself)
        if fid in ctx.hosted or not _missing(syms, name, kind):
            continue  # (a host program's types come from the C library's headers)
        if use.need < NEED_SIZE and _opaque(syms, name, kind):
            continue
        hidden = syms.hidden_at(fid).get(name) or ()
        if kind in hidden or (kind == "typedef" and "macro" in hidden):
            continue  # defined in a branch this configuration drops
        if kind == "typedef" and _object_in_scope(ctx, fid, use):
            continue  # an expression the grammar misread as a declaration (``f(min_t(...))``)
        if unknown_header_seen(ctx, fid, use.start_byte):
            continue  # a generated header the tree lacks is in scope: it may define it
        spelled = f"{kind} {name}" if kind != "typedef" else name
        scopes.setdefault((fid, name, kind, use.function, use.owner), []).append(use)
        if use.owner:
            owners.setdefault((fid, use.owner), []).append(spelled)
    for (fid, name, kind, _fn, _owner), uses in scopes.items():
        findings.append(_defined_nowhere(ctx.path(fid), name, kind, uses))
    if owners:
        findings += _structure_findings(ctx, owners)
    return findings


def _defined_nowhere(path: str, name: str, kind: str, uses: list) -> Finding:
    """020_2 at the first use of ``name`` in one scope, naming every later line there: a
    pointer declared on one line and dereferenced on the next are one missing type (the
    compiler reports the dereference)."""
    sites = sorted({(u.line, u.col, u.end_col) for u in uses} | {
        (line, col, end) for u in uses for line, col, end in also(u).get("also", ())})
    first, later, seen = sites[0], [], {sites[0][0]}
    for line, col, end in sites[1:]:
        if line not in seen:  # one site a line, its first
            seen.add(line)
            later.append([line, col, end])
    return Finding("020_2", path, first[0], first[1], first[0], first[2], name,
                   f"{_KIND_WORD[kind]} '{name}' is used but defined nowhere in the model",
                   {"kind": kind, **({"also": later} if later else {})})


def _structure_findings(ctx: CheckInputs, owners: dict[tuple[int, str], list[str]]) -> list[Finding]:
    """502_2 / 503_2 at the definition of each design type that uses a missing type."""
    out = []
    wanted_files = sorted({fid for fid, _ in owners})
    for fid, d in ctx.facts.definitions_in(wanted_files):
        kind, name, line, col, end_col = d.kind, d.name, d.line, d.col, d.end_col
        missing = owners.get((fid, name))
        if not missing:
            continue
        listed = ", ".join(f"'{m}'" for m in dict.fromkeys(missing))
        if kind == "func":
            out.append(Finding("502_2", ctx.path(fid), line, col, line, end_col, name,
                               f"function '{name}' has a parameter or return type that is "
                               f"missing: {listed}", {"missing": list(dict.fromkeys(missing))}))
        else:
            word = "typedef" if kind == "typedef" else kind
            out.append(Finding("503_2", ctx.path(fid), line, col, line, end_col, name,
                               f"{word} '{name}' is built on a missing type: {listed}",
                               {"missing": list(dict.fromkeys(missing))}))
        owners.pop((fid, name))  # report each owner once (a prototype and a definition)
    return out


def check_includes(ctx: CheckInputs) -> list[Finding]:
    out = []
    wanted = set(ctx.file_ids)
    unbuilt, named = ctx.symbols.unbuilt_ids, dropped_named(ctx.symbols)
    foreign = ctx.symbols.foreign_headers()
    for fid in sorted(wanted):
        if fid in unbuilt or fid in named and fid in ctx.hosted:
            continue  # another architecture's code, or a header this configuration never reads
        for edge in ctx.graph.get(fid, ()):
            if edge.resolved_id is None and _missing_header(ctx, fid, edge, foreign):
                out.append(Finding("504_2", ctx.path(fid), edge.line, edge.col, edge.line,
                                   edge.end_col, edge.target, f"#include '{edge.target}' "
                                   "resolves to no file on the include path"))
    return out


def _missing_header(ctx: CheckInputs, fid: int, edge, foreign: set[str]) -> bool:
    """Whether the unresolved include ``edge`` of ``fid`` names a header that should exist:
    not one the build writes, nor one in a branch no compiler reads, nor a C library header
    of a host program, nor another architecture's (``<asm/ps3.h>``: the file is its code),
    nor the compiler's intrinsics (``<arm_neon.h>``), nor a computed include whose macro
    names no header."""
    target = edge.target
    return not (is_generated(target) or kbuild_named(target, ctx.symbols.generated)
                or is_compiler_header(target)
                or in_dead(ctx.dead, fid, edge.start_byte)
                or fid in ctx.hosted and is_system_header(target)
                or target in foreign or target.isidentifier())
