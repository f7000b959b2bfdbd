"""SQL the live session needs (one file's symbols, generated rows): part of Model.

Kept apart from ``store.py`` only to keep modules small; ``Model`` inherits it, so the rule
"one class owns the SQL" holds. Methods use ``self.conn``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class LiveSQL:
    """Per-file queries used when an editor buffer replaces a file's facts in memory."""

    conn = None  # set by Model

    def file_id(self, path: str) -> int | None:
        row = self.conn.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
        return row[0] if row else None

    def variables_in(self, file_ids: Iterable[int]) -> Iterator[tuple]:
        """(file_id, name, storage, is_definition, start_byte, line, col, end_col)."""
        return self._for_files("SELECT file_id, name, storage, is_definition, start_byte, line, "
                               "col, end_col FROM variables WHERE file_id IN ({})", file_ids)

    def generated_rows(self, file_id: int) -> dict[str, list[tuple]]:
        """Rows a macro generated in a file, same-file or cross-file (``fact_rows`` shape)."""
        out: dict[str, list[tuple]] = {}
        for table in ("functions", "types", "variables"):
            cur = self.conn.execute(f"SELECT * FROM {table} WHERE file_id=? AND generated_by "
                                    "IS NOT NULL", (file_id,))
            out[table] = [tuple(r[2:]) for r in cur]  # drop id, file_id
        return out

    def include_graph_of(self, file_id: int) -> list[tuple]:
        """[(start_byte, resolved id, target, line, col, end_col)] of one file, in file order."""
        return self.conn.execute("SELECT start_byte, resolved_id, target, line, col, end_col "
                                 "FROM includes WHERE file_id=? ORDER BY start_byte",
                                 (file_id,)).fetchall()

    # -- by-name lookups (the session's symbol tables are lazy on big models) ----------------
    def function_entries(self, name: str) -> list[tuple]:
        """(file_id, is_definition, storage, start_byte) of file-scope functions ``name``."""
        return self.conn.execute("SELECT file_id, is_definition, storage, start_byte FROM "
                                 "functions WHERE name=? AND parent IS NULL", (name,)).fetchall()

    def macro_entries(self, name: str) -> list[tuple]:
        """(file_id, function_like, start_byte) of macros ``name``."""
        return self.conn.execute("SELECT file_id, params IS NOT NULL, start_byte FROM macros "
                                 "WHERE name=?", (name,)).fetchall()

    def variable_entries(self, name: str) -> list[tuple]:
        """(file_id, storage, is_definition, start_byte, line, col, end_col) of variables."""
        return self.conn.execute("SELECT file_id, storage, is_definition, start_byte, line, col, "
                                 "end_col FROM variables WHERE name=?", (name,)).fetchall()

    def type_entries(self, name: str) -> list[tuple]:
        """(file_id, kind, is_definition) of type declarations ``name``."""
        return self.conn.execute("SELECT file_id, kind, is_definition FROM types WHERE name=?",
                                 (name,)).fetchall()

    def member_lists(self) -> Iterator[tuple]:
        """(kind, members JSON) of every type with members (struct/union fields, enumerators)."""
        return self.conn.execute("SELECT kind, members FROM types WHERE members IS NOT NULL")

    def includers_of(self, file_id: int, limit: int) -> list[tuple]:
        """(includer id, start_byte) of up to ``limit`` include lines resolving to ``file_id``."""
        return self.conn.execute("SELECT file_id, start_byte FROM includes WHERE resolved_id=? "
                                 "AND file_id != resolved_id ORDER BY file_id LIMIT ?",
                                 (file_id, limit)).fetchall()
