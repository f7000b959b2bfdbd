"""The model's SQL on plain macros (schema 13): each file's list in ``macro_lists`` (the format is
``model/plainmacros.py``), and in ``macro_keys`` a (``name_key``, file) row for every name in it.

A name is found by its key: the files holding a list with a name of that key, whose names are
searched (a key is a name's first five bytes and 12 bits of its hash: register names share
their first bytes, so a key is not a name). A prefix is a range of keys, as for ``macros``.
The lists read last are kept until the database changes.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from kernel_lsp.model import schema
from kernel_lsp.model.plainmacros import PlainList, PlainMacro, list_names, pack

_LISTS_KEPT = 64  # lists kept (a check looks up names of the same few headers)
_CHUNK = 500  # keys or ids per statement


class PlainMacroSQL:
    """Reads and writes of the plain macros' lists (a part of ``Model``)."""

    conn: sqlite3.Connection  # the Model's

    # -- the lists read last, kept while the database does not change --------------------------
    def _plain_list(self, file_id: int) -> PlainList | None:
        """``file_id``'s list (None when it has none)."""
        stamp = (self.conn.execute("PRAGMA data_version").fetchone()[0], self.conn.total_changes)
        kept = getattr(self, "_plain_kept", None)
        if kept is None or kept[0] != stamp:
            kept = (stamp, OrderedDict())
            self._plain_kept = kept
        lists = kept[1]
        if file_id in lists:
            lists.move_to_end(file_id)
            return lists[file_id]
        row = self.conn.execute("SELECT names, places FROM macro_lists WHERE file_id=?",
                                (file_id,)).fetchone()
        lists[file_id] = PlainList(*row) if row else None
        if len(lists) > _LISTS_KEPT:
            lists.popitem(last=False)
        return lists[file_id]

    # -- writes (inside the store's transaction) ------------------------------------------------
    def _write_plain(self, file_id: int, macros: list[PlainMacro], appended: bool) -> None:
        """Store ``macros`` as ``file_id``'s list (added to the list it has, when ``appended``;
        else the file has none: ``_delete_plain`` came first)."""
        if not macros:
            return
        if appended:
            macros = [m for _fid, m in self.plain_macros_in([file_id])] + macros
        self.conn.execute("INSERT OR REPLACE INTO macro_lists (file_id, n, names, places) "
                          "VALUES (?, ?, ?, ?)", (file_id, len(macros), *pack(macros)))
        self.conn.executemany("INSERT OR IGNORE INTO macro_keys (name_key, file_id) VALUES (?, ?)",
                              _key_rows(file_id, (m.name for m in macros)))

    def _delete_plain(self, file_id: int) -> None:
        """Forget ``file_id``'s list and its keys."""
        row = self.conn.execute("SELECT names FROM macro_lists WHERE file_id=?",
                                (file_id,)).fetchone()
        if row:
            self.conn.executemany("DELETE FROM macro_keys WHERE name_key=? AND file_id=?",
                                  _key_rows(file_id, list_names(zlib.decompress(row[0]))))
            self.conn.execute("DELETE FROM macro_lists WHERE file_id=?", (file_id,))

    # -- reads ---------------------------------------------------------------------------------
    def plain_macros_named(self, names: Iterable[str]) -> list[tuple[int, PlainMacro]]:
        """(file_id, macro) of every plain macro named one of ``names``, by file and position."""
        by_key: dict[int, set[str]] = {}
        for name in names:
            by_key.setdefault(schema.name_key(name), set()).add(name)
        keys = sorted(by_key)
        files: dict[int, set[str]] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i:i + _CHUNK]
            for key, file_id in self.conn.execute(
                    "SELECT name_key, file_id FROM macro_keys WHERE name_key IN "
                    f"({', '.join('?' * len(chunk))})", chunk):
                files.setdefault(file_id, set()).update(by_key[key])
        out = []
        for file_id in sorted(files):
            listed = self._plain_list(file_id)
            if listed is not None:
                out += [(file_id, m) for name in files[file_id] for m in listed.find(name)]
        out.sort(key=lambda r: (r[0], r[1].start_byte))
        return out

    def _lists(self, file_ids: Iterable[int] | None = None) -> Iterator[tuple[int, PlainList]]:
        """(file_id, list) of ``file_ids`` (every file with a list: None), by file, read
        ``_CHUNK`` at a time."""
        if file_ids is not None:
            ids = sorted(set(file_ids))
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i:i + _CHUNK]
                yield from ((fid, PlainList(n, p)) for fid, n, p in self.conn.execute(
                    "SELECT file_id, names, places FROM macro_lists WHERE file_id IN "
                    f"({', '.join('?' * len(chunk))}) ORDER BY file_id", chunk).fetchall())
            return
        last = -1
        while rows := self.conn.execute(
                "SELECT file_id, names, places FROM macro_lists WHERE file_id > ? "
                "ORDER BY file_id LIMIT ?", (last, _CHUNK)).fetchall():
            yield from ((fid, PlainList(n, p)) for fid, n, p in rows)
            last = rows[-1][0]

    def plain_macros_in(self, file_ids: Iterable[int] | None = None
                        ) -> Iterator[tuple[int, PlainMacro]]:
        """(file_id, macro) of the plain macros of ``file_ids`` (None: every file), each file's
        in order."""
        for file_id, listed in self._lists(file_ids):
            yield from ((file_id, m) for m in listed.macros())

    def plain_macros_prefix(self, prefix: str, limit: int) -> list[tuple[int, PlainMacro]]:
        """(file_id, macro) of up to ``limit`` plain macros whose name starts with ``prefix``,
        in the order of their keys (as ``macros`` by prefix)."""
        low, high = schema.key_range(prefix)
        out: list[tuple[int, PlainMacro]] = []
        heads: dict[int, dict[str | None, list[str]]] = {}  # file -> name_head -> its names
        cur = self.conn.execute(
            "SELECT name_key, file_id FROM macro_keys WHERE name_key BETWEEN ? AND ? "
            "ORDER BY name_key, file_id", (low, high))
        for key, file_id in cur:  # read as far as needed: a short prefix has 100,000s of keys
            listed = self._plain_list(file_id)
            if listed is None:
                continue
            if file_id not in heads:
                heads[file_id] = {}
                for name in listed.names_starting(prefix):
                    heads[file_id].setdefault(schema.name_head(name), []).append(name)
            out += [(file_id, m) for name in heads[file_id].get(schema.key_head(key), ())
                    if schema.name_key(name) == key for m in listed.find(name)]
            if len(out) >= limit:
                break
        cur.close()
        return out[:limit]

    def plain_macros_used(self, used: set[str]) -> Iterator[tuple[str, int, int, int]]:
        """(name, file_id, 0, start_byte) of the plain macros named in ``used``, by file: every
        list is read once (faster than a key each for a million names)."""
        for file_id, listed in self._lists():
            yield from ((m.name, file_id, 0, m.start_byte) for m in listed.macros(used))

    def plain_macro_count(self) -> int:
        """How many plain macros the lists hold."""
        return self.conn.execute("SELECT coalesce(sum(n), 0) FROM macro_lists").fetchone()[0]


def _key_rows(file_id: int, names: Iterable[str]) -> list[tuple[int, int]]:
    """The ``macro_keys`` rows of a list of ``file_id`` holding ``names``."""
    return [(key, file_id) for key in sorted({schema.name_key(n) for n in names})]
