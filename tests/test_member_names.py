"""``member_names`` (schema 4): member and enumerator names by name, kept exact by triggers on
``types`` through every write (replace, remove, expansion), and built by the migration."""

from __future__ import annotations

import sqlite3

from kernel_lsp.model import schema
from kernel_lsp.model.rows import fact_rows
from kernel_lsp.model.store import Model
from kernel_lsp.parse.extract import extract
from tests.conftest import unintern, unpack_lists, unshare

A = b"""struct inode { int i_mode; long i_size; };
struct file { int f_mode; struct inode *f_inode; };
enum rw { READ, WRITE };
"""
B = b"""struct page { int i_mode; unsigned long flags; };
enum rw2 { READ, SYNC };
"""


def _from_scratch(model: Model) -> set[tuple[str, int, int]]:
    """What the triggers must hold, recomputed from the member lists."""
    import json

    counts: dict[tuple[str, int], int] = {}
    for kind, text in model.member_lists():
        for m in json.loads(text):
            key = (m[0], int(kind == "enum"))
            counts[key] = counts.get(key, 0) + 1
    return {(n, e, c) for (n, e), c in counts.items()}


def _table(model: Model) -> set[tuple[str, int, int]]:
    return {tuple(r) for r in model.conn.execute(
        "SELECT name, enum, n FROM member_names WHERE n > 0")}


def _put(model: Model, path: str, src: bytes) -> None:
    model.replace_file(path, fact_rows(extract(path, src)), size=len(src), mtime_ns=1, sha1=path)


def test_triggers_keep_the_names_exact(fresh_model):
    m = fresh_model
    _put(m, "a.h", A)
    _put(m, "b.h", B)
    assert _table(m) == _from_scratch(m)
    assert ("i_mode", 0, 2) in _table(m) and ("READ", 1, 2) in _table(m)
    assert m.is_member_name("f_inode", False) and not m.is_member_name("f_inode", True)
    assert m.is_member_name("SYNC", True) and not m.is_member_name("nothing", False)
    _put(m, "b.h", b"struct page { int flags; };\n")  # replaced: SYNC, i_mode in b.h go
    assert _table(m) == _from_scratch(m)
    assert not m.is_member_name("SYNC", True) and ("i_mode", 0, 1) in _table(m)
    m.remove_files(["a.h"])
    assert _table(m) == _from_scratch(m) == {("flags", 0, 1)}
    assert not m.is_member_name("i_mode", False)


def test_an_older_model_is_migrated_with_its_names(tmp_path):
    path = tmp_path / "model.db"
    m = Model(path)
    _put(m, "a.h", A)
    # make it look like a schema 3 database: no table, no triggers
    unshare(m.conn)  # schema 17: functions a table of their own
    unpack_lists(m.conn)  # schema 14: calls, type and variable uses a row each
    m.conn.execute("DROP VIEW type_uses")  # schema 8: the view first, then its columns
    m.conn.execute("CREATE VIEW type_uses AS "
                   + schema.interned_view("type_uses", schema.VIA_COLUMNS + schema.DROPS_COLUMNS))
    for column in schema.VIA_COLUMNS + schema.DROPS_COLUMNS:
        m.conn.execute(f"ALTER TABLE type_uses_interned DROP COLUMN {column}")
    m.conn.execute("ALTER TABLE includes DROP COLUMN guard")  # schema 7
    unintern(m.conn)  # schema 6
    m.conn.execute("DROP TRIGGER member_names_insert")
    m.conn.execute("DROP TRIGGER member_names_delete")
    m.conn.execute("DROP TABLE member_names")
    m.conn.execute("DROP TABLE hidden")  # schema 5
    m.conn.execute("ALTER TABLE type_uses DROP COLUMN more")  # schema 6
    m.conn.execute("DROP INDEX idx_macros_name_key")  # schema 10
    m.conn.execute("ALTER TABLE macros DROP COLUMN name_key")
    m.set_meta("schema_version", "3")
    m.close()
    m = Model(path)
    try:
        assert m.schema_version() == schema.SCHEMA_VERSION == 21
        assert m.hidden_kinds("anything") == set()  # the table of version 5 exists
        assert _table(m) == _from_scratch(m) and m.is_member_name("i_size", False)
        _put(m, "b.h", B)  # and the triggers work from now on
        assert _table(m) == _from_scratch(m)
    finally:
        m.close()
    names = {r[0] for r in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert names == set(schema.TRIGGERS)
