"""Shared test paths and fixtures: the repository, the fixture trees, a fresh in-memory model.

End-to-end tests (marked ``e2e``: real processes, editors, browsers) run after the others, so a
broken unit shows up first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kernel_lsp.model import factlists, schema
from kernel_lsp.model.store import Model

REPO = Path(__file__).resolve().parent.parent
# The processes the tests start (``python -m kernel_lsp`` in a tree's copy) import this
# checkout, not whatever kernel_lsp the environment has installed: with ``PYTHONPATH=.`` they
# ran another worktree's server, as its directory is no longer the current one.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
FIXTURES = REPO / "fixtures"
TREE = FIXTURES / "linux-tree"  # the bundled Linux-like example tree
GADGET_TREE = FIXTURES / "fixes" / "gadget-tree"
EBPF_FIXTURES = FIXTURES / "ebpf"


@pytest.fixture
def fresh_model():
    """An empty model database in memory (closed after the test)."""
    model = Model(None)
    yield model
    model.close()


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


def uncut(conn) -> None:
    """Undo version 20: ``function_rows`` with the name and the whole signature as text again
    (the rows read back through the view), no ``signature_texts``; the view of version 18."""
    cols = schema.columns("functions")
    rows = conn.execute(f"SELECT {', '.join('r.params' if c == 'params' else 'f.' + c for c in cols)} "
                        "FROM functions f JOIN function_rows r ON r.id = f.id "
                        "ORDER BY f.id").fetchall()
    conn.execute("DROP VIEW functions")
    conn.execute("DROP TABLE function_rows")
    conn.execute("DROP TABLE signature_texts")
    as_18 = schema.MIGRATIONS[18]  # its CREATE TABLE, view and indexes
    for sql in as_18:
        if sql.startswith("CREATE TABLE IF NOT EXISTS function_rows"):
            conn.execute(sql)
            conn.executemany(f"INSERT INTO function_rows ({', '.join(cols)}) "
                             f"VALUES ({', '.join('?' * len(cols))})", rows)
        elif sql.startswith(("CREATE VIEW", "CREATE INDEX")):
            conn.execute(sql)


def unshare(conn) -> None:
    """Undo version 18: ``functions`` a table of its own again, its parameter lists as text."""
    rows = conn.execute("SELECT * FROM functions ORDER BY id").fetchall()
    conn.execute("DROP VIEW functions")
    conn.execute("DROP TABLE function_rows")
    conn.execute("DROP TABLE param_lists")
    conn.execute(f"CREATE TABLE functions ({schema.TABLES['functions']})")
    marks = ", ".join("?" * len(schema.columns("functions")))
    conn.executemany(f"INSERT INTO functions VALUES ({marks})", rows)
    for column in ("name", "file_id"):
        conn.execute(f"CREATE INDEX idx_functions_{column} ON functions({column})")


def unpack_list(conn, table: str) -> None:
    """Undo the version that packed ``table`` (17: variable uses, 16: type uses, 15: calls):
    its lists become the rows of its interned table again."""
    layout = factlists.LAYOUTS[table]
    rows, lists = schema.row_table(table), schema.PACKED[table]
    conn.execute(schema.create_table_sql(table))
    names = dict(conn.execute("SELECT id, name FROM names"))
    texts = [layout.columns.index(c) for c in schema.PACKED_NAMES if c in layout.columns]
    for file_id, data in conn.execute(f"SELECT file_id, data FROM {lists}").fetchall():
        conn.executemany(
            f"INSERT INTO {rows} (file_id, seq, {', '.join(layout.columns)}) "
            f"VALUES (?, ?, {', '.join('?' * layout.width)})",
            [(file_id, seq, *(names.get(v) if i in texts else v for i, v in enumerate(r)))
             for seq, r in enumerate(layout.unpack(data))])
    conn.execute(f"DROP TABLE {lists}")
    conn.execute(f"DROP VIEW {table}")
    conn.execute(f"CREATE VIEW {table} AS " + schema.interned_view(table))


def unpack_lists(conn) -> None:
    """Undo versions 17, 16 and 15: variable uses (by an index of their names), type uses and
    calls a row each."""
    unpack_list(conn, "var_uses")
    conn.execute("DROP TABLE var_name_files")
    conn.execute("CREATE INDEX idx_var_uses_name ON var_uses_interned(name)")
    unpack_list(conn, "type_uses")
    unpack_list(conn, "calls")


def unintern(conn) -> None:
    """Undo version 7: each interned table becomes the plain table of version 6 again, with its
    rows and indexes."""
    conn.execute("PRAGMA legacy_alter_table=ON")  # the views name tables that come and go
    for table in schema.INTERNED:
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({schema.row_table(table)})")}
        cols = [c for c in schema.TABLES[table].split(",") if c.split()[0] in have]
        skip = tuple(c.split()[0] for c in schema.TABLES[table].split(",")
                     if c.split()[0] not in have)
        conn.execute(f"CREATE TABLE plain ({','.join(cols)})")
        conn.execute(f"INSERT INTO plain {schema.interned_view(table, skip)} "
                     "ORDER BY t.file_id, t.seq")  # each file's rows in their order
        conn.execute(f"DROP VIEW {table}")
        conn.execute(f"DROP TABLE {schema.row_table(table)}")
        conn.execute(f"ALTER TABLE plain RENAME TO {table}")
        older = [(t, [column]) for t, (column, _pairs) in schema.NAME_FILES.items()
                 if (t, [column]) not in schema.INDEXES]
        for t, cols in schema.INDEXES + older:  # version 6's: on the plain table, file_id too
            if t == table:
                conn.execute(f"CREATE INDEX idx_{t}_{'_'.join(cols)} ON {t}({', '.join(cols)})")
    conn.execute("DROP TABLE names")


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (root-relative path -> text) under ``root``; returns ``root``."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def checked_errors(root: Path, capsys) -> set[tuple[str, int, str, str]]:
    """``kernel-lsp check --root ROOT --format json``: its errors as (path, 1-based line, code,
    symbol)."""
    import json

    from kernel_lsp.cli import main

    capsys.readouterr()
    assert main(["check", "--root", str(root), "--format", "json"]) in (0, 1)
    return {(f["root_path"], f["line"], f["code"], f["symbol"])
            for f in json.loads(capsys.readouterr().out)["findings"] if f["severity"] == "error"}

