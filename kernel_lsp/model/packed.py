"""Name -> entries tables that keep each entry as one Python int (whole-kernel symbol memory).

A kernel model has millions of declarations; as lists of small objects (a list per name, an
object per entry, an int object per field, a string per ``storage``) the symbol tables of a
whole-tree check took 1.3 GB. A ``Packed`` table keeps one int per entry (a tuple of ints for
the few names with several) and builds the entry objects when a name is looked up.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator

_INT_BITS = 40  # an int field holds None or 0 .. 2**40 - 2 (byte offsets, lines, file ids)
_INT_MAX = (1 << _INT_BITS) - 1
_STR_BITS = 8  # a str field holds None or one of 255 distinct strings per table
_STR_MAX = (1 << _STR_BITS) - 1
RECENT = 8192  # names whose entries are kept built (a check looks the same names up often)


class Packed:
    """``name -> [entry]`` for entries of one type built from fields of the kinds ``fields``
    (``"int"``: an int or None, ``"bool"``, ``"str"``: None or one of a few strings).

    Read like a dict of lists (``get``, ``in``, ``[]``); ``add`` appends one entry. The lists
    ``get`` returns are new each time: changing one does not change the table."""

    def __init__(self, make: Callable, fields: tuple[str, ...]):
        self.make = make
        self.fields = fields
        self.table: dict[str, int | tuple[int, ...]] = {}
        self.strings: list[str | None] = [None]
        self.codes: dict[str | None, int] = {None: 0}
        self.recent: dict[str, tuple] = {}  # the entries of names looked up lately

    def add(self, name: str, *values) -> None:
        """Append the entry made of ``values`` (one per field, in order) to ``name``'s."""
        packed = 0
        for kind, value in zip(self.fields, values, strict=True):
            if kind == "int":
                if value is not None and not 0 <= value < _INT_MAX:
                    raise ValueError(f"{value} does not fit an int field")
                packed = (packed << _INT_BITS) | (0 if value is None else value + 1)
            elif kind == "bool":
                packed = (packed << 1) | bool(value)
            else:
                packed = (packed << _STR_BITS) | self._code(value)
        self.recent.pop(name, None)
        got = self.table.get(name)
        if got is None:
            self.table[name] = packed
        elif isinstance(got, int):
            self.table[name] = (got, packed)
        else:
            self.table[name] = (*got, packed)

    def _code(self, value: str | None) -> int:
        code = self.codes.get(value)
        if code is None:
            code = self.codes[value] = len(self.strings)
            if code >= 1 << _STR_BITS:
                raise ValueError(f"more than {(1 << _STR_BITS) - 1} distinct strings")
            self.strings.append(value)
        return code

    def _unpack(self, packed: int):
        values = []
        for kind in reversed(self.fields):
            if kind == "int":
                v = packed & _INT_MAX
                values.append(None if v == 0 else v - 1)
                packed >>= _INT_BITS
            elif kind == "bool":
                values.append(bool(packed & 1))
                packed >>= 1
            else:
                values.append(self.strings[packed & _STR_MAX])
                packed >>= _STR_BITS
        values.reverse()
        return self.make(*values)

    def get(self, name: str, default=None):
        recent = self.recent.get(name)
        if recent is not None:
            return list(recent)
        got = self.table.get(name)
        if got is None:
            return default
        entries = (self._unpack(got),) if isinstance(got, int) else tuple(map(self._unpack, got))
        if len(self.recent) >= RECENT:
            self.recent.clear()
        self.recent[name] = entries
        return list(entries)

    def __getitem__(self, name: str) -> list:
        got = self.get(name)
        if got is None:
            raise KeyError(name)
        return got

    def __contains__(self, name: object) -> bool:
        return name in self.table

    def __len__(self) -> int:
        return len(self.table)

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def keys(self):
        return self.table.keys()

    def items(self) -> Iterator[tuple[str, list]]:
        return ((name, self[name]) for name in self.table)


class Partial(Packed):
    """A ``Packed`` table that holds the entries of some names (those ``add`` gave it) and
    reads any other name's from the model when asked (``fetch``), if ``key(name)`` is one of
    ``keys`` (sorted: the keys of every name the model has; a key no name of the table has
    answers "none" without a query). Whole-kernel memory: Linux defines 1.85 million macro
    names, and the checks can look up only the 153,000 that a stored fact names.

    Answers as a full table would; it cannot list its names (``__iter__``, ``keys``, ``items``
    and ``len`` raise ``TypeError``)."""

    def __init__(self, make: Callable, fields: tuple[str, ...], keys, key: Callable[[str], int],
                 fetch: Callable[[str], list]):
        super().__init__(make, fields)
        self.keys_of_all, self.key, self.fetch = keys, key, fetch
        self.fetched: dict[str, tuple] = {}  # names read from the model (``()``: none)

    def get(self, name: str, default=None):
        if name in self.table:
            return super().get(name, default)
        got = self.fetched.get(name)
        if got is None:
            got = self.fetched[name] = tuple(self.fetch(name)) if self._may_have(name) else ()
        return list(got) if got else default

    def _may_have(self, name: str) -> bool:
        key, keys = self.key(name), self.keys_of_all
        i = bisect_left(keys, key)
        return i < len(keys) and keys[i] == key

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def _whole(self, *_args):
        raise TypeError("a partial table lists no names: look each one up")

    __iter__ = __len__ = keys = items = _whole
