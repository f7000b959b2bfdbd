"""The first model of a cold tree: a few files and everything they include, kept apart from the
root's model in ``.kernel-lsp/first.db``.

The editor opens a file long before the whole tree is indexed (a quarter of an hour for Linux on
two cores). The open files' include closures are a few hundred files: indexed first, they tell
what is visible at every line of the open files, which is what a missing declaration or type
definition is about (``live/first.py`` decides what of it is shown). Other files of the tree can
be added (``extra``): extracted, their includes not followed.

``first.db`` is a model like any other (same schema, same extractor stamp, same configuration),
so it is updated incrementally when the files are opened again; it is deleted once the root's
model is complete. Nothing here writes ``model.db``. Like ``model.db`` it is written by one run
at a time (``first.db.lock``): two servers starting on one cold tree expanded the macros of
the same files into it twice.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from pathlib import Path

from kernel_lsp.config import Config
from kernel_lsp.model.expand import expand_invocations
from kernel_lsp.model.indexer import (
    RESOLVER_VERSION,
    SERIAL_BELOW,
    IndexResult,
    Progress,
    current_configuration,
    extract_all,
    included_paths,
    is_unchanged,
    open_model,
    record_assembly_headers,
    record_forced_includes,
    record_unbuilt,
    resolve_includes,
    stamp_model,
    work_item,
    worker_pool,
)
from kernel_lsp.model.pools import stop_pool
from kernel_lsp.model.programs import host_sources
from kernel_lsp.model.resolve import IncludeResolver
from kernel_lsp.model.runlock import one_run_at_a_time, unless_under_way
from kernel_lsp.model.walk import discover
from kernel_lsp.parse.parser import check_queries

FIRST_DB = "first.db"


def first_db_path(config: Config) -> Path:
    return config.index_dir / FIRST_DB


def remove_first_db(config: Config) -> None:
    """Delete ``first.db`` (and its WAL files): the root's model supersedes it. Not while a
    run writes it (another server's on the same tree): it goes on in it, and the server that
    ends last deletes it. A file that cannot be deleted (a read-only directory) is left."""
    path = first_db_path(config)
    with unless_under_way(path) as free:
        if not free:
            return
        for suffix in ("", "-wal", "-shm"):
            try:
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            except OSError:
                return


def covered_paths(model) -> set[str]:
    """The files whose whole include closure ``model`` holds (the files it was asked for)."""
    return set(json.loads(model.meta("first_paths") or "[]"))


class FirstIndex:
    """``first.db`` being brought up to date: the tree is walked, its include resolver built and
    the extracting processes started once, however many closures and files a run adds (the
    closure of ``fs/open.c`` is nine rounds of includes; a pool each cost 0.3 s)."""

    def __init__(self, config: Config, *, jobs: int = 2, progress: Progress | None = None):
        self.config, self.jobs, self.progress = config, jobs, progress
        check_queries()  # before anything is stored (see ``indexer.index``)
        self.problems: list[str] = []
        self.model = open_model(config, self.problems, first_db_path(config))
        found, walk_problems = discover(config)
        self.problems += walk_problems
        self.by_path = {sf.path: sf for sf in found}
        self.configuration = current_configuration(self.model, config)
        stamp_model(self.model, self.configuration)
        self.model.set_meta("includes_resolved", "0")  # until this run's rows are resolved
        self.resolver = IncludeResolver.for_tree(config, self.by_path)
        self.wanted: set[str] = set()
        self.stats = {"files": len(found), "closure": 0, "extra": 0, "parsed": 0}
        self.pool = None  # ``worker_pool``: started by the first batch worth it, until ``finish``

    def stop_workers(self) -> None:
        """End the extracting processes (the next batch starts them again)."""
        if self.pool is not None:
            stop_pool(self.pool)
            self.pool = None

    def close_over(self, wanted: Iterable[str]) -> set[str]:
        """Extract ``wanted`` and every file they include transitively, as the whole tree's
        resolver resolves each include line; returns that closure."""
        frontier = sorted({p for p in wanted if p in self.by_path})
        self.wanted.update(frontier)
        closure: set[str] = set()
        while frontier:
            closure.update(frontier)
            self._extract(frontier)
            now = set(frontier)
            now_ids = {i for i, p in self.model.file_paths().items() if p in now}
            frontier = sorted({hit for _row, fid, hit in included_paths(self.model, self.resolver)
                               if fid in now_ids and hit in self.by_path and hit not in closure})
        self.stats["closure"] += len(closure)
        return closure

    def add(self, paths: Iterable[str]) -> None:
        """Extract ``paths`` (their includes not followed)."""
        have = set(self.model.file_paths().values())
        paths = sorted({p for p in paths if p in self.by_path and p not in have})
        self.stats["extra"] += len(paths)
        self._extract(paths)

    def finish(self) -> IndexResult:
        """Resolve, expand and record what the model now covers; the model stays open (a
        run may add more, then ``finish`` again)."""
        self.stop_workers()
        config, model = self.config, self.model
        resolve_includes(model, config, self.resolver)
        dirs = {posixpath.dirname(p) for p in self.wanted}
        hosted = set(json.loads(model.meta("host_sources") or "[]"))  # earlier runs' files too
        model.set_meta("host_sources", json.dumps(sorted(hosted | host_sources(config.root,
                                                                               dirs))))
        model.set_meta("includes_resolved", "1")
        model.set_meta("resolver_version", RESOLVER_VERSION)
        record_assembly_headers(model, config, self.configuration)
        record_unbuilt(model, config, self.configuration, self.by_path, self.problems)
        record_forced_includes(model)
        model.set_meta("first_paths", json.dumps(sorted(covered_paths(model) | self.wanted)))
        expand_invocations(model)
        return IndexResult(model, dict(self.stats), self.problems)

    def _extract(self, paths: list[str]) -> None:
        known = self.model.files()
        items = [work_item(self.by_path[p], known.get(p), self.config) for p in paths
                 if not is_unchanged(self.by_path[p], known.get(p))]
        if items and self.pool is None and self.jobs > 1 and len(items) >= SERIAL_BELOW:
            self.pool = worker_pool(self.jobs, self.configuration)
        if items:
            extract_all(self.model, items, self.jobs, self.progress, self.problems,
                        self.configuration, self.pool)
        self.stats["parsed"] += len(items)


def index_closure(config: Config, wanted: Iterable[str], extra: Iterable[str] = (), *,
                  jobs: int = 2, progress: Progress | None = None) -> IndexResult:
    """Bring ``first.db`` up to date with ``wanted`` (root-relative paths), every file they
    include transitively, and ``extra``. ``meta('first_paths')`` accumulates the ``wanted``
    files of every run (their closures are complete). One run at a time (``runlock``)."""
    with one_run_at_a_time(first_db_path(config)):
        first = FirstIndex(config, jobs=jobs, progress=progress)
        try:
            first.close_over(wanted)
            first.add(extra)
            return first.finish()
        finally:
            first.stop_workers()


