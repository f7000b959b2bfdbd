"""Problem messages for people: kinds that repeat on every run are counted in one line.

A Linux tree has a dozen directory symlinks (``scripts/dtc/include-prefixes/*``) that the walk
does not follow; listing them on every ``check`` and every server start is noise. They are
counted in one line, and listed one by one only when asked (``-v``, the server log).
"""

from __future__ import annotations

# (substring identifying the kind, one-line summary with {n} for the count, fewer than this
# many are listed one by one)
_COUNTED = (
    ("symbolic link to an already visited directory",
     "{n} symbolic link{s} to already visited directories not followed", 1),
    # (a skipped file is tried again by every run: Linux's 29 register headers over 4 MiB)
    ("is larger than max_file_bytes", "{n} file{s} larger than max_file_bytes skipped", 4),
)


def condense(problems: list[str], verbose: bool = False, hint: str = " (-v lists them)"
             ) -> list[str]:
    """``problems`` with each repeating kind replaced by one counting line (at the place of its
    first occurrence); unchanged when ``verbose``."""
    if verbose:
        return list(problems)
    kinds = [next((i for i, (key, _, _) in enumerate(_COUNTED) if key in p), None)
             for p in problems]
    counts = {k: kinds.count(k) for k in set(kinds) if k is not None}
    counted = {k for k, n in counts.items() if n >= _COUNTED[k][2]}
    out: list[str] = []
    for problem, kind in zip(problems, kinds, strict=True):
        if kind not in counted:
            out.append(problem)
        elif kind in counts:
            n = counts.pop(kind)
            out.append(_COUNTED[kind][1].format(n=n, s="" if n == 1 else "s") + hint)
    return out


# A control character in a file name (a newline, an escape) would cut a compiler-style line in
# two, or reach the terminal as a command: printed as C escapes, the name in double quotes, as
# git prints such a path (``"fs/new\nline.c":1:5: error: ...``; ``git apply`` and ``patch`` read
# the headers of a ``fix --dry-run`` diff so).
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f", "\v": "\\v",
            "\a": "\\a"}


def _escaped(ch: str) -> str:
    """C's escape of ``ch``: its name, else its UTF-8 bytes in octal (as git and patch read)."""
    return _ESCAPES.get(ch) or "".join(f"\\{b:03o}" for b in ch.encode("utf-8", "replace"))


def _is_control(ch: str) -> bool:
    return ch < " " or "\x7f" <= ch <= "\x9f"


def one_line(text: str) -> str:
    """``text`` with its control characters as C escapes (a message, a path inside one)."""
    if not any(_is_control(ch) for ch in text):
        return text
    return "".join(_escaped(ch) if _is_control(ch) else ch for ch in text)


def quoted_path(path: str) -> str:
    """``path`` as a compiler-style line shows it: as it is, or, when it holds a control
    character, a double quote or a backslash, in double quotes with C escapes."""
    if not any(_is_control(ch) or ch in '"\\' for ch in path):
        return path
    body = "".join(_escaped(ch) if _is_control(ch) else "\\" + ch if ch in '"\\' else ch
                   for ch in path)
    return f'"{body}"'
