"""The Model class: the one owner of every SQL statement on the kernel model database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from kernel_lsp.model import schema
from kernel_lsp.model.livesql import LiveSQL
from kernel_lsp.model.navsql import NavigationSQL
from kernel_lsp.parse.facts import FileFacts

# Fact tables whose first column is an ``id`` primary key (the others start with file_id).
_TABLES_WITH_ID = frozenset(t for t in schema.FACT_TABLES
                            if schema.TABLES[t].startswith("id INTEGER PRIMARY KEY"))


class ModelError(Exception):
    """The database cannot be used (corrupt, foreign, newer schema)."""


@dataclass(frozen=True, slots=True)
class FileRow:
    id: int
    path: str
    size: int | None
    mtime_ns: int | None
    sha1: str | None


def fact_rows(facts: FileFacts) -> dict[str, list[tuple]]:
    """Row tuples (without file_id) of each fact table for one file; cheap to pickle."""
    def pos(s):
        return (s.start_byte, s.line, s.col, s.end_col if s.end_line == s.line else s.col + 1)

    return {
        "functions": [(f.name, int(f.is_definition), f.storage, int(f.inline),
                       f.ret.name if f.ret else None, f.ret.kind if f.ret else None,
                       json.dumps([[p.name, p.type.name if p.type else None,
                                    p.type.kind if p.type else None] for p in f.params]),
                       f.signature, f.span.start_byte, f.span.end_byte, f.span.line, f.span.col,
                       f.span.end_line, f.span.end_col, f.name_span.line, f.name_span.col,
                       f.name_span.end_col, f.parent, f.generated_by) for f in facts.functions],
        "types": [(t.name, t.kind, int(t.is_definition),
                   json.dumps([[m.name, m.type.name if m.type else None,
                                m.type.kind if m.type else None, int(m.is_function)]
                               for m in t.members]) if t.members else None,
                   t.underlying.name if t.underlying else None,
                   t.underlying.kind if t.underlying else None, t.span.start_byte, t.span.line,
                   t.span.col, t.span.end_line, t.span.end_col, t.name_span.line, t.name_span.col,
                   t.name_span.end_col, t.generated_by) for t in facts.types],
        "variables": [(v.name, v.storage, int(v.is_definition), v.type.name if v.type else None,
                       v.type.kind if v.type else None, v.name_span.start_byte, v.name_span.line,
                       v.name_span.col, v.name_span.end_col, v.generated_by)
                      for v in facts.variables],
        "calls": [(c.caller, c.callee, c.kind, *pos(c.span)) for c in facts.calls],
        "type_uses": [(u.name, u.kind, u.function, u.owner, *pos(u.span)) for u in facts.type_uses],
        "var_uses": [(u.function, u.name, *pos(u.span)) for u in facts.var_uses],
        "includes": [(i.target, int(i.angled), *pos(i.span), None) for i in facts.includes],
        "macros": [(m.name, json.dumps(list(m.params)) if m.params is not None else None,
                    m.body[:16000] if m.params is not None else None, *pos(m.span))
                   for m in facts.macros],
        "exports": [(name, s.line, s.col) for name, s in facts.exports],
        "invocations": [(i.name, json.dumps(list(i.args)), int(i.has_body), i.span.start_byte,
                         i.span.line, i.span.col) for i in facts.invocations],
    }


class Model(NavigationSQL, LiveSQL):
    """The kernel model in SQLite (``<root>/.kernel-lsp/model.db``, or in memory for tests)."""

    def __init__(self, path: str | Path | None = None):
        """Open (creating or migrating) the model at ``path``; ``None`` for an in-memory one.

        :raises ModelError: the file is not a database of ours, or is corrupt.
        """
        self.path = Path(path) if path is not None else None
        try:
            if self.path is None:
                self.db = sqlite_utils.Database(memory=True)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite_utils.Database(sqlite3.connect(str(self.path), timeout=30,
                                                                isolation_level=None))
            self.conn = self.db.conn
            self._setup()
        except sqlite3.DatabaseError as exc:
            raise ModelError(f"{path}: not a usable model database ({exc})") from exc

    def _setup(self) -> None:
        c = self.conn
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute("PRAGMA foreign_keys=OFF")
        app = c.execute("PRAGMA application_id").fetchone()[0]
        tables = set(self.db.table_names())
        if tables and app != schema.APPLICATION_ID:
            raise ModelError(f"{self.path}: a database of another application")
        if app == schema.APPLICATION_ID and self.schema_version() > schema.SCHEMA_VERSION:
            raise ModelError(f"{self.path}: written by a newer kernel-lsp "
                             f"(schema {self.schema_version()})")
        if not tables:
            self._create()
        else:
            self._migrate()
        # No integrity scan here: on a 1 GB kernel model it costs more than a whole warm run.
        # A garbage file already failed above; damage deeper in raises on use.

    def _create(self) -> None:
        with self.db.conn:
            for name, cols in schema.TABLES.items():
                self.conn.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
            for table, cols in schema.INDEXES:
                self.db[table].create_index(cols, if_not_exists=True)
            for name, sql in schema.VIEWS.items():
                self.db.create_view(name, sql, replace=True)
            self.conn.execute(f"PRAGMA application_id={schema.APPLICATION_ID}")
            self.set_meta("schema_version", str(schema.SCHEMA_VERSION))

    def _migrate(self) -> None:
        version = self.schema_version()
        while version < schema.SCHEMA_VERSION:
            version += 1
            with self.db.conn:
                for sql in schema.MIGRATIONS.get(version, []):
                    self.conn.execute(sql)
                self.set_meta("schema_version", str(version))

    # -- meta ------------------------------------------------------------------------------
    def schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0]) if row else 0

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self.conn.close()

    # -- files -----------------------------------------------------------------------------
    def files(self) -> dict[str, FileRow]:
        """Every indexed file by root-relative path."""
        cur = self.conn.execute("SELECT id, path, size, mtime_ns, sha1 FROM files")
        return {r[1]: FileRow(*r) for r in cur}

    def file_paths(self) -> dict[int, str]:
        return dict(self.conn.execute("SELECT id, path FROM files"))

    def touch_file(self, path: str, size: int, mtime_ns: int) -> None:
        """Record a new size/mtime for a file whose content hash did not change."""
        with self.conn:
            self.conn.execute("UPDATE files SET size=?, mtime_ns=? WHERE path=?",
                              (size, mtime_ns, path))

    def replace_file(self, path: str, rows: dict[str, list[tuple]], *, size: int, mtime_ns: int,
                     sha1: str | None, error_nodes: int = 0, problem: str | None = None,
                     type_use_total: int = 0) -> int:
        """Replace everything known about ``path`` by ``rows`` (see ``fact_rows``) atomically."""
        c = self.conn
        directory = path.rsplit("/", 1)[0] if "/" in path else ""
        with c:
            c.execute("BEGIN IMMEDIATE")
            row = c.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
            if row is None:
                file_id = c.execute(
                    "INSERT INTO files(path, dir) VALUES (?, ?)", (path, directory)).lastrowid
            else:
                file_id = row[0]
                for table in schema.FACT_TABLES:
                    c.execute(f"DELETE FROM {table} WHERE file_id=?", (file_id,))
            self._insert_rows(file_id, rows)
            c.execute("UPDATE files SET size=?, mtime_ns=?, sha1=?, error_nodes=?, problem=?, "
                      "type_use_total=? WHERE id=?",
                      (size, mtime_ns, sha1, error_nodes, problem, type_use_total, file_id))
            self._ensure_dirs(c, directory)
        return file_id

    @staticmethod
    def _ensure_dirs(c, directory: str) -> None:
        parts = directory.split("/") if directory else []
        for i in range(len(parts)):
            path = "/".join(parts[: i + 1])
            father = "/".join(parts[:i])
            c.execute("INSERT OR IGNORE INTO dirs(path, level, father) VALUES (?, ?, ?)",
                      (path, 6 if i == 0 else 5, father))

    def add_rows(self, file_id: int, rows: dict[str, list[tuple]]) -> None:
        """Add fact rows (e.g. what cross-file macro expansion generated) to a file, atomically."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self._insert_rows(file_id, rows)

    def _insert_rows(self, file_id: int, rows: dict[str, list[tuple]]) -> None:
        """Insert ``fact_rows`` tuples for ``file_id`` (inside the caller's transaction)."""
        for table, table_rows in rows.items():
            if table_rows:
                width = len(table_rows[0]) + 1
                rowid = "NULL, " if table in _TABLES_WITH_ID else ""
                self.conn.executemany(
                    f"INSERT INTO {table} VALUES ({rowid}{','.join('?' * width)})",
                    ((file_id, *r) for r in table_rows))

    def remove_files(self, paths: Iterable[str]) -> int:
        """Forget deleted files; returns how many were removed."""
        n = 0
        for path in paths:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                row = self.conn.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
                if row is None:
                    continue
                for table in schema.FACT_TABLES:
                    self.conn.execute(f"DELETE FROM {table} WHERE file_id=?", (row[0],))
                self.conn.execute("DELETE FROM files WHERE id=?", (row[0],))
                self.conn.execute("UPDATE includes SET resolved_id=NULL WHERE resolved_id=?",
                                  (row[0],))
                n += 1
        return n

    # -- includes --------------------------------------------------------------------------
    def include_rows(self) -> Iterator[tuple[int, int, str, int]]:
        """(rowid, file_id, target, angled) of every include line."""
        return self.conn.execute("SELECT rowid, file_id, target, angled FROM includes")

    def set_resolved_includes(self, resolved: Iterable[tuple[int | None, int]]) -> None:
        """Store (resolved file id or None, include rowid) pairs in one transaction."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany("UPDATE includes SET resolved_id=? WHERE rowid=?", resolved)

    def include_graph(self) -> dict[int, list[tuple[int, int | None, str, int, int, int]]]:
        """file id -> [(start_byte, resolved id, target, line, col, end_col)] in file order."""
        graph: dict[int, list] = {}
        cur = self.conn.execute("SELECT file_id, start_byte, resolved_id, target, line, col, "
                                "end_col FROM includes ORDER BY file_id, start_byte")
        for fid, start, rid, target, line, col, end_col in cur:
            graph.setdefault(fid, []).append((start, rid, target, line, col, end_col))
        return graph

    # -- queries for the checks --------------------------------------------------------------
    def function_symbols(self) -> Iterator[tuple]:
        """(name, file_id, is_definition, storage, start_byte) of file-scope functions."""
        return self.conn.execute("SELECT name, file_id, is_definition, storage, start_byte "
                                 "FROM functions WHERE parent IS NULL")

    def local_prototypes(self, file_ids: Iterable[int]) -> Iterator[tuple]:
        """(file_id, parent function, name, start_byte) of block-scope prototypes."""
        return self._for_files("SELECT file_id, parent, name, start_byte FROM functions "
                               "WHERE parent IS NOT NULL AND file_id IN ({})", file_ids)

    def macro_symbols(self) -> Iterator[tuple]:
        """(name, file_id, function_like, start_byte) of every macro definition."""
        return self.conn.execute(
            "SELECT name, file_id, params IS NOT NULL, start_byte FROM macros")

    def function_macros(self) -> Iterator[tuple]:
        """(name, file_id, params JSON, body, start_byte) of every function-like macro."""
        return self.conn.execute("SELECT name, file_id, params, body, start_byte FROM macros "
                                 "WHERE params IS NOT NULL")

    def invocations(self, file_ids: Iterable[int] | None) -> Iterator[tuple]:
        """(file_id, name, args JSON, has_body, start_byte, line, col) of file-scope invocations."""
        sql = "SELECT file_id, name, args, has_body, start_byte, line, col FROM invocations"
        if file_ids is None:
            return self.conn.execute(sql)
        return self._for_files(sql + " WHERE file_id IN ({})", file_ids)

    def type_symbols(self) -> Iterator[tuple]:
        """(name, kind, file_id, is_definition, members) of every type declaration."""
        return self.conn.execute("SELECT name, kind, file_id, is_definition, members FROM types")

    def variable_symbols(self) -> Iterator[tuple]:
        """(name, file_id, storage, is_definition, start_byte, line, col, end_col)."""
        return self.conn.execute("SELECT name, file_id, storage, is_definition, start_byte, line, "
                                 "col, end_col FROM variables")

    def _for_files(self, sql: str, file_ids: Iterable[int]) -> Iterator[tuple]:
        ids = list(file_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            yield from self.conn.execute(sql.format(",".join("?" * len(chunk))), chunk)

    def calls_in(self, file_ids: Iterable[int]) -> Iterator[tuple]:
        """(file_id, caller, callee, start_byte, line, col, end_col) of direct calls."""
        return self._for_files("SELECT file_id, caller, callee, start_byte, line, col, end_col "
                               "FROM calls WHERE kind='direct' AND file_id IN ({})", file_ids)

    def type_uses_in(self, file_ids: Iterable[int]) -> Iterator[tuple]:
        """(file_id, name, kind, function, owner, start_byte, line, col, end_col)."""
        return self._for_files("SELECT file_id, name, kind, function, owner, start_byte, line, "
                               "col, end_col FROM type_uses WHERE file_id IN ({})", file_ids)

    def var_uses_in(self, file_ids: Iterable[int]) -> Iterator[tuple]:
        """(file_id, function, name, start_byte, line, col, end_col)."""
        return self._for_files("SELECT file_id, function, name, start_byte, line, col, end_col "
                               "FROM var_uses WHERE file_id IN ({})", file_ids)

    def definitions_in(self, file_ids: Iterable[int]) -> Iterator[tuple]:
        """(file_id, kind, name, line, col, end_col) of functions and types defined there."""
        yield from self._for_files(
            "SELECT file_id, 'func', name, name_line, name_col, name_end_col FROM functions "
            "WHERE parent IS NULL AND file_id IN ({})", file_ids)
        yield from self._for_files(
            "SELECT file_id, kind, name, name_line, name_col, name_end_col FROM types "
            "WHERE is_definition = 1 AND file_id IN ({})", file_ids)

    def function_definition(self, name: str) -> tuple | None:
        """(path, signature, storage, line) of a non-static definition of ``name``, if any."""
        return self.conn.execute(
            "SELECT fl.path, f.signature, f.storage, f.name_line FROM functions f "
            "JOIN files fl ON fl.id = f.file_id WHERE f.name=? AND f.parent IS NULL "
            "ORDER BY f.is_definition DESC, f.storage = 'static' LIMIT 1", (name,)).fetchone()

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables (for statistics)."""
        out = {}
        for table in ("files", "dirs", "functions", "types", "variables", "calls", "type_uses",
                      "var_uses", "includes", "macros"):
            out[table] = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return out

    def level_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT level, count(*) FROM level_types GROUP BY level"))

    def relationship_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT kind, count(*) FROM relationships GROUP BY kind"))

    # -- queries for fixes -------------------------------------------------------------------
    def function_declarations(self, name: str) -> list[tuple]:
        """(path, is_definition, storage, signature, generated_by, name_line) of every file-scope
        declaration and definition of function ``name``, definitions first."""
        return self.conn.execute(
            "SELECT fl.path, f.is_definition, f.storage, f.signature, f.generated_by, f.name_line "
            "FROM functions f JOIN files fl ON fl.id = f.file_id WHERE f.name=? AND "
            "f.parent IS NULL ORDER BY f.is_definition DESC, fl.path, f.start_byte",
            (name,)).fetchall()

    def variable_declarations(self, name: str) -> list[tuple]:
        """(path, storage, is_definition, line, col, generated_by) of file-scope variable ``name``."""
        return self.conn.execute(
            "SELECT fl.path, v.storage, v.is_definition, v.line, v.col, v.generated_by "
            "FROM variables v JOIN files fl ON fl.id = v.file_id WHERE v.name=? "
            "ORDER BY v.is_definition DESC, fl.path, v.start_byte", (name,)).fetchall()

    def type_definition_paths(self, name: str, kind: str) -> list[str]:
        """Paths of the files that define type ``name`` of ``kind`` (struct/union/enum/typedef)."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT fl.path FROM types t JOIN files fl ON fl.id = t.file_id "
            "WHERE t.name=? AND t.kind=? AND t.is_definition=1 ORDER BY fl.path", (name, kind))]

    def first_use(self, path: str, name: str, what: str) -> tuple[int, int, int] | None:
        """(start_byte, line, col) of the first ``what`` (call/var/type) of ``name`` in ``path``."""
        table, column = {"call": ("calls", "callee"), "var": ("var_uses", "name"),
                         "type": ("type_uses", "name")}[what]
        return self.conn.execute(
            f"SELECT u.start_byte, u.line, u.col FROM {table} u JOIN files fl ON fl.id = u.file_id "
            f"WHERE fl.path=? AND u.{column}=? ORDER BY u.start_byte LIMIT 1",
            (path, name)).fetchone()

    def resolved_includes(self, path: str) -> list[tuple[int, str]]:
        """(start_byte, included path) of the includes of ``path`` that resolve, in file order."""
        return self.conn.execute(
            "SELECT i.start_byte, r.path FROM includes i JOIN files fl ON fl.id = i.file_id "
            "JOIN files r ON r.id = i.resolved_id WHERE fl.path=? ORDER BY i.start_byte",
            (path,)).fetchall()
