"""Fix plans: for one finding, decide what repairs it, best first, as JSON-serialisable dicts.

A plan records the decision (which header to include, which declaration text, which definition
loses its ``static``) and anchors to place the edits (the first use of the symbol in the file);
``kernel_lsp.fixes.realize`` (steps in ``realizers``) turns it into edits against the current
texts. See docs/fixes.md.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from kernel_lsp.config import Config
from kernel_lsp.files import read_regular
from kernel_lsp.findings import Finding
from kernel_lsp.fixes import decltext
from kernel_lsp.model.resolve import IncludeResolver
from kernel_lsp.model.store import Model
from kernel_lsp.model.symbols import is_foreign

MAX_INCLUDE_PLANS = 3
TAG_KINDS = ("struct", "union", "enum")


class Planner:
    """What every plan of one finding shares: the finding, the model, the resolver, settings."""

    def __init__(self, finding: Finding, model: Model, resolver: IncludeResolver, config: Config):
        self.f, self.model, self.resolver, self.config = finding, model, resolver, config
        self.path, self.symbol = finding.path, finding.symbol

    def native(self, path: str) -> bool:
        """Whether a file is part of this configuration as seen from the finding's file."""
        return is_foreign(self.path, self.config.arch) or not is_foreign(path, self.config.arch)

    def use(self, what: str) -> tuple[int, list[int]]:
        """(start byte or -1, [line, col]) of the first use of the symbol in the file."""
        here = [self.f.line, self.f.col]
        row = self.model.first_use(self.path, self.symbol, what)
        if row is None or [row[1], row[2]] > here:
            return -1, here
        return row[0], [row[1], row[2]]

    def base(self, kind: str, title: str, **extra) -> dict:
        return {"kind": kind, "title": title, "code": self.f.code, "path": self.path,
                "symbol": self.symbol, "preferred": False, **extra}

    # -- includes ----------------------------------------------------------------------------
    def include_plans(self, header_paths: list[str], use: list[int]) -> list[dict]:
        """One include plan per header that can be included from here, best header first."""
        plans = []
        for _rank, spelling, header, spellings in rank_headers(header_paths, self.path,
                                                               self.resolver):
            plans.append(self.base("include", f"Include {spelling} for symbol {self.symbol}",
                                   header=spelling, header_path=header, spellings=spellings,
                                   use=use))
            if len(plans) == MAX_INCLUDE_PLANS:
                break
        return plans

    # -- declarations ------------------------------------------------------------------------
    def declare_plan(self, text: str, entity: str, use: list[int], title: str | None = None,
                     kind: str = "declare") -> dict:
        return self.base(kind, title or f"Declare {self.symbol}", text=text, entity=entity,
                         use=use)

    def read(self, path: str) -> str | None:
        """A file's text on disk (plans are made from the model; realize re-verifies)."""
        try:
            return read_regular(Path(self.config.root, path)).decode("utf-8", "surrogateescape")
        except OSError:
            return None

    def extern_text(self, def_path: str, line: int, col: int) -> str | None:
        source = self.read(def_path)
        return decltext.extern_variable(source, line, col, self.symbol) if source else None

    # -- export: a definition of another file made reachable ---------------------------------
    def home_header(self, def_path: str, use_start: int) -> str | None:
        """The header of ``def_path``'s file where its declaration belongs: the ``.h`` beside it
        with the same stem, else one it includes from its own directory (one the calling file
        already reaches first); None when it has none."""
        stem = posixpath.splitext(def_path)[0] + ".h"
        if stem in self.resolver.known and stem != self.path:
            return stem
        directory = posixpath.dirname(def_path)
        local = [p for _, p in self.model.resolved_includes(def_path)
                 if posixpath.dirname(p) == directory and p.endswith(".h") and p != self.path]
        if not local:
            return None
        reached = self.reached_headers(use_start)
        return next((p for p in local if p in reached), local[0])

    def reached_headers(self, before: int, limit: int = 5000) -> set[str]:
        """Headers the finding's file includes (transitively) before byte ``before`` (-1: all)."""
        seen: set[str] = set()
        todo = [p for start, p in self.model.resolved_includes(self.path)
                if before < 0 or start < before]
        while todo and len(seen) < limit:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo += [q for _, q in self.model.resolved_includes(p) if q not in seen]
        return seen

    def export_plan(self, entity: str, text: str, use_start: int, use: list[int],
                    definition: dict | None) -> dict | None:
        """Make the definition reachable: drop its ``static`` (when ``definition`` is given), declare
        it in its file's header and include that header here when it is not reached yet."""
        def_path = definition["path"] if definition else self.defining_path(entity)
        if def_path is None:
            return None
        header = self.home_header(def_path, use_start)
        include = spellings = None
        if header is not None and header not in self.reached_headers(use_start):
            ranked = rank_headers([header], self.path, self.resolver)
            if ranked:
                include, spellings = ranked[0][1], ranked[0][3]
            else:
                header = None  # not includable from here: declare it in the calling file
        where = header or self.path
        title = (f"Make {self.symbol} non-static and declare it in {where}" if definition
                 else f"Declare {self.symbol} in {where}")
        if definition is None and header is None:
            return None  # that is the plain Declare plan
        return self.base("export", title, entity=entity, text=text, definition=definition,
                         header=header, include=include, spellings=spellings, use=use)

    def defining_path(self, entity: str) -> str | None:
        rows = (self.model.function_declarations(self.symbol) if entity == "function"
                else self.model.variable_declarations(self.symbol))
        for row in rows:
            path, is_def = row[0], row[1] if entity == "function" else row[2]
            storage = row[2] if entity == "function" else row[1]
            if is_def and storage != "static" and storage != "extern" and path != self.path \
                    and path.endswith(".c") and self.native(path):
                return path
        return None


def header_rank(path: str, spelling: str) -> tuple[int, int]:
    """How a kernel developer ranks an include: public headers, then the quoted header beside
    the file, then arch-private and other include-path headers, then climbing ``../`` forms."""
    if spelling.startswith("<"):
        if path.startswith("include/linux/"):
            return 0, 0
        if path.startswith("include/") and not path.startswith(("include/uapi/",
                                                                "include/asm-generic/")):
            return 0, 1
        if path.startswith("include/"):
            return 0, 2
        return 2, 0 if path.startswith("arch/") else 1
    if "../" not in spelling:
        return 1, 0
    return 3, spelling.count("../")


def _spelling(path: str, spellings: list[str]) -> str:
    """A kernel header (``include/``, ``arch/*/include/``) is written ``<...>`` even from a file
    beside it; any other header as the resolver ranks it (quoted beside the file first)."""
    if path.startswith("include/") or (path.startswith("arch/") and "/include/" in path):
        return next((s for s in spellings if s.startswith("<")), spellings[0])
    return spellings[0]


def _crosses_subsystem(spelling: str, path: str, from_path: str) -> bool:
    """A quoted ``../`` include reaching into another top-level directory (``kernel/`` including
    ``"../../arch/x86/kernel/cpu/cpu.h"``): that header is private to its subsystem."""
    return spelling.startswith('"') and "../" in spelling and \
        path.split("/", 1)[0] != from_path.split("/", 1)[0]


def rank_headers(paths: list[str], from_path: str, resolver: IncludeResolver) -> list[tuple]:
    """(rank, best spelling, header path, all spellings) of the includable ``.h`` files, best
    first; headers that cannot be written in an ``#include`` of ``from_path``, or only through
    another subsystem's directory, are left out."""
    out = []
    for path in dict.fromkeys(paths):
        if not path.endswith(".h") or path == from_path:
            continue
        spellings = resolver.header_candidates(path, from_path)
        best = _spelling(path, spellings) if spellings else None
        if best is not None and not _crosses_subsystem(best, path, from_path):
            out.append((header_rank(path, best), best, path, spellings))
    out.sort(key=lambda r: (r[0], len(r[1]), r[1]))
    return out
