"""The SQL of the fact tables stored as one compressed list per file (``schema.PACKED``:
calls since schema 15, type uses since 16, variable uses since 17; ``factlists``).

A mixin of ``store.Model`` (which owns the connection, ``_name_ids`` and the transactions):
writing a file's list, reading the lists of files as named rows (the checks' source, faster
than the views), the rows of given names through the files they occur in
(``schema.NAME_FILES``), and the name ids of a file's list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kernel_lsp.model import factlists, schema
from kernel_lsp.model.rows import ROW_TYPES

Batch = list[tuple[int, list[tuple]]]  # (file_id, packed rows) of some files


def _named_columns(table: str) -> tuple[int, ...]:
    """Places of the columns of ``table``'s packed rows that hold ``names`` ids."""
    columns = factlists.LAYOUTS[table].columns
    return tuple(columns.index(c) for c in (*schema.INTERNED[table], *schema.PACKED_NAMES)
                 if c in columns)


_NAMED = {table: _named_columns(table) for table in schema.PACKED}
_VIA = {table: factlists.LAYOUTS[table].columns.index("via_macro")
        for table in schema.PACKED if "via_macro" in factlists.LAYOUTS[table].columns}


class FactListSQL:
    """The ``schema.PACKED`` statements of ``store.Model``."""

    def _stored_list(self, table: str, file_id: int) -> list[tuple]:
        """The packed rows of ``table`` of ``file_id`` (names as ids), in file order."""
        got = self.conn.execute(f"SELECT data FROM {schema.PACKED[table]} WHERE file_id=?",
                                (file_id,)).fetchone()
        return factlists.LAYOUTS[table].unpack(got[0]) if got else []

    def _datas_of(self, table: str, file_ids: list[int]) -> Iterator[list[tuple[int, bytes]]]:
        """(file_id, packed list) of each of ``file_ids`` with rows of ``table``, by file id,
        up to 500 files at a time."""
        ids = sorted(set(file_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            yield self.conn.execute(
                f"SELECT file_id, data FROM {schema.PACKED[table]} WHERE file_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY file_id", chunk).fetchall()

    def _write_list(self, table: str, file_id: int, rows: list[tuple], appended: bool) -> None:
        """Store ``rows`` of ``table`` (their interned columns as ids) as ``file_id``'s list
        (after the rows it has, when ``appended``; inside the caller's transaction)."""
        via = _VIA.get(table)
        vias = {r[via] for r in rows} - {None} if via is not None else set()
        if vias:
            ids = self._name_ids(vias)
            rows = [r if r[via] is None else (*r[:via], ids[r[via]], *r[via + 1:])
                    for r in rows]
        if appended:
            rows = self._stored_list(table, file_id) + rows
        self.conn.execute(
            f"INSERT OR REPLACE INTO {schema.PACKED[table]} (file_id, n, data) VALUES (?, ?, ?)",
            (file_id, len(rows), factlists.LAYOUTS[table].pack(rows)))

    def _list_ids(self, table: str, file_id: int, column: str) -> set[int]:
        """The distinct values of ``column`` in ``file_id``'s list of ``table``."""
        at = factlists.LAYOUTS[table].columns.index(column)
        return {r[at] for r in self._stored_list(table, file_id)} - {None}

    def _lists_of(self, table: str, file_ids: Iterable[int], column: str | None = None,
                  wanted: set[int] | None = None) -> Iterator[Batch]:
        """(file_id, packed rows) of each of ``file_ids`` with rows of ``table`` (only those
        whose ``column`` is one of ``wanted``, when given), by file id, up to 500 files at a
        time."""
        layout = factlists.LAYOUTS[table]
        unpack = layout.unpack if column is None else (
            lambda data: layout.unpack_where(data, column, wanted))
        for batch in self._datas_of(table, list(file_ids)):
            yield [(file_id, unpack(data)) for file_id, data in batch]

    def _named_rows(self, table: str, batch: Batch, texts: dict[int, str]
                    ) -> Iterator[tuple[int, tuple]]:
        """(file_id, row of ``ROW_TYPES[table]``) of packed rows, their ids turned into names
        (``texts`` holds the ones known; the others are read and added)."""
        named = _NAMED[table]
        wanted = {r[at] for _, rows in batch for r in rows for at in named}
        wanted.discard(None)
        self._name_texts(wanted - texts.keys(), texts)
        get, make = texts.get, ROW_TYPES[table]._make
        for file_id, rows in batch:
            for r in rows:
                row = list(r)
                for at in named:
                    row[at] = get(row[at])
                yield file_id, make(row)

    def _name_id(self, name: str) -> int | None:
        got = self.conn.execute("SELECT id FROM names WHERE name=?", (name,)).fetchone()
        return got[0] if got else None

    def _of_kind(self, table: str, batch: Batch, kind_id: int | None) -> Batch:
        if kind_id is None:
            return batch
        at = factlists.LAYOUTS[table].columns.index("kind")
        return [(f, [r for r in rows if r[at] == kind_id]) for f, rows in batch]

    def packed_in(self, table: str, file_ids: Iterable[int], kind: str | None = None
                  ) -> Iterator[tuple[int, tuple]]:
        """(file_id, row) of the rows of ``table`` of ``file_ids`` (of ``kind`` only, when
        given), by file id, each file's in file order."""
        kind_id = None if kind is None else self._name_id(kind)
        if kind is not None and kind_id is None:
            return
        texts: dict[int, str] = {}
        for batch in self._lists_of(table, file_ids):
            yield from self._named_rows(table, self._of_kind(table, batch, kind_id), texts)

    def _name_files(self, table: str, names: Iterable[str]) -> tuple[set[int], set[int]]:
        """(ids of ``names``, ids of the files where ``table``'s ``schema.NAME_FILES`` column
        holds one of them)."""
        wanted = sorted(set(names))
        column, pairs = schema.NAME_FILES[table]
        ids: set[int] = set()
        files: set[int] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            for name_id, file_id in self.conn.execute(
                    f"SELECT p.{column}, p.file_id FROM {pairs} p JOIN names n "
                    f"ON n.id = p.{column} WHERE n.name IN ({','.join('?' * len(chunk))})",
                    chunk):
                ids.add(name_id)
                files.add(file_id)
        return ids, files

    def packed_files(self, table: str, names: Iterable[str], kind: str | None = None
                     ) -> set[int]:
        """Ids of the files with a row of ``table`` whose ``schema.NAME_FILES`` column is one
        of ``names`` (of ``kind``, when given): without ``kind``, the pairs say it; with it,
        each file's list is read, no row built."""
        ids, files = self._name_files(table, names)
        if kind is None or not files:
            return files
        kind_id = self._name_id(kind)
        if kind_id is None:
            return set()
        layout, column = factlists.LAYOUTS[table], schema.NAME_FILES[table][0]
        return {file_id for batch in self._datas_of(table, list(files))
                for file_id, data in batch if layout.has_where(data, column, ids, kind_id)}

    def packed_count_where(self, table: str, column: str, value: str | None) -> int:
        """How many rows of ``table`` hold the name ``value`` (None: NULL) in ``column``: a
        whole scan, no row built."""
        if value is not None:
            value = self._name_id(value)
            if value is None:
                return 0
        layout = factlists.LAYOUTS[table]
        return sum(layout.count_where(data, column, value) for (data,) in self.conn.execute(
            f"SELECT data FROM {schema.PACKED[table]}"))

    def packed_named(self, table: str, names: Iterable[str], kind: str | None = None
                     ) -> list[tuple[int, tuple]]:
        """(file_id, row) of the rows of ``table`` whose ``schema.NAME_FILES`` column is one
        of ``names`` (of ``kind`` only, when given), by file id: the lists of the files each
        name occurs in, filtered by the names' ids before any other id becomes a name."""
        out: list[tuple[int, tuple]] = []
        texts: dict[int, str] = {}
        for batch in self._raw_named(table, names, kind):
            out += self._named_rows(table, batch, texts)
        return out

    def packed_places(self, table: str, names: Iterable[str], kind: str | None = None
                      ) -> list[tuple[int, int, int, int]]:
        """(file_id, line, col, end_col) of the rows ``packed_named`` gives, in its order,
        without turning any id into a name."""
        columns = factlists.LAYOUTS[table].columns
        at = [columns.index(c) for c in ("line", "col", "end_col")]
        return [(f, r[at[0]], r[at[1]], r[at[2]]) for batch in self._raw_named(table, names, kind)
                for f, rows in batch for r in rows]

    def _raw_named(self, table: str, names: Iterable[str], kind: str | None) -> Iterator[Batch]:
        """Batches of the packed rows ``packed_named`` gives (names as ids)."""
        ids, files = self._name_files(table, names)
        column = schema.NAME_FILES[table][0]
        kind_id = None if kind is None else self._name_id(kind)
        if not files or (kind is not None and kind_id is None):
            return
        for batch in self._lists_of(table, files, column, ids):
            yield self._of_kind(table, batch, kind_id)

    def packed_columns(self, table: str, columns: tuple[str, ...]) -> Iterator[tuple]:
        """The integer ``columns`` (names as ids) of every row of ``table``: a whole scan."""
        layout = factlists.LAYOUTS[table]
        for (data,) in self.conn.execute(f"SELECT data FROM {schema.PACKED[table]}"):
            yield from zip(*layout.int_columns(data, columns), strict=True)

    def _name_texts(self, ids: set[int], into: dict[int, str]) -> None:
        """Add the ``names`` text of each of ``ids`` to ``into``."""
        wanted = sorted(ids)
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            into.update(self.conn.execute(
                f"SELECT id, name FROM names WHERE id IN ({','.join('?' * len(chunk))})", chunk))

    def packed_count(self, table: str) -> int:
        """How many rows the lists of ``table`` hold."""
        return self.conn.execute(
            f"SELECT coalesce(sum(n), 0) FROM {schema.PACKED[table]}").fetchone()[0]
