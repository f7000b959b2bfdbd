"""``check --since REV``: the findings the working tree introduces against a git revision.

Patch review wants what a patch adds, not the tree's old debts. The files the patch touches
(``git diff REV`` plus untracked files), the files including a touched header, and the files
using a name whose declarations the patch changed are checked twice through the one findings
façade: as they are now (the model, brought up to date), and as they were at REV (the same
model with REV's text of the touched files laid over it as editor buffers, nothing written).
A finding of now is *introduced* unless the REV side has one with the same code, file and
symbol on a line with the same text (whitespace ignored), or else in the same function: so
moved or re-indented code keeps its old findings, by symbol and context, not line number.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kernel_lsp.config import Config
from kernel_lsp.files import read_regular
from kernel_lsp.findings import Reported

MAX_DEPENDENTS = 5000  # files checked because of a touched header or a changed name, at most


class GitError(Exception):
    """git is missing, the root is not in a work tree, or REV names no commit."""


@dataclass
class Patch:
    """The working tree against REV, for the C files under the root (root-relative paths)."""

    rev: str  # the commit REV names
    top: Path  # the work tree's top directory
    changed: dict[str, str | None]  # path now -> its path at REV (None: new since REV)
    deleted: list[str]  # paths at REV that are gone now


def _git(top: Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(top), *args], input=data, capture_output=True,
                              check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (--since compares against a git revision)") from None
    if done.returncode != 0:
        raise GitError(done.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
    return done.stdout


def read_patch(config: Config, rev: str) -> Patch:
    """The C files of the root that differ between REV and the working tree (staged, unstaged,
    untracked; renames followed)."""
    root = config.root
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
    except GitError as exc:
        raise GitError(f"--since needs a git work tree: {exc}") from None
    try:
        commit = _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(f"--since {rev}: not a commit of {top}") from None
    out = _git(top, "diff", "--name-status", "-z", "-M", commit, "--").split(b"\0")
    changed: dict[str, str | None] = {}
    deleted: list[str] = []
    i = 0
    while i < len(out) - 1:
        status = out[i].decode()
        if status.startswith(("R", "C")):
            old, new = out[i + 1].decode(), out[i + 2].decode()
            i += 3
        else:
            old = new = out[i + 1].decode()
            i += 2
        if status.startswith("D"):
            deleted.append(old)
        else:
            changed[new] = None if status.startswith("A") else old
    for path in _git(top, "ls-files", "--others", "--exclude-standard", "-z").split(b"\0"):
        if path:
            changed.setdefault(path.decode(), None)
    return Patch(commit, top, _under_root(config, top, changed),
                 list(_under_root(config, top, dict.fromkeys(deleted))))


def _under_root(config: Config, top: Path, paths: dict) -> dict:
    """``paths`` (relative to ``top``) that are C files under the root, made root-relative
    (values relative to the root too when they are paths)."""
    out = {}
    for path, old in paths.items():
        rel = os.path.relpath(top / path, config.root)
        if rel.startswith("..") or not rel.endswith(config.extensions):
            continue
        out[Path(rel).as_posix()] = (Path(os.path.relpath(top / old, config.root)).as_posix()
                                     if old else None)
    return out


def texts_at(patch: Patch, config: Config, paths: list[str]) -> dict[str, bytes]:
    """REV's text of the root-relative ``paths`` (one ``git cat-file --batch`` run)."""
    if not paths:
        return {}
    names = [Path(os.path.relpath(config.root / p, patch.top)).as_posix() for p in paths]
    data = _git(patch.top, "cat-file", "--batch",
                data="".join(f"{patch.rev}:{n}\n" for n in names).encode())
    out, pos = {}, 0
    for path in paths:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) >= 3 and header[1] == b"blob":
            size = int(header[2])
            out[path] = data[pos:pos + size]
            pos += size + 1
    return out


# -- which files to check ------------------------------------------------------------------------
def declared_names(rows: dict) -> dict[str, set]:
    """What a file declares at file scope (name -> its declarations' shapes, each tagged with
    its kind: ``f`` function, ``t`` type, ``v`` variable, ``m`` macro), to compare versions."""
    out: dict[str, set] = {}
    for f in rows.get("functions", ()):
        if f.parent is None:
            out.setdefault(f.name, set()).add(("f", f.storage, f.is_definition, f.signature))
    for t in rows.get("types", ()):
        out.setdefault(t.name, set()).add(("t", t.kind, t.is_definition, t.members))
    for v in rows.get("variables", ()):
        out.setdefault(v.name, set()).add(("v", v.storage, v.is_definition))
    for m in rows.get("macros", ()):
        out.setdefault(m.name, set()).add(("m", m.params, m.body))
    return out


def changed_names(before: dict, after: dict) -> dict[str, set[str]]:
    """name -> the kinds (``f`` ``t`` ``v`` ``m``) of the declarations that differ."""
    out: dict[str, set[str]] = {}
    for name in set(before) | set(after):
        old, new = before.get(name, set()), after.get(name, set())
        if old != new:
            out[name] = {d[0] for d in old ^ new}
    return out


def dependents(model, touched: list[str], names: dict[str, set[str]]) -> list[str]:
    """Files including a touched header, or using one of ``names`` (indexed lookups; capped)."""
    headers = [p for p in touched if p.endswith(".h")]
    found = set(model.nav_includer_closure(headers, MAX_DEPENDENTS)) if headers else set()
    if names and len(found) < MAX_DEPENDENTS:
        found.update(model.nav_files_using(names, MAX_DEPENDENTS))
    return sorted(found - set(touched))[:MAX_DEPENDENTS]


# -- matching ------------------------------------------------------------------------------------
def _line(text: bytes | None, line: int) -> bytes:
    lines = (text or b"").split(b"\n")
    return b"".join(lines[line].split()) if 0 <= line < len(lines) else b""


def introduced(now: list[Reported], before: list[Reported], now_text, before_text,
               now_function, before_function) -> list[Reported]:
    """The findings of ``now`` without a counterpart ``before``: same code, path and symbol
    on a line of the same text, else in the same function (each counterpart used once)."""
    def keys(r: Reported, text, where):
        f = r.finding
        return ((f.code, f.path, f.symbol, _line(text(f.path), f.line)),
                (f.code, f.path, f.symbol, where(f.path, f.line)))
    old = [keys(r, before_text, before_function) for r in before]
    by_text: dict[tuple, list[int]] = {}
    by_function: dict[tuple, list[int]] = {}
    for i, (t, fn) in enumerate(old):
        by_text.setdefault(t, []).append(i)
        if fn[3] is not None:
            by_function.setdefault(fn, []).append(i)
    used: set[int] = set()

    def take(table: dict, key) -> bool:
        for i in table.get(key, ()):
            if i not in used:
                used.add(i)
                return True
        return False
    left = [(r, fn) for r in now for t, fn in [keys(r, now_text, now_function)]
            if not take(by_text, t)]
    return [r for r, fn in left if fn[3] is None or not take(by_function, fn)]


def function_in(rows: dict, line: int) -> str | None:
    """The function definition of a file's ``rows`` whose lines hold ``line``."""
    best = None
    for f in rows.get("functions", ()):
        if f.is_definition and f.parent is None and f.line <= line <= (f.end_line or f.line):
            if best is None or f.line > best.line:
                best = f
    return best.name if best is not None else None


# -- the whole comparison --------------------------------------------------------------------------
def since_findings(config: Config, model, patch: Patch, only: list[str] | None
                   ) -> tuple[list[Reported], dict]:
    """(introduced findings, statistics) of the working tree against ``patch.rev``; ``only``
    limits the report to those root-relative files or directories."""
    from kernel_lsp.live.workspace import Workspace, open_workspace
    from kernel_lsp.model.rows import fact_rows
    from kernel_lsp.parse.extract import extract

    def wanted(path: str) -> bool:
        return only is None or any(path == p or path.startswith(p.rstrip("/") + "/")
                                   or p in ("", ".") for p in only)
    olds = texts_at(patch, config, sorted({o for o in patch.changed.values() if o}
                                          | set(patch.deleted)))
    base = Workspace(config)
    base.adopt(model)  # lazy: REV's text of the touched files is laid over it
    names: dict[str, set[str]] = {}
    disk: dict[str, bytes] = {}
    for path, old in sorted(patch.changed.items()):
        try:
            disk[path] = read_regular(config.root / path)
        except OSError:
            continue
        then = base.set_buffer(path, olds.get(old, b"") if old else b"")
        now_rows = fact_rows(extract(path, disk[path], env=base.env))
        for name, kinds in changed_names(declared_names(then.own_rows),
                                         declared_names(now_rows)).items():
            names.setdefault(name, set()).update(kinds)
    for path in patch.deleted:
        if path in olds:
            gone = declared_names(base.set_buffer(path, olds[path]).own_rows)
            for name, kinds in changed_names(gone, {}).items():
                names.setdefault(name, set()).update(kinds)
    touched = sorted(p for p in disk if model.nav_file_stamp(p) is not None)
    checked = [p for p in touched + dependents(model, touched, names) if wanted(p)]
    # both sides read the one model (the caller closes it)
    now = open_workspace(config, model, checked).findings(checked) if checked else []
    before = base.findings(checked) if checked else []

    def now_text(path: str) -> bytes | None:
        if path not in disk:
            try:
                disk[path] = read_regular(config.root / path)
            except OSError:
                disk[path] = b""
        return disk[path]

    def before_text(path: str) -> bytes | None:
        of = base.open.get(path)
        return of.buffer.source if of is not None else now_text(path)

    def before_function(path: str, line: int) -> str | None:
        of = base.open.get(path)
        return function_in(of.rows, line) if of is not None else model.nav_function_at(path,
                                                                                       line)
    found = introduced(now, before, now_text, before_text, model.nav_function_at,
                       before_function)
    stats = {"rev": patch.rev, "touched_files": len(touched),
             "dependent_files": len(checked) - len([p for p in touched if wanted(p)]),
             "findings_now": len(now), "findings_at_rev": len(before),
             "introduced": len(found)}
    return found, stats
