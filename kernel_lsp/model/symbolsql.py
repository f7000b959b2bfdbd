"""SQL of the by-name symbol lookups (functions, macros, variables, types): part of Model.

The lazy symbol tables (``live/lazy.py``) answer the checks' name questions with these indexed
queries instead of loading every symbol. Kept apart from ``store.py`` only to keep modules
small; ``Model`` inherits it, so the rule "one class owns the SQL" holds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator

from kernel_lsp.model import schema


class SymbolSQL:
    """By-name symbol queries of the Model (mixed into ``kernel_lsp.model.store.Model``)."""

    conn: sqlite3.Connection  # the Model's

    # -- by-name lookups (the session's symbol tables are lazy on big models) ----------------
    def function_entries(self, name: str) -> list[tuple]:
        """(file_id, is_definition, storage, start_byte) of file-scope functions ``name``."""
        return self.conn.execute("SELECT file_id, is_definition, storage, start_byte FROM "
                                 "functions WHERE name=? AND parent IS NULL", (name,)).fetchall()

    def macro_entries(self, name: str) -> list[tuple]:
        """(file_id, function_like, start_byte) of macros ``name`` (plain ones too)."""
        return self.conn.execute("SELECT file_id, params IS NOT NULL, start_byte FROM macros "
                                 f"WHERE {schema.named()}", (name,)).fetchall() + [
            (file_id, 0, m.start_byte) for file_id, m in self.plain_macros_named([name])]

    def macro_definitions(self, name: str) -> list[tuple[int, list[str], str]]:
        """(file_id, parameter names, body) of the function-like macros ``name``."""
        return [(fid, json.loads(params), body or "") for fid, params, body in self.conn.execute(
            f"SELECT file_id, params, body FROM macros WHERE {schema.named()} "
            "AND params IS NOT NULL", (name,))]

    def variable_entries(self, name: str) -> list[tuple]:
        """(file_id, storage, is_definition, start_byte, line, col, end_col) of variables."""
        return self.conn.execute("SELECT file_id, storage, is_definition, start_byte, line, col, "
                                 "end_col FROM variables WHERE name=?", (name,)).fetchall()

    def hidden_kinds(self, name: str) -> set[str]:
        """The kinds (macro, function, struct, ..., typedef) ``name`` has in dropped branches."""
        return {k for (k,) in self.conn.execute("SELECT DISTINCT kind FROM hidden WHERE name=? "
                                                "AND kind NOT IN ('unless', 'template')",
                                                (name,))}

    def hidden_declarers(self, name: str) -> set[int]:
        """The files that declare or define ``name`` as a function, variable or macro in a
        dropped branch."""
        return {f for (f,) in self.conn.execute(
            "SELECT DISTINCT file_id FROM hidden WHERE name=? AND kind IN "
            "('function', 'variable', 'macro')", (name,))}

    def hidden_definitions(self, name: str, kind: str) -> list[tuple[str, int]]:
        """(path, start_byte) of the dropped-branch definitions of ``name`` as ``kind``."""
        return self.conn.execute(
            "SELECT fl.path, h.start_byte FROM hidden h JOIN files fl ON fl.id = h.file_id "
            "WHERE h.name=? AND h.kind=? ORDER BY fl.path, h.start_byte", (name, kind)).fetchall()

    def aliases_in(self, file_id: int, name: str) -> list[str]:
        """The object-like macros of ``file_id`` whose body is the name ``name`` (``#define
        __NS8390_init ax_NS8390_init``)."""
        return [n for (n,) in self.conn.execute(
            "SELECT name FROM macros WHERE file_id = ? AND params IS NULL AND trim(body) = ?",
            (file_id, name))]

    def type_entries(self, name: str) -> list[tuple]:
        """(file_id, kind, is_definition, start_byte) of type declarations ``name``."""
        return self.conn.execute("SELECT file_id, kind, is_definition, start_byte FROM types "
                                 "WHERE name=?", (name,)).fetchall()

    def is_member_name(self, name: str, enum: bool) -> bool:
        """Whether some struct/union has a member (``enum``: some enum an enumerator) ``name``."""
        return self.conn.execute("SELECT 1 FROM member_names WHERE name=? AND enum=? AND n > 0",
                                 (name, int(enum))).fetchone() is not None

    def member_lists(self) -> Iterator[tuple]:
        """(kind, members JSON) of every type with members (struct/union fields, enumerators)."""
        return self.conn.execute("SELECT kind, members FROM types WHERE members IS NOT NULL")

    def includer_ids(self, file_id: int) -> Iterator[int]:
        """The files with an include line resolving to ``file_id`` (not itself), in file order,
        one at a time (a caller may stop at the first it needs)."""
        return (f for (f,) in self.conn.execute(
            "SELECT DISTINCT file_id FROM includes WHERE resolved_id=? AND file_id != resolved_id "
            "ORDER BY file_id", (file_id,)))

    def included_ids(self, file_ids: Iterable[int]) -> set[int]:
        """The files the include lines of ``file_ids`` resolve to (not the includer itself)."""
        ids, out = list(file_ids), set()
        for at in range(0, len(ids), 500):
            chunk = ids[at:at + 500]
            out.update(f for (f,) in self.conn.execute(
                "SELECT DISTINCT resolved_id FROM includes WHERE file_id IN "
                f"({', '.join('?' * len(chunk))}) AND resolved_id != file_id", chunk))
        return out

    def includers_of(self, file_id: int, limit: int) -> list[tuple]:
        """(includer id, start_byte) of up to ``limit`` include lines resolving to ``file_id``."""
        return self.conn.execute("SELECT file_id, start_byte FROM includes WHERE resolved_id=? "
                                 "AND file_id != resolved_id ORDER BY file_id LIMIT ?",
                                 (file_id, limit)).fetchall()
