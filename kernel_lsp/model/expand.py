"""Expand file-scope invocations of macros defined in other files, so generated functions exist.

``TRACE_EVENT(sched_switch, ...)`` in ``include/trace/events/sched.h`` generates
``trace_sched_switch()`` through macros of ``include/linux/tracepoint.h``; ``BUFFER_FNS(Uptodate,
uptodate)`` generates ``buffer_uptodate()``. Extraction sees one file at a time and cannot expand
them; this pass runs after include resolution, picks for each invocation the macro definitions
visible at that point (the include closure), expands with the same expander as same-file macros,
and stores what the expansion defines as facts of the invoking file.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

from kernel_lsp.model import collector
from kernel_lsp.model.pools import started_pool, stop_pool
from kernel_lsp.model.rows import fact_tuples
from kernel_lsp.model.store import Model
from kernel_lsp.model.visibility import Visibility, visible
from kernel_lsp.parse.extract import Extractor
from kernel_lsp.parse.facts import FileFacts, Span
from kernel_lsp.parse.filescope import definer_variable, nested_invocations
from kernel_lsp.parse.macros import VARIABLE_DEFINERS, Expander

_NOT_DEFINING = re.compile(r"^(?:MODULE_|EXPORT_SYMBOL|__setup$|early_param$)")


class VisibleMacros:
    """``name -> (params, body)`` of the function-like macros visible at one point of a file."""

    def __init__(self, defs: dict, fid: int, pos: int, own: int, context: int):
        # ``own``: what the file's own includes above ``pos`` bring; ``context``: what its
        # includers saw. Own definitions win: trace headers are read with the tracepoint.h
        # macros they include, not with define_trace.h's redefinitions an includer saw.
        self.defs, self.fid, self.pos = defs, fid, pos
        self.masks = (own, own | context)
        self._cache: dict[str, tuple | None] = {}

    def get(self, name: str):
        if name in self._cache:
            return self._cache[name]
        found = None
        # a variable definer (``DECLARE_PER_CPU``) stays an invocation, which the extraction of
        # the expansion reads with its table (``VARIABLE_DEFINERS``): its own expansion
        # (``extern __PCPU_ATTRS("") __typeof__(type) name``) declares nothing the grammar reads,
        # so arm64's ``DECLARE_KVM_HYP_PER_CPU(struct kvm_host_data, kvm_host_data)`` declared
        # nothing
        entries = () if name in VARIABLE_DEFINERS else self.defs.get(name, ())
        for fid, start, params, body in entries:
            if fid == self.fid and start < self.pos:
                found = (params, body)  # the file's own last one above: X-macro item macros
                # (``#define x(name, ...)``) are defined, undefined and defined again
        for mask in self.masks if found is None else ():
            for fid, _start, params, body in entries:
                if fid != self.fid and visible(mask, fid):
                    found = (params, body)
                    break  # the first visible definition (in path, then position order)
            if found is not None:
                break
        self._cache[name] = found
        return found

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None


class IncluderMacros(VisibleMacros):
    """The macros an ``#include`` line of an includer gives the included file's invocations:
    the includer's own last definition above the line first (``#define SUBSYS(x) extern
    struct cgroup_subsys x##_cgrp_subsys;`` then ``#include <linux/cgroup_subsys.h>``: an
    X-macro list, read again with each definition), then what is visible there."""

    def get(self, name: str):
        last = None
        for fid, start, params, body in self.defs.get(name, ()):
            if fid == self.fid and start < self.pos:
                last = (params, body)
        return last if last is not None else super().get(name)


BATCH = 500  # files whose expansion is stored in one transaction
PARALLEL_FROM = 4 * BATCH  # fewer files than this are expanded in this process


class Expanded(NamedTuple):
    added: int  # definitions the expansion generated
    processes: int  # how many expanded them (0: nothing to expand)


@collector.bulk_work()
def expand_invocations(model: Model, progress=None, jobs: int = 1) -> Expanded:
    """Expand the cross-file macro invocations of every file not yet covered. (Macro
    definitions in ``#if`` branches the configuration drops were never extracted.) Among
    several visible definitions, the first in path and position order wins.
    ``progress(done, total, path)`` is called after each file. With ``jobs`` > 1 and enough
    files, batches are expanded by that many processes reading the model's file, and stored
    here in the order of the batches: the rows are the same as with one process."""
    targets = model.unexpanded_files()
    if not targets:
        return Expanded(0, 0)
    batches = [targets[i:i + BATCH] for i in range(0, len(targets), BATCH)]
    pool, processes = None, 1
    if jobs > 1 and len(targets) >= PARALLEL_FROM and model.path is not None:
        # (started as the extraction's: a Ctrl-C while its workers started printed their
        # FileNotFoundError tracebacks, and one while they worked their KeyboardInterrupt's)
        processes = min(jobs, len(batches))
        pool = started_pool(processes, _open_expansion, str(model.path))
        results = pool.imap(_expand_batch, batches)
        paths = model.file_paths()
    else:
        expansion = Expansion(model)
        results = map(expansion.batch, batches)
        paths = expansion.paths
    added, done = 0, 0
    try:
        for batch, rows in zip(batches, results, strict=True):
            model.add_expansions(batch, rows)
            added += sum(len(v) for file_rows in rows.values() for v in file_rows.values())
            for fid in batch:
                done += 1
                if progress is not None:
                    progress(done, len(targets), paths[fid])
    finally:
        if pool is not None:
            stop_pool(pool)
    return Expanded(added, processes)


class Expansion:
    """What expanding a model's files needs: every function-like and alias macro in path and
    position order, the include graph, and the invocations of included X-macro lists."""

    def __init__(self, model: Model):
        self.model = model
        self.paths = paths = model.file_paths()
        defs: dict[str, list] = {}
        for name, fid, params, body, start in model.function_macros():
            defs.setdefault(name, []).append((fid, start, tuple(json.loads(params)), body))
        for name, fid, body, start in model.alias_macros():  # params None: ``Expander`` follows
            defs.setdefault(name, []).append((fid, start, None, body))
        for entries in defs.values():  # both kinds in path and position order again
            entries.sort(key=lambda e: (paths.get(e[0], ""), e[1]))
        self.defs = defs
        # object-like X-macro lists (``MBOX_MESSAGES``), for the files that invoke them bare
        self.lists: dict[str, list] = {}
        for name, fid, body, start in model.list_macros():
            self.lists.setdefault(name, []).append((fid, start, None, body))
        self.vis = Visibility(model.include_graph())
        self.listed: dict[int, list] = {}  # included file -> its invocations (X-macro lists)
        # file -> function-like macro -> its first #define
        self.own: dict[int, dict[str, int]] = {}
        for name, entries in defs.items():
            for f, start, *_ in entries:
                self.own.setdefault(f, {}).setdefault(name, start)

    def batch(self, file_ids: list[int]) -> dict[int, dict[str, list]]:
        """The function, type and variable rows the invocations of ``file_ids`` generate, per
        file (files generating nothing left out)."""
        defs, vis, paths = self.defs, self.vis, self.paths
        by_file: dict[int, FileFacts] = {}
        invocations: dict[int, list] = {}
        for fid, inv in self.model.invocations(file_ids):
            invocations.setdefault(fid, []).append(inv)
        for fid in file_ids:
            generated = [_expand_one(defs, vis, paths[fid], fid, inv, self.lists)
                         for inv in invocations.get(fid, ())]
            if fid in self.own:
                generated += _expand_included(self.model, defs, vis, paths[fid], fid,
                                              self.own[fid], self.listed)
            for facts in generated:
                if facts is not None:
                    got = by_file.setdefault(fid, FileFacts(paths[fid]))
                    got.functions += facts.functions
                    got.types += facts.types
                    got.variables += facts.variables
        rows = {}
        for fid, facts in by_file.items():
            generated = fact_tuples(facts)  # (plain tuples: they go through a pipe)
            rows[fid] = {k: generated[k] for k in ("functions", "types", "variables")}
        vis.trim()  # the per-line bitsets of these files are not needed again
        return rows


_WORKER: Expansion | None = None  # a pool worker's own, over its own connection


def _open_expansion(path: str) -> None:
    global _WORKER
    with collector.bulk_work():
        _WORKER = Expansion(Model(path))
    collector.worker_process()


def _expand_batch(file_ids: list[int]) -> dict[int, dict[str, list]]:
    assert _WORKER is not None, "initializer not run"
    return _WORKER.batch(file_ids)


def _expand_one(defs: dict, vis: Visibility, path: str, fid: int, inv,
                lists: dict | None = None) -> FileFacts | None:
    """What one file-scope invocation defines (at file scope, a macro use can only declare)."""
    name, start = inv.name, inv.start_byte
    if inv.args is None:
        return _expand_list(defs, lists or {}, vis, path, fid, inv)
    if _NOT_DEFINING.match(name):
        return None
    table = VisibleMacros(defs, fid, start, vis.own_before(fid, start), vis.context(fid))
    expansion = Expander(table).expand(name, json.loads(inv.args))
    if not expansion:
        return None
    if inv.has_body:
        expansion += " {}"
    where = Span(start, start + len(name), inv.line, inv.col, inv.line, inv.col + len(name))
    sub = Extractor(path, expansion.encode(), generated=(name, where)).run()
    sub.functions = [f for f in sub.functions if f.parent is None]
    # what the variable definers the expansion names declare, as a same-file expansion reads
    # them (``_handle_invocation``)
    for inner, args, is_static in nested_invocations(expansion, {}):
        if inner in VARIABLE_DEFINERS and (
                var := definer_variable(inner, args, where, is_static)) is not None:
            sub.variables.append(var)
    return sub


def _expand_list(defs: dict, lists: dict, vis: Visibility, path: str, fid: int, inv
                 ) -> FileFacts | None:
    """What an X-macro list invoked bare defines: its items expanded with the item macro the
    file defines above the line (its last definition there), else one visible there
    (``#define M(_name, _id, _fn_name, ...) static ... *otx2_mbox_alloc_msg_ ## _fn_name(...)``
    then ``MBOX_MESSAGES`` of ``af/mbox.h``)."""
    name, start = inv.name, inv.start_byte
    own, context = vis.own_before(fid, start), vis.context(fid)
    found = IncluderMacros(lists, fid, start, own, context).get(name)
    if found is None:
        return None
    body = found[1]
    expansion = Expander(IncluderMacros(defs, fid, start, own, context)).expand_text(body, {name})
    if not expansion or expansion == body:
        return None
    where = Span(start, start + len(name), inv.line, inv.col, inv.line, inv.col + len(name))
    sub = Extractor(path, expansion.encode(), generated=(name, where)).run()
    sub.functions = [f for f in sub.functions if f.parent is None]
    return sub


def _expand_included(model: Model, defs: dict, vis: Visibility, path: str, fid: int,
                     own: dict[str, int], listed: dict[int, list]) -> list[FileFacts | None]:
    """What the invocations of each file ``fid`` includes define when ``fid`` itself defines
    their macro above the ``#include`` line (an X-macro list included after a ``#define``;
    ``own``: the function-like macros ``fid`` defines, with the offset of the first):
    facts of ``fid``, placed at the ``#include`` line."""
    out = []
    for edge in vis.graph.get(fid, ()):
        target = edge.resolved_id
        if target is None or target == fid:
            continue
        if target not in listed:
            listed[target] = [inv for _f, inv in model.invocations([target])]
        for inv in listed[target]:
            if own.get(inv.name, edge.start_byte) < edge.start_byte:
                out.append(_expand_at(defs, vis, path, fid, inv, edge))
    return out


def _expand_at(defs: dict, vis: Visibility, path: str, fid: int, inv, edge) -> FileFacts | None:
    """One invocation of an included file, expanded with what the includer defines above the
    ``#include`` line ``edge``."""
    pos = edge.start_byte
    if inv.args is None:
        return None  # a bare name in the included file: not an item of the includer's list
    table = IncluderMacros(defs, fid, pos, vis.own_before(fid, pos), vis.context(fid))
    expansion = Expander(table).expand(inv.name, json.loads(inv.args))
    if not expansion:
        return None
    where = Span(pos, pos + 1, edge.line, edge.col, edge.line, edge.end_col)
    sub = Extractor(path, expansion.encode(), generated=(inv.name, where)).run()
    sub.functions = [f for f in sub.functions if f.parent is None]
    return sub
