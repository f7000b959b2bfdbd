"""The findings façade: the one place that says what a file's findings are.

A ``Workspace`` is the stored model of one root plus the editor buffers open on it. ``findings``
runs the C checks and the eBPF checks of ``struct bpf_insn`` arrays, applies the configured
severities (``off`` hides a code) and, when asked, plans the quick fixes. The language server,
``kernel-lsp check`` and ``kernel-lsp fix`` all ask it, so they cannot disagree.

Two loading strategies (``live/tables.py``): eager for a whole-tree run, lazy for a few files
and for the editor, where a buffer's facts replace its stored file's in memory
(``OverlayModel``), never in the database. Not thread-safe: the server calls it from one thread.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kernel_lsp.checks.inputs import CheckInputs
from kernel_lsp.checks.run import run_checks, select_files
from kernel_lsp.checks.typevis import unparsed_bodies
from kernel_lsp.config import Config, relative_posix
from kernel_lsp.files import lone_crs_as_lf, read_regular
from kernel_lsp.findings import Finding, Reported, apply_severities
from kernel_lsp.fixes import FIXABLE_CODES, plan_fixes
from kernel_lsp.live.keystroke import BodyIndex, LocalEdit, local_update, rows_changed_symbols
from kernel_lsp.live.keystroke_checks import BodyFacts, findings_outside, inside_body
from kernel_lsp.live.lazy import overlay_key
from kernel_lsp.live.overlay import OverlayModel
from kernel_lsp.live.tables import Tables
from kernel_lsp.model.resolve import KBUILD_DIRS_META, IncludeResolver
from kernel_lsp.model.rows import FactRows, IncludeEdge, fact_rows
from kernel_lsp.model.runlock import why_incomplete
from kernel_lsp.model.store import FORCED_START, Model
from kernel_lsp.parse.buffer import Buffer
from kernel_lsp.parse.extract import extract
from kernel_lsp.parse.facts import FileFacts
from kernel_lsp.parse.macroenv import Configuration

log = logging.getLogger(__name__)
# ``findings`` of more files than this reads the whole model at once (``Tables.eager``).
EAGER_ABOVE = 2000
MARKER = b"struct bpf_insn"  # C files holding eBPF programs mention it (``ebpf/csource.py``)


@dataclass
class OpenFile:
    """An editor buffer: its text and tree, its own rows and the rows the checks see (its own
    plus what cross-file macro expansion generated for the stored file)."""

    path: str
    buffer: Buffer  # parsed under the workspace's configuration (``buffer.env``)
    own_rows: FactRows
    rows: FactRows
    file_id: int
    version: int | None = None
    carried: FactRows = field(default_factory=dict)  # stored macro-generated rows
    index: BodyIndex | None = None  # bodies a keystroke may be served from alone
    serial: int = 0  # which rows these are (the findings cache names them)
    local: LocalEdit | None = None  # set when these rows came from one body (``keystroke``)
    # ``lazy.overlay_key`` of ``rows``, found on first use; a keystroke that changes none of
    # it in its body hands the previous one on (15 ms of every check on ``ctree.c``)
    overlay: frozenset | None = None

    def overlay_key(self) -> frozenset:
        if self.overlay is None:
            self.overlay = overlay_key(self.rows)
        return self.overlay

    @property
    def approximate(self) -> bool:
        """Whether a full update might give other rows (a syntax error in the edited body:
        ``keystroke``); ``set_buffer(..., exact=True)`` then gives the exact ones."""
        return self.local is not None and self.local.approximate
    _facts: FileFacts | None = None

    @property
    def facts(self) -> FileFacts:
        """Facts of the buffer (extracted on first use: checks only need the rows)."""
        if self._facts is None:
            self._facts = extract(self.path, self.buffer.source, self.buffer.exact_tree(),
                                  env=self.buffer.env)
        return self._facts


class Workspace:
    """The model of one root, the tables the checks read, and the buffers open on it."""

    def __init__(self, config: Config):
        self.config = config
        self.model: Model | None = None
        self.env = Configuration()  # the configuration the model was extracted under
        self.tables = Tables.empty()
        self._resolver: IncludeResolver | None = None
        self._stored_paths: list[str] = []
        self.ids: dict[str, int] = {}
        self.open: dict[str, OpenFile] = {}
        self.local = 0  # buffer updates served from the edited body alone (``keystroke``)
        self.generation = 0  # bumped whenever what other rows' findings depend on may change
        self._serials = 0
        self._found: dict[int, tuple[int, int, list[Finding]]] = {}  # fid -> (gen, serial, C)
        self.timings: dict[str, float] = {}  # seconds per phase of the last update and check
        self._bpf_users: set[int] | None = None  # stored files using ``struct bpf_insn``
        self._plans: dict[tuple, tuple[dict, ...]] = {}  # finding -> its plans (this model)
        # (the buffers' ``overlay_key``s, header -> its context needs): see ``check_inputs``
        self._header_needs: tuple[tuple, dict] = ((), {})
        # set while the model is the first one of a cold tree (``live/first.py``): only what it
        # proves is reported
        self.provisional = None

    # -- the stored model --------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether a model with files is loaded (else findings would be noise)."""
        return self.model is not None and bool(self.ids)

    @property
    def resolver(self) -> IncludeResolver | None:
        """The include resolver over the stored files (their paths, and the Kbuild ``-I``
        directories the model's includes were resolved with; a model stored without them has
        the Makefiles of their directories read, 1-2 s on a kernel), built when a buffer's
        includes or a fix plan first need it."""
        if self._resolver is None and self.model is not None:
            self._resolver = IncludeResolver.for_tree(self.config, self._stored_paths,
                                                      self.model.meta(KBUILD_DIRS_META))
        return self._resolver

    def load(self) -> str | None:
        """(Re)load ``model.db`` lazily (the editor); returns a problem message, or None."""
        if not self.config.db_path.exists():
            return None
        try:
            model = Model(self.config.db_path)
            if model.meta("includes_resolved") != "1":
                model.close()
                return why_incomplete(self.config.db_path)
            self.adopt(model)
            self.provisional = None
        except Exception as exc:  # noqa: BLE001 - a damaged or foreign db is a message, not a crash
            return f"cannot load {self.config.db_path}: {exc}"
        return None

    def adopt(self, model: Model, *, eager: bool = False) -> None:
        """Check against ``model`` from now on (``eager``: load all its tables at once)."""
        old = self.model
        arch = self.config.arch
        self.tables = Tables.eager(model, arch) if eager else Tables.lazy_for(model, arch)
        paths = self.tables.symbols.paths
        self.model = model
        stored = model.meta("configuration")
        self.env = Configuration.from_json(stored) if stored else Configuration()
        self._resolver = None  # built on first use (a buffer's includes, fix plans)
        self.generation += 1
        self._bpf_users, self._plans = None, {}
        self._header_needs = ((), {})
        self._stored_paths = list(paths.values())
        self.ids = {p: i for i, p in paths.items()}
        if old is not None and old is not model:
            old.close()
        for path, of in list(self.open.items()):  # re-apply buffers on the fresh tables
            self.open.pop(path)
            keep = of.buffer if of.buffer.env == self.env else None
            self.set_buffer(path, of.buffer.source, version=of.version, buffer=keep)

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
            symbols = self.tables.symbols
            fid = max(symbols.paths, default=0) + 1
            self.ids[path] = fid
            symbols.paths[fid] = path
            symbols.programs.set(fid, path, symbols.host)
        return fid

    def set_buffer(self, path: str, source: bytes, *, version: int | None = None,
                   buffer: Buffer | None = None, exact: bool = False) -> OpenFile:
        """Make ``source`` the content of ``path`` for every later check and query
        (``exact``: never from the edited body alone, see ``OpenFile.approximate``)."""
        self.timings = {}
        t0 = time.perf_counter()
        of = self.open.get(path)
        if buffer is None and of is not None and of.index is not None and not exact:
            got = self._local_update(of, source)
            self.timings["local"] = time.perf_counter() - t0
            if got is not None:
                return self._set_local(of, version, *got)
        self.generation += 1
        if buffer is None:
            buffer = of.buffer if of is not None else None
            if buffer is None:
                buffer = Buffer(source, self.env)
            else:
                buffer.last_edit = None
                buffer.update(source)
        t1 = time.perf_counter()
        self.timings["parse"] = t1 - t0
        own = fact_rows(extract(path, buffer.source, buffer.exact_tree(), env=buffer.env))
        index = BodyIndex.build(buffer.exact_tree(), buffer.active, buffer.blanked, own)
        t2 = time.perf_counter()
        self.timings["extract"] = t2 - t1
        fid = self._file_id(path)
        if of is not None:
            carried = of.carried
        elif self.model is not None:
            carried = self.model.generated_rows(fid)
        else:
            carried = {}
        rows = self._with_carried(own, carried)
        if self.tables.lazy:
            self.tables.symbols.set_file(fid, rows)
            self._swap_includes(fid, path, rows)
        self._serials += 1
        new = OpenFile(path, buffer, own, rows, fid, version, carried, index, self._serials)
        self.open[path] = new
        self.timings["tables"] = time.perf_counter() - t2
        return new

    def _local_update(self, of: OpenFile, source: bytes):
        """``keystroke.local_update`` (None when the edit is not one body's); a failure there
        is logged and the full update serves the edit."""
        try:
            return local_update(of.path, of.buffer, of.index, of.own_rows, source, self.timings)
        except Exception:  # noqa: BLE001 - the full update is always right
            log.exception("serving an edit of %s from one body failed", of.path)
            return None

    @staticmethod
    def _with_carried(own: FactRows, carried: FactRows) -> FactRows:
        rows = dict(own)
        for table, extra in carried.items():  # what cross-file macro expansion generated
            names = {r.name for r in rows[table]}
            rows[table] = rows[table] + [r for r in extra if r.name not in names]
        return rows

    def _set_local(self, of: OpenFile, version, own: FactRows, index: BodyIndex,
                   edit: LocalEdit) -> OpenFile:
        """Take rows served from one body (``keystroke.local_update``)."""
        t0 = time.perf_counter()
        self.local += 1
        if rows_changed_symbols(edit):
            self.generation += 1  # a type defined in the body: other rows may read it
        rows = self._with_carried(own, of.carried)
        if self.tables.lazy:
            self.tables.symbols.set_file(of.file_id, rows)
            self._swap_includes(of.file_id, of.path, rows)
        self._serials += 1
        edit.prev_serial = of.serial
        same = overlay_key(edit.old_rows) == overlay_key(edit.new_rows)
        new = OpenFile(of.path, of.buffer, own, rows, of.file_id, version, of.carried, index,
                       self._serials, edit, of.overlay if same else None)
        self.open[of.path] = new
        self.timings["tables"] = time.perf_counter() - t0
        return new

    def drop_buffer(self, path: str) -> None:
        """Forget the buffer of ``path``: the stored file counts again."""
        of = self.open.pop(path, None)
        self.generation += 1
        if of is not None:
            self._found.pop(of.file_id, None)
        if of is None or not self.tables.lazy:
            return
        self.tables.symbols.drop_file(of.file_id)
        if self.model is not None:
            self._set_graph(of.file_id, self.model.include_graph_of(of.file_id))

    def _swap_includes(self, fid: int, path: str, rows: FactRows) -> None:
        # (what Kbuild's ``-include`` reads before the unit is no line of the buffer: kept)
        edges = [e for e in self.tables.graph.get(fid, ()) if e.start_byte == FORCED_START]
        for inc in rows["includes"]:
            hit = self.resolver.resolve(path, inc.target, bool(inc.angled)) \
                if self.resolver else None
            edges.append(IncludeEdge(inc.start_byte, self.ids.get(hit) if hit else None,
                                     inc.target, inc.line, inc.col, inc.end_col, inc.guard,
                                     int(bool(inc.angled))))
        self._set_graph(fid, sorted(edges))

    def _set_graph(self, fid: int, edges: list[IncludeEdge]) -> None:
        tables = self.tables
        before = [(e.start_byte, e.resolved_id) for e in tables.graph.get(fid, ())]
        tables.graph[fid] = edges
        tables.forget_hosted(fid)
        if before == [(e.start_byte, e.resolved_id) for e in edges]:
            return
        targets_changed = sorted(r for _, r in before if r is not None) != sorted(
            e.resolved_id for e in edges if e.resolved_id is not None)
        if tables.visibility.includers_for(fid):
            tables.refresh_visibility()  # a header's includes changed: its includers see it
        else:
            tables.visibility.forget(fid, targets_changed)

    def includers_of(self, path: str) -> set[str]:
        """Open files that include ``path``, directly or through other headers."""
        target = self.ids.get(path)
        if target is None:
            return set()
        found = set()
        for p, of in self.open.items():
            if p == path:
                continue
            seen, todo = {of.file_id}, [of.file_id]
            while todo and target not in seen:
                for e in self.tables.graph.get(todo.pop(), ()):
                    if e.resolved_id is not None and e.resolved_id not in seen:
                        seen.add(e.resolved_id)
                        todo.append(e.resolved_id)
            if target in seen:
                found.add(p)
        return found

    def buffer_holding(self, path: str, source: bytes) -> OpenFile | None:
        """The open buffer of ``path`` if it holds exactly ``source`` (its tree and facts are
        then current), else None."""
        of = self.open.get(path)
        return of if of is not None and of.buffer.source == source else None

    # -- findings ----------------------------------------------------------------------------
    def findings(self, paths: Iterable[str] | None = None, *,
                 with_fixes: bool = False) -> list[Reported]:
        """The reported findings of ``paths`` (root-relative; every stored file when None), as
        they are now: buffers where open, else the stored files. C checks and eBPF checks,
        with the configured severities; ``with_fixes`` plans the quick fixes of each."""
        if not self.ready:
            return []
        fids = self._file_ids(paths)
        t0 = time.perf_counter()
        found = self._c_findings(fids)
        t1 = time.perf_counter()
        found += self._bpf_findings(fids)
        reported = apply_severities(found, self.config.severity)
        t2 = time.perf_counter()
        if self.provisional is not None:
            reported = self.provisional.shown(reported, self._covered(fids))
            with_fixes = False  # a fix needs the whole tree (which header declares it)
        if with_fixes:
            reported = [self._with_plans(r) for r in reported]
        self.timings.update(checks=t1 - t0, bpf=t2 - t1, fixes=time.perf_counter() - t2)
        return reported

    def _covered(self, fids: list[int]) -> set[str]:
        """The paths of ``fids`` the provisional model covers, as their buffers are now."""
        paths = {i: p for p, i in self.ids.items()}
        out = set()
        for fid in fids:
            of = self._open_by_id(fid)
            path = of.path if of is not None else paths.get(fid)
            includes = [inc.target for inc in of.rows["includes"]] if of is not None else None
            if path is not None and self.provisional.covers(path, includes):
                out.add(path)
        return out

    def _file_ids(self, paths: Iterable[str] | None) -> list[int]:
        """Ids of the files (or the files under the directories) ``paths``; all when None."""
        if paths is None:
            return sorted(set(self.ids.values()))
        fids = set()
        for p in paths:
            p = p.strip("/")
            if p in self.ids:
                fids.add(self.ids[p])
            elif p in ("", "."):
                return sorted(set(self.ids.values()))
            else:
                fids.update(fid for q, fid in self.ids.items() if q.startswith(p + "/"))
        return sorted(fids)

    def check_inputs(self, fids: list[int]) -> CheckInputs:
        """What the checks read for ``fids``: buffers where open, else the stored files."""
        t = self.tables
        buffers = {of.file_id: of.rows for of in self.open.values()}
        overlay = OverlayModel(self.model, buffers)
        # the headers' context needs (``checks/unitvis``) hold while this model and the
        # definitions and includes of every buffer do: 70 % of a full check of ``ctree.c``
        key = tuple(sorted((of.file_id, of.overlay_key()) for of in self.open.values()))
        if key != self._header_needs[0]:
            self._header_needs = (key, {})
        return CheckInputs(overlay, t.symbols, t.graph, t.visibility, t.hosted, fids,
                           self.config.policies, header_needs=self._header_needs[1],
                           buffers=frozenset(buffers))

    def _c_findings(self, fids: list[int]) -> list[Finding]:
        """The C findings of ``fids``; one open file after a keystroke served from one body:
        its other findings as they were (moved with the edit), the body's checked afresh."""
        of = self._open_by_id(fids[0]) if len(fids) == 1 else None
        found = self._body_findings(of) if of is not None else None
        if found is None:
            found = run_checks(self.check_inputs(fids))
        if of is not None:
            self._found[of.file_id] = (self.generation, of.serial, found)
        return found

    def _open_by_id(self, fid: int) -> OpenFile | None:
        return next((of for of in self.open.values() if of.file_id == fid), None)

    def _body_findings(self, of: OpenFile) -> list[Finding] | None:
        edit, cached = of.local, self._found.get(of.file_id)
        if edit is None or cached is None or cached[:2] != (self.generation, edit.prev_serial):
            return None
        if any(u.owner for rows in (edit.old_rows, edit.new_rows)
               for u in rows.get("type_uses", ())):
            return None  # a type defined in the body: its 503_2 is per owner, maybe elsewhere
        source = of.buffer.source
        kept = findings_outside(cached[2], source, edit, of.path)
        inputs = self.check_inputs([of.file_id])
        if unparsed_bodies(inputs):
            return None  # a body the compiler skips: which one, the whole file's rows say
        inputs = inputs.restricted_to(BodyFacts(of.file_id, edit.new_rows))
        fresh = [f for f in run_checks(inputs) if inside_body(f, source, edit.body)]
        unique = {(f.code, f.path, f.line, f.col, f.symbol): f for f in kept + fresh}
        return sorted(unique.values(), key=Finding.sort_key)

    def layer_findings(self, paths: Iterable[str] | None = None) -> list[Reported]:
        """The layer findings (408_2) alone of ``paths`` (every file when None), with the
        configured severities: what ``kernel-lsp verify POLICY`` reports."""
        from kernel_lsp.checks.layers import check_layers

        if not self.ready:
            return []
        found = check_layers(self.check_inputs(self._file_ids(paths)))
        return apply_severities(found, self.config.severity)

    def body_findings(self, functions: dict[str, set[str]]) -> list[Reported]:
        """The findings of the bodies of some functions only (``functions``: path -> names),
        with the configured severities: the same checks, on those functions' call sites, type
        uses and variable uses (what a demand's invocations need)."""
        if not self.ready:
            return []
        wanted = {self.ids[p]: names for p, names in functions.items() if p in self.ids}
        inputs = self.check_inputs(sorted(wanted))
        inputs = inputs.restricted_to(FunctionFacts(inputs.facts, wanted))
        return apply_severities(run_checks(inputs), self.config.severity)

    def verify(self, demands: list) -> object:
        """Verify demands (``design.verify.Verifier``): the design's Algorithm 1 over the
        findings of this workspace."""
        from kernel_lsp.design.verify import Verifier

        return Verifier(self).verify(demands)

    def _bpf_findings(self, fids: list[int]) -> list[Finding]:
        """Findings of the ``struct bpf_insn`` arrays in C sources (buffer or disk)."""
        by_id = {of.file_id: of for of in self.open.values()}
        wanted = set(fids)
        if self._bpf_users is None:
            self._bpf_users = self.model.files_using_type("bpf_insn", "struct")
        stored = self._bpf_users & wanted
        out: list[Finding] = []
        paths = self.tables.symbols.paths
        for fid in sorted(wanted & (stored | set(by_id))):
            of = by_id.get(fid)
            source = of.buffer.source if of is not None else self._disk(paths[fid])
            if source is not None and MARKER in source:
                from kernel_lsp.ebpf.csource import findings_in_c  # the eBPF loaders: rarely

                out += findings_in_c(source, paths[fid])
        return out

    def _disk(self, path: str) -> bytes | None:
        try:
            return lone_crs_as_lf(read_regular(self.config.root / path,
                                               self.config.max_file_bytes))
        except OSError:
            return None

    def _with_plans(self, item: Reported) -> Reported:
        f = item.finding
        if f.code not in FIXABLE_CODES or self.model is None or self.resolver is None:
            return item
        # the same finding (position included) gets the same plans until the model reloads
        key = (f.code, f.path, f.line, f.col, f.end_line, f.end_col, f.symbol, f.message,
               repr(f.context))
        plans = self._plans.get(key)
        if plans is None:
            if len(self._plans) > 4096:
                self._plans.clear()
            plans = self._plans[key] = tuple(self._plan(f))
        return dataclasses.replace(item, finding=dataclasses.replace(f, plans=plans))

    def _plan(self, f: Finding) -> list[dict]:
        c = f.context  # a header use a unit sees undeclared: include above the unit's line
        at = f if "unit" not in c else dataclasses.replace(
            f, path=c["unit"], line=c["unit_line"], col=c["unit_col"], end_line=c["unit_line"],
            end_col=c["unit_end_col"])
        plans = plan_fixes(at, self.model, self.resolver, self.config)
        return plans if at is f else [dict(p, use=[c["unit_line"], c["unit_col"]], via_include=True)
                                      for p in plans if p.get("kind") == "include"]


class FunctionFacts:
    """A fact source restricted to the bodies of some functions (file id -> names): their
    calls, type uses and variable uses; prototypes and definitions as they are."""

    def __init__(self, facts, wanted: dict[int, set[str]]):
        self.facts, self.wanted = facts, wanted

    def _inside(self, rows, attr: str):
        return ((f, r) for f, r in rows if getattr(r, attr) in self.wanted.get(f, ()))

    def calls_in(self, file_ids):
        return self._inside(self.facts.calls_in(file_ids), "caller")

    def type_uses_in(self, file_ids):
        return self._inside(self.facts.type_uses_in(file_ids), "function")

    def var_uses_in(self, file_ids):
        return self._inside(self.facts.var_uses_in(file_ids), "function")

    def variables_in(self, file_ids):
        return iter(())

    def local_prototypes(self, file_ids):
        return self.facts.local_prototypes(file_ids)

    def definitions_in(self, file_ids):
        return self.facts.definitions_in(file_ids)

    def invocations_in(self, file_ids):
        return iter(())  # file-scope: outside every body


def facts_of(ws: Workspace | None, path: str, source: bytes) -> FileFacts:
    """The facts of ``source`` for ``path``: the open buffer's when it holds that text, else
    extracted now (outlines need no model, so ``ws`` may be None)."""
    of = ws.buffer_holding(path, source) if ws is not None else None
    if of is not None:
        return of.facts
    return extract(path, source, env=ws.env if ws is not None else None)


def open_workspace(config: Config, model: Model, paths: list[str] | None) -> Workspace:
    """A workspace over ``model`` for a batch run on ``paths``: eager tables for a whole tree,
    lazy ones (indexed lookups, instant start) for a few files."""
    ws = Workspace(config)
    files_only = paths is not None and all(p.endswith(config.extensions) for p in paths)
    many = paths is None or (len(paths) > EAGER_ABOVE if files_only else
                             len(select_files(model, paths)) > EAGER_ABOVE)
    ws.adopt(model, eager=many)
    return ws
