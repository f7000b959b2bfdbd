"""SQL of design verification, demand extraction and the model self-check: part of Model.

Kept apart from ``store.py`` only to keep modules small; ``Model`` inherits it, so the rule
"one class owns the SQL" holds. Rows come back as dicts keyed by column name (few rows) or as
plain tuples (long lists).
"""

from __future__ import annotations

import json
import sqlite3

from kernel_lsp.model import schema

_FUNC = ("f.file_id, fl.path, f.name, f.is_definition, f.storage, f.ret_name, f.ret_kind, "
         "f.params, f.signature, f.start_byte, f.end_byte, f.line, f.name_line, f.name_col, "
         "f.name_end_col, f.generated_by")
_TYPE = ("t.file_id, fl.path, t.name, t.kind, t.is_definition, t.members, t.underlying_name, "
         "t.underlying_kind, t.name_line, t.name_col, t.name_end_col")
_SIZE_VERSION = 1


def _dicts(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur]


class DesignSQL:
    """Design queries of the Model (mixed into ``kernel_lsp.model.store.Model``)."""

    conn: sqlite3.Connection  # the Model's

    # -- level types by name -------------------------------------------------------------------
    def design_functions(self, name: str) -> list[dict]:
        """File-scope definitions and declarations of function ``name``, by path."""
        return _dicts(self.conn.execute(
            f"SELECT {_FUNC} FROM functions f JOIN files fl ON fl.id = f.file_id "
            "WHERE f.name=? AND f.parent IS NULL ORDER BY fl.path, f.start_byte", (name,)))

    def design_types(self, name: str) -> list[dict]:
        """Declarations and definitions of the struct/union/enum/typedef ``name``, by path."""
        return _dicts(self.conn.execute(
            f"SELECT {_TYPE} FROM types t JOIN files fl ON fl.id = t.file_id WHERE t.name=? "
            "ORDER BY fl.path, t.start_byte", (name,)))

    def design_is_macro(self, name: str) -> bool:
        return self.conn.execute(f"SELECT 1 FROM macros WHERE {schema.named()} LIMIT 1",
                                 (name,)).fetchone() is not None or bool(
            self.plain_macros_named([name]))

    def design_file(self, path: str) -> dict | None:
        """(id, path, dir) of an indexed file."""
        rows = _dicts(self.conn.execute("SELECT id, path, dir FROM files WHERE path=?", (path,)))
        return rows[0] if rows else None

    def design_dir(self, path: str) -> dict | None:
        """(path, level, father) of a directory of the model."""
        rows = _dicts(self.conn.execute("SELECT path, level, father FROM dirs WHERE path=?",
                                        (path,)))
        return rows[0] if rows else None

    def design_unresolved_includes(self, file_id: int) -> list[tuple]:
        """(target, line, col, end_col) of the includes of a file that resolve to nothing."""
        return self.conn.execute(
            "SELECT target, line, col, end_col FROM includes WHERE file_id=? AND resolved_id "
            "IS NULL ORDER BY start_byte", (file_id,)).fetchall()

    # -- calls ---------------------------------------------------------------------------------
    def design_call_sites(self, file_id: int, caller: str, callee: str, kind: str) -> list[tuple]:
        """(start_byte, line, col, end_col) of the calls of ``callee`` made by ``caller``."""
        return self.conn.execute(
            "SELECT start_byte, line, col, end_col FROM calls WHERE file_id=? AND caller=? "
            "AND callee=? AND kind=? ORDER BY start_byte", (file_id, caller, callee, kind)
        ).fetchall()

    def design_callees(self, file_id: int, caller: str) -> list[tuple]:
        """(callee, kind, line, col) of the first call of each function ``caller`` calls."""
        return self.conn.execute(
            "SELECT callee, kind, min(line), col FROM calls WHERE file_id=? AND caller=? "
            "GROUP BY callee, kind ORDER BY min(start_byte)", (file_id, caller)).fetchall()

    def design_type_uses(self, file_id: int, function: str) -> list[tuple]:
        """(name, kind, line, col, need) of the type uses inside one function's body."""
        return self.conn.execute(
            "SELECT name, kind, line, col, need FROM type_uses WHERE file_id=? AND function=? "
            "ORDER BY start_byte", (file_id, function)).fetchall()

    # -- the model's size ----------------------------------------------------------------------
    def _stamp(self) -> str:
        """A value that changes whenever an index run changed the model."""
        parts = [self.conn.execute(f"SELECT max(id) FROM {t}").fetchone()[0]
                 for t in ("functions", "types", "files")]
        parts.append(self.conn.execute("SELECT count(*) FROM files").fetchone()[0])
        return json.dumps([_SIZE_VERSION, *parts])

    def design_model_size(self) -> dict:
        """Level types by level and relationships by kind of the whole model; computed once per
        index run and kept in ``meta`` (the relationship view scans every table)."""
        stamp = self._stamp()
        row = self.conn.execute("SELECT value FROM meta WHERE key='design_size'").fetchone()
        if row:
            try:
                cached = json.loads(row[0])
                if cached.get("stamp") == stamp:
                    return {"levels": cached["levels"], "relationships": cached["relationships"]}
            except (ValueError, AttributeError, KeyError):
                pass
        levels = dict(self.conn.execute(
            "SELECT level, count(*) FROM level_types GROUP BY level ORDER BY min(digit)"))
        rels = self.relationship_counts()
        value = {"stamp": stamp, "levels": levels, "relationships": rels}
        try:
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('design_size', ?)",
                              (json.dumps(value),))
        except sqlite3.OperationalError:  # a read-only or locked database: compute next time
            pass
        return {"levels": levels, "relationships": rels}

    def relationship_counts(self) -> dict[str, int]:
        """Relationships by kind, as ``SELECT kind, count(*) FROM relationships GROUP BY kind``
        gives them, by kind: the parts of the view that read the calls, type uses and
        variable uses are counted in their lists (decoding each once, no row built)."""
        packed = {t: f"FROM {t} " for t in schema.PACKED}
        plain = [p for p in schema.RELATIONSHIP_PARTS
                 if not any(word in p for word in packed.values())]
        if len(plain) != len(schema.RELATIONSHIP_PARTS) - len(packed):
            raise AssertionError("relationships: one part per packed table expected")
        counts = dict(self.conn.execute(
            f"SELECT kind, count(*) FROM ({' UNION ALL '.join(plain)}) GROUP BY kind"))
        direct = self.packed_count_where("calls", "kind", "direct")
        typed = self.packed_count("type_uses") - self.packed_count_where("type_uses", "function",
                                                                         None)
        for kind, n in (("Invocable", direct), ("Accessible", typed + self._variable_accesses())):
            counts[kind] = counts.get(kind, 0) + n
        return {kind: n for kind, n in sorted(counts.items()) if n}

    def _variable_accesses(self) -> int:
        """How many (variable use, file-scope variable of its name in its file) pairs there are
        (the ``Accessible`` part of ``relationships`` from ``var_uses``)."""
        variables: dict[tuple[int, str], int] = {}
        for key in self.conn.execute("SELECT file_id, name FROM variables"):
            variables[key] = variables.get(key, 0) + 1
        uses: dict[tuple[int, int], int] = {}
        files = {f for f, _ in variables}
        at = schema.FACT_COLUMNS["var_uses"].index("name")
        for batch in self._lists_of("var_uses", files):
            for file_id, rows in batch:
                for r in rows:
                    uses[(file_id, r[at])] = uses.get((file_id, r[at]), 0) + 1
        texts: dict[int, str] = {}
        self._name_texts({name for _, name in uses}, texts)
        return sum(n * variables.get((f, texts[name]), 0) for (f, name), n in uses.items())

    # -- the self-check ------------------------------------------------------------------------
    def design_used_type_names(self) -> list[tuple[str, str]]:
        """Distinct (name, kind) of every type use, by name and kind."""
        pairs = set(self.packed_columns("type_uses", ("name", "kind")))
        texts: dict[int, str] = {}
        self._name_texts({i for pair in pairs for i in pair if i is not None}, texts)
        return sorted(((texts[n], texts.get(k)) for n, k in pairs),
                      key=lambda r: (r[0], r[1] is not None, r[1] or ""))

    def design_defined_type_names(self) -> list[tuple[str, str]]:
        """Distinct (name, kind) of the type definitions (a typedef counts as defined)."""
        return self.conn.execute(
            "SELECT DISTINCT name, kind FROM types WHERE is_definition = 1 OR kind = 'typedef'"
        ).fetchall()

    def design_called_names(self) -> list[str]:
        """Distinct callee names of every call (through the files of each callee,
        ``schema.NAME_FILES``; member calls too)."""
        return [r[0] for r in self.conn.execute(
            "SELECT n.name FROM (SELECT DISTINCT callee FROM callee_files) c "
            "JOIN names n ON n.id = c.callee ORDER BY 1")]

    def design_function_names(self) -> tuple[set[str], set[str]]:
        """(names of file-scope function definitions, names of file-scope declarations)."""
        defined: set[str] = set()
        declared: set[str] = set()
        for name, is_def in self.conn.execute(
                "SELECT DISTINCT name, is_definition FROM functions WHERE parent IS NULL"):
            (defined if is_def else declared).add(name)
        return defined, declared

    def design_names_among(self, table: str, names: list[str]) -> set[str]:
        """Which of ``names`` are names of ``macros`` or ``variables`` (batched, indexed)."""
        assert table in ("macros", "variables")
        out: set[str] = set()
        for i in range(0, len(names), 500):
            chunk = names[i:i + 500]
            if table in schema.KEYED:
                sql = f"SELECT DISTINCT name FROM {table} x WHERE {schema.keyed_in('x', len(chunk))}"
                chunk = [*map(schema.name_key, chunk), *chunk]
            else:
                sql = f"SELECT DISTINCT name FROM {table} WHERE name IN ({','.join('?' * len(chunk))})"
            out.update(r[0] for r in self.conn.execute(sql, chunk))
        if table == "macros":
            out.update(m.name for _file_id, m in self.plain_macros_named(names))
        return out

    def design_first_uses(self, table: str, keys: list) -> dict:
        """key -> (uses, path, line, col) of the first use (by path) of each key: a callee name
        of direct ``calls``, or a (name, kind) of ``type_uses``."""
        names = {k if table == "calls" else k[0] for k in keys}
        wanted = set(keys)
        # the lists of the files naming them (``listsql``); the first use is the least text
        # ``path NUL line NUL col`` (as the SQL ``min`` of that text before schema 15)
        rows = self.packed_named(table, names, "direct" if table == "calls" else None)
        paths = self._paths_of(f for f, _ in rows)
        counts: dict = {}
        first: dict = {}
        for f, r in rows:
            key = r.callee if table == "calls" else (r.name, r.kind)
            counts[key] = counts.get(key, 0) + 1
            place = f"{paths[f]}\0{r.line}\0{r.col}"
            if key not in first or place < first[key]:
                first[key] = place
        out = {}
        for key, n in counts.items():
            if key in wanted:
                path, line, col = first[key].split("\0")
                out[key] = (n, path, int(line), int(col))
        return out

    def design_declaration_sites(self, names: list[str]) -> dict[str, tuple]:
        """name -> (path, line) of the first declaration (by path) of each function."""
        out: dict[str, tuple] = {}
        for i in range(0, len(names), 500):
            chunk = names[i:i + 500]
            cur = self.conn.execute(
                "SELECT f.name, min(fl.path || char(0) || f.name_line) FROM functions f JOIN "
                f"files fl ON fl.id = f.file_id WHERE f.name IN ({','.join('?' * len(chunk))}) "
                "AND f.parent IS NULL GROUP BY f.name", chunk)
            for name, first in cur:
                path, line = first.split("\0")
                out[name] = (path, int(line))
        return out

    def design_unincluded_headers(self) -> list[str]:
        """Paths of the ``.h`` files that no include line of the model resolves to."""
        return [r[0] for r in self.conn.execute(
            "SELECT path FROM files WHERE path LIKE '%.h' AND id NOT IN (SELECT resolved_id "
            "FROM includes WHERE resolved_id IS NOT NULL) ORDER BY path")]

    def design_names_like(self, prefix: str, table: str, limit: int = 5000,
                          kind: str | None = None) -> list[str]:
        """Distinct names in ``functions`` (file scope) or ``types`` (of ``kind``) that start
        with ``prefix`` (through the name index)."""
        assert table in ("functions", "types")
        where = " AND parent IS NULL" if table == "functions" else ""
        args: list = [prefix, prefix + "\uffff"]
        if table == "types" and kind is not None:
            where = " AND kind = ?"
            args.append(kind)
        return [r[0] for r in self.conn.execute(
            f"SELECT DISTINCT name FROM {table} WHERE name >= ? AND name < ?{where} LIMIT ?",
            (*args, limit))]

    def design_var_uses(self, file_id: int, function: str) -> list[tuple]:
        """(name, line, col, end_col) of the free identifiers one function uses."""
        return self.conn.execute(
            "SELECT name, line, col, end_col FROM var_uses WHERE file_id=? AND function=? "
            "ORDER BY start_byte", (file_id, function)).fetchall()

    def design_type_names(self) -> dict[str, set[str]]:
        """kind -> the distinct names of its definitions (typedefs: every typedef)."""
        out: dict[str, set[str]] = {}
        for name, kind in self.design_defined_type_names():
            out.setdefault(kind, set()).add(name)
        return out

    def design_names_in_files(self, table: str, file_ids: list[int],
                              kind: str | None = None) -> set[str]:
        """Distinct names of file-scope functions, or of types (of ``kind``), declared in
        ``file_ids``."""
        assert table in ("functions", "types")
        where = " AND parent IS NULL" if table == "functions" else ""
        if table == "types" and kind is not None:
            where = f" AND kind = '{kind}'" if kind in ("struct", "union", "enum",
                                                        "typedef") else " AND 0"
        out: set[str] = set()
        for i in range(0, len(file_ids), 500):
            chunk = file_ids[i:i + 500]
            out.update(r[0] for r in self.conn.execute(
                f"SELECT DISTINCT name FROM {table} WHERE file_id IN "
                f"({','.join('?' * len(chunk))}){where}", chunk))
        return out
