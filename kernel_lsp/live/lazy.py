"""Symbol tables and include graph read from the model on demand, with open buffers on top.

Loading every symbol of a kernel model takes tens of seconds and over a gigabyte; a language
server checks one file at a time and needs a few hundred names per check. These tables answer
the same questions as ``checks.symbols.Symbols`` by indexed queries, memoised per name, and
let an open buffer's rows replace its stored file's.
"""

from __future__ import annotations

import json
from collections import defaultdict

from kernel_lsp.model.programs import Programs
from kernel_lsp.model.rows import FactRows, IncludeEdge
from kernel_lsp.model.store import BRANCH_KINDS, Model
from kernel_lsp.model.symbols import (
    FuncSym,
    MacroSym,
    Symbols,
    TypeSym,
    VarSym,
    bitset,
    configuration_is_derived,
    ifdef_call_sets,
    is_foreign,
    model_assembly_ids,
    model_dropped_headers,
    model_host_sources,
    model_kbuild_names,
    model_off_ids,
    model_unbuilt_ids,
    model_unknown_header_ids,
)

# A header included by more files than this is seen in the context of the first ones only.
CONTEXT_INCLUDERS = 64


class _Index:
    """name -> entries: stored ones (memoised query) minus overlaid files, plus overlay ones."""

    def __init__(self, fetch):
        self.fetch = fetch
        self.memo: dict[str, list] = {}
        self.overlay: dict[int, dict[str, list]] = {}

    def get(self, name: str, default=None):
        stored = self.memo.get(name)
        if stored is None:
            stored = self.memo[name] = self.fetch(name)
        if self.overlay:
            stored = [e for e in stored if e.file_id not in self.overlay]
            for per_file in self.overlay.values():
                stored = stored + per_file.get(name, [])
        return stored or default

    def __contains__(self, name: str) -> bool:
        return bool(self.get(name))

    def __getitem__(self, name: str):
        got = self.get(name)
        if got is None:
            raise KeyError(name)
        return got


class _Types:
    """``(kind, name) in tags`` / ``name in typedefs`` over stored and overlaid type rows."""

    def __init__(self, model: Model, want_typedef: bool):
        self.model, self.want_typedef = model, want_typedef
        self.memo: dict[str, list[tuple]] = {}
        self.overlay: dict[int, list[tuple]] = {}  # fid -> [(name, kind, is_def)]

    def _entries(self, name: str) -> list[tuple]:
        got = self.memo.get(name)
        if got is None:
            got = self.memo[name] = [r[:3] for r in self.model.type_entries(name)]
        return got

    def _has(self, name: str, kind: str | None) -> bool:
        for per_file in self.overlay.values():
            for n, k, is_def in per_file:
                if n == name and ((kind is None and k == "typedef") or (k == kind and is_def)):
                    return True
        return any((kind is None and k == "typedef") or (k == kind and d)
                   for fid, k, d in self._entries(name) if fid not in self.overlay)

    def __contains__(self, key) -> bool:
        if self.want_typedef:
            return self._has(key, None)
        kind, name = key
        return self._has(name, kind)


class LazySymbols(Symbols):
    """``Symbols`` backed by indexed queries; ``set_file``/``drop_file`` overlay a buffer."""

    def __init__(self, model: Model, arch: str):
        super().__init__(paths=model.file_paths(), alias_source=model.aliases_in)
        self.stored_macros = model.macro_definitions
        self.macro_overlay: dict[int, dict[str, list]] = {}  # fid -> name -> [(params, body)]
        self.foreign_ids = {fid for fid, p in self.paths.items() if is_foreign(p, arch)}
        self.host = model_host_sources(model)
        self.programs = Programs(self.paths, self.host)
        self.unbuilt_ids = model_unbuilt_ids(model, self.paths)
        self.unit_ids = model_unbuilt_ids(model, self.paths, "units")
        self.assembly_ids = model_assembly_ids(model, self.paths)
        self.dropped_headers = model_dropped_headers(model)
        self.dropped_include_rows = list(model.dropped_header_includes())
        self.stored_ifdef_calls = list(model.ifdef_calls())  # (name, file, start)
        self.ifdef_overlay: dict[int, list] = {}  # a buffer's own, by file
        self._set_ifdef_calls(None, ())
        self.arch = arch
        self.functions = _Index(lambda n: [FuncSym(f, bool(d), s, b)
                                           for f, d, s, b in model.function_entries(n)])
        self.macros = _Index(lambda n: [MacroSym(*r) for r in model.macro_entries(n)])
        self.variables = _Index(lambda n: [VarSym(f, s, bool(d), b, li, c, e)
                                           for f, s, d, b, li, c, e in model.variable_entries(n)])
        self.tags = _Types(model, want_typedef=False)
        self.typedefs = _Types(model, want_typedef=True)
        self.types = _Index(lambda n: [TypeSym(f, k, bool(d), b)
                                       for f, k, d, b in model.type_entries(n)])
        self.members = _Names(lambda n: model.is_member_name(n, False))
        self.enumerators = _Names(lambda n: model.is_member_name(n, True))
        self.hidden_all = _Hidden(model.hidden_kinds)
        self.hidden = self.hidden_all if configuration_is_derived(model) else {}
        self.hidden_in = _Hidden(model.hidden_declarers)
        self._add_dropped_units(model.dropped_c_includes())
        self.off_ids = model_off_ids(model, self.paths) | self.only_dropped_included(model)
        self.generated, self.command_line = model_kbuild_names(model)
        self.unknown_headers = bitset(model_unknown_header_ids(model, self))
        self.templates = bitset(model.template_files())
        self.stored_undecided = model.undecided_branches
        self.undecided = {}  # file -> its rows, read when asked; a buffer's own when it has one

    def set_file(self, fid: int, rows: FactRows) -> None:
        funcs, macros, variables = defaultdict(list), defaultdict(list), defaultdict(list)
        for f in rows.get("functions", ()):
            if f.parent is None:
                funcs[f.name].append(FuncSym(fid, bool(f.is_definition), f.storage, f.start_byte))
        texts = defaultdict(list)
        for m in rows.get("macros", ()):
            macros[m.name].append(MacroSym(fid, m.params is not None, m.start_byte))
            if m.params is not None:
                texts[m.name].append((json.loads(m.params), m.body or ""))
        self.macro_overlay[fid] = dict(texts)
        self.macro_needs_memo.clear()  # a buffer may define the macros differently
        for v in rows.get("variables", ()):
            variables[v.name].append(VarSym(fid, v.storage, bool(v.is_definition), v.start_byte,
                                            v.line, v.col, v.end_col))
        self.functions.overlay[fid] = dict(funcs)
        self.macros.overlay[fid] = dict(macros)
        self.variables.overlay[fid] = dict(variables)
        types = [(t.name, t.kind, bool(t.is_definition)) for t in rows.get("types", ())]
        self.tags.overlay[fid] = self.typedefs.overlay[fid] = types
        by_name = defaultdict(list)
        for t in rows.get("types", ()):
            by_name[t.name].append(TypeSym(fid, t.kind, bool(t.is_definition), t.start_byte))
        self.types.overlay[fid] = dict(by_name)
        members: dict[bool, set[str]] = {False: set(), True: set()}
        for t in rows.get("types", ()):
            if t.members:
                try:
                    members[t.kind == "enum"].update(m[0] for m in json.loads(t.members))
                except (ValueError, TypeError, IndexError):
                    continue
        self.members.overlay[fid] = members[False]
        self.enumerators.overlay[fid] = members[True]
        self._set_ifdef_calls(fid, [(h.name, fid, h.start_byte) for h in rows.get("hidden", ())
                                    if h.kind == "ifdef"])
        self.undecided[fid] = [(h.name, h.start_byte, h.end_byte, h.kind)
                               for h in rows.get("hidden", ()) if h.kind in BRANCH_KINDS]

    def undecided_in(self, fid: int) -> list[tuple[str, int, int, str]]:
        got = self.undecided.get(fid)
        if got is None:
            got = self.undecided[fid] = [(n, s, e, kind) for _f, n, s, e, kind
                                         in self.stored_undecided([fid])]
        return got

    def _set_ifdef_calls(self, fid: int | None, rows) -> None:
        """``ifdef_calls`` from the stored rows, those of ``fid`` replaced by ``rows``."""
        if fid is not None:
            self.ifdef_overlay[fid] = rows
        self.ifdef_calls = ifdef_call_sets(
            [r for r in self.stored_ifdef_calls if r[1] not in self.ifdef_overlay]
            + [r for got in self.ifdef_overlay.values() for r in got])

    def macro_definitions(self, name: str) -> list[tuple[int, list[str], str]]:
        """The stored definitions of files without a buffer, and the buffers' own."""
        out = [d for d in self.stored_macros(name) if d[0] not in self.macro_overlay]
        for fid, texts in self.macro_overlay.items():
            out += [(fid, params, body) for params, body in texts.get(name, ())]
        return out

    def drop_file(self, fid: int) -> None:
        self.undecided.pop(fid, None)
        if self.ifdef_overlay.pop(fid, None) is not None:
            self._set_ifdef_calls(None, ())
        self.macro_overlay.pop(fid, None)
        self.macro_needs_memo.clear()
        for table in (self.functions, self.macros, self.variables, self.tags, self.typedefs,
                      self.types, self.members, self.enumerators):
            table.overlay.pop(fid, None)


def overlay_key(rows: FactRows) -> frozenset:
    """What ``LazySymbols.set_file`` and the include graph take from a buffer's ``rows``,
    positions left out: while the key of every buffer stays the same, so do the symbols and
    the include closures other files see (an edit inside a body, a comment, a moved line)."""
    return frozenset((
        *(("f", f.name, f.is_definition, f.storage, f.parent) for f in rows.get("functions", ())),
        *(("t", t.name, t.kind, t.is_definition, t.members) for t in rows.get("types", ())),
        *(("m", m.name, m.params, m.body) for m in rows.get("macros", ())),
        *(("v", v.name, v.storage, v.is_definition) for v in rows.get("variables", ())),
        *(("i", i.target, i.angled, i.guard) for i in rows.get("includes", ())),
        *(("h", h.name, h.kind) for h in rows.get("hidden", ()))))


class _Hidden:
    """``get(name)``: what the stored files' dropped ``#if`` branches hold of ``name``
    (``fetch``: the kinds it has there, or the files declaring it), memoised. A buffer's own
    dropped branches count as stored until it is saved and indexed (they can only remove a
    finding)."""

    def __init__(self, fetch):
        self.fetch = fetch
        self.memo: dict[str, set] = {}

    def get(self, name: str, default=None):
        got = self.memo.get(name)
        if got is None:
            got = self.memo[name] = self.fetch(name)
        return got or default


class _Names:
    """``name in names``: a member (or enumerator) name of the stored model (an indexed query,
    memoised) or of an overlaid buffer. A name the buffer dropped may still count while its
    stored file has it: that hides a 406_2 at worst, never invents one."""

    def __init__(self, fetch):
        self.fetch = fetch
        self.memo: dict[str, bool] = {}
        self.overlay: dict[int, set[str]] = {}

    def __contains__(self, name: str) -> bool:
        if any(name in names for names in self.overlay.values()):
            return True
        got = self.memo.get(name)
        if got is None:
            got = self.memo[name] = self.fetch(name)
        return got


class LazyGraph:
    """file id -> include edges, read per file; buffers' edges set with ``graph[fid] = edges``."""

    def __init__(self, model: Model):
        self.model = model
        self.memo: dict[int, list[IncludeEdge]] = {}

    def get(self, fid: int, default=()):
        got = self.memo.get(fid)
        if got is None:
            got = self.memo[fid] = self.model.include_graph_of(fid)
        return got or default

    def __getitem__(self, fid: int):
        return self.get(fid, [])

    def __setitem__(self, fid: int, edges: list[IncludeEdge]) -> None:
        self.memo[fid] = edges

    def includers_of(self, fid: int) -> list[tuple[int, int]]:
        return [tuple(r) for r in self.model.includers_of(fid, CONTEXT_INCLUDERS)]
