"""What the checks read, declared: a fact source, a symbol table and the include visibility.

Two implementations of each exist: the stored model read eagerly for a whole-tree run (``Model``,
``Symbols``), and the live workspace's lazy ones with editor buffers on top (``OverlayModel``,
``LazySymbols``). The checks see only these protocols, through one ``CheckInputs``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from kernel_lsp.model.resolve import unknown_content
from kernel_lsp.model.rows import (
    Call,
    Definition,
    Function,
    IncludeEdge,
    Invocation,
    TypeUse,
    Variable,
    VarUse,
)
from kernel_lsp.model.visibility import Visibility, visible


class FactSource(Protocol):
    """Per-file facts as ``(file_id, row)`` pairs."""

    def calls_in(self, file_ids: Iterable[int]) -> Iterator[tuple[int, Call]]: ...
    def type_uses_in(self, file_ids: Iterable[int]) -> Iterator[tuple[int, TypeUse]]: ...
    def var_uses_in(self, file_ids: Iterable[int]) -> Iterator[tuple[int, VarUse]]: ...
    def variables_in(self, file_ids: Iterable[int]) -> Iterator[tuple[int, Variable]]: ...
    def local_prototypes(self, file_ids: Iterable[int]) -> Iterator[tuple[int, Function]]: ...
    def definitions_in(self, file_ids: Iterable[int]) -> Iterator[tuple[int, Definition]]: ...
    def invocations_in(self, file_ids: Iterable[int]) -> Iterator[tuple[int, Invocation]]: ...


class SymbolTable(Protocol):
    """Names the checks look up (see ``checks.symbols.Symbols`` for the entries' shapes)."""

    paths: Mapping[int, str]
    functions: Mapping  # name -> [FuncSym]
    macros: Mapping  # name -> [(file_id, function_like, start_byte)]
    variables: Mapping  # name -> [VarSym]
    types: Mapping  # name -> [TypeSym]
    tags: object  # ``(kind, name) in tags``: a struct/union/enum definition exists
    typedefs: object  # ``name in typedefs``
    members: object  # ``name in members``: some struct/union member is named so
    enumerators: object
    hidden: object  # ``hidden.get(name)``: its kinds in dropped #if branches (or None), when
    # the configuration is derived; ``hidden_at(fid)``: as file ``fid`` is judged
    dropped_units: Mapping  # .c file -> .c files it shares a unit with through a dropped #include
    dropped_includers: Mapping  # .c file -> the files whose dropped #include lines name it
    macro_needs_memo: dict  # macro name -> what its arguments need, kept for the run
    hidden_in: Mapping  # function/variable/macro name -> files declaring it in a dropped branch
    off_ids: object  # ``fid in off_ids``: a file the configuration does not build or read
    dropped_headers: Mapping  # file -> headers it includes in a dropped branch
    dropped_include_rows: list  # (file, header as written) of every dropped #include
    unbuilt_ids: object  # ``fid in unbuilt_ids``: no configuration of the architecture builds it
    unknown_headers: int  # bitset: files including a header the tree lacks (may declare anything)
    templates: int  # bitset: template headers (what they define depends on the includer)
    generated: frozenset  # the file names the Kbuild files name (a build step writes them)
    command_line: frozenset  # the names the Kbuild files define with -D
    ifdef_calls: Mapping  # function name -> (file, start) of calls under ``#if defined(name)``

    def undecided_in(self, fid: int) -> list: ...  # [(NAME, start, end, kind)]: ``#ifdef
    # NAME`` kept undecided, ``unless`` an ``#ifndef NAME``, ``if`` a comparison, ``value``
    # ``NAME=number`` a file defines for the .c files it includes
    def hidden_at(self, fid: int) -> Mapping: ...  # ``hidden`` for ``fid`` (all for off files)
    def defined_nowhere(self, name: str) -> bool: ...  # no ``#define name`` anywhere, no -D
    def foreign_headers(self) -> set[str]: ...  # targets only other architectures hold
    def renamed_as(self, fid: int, name: str) -> list: ...  # macros of fid standing for name

    def header_id(self, includer: int, name: str) -> int | None: ...
    def native(self, entries: list, fid: int) -> list: ...
    def is_header(self, fid: int) -> bool: ...
    def unknown_headers_in(self, directory: str) -> int: ...  # its headers in unknown_headers
    def macro_definitions(self, name: str) -> list: ...  # [(file_id, params, body)]


class Hosted(Protocol):
    """``fid in hosted``: the file is not kernel code of this architecture: a host program (it
    includes a C library header), or a file only another architecture builds (it includes
    that architecture's header, or Kbuild builds it under no configuration of this one)."""

    def __contains__(self, fid: int) -> bool: ...


@dataclass
class CheckInputs:
    """Everything one check run reads, and the files it reports on."""

    facts: FactSource
    symbols: SymbolTable
    graph: Mapping[int, list[IncludeEdge]]  # only ``get`` is used
    visibility: Visibility
    hosted: Hosted
    file_ids: list[int]
    policies: Sequence = ()  # layer policies (``kernel_lsp.design.policy.Policy``), for 408_2
    # file -> [(start, end)] of its branches the compiler never reads (``dead_branches``)
    dead: Mapping[int, list[tuple[int, int]]] = field(default_factory=dict)
    # header -> its context needs (``unitvis``), kept across runs by a caller that knows the
    # symbols, the include graph and the headers' facts did not change (a ``Workspace``,
    # the editor's and the batch check's); None: found for the run. ``buffers``: the files
    # read from editor buffers, whose needs are never kept.
    header_needs: dict | None = None
    buffers: frozenset = frozenset()

    def path(self, fid: int) -> str:
        return self.symbols.paths[fid]

    def restricted_to(self, facts: FactSource) -> CheckInputs:
        """These inputs with ``facts`` answering for some functions or bodies only: no kept
        header needs, which are the whole headers'."""
        return replace(self, facts=facts, header_needs=None)


def unknown_header_seen(ctx: CheckInputs, fid: int, pos: int, above: bool = False) -> bool:
    """Whether ``fid``, or a file it includes above ``pos`` (itself, transitively), includes
    a header the tree does not hold that may declare anything (generated by the build, the
    compiler's intrinsics): a name defined nowhere in the model may be defined there, so
    "defined nowhere" (020_2) is not proven. What the file's includers saw does not count:
    one of the many includers of a shared header including a generated one proves nothing
    about the shared header's own names, unless that includer is a header of the same
    directory. ``above``: the file's own include of such a header counts only above ``pos``
    (what declares a function for a call must come before it). A template header included
    above ``pos`` (``Symbols.templates``) counts as well, and only so."""
    unknown, templates = ctx.symbols.unknown_headers, ctx.symbols.templates
    if not unknown and not templates:
        return False
    if (unknown >> fid) & 1 and (not above or any(
            e.resolved_id is None and e.start_byte < pos and unknown_content(
                e.target, bool(e.angled), ctx.symbols.generated) for e in ctx.graph.get(fid, ()))):
        return True
    if ctx.visibility.own_before(fid, pos) & (unknown | templates) & ~(1 << fid):  # (its own:
        return True  # above; a template: what it defined here is unknown)
    if not unknown:
        return False
    # a driver's header that relies on a sibling header its includers read first
    # (``mdp5_ctl.h`` on ``mdp5_kms.h``, which includes the generated ``mdp5.xml.h``); not on
    # a .c file's own include (``asn1.c`` reads ``cifs_spnego_negtokeninit.asn1.h`` before
    # ``cifsglob.h``, whose names are not that header's business)
    # (the includers' context is computed only when such a header exists: on a lazy graph it
    # walks every includer, 1.9 s of opening ``fs/btrfs/ctree.c``'s 2.9 s first check)
    siblings = ctx.symbols.unknown_headers_in(posixpath.dirname(ctx.path(fid)))
    return bool(siblings and ctx.visibility.context(fid) & siblings)


def dropped_unit(ctx: CheckInputs, fid: int, defs: list) -> bool:
    """Whether one of ``defs`` is in the unit of a ``.c`` file that includes ``fid``, or that
    ``fid`` includes, in a branch this configuration drops."""
    unit = 0
    for other in ctx.symbols.dropped_units.get(fid, ()):
        unit |= ctx.visibility.unit(other)
    return bool(unit) and any(e.file_id != fid and visible(unit, e.file_id) for e in defs)


def dropped_here(ctx: CheckInputs, fid: int, mask: int, decls: list, name: str | None = None
                 ) -> bool:
    """Whether a file seen where ``fid`` sees ``mask`` declares ``name`` (a function, variable
    or macro) in a branch the configuration drops, or includes there a header that
    reaches one of ``decls``: ``kernel/irq/debugfs.c``, which only
    ``CONFIG_GENERIC_IRQ_DEBUGFS`` builds, calls ``seq_printf``, which ``internals.h`` brings
    in through ``debugfs.h`` under that option only. A ``.c`` file that dropped ``#include``
    lines name sees there what its includers see (i915's ``selftest_gt_pm.c``: ``SUBTEST``,
    which ``i915_selftest.h`` defines under ``CONFIG_DRM_I915_SELFTEST``), and what the
    ``.c`` files they include in such branches see (``i915_gem_context.c`` includes
    ``selftests/mock_context.c``, whose ``mock_context.h`` declares ``live_context``, then
    ``selftests/i915_gem_context.c``, which calls it)."""
    syms = ctx.symbols
    siblings = 0
    for includer in syms.dropped_includers.get(fid, ()):
        mask |= ctx.visibility.unit(includer)
        for other in syms.dropped_units.get(includer, ()):
            if other != fid and includer in syms.dropped_includers.get(other, ()):
                siblings |= ctx.visibility.closure(other)
    if siblings and any(d.file_id != fid and visible(siblings, d.file_id) for d in decls):
        return True
    mask |= siblings
    if name is not None and any(f == fid or visible(mask, f)
                                for f in syms.hidden_in.get(name, ())):
        return True
    for f, names in syms.dropped_headers.items():
        if f != fid and not visible(mask, f):
            continue
        for header in names:
            hid = syms.header_id(f, header)
            if hid is not None:
                closure = ctx.visibility.closure(hid)
                if any(visible(closure, d.file_id) for d in decls):
                    return True
    return False


def seen_at(file_id: int, start: int, fid: int, pos: int, mask: int) -> bool:
    """Whether a declaration at (``file_id``, ``start``) is visible at ``pos`` of ``fid``."""
    return (file_id == fid and start < pos) or (file_id != fid and visible(mask, file_id))


def macro_seen(ctx: CheckInputs, name: str, fid: int, pos: int, mask: int) -> bool:
    """Whether a ``#define`` of ``name`` is seen at ``pos`` of ``fid``, which sees the files of
    ``mask`` there (``seen_at``)."""
    return any(seen_at(m.file_id, m.start_byte, fid, pos, mask)
               for m in ctx.symbols.macros.get(name) or ())


def dead_branches(ctx: CheckInputs) -> dict[int, list[tuple[int, int]]]:
    """file -> [(start, end)] of the branches of ``ctx.file_ids`` kept on an undecided
    ``#ifdef NAME`` / ``#if NAME`` where NAME is defined nowhere (``defined_nowhere``):
    ``#ifdef NOT_YET``, ``#if defined(ZSTD_ARCH_ARM_NEON)``; and on an undecided ``#ifndef
    NAME`` where a header the file includes above it defines NAME (``r8192U_dm.c``'s ``#ifndef
    RTL8192U``, which ``r8192U.h`` defines: the file's own scan of its conditions does not
    read its headers). No compiler reads them."""
    syms, out = ctx.symbols, {}
    for fid in ctx.file_ids:
        for name, start, end, kind in syms.undecided_in(fid):
            if end is None:
                continue
            if kind == "unless" and macro_seen(ctx, name, fid, start, ctx.visibility.own_before(
                    fid, start)) or (kind == "undecided" and syms.defined_nowhere(name)):
                out.setdefault(fid, []).append((start, end))
    return out


def in_dead(dead: Mapping[int, list[tuple[int, int]]], fid: int, pos: int) -> bool:
    return any(s <= pos < e for s, e in dead.get(fid, ()))


class _Forwarding:
    """A ``FactSource`` that answers with ``facts``' answers (subclasses filter some)."""

    def __init__(self, facts: FactSource):
        self.facts = facts

    def calls_in(self, file_ids):
        return self.facts.calls_in(file_ids)

    def type_uses_in(self, file_ids):
        return self.facts.type_uses_in(file_ids)

    def var_uses_in(self, file_ids):
        return self.facts.var_uses_in(file_ids)

    def variables_in(self, file_ids):
        return self.facts.variables_in(file_ids)

    def local_prototypes(self, file_ids):
        return self.facts.local_prototypes(file_ids)

    def definitions_in(self, file_ids):
        return self.facts.definitions_in(file_ids)

    def invocations_in(self, file_ids):
        return self.facts.invocations_in(file_ids)


class WithoutBranches(_Forwarding):
    """``facts`` without the calls, type uses, variable uses and macro invocations that sit
    in the branches ``dead`` (``dead_branches``)."""

    def __init__(self, facts: FactSource, dead: Mapping[int, list[tuple[int, int]]]):
        super().__init__(facts)
        self.dead = dead

    def _live(self, rows):
        dead = self.dead
        return ((f, r) for f, r in rows if f not in dead or not in_dead(dead, f, r.start_byte))

    def calls_in(self, file_ids):
        return self._live(self.facts.calls_in(file_ids))

    def type_uses_in(self, file_ids):
        return self._live(self.facts.type_uses_in(file_ids))

    def var_uses_in(self, file_ids):
        return self._live(self.facts.var_uses_in(file_ids))

    def invocations_in(self, file_ids):
        return self._live(self.facts.invocations_in(file_ids))


class WithoutBodies(_Forwarding):
    """``facts`` without what sits in the bodies of ``skipped`` ((file, function) pairs): the
    calls, type uses and variable uses there."""

    def __init__(self, facts: FactSource, skipped: set[tuple[int, str]]):
        super().__init__(facts)
        self.skipped = skipped

    def calls_in(self, file_ids):
        return ((f, c) for f, c in self.facts.calls_in(file_ids)
                if (f, c.caller) not in self.skipped)

    def type_uses_in(self, file_ids):
        return ((f, u) for f, u in self.facts.type_uses_in(file_ids)
                if u.function is None or (f, u.function) not in self.skipped)

    def var_uses_in(self, file_ids):
        return ((f, u) for f, u in self.facts.var_uses_in(file_ids)
                if (f, u.function) not in self.skipped)
