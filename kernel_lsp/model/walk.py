"""Source discovery: find the C files of a root (or of given paths) and read them safely.

Nothing here raises for bad input: symlink loops, unreadable directories, paths outside the
root, a missing root, binary or oversized files all become one-line messages.
"""

from __future__ import annotations

import os
import re
import stat
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from kernel_lsp.config import Config, relative_posix
from kernel_lsp.files import NotSource, lone_crs_as_lf, read_regular
from kernel_lsp.globs import glob_problem, glob_to_regex

BINARY_PROBE_BYTES = 8192


class SourceFile(NamedTuple):
    """One file to index: root-relative POSIX ``path``, absolute ``abs``, size and mtime (a
    named tuple: a warm index run makes one per file of the tree)."""

    path: str
    abs: str | Path
    size: int
    mtime_ns: int


# ---------------------------------------------------------------- exclude patterns


@lru_cache(maxsize=64)
def _matchers(patterns: tuple[str, ...]) -> tuple[re.Pattern | None, re.Pattern | None]:
    """(file matcher, directory-pruning matcher) for a set of exclude globs.

    A pattern without ``/`` matches a file or directory name at any depth (like .gitignore);
    one with ``/`` matches the whole root-relative path; ``dir/**`` also prunes ``dir``.
    """
    files: list[str] = []
    dirs: list[str] = []
    for raw in patterns:
        pat = raw.strip().strip("/")
        if not pat or glob_problem(pat) is not None:
            continue  # (the configuration said so: ``config._exclude_list``)
        if "/" not in pat:
            pat = "**/" + pat
            dirs.append(glob_to_regex(pat))
        files.append(glob_to_regex(pat))
        if pat.endswith("/**"):
            dirs.append(glob_to_regex(pat[:-3]))
    file_re = re.compile("(?:" + "|".join(files) + r")\Z") if files else None
    dir_re = re.compile("(?:" + "|".join(dirs) + r")\Z") if dirs else None
    return file_re, dir_re


def is_excluded(config: Config, rel: str, is_dir: bool = False) -> bool:
    """Whether root-relative ``rel`` is excluded by ``config.exclude``."""
    file_re, dir_re = _matchers(tuple(config.exclude))
    if is_dir:
        return bool(dir_re and dir_re.match(rel))
    return bool(file_re and file_re.match(rel))


# ---------------------------------------------------------------- discovery


class _Walker:
    """One discovery run: a visited-directory set, the results and the messages."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.exts = tuple(config.extensions)
        self.visited: set[tuple[int, int]] = set()
        self.found: dict[str, SourceFile] = {}
        self.messages: list[str] = []
        self.deferred: list[tuple[str, str]] = []  # directory symlinks, walked last
        self.file_re, self.dir_re = _matchers(tuple(config.exclude))
        self.real_root: str | None = None  # the root's real path, when a symlink asks

    def walk(self, top: Path, top_rel: str) -> None:
        """Walk ``top``, then the directory symlinks found in it (so real paths win)."""
        try:
            st = os.stat(top)
        except OSError as exc:
            self.messages.append(f"{top_rel}: cannot read directory ({_reason(exc)}); skipped")
            return
        self.visited.add((st.st_dev, st.st_ino))
        self._walk_tree(str(top), "" if top_rel == "." else top_rel)
        while self.deferred:
            abs_dir, rel = self.deferred.pop(0)
            try:
                st = os.stat(abs_dir)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in self.visited:
                self.messages.append(
                    f"{rel}: symbolic link to an already visited directory (a loop or a "
                    "duplicate); not followed")
                continue
            self.visited.add((st.st_dev, st.st_ino))
            self._walk_tree(abs_dir, rel)

    def _walk_tree(self, top: str, top_rel: str) -> None:
        """Depth-first walk with ``os.scandir``; directories are entered once by (dev, ino)."""
        stack = [(top, top_rel)]
        while stack:
            abs_dir, rel_dir = stack.pop()
            try:
                with os.scandir(abs_dir) as it:
                    entries = list(it)
            except OSError as exc:
                self.messages.append(f"{rel_dir or '.'}: cannot read directory "
                                     f"({_reason(exc)}); skipped")
                continue
            prefix = f"{rel_dir}/" if rel_dir else ""
            exts, file_re, found = self.exts, self.file_re, self.found
            for entry in entries:
                name = entry.name
                rel = prefix + name
                if not name.isascii() and not _utf8(name):
                    # (the model and the editors take UTF-8 paths: an "internal error" before)
                    self.messages.append(f"{_shown(rel)}: a name that is not UTF-8; skipped")
                    continue
                try:
                    # the common case first: a regular C file (d_type answers, one lstat)
                    if name.endswith(exts) and entry.is_file(follow_symlinks=False):
                        if not (file_re and file_re.match(rel)):
                            st = entry.stat(follow_symlinks=False)
                            found[rel] = SourceFile(rel, entry.path, st.st_size, st.st_mtime_ns)
                    else:
                        self._entry(entry, rel, stack)
                except OSError as exc:
                    self.messages.append(f"{rel}: cannot read ({_reason(exc)}); skipped")

    def _entry(self, entry: os.DirEntry, rel: str, stack: list) -> None:
        # the hot loop of every index run (a warm no-op run walks the whole tree): no Path
        # objects, the exclude matchers compiled once, d_type answers without a syscall
        if entry.is_dir(follow_symlinks=False):
            if not (self.dir_re and self.dir_re.match(rel)):
                st = entry.stat(follow_symlinks=False)
                if (st.st_dev, st.st_ino) not in self.visited:
                    self.visited.add((st.st_dev, st.st_ino))
                    stack.append((entry.path, rel))
            return
        if entry.is_symlink():
            self._symlink(entry, rel)
            return
        if entry.name.endswith(self.exts) and entry.is_file(follow_symlinks=False):
            if not (self.file_re and self.file_re.match(rel)):
                self._add(rel, entry.path, entry.stat(follow_symlinks=False))

    def _symlink(self, entry: os.DirEntry, rel: str) -> None:
        try:
            st = os.stat(entry.path)
        except OSError:
            if entry.name.endswith(self.exts):
                self.messages.append(f"{rel}: broken symbolic link; skipped")
            return
        if stat.S_ISDIR(st.st_mode):
            if self._holds_root(entry.path):  # ``ln -s / x``: the whole file system walked
                self.messages.append(f"{rel}: symbolic link to a directory that holds the "
                                     f"root ({os.path.realpath(entry.path)}); not followed")
            elif not is_excluded(self.config, rel, is_dir=True):
                self.deferred.append((entry.path, rel))  # after the real directories
        elif stat.S_ISREG(st.st_mode) and entry.name.endswith(self.exts):
            if not is_excluded(self.config, rel):
                self._add(rel, Path(entry.path), st)

    def _holds_root(self, path: str) -> bool:
        """Whether the directory ``path`` (a symlink's) is an ancestor of the root (the root
        itself is a visited directory: a loop)."""
        if self.real_root is None:
            self.real_root = os.path.realpath(self.config.root)
        return self.real_root.startswith(os.path.realpath(path).rstrip("/") + "/")

    def _add(self, rel: str, abs_path: str | Path, st: os.stat_result) -> None:
        self.found[rel] = SourceFile(rel, abs_path, st.st_size, st.st_mtime_ns)

    def explicit(self, given: Path) -> None:
        """A path named by the user: a file, or a directory (walked); excludes apply to both."""
        root = self.config.root
        abs_path = given if given.is_absolute() else Path.cwd() / given
        rel = relative_posix(root, abs_path)
        if rel is None:
            self.messages.append(f"{given}: outside the root {root}; skipped")
            return
        try:
            st = os.stat(abs_path)
        except OSError as exc:
            self.messages.append(f"{given}: {_reason(exc)}; skipped")
            return
        if stat.S_ISDIR(st.st_mode):
            self.walk(root / rel if rel != "." else root, rel)
        elif not rel.endswith(self.exts):
            self.messages.append(f"{given}: not a C file ({', '.join(self.exts)}); skipped")
        elif is_excluded(self.config, rel) or any(
            is_excluded(self.config, d, is_dir=True) for d in _parents(rel)
        ):
            self.messages.append(f"{given}: excluded by the settings; skipped")
        else:
            self._add(rel, root / rel, st)


def _parents(rel: str) -> list[str]:
    """``a``, ``a/b`` for ``a/b/c.c``: the directories a file lies in, root-relative."""
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a byte that is no UTF-8, as os gives it (a surrogate escape)
        return False
    return True


def _shown(rel: str) -> str:
    """``rel`` printable: its bytes that are no UTF-8 as ``\\xff``."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def discover(config: Config, paths: list[Path] | None = None) -> tuple[list[SourceFile], list[str]]:
    """Every file with one of ``config.extensions`` under the root (or ``paths``), minus excludes.

    Returns the files sorted by path and one-line messages for whatever was skipped.
    """
    walker = _Walker(config)
    root = config.root
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        return [], [f"root {root} {what}"]
    if paths is None:
        walker.walk(root, ".")
    else:
        for given in paths:
            walker.explicit(Path(given))
    return sorted(walker.found.values(), key=lambda sf: sf.path), walker.messages


# ---------------------------------------------------------------- reading


def read_source(sf: SourceFile, max_bytes: int) -> tuple[bytes | None, str | None]:
    """The file's bytes, or None with the reason; invalid UTF-8 is read, with a note."""
    if sf.size > max_bytes:
        return None, (f"{sf.path}: {_size(sf.size)} is larger than max_file_bytes "
                      f"({_size(max_bytes)}); skipped")
    try:
        data = lone_crs_as_lf(read_regular(sf.abs, max_bytes))  # (a FIFO: no wait)
    except OSError as exc:
        if isinstance(exc, NotSource) and exc.too_large:
            return None, f"{sf.path}: larger than max_file_bytes ({_size(max_bytes)}); skipped"
        return None, f"{sf.path}: cannot read ({_reason(exc)}); skipped"
    if b"\0" in data[:BINARY_PROBE_BYTES]:
        return None, f"{sf.path}: binary file (NUL bytes), not C source; skipped"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return data, f"{sf.path}:{line}: note: invalid UTF-8 at byte {exc.start}; parsed as bytes"
    return data, None


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
