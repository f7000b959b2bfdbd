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

    def symbol_names_of(self, file_id: int) -> dict[str, set[str]]:
        """Names a file contributes to the symbol tables, by table (to retract them)."""
        out: dict[str, set[str]] = {}
        for table, where in (("functions", "parent IS NULL"), ("macros", "1"),
                             ("variables", "1"), ("types", "1")):
            cur = self.conn.execute(f"SELECT DISTINCT name FROM {table} "
                                    f"WHERE file_id=? AND {where}", (file_id,))
            out[table] = {r[0] for r in cur}
        return out

    def generated_rows(self, file_id: int) -> dict[str, list[tuple]]:
        """Rows a macro generated in a file, same-file or cross-file (``fact_rows`` shape)."""
        out: dict[str, list[tuple]] = {}
        for table in ("functions", "types", "variables"):
            cur = self.conn.execute(f"SELECT * FROM {table} WHERE file_id=? AND generated_by "
                                    "IS NOT NULL", (file_id,))
            out[table] = [tuple(r[2:]) for r in cur]  # drop id, file_id
        return out
