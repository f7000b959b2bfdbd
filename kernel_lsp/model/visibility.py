"""Which files' declarations are visible at a point of a file, as in a C compiler.

A file sees its own declarations above the point, and everything in the headers it includes
above the point, transitively. Headers are seen in the context of the files that include them:
whatever an includer sees where it includes the header is visible throughout the header. Sets of
files are Python ints used as bitsets indexed by file id, so unions are cheap on a whole kernel.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

# What Kbuild puts before every kernel unit (``-include`` in ``c_flags``): ``IS_ENABLED()``,
# ``__iomem``, ``__user`` are visible in every file although few include them.
KBUILD_FORCED = ("include/linux/compiler-version.h", "include/linux/kconfig.h",
                 "include/linux/compiler_types.h")


def forced_ids(paths: dict[int, str], extra: tuple[str, ...] = ()) -> list[int]:
    """The ids of the headers the compiler reads before every file (``KBUILD_FORCED`` when the
    tree has them; ``extra``: the ``-include`` files of ``compile_commands.json``)."""
    wanted = set(KBUILD_FORCED) | set(extra)
    return sorted(fid for fid, path in paths.items() if path in wanted)


class Visibility:
    """Include closures of every file of a model, computed lazily and memoised."""

    def __init__(self, graph, includers_of=None, forced=()):
        # graph: file id -> [IncludeEdge] in file order (a dict, or anything with ``get``);
        # includers_of(fid) -> [(includer, start_byte)], when the inverse should not be
        # computed from the whole graph; forced: ids of the files read before every file
        self.graph = graph
        self._includers_of = includers_of
        self._forced_ids = tuple(forced)
        self._forced: int | None = None
        self._closure: dict[int, int] = {}
        self._prefix: dict[int, tuple[list[int], list[int]]] = {}
        self._ctx: dict[int, int] = {}
        self._includers: dict[int, list[tuple[int, int]]] | None = None
        self._unit: dict[int, int] = {}

    # -- transitive closure of a file's includes ---------------------------------------------
    def closure(self, fid: int) -> int:
        """Bitset of ``fid`` and every file it includes, transitively."""
        done = self._closure.get(fid)
        if done is not None:
            return done
        # iterative DFS computing a closure per node; nodes on a cycle get the union of the
        # cycle (a second pass below), which is what any member of the cycle sees
        order, stack, on_stack = [], [fid], {fid}
        partial: dict[int, int] = {}
        while stack:
            node = stack[-1]
            if node not in partial:
                partial[node] = 1 << node
                pending = [r for r in _targets(self.graph.get(node, ())) if r is not None
                           and r not in self._closure and r not in partial and r not in on_stack]
                if pending:
                    for r in pending:
                        on_stack.add(r)
                    stack.extend(pending)
                    continue
            stack.pop()
            if node in self._closure:
                continue
            mask = 1 << node
            for r in _targets(self.graph.get(node, ())):
                if r is not None:
                    mask |= self._closure.get(r) or partial.get(r, 1 << r)
            partial[node] = mask
            order.append(node)
            self._closure[node] = mask
        # second pass for cycles: re-union until stable (rarely more than one round)
        for _ in range(4):
            changed = False
            for node in order:
                mask = self._closure[node]
                for r in _targets(self.graph.get(node, ())):
                    if r is not None:
                        mask |= self._closure.get(r, 0)
                if mask != self._closure[node]:
                    self._closure[node] = mask
                    changed = True
            if not changed:
                break
        return self._closure[fid]

    # -- position-aware visibility ---------------------------------------------------------
    def prefixes(self, fid: int) -> tuple[list[int], list[int]]:
        """(start of each include line, what the file sees after it): an include that adds no
        file shares the previous line's bitset, so most of these cost nothing."""
        got = self._prefix.get(fid)
        if got is None:
            starts, masks, mask = [], [], (1 << fid) | self.forced()
            for edge in self.graph.get(fid, ()):
                if edge.resolved_id is not None:
                    closure = self.closure(edge.resolved_id)
                    if closure & ~mask:
                        mask |= closure
                starts.append(edge.start_byte)
                masks.append(mask)
            got = self._prefix[fid] = (starts, masks)
        return got

    def trim(self, keep: set[int] = frozenset()) -> None:
        """Drop the per-line bitsets of files no other file includes (all but ``keep``): a
        whole-tree run checks a file once, and they are most of the memory."""
        includers = self._includers
        for fid in [f for f in self._prefix if f not in keep]:
            if includers is not None and fid in includers:
                continue  # a header: its includers' contexts read its lines when held
            del self._prefix[fid]

    def before(self, fid: int, pos: int) -> int:
        """Bitset of files whose declarations ``fid`` sees at byte ``pos`` (own file included)."""
        return self.own_before(fid, pos) | self.context(fid)

    def own_before(self, fid: int, pos: int) -> int:
        """Like ``before`` but without what the files including ``fid`` saw."""
        starts, masks = self.prefixes(fid)
        i = bisect_left(starts, pos)
        return masks[i - 1] if i else (1 << fid) | self.forced()

    def forced(self) -> int:
        """Bitset of the files read before every file, with what they include."""
        if self._forced is None:
            self._forced = 0
            for fid in self._forced_ids:
                self._forced |= self.closure(fid)
        return self._forced

    def context(self, fid: int) -> int:
        """What every file including ``fid`` sees where it includes it (0 for a .c file)."""
        got = self._ctx.get(fid)
        if got is not None:
            return got
        self._ctx[fid] = 0  # cycle guard
        mask = 0
        for includer, pos in self.includers_for(fid):
            mask |= self._own_at(includer, pos) | self.context(includer)
        self._ctx[fid] = mask
        return mask

    def _own_at(self, fid: int, pos: int) -> int:
        """``own_before(fid, pos)`` without memoising the per-line bitsets of ``fid`` when they
        are not held already. The context of a widely included header reaches every header
        and tens of thousands of ``.c`` files, each seen at one include line: keeping all their
        lines took gigabytes for the ``.c`` files, and 170 MiB for the headers alone of Linux
        (a cross-file expanding process peaked at 590 MiB with them, 420 MiB without). (A
        lazy graph reads a few includers per header: their lines are kept.)"""
        if fid in self._prefix or self._includers_of is not None:
            return self.own_before(fid, pos)
        mask = (1 << fid) | self.forced()
        for edge in self.graph.get(fid, ()):
            if edge.start_byte >= pos:
                break
            if edge.resolved_id is not None:
                mask |= self.closure(edge.resolved_id)  # (kept by no one: no test to share it)
        return mask

    def unit(self, fid: int, limit: int = 64) -> int:
        """Bitset of the translation units ``fid`` is part of: the include closures of the files
        that include it, transitively, that no file includes (a ``.c`` file
        included by another ``.c`` file shares its statics). Walks at most ``limit`` includers;
        past that (a widely included header), just its own closure."""
        got = self._unit.get(fid)
        if got is not None:
            return got
        roots, seen, stack = [], {fid}, [fid]
        while stack:
            f = stack.pop()
            incl = self.includers_for(f)
            if not incl:
                roots.append(f)
            for g, _pos in incl:
                if g not in seen:
                    seen.add(g)
                    stack.append(g)
            if len(seen) > limit:
                roots = [fid]
                break
        mask = 0
        for r in roots:
            mask |= self.closure(r)
        self._unit[fid] = mask
        return mask

    def forget(self, fid: int, targets_changed: bool = True) -> None:
        """Drop what depends on the includes of ``fid``, a file no other file includes
        (``targets_changed`` False: the same files are included, only at other offsets)."""
        self._closure.pop(fid, None)
        self._prefix.pop(fid, None)
        if targets_changed:
            self._ctx.clear()
            self._unit.clear()
            self._includers = None

    def includers_for(self, fid: int) -> list[tuple[int, int]]:
        """(includer, start_byte of the include line) of every file that includes ``fid``."""
        if self._includers_of is not None:
            return self._includers_of(fid)
        return self.includers().get(fid, [])

    def includers(self) -> dict[int, list[tuple[int, int]]]:
        if self._includers is None:
            inv: dict[int, list[tuple[int, int]]] = {}
            for fid, edges in self.graph.items():
                for e in edges:
                    if e.resolved_id is not None and e.resolved_id != fid:
                        inv.setdefault(e.resolved_id, []).append((fid, e.start_byte))
            self._includers = inv
        return self._includers


def visible(mask: int, fid: int) -> bool:
    return (mask >> fid) & 1 == 1


def bits(mask: int) -> list[int]:
    """The set bits of ``mask`` (file ids), ascending (through its binary text: fast on wide
    masks)."""
    text = bin(mask)[:1:-1]
    out, i = [], text.find("1")
    while i >= 0:
        out.append(i)
        i = text.find("1", i + 1)
    return out


def _targets(edges) -> Iterator[int | None]:
    """The included file ids of a file's include edges (None for unresolved ones)."""
    return (e.resolved_id for e in edges)
