"""Problem messages for people: kinds that repeat on every run are counted in one line.

A Linux tree has a dozen directory symlinks (``scripts/dtc/include-prefixes/*``) that the walk
does not follow; listing them on every ``check`` and every server start is noise. They are
counted in one line, and listed one by one only when asked (``-v``, the server log).
"""

from __future__ import annotations

# (substring identifying the kind, one-line summary with {n} for the count)
_COUNTED = (
    ("symbolic link to an already visited directory",
     "{n} symbolic link{s} to already visited directories not followed"),
)


def condense(problems: list[str], verbose: bool = False, hint: str = " (-v lists them)"
             ) -> list[str]:
    """``problems`` with each repeating kind replaced by one counting line (at the place of its
    first occurrence); unchanged when ``verbose``."""
    if verbose:
        return list(problems)
    out: list[str] = []
    counts: dict[int, int] = {}
    slots: dict[int, int] = {}
    for problem in problems:
        kind = next((i for i, (key, _) in enumerate(_COUNTED) if key in problem), None)
        if kind is None:
            out.append(problem)
            continue
        if kind not in slots:
            slots[kind] = len(out)
            out.append("")
        counts[kind] = counts.get(kind, 0) + 1
    for kind, slot in slots.items():
        n = counts[kind]
        out[slot] = _COUNTED[kind][1].format(n=n, s="" if n == 1 else "s") + hint
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
