"""Build or update the model of a root: discover, extract changed files in parallel, resolve includes.

Incremental: a file whose size and mtime match the model is not read; one whose content hash
matches is only touched; deleted files are removed. Each file is written in one transaction, so a
run killed at any point leaves a consistent database that the next run completes (the include
resolution pass is redone whenever a run did not finish it).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kernel_lsp.config import Config
from kernel_lsp.model import collector
from kernel_lsp.model.buildable import kbuild_judgement
from kernel_lsp.model.configuration import Configuration, fingerprint, load_configuration
from kernel_lsp.model.expand import expand_invocations
from kernel_lsp.model.kbuild import forced_includes
from kernel_lsp.model.pools import started_pool, stop_pool
from kernel_lsp.model.programs import assembly_headers, host_sources
from kernel_lsp.model.resolve import KBUILD_DIRS_META, IncludeResolver
from kernel_lsp.model.rows import fact_tuples
from kernel_lsp.model.runlock import one_run_at_a_time
from kernel_lsp.model.store import (
    FileRow,
    Model,
    ModelError,
    ModelUnavailable,
    damaged,
)
from kernel_lsp.model.walk import SourceFile, discover, read_source
from kernel_lsp.parse.extract import EXTRACTOR_VERSION, extract
from kernel_lsp.parse.parser import check_queries

SERIAL_BELOW = 48  # fewer changed files than this are extracted in-process
# Seconds of extraction per transaction (``Model.batched``); the tests that kill the indexer
# set it lower through the environment so that a kill lands between commits.
COMMIT_SECONDS = float(os.environ.get("KERNEL_LSP_COMMIT_SECONDS", "2"))
Progress = Callable[[int, int, str], None]


@dataclass
class IndexResult:
    model: Model
    stats: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def open_model(config: Config, problems: list[str], path: Path | None = None) -> Model:
    """Open the root's model (or the one at ``path``); a corrupt or foreign database is set
    aside (``_set_aside``) and rebuilt.

    :raises ModelError: the unusable database cannot be set aside (the message says so).
    :raises ModelUnavailable: it cannot be written (``Model.read_only``)."""
    path = path or config.db_path
    try:
        return _writable(Model(path))
    except ModelUnavailable:
        raise  # (locked, the disk full: the model is fine, and kept)
    except ModelError as exc:
        problems.append(f"{exc}; rebuilding the model")
    set_aside_model(path)
    return _writable(Model(path))


def set_aside_model(path: Path) -> None:
    """Set the model file ``path`` and its WAL files aside (``_set_aside``)."""
    for suffix in ("", "-wal", "-shm"):
        p = path.with_name(path.name + suffix)
        if os.path.lexists(p):
            _set_aside(p)


def _writable(model: Model) -> Model:
    if model.read_only is not None:
        model.close()
        raise ModelUnavailable(f"{model.path.parent} is {model.read_only}: the model in it "
                               "cannot be brought up to date")
    return model


def _set_aside(p: Path) -> None:
    """Rename ``p`` to ``<name>.corrupt``, or ``.corrupt.1``, ``.corrupt.2``... when that name
    holds what a rename cannot replace (a directory, or a file where ``p`` is a directory: a
    model path once made a directory by hand, set aside before)."""
    for n in range(100):
        target = p.with_name(p.name + ".corrupt" + (f".{n}" if n else ""))
        if os.path.lexists(target) and (target.is_dir() or p.is_dir()):
            continue
        try:
            os.replace(p, target)
        except OSError as exc:
            raise ModelError(f"{p}: cannot set the unusable model aside as {target.name} "
                             f"({exc.strerror}); move or delete it") from exc
        return
    raise ModelError(f"{p}: cannot set the unusable model aside (100 earlier ones are in the "
                     "way); delete the .corrupt ones")


# The configuration extraction runs under, set once per worker process (``_set_env``).
_ENV: Configuration | None = None


def _set_env(env: Configuration | None) -> None:
    global _ENV
    _ENV = env


def _start_extraction(env: Configuration | None) -> None:
    """A ``worker_pool`` process's own preparation: the configuration ``_work`` extracts under."""
    _set_env(env)
    collector.worker_process()


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
        facts = extract(path, data, env=_ENV)
    except Exception as exc:  # a parser bug must not stop the run
        return ("problem", path, size, mtime_ns, f"{path}: extraction failed ({exc!r})")
    return ("facts", path, size, mtime_ns, sha, fact_tuples(facts), facts.error_nodes,
            problem, facts.type_use_total, facts.inactive)


def _store(model: Model, result: tuple, problems: list[str], kept: bool = False) -> None:
    """Store one ``_work`` result; ``kept``: a failure the model holds as it is (a file tried
    again, see ``is_unchanged``, that failed the same way), only its size and time noted."""
    kind, path, size, mtime_ns = result[:4]
    if kind == "same" or kept:
        model.touch_file(path, size, mtime_ns)
        if kept:
            problems.append(result[4])
    elif kind == "problem":
        problems.append(result[4])
        model.replace_file(path, {}, size=size, mtime_ns=mtime_ns, sha1=None, problem=result[4])
    else:
        sha, rows, error_nodes, problem, type_use_total, inactive = result[4:]
        if problem:
            problems.append(problem)
        model.replace_file(path, rows, size=size, mtime_ns=mtime_ns, sha1=sha,
                           error_nodes=error_nodes, problem=problem,
                           type_use_total=type_use_total, inactive=inactive)


def worker_pool(jobs: int, env: Configuration):
    """``jobs`` processes that extract files (``_work``) under the configuration ``env``
    (``pools.started_pool``: Ctrl-C and SIGTERM wait until they have started)."""
    return started_pool(jobs, _start_extraction, env)


def extract_all(model: Model, items: list[tuple], jobs: int, progress: Progress | None,
                problems: list[str], env: Configuration, pool=None,
                watch: set[str] | None = None) -> tuple[int, set[str]]:
    """Extract ``items`` and store their rows: in ``pool`` (a ``worker_pool`` of ``env`` the
    caller keeps), else in a pool of ``jobs`` processes of its own when there are at least
    ``SERIAL_BELOW``, else in this process. ``meta.includes_resolved`` is cleared before the
    first row that changes. ``watch``: the files of this run (when the model holds others):
    the names of the function-like macros whose definitions a stored file changes are
    returned, and the other files that invoke them forgotten with its rows (a run killed
    before it extracts them again leaves them to the next one). Returns (how many were
    failures kept as they were, those names)."""
    total, own = len(items), None
    if pool is None and jobs > 1 and total >= SERIAL_BELOW:
        pool = own = worker_pool(jobs, env)
    if pool is None:
        _set_env(env)
        results = map(_work, items)
    else:  # chunks of 8 (fewer when they would leave a process idle)
        chunk = max(1, min(8, total // (4 * jobs)))
        results = pool.imap_unordered(_work, items, chunksize=chunk)
    kept, changing, changed = 0, False, set()
    try:
        with model.batched(COMMIT_SECONDS), collector.bulk_work():  # a transaction every ~2 s
            for done, result in enumerate(results, 1):
                same = result[0] == "problem" and model.failure(result[1]) == result[4]
                if not same and not changing:
                    model.set_meta("includes_resolved", "0")  # a kill from here re-resolves
                    changing = True
                watching = watch is not None and result[0] != "same" and not same
                before = model.function_macro_texts([result[1]]) if watching else set()
                _store(model, result, problems, kept=same)
                kept += same
                if watching:
                    names = {n for n, _ in before ^ model.function_macro_texts([result[1]])}
                    model.forget_invoking(names, watch)
                    changed |= names
                if progress is not None:
                    progress(done, total, result[1])
    finally:
        if own is not None:
            stop_pool(own)
    return kept, changed


# Bump when include resolution (``model/resolve.py``) names other files for the same lines: the
# next index resolves every include again (2: ``uapi/asm/X`` falls back to ``asm-generic/X``).
RESOLVER_VERSION = "2"


def resolve_includes(model: Model, config: Config,
                     resolver: IncludeResolver | None = None) -> int:
    """Resolve every include line to an indexed file; returns how many resolved. ``resolver``:
    one over a wider file list (the whole tree, when the model holds part of it)."""
    paths = model.file_paths()
    resolver = resolver or IncludeResolver.for_tree(config, paths.values())
    ids = {p: i for i, p in paths.items()}
    updates, resolved = [], 0
    for rowid, _file_id, hit in included_paths(model, resolver):
        rid = ids.get(hit) if hit else None
        resolved += rid is not None
        updates.append((rid, rowid))
    model.set_resolved_includes(updates)
    model.set_meta(KBUILD_DIRS_META, resolver.kbuild_json())  # (the editor's resolver)
    return resolved


def included_paths(model: Model, resolver: IncludeResolver
                   ) -> Iterator[tuple[int, int, str | None]]:
    """(include rowid, file id, the path ``resolver`` resolves it to or None) of every include
    line of ``model``."""
    paths = model.file_paths()
    rows = list(model.include_rows())
    computed = _computed_targets(model, {t for _r, _f, t, _a in rows if _MACRO_NAME.match(t)})
    for rowid, file_id, target, angled in rows:
        hit = None
        for inner, inner_angled in computed.get(target, [(target, bool(angled))]):
            hit = hit or resolver.resolve(paths[file_id], inner, inner_angled)
        yield rowid, file_id, hit


_MACRO_NAME = re.compile(r"^[A-Za-z_]\w*$")
_HEADER_NAME = re.compile(r"^\s*([<\"])([^>\"]+)[>\"]\s*$")


def _computed_targets(model: Model, names: set[str]) -> dict[str, list[tuple[str, bool]]]:
    """The headers each macro of a computed ``#include NAME`` names (``#define NAME <x.h>``
    anywhere in the tree), as (target, angled)."""
    out: dict[str, list[tuple[str, bool]]] = {}
    if names:
        for name, body in model.object_macro_bodies(names):
            m = _HEADER_NAME.match(body or "")
            if m is not None:
                out.setdefault(name, []).append((m.group(2).strip(), m.group(1) == "<"))
    return out


def index(config: Config, *, jobs: int | None = None, progress: Progress | None = None,
          paths=None, waiting: Callable[[str], None] | None = None) -> IndexResult:
    """Bring ``<root>/.kernel-lsp/model.db`` up to date with the files under ``config.root``,
    one run at a time (``one_run_at_a_time``: ``waiting`` is told when it waits for another).

    Every phase records what it has covered in the database (``files.sha1`` for extraction,
    ``includes_resolved``, ``files.expanded``), so a run killed anywhere is completed by the
    next one, which then holds exactly what a run from scratch would."""
    check_queries()  # before anything is stored: with no queries, files would be stored empty
    with one_run_at_a_time(config.db_path, waiting):
        try:
            return _index(config, jobs, progress)
        except sqlite3.DatabaseError as exc:
            if not damaged(exc):
                raise
            # (a page deep in the file, which opening it does not read: every run had said
            # 'internal error: DatabaseError: database disk image is malformed', for good)
            problem = f"{config.db_path}: the model is damaged ({exc}); rebuilding the model"
        set_aside_model(config.db_path)
        result = _index(config, jobs, progress)
        result.problems.insert(0, problem)
        return result


def _index(config: Config, jobs: int | None, progress: Progress | None) -> IndexResult:
    started = time.perf_counter()
    problems: list[str] = []
    model = open_model(config, problems)
    try:
        return _index_into(model, config, jobs, progress, problems, started)
    except BaseException:
        model.close()
        raise


def _index_into(model: Model, config: Config, jobs: int | None, progress: Progress | None,
                problems: list[str], started: float) -> IndexResult:
    found, walk_problems = discover(config)
    problems += walk_problems
    known = model.files()
    t = time.perf_counter()
    configuration = current_configuration(model, config)
    phases: dict[str, float] = {"configuration_seconds": time.perf_counter() - t}
    if stamp_model(model, configuration):
        known = model.files()
    by_path = {sf.path: sf for sf in found}
    gone = [p for p in known if p not in by_path]
    # what the deleted files' macros generated in other files goes with them (first: a run
    # killed after the removal still extracts those files again)
    if gone and model.forget_invokers(gone):
        known = model.files()
    items = [work_item(sf, known.get(sf.path), config) for sf in found
             if not is_unchanged(sf, known.get(sf.path))]
    removed = model.remove_files(gone)
    jobs = jobs or config.jobs or os.cpu_count() or 1
    if removed:  # (extract_all clears it before the first file it changes)
        model.set_meta("includes_resolved", "0")
    t = time.perf_counter()
    with model.bulk_load():  # a model with no file yet: its indexes are built at the end
        parsed = _extract_rounds(model, items, by_path, config, jobs, progress, problems,
                                 configuration)
        phases["extract_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
    phases["index_build_seconds"] = time.perf_counter() - t
    resolved = None
    # (a Makefile's new ``-I`` changes the configuration's inputs, and what includes name)
    if parsed or removed or model.meta("includes_resolved") != "1" or (
            model.meta("includes_inputs") != model.meta("configuration_inputs")) or (
            model.meta("resolver_version") != RESOLVER_VERSION):
        t = time.perf_counter()
        resolved = resolve_includes(model, config)
        dirs = {posixpath.dirname(p) for p in by_path}
        model.set_meta("host_sources", json.dumps(sorted(host_sources(config.root, dirs))))
        phases["resolve_seconds"] = time.perf_counter() - t
        model.set_meta("includes_inputs", model.meta("configuration_inputs") or "")
        model.set_meta("includes_resolved", "1")
        model.set_meta("resolver_version", RESOLVER_VERSION)
    if resolved is not None or model.meta("assembly_headers") is None:
        record_assembly_headers(model, config, configuration)
    t = time.perf_counter()
    if record_unbuilt(model, config, configuration, by_path, problems,
                      refresh=resolved is not None):
        phases["unbuilt_seconds"] = time.perf_counter() - t
    record_forced_includes(model)
    t = time.perf_counter()
    expanded = expand_invocations(model, progress, jobs)
    phases["expand_seconds"] = time.perf_counter() - t
    if parsed and parsed >= len(found) / 2:  # most of the model written again: compact it
        t = time.perf_counter()
        model.compact()
        phases["compact_seconds"] = time.perf_counter() - t
    stats = {"files": len(found), "parsed": parsed, "unchanged": len(found) - parsed,
             "removed": removed, "seconds": round(time.perf_counter() - started, 3),
             "configuration": configuration.source,
             **{k: round(v, 3) for k, v in phases.items()}}
    if resolved is not None:
        stats["includes_resolved"] = resolved
    stats["macro_generated"] = expanded.added
    stats["expand_processes"] = expanded.processes
    return IndexResult(model, stats, problems)


# Bump when ``meta.unbuilt_sources`` gains information (2: ``off``; 3: composites listed as
# ``$(name-y)``; 8: ``units``, the listed ones; 9: directories whose objects are computed,
# judged as a whole; 10: ``off`` for the user's .config too; 11: ``off`` in those directories;
# 12: objects only a Make variable holds, under its ``ifdef`` blocks; 13: ``obj-${CONFIG_X}``;
# 14: ``$(addprefix dir/, a.o b.o)``; 15: composite names starting with a digit,
# ``9pnet_xen-objs``; 16: ``$(PATH)/name.o`` in a Make variable, and an included Makefile's
# objects under its includers' guards; 17: ``!X`` of an option always on never holds; 18: an
# included Makefile's listings in its includer's directory; 19: ``off`` of an object only a
# Make variable holds; 20: ``forced``, the files a unit's ``-include`` reads first; 21:
# another architecture's ``.c`` files no Kbuild file of this one names are unbuilt, and a Make
# variable's objects in a computed directory are units).
UNBUILT_FORMAT = 21


def record_assembly_headers(model: Model, config: Config, configuration: Configuration) -> None:
    """Store the headers no file includes that only the assembler can read
    (``programs.assembly_headers``)."""
    model.set_meta("assembly_headers", json.dumps(sorted(assembly_headers(
        config.root, model.design_unincluded_headers(), configuration))))


def record_unbuilt(model: Model, config: Config, configuration: Configuration, paths,
                   problems: list[str], refresh: bool = True) -> bool:
    """Store the ``.c`` files among ``paths`` that no configuration of the architecture builds
    and those ``configuration`` does not build (the user's ``.config``, or a defconfig and the
    Kconfig defaults; ``model/buildable.py``), with the configuration inputs they come from; when
    ``refresh`` is False, only if those inputs changed. True when it was computed."""
    inputs = model.meta("configuration_inputs") or ""
    stored = json.loads(model.meta("unbuilt_sources") or "{}")
    if not refresh and stored.get("inputs") == inputs and stored.get("format") == UNBUILT_FORMAT:
        return False
    try:
        unbuilt, off, units = kbuild_judgement(config.root, config.arch, paths, set(
            configuration.values) if configuration.known else None)
    except (OSError, ValueError, RecursionError) as exc:
        problems.append(f"Kconfig/Kbuild not read, every file taken as built ({exc})")
        unbuilt, off, units = set(), set(), set()
    try:
        forced = forced_includes(config.root, config.arch) if (
            config.root / "Kconfig").is_file() else {}
    except (OSError, ValueError, RecursionError):
        forced = {}
    model.set_meta("unbuilt_sources", json.dumps({
        "format": UNBUILT_FORMAT, "inputs": inputs, "paths": sorted(unbuilt),
        "off": sorted(off), "units": sorted(units), "forced": forced}))
    return True


def record_forced_includes(model: Model) -> None:
    """Store, as include edges before their first line, the files Kbuild force-includes into
    single units (``kbuild.forced_includes``, as ``record_unbuilt`` found them): a unit's
    extraction replaces its include rows, so they are written again after every run."""
    forced = json.loads(model.meta("unbuilt_sources") or "{}").get("forced") or {}
    ids = {p: i for i, p in model.file_paths().items()} if forced else {}
    model.set_forced_includes(sorted(
        (ids[unit], path, ids[path]) for unit, paths in forced.items() if unit in ids
        for path in paths if path in ids))


def stamp_model(model: Model, configuration: Configuration) -> bool:
    """Record the stamp the facts depend on (the extractor, the configuration's dropped
    ``#if`` branches); True when it changed (every file is then extracted again)."""
    stamp = f"{EXTRACTOR_VERSION}:{configuration.digest()}"
    if model.meta("extractor_version") == stamp:
        return False
    model.restamp(stamp)
    return True


def is_unchanged(sf: SourceFile, row: FileRow | None) -> bool:
    """Whether ``sf`` is stored as it is now. A file stored without facts (its read or its
    extraction failed) is tried again: what failed may be mended with the file unchanged (its
    permissions, ``max_file_bytes``, the installation), and it is kept as it is when it fails
    the same way again (``_store``)."""
    return (row is not None and row.sha1 is not None and row.size == sf.size
            and row.mtime_ns == sf.mtime_ns)


def work_item(sf: SourceFile, row: FileRow | None, config: Config) -> tuple:
    return (sf.path, str(sf.abs), sf.size, sf.mtime_ns, row.sha1 if row else None,
            config.max_file_bytes)


def _extract_rounds(model: Model, items: list[tuple], by_path: dict, config: Config,
                    jobs: int, progress: Progress | None, problems: list[str],
                    env: Configuration) -> int:
    """Extract ``items``; when that changes a function-like macro that other files invoke at
    file scope, extract those files again too (their macro-generated facts depend on it)."""
    done: set[str] = set()
    kept = 0
    while items:
        paths = [i[0] for i in items]
        others = len(by_path) > len(done) + len(paths)  # files this round does not extract
        watch = done | set(paths) if others else None
        failed, changed = extract_all(model, items, jobs, progress, problems, env, watch=watch)
        kept += failed
        done.update(paths)
        again = sorted(model.files_invoking(changed) - done) if changed else []
        items = [work_item(by_path[p], None, config) for p in again if p in by_path]
    return len(done) - kept


# Bump when the derived configuration gains information (2: Kbuild -D names; 3: options with
# a single-quoted prompt are optional; 4: a symbol defined twice holds when one definition
# does, names that start with a digit are read; 5: the headers Kbuild files name; 6: and the
# .c/.inc files; 7: not other architectures' -D names, the symbols only debugging options
# turn on; 8: the architecture, whose predefined macros conditions test): a cached one is
# derived again.
CONFIGURATION_FORMAT = 8


def current_configuration(model: Model, config: Config) -> Configuration:
    """The tree's configuration, derived again only when its inputs changed (cached in meta)."""
    cached, stamp = model.meta("configuration"), model.meta("configuration_inputs")
    if cached and stamp:
        inputs = json.loads(stamp)
        files = inputs.get("kconfig", [])
        if inputs.get("format") == CONFIGURATION_FORMAT and inputs.get("fingerprint") == \
                fingerprint(config.root, config.arch, files):
            configuration = Configuration.from_json(cached)
            if configuration.arch == config.arch:  # a .config serves every --arch
                return configuration
    configuration, files = load_configuration(config.root, config.arch)
    model.set_meta("configuration", configuration.to_json())
    model.set_meta("configuration_inputs", json.dumps(
        {"fingerprint": fingerprint(config.root, config.arch, files), "kconfig": files,
         "format": CONFIGURATION_FORMAT}))
    return configuration
