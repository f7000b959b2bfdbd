"""Build or update the model of a root: discover, extract changed files in parallel, resolve includes.

Incremental: a file whose size and mtime match the model is not read; one whose content hash
matches is only touched; deleted files are removed. Each file is written in one transaction, so a
run killed at any point leaves a consistent database that the next run completes (the include
resolution pass is redone whenever a run did not finish it).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kernel_lsp.config import Config
from kernel_lsp.model.expand import expand_invocations
from kernel_lsp.model.resolve import IncludeResolver
from kernel_lsp.model.rows import fact_rows
from kernel_lsp.model.store import FileRow, Model, ModelError
from kernel_lsp.model.walk import SourceFile, discover, read_source
from kernel_lsp.parse.extract import EXTRACTOR_VERSION, extract

SERIAL_BELOW = 48  # fewer changed files than this are extracted in-process
Progress = Callable[[int, int, str], None]


@dataclass
class IndexResult:
    model: Model
    stats: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def open_model(config: Config, problems: list[str]) -> Model:
    """Open the root's model; a corrupt or foreign database is set aside and rebuilt."""
    path = config.db_path
    try:
        return Model(path)
    except ModelError as exc:
        problems.append(f"{exc}; rebuilding the model")
    for suffix in ("", "-wal", "-shm"):
        p = path.with_name(path.name + suffix)
        if p.exists():
            os.replace(p, path.with_name(path.name + suffix + ".corrupt"))
    return Model(path)


def _work(item: tuple[str, str, int, int, str | None, int]) -> tuple:
    """Worker: read and extract one file. Returns (kind, path, payload...)."""
    path, abs_path, size, mtime_ns, old_sha, max_bytes = item
    sf = SourceFile(path, abs_path, size, mtime_ns)  # type: ignore[arg-type]
    data, problem = read_source(sf, max_bytes)
    if data is None:
        return ("problem", path, size, mtime_ns, problem)
    sha = hashlib.sha1(data).hexdigest()
    if sha == old_sha:
        return ("same", path, size, mtime_ns)
    try:
        facts = extract(path, data)
    except Exception as exc:  # a parser bug must not stop the run
        return ("problem", path, size, mtime_ns, f"{path}: extraction failed ({exc!r})")
    return ("facts", path, size, mtime_ns, sha, fact_rows(facts), facts.error_nodes,
            problem, facts.type_use_total)


def _store(model: Model, result: tuple, problems: list[str]) -> None:
    kind, path, size, mtime_ns = result[:4]
    if kind == "same":
        model.touch_file(path, size, mtime_ns)
    elif kind == "problem":
        problems.append(result[4])
        model.replace_file(path, {}, size=size, mtime_ns=mtime_ns, sha1=None, problem=result[4])
    else:
        sha, rows, error_nodes, problem, type_use_total = result[4:]
        if problem:
            problems.append(problem)
        model.replace_file(path, rows, size=size, mtime_ns=mtime_ns, sha1=sha,
                           error_nodes=error_nodes, problem=problem,
                           type_use_total=type_use_total)


def _extract_all(model: Model, items: list[tuple], jobs: int, progress: Progress | None,
                 problems: list[str]) -> None:
    total = len(items)
    if jobs <= 1 or total < SERIAL_BELOW:
        results = map(_work, items)
        pool = None
    else:
        ctx = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
        pool = ctx.Pool(jobs)
        results = pool.imap_unordered(_work, items, chunksize=8)
    try:
        for done, result in enumerate(results, 1):
            _store(model, result, problems)
            if progress is not None:
                progress(done, total, result[1])
    finally:
        if pool is not None:
            pool.terminate()


def resolve_includes(model: Model, config: Config) -> int:
    """Resolve every include line to an indexed file; returns how many resolved."""
    paths = model.file_paths()
    resolver = IncludeResolver.for_tree(config, paths.values())
    ids = {p: i for i, p in paths.items()}
    updates, resolved = [], 0
    for rowid, file_id, target, angled in list(model.include_rows()):
        hit = resolver.resolve(paths[file_id], target, bool(angled))
        rid = ids.get(hit) if hit else None
        resolved += rid is not None
        updates.append((rid, rowid))
    model.set_resolved_includes(updates)
    return resolved


def index(config: Config, *, jobs: int | None = None, progress: Progress | None = None,
          paths=None) -> IndexResult:
    """Bring ``<root>/.kernel-lsp/model.db`` up to date with the files under ``config.root``."""
    started = time.perf_counter()
    problems: list[str] = []
    model = open_model(config, problems)
    found, walk_problems = discover(config)
    problems += walk_problems
    known = model.files()
    if model.meta("extractor_version") != EXTRACTOR_VERSION:
        known = {p: FileRow(r.id, r.path, None, None, None) for p, r in known.items()}
        model.set_meta("extractor_version", EXTRACTOR_VERSION)
    items = []
    for sf in found:
        row = known.get(sf.path)
        if row is not None and row.size == sf.size and row.mtime_ns == sf.mtime_ns:
            continue
        items.append((sf.path, str(sf.abs), sf.size, sf.mtime_ns, row.sha1 if row else None,
                      config.max_file_bytes))
    present = {sf.path for sf in found}
    removed = model.remove_files([p for p in known if p not in present])
    jobs = jobs or config.jobs or os.cpu_count() or 1
    phases: dict[str, float] = {}
    t = time.perf_counter()
    _extract_all(model, items, jobs, progress, problems)
    phases["extract_seconds"] = time.perf_counter() - t
    resolved = generated = None
    if items or removed or model.meta("includes_resolved") != "1":
        model.set_meta("includes_resolved", "0")
        t = time.perf_counter()
        resolved = resolve_includes(model, config)
        phases["resolve_seconds"] = time.perf_counter() - t
        model.set_meta("includes_resolved", "1")
    if items or model.meta("macros_expanded") != "1":
        # expansion adds rows to the files extracted in this run; a run killed before the end
        # leaves the flag at 0 and the next run re-extracts nothing but redoes this for all
        everything = model.meta("macros_expanded") != "1" and not items
        model.set_meta("macros_expanded", "0")
        id_of = {path: fid for fid, path in model.file_paths().items()}
        ids = [id_of[i[0]] for i in items if i[0] in id_of]
        t = time.perf_counter()
        generated = expand_invocations(model, None if everything else set(ids))
        phases["expand_seconds"] = time.perf_counter() - t
        model.set_meta("macros_expanded", "1")
    stats = {"files": len(found), "parsed": len(items), "unchanged": len(found) - len(items),
             "removed": removed, "seconds": round(time.perf_counter() - started, 3),
             **{k: round(v, 3) for k, v in phases.items()}}
    if resolved is not None:
        stats["includes_resolved"] = resolved
    if generated is not None:
        stats["macro_generated"] = generated
    return IndexResult(model, stats, problems)
