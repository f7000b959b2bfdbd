"""Candidate repairs of a missing level type (020_2), best first: a close existing name (as
GCC's "did you mean"), then a declaration derived from the call's arguments, then a stub.

``NameIndex`` answers "which defined names are close to this one" on a whole kernel: names are
bucketed by their first two characters (a typo rarely hits those), then ``difflib`` ranks the
bucket. The quick fixes (``fixes/catalogue.py``) use ``close_names`` over the names visible at
the use; the self-check uses a ``NameIndex`` of the whole model.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.84  # difflib ratio: one wrong, missing or extra character in a 7-letter name
MAX_CLOSE = 3


def close_names(name: str, candidates: Iterable[str], n: int = MAX_CLOSE) -> list[str]:
    """Up to ``n`` of ``candidates`` close to ``name``, closest first (never ``name``)."""
    pool = [c for c in candidates if c != name and abs(len(c) - len(name)) <= 3]
    return difflib.get_close_matches(name, pool, n=n, cutoff=CUTOFF)


class NameIndex:
    """Defined names of a model (functions; types by kind), bucketed for close-name lookups."""

    def __init__(self, functions: Iterable[str], types: dict[str, set[str]]):
        self.buckets: dict[tuple[str, str], list[str]] = {}
        for name in functions:
            self.buckets.setdefault(("function", name[:2]), []).append(name)
        for kind, names in types.items():
            for name in names:
                self.buckets.setdefault((kind, name[:2]), []).append(name)

    def close(self, name: str, kind: str) -> list[str]:
        return close_names(name, sorted(self.buckets.get((kind, name[:2]), ())))

    def suggest(self, name: str, kind: str, prototype: str | None = None) -> list[str]:
        """Repairs in words, best first (``prototype``: derived from a call of a function)."""
        spelled = (lambda n: n) if kind in ("function", "typedef") else (lambda n: f"{kind} {n}")
        out = [f"did you mean {spelled(c)}?" for c in self.close(name, kind)]
        if kind == "function" and prototype:
            out += [f"declare it as derived from its first call: {prototype}",
                    "define a stub with that signature"]
        elif kind == "function":
            out.append("declare it (the argument types of its first call are not known)")
        else:
            out.append(f"define a stub {spelled(name)}" if kind != "typedef"
                       else "define the typedef (its underlying type is unknown)")
        return out
