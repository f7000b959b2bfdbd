"""The Model class: schema, versioning, atomic per-file replacement, foreign and corrupt files."""

from __future__ import annotations

import sqlite3

import pytest

from kernel_lsp.model import schema
from kernel_lsp.model.rows import fact_rows
from kernel_lsp.model.store import Model, ModelError
from kernel_lsp.parse.extract import extract

SRC = b"""#include <linux/types.h>
struct inode { int i_mode; int (*op)(struct inode *); };
static int helper(struct inode *i) { return i->i_mode; }
int vfs_thing(struct inode *i) { return helper(i); }
"""


@pytest.fixture
def model(fresh_model):
    return fresh_model


def test_fresh_model_has_schema_version_and_views(model):
    assert model.schema_version() == schema.SCHEMA_VERSION
    assert {"level_types", "relationships"} <= set(model.db.view_names())


def test_replace_file_is_complete_and_replaces(model):
    rows = fact_rows(extract("fs/inode.c", SRC))
    fid = model.replace_file("fs/inode.c", rows, size=len(SRC), mtime_ns=1, sha1="a")
    counts = model.counts()
    assert counts["functions"] == 2 and counts["calls"] == 1 and counts["types"] == 1
    # the same file again: replaced, not duplicated
    assert model.replace_file("fs/inode.c", rows, size=len(SRC), mtime_ns=2, sha1="b") == fid
    assert model.counts()["functions"] == 2
    rels = model.relationship_counts()
    assert rels["FuncFile"] == 2 and rels["Invocable"] == 1 and rels["FuncStruct"] == 1
    assert rels["ParamIn"] == 2 and rels["Agg"] >= 2
    levels = model.level_counts()
    assert levels["func"] == 2 and levels["struct"] == 1 and levels["subsys"] == 1


def test_remove_files_forgets_everything(model):
    model.replace_file("fs/inode.c", fact_rows(extract("fs/inode.c", SRC)), size=1, mtime_ns=1,
                       sha1="a")
    assert model.remove_files(["fs/inode.c", "not/there.c"]) == 1
    counts = model.counts()
    assert counts["files"] == 0 and counts["functions"] == 0 and counts["calls"] == 0


def test_failed_write_leaves_previous_content(model, monkeypatch):
    rows = fact_rows(extract("fs/inode.c", SRC))
    model.replace_file("fs/inode.c", rows, size=1, mtime_ns=1, sha1="a")
    bad = dict(rows)
    bad["calls"] = [("x",)]  # wrong width: the insert fails half-way through the file
    with pytest.raises(sqlite3.Error):
        model.replace_file("fs/inode.c", bad, size=2, mtime_ns=2, sha1="b")
    assert model.files()["fs/inode.c"].sha1 == "a"
    assert model.counts()["functions"] == 2


def test_foreign_database_is_refused(tmp_path):
    path = tmp_path / "model.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(ModelError, match="another application"):
        Model(path)


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "model.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ModelError):
        Model(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "model.db"
    m = Model(path)
    m.set_meta("schema_version", str(schema.SCHEMA_VERSION + 1))
    m.close()
    with pytest.raises(ModelError, match="newer"):
        Model(path)
