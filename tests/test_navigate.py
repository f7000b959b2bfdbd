"""Navigation over an indexed model of the fixture tree: hover, definitions, declarations,
references, workspace symbols and the call hierarchy, with expectations read from the sources."""

from __future__ import annotations

import re
import shutil
import sqlite3

import pytest

from kernel_lsp.config import load_config
from kernel_lsp.model import plainmacros, schema
from kernel_lsp.model.indexer import index
from kernel_lsp.model.store import Model
from kernel_lsp.navigate import (
    SymbolAt,
    call_item,
    declarations,
    definitions,
    hover,
    incoming_calls,
    outgoing_calls,
    references,
    symbol_at,
    workspace_symbols,
)
from tests.conftest import TREE, uncut, unintern, unpack_list, unshare

MAIN = "drivers/misc/blinker/blinker_main.c"
HEADER = "drivers/misc/blinker/blinker.h"
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def sym(name: str, kind: str) -> SymbolAt:
    return SymbolAt(name, kind, None)  # span is not used by the model queries


def sources() -> dict[str, str]:
    """Every C file of the fixture with comments blanked (line numbers kept)."""
    out = {}
    for p in sorted(TREE.rglob("*.[ch]")):
        text = p.read_text()
        out[p.relative_to(TREE).as_posix()] = _COMMENT.sub(
            lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    return out


def occurrences(pattern: str) -> set[tuple[str, int, int]]:
    """(path, line, column of group 1) of every match in the fixture sources."""
    found = set()
    for path, text in sources().items():
        for m in re.finditer(pattern, text, re.M):
            line = text.count("\n", 0, m.start(1))
            found.add((path, line, m.start(1) - (text.rfind("\n", 0, m.start(1)) + 1)))
    return found


def definition_lines(name: str) -> set[tuple[str, int]]:
    """Lines defining function ``name``: its name followed by a parameter list and, on a later
    line, the opening brace of a body (the fixture's kernel style)."""
    out = set()
    for path, text in sources().items():
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if re.match(rf"^\w[^;=(]*\b{name}\(", line) and not line.startswith("#") and (
                    i + 1 < len(lines) and lines[i + 1].startswith("{") or line.endswith("{")):
                out.add((path, i))
    return out


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("nav") / "tree"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    config, _ = load_config(root)
    m = index(config, jobs=1).model
    yield m
    m.close()


# -- definitions, declarations, references ------------------------------------------------------
def test_function_definition_declaration_and_references(model):
    (def_path, def_line), = definition_lines("kfree")
    got = definitions(model, sym("kfree", "call"), "fs/open.c")
    assert [(x.path, x.line) for x in got] == [(def_path, def_line)]
    protos = occurrences(r"^void (kfree)\(const void \*objp\);")
    assert {(x.path, x.line, x.col) for x in declarations(model, sym("kfree", "call"),
                                                          "fs/open.c")} == protos
    calls = occurrences(r"\b(kfree)\(") - protos - {(def_path, def_line, got[0].col)}
    refs = references(model, sym("kfree", "call"), include_declaration=False)
    assert {(x.path, x.line, x.col) for x in refs} == calls and len(refs) == len(calls)
    with_decl = references(model, sym("kfree", "call"), include_declaration=True)
    assert {(x.path, x.line) for x in with_decl} == {(p, ln) for p, ln, _ in calls} | {
        (p, ln) for p, ln, _ in protos} | {(def_path, def_line)}


def test_struct_definition_forward_declaration_and_uses(model):
    (path, line, col), = occurrences(r"^struct (blinker) \{")
    got = definitions(model, sym("blinker", "type:struct"), MAIN)
    assert [(x.path, x.line, x.col) for x in got] == [(path, line, col)]
    fwd = occurrences(r"^struct (blinker);")
    assert {(x.path, x.line, x.col) for x in declarations(
        model, sym("blinker", "type:struct"), MAIN)} == fwd
    refs = references(model, sym("blinker", "type:struct"), include_declaration=False)
    assert {x.path for x in refs} == {p for p, _, _ in occurrences(r"struct (blinker)\b \*")}


def test_variable_macro_and_typedef_definitions(model):
    for name, kind, pattern in (
            ("the_blinker", "var", r"^static struct blinker \*(the_blinker);"),
            ("BLINKER_MAX_PERIOD", "macro", r"^#define (BLINKER_MAX_PERIOD)\b"),
            ("blink_pattern_t", "type:typedef", r"^\} (blink_pattern_t);"),
            ("list_for_each_entry", "call", r"^#define (list_for_each_entry)\(")):
        expected = occurrences(pattern)
        got = definitions(model, sym(name, kind), MAIN)
        assert {(x.path, x.line, x.col) for x in got} == expected, name


def test_enumerators_and_members_go_to_their_type(model):
    (path, line, col), = occurrences(r"^enum (blink_state) \{")
    for name in re.findall(r"^\t(BLINK_\w+),", sources()[HEADER], re.M):
        got = definitions(model, sym(name, "macro"), MAIN)
        assert [(x.path, x.line, x.col) for x in got] == [(path, line, col)], name
        assert "`enum blink_state`" in hover(model, sym(name, "enumerator"), MAIN)
    owners = occurrences(r"^struct (\w+) \{\n(?:\t[^\n]*\n)*?\t[^\n]*\block;")
    got = definitions(model, sym("lock", "field"), MAIN)
    visible = {o for o in owners if o[0] in (HEADER, MAIN)}
    assert visible and {(x.path, x.line, x.col) for x in got} >= visible
    assert "visible here" in hover(model, sym("lock", "field"), MAIN)


def test_include_resolves_to_the_indexed_header(model):
    for target, expected in (("linux/slab.h", "include/linux/slab.h"), ("blinker.h", HEADER)):
        got = definitions(model, sym(target, "include"), MAIN)
        assert [(x.path, x.line, x.col) for x in got] == [(expected, 0, 0)]
        assert f"`{expected}`" in hover(model, sym(target, "include"), MAIN)
    includers = occurrences(r'^#include (")blinker\.h"')
    refs = references(model, sym("blinker.h", "include"), False)
    assert {(x.path, x.line) for x in refs} == {(p, ln) for p, ln, _ in includers}
    assert definitions(model, sym("linux/nowhere.h", "include"), MAIN) == []


def test_symbol_at_then_definition_from_the_buffer(model):
    src = (TREE / MAIN).read_bytes()
    line = src.split(b"\n").index(b"\tmutex_lock(&blinker_mutex);")
    at = symbol_at(MAIN, src, None, line, 3)
    assert (at.name, at.kind) == ("mutex_lock", "call")
    (def_path, def_line), = definition_lines("mutex_lock")
    assert [(x.path, x.line) for x in definitions(model, at, MAIN)] == [(def_path, def_line)]
    protos = occurrences(r"^extern void (mutex_lock)\(")
    assert {(x.path, x.line) for x in declarations(model, at, MAIN)} == {
        (p, ln) for p, ln, _ in protos}


# -- hover ------------------------------------------------------------------------------------
def test_hover_of_a_function_tells_level_scope_signature_place_and_callers(model):
    text = hover(model, sym("kfree", "call"), "fs/open.c")
    (def_path, def_line), = definition_lines("kfree")
    signature = sources()[def_path].split("\n")[def_line].strip()
    assert "*func* (2)" in text and "global scope" in text
    assert f"```c\n{signature}\n```" in text
    assert f"`{def_path}:{def_line + 1}` (1 definition)" in text
    calls = occurrences(r"^[ \t]+.*\b(kfree)\(")  # indented: inside a body
    callers = incoming_calls(model, call_item(model, sym("kfree", "call"), "fs/open.c")[0])
    assert f"Called from {len(callers)} functions at {len(calls)} call sites" in text


def test_hover_of_a_struct_counts_its_members(model):
    text = hover(model, sym("blinker", "type:struct"), MAIN)
    body = sources()[HEADER].split("struct blinker {")[1].split("};")[0]
    members = [ln for ln in body.split("\n") if ln.strip()]
    (path, line, _), = occurrences(r"^struct (blinker) \{")
    assert "*struct* (3)" in text and f"{len(members)} members" in text
    assert f"`{path}:{line + 1}`" in text


def test_hover_of_macros_variables_and_statics(model):
    text = hover(model, sym("BLINKER_MAX_PERIOD", "macro"), MAIN)
    value = re.search(r"#define BLINKER_MAX_PERIOD\s+(\S+)", sources()[MAIN]).group(1)
    assert f"#define BLINKER_MAX_PERIOD {value}" in text
    text = hover(model, sym("list_for_each_entry", "call"), MAIN)
    assert "#define list_for_each_entry(pos, head, member)" in text
    text = hover(model, sym("the_blinker", "var"), MAIN)
    assert "static struct blinker *the_blinker;" in text and "file scope" in text
    static = hover(model, sym("blinker_open", "func"), MAIN)
    assert f"static: file scope (`{MAIN}`)" in static


# -- call hierarchy ---------------------------------------------------------------------------
def test_incoming_calls_are_the_enclosing_functions_of_the_call_sites(model):
    item, = call_item(model, sym("kfree", "call"), MAIN)
    (def_path, def_line), = definition_lines("kfree")
    assert (item.path, item.selection.line, item.kind) == (def_path, def_line, "function")
    callers = incoming_calls(model, item)
    sites = {(x.path, x.line, x.col) for _, locs in callers for x in locs}
    assert sites == occurrences(r"^[ \t]+.*\b(kfree)\(")
    text = sources()
    for caller, locs in callers:
        for x in locs:  # the call sites lie inside the caller's body
            assert caller.range.line <= x.line <= caller.range.end_line
        # the selection is the name, or the macro invocation that generated the function
        head = text[caller.path].split("\n")[caller.selection.line]
        assert head.startswith(caller.detail.split("(")[0])
        assert head[caller.selection.col:caller.selection.end_col] == caller.name or (
            caller.detail.startswith("SYSCALL_DEFINE"))


def test_outgoing_calls_resolve_to_definitions_and_skip_macros(model):
    item, = call_item(model, sym("blinker_open", "func"), MAIN)
    lines = sources()[MAIN].split("\n")[item.range.line + 1:item.range.end_line + 1]
    called = set(re.findall(r"\b([a-z_]\w*)\(", "\n".join(lines))) - {"sizeof", "if", "return"}
    macros = {n for t in sources().values() for n in re.findall(r"^#define (\w+)\(", t, re.M)}
    got = outgoing_calls(model, item)
    assert {callee.name for callee, _ in got} == called - macros
    for callee, locs in got:
        assert (callee.path, callee.selection.line) in definition_lines(callee.name)
        assert all(item.range.line <= x.line <= item.range.end_line for x in locs)


STATICS = {
    "Kconfig": "",
    "include/linux/helper.h": "int helper(int x);\n",
    "lib/helper.c": "#include <linux/helper.h>\nint helper(int x)\n{\n\treturn x;\n}\n",
    "fs/a.c": "static int helper(int x)\n{\n\treturn x + 1;\n}\n\n"
              "int a_user(void)\n{\n\treturn helper(1);\n}\n",
    "fs/b.c": "static int helper(int x)\n{\n\treturn x + 2;\n}\n\n"
              "int b_user(void)\n{\n\treturn helper(2) + helper(3);\n}\n",
    "fs/c.c": "#include <linux/helper.h>\n\nint c_user(void)\n{\n\treturn helper(4);\n}\n",
}


@pytest.fixture(scope="module")
def statics(tmp_path_factory):
    root = tmp_path_factory.mktemp("statics")
    for rel, text in STATICS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    config, _ = load_config(root)
    m = index(config, jobs=1).model
    yield m
    m.close()


def test_static_namesakes_resolve_to_the_same_file(statics):
    helper = sym("helper", "call")
    for path in ("fs/a.c", "fs/b.c"):
        # its own first, the global one after, the other file's static not at all
        assert [x.path for x in definitions(statics, helper, path)] == [path, "lib/helper.c"]
        item, = call_item(statics, helper, path)
        callers = incoming_calls(statics, item)
        assert [c.name for c, _ in callers] == [f"{path[3]}_user"]
        assert sum(len(locs) for _, locs in callers) == STATICS[path].count("helper(") - 1
        assert f"`{path}`" in hover(statics, helper, path)
    # the global one: callers in files without a static namesake only
    item, = call_item(statics, helper, "fs/c.c")
    assert item.path == "lib/helper.c"
    assert [c.name for c, _ in incoming_calls(statics, item)] == ["c_user"]
    for user, path in (("a_user", "fs/a.c"), ("c_user", "fs/c.c")):
        caller, = call_item(statics, sym(user, "func"), path)
        (callee, _), = outgoing_calls(statics, caller)
        assert callee.path == (path if path != "fs/c.c" else "lib/helper.c")
    # from a file that sees none of them the global one comes first, statics are left out
    assert [x.path for x in definitions(statics, helper, "lib/other.c")] == ["lib/helper.c"]


# -- workspace symbols ------------------------------------------------------------------------
def test_workspace_symbols_prefix_then_substring(model):
    defined = {n for t in sources().values()
               for n in re.findall(r"^(?:static )?(?:int|void) (blinker_\w+)\(.*\)$", t, re.M)}
    got = workspace_symbols(model, "blinker_")
    assert defined <= {s.name for s in got}
    assert all("blinker_" in s.name.lower() for s in got)
    starts = [s.name.lower().startswith("blinker_") for s in got]
    assert starts == sorted(starts, reverse=True)  # prefix matches, then substring matches
    assert "trace_blinker_toggle" in {s.name for s in got}
    exact = [s.name for s in got if s.name.startswith("blinker_")]
    assert [s.name for s in got[:len(exact)]] == sorted(exact)  # case-sensitive prefix first
    sub = workspace_symbols(model, "PATTERN")
    assert {"blink_pattern_t", "blinker_apply_pattern"} <= {s.name for s in sub}
    assert all("pattern" in s.name.lower() for s in sub)
    first = next(s for s in sub if s.name == "blink_pattern_t")
    (path, line, col), = occurrences(r"^\} (blink_pattern_t);")
    assert (first.kind, first.container, first.location.line, first.location.col) == (
        "typedef", path, line, col)
    assert len(workspace_symbols(model, "b", limit=3)) == 3
    assert workspace_symbols(model, "") == [] and workspace_symbols(model, "zz_no_such") == []


# -- robustness -------------------------------------------------------------------------------
def test_unknown_names_and_an_empty_model_give_nothing(model, fresh_model):
    empty = fresh_model
    for m in (model, empty):
        for kind in ("call", "func", "var", "macro", "field", "type:struct", "type:typedef",
                     "include", "local", "enumerator", "type:base"):
            s = sym("no_such_symbol_anywhere", kind)
            assert definitions(m, s, MAIN) == [] and declarations(m, s, MAIN) == []
            assert references(m, s, True) == [] and call_item(m, s, MAIN) == []
            assert kind in ("include", "local", "type:base") or hover(m, s, MAIN) is None
        assert workspace_symbols(m, "no_such") == []
    for m in (model, empty):
        assert hover(m, None, MAIN) is None and definitions(m, None, MAIN) == []
    stale = call_item(model, sym("kfree", "call"), MAIN)[0]
    assert incoming_calls(empty, stale) == [] and outgoing_calls(empty, stale) == []


def _downgrade(db, to_version: int) -> None:
    """Turn a fresh model into one of schema ``to_version`` (undo the later migrations)."""
    conn = sqlite3.connect(db)
    for version in range(schema.SCHEMA_VERSION, to_version, -1):
        if version == 21:  # a header's includers through an index of resolved_id alone
            conn.execute("DROP INDEX idx_includes_resolved_id_file_id_start_byte")
            conn.execute("CREATE INDEX idx_includes_resolved_id ON includes(resolved_id)")
            continue
        if version == 20:  # functions' names and signatures as text
            uncut(conn)
            continue
        if version == 19:  # hidden rows without the end of their branch
            rows = conn.execute("SELECT file_id, name, kind, start_byte, line, col, end_col "
                                "FROM hidden").fetchall()
            conn.execute("DROP TABLE hidden")
            conn.execute(schema.MIGRATIONS[5][0])
            conn.executemany("INSERT INTO hidden VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            for statement in schema.MIGRATIONS[5][1:]:
                conn.execute(statement)
            continue
        if version == 18:  # functions a table of their own, their parameter lists as text
            unshare(conn)
            continue
        if version in (15, 16):  # calls, type uses a row each
            unpack_list(conn, "calls" if version == 15 else "type_uses")
            continue
        if version == 17:  # variable uses a row each, by an index of their names
            unpack_list(conn, "var_uses")
            conn.execute("DROP TABLE var_name_files")
            conn.execute("CREATE INDEX idx_var_uses_name ON var_uses_interned(name)")
            continue
        if version == 14:  # calls by callee and type uses by name through indexes of the column
            for table in ("calls", "type_uses"):
                column, pairs = schema.NAME_FILES[table]
                conn.execute(f"DROP TABLE {pairs}")
                conn.execute(f"CREATE INDEX idx_{table}_{column} ON {table}_interned({column})")
            continue
        if version == 13:  # plain macros a row each, as the others
            for file_id, names, places in conn.execute(
                    "SELECT file_id, names, places FROM macro_lists").fetchall():
                conn.executemany(
                    "INSERT INTO macros (file_id, name, start_byte, line, col, end_col, name_key) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(file_id, m.name, m.start_byte, m.line, m.col, m.end_col,
                      schema.name_key(m.name)) for m in plainmacros.unpack(names, places)])
            conn.execute("DROP TABLE macro_lists")
            conn.execute("DROP TABLE macro_keys")
            continue
        if version == 12:  # calls without the enclosing call of an argument
            conn.execute("DROP VIEW calls")
            conn.execute("CREATE VIEW calls AS " + schema.interned_view(
                "calls", schema.CALL_VIA_COLUMNS))
            for column in schema.CALL_VIA_COLUMNS:
                conn.execute(f"ALTER TABLE calls_interned DROP COLUMN {column}")
            continue
        if version == 11:  # macros by the index of their names; member_names with a rowid
            conn.execute("DROP INDEX idx_macros_name_key")
            conn.execute("ALTER TABLE macros DROP COLUMN name_key")
            conn.execute("CREATE INDEX idx_macros_name ON macros(name)")
            for name in schema.TRIGGERS:
                conn.execute(f"DROP TRIGGER {name}")
            conn.execute("CREATE TABLE member_names_10 (name TEXT NOT NULL, enum INTEGER NOT "
                         "NULL, n INTEGER NOT NULL, UNIQUE (name, enum))")
            conn.execute("INSERT INTO member_names_10 SELECT * FROM member_names")
            conn.execute("DROP TABLE member_names")
            conn.execute("ALTER TABLE member_names_10 RENAME TO member_names")
            for sql in schema.TRIGGERS.values():
                conn.execute(sql)
            continue
        if version == 7:
            unintern(conn)
            continue
        if version in (9, 10):  # the view names the columns: drop it, make the older one again
            added = schema.VIA_COLUMNS if version == 9 else schema.DROPS_COLUMNS
            conn.execute("DROP VIEW type_uses")
            conn.execute("CREATE VIEW type_uses AS " + schema.interned_view(
                "type_uses", schema.DROPS_COLUMNS + (added if version == 9 else ())))
            for column in added:
                conn.execute(f"ALTER TABLE type_uses_interned DROP COLUMN {column}")
            continue
        for sql in reversed(schema.MIGRATIONS[version]):  # undo in reverse order
            words = sql.split()
            if sql.startswith("CREATE INDEX"):
                conn.execute("DROP INDEX " + sql.split(" IF NOT EXISTS ")[1].split(" ON ")[0])
            elif words[:2] == ["CREATE", "TRIGGER"]:
                conn.execute(f"DROP TRIGGER {words[5]}")
            elif words[:2] == ["CREATE", "TABLE"]:
                conn.execute(f"DROP TABLE {words[5]}")
            elif sql.startswith("ALTER TABLE"):
                table, column = sql.split()[2], sql.split()[5]
                conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute(f"UPDATE meta SET value='{to_version}' WHERE key='schema_version'")
    conn.commit()
    conn.close()


def _use_rows(m: Model) -> dict[str, list[tuple]]:
    """Every row of the interned tables, each file's in the order the checks read them."""
    ids = sorted(m.file_paths())
    return {t: list(m.facts_in(t, ids)) for t in schema.INTERNED}


def _kfree_callers(m: Model) -> list[tuple]:
    return m.conn.execute("SELECT file_id, caller, line FROM calls WHERE callee='kfree' "
                          "ORDER BY 1, 3").fetchall()


def test_a_version_6_model_keeps_every_row_when_its_names_are_interned(tmp_path):
    root = tmp_path / "tree"
    shutil.copytree(TREE, root)
    index(load_config(root)[0], jobs=1).model.close()
    db = root / ".kernel-lsp/model.db"
    m = Model(db)
    before, callers, macros = _use_rows(m), _kfree_callers(m), m.macro_rows()
    functions = m.conn.execute("SELECT * FROM functions ORDER BY id").fetchall()
    n_plain = m.plain_macro_count()
    m.close()
    assert all(before.values()) and callers
    assert 0 < n_plain < len(macros)  # some macros are plain (version 13), some are not
    assert any(u.via_macro for _fid, u in before["type_uses"])
    # version 6 has no column for a use's macro (version 9): those values are not kept
    before["type_uses"] = [(fid, u._replace(via_macro=None, via_arg=None, via_type=None))
                           for fid, u in before["type_uses"]]
    assert any(c.via_macro for _fid, c in before["calls"])  # nor for a call's (version 12)
    before["calls"] = [(fid, c._replace(via_macro=None, via_arg=None, via_args=None))
                       for fid, c in before["calls"]]
    _downgrade(db, 6)
    plain = sqlite3.connect(db)
    assert {r[0] for r in plain.execute("SELECT name FROM sqlite_master WHERE type='table'")
            } >= {"calls", "type_uses", "var_uses"}
    plain.close()
    m = Model(db)
    try:
        assert m.schema_version() == schema.SCHEMA_VERSION
        assert m.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0  # compacted
        assert _use_rows(m) == before and _kfree_callers(m) == callers
        assert m.conn.execute("SELECT * FROM functions ORDER BY id").fetchall() == functions
        assert any(f[schema.columns("functions").index("params")] != "[]" for f in functions)
        assert m.conn.execute("SELECT count(*) FROM param_lists").fetchone()[0] == len(
            {f[schema.columns("functions").index("params")] for f in functions})
        assert m.macro_rows() == macros and m.plain_macro_count() == n_plain
        for table, (column, pairs) in schema.NAME_FILES.items():  # the docs' query by name
            sql = (f"SELECT file_id FROM {table} u WHERE u.file_id IN (SELECT p.file_id FROM "
                   f"{pairs} p JOIN names n ON n.id = p.{column} WHERE n.name = ?) "
                   f"AND u.{column} = ?")
            steps = [r[3] for r in m.conn.execute("EXPLAIN QUERY PLAN " + sql,
                                                    ("kfree", "kfree"))]
            plan = " ".join(steps)  # no table read whole (a calls list's rows are the
            # scan of a ``json_each``, version 15)
            assert "SEARCH p USING PRIMARY KEY" in plan, plan
            assert not [s for s in steps if "SCAN" in s and "VIRTUAL TABLE" not in s], plan
        assert m.conn.execute("SELECT count(*) FROM callee_files").fetchone()[0] == len(
            {(fid, c.callee) for fid, c in before["calls"]})
    finally:
        m.close()
    index(load_config(root)[0], jobs=1).model.close()  # the migrated model is indexed on as usual
    m = Model(db)
    try:
        assert _use_rows(m) == before and m.macro_rows() == macros
    finally:
        m.close()


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
                                     20])
def test_older_schemas_migrate_to_the_current_one(tmp_path, version):
    db = tmp_path / "model.db"
    Model(db).close()
    _downgrade(db, version)
    conn = sqlite3.connect(db)  # the pages of a model before version 17
    conn.execute("PRAGMA journal_mode=DELETE")
    if version < 17:
        conn.execute("PRAGMA page_size=4096")
        conn.execute("VACUUM")
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    conn.close()
    m = Model(db)
    try:
        assert m.schema_version() == schema.SCHEMA_VERSION == 21
        assert m.conn.execute("PRAGMA page_size").fetchone()[0] == schema.PAGE_SIZE == 16384
        assert m.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = {r[0] for r in m.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"idx_macros_name_key",
                "idx_invocations_name", "idx_hidden_name", "idx_hidden_file_id"} <= names
        assert not {"idx_calls_callee", "idx_type_uses_name"} & names  # version 14
        assert "idx_includes_resolved_id_file_id_start_byte" in names  # version 21
        assert "idx_includes_resolved_id" not in names
        assert "idx_var_uses_name" not in names  # version 17: through var_name_files
        tables = {r[0] for r in m.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"call_lists", "type_use_lists", "var_use_lists", "var_name_files"} <= tables
        assert not {"calls_interned", "type_uses_interned", "var_uses_interned"} & tables
        assert {"function_rows", "param_lists"} <= tables and "functions" not in tables  # 18
        plan = " ".join(str(r) for r in m.conn.execute(
            "EXPLAIN QUERY PLAN SELECT name FROM functions WHERE name = 'x'"))
        assert "idx_functions_name" in plan and "param_lists" not in plan, plan
        assert "idx_macros_name" not in names  # version 11: the names are not indexed again
        plan = " ".join(str(r) for r in m.conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM macros WHERE name_key = klsp_name_key('x') "
            "AND name = 'x'"))
        assert "idx_macros_name_key" in plan
        sql = m.conn.execute("SELECT sql FROM sqlite_master WHERE name='member_names'").fetchone()
        assert "WITHOUT ROWID" in sql[0]
        columns = {r[1] for r in m.conn.execute("PRAGMA table_info(files)")}
        assert {"inactive", "expanded"} <= columns
        calls = {r[1] for r in m.conn.execute("PRAGMA table_info(calls)")}  # the view
        assert set(schema.CALL_VIA_COLUMNS) <= calls  # version 12
        sql = m.conn.execute("SELECT sql FROM sqlite_master WHERE name='macro_keys'").fetchone()
        assert "WITHOUT ROWID" in sql[0]  # version 13
        assert "more" in {r[1] for r in m.conn.execute("PRAGMA table_info(type_uses)")}
        assert "guard" in {r[1] for r in m.conn.execute("PRAGMA table_info(includes)")}
        tables = {r[0] for r in m.conn.execute("SELECT name FROM sqlite_master")}
        assert {"member_names", "member_names_insert", "member_names_delete", "hidden"} <= tables
    finally:
        m.close()
