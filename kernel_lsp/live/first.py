"""What the first seconds of a cold tree can prove, and only that.

``model/first.py`` indexes the open files' include closures into ``first.db``. That is enough to
know what is visible at every line of an open file, so a call with no declaration visible and a
type used with no definition visible are errors whatever the rest of the tree holds. Which code
they end with (``404_2`` declared elsewhere, ``020_2`` nowhere) and whether a whole-tree rule
excuses the use (a global variable of that name, a definition in a dropped ``#if`` branch or
for another architecture only) depend on the files that mention the name: one ``grep -rowF``
over the tree finds them, and they are indexed too. A finding is shown only when its code is one
of ``PROVABLE``, its file's whole closure is in the model, and every file mentioning its name is
there as well; it says it is provisional and carries no quick fix. Everything else waits for the
whole tree. (What the grep cannot see: a name pasted together by a macro in a file outside the
closure; it is then settled when the whole-tree index completes.)
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

from kernel_lsp.config import Config
from kernel_lsp.files import read_regular
from kernel_lsp.findings import Reported
from kernel_lsp.live.workspace import Workspace
from kernel_lsp.model.first import FirstIndex, covered_paths, first_db_path, index_closure
from kernel_lsp.model.indexer import Progress, open_model
from kernel_lsp.model.runlock import one_run_at_a_time
from kernel_lsp.model.store import Model

PROVABLE = frozenset({"020_2", "404_2", "407_2"})
MAX_FILES_PER_NAME = 40  # a name mentioned by more files outside the closure waits (deep_run)
DEEP_FILES_PER_NAME = 400  # ... and by more than this, for the whole tree
MAX_NAMES = 200  # names scanned per run (one grep)
MAX_INCLUDERS = 8  # .c files including an open .c file whose closures are indexed too
GREP_SECONDS = 120
NOTE = " (provisional: kernel-lsp is still indexing the tree)"


@dataclass
class Provisional:
    """What the editor may show while the root's model is incomplete (``Workspace.provisional``)."""

    covered: set[str]  # files whose whole include closure is in the first model
    scanned: dict[str, bool]  # name -> every file of the tree mentioning it is in the model
    targets: dict[str, set[str]]  # covered file -> the include targets its stored text has
    wanted: set[str] = field(default_factory=set)  # names and files a next run should add

    @classmethod
    def of(cls, model: Model) -> Provisional:
        covered = covered_paths(model)
        ids = {p: i for i, p in model.file_paths().items()}
        targets = {p: {e.target for e in model.include_graph_of(ids[p])}
                   for p in covered if p in ids}
        return cls(covered, json.loads(model.meta("first_scanned") or "{}"), targets)

    def covers(self, path: str, includes: Iterable[str] | None) -> bool:
        """Whether ``path`` (with a buffer's ``includes`` targets, when open) is covered."""
        if path not in self.covered or not (
                includes is None or set(includes) <= self.targets.get(path, set())):
            self.wanted.add(path)  # taken again once saved (``lsp/first.py``)
            return False
        return True

    def shown(self, reported: list[Reported], covered: set[str]) -> list[Reported]:
        """The findings of ``reported`` a partial model proves, marked provisional; the names
        it has not scanned yet are added to ``wanted``."""
        out = []
        for r in reported:
            f = r.finding
            if f.code not in PROVABLE or f.path not in covered or not f.symbol:
                continue
            state = self.scanned.get(f.symbol)
            if state is None:
                self.wanted.add(f.symbol)
            if state:
                out.append(Reported(dataclasses.replace(f, message=f.message + NOTE), r.severity))
        return out


def first_run(config: Config, paths: list[str], names: Iterable[str] = (), *,
              progress: Progress | None = None) -> dict:
    """Index ``paths``' closures into ``first.db``, then the files of the tree that mention the
    names of their provable findings (and ``names``); returns the run's stats. One run at a
    time (``runlock``: another server's on the same tree is waited for)."""
    with one_run_at_a_time(first_db_path(config)):
        first = FirstIndex(config, progress=progress)
        try:
            return _first_run(first, config, paths, names)
        finally:
            first.stop_workers()


def _first_run(first: FirstIndex, config: Config, paths: list[str],
               names: Iterable[str]) -> dict:
    first.close_over(paths)
    result = first.finish()
    ws = Workspace(config)  # over the model ``first`` keeps open (not closed here)
    ws.adopt(result.model)
    candidates = {r.finding.symbol for r in ws.findings(paths)
                  if r.finding.code in PROVABLE and r.finding.symbol} | set(names) | _unknown(
        ws, paths)
    scanned = json.loads(result.model.meta("first_scanned") or "{}")
    todo = sorted(candidates - set(scanned))[:MAX_NAMES]
    stats = dict(result.stats, scanned=len(todo))
    if not todo:
        result.model.close()
        return stats
    have = set(result.model.file_paths().values())
    units = {posixpath.basename(p) for p in paths if p.endswith(".c")}
    hits = mentions(config, todo + sorted(units))
    extra: set[str] = set()
    deferred = json.loads(result.model.meta("first_deferred") or "{}")
    for name in todo:
        files = hits.get(name, set()) - have if hits is not None else None
        scanned[name] = files is not None and len(files) <= MAX_FILES_PER_NAME
        if scanned[name]:
            extra |= files
        elif files is not None and len(files) <= DEEP_FILES_PER_NAME:
            deferred[name] = sorted(files)  # for ``deep_run``, after the first answer
    includers: set[str] = set()
    for _depth in range(3):  # debug_hw_1x06.c in debug_hw.c in host1x06.c
        found = _includers(config, hits or {}, units) - includers - set(paths)
        if not found:
            break
        includers |= found
        units = {posixpath.basename(p) for p in found}
        hits = mentions(config, sorted(units))
    first.close_over(includers)
    first.add(extra)
    result = first.finish()
    result.model.set_meta("first_scanned", json.dumps(scanned, sort_keys=True))
    result.model.set_meta("first_deferred", json.dumps(deferred, sort_keys=True))
    result.model.close()
    return dict(result.stats, scanned=len(todo), includers=len(includers),
                settled=sum(scanned[n] for n in todo), deferred=len(deferred))


def deep_run(config: Config, *, progress: Progress | None = None) -> dict:
    """Index the files mentioning the names a first run found in too many files to wait for
    (up to ``DEEP_FILES_PER_NAME`` each); those names are then settled."""
    with one_run_at_a_time(first_db_path(config)):
        return _deep_run(config, progress)


def _deep_run(config: Config, progress: Progress | None) -> dict:
    model = open_model(config, [], first_db_path(config))
    deferred = json.loads(model.meta("first_deferred") or "{}")
    model.close()
    if not deferred:
        return {"deep": 0}
    files = sorted(set().union(*map(set, deferred.values())))
    result = index_closure(config, [], files, progress=progress)
    scanned = json.loads(result.model.meta("first_scanned") or "{}")
    scanned.update(dict.fromkeys(deferred, True))
    with result.model.conn:  # both or neither: a killed run leaves the names deferred
        result.model.conn.execute("BEGIN")
        result.model.set_meta("first_scanned", json.dumps(scanned, sort_keys=True))
        result.model.set_meta("first_deferred", "{}")
    result.model.close()
    return {"deep": len(deferred), "extra": result.stats["extra"]}


def _unknown(ws: Workspace, paths: list[str]) -> set[str]:
    """Names ``paths`` call or use as a type that nothing in the model defines or declares:
    whether they are errors depends on files outside it (a whole-tree rule may take a name
    found only in a dropped ``#if`` branch for a configuration the file is built under, until
    the file defining it is indexed: ``setup_fault_attr`` in ``block/blk-core.c``)."""
    fids = [ws.ids[p] for p in paths if p in ws.ids]
    ctx = ws.check_inputs(fids)
    syms = ctx.symbols
    out = {call.callee for _fid, call in ctx.facts.calls_in(fids) if call.caller is not None
           and not syms.functions.get(call.callee) and not syms.macros.get(call.callee)
           and call.callee not in syms.variables}
    out |= {use.name for _fid, use in ctx.facts.type_uses_in(fids)
            if not syms.types.get(use.name) and not syms.macros.get(use.name)}
    return out


def _includers(config: Config, hits: dict[str, set[str]], units: set[str]) -> set[str]:
    """The ``.c`` files that ``#include`` one of the ``.c`` files named ``units``: the included
    file is compiled inside them, after what they include first, so their closures count
    (``drivers/gpu/host1x/hw/host1x06.c`` includes ``debug_hw_1x06.c``)."""
    out: set[str] = set()
    for unit in sorted(units):
        line = re.compile(r'^\s*#\s*include\s*[<"](?:[^>"]*/)?' + re.escape(unit) + r'[>"]',
                          re.MULTILINE)
        for path in sorted(hits.get(unit, ())):
            if len(out) >= MAX_INCLUDERS:
                return out
            try:
                text = read_regular(config.root / path).decode("utf-8", "replace")
            except OSError:
                continue
            if path.endswith(".c") and line.search(text):
                out.add(path)
    return out


def mentions(config: Config, words: list[str]) -> dict[str, set[str]] | None:
    """word -> the root-relative source files mentioning it as a whole word (``grep``); None
    when grep is not there or fails."""
    cmd = ["grep", "-rowHF", "--null", "--exclude-dir=.kernel-lsp", "--exclude-dir=.git"]
    cmd += [f"--include=*{ext}" for ext in config.extensions]
    for w in words:
        cmd += ["-e", w]
    try:
        done = subprocess.run([*cmd, "."], cwd=config.root, capture_output=True,
                              timeout=GREP_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode not in (0, 1):  # 1: nothing matched
        return None
    out: dict[str, set[str]] = {}
    for line in done.stdout.split(b"\n"):
        path, sep, word = line.partition(b"\0")
        if sep:
            out.setdefault(word.decode("utf-8", "replace"), set()).add(
                posixpath.normpath(path.decode("utf-8", "replace")))
    return out
