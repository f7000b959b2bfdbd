"""The first model of a cold tree: a few files and everything they include, kept apart from the
root's model in ``.kernel-lsp/first.db``.

The editor opens a file long before the whole tree is indexed (a quarter of an hour for Linux on
two cores). The open files' include closures are a few hundred files: indexed first, they tell
what is visible at every line of the open files, which is what a missing declaration or type
definition is about (``live/first.py`` decides what of it is shown). Other files of the tree can
be added (``extra``): extracted, their includes not followed.

``first.db`` is a model like any other (same schema, same extractor stamp, same configuration),
so it is updated incrementally when the files are opened again; it is deleted once the root's
model is complete. Nothing here writes ``model.db``.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from pathlib import Path

from kernel_lsp.config import Config
from kernel_lsp.model.expand import expand_invocations
from kernel_lsp.model.indexer import (
    IndexResult,
    Progress,
    current_configuration,
    extract_all,
    included_paths,
    is_unchanged,
    open_model,
    resolve_includes,
    stamp_model,
    work_item,
)
from kernel_lsp.model.programs import host_sources
from kernel_lsp.model.resolve import IncludeResolver
from kernel_lsp.model.walk import SourceFile, discover

FIRST_DB = "first.db"


def first_db_path(config: Config) -> Path:
    return config.index_dir / FIRST_DB


def remove_first_db(config: Config) -> None:
    """Delete ``first.db`` (and its WAL files): the root's model supersedes it."""
    path = first_db_path(config)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def covered_paths(model) -> set[str]:
    """The files whose whole include closure ``model`` holds (the files it was asked for)."""
    return set(json.loads(model.meta("first_paths") or "[]"))


def index_closure(config: Config, wanted: Iterable[str], extra: Iterable[str] = (), *,
                  jobs: int = 2, progress: Progress | None = None) -> IndexResult:
    """Bring ``first.db`` up to date with ``wanted`` (root-relative paths), every file they
    include transitively as the whole tree's resolver resolves the include lines, and ``extra``.
    The stats name the closure's size; ``meta('first_paths')`` accumulates the ``wanted``
    files of every run (their closures are complete)."""
    problems: list[str] = []
    model = open_model(config, problems, first_db_path(config))
    found, walk_problems = discover(config)
    problems += walk_problems
    by_path = {sf.path: sf for sf in found}
    configuration = current_configuration(model, config)
    stamp_model(model, configuration)
    model.set_meta("includes_resolved", "0")  # until this run's rows are resolved again
    resolver = IncludeResolver.for_tree(config, by_path)
    wanted = sorted({p for p in wanted if p in by_path})
    closure: set[str] = set()
    parsed = 0
    frontier = wanted
    while frontier:
        closure.update(frontier)
        parsed += _extract(model, config, [by_path[p] for p in frontier], jobs, progress,
                           problems, configuration)
        now = set(frontier)
        now_ids = {i for i, p in model.file_paths().items() if p in now}
        frontier = sorted({hit for _row, fid, hit in included_paths(model, resolver)
                           if fid in now_ids and hit in by_path and hit not in closure})
    others = [by_path[p] for p in sorted(set(extra) - closure) if p in by_path]
    parsed += _extract(model, config, others, jobs, progress, problems, configuration)
    resolve_includes(model, config, resolver)
    dirs = {posixpath.dirname(p) for p in wanted}
    hosted = set(json.loads(model.meta("host_sources") or "[]"))  # earlier runs' files too
    model.set_meta("host_sources", json.dumps(sorted(hosted | host_sources(config.root, dirs))))
    model.set_meta("includes_resolved", "1")
    model.set_meta("first_paths", json.dumps(sorted(covered_paths(model) | set(wanted))))
    expand_invocations(model)
    stats = {"files": len(found), "closure": len(closure), "extra": len(others),
             "parsed": parsed}
    return IndexResult(model, stats, problems)


def _extract(model, config: Config, files: list[SourceFile], jobs: int,
             progress: Progress | None, problems: list[str], configuration) -> int:
    known = model.files()
    items = [work_item(sf, known.get(sf.path), config) for sf in files
             if not is_unchanged(sf, known.get(sf.path))]
    if items:
        extract_all(model, items, jobs, progress, problems, configuration)
    return len(items)
