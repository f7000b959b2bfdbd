"""Calls by callee and type uses by name are found through the files each name occurs in
(schema 14, ``schema.NAME_FILES``): those tables hold exactly the distinct (name, file) pairs of
the rows after every write, and the by-name readers answer as a scan of the rows would."""

from __future__ import annotations

from kernel_lsp.model import schema
from kernel_lsp.model.rows import fact_rows
from kernel_lsp.model.store import Model
from kernel_lsp.parse.extract import extract

A1 = b"struct dev { int x; };\nint f(struct dev *d) { kfree(d); g(); return h(d->x); }\n"
A2 = b"void f(void) { kfree(0); }\n"
B = b"struct dev;\nvoid b(struct dev *d) { kfree(d); kfree(d); }\n"


def _write(m: Model, path: str, src: bytes) -> None:
    m.replace_file(path, fact_rows(extract(path, src)), size=len(src), mtime_ns=1, sha1=path)


def _exact(m: Model) -> None:
    for table, (column, pairs) in schema.NAME_FILES.items():
        want = set(m.conn.execute(f"SELECT DISTINCT n.id, t.file_id FROM {table} t "
                                  f"JOIN names n ON n.name = t.{column}"))
        assert set(m.conn.execute(f"SELECT {column}, file_id FROM {pairs}")) == want, table


def _scan(m: Model, name: str) -> list[tuple]:
    return m.conn.execute("SELECT c.file_id, fl.path, c.caller, c.line, c.col, c.end_col "
                          "FROM calls c NOT INDEXED JOIN files fl ON fl.id = c.file_id WHERE "
                          "c.callee=? AND c.kind='direct' ORDER BY fl.path, c.start_byte",
                          (name,)).fetchall()


def test_the_pairs_follow_every_write(tmp_path):
    m = Model(tmp_path / "model.db")
    try:
        _write(m, "a.c", A1)
        _write(m, "b.c", B)
        _exact(m)
        for name in ("kfree", "g", "h", "nothing"):
            assert m.nav_calls_to(name) == _scan(m, name)
        assert m.files_using_type("dev", "struct") == {m.file_id("a.c"), m.file_id("b.c")}
        assert {r[0] for r in m.nav_type_uses("dev", "struct")} == {"a.c", "b.c"}
        _write(m, "a.c", A2)  # g, h and struct dev are gone from a.c
        _exact(m)
        assert m.nav_calls_to("g") == [] and m.files_using_type("dev", "struct") == {
            m.file_id("b.c")}
        assert m.nav_call_counts("kfree", None, set()) == (3, 2)
        fid = m.file_id("a.c")
        more = fact_rows(extract("a.c", b"\n" * 5 + b"void e(void) { g(); }\n"))
        m.add_expansions([fid], {fid: {"calls": more["calls"]}})
        _exact(m)
        assert [r[1] for r in m.nav_calls_to("g")] == ["a.c"]
        m.remove_files(["b.c"])
        _exact(m)
        assert m.files_using_type("dev", "struct") == set()
        assert m.nav_files_using({"kfree": {"f"}}, 10) == {"a.c"}
    finally:
        m.close()
