"""What the checks read, declared: a fact source, a symbol table and the include visibility.

Two implementations of each exist: the stored model read eagerly for a whole-tree run (``Model``,
``Symbols``), and the live workspace's lazy ones with editor buffers on top (``OverlayModel``,
``LazySymbols``). The checks see only these protocols, through one ``CheckInputs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

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
    hidden: object  # ``hidden.get(name)``: its kinds in dropped #if branches (or None)
    dropped_units: Mapping  # .c file -> .c files it shares a unit with through a dropped #include
    macro_needs_memo: dict  # macro name -> what its arguments need, kept for the run
    hidden_in: Mapping  # function/variable/macro name -> files declaring it in a dropped branch
    hidden_declared: Mapping  # the same, when the configuration is derived (else empty)
    off_ids: object  # ``fid in off_ids``: a .c file the derived configuration does not build
    dropped_headers: Mapping  # file -> headers it includes in a dropped branch (derived only)
    dropped_include_rows: list  # (file, header as written) of every dropped #include
    unbuilt_ids: object  # ``fid in unbuilt_ids``: no configuration of the architecture builds it

    def header_id(self, includer: int, name: str) -> int | None: ...
    def native(self, entries: list, fid: int) -> list: ...
    def is_header(self, fid: int) -> bool: ...
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

    def path(self, fid: int) -> str:
        return self.symbols.paths[fid]


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
    or macro) in a branch the derived configuration drops, or includes there a header that
    reaches one of ``decls``: ``kernel/irq/debugfs.c``, which only
    ``CONFIG_GENERIC_IRQ_DEBUGFS`` builds, calls ``seq_printf``, which ``internals.h`` brings
    in through ``debugfs.h`` under that option only."""
    syms = ctx.symbols
    if name is not None and any(f == fid or visible(mask, f)
                                for f in syms.hidden_declared.get(name, ())):
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


class WithoutBodies:
    """``facts`` without what sits in the bodies of ``skipped`` ((file, function) pairs): the
    calls, type uses and variable uses there."""

    def __init__(self, facts: FactSource, skipped: set[tuple[int, str]]):
        self.facts, self.skipped = facts, skipped

    def calls_in(self, file_ids):
        return ((f, c) for f, c in self.facts.calls_in(file_ids)
                if (f, c.caller) not in self.skipped)

    def type_uses_in(self, file_ids):
        return ((f, u) for f, u in self.facts.type_uses_in(file_ids)
                if u.function is None or (f, u.function) not in self.skipped)

    def var_uses_in(self, file_ids):
        return ((f, u) for f, u in self.facts.var_uses_in(file_ids)
                if (f, u.function) not in self.skipped)

    def variables_in(self, file_ids):
        return self.facts.variables_in(file_ids)

    def local_prototypes(self, file_ids):
        return self.facts.local_prototypes(file_ids)

    def definitions_in(self, file_ids):
        return self.facts.definitions_in(file_ids)

    def invocations_in(self, file_ids):
        return self.facts.invocations_in(file_ids)
