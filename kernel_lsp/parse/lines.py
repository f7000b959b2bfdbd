"""Rows and columns of a text: offset -> (row, column) with the line starts found once, and
blanking that keeps every byte where it was (``blank``).

Counting the newlines before each offset is quadratic in a file's length: on the amdgpu
register headers (tens of thousands of ``#define`` lines each) it took 91 % of the workers'
time while a cold index went through ``drivers/gpu``.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate, repeat
from operator import add


class Lines:
    """Rows and columns of offsets in ``src`` (bytes; columns count bytes, as tree-sitter's)."""

    def __init__(self, src: bytes):
        self._src = src
        self._starts: list[int] | None = None  # found on first use: many texts never need it

    def point(self, pos: int) -> tuple[int, int]:
        if self._starts is None:
            self._starts = line_starts(self._src)
        row = bisect_right(self._starts, pos) - 1
        return row, pos - self._starts[row]


def line_starts(src: bytes) -> list[int]:
    """The offset of each line of ``src`` (the first 0): each line's length + 1, summed, in
    C-level loops only (a loop over the bytes took 10 ms on a 200 KB file)."""
    starts = list(accumulate(map(add, map(len, src.split(b"\n")), repeat(1)), initial=0))
    starts.pop()  # the sum after the last line: past the end
    return starts


# Every byte a space but newlines: blanked text keeps its offsets, rows and columns.
_BLANK = bytes(b if b == 0x0A else 0x20 for b in range(256))


def blank(text: bytes | bytearray) -> bytes:
    """``text`` with every byte but newlines made a space (one C-level pass)."""
    return bytes(text).translate(_BLANK)


def newline_first(src: bytes) -> bytes:
    """``src`` with a newline put before it, for the scans that match a line from the newline
    before it (``\\n[ \\t]*#...`` rather than ``^[ \\t]*#...`` with ``re.M``): every alternative
    of such a regex starts with a literal byte, so the engine skips to the candidates instead
    of trying every offset (2-3x faster on kernel files). In this text, a match of such a regex
    starts at its line's offset in ``src``; its groups and its end lie one byte after theirs."""
    return b"\n" + src
