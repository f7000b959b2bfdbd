"""A file's plain macros as one compressed list (schema 13, ``macro_lists``).

A plain macro is an object-like ``#define`` whose body the model does not keep (a number, an
expression, nothing): register constants, flags, sizes. Linux 6.1 has 2.7 million of them, 1.5
million in the GPU register headers; a row each (name, position, key, two indexes) took 240 MB of
a 1.1 GB model. A file's plain macros are one list here, in file order, as two compressed parts
(17 MB for Linux): ``names``, the names one a line, and ``places``, three arrays of signed 32-bit
numbers: the ``#define``'s start byte and the name's line, each as the difference to the
previous macro's, then the name's column. The name ends at its column plus its length in bytes,
as the extractor gives it for every macro name.

A name is found in the names text (no decoding of the others), and its place by summing the
differences before it. Pure data: ``model/plainsql.py`` stores the lists and finds them by name.
"""

from __future__ import annotations

import re
import zlib
from array import array
from collections.abc import Iterable
from itertools import accumulate
from typing import NamedTuple

LEVEL = 6  # zlib level: 9 gives 2 % less for twice the time
SPACES = " \t\n\v\f\r"  # no name in a list holds one (``schema.PLAIN_MACRO`` says the same)
_SPACE_SET = frozenset(SPACES)


class PlainMacro(NamedTuple):
    """One plain ``#define``: its name and the position of the name."""

    name: str
    start_byte: int  # of the ``#define`` line, as ``macros.start_byte``
    line: int
    col: int

    @property
    def end_col(self) -> int:
        return self.col + len(self.name.encode("utf-8"))


def is_plain(params: str | None, body: str | None, name: str) -> bool:
    """Whether a macro row (``rows.Macro``) goes into its file's list: object-like, no body kept,
    and a name the list's format can hold (no white space)."""
    return params is None and body is None and bool(name) and _SPACE_SET.isdisjoint(name)


def _order(macros: Iterable[PlainMacro]) -> list[PlainMacro]:
    return sorted(macros, key=lambda m: (m.start_byte, m.line, m.col, m.name))


def pack(macros: Iterable[PlainMacro]) -> tuple[bytes, bytes]:
    """The stored (names, places) of ``macros`` (in file order, whatever order they come in).

    :raises ValueError: a position or difference outside a signed 32-bit number."""
    ordered = _order(macros)
    names = "\n".join(m.name for m in ordered).encode("utf-8")
    starts, lines, cols, start, line = [], [], [], 0, 0
    for m in ordered:
        starts.append(m.start_byte - start)
        lines.append(m.line - line)
        cols.append(m.col)
        start, line = m.start_byte, m.line
    try:
        places = array("i", starts + lines + cols)
    except OverflowError as exc:
        raise ValueError(f"a plain macro's position is out of range ({exc})") from exc
    return zlib.compress(names, LEVEL), zlib.compress(places.tobytes(), LEVEL)


class PlainList:
    """A stored list, decoded as far as asked: its names text at once, the places when a place
    is asked for."""

    __slots__ = ("text", "n", "_blob", "_places")

    def __init__(self, names: bytes, places: bytes):
        raw = zlib.decompress(names)
        self.text = b"\n" + raw + b"\n"  # each name between two newlines
        self.n = raw.count(b"\n") + 1 if raw else 0
        self._blob: bytes | None = places
        self._places: array | None = None

    def _arrays(self) -> array:
        if self._places is None:
            self._places = array("i", zlib.decompress(self._blob or b""))
            self._blob = None
            if len(self._places) != 3 * self.n:
                raise ValueError("a plain macro list whose places do not match its names")
        return self._places

    def _macro(self, i: int, name: str) -> PlainMacro:
        a, n = self._arrays(), self.n
        return PlainMacro(name, sum(a[0:i + 1]), sum(a[n:n + i + 1]), a[2 * n + i])

    def find(self, name: str) -> list[PlainMacro]:
        """The macros ``name`` (a name may be defined twice, in two ``#if`` branches)."""
        if not name or not self.n:
            return []
        needle = b"\n" + name.encode("utf-8") + b"\n"
        out, at = [], self.text.find(needle)
        while at >= 0:
            out.append(self._macro(self.text.count(b"\n", 0, at), name))
            at = self.text.find(needle, at + len(needle) - 1)
        return out

    def names_starting(self, prefix: str) -> list[str]:
        """The distinct names that start with ``prefix``, in file order."""
        found = re.findall(rb"\n(" + re.escape(prefix.encode("utf-8")) + rb"[^\n]*)(?=\n)",
                           self.text)
        return list(dict.fromkeys(n.decode("utf-8") for n in found))

    def names(self) -> list[str]:
        """The name of each macro, in file order."""
        return list_names(self.text[1:-1])

    def macros(self, wanted: set[str] | None = None) -> list[PlainMacro]:
        """Every macro of the list (named one of ``wanted``, when given), in file order."""
        names = self.names()
        if wanted is not None and wanted.isdisjoint(names):
            return []
        a, n = self._arrays(), self.n
        every = zip(names, accumulate(a[0:n]), accumulate(a[n:2 * n]), a[2 * n:], strict=True)
        return [PlainMacro(*m) for m in every if wanted is None or m[0] in wanted]


def list_names(text: bytes) -> list[str]:
    """The names of a list's names text (decompressed), in file order."""
    return text.decode("utf-8").split("\n") if text else []


def unpack(names: bytes, places: bytes) -> list[PlainMacro]:
    """The macros of a stored list, in file order."""
    return PlainList(names, places).macros()


class _Packer:
    """``pack`` as an SQLite aggregate over (name, start_byte, line, col) rows (migration 13);
    ``PART`` picks names (0) or places (1)."""

    PART = 0

    def __init__(self) -> None:
        self.macros: list[PlainMacro] = []

    def step(self, name, start_byte, line, col) -> None:
        self.macros.append(PlainMacro(name, start_byte or 0, line or 0, col or 0))

    def finalize(self) -> bytes:
        return pack(self.macros)[self.PART]


class NamesPacker(_Packer):
    PART = 0


class PlacesPacker(_Packer):
    PART = 1
