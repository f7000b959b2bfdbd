"""Apply realized fixes to texts: merge edits per file, drop conflicts, write files atomically.

Fixes are accepted in order: identical edits (two calls to the same missing function ask for
the same ``#include``) are kept once, and a fix with an edit that overlaps a different accepted
edit is dropped whole, so no file ever receives half a fix.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

from kernel_lsp.files import stage_beside
from kernel_lsp.findings import Edit, Fix
from kernel_lsp.fixes.text import SourceText, decode, encode
from kernel_lsp.messages import quoted_path


def _overlaps(a: Edit, b: Edit) -> bool:
    """Whether two different edits of one file touch the same text (insertions at one point
    do not: both are made, in acceptance order)."""
    a0, a1 = (a.start_line, a.start_col), (a.end_line, a.end_col)
    b0, b1 = (b.start_line, b.start_col), (b.end_line, b.end_col)
    if a0 == a1 and b0 == b1:
        return False
    if a0 == a1:
        return b0 < a0 < b1
    if b0 == b1:
        return a0 < b0 < a1
    return a0 < b1 and b0 < a1


def merge(fixes: Iterable[Fix]) -> tuple[list[Fix], dict[str, list[Edit]]]:
    """(accepted fixes, their distinct edits by path in acceptance order)."""
    accepted: list[Fix] = []
    by_path: dict[str, list[Edit]] = {}
    kept: set[Edit] = set()
    for fix in fixes:
        new = [e for e in dict.fromkeys(fix.edits) if e not in kept]
        if any(_overlaps(e, old) for e in new for old in by_path.get(e.path, ())) or any(
                _overlaps(a, b) for i, a in enumerate(new) for b in new[i + 1:]
                if a.path == b.path):
            continue
        accepted.append(fix)
        for e in new:
            kept.add(e)
            by_path.setdefault(e.path, []).append(e)
    return accepted, by_path


def apply_edits(text: str, edits: list[Edit]) -> str:
    """``text`` with non-overlapping ``edits`` applied (bottom-up; at one point, in list order).

    :raises ValueError: an edit lies outside the text.
    """
    src = SourceText(text)
    placed = []
    for seq, e in enumerate(edits):
        start, end = src.offset(e.start_line, e.start_col), src.offset(e.end_line, e.end_col)
        if start is None or end is None or end < start:
            raise ValueError(f"{e.path}: edit outside the text at {e.start_line}:{e.start_col}")
        placed.append((start, end, seq, e.new_text))
    placed = _compact(placed, src.newline)
    data = bytearray(src.data)
    for start, end, _seq, new_text in sorted(placed, reverse=True):
        data[start:end] = encode(new_text)
    return decode(bytes(data))


def _compact(placed: list[tuple], nl: str) -> list[tuple]:
    """Several blocks inserted at one point share one blank line: each insertion ends with a
    blank line of its own (and may start with one), which would separate them all."""
    out = sorted(placed, key=lambda p: (p[0], p[1], p[2]))
    for i in range(len(out) - 1):
        (s1, e1, q1, t1), (s2, e2, q2, t2) = out[i], out[i + 1]
        if s1 == e1 == s2 == e2 and t1.endswith(nl * 2) and t2.strip():
            out[i] = (s1, e1, q1, t1[:-len(nl)])
            if t2.startswith(nl):
                out[i + 1] = (s2, e2, q2, t2[len(nl):])
    return out


def unified_diff(path: str, old: str, new: str) -> str:
    """A unified diff with ``a/path`` and ``b/path`` headers ('' when equal); a name with a
    control character, a quote or a backslash quoted as git quotes it (``messages.quoted_path``)."""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=quoted_path(f"a/{path}"),
                                 tofile=quoted_path(f"b/{path}"))
    out = []
    for line in lines:
        if line.endswith("\r"):  # a lone \r ends the line (GNU diff shows it so)
            line += "\n"
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


class NotWritten(OSError):
    """``path`` cannot be written (``why``); no file was changed."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(why)
        self.path, self.why = path, why


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` (``write_all_atomic`` of one file)."""
    write_all_atomic({path: text})


def write_all_atomic(texts: dict[Path, str]) -> None:
    """Replace each path by its text, all or none: every text goes to a temporary file beside
    its path first (keeping the file's permission bits), then the renames, so a reader sees
    the old or the new file, never half, and a file that cannot be written (a read-only file
    or file system, the disk full) leaves every file as it was: a fix's edits of two files
    (``static`` dropped here, the declaration added there) were half made.

    A path that is a symbolic link is written where it leads (the link renamed over became
    a regular file, the file it led to unchanged).

    :raises NotWritten: the first path that cannot be written."""
    staged: list[tuple[str, Path]] = []
    try:
        for link, text in texts.items():
            path = Path(os.path.realpath(link))
            try:
                staged.append((_staged(path, encode(text)), path))
            except OSError as exc:
                raise NotWritten(link, exc.strerror or str(exc)) from exc
        while staged:
            tmp, path = staged[0]
            os.replace(tmp, path)
            staged.pop(0)
    finally:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _staged(path: Path, data: bytes) -> str:
    """A temporary file beside ``path`` holding ``data`` with ``path``'s permission bits."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    if mode is not None and not mode & 0o222:  # (a rename replaces it all the same)
        raise OSError(f"read-only file (mode {mode:04o})")
    return stage_beside(path, data, 0o600 if mode is None else mode, ".kernel-lsp-fix", sync=True)
