"""Path globs over POSIX root-relative paths (``**`` any directories, ``*``, ``?`` and ``[...]``
within one component): the exclude globs of the settings and the domains of layer policies."""

from __future__ import annotations

import re


def glob_to_regex(pattern: str) -> str:
    """Translate a glob (``*``, ``?``, ``[..]``, ``**``) to a regex over POSIX relative paths."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def glob_problem(pattern: str) -> str | None:
    """What is wrong with the exclude glob ``pattern`` (``[z-a]*.c``), or None."""
    try:
        re.compile(glob_to_regex(pattern))
    except re.error as exc:
        return str(exc)
    return None
