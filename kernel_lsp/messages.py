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
