"""Plain macros (object-like, no body kept) are one compressed list per file (schema 13,
``model/plainmacros.py``): every reader finds them as it found their rows, and no write leaves a
stale key or list behind (a replaced file, a removed one, another process's write)."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given

from kernel_lsp.model import plainmacros, schema
from kernel_lsp.model.plainmacros import PlainMacro
from kernel_lsp.model.rows import fact_rows
from kernel_lsp.model.store import Model
from kernel_lsp.navigate.symbols import workspace_symbols
from kernel_lsp.parse.extract import extract

MACROS = st.lists(st.builds(
    PlainMacro, st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}|[a-z]{0,3}[é中][a-z]{0,3}",
                              fullmatch=True),
    st.integers(0, 10**7), st.integers(0, 10**6), st.integers(0, 500)), max_size=40)


@given(MACROS)
def test_a_list_gives_back_its_macros_in_file_order(macros):
    ordered = sorted(macros, key=lambda m: (m.start_byte, m.line, m.col, m.name))
    listed = plainmacros.PlainList(*plainmacros.pack(macros))
    assert listed.macros() == ordered == plainmacros.unpack(*plainmacros.pack(ordered))
    for m in macros:  # one name: its definitions, in order, and their places
        assert listed.find(m.name) == [o for o in ordered if o.name == m.name]
        prefix = m.name[:2]
        assert listed.names_starting(prefix) == list(dict.fromkeys(
            o.name for o in ordered if o.name.startswith(prefix)))
    assert listed.find("no such name") == [] and listed.find("") == []


def test_only_object_like_macros_without_a_kept_body_are_plain():
    assert plainmacros.is_plain(None, None, "REG_A")
    assert not plainmacros.is_plain("[]", "x", "F")  # function-like
    assert not plainmacros.is_plain(None, "other_name", "ALIAS")  # an alias keeps its body
    assert not plainmacros.is_plain(None, None, "") and not plainmacros.is_plain(None, None, "A B")


V1 = b"""#define REG_A 0x10
#ifdef CONFIG_X
#define REG_B 0x20
#else
#define REG_B 0x24
#endif
#define ALIAS REG_A
#define FN(x) ((x) + REG_A)
"""
V2 = b"#define REG_C 3\n#define FN(x) (x)\n"


@pytest.fixture
def m(tmp_path):
    model = Model(tmp_path / "model.db")
    yield model
    model.close()


def _write(m: Model, path: str, src: bytes) -> None:
    m.replace_file(path, fact_rows(extract(path, src)), size=len(src), mtime_ns=1, sha1=path)


def _keys(m: Model) -> set[tuple[int, int]]:
    return set(m.conn.execute("SELECT name_key, file_id FROM macro_keys"))


def test_readers_find_plain_macros_as_rows(m):
    _write(m, "regs.h", V1)
    fid = m.file_id("regs.h")
    assert [r[0] for r in m.macro_rows()] == ["REG_A", "REG_B", "REG_B", "ALIAS", "FN"]
    assert m.plain_macro_count() == 3
    assert {r[0] for r in m.conn.execute("SELECT name FROM macros")} == {"ALIAS", "FN"}
    assert _keys(m) == {(schema.name_key("REG_A"), fid), (schema.name_key("REG_B"), fid)}
    twice = m.nav_macros("REG_B")  # both branches' definitions, with their places
    assert [(d["path"], d["line"], d["col"], d["end_col"]) for d in twice] == [
        ("regs.h", 2, 8, 13), ("regs.h", 4, 8, 13)]
    assert [e[:2] for e in m.macro_entries("REG_A")] == [(fid, 0)]
    assert m.design_is_macro("REG_A") and not m.design_is_macro("REG_")
    assert m.design_names_among("macros", ["REG_A", "FN", "nope"]) == {"REG_A", "FN"}
    assert m.nav_files_using({"REG_B": {"m"}}, 10) == {"regs.h"}
    named = {r[1] for r in m.nav_file_names([fid])}
    assert {"REG_A", "REG_B", "ALIAS", "FN"} <= named
    assert [s.name for s in workspace_symbols(m, "REG_")] == ["REG_A", "REG_B", "REG_B"]
    assert m.nav_symbols_named("REG_A", with_macros=True)[0][:3] == (
        "REG_A", "macro", "regs.h")
    assert m.counts()["macros"] == 5


def test_a_replaced_or_removed_file_leaves_no_list_or_key(m):
    _write(m, "regs.h", V1)
    _write(m, "other.h", b"#define REG_A 1\n")
    fid, other = m.file_id("regs.h"), m.file_id("other.h")
    assert len(m.macro_entries("REG_A")) == 2
    _write(m, "regs.h", V2)
    assert [r[0] for r in m.macro_rows() if r[1] == fid] == ["REG_C", "FN"]
    assert _keys(m) == {(schema.name_key("REG_C"), fid), (schema.name_key("REG_A"), other)}
    assert m.macro_entries("REG_B") == [] and [e[0] for e in m.macro_entries("REG_A")] == [
        other]
    m.remove_files(["regs.h"])
    assert _keys(m) == {(schema.name_key("REG_A"), other)}
    assert m.conn.execute("SELECT file_id FROM macro_lists").fetchall() == [(other,)]


def test_an_appended_write_adds_to_the_list(m):
    _write(m, "regs.h", V2)
    fid = m.file_id("regs.h")
    more = fact_rows(extract("regs.h", b"\n" * 40 + b"#define REG_D 4\n"))
    m.add_expansions([fid], {fid: {"macros": more["macros"]}})
    assert [r[0] for r in m.macro_rows() if r[1] == fid] == ["REG_C", "FN", "REG_D"]
    assert m.plain_macro_count() == 2 and m.design_is_macro("REG_D")


def test_a_reader_sees_what_another_connection_wrote(tmp_path):
    reader, writer = Model(tmp_path / "model.db"), Model(tmp_path / "model.db")
    try:
        _write(writer, "regs.h", V1)
        assert len(reader.nav_macros("REG_B")) == 2  # the list is read, and kept
        _write(writer, "regs.h", V2)
        assert reader.nav_macros("REG_B") == [] and len(reader.nav_macros("REG_C")) == 1
    finally:
        reader.close()
        writer.close()
