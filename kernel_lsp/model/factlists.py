"""A file's calls, type uses and variable uses as one compressed list each: the rows of the
views ``calls``, ``type_uses`` and ``var_uses`` (schema 15, 16 and 17).

Linux 6.1 has 3.8 million call sites and 3.1 million type uses; as a table row each (file,
place in the file, names, position, enclosing call...) they took 120 and 125 MiB, most of it
SQLite's cost per row. A file's rows of each are one row of ``call_lists`` or
``type_use_lists`` instead (``schema.PACKED``): the integer columns of its rows, in file
order, one column after the other (names as ``names`` ids, -1 for NULL, byte offsets and lines
as differences from the previous row), as 32-bit values (64-bit if one needs it) grouped by
byte place, then the text columns, compressed with zlib together (``Layout.pack``).

``Layout.rows_json`` gives the rows as JSON for the views (``json_each``: the SQL functions
``klsp_call_rows``, ``klsp_type_use_rows`` and ``klsp_var_use_rows``) and ``Layout.packer``
is ``pack`` as an SQL aggregate (the migrations): the store registers them on each connection it opens
(``register``); another client registers the three functions to read the views.
"""

from __future__ import annotations

import json
import zlib
from array import array
from itertools import accumulate

_NULL = -1  # no integer column holds a negative value; a difference is never NULL
_LEVEL = 6
_FORMATS = {1: "i", 2: "q"}  # the first byte of a packed list: 32-bit values, else 64-bit
_SEP, _NONE = "\0", "\1"  # between the texts of a text column; a NULL text
# (a text that starts with ``_NONE`` gets one more in front, so that "\1" is no NULL; no text
# stored before started with one that was not NULL, so their lists read back alike)


def _put(v: str | None) -> str:
    return _NONE if v is None else _NONE + v if v.startswith(_NONE) else v


def _got(v: str) -> str | None:
    return None if v == _NONE else v[1:] if v.startswith(_NONE) else v


class Layout:
    """How the rows of one fact table are packed: its ``columns`` (a fact row's, in order),
    those stored as differences (``deltas``), those holding text (``texts``), and the names
    of the SQL function giving a list's rows as JSON and of the packing aggregate."""

    def __init__(self, columns: tuple[str, ...], deltas: tuple[str, ...],
                 texts: tuple[str, ...], rows_function: str, pack_aggregate: str):
        self.columns = columns
        self.width = len(columns)
        self.deltas = frozenset(columns.index(c) for c in deltas)
        self.texts = tuple(columns.index(c) for c in texts)
        self.ints = tuple(i for i in range(self.width) if i not in self.texts)
        self.rows_function, self.pack_aggregate = rows_function, pack_aggregate

    def pack(self, rows: list[tuple]) -> bytes:
        """The packed form of ``rows`` (ints or None; str or None in the text columns)."""
        if rows and set(map(len, rows)) != {self.width}:
            raise ValueError(f"a row without its {self.width} columns")
        columns = list(zip(*rows, strict=True)) or [()] * self.width
        values: list[int] = []
        for i in self.ints:
            if i in self.deltas:
                prev = 0
                for v in columns[i]:
                    if v is None:
                        raise ValueError(f"a row without its {self.columns[i]}")
                    values.append(v - prev)
                    prev = v
            else:
                column = [_NULL if v is None else v for v in columns[i]]
                if column and min(column) < 0 and (min(column) < _NULL or column.count(
                        _NULL) != columns[i].count(None)):  # a -1 of its own
                    raise ValueError(f"a row with a negative {self.columns[i]}")
                values.extend(column)
        texts = [_put(v) for i in self.texts for v in columns[i]]
        joined = _SEP.join(texts) + _SEP if texts else ""
        if joined.count(_SEP) != len(texts):
            raise ValueError("a text with a NUL character")
        text = joined.encode("utf-8", "surrogatepass")
        for code, typecode in _FORMATS.items():
            try:
                raw = array(typecode, values).tobytes()
            except OverflowError:
                continue
            size = array(typecode).itemsize
            planes = b"".join(raw[i::size] for i in range(size))
            return bytes((code,)) + zlib.compress(len(rows).to_bytes(4, "little") + planes
                                                  + text, _LEVEL)
        raise ValueError("a row with a value beyond 64 bits")

    def _decode(self, data: bytes) -> tuple[int, array, bytes]:
        """(rows, integer values column after column, text part) of a packed list."""
        typecode = _FORMATS.get(data[0]) if data else None
        if typecode is None:
            raise ValueError("not a packed list")
        body = zlib.decompress(data[1:])
        n = int.from_bytes(body[:4], "little")
        size = array(typecode).itemsize
        count = n * len(self.ints) * size
        planes = body[4:4 + count]
        raw = bytearray(count)
        k = n * len(self.ints)
        for i in range(size):
            raw[i::size] = planes[i * k:(i + 1) * k]
        values = array(typecode)
        values.frombytes(raw)
        return n, values, body[4 + count:]

    def _columns(self, n: int, values: array, text: bytes) -> list[list]:
        columns: list[list] = [[] for _ in range(self.width)]
        for slot, i in enumerate(self.ints):
            columns[i] = self._column(values, n, slot)
        if self.texts:
            parts = text.decode("utf-8", "surrogatepass").split(_SEP)
            for slot, i in enumerate(self.texts):
                columns[i] = [_got(v) for v in parts[slot * n:(slot + 1) * n]]
        return columns

    def unpack(self, data: bytes) -> list[tuple]:
        """The rows that ``pack`` packed into ``data``, in their order."""
        n, values, text = self._decode(data)
        return list(zip(*self._columns(n, values, text), strict=True))

    def unpack_where(self, data: bytes, column: str, wanted: set[int]) -> list[tuple]:
        """The rows of ``data`` whose integer ``column`` holds one of ``wanted``, in their
        order (the others are not built)."""
        n, values, text = self._decode(data)
        _slot, chosen = self._named(values, n, column)
        if wanted.isdisjoint(chosen):
            return []
        keep = [k for k, v in enumerate(chosen) if v in wanted]
        picked: list[list] = [[] for _ in range(self.width)]
        for s, i in enumerate(self.ints):
            column_values = values[s * n:(s + 1) * n]
            if i in self.deltas:
                sums = list(accumulate(column_values[:keep[-1] + 1]))
                picked[i] = [sums[k] for k in keep]
            else:
                picked[i] = [None if (v := column_values[k]) == _NULL else v for k in keep]
        if self.texts:
            parts = text.decode("utf-8", "surrogatepass").split(_SEP)
            for s, i in enumerate(self.texts):
                picked[i] = [_got(parts[s * n + k]) for k in keep]
        return list(zip(*picked, strict=True))

    def has_where(self, data: bytes, column: str, wanted: set[int],
                  kind: int | None = None) -> bool:
        """Whether a row of ``data`` has one of ``wanted`` in its integer ``column`` (and
        ``kind`` in its ``kind`` column, when given); no row is built."""
        n, values, _text = self._decode(data)
        _slot, chosen = self._named(values, n, column)
        if wanted.isdisjoint(chosen):
            return False
        if kind is None:
            return True
        _slot, kinds = self._named(values, n, "kind")
        return any(v in wanted and kinds[k] == kind for k, v in enumerate(chosen))

    def int_columns(self, data: bytes, columns: tuple[str, ...]) -> list[list]:
        """The values of the integer ``columns`` of ``data``'s rows, a list per column (NULL
        as None); no row is built."""
        n, values, _text = self._decode(data)
        return [self._column(values, n, self._named(values, n, c)[0]) for c in columns]

    def _named(self, values: array, n: int, column: str) -> tuple[int, array]:
        """(place among the integer columns, raw values) of integer ``column``."""
        slot = self.ints.index(self.columns.index(column))
        return slot, values[slot * n:(slot + 1) * n]

    def _column(self, values: array, n: int, slot: int) -> list:
        column = values[slot * n:(slot + 1) * n]
        if self.ints[slot] in self.deltas:
            return list(accumulate(column))
        nulls = column.count(_NULL)
        return (column.tolist() if not nulls else [None] * n if nulls == n
                else [None if v == _NULL else v for v in column])

    def count_where(self, data: bytes, column: str, value: int | None) -> int:
        """How many rows of ``data`` hold ``value`` in integer ``column`` (None: NULL; not a
        column of differences)."""
        n, values, _text = self._decode(data)
        slot, chosen = self._named(values, n, column)
        if self.ints[slot] in self.deltas:
            raise ValueError(f"{column} is stored as differences")
        return chosen.count(_NULL if value is None else value)

    def rows_json(self, data: bytes | None) -> str:
        """The rows of ``data`` as a JSON array of arrays (for ``json_each``)."""
        return json.dumps(self.unpack(data) if data else [], separators=(",", ":"))

    def packer(self) -> type:
        """``pack`` as an SQL aggregate class over (seq, the columns...): rows by ``seq``."""
        layout = self

        class Packer:
            def __init__(self):
                self.rows: list[tuple] = []

            def step(self, seq, *row):
                self.rows.append((seq, row))

            def finalize(self):
                self.rows.sort(key=lambda r: r[0])
                return layout.pack([r for _, r in self.rows])

        return Packer


CALLS = Layout(("caller", "callee", "kind", "start_byte", "line", "col", "end_col", "via_macro",
                "via_arg", "via_args"), ("start_byte", "line"), (),
               "klsp_call_rows", "klsp_pack_calls")
TYPE_USES = Layout(("name", "kind", "function", "owner", "start_byte", "line", "col", "end_col",
                    "need", "more", "via_macro", "via_arg", "via_type", "drops_owner"),
                   ("start_byte", "line"), ("more",), "klsp_type_use_rows", "klsp_pack_type_uses")
VAR_USES = Layout(("function", "name", "start_byte", "line", "col", "end_col"),
                  ("start_byte", "line"), (), "klsp_var_use_rows", "klsp_pack_var_uses")
LAYOUTS = {"calls": CALLS, "type_uses": TYPE_USES, "var_uses": VAR_USES}
# What another client registers to read the views (``import *`` gives exactly these):
# ``sqlite-utils query model.db "..." --functions 'from kernel_lsp.model.factlists import *'``
__all__ = ["klsp_call_rows", "klsp_type_use_rows", "klsp_var_use_rows"]


def klsp_call_rows(data: bytes | None) -> str:
    """The rows of a ``call_lists.data`` as JSON (the view ``calls``)."""
    return CALLS.rows_json(data)


def klsp_type_use_rows(data: bytes | None) -> str:
    """The rows of a ``type_use_lists.data`` as JSON (the view ``type_uses``)."""
    return TYPE_USES.rows_json(data)


def klsp_var_use_rows(data: bytes | None) -> str:
    """The rows of a ``var_use_lists.data`` as JSON (the view ``var_uses``)."""
    return VAR_USES.rows_json(data)


def register(conn) -> None:
    """Make each layout's row function and packing aggregate known to sqlite3 ``conn``."""
    for function in (klsp_call_rows, klsp_type_use_rows, klsp_var_use_rows):
        conn.create_function(function.__name__, 1, function, deterministic=True)
    for layout in LAYOUTS.values():
        conn.create_aggregate(layout.pack_aggregate, 1 + layout.width, layout.packer())


if {layout.rows_function for layout in LAYOUTS.values()} != set(__all__):
    raise ValueError("each layout's rows function must be one of __all__")
