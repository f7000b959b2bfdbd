"""A file's calls as one compressed list (schema 15): the rows of the view ``calls``.

Linux 6.1 has 3.8 million call sites; as a table row each (file, place in the file, caller,
callee, kind, position, enclosing call) they took 120 MiB, most of it SQLite's per-row cost.
A file's calls are one ``call_lists`` row instead: the columns of its calls, in file order,
as 32-bit integers one column after the other (names as ``names`` ids, -1 for NULL, the byte
offsets and lines as differences from the previous call), compressed with zlib (``pack``).

``pack`` and ``unpack`` convert; ``CallPacker`` is ``pack`` as an SQL aggregate (migration 15)
and ``rows_json`` the rows as JSON for the view ``calls`` (``json_each``): the store registers
both on each connection it opens (``register``).
"""

from __future__ import annotations

import json
import zlib
from array import array
from itertools import accumulate

# The packed columns, in order: a call row of the store with ``via_macro`` as a names id.
COLUMNS = ("caller", "callee", "kind", "start_byte", "line", "col", "end_col", "via_macro",
           "via_arg", "via_args")
_WIDTH = len(COLUMNS)
_DELTAS = (COLUMNS.index("start_byte"), COLUMNS.index("line"))  # stored as differences
_NULL = -1  # none of the columns holds a negative value; a difference is never NULL
_LEVEL = 6
_FORMATS = {1: "i", 2: "q"}  # the first byte of a packed list: 32-bit values, else 64-bit

ROWS_FUNCTION = "klsp_call_rows"  # rows_json, for the view ``calls``
PACK_AGGREGATE = "klsp_pack_calls"  # CallPacker, for migration 15


def pack(rows: list[tuple]) -> bytes:
    """The packed form of call rows (``COLUMNS``, ints or None), in their order: a format
    byte, then the zlib of the values' bytes grouped by place (all first bytes, then all
    second bytes...: small numbers compress better so)."""
    if any(len(r) != _WIDTH for r in rows):
        raise ValueError(f"a call row without its {_WIDTH} columns")
    values: list[int] = []
    for i, column in enumerate(zip(*rows, strict=True)):
        if i in _DELTAS:
            prev = 0
            for v in column:
                if v is None:
                    raise ValueError(f"a call row without its {COLUMNS[i]}")
                values.append(v - prev)
                prev = v
        else:
            values.extend(_NULL if v is None else v for v in column)
    for code, typecode in _FORMATS.items():
        try:
            raw = array(typecode, values).tobytes()
        except OverflowError:
            continue
        size = array(typecode).itemsize
        return bytes((code,)) + zlib.compress(b"".join(raw[i::size] for i in range(size)),
                                              _LEVEL)
    raise ValueError("a call row with a value beyond 64 bits")


def _values(data: bytes) -> array:
    """The values ``pack`` packed into ``data``, column after column."""
    typecode = _FORMATS.get(data[0]) if data else None
    if typecode is None:
        raise ValueError("not a packed call list")
    planes = zlib.decompress(data[1:])
    size = array(typecode).itemsize
    n = len(planes) // size
    raw = bytearray(len(planes))
    for i in range(size):
        raw[i::size] = planes[i * n:(i + 1) * n]
    values = array(typecode)
    values.frombytes(raw)
    return values


def _column(values: array, i: int, n: int) -> list:
    column = values[i * n:(i + 1) * n]
    if i in _DELTAS:
        return list(accumulate(column))
    nulls = column.count(_NULL)
    if not nulls:
        return column.tolist()
    if nulls == n:
        return [None] * n
    return [None if v == _NULL else v for v in column]


def unpack(data: bytes) -> list[tuple]:
    """The rows that ``pack`` packed into ``data``, in their order."""
    values = _values(data)
    n = len(values) // _WIDTH
    return list(zip(*(_column(values, i, n) for i in range(_WIDTH)), strict=True))


def unpack_where(data: bytes, column: str, wanted: set[int]) -> list[tuple]:
    """The rows of ``data`` whose ``column`` holds one of ``wanted``, in their order (the
    other rows are not built)."""
    values = _values(data)
    n = len(values) // _WIDTH
    at = COLUMNS.index(column)
    keep = [k for k, v in enumerate(values[at * n:(at + 1) * n]) if v in wanted]
    if not keep:
        return []
    sums = {i: list(accumulate(values[i * n:(i + 1) * n])) for i in _DELTAS}
    rows = []
    for k in keep:
        row = [values[i * n + k] for i in range(_WIDTH)]
        rows.append(tuple(sums[i][k] if i in sums else None if v == _NULL else v
                          for i, v in enumerate(row)))
    return rows


def rows_json(data: bytes | None) -> str:
    """The rows of ``data`` as a JSON array of arrays, each ``COLUMNS`` (for ``json_each``)."""
    return json.dumps(unpack(data) if data else [], separators=(",", ":"))


class CallPacker:
    """``pack`` as an SQL aggregate over (seq, ``COLUMNS``...): rows in ``seq`` order."""

    def __init__(self):
        self.rows: list[tuple] = []

    def step(self, seq, *row):
        self.rows.append((seq, row))

    def finalize(self):
        self.rows.sort(key=lambda r: r[0])
        return pack([r for _, r in self.rows])


def register(conn) -> None:
    """Make ``ROWS_FUNCTION`` and ``PACK_AGGREGATE`` known to the sqlite3 connection ``conn``."""
    conn.create_function(ROWS_FUNCTION, 1, rows_json, deterministic=True)
    conn.create_aggregate(PACK_AGGREGATE, 1 + _WIDTH, CallPacker)
