"""A file's calls, type uses and variable uses are one compressed list each (schema 15, 16
and 17, ``model/factlists.py``): packing gives every row back, the views ``calls``,
``type_uses`` and ``var_uses`` read the lists (in another client too, once it registers the
functions), and the by-file and by-name readers answer as the views do."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel_lsp.model import factlists, schema
from kernel_lsp.model.rows import fact_rows
from kernel_lsp.model.store import Model
from kernel_lsp.parse.extract import extract

CALLS = factlists.CALLS
USES = factlists.TYPE_USES

# (layout, rows): each row as the store packs it (names as ids, NULLs, texts)
ROUND_TRIPS = [
    (CALLS, []),
    (CALLS, [(5, 6, 1, 100, 3, 4, 9, None, None, None)]),
    (CALLS, [(None, 6, 1, 100, 3, 0, 2, None, None, None),  # no caller: a file-scope call
             (5, 7, 2, 90, 2, 1, 5, 8, 0, 3),  # before the previous one: a negative delta
             (5, 7, 2, 90, 2, 1, 5, 8, 1, 3)]),
    (CALLS, [(2 ** 40, 6, 1, 2 ** 33, 3, 4, 9, None, None, None)]),  # beyond 32 bits
    (USES, [(1, 2, None, None, 10, 1, 0, 3, 0, None, None, None, None, None),
            (1, 2, 3, 4, 30, 2, 4, 7, 1, "11:1 15:2", 9, 0, 1, 1),
            (5, 2, 3, None, 35, 2, 9, 12, 0, "", None, None, None, None),  # empty text
            (5, 2, 3, None, 36, 2, 10, 12, 0, "é ü", None, None, None, None)]),
]


@pytest.mark.parametrize(("layout", "rows"), ROUND_TRIPS)
def test_a_packed_list_gives_its_rows_back(layout, rows):
    data = layout.pack(rows)
    assert layout.unpack(data) == rows
    callee = layout.columns[1]  # callee, kind: an integer column
    for wanted in ({6}, {2}, {7, 2}, set()):
        assert layout.unpack_where(data, callee, wanted) == [r for r in rows if r[1] in wanted]


@pytest.mark.parametrize(("layout", "row", "says"), [
    (CALLS, (5, 6, 1, None, 3, 4, 9, None, None, None), "start_byte"),
    (CALLS, (5, 6, 1, 10, 3, -4, 9, None, None, None), "negative col"),
    (CALLS, (5, 6, 1, 10, 3), "columns"),
    (USES, (1, 2, None, None, 10, 1, 0, 3, 0, "a\0b", None, None, None, None), "NUL"),
    (CALLS, (2 ** 70, 6, 1, 10, 3, 4, 9, None, None, None), "64 bits"),
])
def test_a_row_that_cannot_be_packed_says_why(layout, row, says):
    with pytest.raises(ValueError, match=says):
        layout.pack([row])


def test_data_that_is_not_a_list_is_refused():
    for data in (b"", b"\x07abc", b"\x01not zlib"):
        with pytest.raises((ValueError, zlib.error)):
            CALLS.unpack(data)


A = b"""struct dev { int x; };
typedef unsigned int u32;
int counter;
#define WRAP(x) (x)
static int g(u32 v) { return v; }
int f(struct dev *d) { kfree(d); g(WRAP(h(d->x))); counter++; return ((struct dev *)d)->x; }
"""
B = b"struct dev;\nvoid b(struct dev *d) { kfree(d); kfree(d); }\n"


def _model(tmp_path) -> Model:
    m = Model(tmp_path / "model.db")
    for path, src in (("a.c", A), ("b.c", B)):
        m.replace_file(path, fact_rows(extract(path, src)), size=len(src), mtime_ns=1, sha1=path)
    return m


def _view(conn, table: str) -> list[tuple]:
    cols = ", ".join(("file_id", *schema.FACT_COLUMNS[table]))
    return conn.execute(f"SELECT {cols} FROM {table} ORDER BY file_id").fetchall()


def test_the_views_and_the_readers_agree_and_another_client_reads_the_views(tmp_path):
    m = _model(tmp_path)
    try:
        calls, uses = _view(m.conn, "calls"), _view(m.conn, "type_uses")
        variables = _view(m.conn, "var_uses")
        assert [r[2] for r in variables] == ["counter"]
        assert {r[2] for r in calls} >= {"kfree", "g", "h"}
        assert any(r[8] == "WRAP" for r in calls)  # via_macro: a names id, given back as text
        assert {(r[1], r[2]) for r in uses} >= {("dev", "struct"), ("u32", "typedef")}
        ids = [m.file_id("a.c"), m.file_id("b.c")]
        assert [(f, *c) for f, c in m.packed_in("calls", ids)] == calls
        assert [(f, *u) for f, u in m.type_uses_in(ids)] == uses
        assert [(f, *u) for f, u in m.var_uses_in(ids)] == variables
        assert m.nav_var_uses("counter") == [("a.c", *variables[0][4:])]
        assert [(f, *c) for f, c in m.calls_in(ids)] == [r for r in calls if r[3] == "direct"]
        assert m.counts()["calls"] == len(calls) and m.counts()["type_uses"] == len(uses)
        kfree = [r for r in calls if r[2] == "kfree"]
        assert [(f, *c) for f, c in m.packed_named("calls", ["kfree"], "direct")] == kfree
        assert m.files_using_type("dev", "struct") == set(ids)
        assert m.design_used_type_names() == sorted({(r[1], r[2]) for r in uses})
        counted = dict(m.conn.execute("SELECT kind, count(*) FROM relationships GROUP BY kind"))
        assert m.relationship_counts() == counted  # from the lists, not through the view
        assert counted["Invocable"] == len([r for r in calls if r[3] == "direct"])
        assert counted["Accessible"] == len([r for r in uses if r[3]]) + 1  # and counter
    finally:
        m.close()
    conn = sqlite3.connect(tmp_path / "model.db")
    try:
        with pytest.raises(sqlite3.OperationalError, match="klsp_call_rows"):
            conn.execute("SELECT count(*) FROM calls").fetchone()
        factlists.register(conn)
        assert _view(conn, "calls") == calls and _view(conn, "type_uses") == uses
        assert _view(conn, "var_uses") == variables
    finally:
        conn.close()


def test_the_first_use_of_a_name_is_the_views_first_row(tmp_path):
    """``Model.first_use`` reads a file's packed list, not the view: the same answer for every
    name of every table, and for names and files the model lacks."""
    m = _model(tmp_path)
    try:
        asked = 0
        for what, table, column in (("call", "calls", "callee"), ("type", "type_uses", "name"),
                                    ("var", "var_uses", "name")):
            for path, name in m.conn.execute(
                    f"SELECT DISTINCT fl.path, u.{column} FROM {table} u JOIN files fl "
                    "ON fl.id = u.file_id"):
                want = m.conn.execute(
                    f"SELECT u.start_byte, u.line, u.col FROM {table} u JOIN files fl ON "
                    f"fl.id = u.file_id WHERE fl.path=? AND u.{column}=? ORDER BY u.start_byte "
                    "LIMIT 1", (path, name)).fetchone()
                assert m.first_use(path, name, what) == want
                asked += 1
        assert asked >= 9  # every (file, name) of the three tables
        assert m.first_use("a.c", "kfree", "call") == (A.index(b"kfree"), 5, A.split(b"\n")[5]
                                                        .index(b"kfree"))
        assert m.first_use("b.c", "kfree", "call")[1:] == (1, 24)  # the first of two
        assert m.first_use("a.c", "nowhere", "call") is None
        assert m.first_use("c.c", "kfree", "call") is None
        assert m.first_use("a.c", "dev", "call") is None  # a name, not a callee
    finally:
        m.close()


def test_sqlite_utils_and_datasette_read_the_views_through_kernel_lsps_plugin(tmp_path):
    m = _model(tmp_path)
    try:
        calls = _view(m.conn, "calls")
    finally:
        m.close()
    db = sqlite_utils.Database(tmp_path / "model.db")  # the plugin registers the functions
    try:
        assert _view(db.conn, "calls") == calls
    finally:
        db.close()
    cli = Path(sys.executable).with_name("sqlite-utils")
    proc = subprocess.run([str(cli), "query", str(tmp_path / "model.db"),
                           "select callee from calls where callee = 'kfree'"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"callee": "kfree"}] * 3
    datasette = Path(sys.executable).with_name("datasette")  # its plugin: the same hook
    proc = subprocess.run([str(datasette), str(tmp_path / "model.db"), "--get",
                           "/model.json?sql=select+count(*)+as+n+from+calls+where+callee"
                           "+%3D+'kfree'&_shape=array"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"n": 3}]


def test_a_file_written_again_or_appended_to_keeps_exactly_its_rows(tmp_path):
    m = _model(tmp_path)
    try:
        src = b"void f(void) { kfree(0); }\n"
        m.replace_file("a.c", fact_rows(extract("a.c", src)), size=len(src), mtime_ns=2,
                       sha1="a2")
        a = m.file_id("a.c")
        assert [c.callee for _, c in m.packed_in("calls", [a])] == ["kfree"]
        assert list(m.type_uses_in([a])) == []
        more = fact_rows(extract("a.c", b"void k(void) { g2(); }\n"))
        m.add_expansions([a], {a: {"calls": more["calls"]}})
        assert [c.callee for _, c in m.packed_in("calls", [a])] == ["kfree", "g2"]
        assert {c.callee for _, c in m.packed_named("calls", ["g2", "kfree"])} == {"g2", "kfree"}
        m.remove_files(["a.c"])
        assert list(m.packed_in("calls", [a])) == [] and m.packed_named("calls", ["g2"]) == []
    finally:
        m.close()


def _rows(layout):
    """Rows a layout packs: small or large non-negative ints or NULL, any int in a column of
    differences, any text without NUL (or NULL) in a text column."""
    def column(i):
        if i in layout.texts:
            return st.none() | st.text(alphabet=st.characters(blacklist_characters="\0",
                                                              blacklist_categories=("Cs",)))
        if i in layout.deltas:
            return st.integers(min_value=-2 ** 40, max_value=2 ** 40)
        return st.none() | st.integers(min_value=0, max_value=300) | st.integers(
            min_value=0, max_value=2 ** 50)
    return st.lists(st.tuples(*(column(i) for i in range(layout.width))), max_size=40)


@pytest.mark.parametrize("layout", [CALLS, USES, factlists.VAR_USES])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_rows_pack_and_come_back(layout, data):
    rows = data.draw(_rows(layout))
    packed = layout.pack(rows)
    assert layout.unpack(packed) == rows
    column = layout.columns[1]
    wanted = data.draw(st.sets(st.integers(min_value=0, max_value=300), max_size=3))
    assert layout.unpack_where(packed, column, wanted) == [r for r in rows if r[1] in wanted]
    assert layout.has_where(packed, column, wanted) == any(r[1] in wanted for r in rows)


# Texts that begin with the byte that marks a NULL text (Hypothesis drew "\x01": it came back
# as None); beside them, a NULL, an empty text and ordinary ones.
MARKED = [None, "\x01", "\x01abc", "\x01\x01", "", "kfree", "a\x01b"]


def test_a_text_that_starts_with_the_null_mark_comes_back():
    layout = USES  # (the one layout with a text column)
    assert layout.texts
    plain = next(i for i in layout.ints if i not in layout.deltas)  # a column of its own values
    rows = []
    for k, text in enumerate(MARKED):
        row = [k if i in layout.deltas or i == plain else 0 for i in range(layout.width)]
        for i in layout.texts:
            row[i] = text
        rows.append(tuple(row))
    packed = layout.pack(rows)
    assert layout.unpack(packed) == rows
    assert layout.unpack_where(packed, layout.columns[plain], {1, 2, 3}) == rows[1:4]
