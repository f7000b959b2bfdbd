"""One workspace as an editor sees it: the stored model plus open buffers, checked per file.

The session loads the model's symbol tables and include graph once, then keeps them current as
buffers change: a buffer's facts replace the stored file's in memory (``OverlayModel``), never in
the database. Not thread-safe: the language server calls it from one worker thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from kernel_lsp.checks.run import CheckContext, findings_of
from kernel_lsp.checks.symbols import is_system_header
from kernel_lsp.config import Config, relative_posix
from kernel_lsp.findings import Finding
from kernel_lsp.live.incremental import body_ranges, reextract
from kernel_lsp.live.lazy import LazyGraph, LazySymbols
from kernel_lsp.live.overlay import OverlayModel
from kernel_lsp.model.kbuild import kbuild_include_dirs
from kernel_lsp.model.resolve import IncludeResolver
from kernel_lsp.model.store import Model, ModelError, fact_rows
from kernel_lsp.model.visibility import Visibility
from kernel_lsp.parse.buffer import Buffer
from kernel_lsp.parse.extract import extract
from kernel_lsp.parse.facts import FileFacts


@dataclass
class OpenFile:
    """An editor buffer: its text and tree, its own rows (``fact_rows`` shape) and the rows
    the checks see (own rows plus what cross-file macro expansion generated)."""

    path: str
    buffer: Buffer
    own_rows: dict[str, list[tuple]]
    rows: dict[str, list[tuple]]
    file_id: int
    version: int | None = None
    carried: dict[str, list[tuple]] = field(default_factory=dict)  # stored macro-generated rows
    bodies: list[tuple[int, int]] = field(default_factory=list)  # function bodies (incremental)
    _facts: FileFacts | None = None

    @property
    def facts(self) -> FileFacts:
        """Facts of the buffer (extracted on first use: checks only need the rows)."""
        if self._facts is None:
            self._facts = extract(self.path, self.buffer.source, self.buffer.tree)
        return self._facts


class Session:
    """The model of one root, its symbol tables, and the buffers open on it."""

    def __init__(self, config: Config):
        self.config = config
        self.model: Model | None = None
        self.symbols: LazySymbols | None = None
        self.graph: LazyGraph | None = None
        self.visibility = Visibility({})
        self.hosted: _Hosted | set = set()
        self.resolver: IncludeResolver | None = None
        self.ids: dict[str, int] = {}
        self.open: dict[str, OpenFile] = {}
        self.incremental = 0  # buffer updates served by re-extracting one function body

    # -- the stored model --------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether a model with files is loaded (else findings would be noise)."""
        return self.symbols is not None and bool(self.ids)

    def load(self) -> str | None:
        """(Re)load tables from ``model.db``; returns a problem message, or None."""
        if not self.config.db_path.exists():
            return None
        try:
            model = Model(self.config.db_path)
            if model.meta("includes_resolved") != "1":
                model.close()
                return "the model is incomplete (an index run was interrupted)"
            self._adopt(model)
        except (ModelError, OSError, Exception) as exc:  # noqa: BLE001 - a damaged db is a message
            return f"cannot load {self.config.db_path}: {exc}"
        return None

    def _adopt(self, model: Model) -> None:
        old = self.model
        symbols = LazySymbols(model, self.config.arch)
        paths = symbols.paths
        kbuild = kbuild_include_dirs(self.config.root, {p.rsplit("/", 1)[0] if "/" in p else ""
                                                        for p in paths.values()})
        self.model, self.symbols = model, symbols
        self.resolver = IncludeResolver(self.config, paths.values(), kbuild)
        self.ids = {p: i for i, p in paths.items()}
        self.graph = LazyGraph(model)
        self.hosted = _Hosted(self.graph)
        self.visibility = Visibility(self.graph, includers_of=self.graph.includers_of)
        if old is not None:
            old.close()
        for path, of in list(self.open.items()):  # re-apply buffers on the fresh tables
            self.open.pop(path)
            self.set_buffer(path, of.buffer.source, version=of.version, buffer=of.buffer)

    def load_members(self) -> None:
        """Member and enumerator names (needed by 406_2; seconds on a kernel, so apart)."""
        if self.model is not None and self.config.db_path.exists():
            reader = Model(self.config.db_path)
            try:
                self.symbols.load_members(reader)
            finally:
                reader.close()

    def close(self) -> None:
        if self.model is not None:
            self.model.close()
            self.model = None

    # -- buffers -----------------------------------------------------------------------------
    def relative(self, abs_path: str | os.PathLike) -> str | None:
        return relative_posix(self.config.root, Path(abs_path))

    def _file_id(self, path: str) -> int:
        fid = self.ids.get(path)
        if fid is None:  # a file the model has not seen: a fresh id past the stored ones
            fid = max(self.symbols.paths, default=0) + 1 if self.symbols else 1
            self.ids[path] = fid
            if self.symbols is not None:
                self.symbols.paths[fid] = path
        return fid

    def set_buffer(self, path: str, source: bytes, *, version: int | None = None,
                   buffer: Buffer | None = None) -> OpenFile:
        """Make ``source`` the content of ``path`` for every later check and query."""
        of = self.open.get(path)
        if buffer is None:
            buffer = of.buffer if of is not None else None
            if buffer is None:
                buffer = Buffer(source)
            else:
                buffer.last_edit = None
                buffer.update(source)
        own, bodies = None, []
        if of is not None and buffer.last_edit is not None and of.bodies:
            got = reextract(path, buffer.source, buffer.tree, of.own_rows, of.bodies,
                            buffer.last_edit)
            if got is not None:
                own, bodies = got
                self.incremental += 1
        if own is None:
            own = fact_rows(extract(path, buffer.source, buffer.tree))
            bodies = body_ranges(buffer.tree)
        rows = dict(own)
        fid = self._file_id(path)
        if of is not None:
            carried = of.carried
        elif self.model is not None:
            carried = self.model.generated_rows(fid)
        else:
            carried = {}
        for table, extra in carried.items():  # what cross-file macro expansion generated
            names = {r[0] for r in rows[table]}
            rows[table] = rows[table] + [r for r in extra if r[0] not in names]
        if self.symbols is not None:
            self.symbols.set_file(fid, rows)
        self._swap_includes(fid, path, rows)
        new = OpenFile(path, buffer, own, rows, fid, version, carried, bodies)
        self.open[path] = new
        return new

    def drop_buffer(self, path: str) -> None:
        """Forget the buffer of ``path``: the stored file counts again."""
        of = self.open.pop(path, None)
        if of is None or self.symbols is None:
            return
        self.symbols.drop_file(of.file_id)
        if self.model is not None:
            self._set_graph(of.file_id, self.model.include_graph_of(of.file_id))

    def _swap_includes(self, fid: int, path: str, rows) -> None:
        if self.graph is None:
            return
        entries = []
        for target, angled, start, line, col, end_col, _ in rows["includes"]:
            hit = self.resolver.resolve(path, target, bool(angled)) if self.resolver else None
            entries.append((start, self.ids.get(hit) if hit else None, target, line, col, end_col))
        self._set_graph(fid, sorted(entries))

    def _set_graph(self, fid: int, entries: list[tuple]) -> None:
        before = [(s, r) for s, r, *_ in self.graph.get(fid, ())]
        self.graph[fid] = entries
        if isinstance(self.hosted, _Hosted):
            self.hosted.forget(fid)
        if before == [(s, r) for s, r, *_ in entries]:
            return
        targets_changed = sorted(r for _, r in before if r is not None) != sorted(
            r for _, r, *_ in entries if r is not None)
        if self.visibility.includers_for(fid):
            # a header's includes changed: what includes it sees changed too
            self.visibility = Visibility(self.graph, includers_of=self.graph.includers_of)
        else:
            self.visibility.forget(fid, targets_changed)

    # -- checks ------------------------------------------------------------------------------
    def check(self, path: str) -> list[Finding]:
        """Findings for ``path`` as it is now (its buffer if open, else the stored file)."""
        if not self.ready:
            return []
        fid = self.open[path].file_id if path in self.open else self.ids.get(path)
        if fid is None:
            return []
        overlay = OverlayModel(self.model, {of.file_id: of.rows for of in self.open.values()})
        ctx = CheckContext.from_parts(overlay, self.config, [fid], self.symbols, self.graph,
                                      self.visibility, self.hosted)
        return findings_of(ctx)

    def includers_of(self, path: str) -> set[str]:
        """Open files that include ``path``, directly or through other headers."""
        target = self.ids.get(path)
        if target is None or self.graph is None:
            return set()
        found = set()
        for p, of in self.open.items():
            if p == path:
                continue
            seen, todo = {of.file_id}, [of.file_id]
            while todo and target not in seen:
                for _s, r, *_ in self.graph.get(todo.pop(), ()):
                    if r is not None and r not in seen:
                        seen.add(r)
                        todo.append(r)
            if target in seen:
                found.add(p)
        return found


class _Hosted:
    """``fid in hosted``: the file includes a C library header (a host program)."""

    def __init__(self, graph: LazyGraph):
        self.graph = graph
        self.memo: dict[int, bool] = {}

    def __contains__(self, fid: int) -> bool:
        got = self.memo.get(fid)
        if got is None:
            got = self.memo[fid] = any(r is None and is_system_header(t)
                                       for _s, r, t, *_ in self.graph.get(fid, ()))
        return got

    def forget(self, fid: int) -> None:
        self.memo.pop(fid, None)
