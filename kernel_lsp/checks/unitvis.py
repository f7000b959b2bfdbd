"""Headers as each translation unit sees them (407_2 inside headers).

Many kernel headers use types they do not include themselves and rely on their includers
(``accommon.h`` expects ``<acpi/acpi.h>`` before it). ``typevis`` accepts such a use when *some*
includer provides the type; a unit that includes the header without it does not compile, and
the compiler reports in the header ("In file included from ..."). This check reports those
uses, in the header, for each unit checked.

A header's *context needs* are its type uses with a definition elsewhere in the tree and none
in the header above the use nor in what the header includes above it. For a unit (a file no
other file includes), a header of its include closure is seen after the unit's include line
that first brings it in: what the unit sees there, that include's whole closure included, must
provide each need. Taking the whole closure of that include as visible is lenient on purpose
(the order of headers inside one include's closure is not checked): no false finding from
an approximated order.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left

from kernel_lsp.checks.inputs import CheckInputs, dropped_here, macro_seen
from kernel_lsp.checks.invocation import check_call
from kernel_lsp.checks.macrouse import check_macro_use
from kernel_lsp.checks.typedefdrop import dropped_typedef_uses
from kernel_lsp.checks.typevis import (
    MESSAGES,
    also,
    arg_needs,
    defined_as,
    home_order,
    macro_needs_argument,
    type_definitions,
    unit_context,
)
from kernel_lsp.findings import Finding
from kernel_lsp.model.visibility import bits, visible
from kernel_lsp.parse.cexpr import evaluate

# ("type", TypeUse, [TypeSym] defining it, [file ids of macros of that name]),
# ("call", Call, what the header sees there itself) or ("macro", Invocation, the same)
_Need = tuple


def check_unit_headers(ctx: CheckInputs) -> list[Finding]:
    vis, syms = ctx.visibility, ctx.symbols
    # (another architecture's units, checked with the whole tree, are not this one's
    # includers: ``arch/x86/lib/csum-wrappers_64.c`` reads ``asm-generic/checksum.h`` its way)
    units = [fid for fid in ctx.file_ids if fid not in ctx.hosted and not syms.is_header(fid)
             and fid not in syms.foreign_ids and not vis.includers_for(fid)]
    if not units:
        return []
    needs: dict[int, list[_Need]] = {}
    loaded = needy = 0  # bitsets: headers whose needs are known; those with some
    out: list[Finding] = []
    for unit in units:
        starts, masks = vis.prefixes(unit)
        closure = vis.closure(unit) & ~(1 << unit)
        fresh = bits(closure & ~loaded)
        if fresh:
            _kept_needs(ctx, fresh, needs)
            loaded |= closure
            for h in fresh:
                if needs[h]:
                    needy |= 1 << h
        dropped = {}  # function-pointer typedefs the unit loses (``typedefdrop``)
        for header in bits(closure & needy):
            k = _first_including(masks, header)
            if k is None:
                continue
            seen, edge = masks[k], ctx.graph.get(unit)[k]
            before = masks[k - 1] if k else (1 << unit) | vis.forced()
            where = _Where(ctx, unit, header, edge, before, seen)
            for need in needs[header]:
                if need[0] in _CHECKERS:
                    found = _call_finding(ctx, unit, header, edge, need, seen)
                    if found and not where.dead(need[1].start_byte):
                        out += found
                elif not any(visible(seen, f) for f in (*need[3], *(t.file_id for t in need[2]))):
                    if unit in syms.off_ids and dropped_here(ctx, unit, seen, need[2]):
                        continue  # what the configuration that builds the unit keeps has it
                    if where.dead(need[1].start_byte):
                        continue  # a branch of the header this unit does not compile
                    out.append(_finding(ctx, unit, header, edge, need[1], need[2]))
                    if need[1].drops_owner and need[1].owner:
                        dropped.setdefault(need[1].owner, (header, need[1], need[2], edge))
        if dropped:
            out += dropped_typedef_uses(ctx, unit, dropped)
    return out


def _kept_needs(ctx: CheckInputs, headers: list[int], needs: dict[int, list[_Need]]) -> None:
    """``_load_needs`` of ``headers``, those ``ctx.header_needs`` keeps taken from it (a
    header checked in this run, or read from a buffer, is always loaded: its facts may be
    filtered by the run, or change with the next keystroke), the others kept there."""
    memo = ctx.header_needs
    if memo is None:
        _load_needs(ctx, headers, needs)
        return
    never = ctx.buffers.union(ctx.file_ids)
    fresh = [h for h in headers if h in never or h not in memo]
    for h in headers:
        if h not in never and h in memo:
            needs[h] = memo[h]
    _load_needs(ctx, fresh, needs)
    memo.update((h, needs[h]) for h in fresh if h not in never)


def _load_needs(ctx: CheckInputs, headers: list[int], needs: dict[int, list[_Need]]) -> None:
    """The context needs of ``headers`` (see the module docstring), into ``needs``."""
    syms, vis = ctx.symbols, ctx.visibility
    for fid in headers:
        needs[fid] = []
    if not headers:
        return
    arg = arg_needs(ctx)
    for fid, use in ctx.facts.type_uses_in(headers):
        if not use.need or fid in ctx.hosted:
            continue
        if use.via_macro is not None and not macro_needs_argument(arg, use):
            continue  # a macro's argument that its body does not need complete
        defs = type_definitions(ctx, fid, use)
        if not defs or any(t.file_id == fid for t in defs):
            continue  # defined nowhere (020_2), or the header's own business (typevis)
        own = vis.own_before(fid, use.start_byte)
        # a macro of that name standing for a type counts where it is visible, not anywhere
        macros = [m[0] for m in syms.macros.get(use.name) or ()
                  if m[0] != fid or m[2] < use.start_byte]
        if not any(visible(own, f) for f in (*macros, *(t.file_id for t in defs))):
            needs[fid].append(("type", use, defs, macros))
    for fid, call in ctx.facts.calls_in(headers):
        if call.caller is None or fid in ctx.hosted:
            continue
        own = vis.own_before(fid, call.start_byte)
        found = check_call(ctx, fid, call, own)
        if found is not None and found.code == "404_2":
            needs[fid].append(("call", call, own))
    for fid, inv in ctx.facts.invocations_in(headers):
        if fid in ctx.hosted or inv.args is None:
            continue
        own = vis.own_before(fid, inv.start_byte)
        if check_macro_use(ctx, fid, inv, own) is not None:
            needs[fid].append(("macro", inv, own))


_CHECKERS = {"call": check_call, "macro": check_macro_use}


def _call_finding(ctx: CheckInputs, unit: int, header: int, edge, need: _Need, seen: int
                  ) -> list:
    """404_2 in ``header`` when the unit does not declare the callee (or define the macro) of
    ``need`` before ``edge``, whose files it sees with ``seen``."""
    kind, call, own = need
    found = _CHECKERS[kind](ctx, header, call, own | seen)
    if found is None or found.code != "404_2":
        return []
    message = (f"{found.message} (nor does {ctx.path(unit)} before line {edge.line + 1}, "
               f"#include {edge.target}, the include that brings this header in)")
    return [dataclasses.replace(found, message=message, context={
        **found.context, **unit_context(ctx, unit, edge)})]


class _Where:
    """A header as one unit includes it (with ``edge``, seeing ``before`` up to that include
    line and ``seen`` after it): ``dead(pos)``, whether ``pos`` is in a branch of the header
    kept on an undecided condition that is false in this unit. An ``#ifdef NAME`` branch
    where nothing the unit sees there defines NAME (``darla20.c`` includes ``echoaudio.c``
    without ``ECHOCARD_HAS_INPUT_GAIN``); an ``#ifndef NAME`` one where the unit defines NAME
    before the include line, itself or in a header it includes first (``au8820.c`` and
    ``#ifndef CHIP_AU8820`` in ``au88x0_core.c``); a comparison the unit's numbers make false
    (``#if HOST1X_HW >= 6`` in ``channel_hw.c``, included by ``host1x01.c`` after ``#define
    HOST1X_HW 1``), also where the header is included, by a file the unit includes, in such a
    branch only (``debug_hw.c``'s ``#if HOST1X_HW >= 6`` / ``#include "debug_hw_1x06.c"``).
    Everything the include brings in counts as seen (lenient, as for the needs), while only
    what precedes it counts as defined before."""

    def __init__(self, ctx: CheckInputs, unit: int, header: int, edge, before: int, seen: int):
        self.ctx, self.unit, self.header, self.edge = ctx, unit, header, edge
        self.before, self.seen = before, seen
        self._numbers: _Numbers | None = None
        self._unreached: bool | None = None

    def dead(self, pos: int) -> bool:
        return self._dead_in(self.header, pos) or self.unreached()

    def _dead_in(self, fid: int, pos: int) -> bool:
        syms = self.ctx.symbols
        for name, start, end, kind in syms.undecided_in(fid):
            if end is None or not start <= pos < end:
                continue
            if kind == "unless" and self._defined(name, self.before):
                return True
            if kind == "undecided" and not self._defined(name, self.seen) and (
                    name not in syms.command_line):
                return True
            if kind == "if" and evaluate(name, self.numbers()) is False:
                return True
        return False

    def unreached(self) -> bool:
        """Whether every include of the header by a file the unit includes (not the unit's
        own) is in a branch dead for the unit: the unit never reads it."""
        if self._unreached is None:
            lines = [(f, at) for f, at in self.ctx.visibility.includers_for(self.header)
                     if visible(self.seen, f)]
            self._unreached = bool(lines) and all(
                f != self.unit and self._dead_in(f, at) for f, at in lines)
        return self._unreached

    def numbers(self) -> _Numbers:
        """The numbers the unit ``#define``s above the include (``value`` rows)."""
        if self._numbers is None:
            values: dict[str, int] = {}
            for name, start, _end, kind in self.ctx.symbols.undecided_in(self.unit):
                if kind == "value" and start < self.edge.start_byte:
                    macro, _, number = name.partition("=")
                    values[macro] = int(number)
            self._numbers = _Numbers(values)
        return self._numbers

    def _defined(self, name: str, mask: int) -> bool:
        return macro_seen(self.ctx, name, self.unit, self.edge.start_byte, mask)


class _Numbers:
    """Macros of which only some values are known (``cexpr.Macros``): a condition over the
    others stays undecided."""

    def __init__(self, values: dict[str, int]):
        self.values = values

    def defined(self, name: str) -> bool | None:
        return True if name in self.values else None

    def value(self, name: str) -> int | None:
        return self.values.get(name)

    def call(self, name: str, args: list[str]) -> int | None:
        return None


def _first_including(masks: list[int], header: int) -> int | None:
    """Index of the first include line after which the unit sees ``header`` (the bitsets grow
    along the file, so a bisection finds it)."""
    lo = bisect_left(range(len(masks)), True, key=lambda i: visible(masks[i], header))
    return lo if lo < len(masks) else None


def _finding(ctx: CheckInputs, unit: int, header: int, edge, use, defs) -> Finding:
    typedef = use.kind == "typedef"
    spelled = use.name if typedef else f"{use.kind} {use.name}"
    homes = home_order(ctx, [t.file_id for t in defs])
    unit_path = ctx.path(unit)
    where = (f"{defined_as(defs, typedef)} in {homes[0]}, which "
             f"{unit_path} does not include before line {edge.line + 1} "
             f"(#include {edge.target}), the include that brings this header in")
    return Finding("407_2", ctx.path(header), use.line, use.col, use.line, use.end_col,
                   use.name, MESSAGES[use.need].format(spelled=spelled, where=where),
                   {"kind": use.kind, "defined_in": homes, **unit_context(ctx, unit, edge),
                    **also(use)})

