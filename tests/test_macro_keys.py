"""Macros are found by an integer key, not an index of their names (schema 11, ``schema.KEYED``):
every by-name and by-prefix reader of the model gets the same macros it got from a name index,
whatever the names (shared prefixes, short and non-ASCII names, keys that collide)."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given, settings

from kernel_lsp.model import schema
from kernel_lsp.model.rows import Macro, fact_rows
from kernel_lsp.model.store import Model
from kernel_lsp.navigate.symbols import workspace_symbols
from kernel_lsp.parse.extract import extract

# C identifiers, and the odd non-ASCII one (GCC accepts UTF-8 identifiers)
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}|[a-z]{0,3}[é中][a-z]{0,3}", fullmatch=True)


@given(NAMES, st.integers(0, 8))
def test_a_name_lies_in_the_key_range_of_each_of_its_prefixes(name, cut):
    low, high = schema.key_range(name[:cut])
    assert low <= schema.name_key(name) <= high
    assert 0 <= schema.name_key(name) < 1 << 47  # a 6-byte SQLite integer


@given(NAMES, NAMES)
def test_keys_keep_the_order_of_the_first_five_ascii_bytes(a, b):
    ka, kb = (n.encode()[:5] for n in (a, b))
    if ka < kb and all(c < 0x80 for c in ka + kb) and not kb.startswith(ka):
        assert schema.name_key(a) < schema.name_key(b)


def _model(tmp_path, defines: list[str]) -> Model:
    """A model of one header defining ``defines``, one per line (the rows are written directly:
    the directive reader takes identifiers as ASCII)."""
    m = Model(tmp_path / "model.db")
    rows = [Macro(name=n, params=None, body=None, start_byte=100 * i, line=i, col=8,
                  end_col=8 + len(n)) for i, n in enumerate(defines)]
    m.replace_file("regs.h", {"macros": rows}, size=1, mtime_ns=1, sha1="x")
    return m


def test_the_indexer_writes_the_keys(tmp_path):
    m = Model(tmp_path / "model.db")
    src = b"#define mmGRBM_STATUS 0x8010\n#define BIT(n) (1UL << (n))\n"
    m.replace_file("regs.h", fact_rows(extract("regs.h", src)), size=len(src), mtime_ns=1,
                   sha1="x")
    try:
        # a function-like macro is a row of its own; a plain one is in its file's list
        assert {r for r in m.conn.execute("SELECT name, name_key FROM macros")} == {
            ("BIT", schema.name_key("BIT"))}
        assert m.conn.execute("SELECT name_key, file_id FROM macro_keys").fetchall() == [
            (schema.name_key("mmGRBM_STATUS"), m.file_id("regs.h"))]
        assert [r[0] for r in m.macro_rows()] == ["mmGRBM_STATUS", "BIT"]
    finally:
        m.close()


REGS = [f"mmGRBM_{s}" for s in ("STATUS", "STATUS2", "CNTL", "SOFT_RESET")] + [
    "mmGR", "mm", "m", "GRBM_STATUS", "dévice_id", "中断", "x"]


def test_macros_by_name_and_by_prefix(tmp_path):
    m = _model(tmp_path, REGS)
    try:
        for name in REGS:
            assert [r[0] for r in m.macro_entries(name)] == [m.file_id("regs.h")]
            assert [d["name"] for d in m.nav_macros(name)] == [name]
            assert m.design_is_macro(name)
        assert m.macro_entries("mmGRBM_STATU") == [] and not m.design_is_macro("mmGRB")
        assert m.design_names_among("macros", ["mm", "nope", "中断", "mmGRBM_CNTL"]) == {
            "mm", "中断", "mmGRBM_CNTL"}
        assert m.nav_files_using({"mmGRBM_CNTL": {"m"}}, 10) == {"regs.h"}
        assert m.nav_files_using({"mmGRBM_CNT": {"m"}}, 10) == set()
        for prefix in ("m", "mm", "mmG", "mmGR", "mmGRBM_S", "mmGRBM_STATUS", "dé", "中", "x",
                       "GRBM", "zz"):
            want = sorted(n for n in REGS if n.startswith(prefix))
            got = [s.name for s in workspace_symbols(m, prefix) if s.kind == "macro"]
            assert got[:len(want)] == want, prefix
        assert [s.name for s in workspace_symbols(m, "mm", limit=2)] == ["mm", "mmGR"]
        assert m.nav_symbols_named("mmGR", with_macros=True)[0][:2] == ("mmGR", "macro")
    finally:
        m.close()


def test_names_that_share_a_key_are_told_apart(tmp_path, monkeypatch):
    """Two names with one key (12 bits of CRC collide, or a non-ASCII byte counts as 0x7F): readers
    compare the names, so each still finds only itself."""
    monkeypatch.setattr(schema, "name_key", lambda name: schema.key_range(name[:2])[0])
    m = _model(tmp_path, ["abc", "abd", "ab"])
    try:
        for name in ("abc", "abd", "ab"):
            assert [d["name"] for d in m.nav_macros(name)] == [name]
        assert m.design_names_among("macros", ["abc", "abx"]) == {"abc"}
        assert m.macro_entries("abx") == []
    finally:
        m.close()


@settings(max_examples=30, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=12, unique=True), NAMES)
def test_a_model_answers_as_a_scan_of_its_macros_would(tmp_path_factory, names, probe):
    m = _model(tmp_path_factory.mktemp("keys"), names)
    try:
        scan = [r[0] for r in m.macro_rows()]
        assert sorted(scan) == sorted(names)
        for name in (*names, probe):
            assert m.design_is_macro(name) == (name in names)
        prefix = probe[:2]
        got = {s.name for s in workspace_symbols(m, prefix, limit=100) if s.kind == "macro"}
        assert {n for n in names if n.startswith(prefix)} <= got
    finally:
        m.close()


@given(NAMES)
def test_a_key_gives_back_the_head_of_its_names(name):
    """A prefix walk groups a list's names by ``name_head`` and looks a key's up by ``key_head``."""
    head = schema.name_head(name)
    assert schema.key_head(schema.name_key(name)) == head
    assert head is None or name.startswith(head)
