"""Byte offset -> (row, column) for one text, with the line starts found once.

Counting the newlines before each offset is quadratic in a file's length: on the amdgpu
register headers (tens of thousands of ``#define`` lines each) it took 90 % of a cold index.
"""

from __future__ import annotations

import re
from bisect import bisect_right

_NEWLINE = re.compile(rb"\n")


class Lines:
    """Rows and columns of offsets in ``src`` (bytes; columns count bytes, as tree-sitter's)."""

    def __init__(self, src: bytes):
        self._src = src
        self._starts: list[int] | None = None  # found on first use: many texts never need it

    def point(self, pos: int) -> tuple[int, int]:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in _NEWLINE.finditer(self._src))]
        row = bisect_right(self._starts, pos) - 1
        return row, pos - self._starts[row]
