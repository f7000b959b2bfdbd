"""The SQL of the calls stored as one compressed list per file (schema 15, ``calllists``).

A mixin of ``store.Model`` (which owns the connection, ``_name_ids`` and the transactions):
writing a file's list, reading the lists of files as named ``Call`` rows (the checks' source,
faster than the view ``calls``), and the callee ids of a file's list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kernel_lsp.model import calllists, schema
from kernel_lsp.model.rows import Call

_TABLE = schema.PACKED["calls"]
_VIA = calllists.COLUMNS.index("via_macro")
_NAMED = tuple(calllists.COLUMNS.index(c) for c in (*schema.INTERNED["calls"],
                                                     *schema.PACKED_NAMES))
_KIND = calllists.COLUMNS.index("kind")


class CallListSQL:
    """The ``call_lists`` statements of ``store.Model``."""

    def _stored_calls(self, file_id: int) -> list[tuple]:
        """The packed rows of ``file_id`` (names as ids), in file order."""
        got = self.conn.execute(f"SELECT data FROM {_TABLE} WHERE file_id=?",
                                (file_id,)).fetchone()
        return calllists.unpack(got[0]) if got else []

    def _write_packed(self, file_id: int, rows: list[tuple], appended: bool) -> None:
        """Store ``rows`` (call rows with their interned columns as ids) as ``file_id``'s list
        (after the rows it has, when ``appended``; inside the caller's transaction)."""
        vias = {r[_VIA] for r in rows} - {None}
        if vias:
            ids = self._name_ids(vias)
            rows = [r if r[_VIA] is None else (*r[:_VIA], ids[r[_VIA]], *r[_VIA + 1:])
                    for r in rows]
        if appended:
            rows = self._stored_calls(file_id) + rows
        self.conn.execute(f"INSERT OR REPLACE INTO {_TABLE} (file_id, n, data) VALUES (?, ?, ?)",
                          (file_id, len(rows), calllists.pack(rows)))

    def _packed_ids(self, file_id: int, column: str) -> set[int]:
        """The distinct values of ``column`` in ``file_id``'s list."""
        at = calllists.COLUMNS.index(column)
        return {r[at] for r in self._stored_calls(file_id)} - {None}

    def _lists_of(self, file_ids: Iterable[int], callees: set[int] | None = None
                  ) -> Iterator[list[tuple[int, list[tuple]]]]:
        """(file_id, packed rows) of each of ``file_ids`` that has calls (those of ``callees``
        only, when given), by file id, in batches of up to 500 files."""
        ids = sorted(set(file_ids))
        unpack = calllists.unpack if callees is None else (
            lambda data: calllists.unpack_where(data, "callee", callees))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            yield [(file_id, unpack(data)) for file_id, data in self.conn.execute(
                f"SELECT file_id, data FROM {_TABLE} WHERE file_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY file_id", chunk)]

    def _named_calls(self, batch: list[tuple[int, list[tuple]]], texts: dict[int, str]
                     ) -> Iterator[tuple[int, Call]]:
        """(file_id, Call) of packed rows, their ids turned into names (``texts`` holds the
        ones known, the others are read and added)."""
        wanted = {r[at] for _, rows in batch for r in rows for at in _NAMED}
        wanted.discard(None)
        self._name_texts(wanted - texts.keys(), texts)
        get = texts.get
        for file_id, rows in batch:
            for r in rows:
                yield file_id, Call(get(r[0]), get(r[1]), get(r[2]), *r[3:_VIA], get(r[_VIA]),
                                    *r[_VIA + 1:])

    def _name_id(self, name: str) -> int | None:
        got = self.conn.execute("SELECT id FROM names WHERE name=?", (name,)).fetchone()
        return got[0] if got else None

    def packed_calls_in(self, file_ids: Iterable[int], kind: str | None = None
                        ) -> Iterator[tuple[int, Call]]:
        """(file_id, Call) of the calls of ``file_ids`` (of ``kind`` only, when given), by
        file id, each file's in file order."""
        kind_id = None if kind is None else self._name_id(kind)
        if kind is not None and kind_id is None:
            return
        texts: dict[int, str] = {}
        for batch in self._lists_of(file_ids):
            if kind_id is not None:
                batch = [(f, [r for r in rows if r[_KIND] == kind_id]) for f, rows in batch]
            yield from self._named_calls(batch, texts)

    def packed_calls_named(self, names: Iterable[str], kind: str | None = None
                           ) -> list[tuple[int, Call]]:
        """(file_id, Call) of the calls of any of ``names`` (of ``kind`` only, when given), by
        file id: the lists of the files each name occurs in (``schema.NAME_FILES``), filtered
        by the names' ids before any other id is turned into a name."""
        wanted = sorted(set(names))
        column, pairs = schema.NAME_FILES["calls"]
        callees: set[int] = set()
        files: set[int] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            for callee, file_id in self.conn.execute(
                    f"SELECT p.{column}, p.file_id FROM {pairs} p JOIN names n "
                    f"ON n.id = p.{column} WHERE n.name IN ({','.join('?' * len(chunk))})",
                    chunk):
                callees.add(callee)
                files.add(file_id)
        kind_id = None if kind is None else self._name_id(kind)
        if not files or (kind is not None and kind_id is None):
            return []
        out: list[tuple[int, Call]] = []
        texts: dict[int, str] = {}
        for batch in self._lists_of(files, callees):
            if kind_id is not None:
                batch = [(f, [r for r in rows if r[_KIND] == kind_id]) for f, rows in batch]
            out += self._named_calls(batch, texts)
        return out

    def _name_texts(self, ids: set[int], into: dict[int, str]) -> None:
        """Add the ``names`` text of each of ``ids`` to ``into``."""
        wanted = sorted(ids)
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            into.update(self.conn.execute(
                f"SELECT id, name FROM names WHERE id IN ({','.join('?' * len(chunk))})", chunk))

    def packed_call_count(self) -> int:
        """How many calls the lists hold."""
        return self.conn.execute(f"SELECT coalesce(sum(n), 0) FROM {_TABLE}").fetchone()[0]
