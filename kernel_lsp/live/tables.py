"""The symbol table, include graph, visibility and host-program set the checks read, built
eagerly (a whole stored model at once) or lazily (by name and by file, buffers on top)."""

from __future__ import annotations

from dataclasses import dataclass

from kernel_lsp.checks.inputs import Hosted, SymbolTable
from kernel_lsp.live.lazy import CONTEXT_INCLUDERS, LazyGraph, LazySymbols
from kernel_lsp.model.store import Model
from kernel_lsp.model.symbols import (
    HOSTED_INCLUDERS_MAX,
    Fallbacks,
    Symbols,
    dropped_named,
    hosted_set,
    not_built_here,
    not_kernel_ids,
    other_arch_headers,
    other_arch_ids,
)
from kernel_lsp.model.visibility import Visibility, forced_ids


@dataclass
class Tables:
    """What every check run shares; ``lazy`` tables accept editor buffers on top."""

    symbols: SymbolTable
    graph: dict | LazyGraph
    visibility: Visibility
    hosted: Hosted
    lazy: bool

    @classmethod
    def eager(cls, model: Model, arch: str) -> Tables:
        """Every symbol and include edge read at once: fastest for a whole tree, seconds and
        gigabytes on a kernel to start."""
        graph = model.include_graph()
        symbols = Symbols.load(model, arch)
        return cls(symbols, graph, Visibility(graph, forced=forced_ids(symbols.paths)),
                   hosted_set(graph, symbols), lazy=False)

    @classmethod
    def lazy_for(cls, model: Model, arch: str) -> Tables:
        """Indexed queries per name and per file, memoised: instant to start, for few files."""
        graph = LazyGraph(model)
        symbols = LazySymbols(model, arch)
        foreign = other_arch_headers(symbols.paths.values(), arch)
        return cls(symbols, graph, Visibility(graph, includers_of=graph.includers_of,
                                              forced=forced_ids(symbols.paths)),
                   _LazyHosted(graph, foreign, Fallbacks(symbols, arch), not_kernel_ids(symbols),
                               dropped_named(symbols), symbols.unit_ids,
                               symbols.dropped_includers,
                               other_arch_ids(symbols.paths, arch)), lazy=True)

    @classmethod
    def empty(cls) -> Tables:
        return cls(Symbols(paths={}), {}, Visibility({}), set(), lazy=False)

    def forget_hosted(self, fid: int) -> None:
        if isinstance(self.hosted, _LazyHosted):
            self.hosted.memo.pop(fid, None)

    def refresh_visibility(self) -> None:
        """Rebuild the visibility over the (changed) graph."""
        includers = self.graph.includers_of if isinstance(self.graph, LazyGraph) else None
        self.visibility = Visibility(self.graph, includers_of=includers,
                                     forced=forced_ids(self.symbols.paths))


class _LazyHosted:
    """``fid in hosted``: the file is not kernel code of this architecture (``not_built_here``,
    or ``not_kernel``: Kbuild's unbuilt files and host programs), a header that only dropped
    ``#include`` lines name, or only such files include it (``hosted_files``; a ``.c`` file
    that only dropped lines of such files include too), unless Kbuild builds it as a unit of
    its own."""

    def __init__(self, graph: LazyGraph, foreign_headers: set[str], fallbacks: Fallbacks,
                 not_kernel: set[int] = frozenset(), dropped_named: set[int] = frozenset(),
                 units: set[int] = frozenset(), dropped_includers: dict | None = None,
                 other_arch: set[int] = frozenset()):
        self.graph, self.foreign, self.fallbacks = graph, foreign_headers, fallbacks
        self.other_arch = other_arch
        self.not_kernel, self.dropped_named, self.units = not_kernel, dropped_named, units
        self.dropped_includers = dropped_includers or {}
        self.memo: dict[int, bool] = {}

    def __contains__(self, fid: int) -> bool:
        if fid in self.not_kernel:
            return True
        got = self.memo.get(fid)
        if got is None:
            self.memo[fid] = False  # an include cycle: not hosted through itself
            got = not_built_here(self.graph.get(fid, ()), self.foreign, self.fallbacks.of(fid),
                                 fid in self.units)
            if not got and fid not in self.units:  # (Kbuild builds it: kernel code)
                rows = self.graph.includers_of(fid)
                by = {f for f, _pos in rows if f != fid}
                got = not by and (fid in self.dropped_named or fid in self.other_arch)
                dropped = self.dropped_includers.get(fid) if not by else None
                if dropped and len(dropped) < HOSTED_INCLUDERS_MAX:
                    got = got or all(f in self for f in dropped if f != fid)
                # (a capped list is a widely included header: never hosted through its includers)
                cap = min(CONTEXT_INCLUDERS, HOSTED_INCLUDERS_MAX)
                got = got or bool(by) and len(rows) < cap and all(f in self for f in by)
            self.memo[fid] = got
        return got
