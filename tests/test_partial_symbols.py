"""The checks' macro table holds only the macros of the names the model's facts name, and reads
any other from the model (``packed.Partial``): it answers every name as a full table would."""

from __future__ import annotations

import pytest

from kernel_lsp.model import schema
from kernel_lsp.model.packed import Packed, Partial
from kernel_lsp.model.rows import fact_rows
from kernel_lsp.model.store import Model
from kernel_lsp.model.symbols import _MACRO, MacroSym, Symbols
from kernel_lsp.parse.extract import extract

REGS = b"""#define REG_USED 0x10
#define REG_UNUSED 0x20
#define REG_TWICE 0x30
#define regs_read(x) readl(x)
#define REG_GUARD 1
"""
USER = b"""#include "regs.h"
#ifndef REG_GUARD
#include <stdio.h>
#endif
int f(void) { return REG_USED + regs_read(0); }
int g(void) { return REG_TWICE; }
"""
OTHER = b"#define REG_TWICE 0x31\n#define REG_UNUSED_TOO 7\n"


@pytest.fixture
def model(tmp_path):
    m = Model(tmp_path / "model.db")
    for path, src in (("regs.h", REGS), ("user.c", USER), ("other.h", OTHER)):
        m.replace_file(path, fact_rows(extract(path, src)), size=len(src), mtime_ns=1, sha1=path)
    yield m
    m.close()


def _full(model: Model) -> Packed:
    full = Packed(MacroSym, _MACRO)
    for name, fid, function_like, start in model.macro_rows():
        full.add(name, fid, function_like, start)
    return full


def test_the_loaded_names_are_those_the_facts_name(model):
    named = {r[0] for r in model.macro_symbols()}
    # a call's name and an include guard (a macro constant in an expression is no free
    # identifier of ``var_uses``: the checks never look it up by that name)
    assert named == {"regs_read", "REG_GUARD"}
    assert sorted(model.macro_keys()) == list(model.macro_keys())
    every = [r[0] for r in model.macro_rows()]
    assert {"REG_USED", "REG_TWICE", "regs_read"} <= set(every)
    assert set(model.macro_keys()) == {schema.name_key(n) for n in every}


def test_symbols_answer_every_name_as_a_full_table(model, monkeypatch):
    asked = []
    entries = model.macro_entries
    monkeypatch.setattr(model, "macro_entries", lambda n: asked.append(n) or entries(n))
    syms, full = Symbols.load(model), _full(model)
    assert isinstance(syms.macros, Partial)
    names = ["REG_USED", "REG_UNUSED", "REG_TWICE", "regs_read", "REG_GUARD", "REG_UNUSED_TOO",
             "f", "readl", "nothing_at_all", ""]
    for name in names * 2:  # twice: the second answers come from what the first read
        assert sorted(syms.macros.get(name) or []) == sorted(full.get(name) or []), name
        assert (name in syms.macros) == (name in full)
    assert syms.macros.get("nothing", "dflt") == "dflt" and 42 not in syms.macros
    with pytest.raises(KeyError):
        syms.macros["nothing_at_all"]
    assert len(syms.macros["REG_TWICE"]) == 2  # both files' definitions, loaded together
    # only names with a macro's key were read from the model, each once
    assert sorted(asked) == ["REG_TWICE", "REG_UNUSED", "REG_UNUSED_TOO", "REG_USED"]


def test_a_partial_table_lists_no_names(model):
    table = Symbols.load(model).macros
    for call in (lambda: list(table), lambda: len(table), table.keys, table.items):
        with pytest.raises(TypeError):
            call()


def test_a_key_shared_with_another_name_reads_and_finds_nothing():
    fetched = []
    table = Partial(MacroSym, _MACRO, [5, 9], key=len,
                    fetch=lambda n: fetched.append(n) or [])
    table.add("abc", 1, False, 10)
    assert table.get("abc") == [MacroSym(1, False, 10)]
    assert table.get("abcde") is None and table.get("abcdefghi") is None
    assert fetched == ["abcde", "abcdefghi"]  # keys 5 and 9 exist; "xy" (2) is never read
    assert "xy" not in table and fetched == ["abcde", "abcdefghi"]
