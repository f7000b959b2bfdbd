"""SQL for navigation (hover, definitions, references, symbols, call hierarchy): part of Model.

Kept apart from ``store.py`` only to keep modules small; ``Model`` inherits it, so the rule
"one class owns the SQL" holds. Methods use ``self.conn``. Rows come back as dicts keyed by
column name (few rows) or as plain tuples (the long lists of references).
"""

from __future__ import annotations

import json
import time

from kernel_lsp.model import schema
from kernel_lsp.model.rows import Call

_FUNC = ("f.file_id, fl.path, f.name, f.is_definition, f.storage, f.inline, f.signature, "
         "f.ret_name, f.ret_kind, f.params, f.line, f.col, f.end_line, f.end_col, f.name_line, "
         "f.name_col, f.name_end_col, f.generated_by")
_TYPE = ("t.file_id, fl.path, t.name, t.kind, t.is_definition, t.members, t.underlying_name, "
         "t.underlying_kind, t.line, t.col, t.end_line, t.end_col, t.name_line, t.name_col, "
         "t.name_end_col, t.generated_by")
_VAR = ("v.file_id, fl.path, v.name, v.storage, v.is_definition, v.type_name, v.type_kind, "
        "v.line, v.col, v.end_col, v.generated_by")
_MACRO = "m.file_id, fl.path, m.name, m.params, m.body, m.line, m.col, m.end_col"
# tables searched by workspace symbols: (table, kind column or constant, definition filter)
_SYMBOL_TABLES = (
    ("functions", "'function'", "is_definition = 1 AND parent IS NULL",
     "name_line, name_col, name_line, name_end_col"),
    ("types", "kind", "is_definition = 1", "name_line, name_col, name_line, name_end_col"),
    ("variables", "'variable'", "is_definition = 1", "line, col, line, end_col"),
    ("macros", "'macro'", "1", "line, col, line, end_col"),
)
# the files where any of a list of names is a call's callee, a type use's or a variable use's
# name (``schema.NAME_FILES``)
_CALLEE_FILES = ("SELECT p.file_id FROM callee_files p JOIN names n ON n.id = p.callee "
                 "WHERE n.name IN ({})")
_TYPE_FILES = ("SELECT p.file_id FROM type_name_files p JOIN names n ON n.id = p.name "
               "WHERE n.name IN ({})")
_VAR_FILES = ("SELECT p.file_id FROM var_name_files p JOIN names n ON n.id = p.name "
              "WHERE n.name IN ({})")
NAME_CACHE_SECONDS = 60.0  # a changed model rebuilds the substring name list at most this often
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _dicts(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur]


class NavigationSQL:
    """Navigation queries of the Model (mixed into ``kernel_lsp.model.store.Model``)."""

    # -- files and includes ------------------------------------------------------------------
    def nav_include_closure(self, file_id: int) -> set[int]:
        """``file_id`` and every file it includes, transitively (resolved includes only)."""
        cur = self.conn.execute(
            "WITH RECURSIVE inc(id) AS (SELECT ? UNION SELECT i.resolved_id FROM includes i "
            "JOIN inc ON i.file_id = inc.id WHERE i.resolved_id IS NOT NULL) SELECT id FROM inc",
            (file_id,))
        return {r[0] for r in cur}

    def nav_resolved_include(self, file_id: int, target: str) -> str | None:
        """Path of the file that ``target`` resolved to when ``file_id`` included it."""
        row = self.conn.execute(
            "SELECT fl.path FROM includes i JOIN files fl ON fl.id = i.resolved_id "
            "WHERE i.file_id=? AND i.target=? LIMIT 1", (file_id, target)).fetchone()
        return row[0] if row else None

    def nav_paths_among(self, paths: list[str]) -> list[str]:
        """Which of ``paths`` are indexed files, in the given order."""
        found = {r[0] for r in self.conn.execute(
            f"SELECT path FROM files WHERE path IN ({','.join('?' * len(paths))})", paths)}
        return [p for p in paths if p in found]

    def nav_paths_ending(self, suffix: str, limit: int = 20) -> list[str]:
        """Indexed paths ending with ``/suffix`` (a scan of the files table), shortest first."""
        cur = self.conn.execute(
            "SELECT path FROM files WHERE substr(path, -?) = ? ORDER BY length(path), path "
            "LIMIT ?", (len(suffix) + 1, "/" + suffix, limit))
        return [r[0] for r in cur]

    def nav_include_stats(self, path: str) -> tuple[int, int]:
        """(how many include lines ``path`` has, how many include lines resolve to it)."""
        own = self.conn.execute("SELECT count(*) FROM includes i JOIN files fl ON fl.id = "
                                "i.file_id WHERE fl.path=?", (path,)).fetchone()[0]
        into = self.conn.execute("SELECT count(*) FROM includes i JOIN files fl ON fl.id = "
                                 "i.resolved_id WHERE fl.path=?", (path,)).fetchone()[0]
        return own, into

    def nav_includers(self, path: str) -> list[tuple]:
        """(path, line, col, target) of every include line that resolves to ``path``."""
        return self.conn.execute(
            "SELECT src.path, i.line, i.col, i.target FROM includes i "
            "JOIN files dst ON dst.id = i.resolved_id JOIN files src ON src.id = i.file_id "
            "WHERE dst.path=?", (path,)).fetchall()

    # -- symbols by name ---------------------------------------------------------------------
    def nav_functions(self, name: str) -> list[dict]:
        """File-scope definitions and prototypes of function ``name``."""
        return _dicts(self.conn.execute(
            f"SELECT {_FUNC} FROM functions f JOIN files fl ON fl.id = f.file_id "
            "WHERE f.name=? AND f.parent IS NULL", (name,)))

    def nav_types(self, name: str) -> list[dict]:
        """Every struct/union/enum/typedef declaration named ``name``."""
        return _dicts(self.conn.execute(
            f"SELECT {_TYPE} FROM types t JOIN files fl ON fl.id = t.file_id WHERE t.name=?",
            (name,)))

    def nav_variables(self, name: str) -> list[dict]:
        """File-scope definitions and ``extern`` declarations of variable ``name``."""
        return _dicts(self.conn.execute(
            f"SELECT {_VAR} FROM variables v JOIN files fl ON fl.id = v.file_id WHERE v.name=?",
            (name,)))

    def nav_macros(self, name: str) -> list[dict]:
        """Every ``#define`` of ``name`` (plain ones after the others)."""
        plain = self.plain_macros_named([name])
        paths = self._paths_of(fid for fid, _m in plain)
        return _dicts(self.conn.execute(
            f"SELECT {_MACRO} FROM macros m JOIN files fl ON fl.id = m.file_id "
            f"WHERE {schema.named('m')}", (name,))) + [
            {"file_id": fid, "path": paths[fid], "name": m.name, "params": None, "body": None,
             "line": m.line, "col": m.col, "end_col": m.end_col} for fid, m in plain]

    def _paths_of(self, file_ids) -> dict[int, str]:
        """file id -> path, of ``file_ids``."""
        return dict(self._for_files("SELECT id, path FROM files WHERE id IN ({})",
                                    sorted(set(file_ids))))

    def nav_types_with_member(self, name: str, enum: bool, file_ids: set[int] | None = None,
                              limit: int = 5000) -> list[dict]:
        """Defined enums (``enum``) or structs/unions with a member/enumerator called ``name``,
        in ``file_ids`` only when given (through the file index), else in the whole model.

        A scan of the types table for ``["name",`` in the JSON member list: entries are
        ``[name, type, kind, is_function]`` written by ``json.dumps``, so only a member name
        follows an opening bracket.
        """
        kinds = "t.kind = 'enum'" if enum else "t.kind IN ('struct', 'union')"
        where, args = "", ["[" + json.dumps(name) + ","]
        if file_ids is not None:
            where = " AND t.file_id IN (SELECT value FROM json_each(?))"
            args.append(json.dumps(sorted(file_ids)))
        return _dicts(self.conn.execute(
            f"SELECT {_TYPE} FROM types t JOIN files fl ON fl.id = t.file_id "
            f"WHERE t.is_definition = 1 AND {kinds} AND instr(t.members, ?) > 0{where} LIMIT ?",
            (*args, limit)))

    # -- uses --------------------------------------------------------------------------------
    def _calls_by_path(self, name: str, kind: str) -> list[tuple[str, int, Call]]:
        """(path, file_id, Call) of the calls of ``name`` of ``kind``, by path and place."""
        calls = self.packed_named("calls", [name], kind)
        paths = self._paths_of({f for f, _ in calls})
        return sorted(((paths[f], f, c) for f, c in calls), key=lambda x: (x[0], x[2].start_byte))

    def nav_calls_to(self, name: str, kind: str = "direct") -> list[tuple]:
        """(file_id, path, caller, line, col, end_col) of call sites of ``name``."""
        return [(f, path, c.caller, c.line, c.col, c.end_col)
                for path, f, c in self._calls_by_path(name, kind)]

    def nav_callers(self, name: str) -> list[tuple[tuple, dict | None]]:
        """((file_id, path, caller, line, col, end_col), caller's definition row or None) for
        every direct call of ``name``; a call site appears once per definition of its caller in
        its file (``#ifdef`` variants), the caller's name index finds them."""
        keys = ("name", "signature", "line", "col", "end_line", "end_col", "name_line",
                "name_col", "name_end_col")
        out, defs = [], {}
        for path, f, c in self._calls_by_path(name, "direct"):
            site = (f, path, c.caller, c.line, c.col, c.end_col)
            if c.caller is None:
                out.append((site, None))
                continue
            if (f, c.caller) not in defs:
                defs[(f, c.caller)] = [{"path": path, "file_id": f, **dict(zip(keys, r, strict=True))}
                                       for r in self.conn.execute(
                    "SELECT name, signature, line, col, end_line, end_col, name_line, name_col, "
                    "name_end_col FROM functions WHERE name=? "  # ``+``: by the name index
                    "AND +file_id=? AND is_definition = 1 AND parent IS NULL ORDER BY id",
                    (c.caller, f))]
            out += [(site, row) for row in defs[(f, c.caller)] or [None]]
        return out

    def nav_call_counts(self, name: str, only_file: int | None,
                        except_files: set[int]) -> tuple[int, int]:
        """(call sites, distinct calling functions) of direct calls to ``name``."""
        calls = [(f, c) for f, c in self.packed_named("calls", [name], "direct")
                 if (f == only_file if only_file is not None else f not in except_files)]
        return len(calls), len({(f, c.caller or "") for f, c in calls})

    def nav_calls_from(self, file_id: int, caller: str, first: int, last: int) -> list[tuple]:
        """(callee, line, col, end_col) of direct calls made by ``caller`` between two lines."""
        return self.conn.execute(
            "SELECT callee, line, col, end_col FROM calls WHERE file_id=? AND caller=? "
            "AND kind='direct' AND line BETWEEN ? AND ? ORDER BY start_byte",
            (file_id, caller, first, last)).fetchall()

    def nav_var_uses(self, name: str) -> list[tuple]:
        """(path, line, col, end_col) of the recorded uses of identifier ``name``, by file id
        and place."""
        uses = self.packed_places("var_uses", [name])
        paths = self._paths_of({u[0] for u in uses})
        return [(paths[f], *place) for f, *place in uses]

    def nav_type_uses(self, name: str, kind: str | None) -> list[tuple]:
        """(path, line, col, end_col) of the recorded uses of type ``name`` (of ``kind``), by
        file id and place."""
        uses = self.packed_places("type_uses", [name], kind)
        paths = self._paths_of({u[0] for u in uses})
        return [(paths[f], *place) for f, *place in uses]

    # -- workspace symbols -------------------------------------------------------------------
    def nav_symbols_prefix(self, prefix: str, limit: int) -> list[tuple]:
        """(name, kind, path, line, col, end_line, end_col) of definitions whose name starts with
        ``prefix`` (case-sensitive, through the name indexes), by name."""
        out: list[tuple] = []
        low, high = schema.key_range(prefix)
        for table, kind, where, pos in _SYMBOL_TABLES:
            # a keyed table (macros) walks its keys in order: by name for the first five bytes
            keys, order = (("x.name_key BETWEEN ?3 AND ?4 AND ", "x.name_key")
                           if table in schema.KEYED else ("", "x.name"))
            out += self.conn.execute(
                f"SELECT x.name, {kind}, fl.path, {pos} FROM {table} x "
                f"JOIN files fl ON fl.id = x.file_id WHERE {keys}x.name >= ?1 "
                f"AND x.name < ?2 AND {where} ORDER BY {order} LIMIT ?5",
                (prefix, prefix + "\uffff", low, high, limit)).fetchall()
        out += self._plain_symbols(self.plain_macros_prefix(prefix, limit))
        out.sort(key=lambda r: r[0])
        return out[:limit]

    def nav_symbols_named(self, name: str, with_macros: bool = False) -> list[tuple]:
        """Like ``nav_symbols_prefix`` for one exact name."""
        out: list[tuple] = []
        for table, kind, where, pos in _SYMBOL_TABLES:
            if table == "macros" and not with_macros:
                continue
            match = schema.named("x") if table in schema.KEYED else "x.name = ?1"
            out += self.conn.execute(
                f"SELECT x.name, {kind}, fl.path, {pos} FROM {table} x "
                f"JOIN files fl ON fl.id = x.file_id WHERE {match} AND {where}",
                (name,)).fetchall()
        if with_macros:
            out += self._plain_symbols(self.plain_macros_named([name]))
        return out

    def _plain_symbols(self, plain: list) -> list[tuple]:
        """``nav_symbols_prefix`` rows of plain macros, (file_id, PlainMacro) pairs."""
        paths = self._paths_of(fid for fid, _m in plain)
        return [(m.name, "macro", paths[fid], m.line, m.col, m.line, m.end_col)
                for fid, m in plain]

    def nav_name_list(self) -> tuple[str, str]:
        """(names, ASCII-lower-cased names): the distinct names of functions, types and variables,
        newline-separated with a leading newline, for substring search.

        Built once and kept on the model; a changed database rebuilds it when the list is older
        than ``NAME_CACHE_SECONDS`` (new names are still found by prefix meanwhile).
        """
        key = (self.conn.execute("PRAGMA data_version").fetchone()[0], self.conn.total_changes)
        cached = getattr(self, "_nav_names", None)
        if cached is not None and (cached[0] == key or
                                   time.monotonic() - cached[1] < NAME_CACHE_SECONDS):
            return cached[2]
        names: set[str] = set()
        for table in ("functions", "types", "variables"):
            names.update(r[0] for r in self.conn.execute(f"SELECT DISTINCT name FROM {table}"))
        blob = "\n" + "\n".join(sorted(names))
        value = (blob, blob.translate(ASCII_LOWER))  # same offsets
        self._nav_names = (key, time.monotonic(), value)
        return value

    # -- completion, signature help and rename -----------------------------------------------
    def nav_file_names(self, file_ids: list[int]) -> list[tuple]:
        """(file_id, name, kind, detail, start_byte) of every file-scope declaration of
        ``file_ids``: functions (detail: the signature), struct/union/enum tags and typedefs,
        variables (detail: the type), macros (``macro`` or ``macro()``) and enumerators (detail:
        the enum), through the file indexes."""
        out: list[tuple] = []
        for sql in (
            "SELECT file_id, name, 'function', signature, start_byte FROM functions "
            "WHERE parent IS NULL AND file_id IN ({})",
            "SELECT file_id, name, kind, underlying_name, start_byte FROM types "
            "WHERE file_id IN ({})",
            "SELECT file_id, name, 'variable', type_name, start_byte FROM variables "
            "WHERE file_id IN ({})",
            "SELECT file_id, name, CASE WHEN params IS NULL THEN 'macro' ELSE 'macro()' END, "
            "params, start_byte FROM macros WHERE file_id IN ({})",
            "SELECT t.file_id, json_extract(m.value, '$[0]'), 'enumerator', t.name, t.start_byte "
            "FROM types t, json_each(t.members) m WHERE t.kind = 'enum' AND t.members IS NOT "
            "NULL AND t.file_id IN ({})",
        ):
            out += self._for_files(sql, file_ids)
        out += [(fid, m.name, "macro", None, m.start_byte)
                for fid, m in self.plain_macros_in(file_ids)]
        return out

    def nav_files_naming(self, name: str, tag: str | None) -> list[str]:
        """Paths of the files whose facts name function ``name`` (``tag`` None) or the
        struct/union/enum ``tag`` ``name``: declarations, calls, uses, exports, file-scope macro
        invocations and function-like macro bodies (the candidates a rename reads)."""
        if tag is None:
            sources = [
                ("SELECT file_id FROM functions WHERE name=? AND parent IS NULL", (name,)),
                ("SELECT file_id FROM functions WHERE name=?", (name,)),
                ("SELECT file_id FROM variables WHERE name=?", (name,)),
                ("SELECT file_id FROM exports WHERE name=?", (name,))]
        else:
            sources = [("SELECT file_id FROM types WHERE name=? AND kind=?", (name, tag))]
        sources += [("SELECT file_id FROM macros WHERE instr(body, ?) > 0", (name,)),
                    ("SELECT file_id FROM invocations WHERE instr(args, ?) > 0", (name,))]
        ids: set[int] = set()
        if tag is None:
            ids |= self.packed_files("calls", [name], "direct")
            ids |= self.packed_files("var_uses", [name])
        else:
            ids |= self.packed_files("type_uses", [name], tag)
        for sql, args in sources:
            ids.update(r[0] for r in self.conn.execute(sql, args))
        if not ids:
            return []
        return sorted(r[0] for r in self._for_files("SELECT path FROM files WHERE id IN ({})",
                                                    sorted(ids)))

    def nav_file_stamp(self, path: str) -> tuple[int | None, int | None] | None:
        """(size, mtime_ns) the model recorded for ``path``; None when it is not indexed."""
        row = self.conn.execute("SELECT size, mtime_ns FROM files WHERE path=?",
                                (path,)).fetchone()
        return tuple(row) if row else None

    # -- patch review ----------------------------------------------------------------------
    def nav_function_at(self, path: str, line: int) -> str | None:
        """Name of the function definition of ``path`` whose lines hold 0-based ``line``."""
        row = self.conn.execute(
            "SELECT f.name FROM functions f JOIN files fl ON fl.id = f.file_id WHERE fl.path=? "
            "AND f.is_definition = 1 AND f.line <= ? AND f.end_line >= ? ORDER BY f.line DESC "
            "LIMIT 1", (path, line, line)).fetchone()
        return row[0] if row else None

    def nav_includer_closure(self, paths: list[str], limit: int) -> list[str]:
        """Paths of the files that include one of ``paths`` directly or through other headers
        (at most ``limit``; ``paths`` themselves excluded)."""
        ids = {r[0] for r in self._for_files("SELECT id FROM files WHERE path IN ({})", paths)}
        seen, todo = set(ids), list(ids)
        while todo and len(seen) - len(ids) < limit:
            batch, todo = todo[:500], todo[500:]
            for (fid,) in self._for_files("SELECT DISTINCT file_id FROM includes WHERE "
                                          "resolved_id IN ({})", batch):
                if fid not in seen:
                    seen.add(fid)
                    todo.append(fid)
        found = sorted(seen - ids)[:limit]
        return sorted(r[0] for r in self._for_files("SELECT path FROM files WHERE id IN ({})",
                                                    found))

    def nav_files_using(self, names: dict[str, set[str]], limit: int) -> set[str]:
        """Paths of the files that declare or use the ``names`` (name -> kinds: ``f``
        function, ``v`` variable, ``t`` type, ``m`` macro), through the name indexes only."""
        by_kind = {
            "f": ("SELECT file_id FROM functions WHERE name IN ({})",
                  _CALLEE_FILES,
                  _VAR_FILES),
            "v": ("SELECT file_id FROM variables WHERE name IN ({})",
                  _VAR_FILES),
            "t": ("SELECT file_id FROM types WHERE name IN ({})",
                  _TYPE_FILES),
            "m": ("WITH w(n) AS (SELECT value FROM json_each(json_array({}))) SELECT file_id "
                  f"FROM macros WHERE name_key IN (SELECT {schema.KEY_FUNCTION}(n) FROM w) "
                  "AND name IN (SELECT n FROM w)",
                  _CALLEE_FILES,
                  "SELECT file_id FROM invocations WHERE name IN ({})",
                  _TYPE_FILES),
        }
        ids: set[int] = {fid for fid, _m in self.plain_macros_named(
            n for n, kinds in names.items() if "m" in kinds)}
        for kind, queries in by_kind.items():
            wanted = sorted(n for n, kinds in names.items() if kind in kinds)
            for sql in queries if wanted else ():
                ids.update(r[0] for r in self._for_files(sql, wanted))
                if len(ids) >= limit:
                    break
        return {r[0] for r in self._for_files("SELECT path FROM files WHERE id IN ({})",
                                              sorted(ids)[:limit])}
