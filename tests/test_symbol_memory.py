"""The compact whole-tree tables: packed symbol entries and unmemoised include contexts read
back exactly what the plain structures hold."""

from __future__ import annotations

import pytest

from kernel_lsp.model.packed import Packed
from kernel_lsp.model.rows import IncludeEdge
from kernel_lsp.model.symbols import FuncSym, MacroSym, VarSym
from kernel_lsp.model.visibility import Visibility

VARS = [  # (name, VarSym fields)
    ("jiffies", (12, "extern", False, 4096, 80, 14, 21)),
    ("jiffies", (55_000, None, True, 2**31, 1, 0, 7)),
    ("x", (0, "static", True, 0, 0, 0, 1)),
    ("y", (3, "__thread", False, None, None, 5, 6)),
]


def test_packed_entries_read_back_as_added():
    table = Packed(VarSym, ("int", "str", "bool", "int", "int", "int", "int"))
    for name, fields in VARS:
        table.add(name, *fields)
    expect: dict[str, list] = {}
    for name, fields in VARS:
        expect.setdefault(name, []).append(VarSym(*fields))
    assert {n: table.get(n) for n in table} == expect
    assert table["x"] == [VarSym(0, "static", True, 0, 0, 0, 1)]
    assert "y" in table and "z" not in table and len(table) == 3
    assert table.get("z") is None and table.get("z", []) == []
    with pytest.raises(KeyError):
        table["z"]


def test_a_lookup_returns_a_fresh_list_and_sees_later_additions():
    table = Packed(MacroSym, ("int", "bool", "int"))
    table.add("min", 4, True, 100)
    first = table.get("min")
    first.append("junk")
    assert table.get("min") == [MacroSym(4, True, 100)]
    table.add("min", 9, False, 7)
    assert table.get("min") == [MacroSym(4, True, 100), MacroSym(9, False, 7)]


@pytest.mark.parametrize("value", [-1, 2**40])
def test_an_int_that_does_not_fit_is_refused(value):
    table = Packed(FuncSym, ("int", "bool", "str", "int"))
    with pytest.raises(ValueError):
        table.add("f", value, True, "static", 0)


def _edge(start: int, target: int | None) -> IncludeEdge:
    return IncludeEdge(start, target, f"h{target}.h", 0, 0, 1)


# file id -> include edges: 1, 2 and 5 are .c files, 3, 4, 6 headers (6 includes 4)
GRAPH = {
    1: [_edge(10, 3), _edge(20, 6), _edge(30, 4)],
    2: [_edge(5, 4), _edge(15, None), _edge(25, 3)],
    5: [_edge(0, 6)],
    6: [_edge(0, 4)],
}


def _context_by_prefixes(vis: Visibility, fid: int, seen=None) -> int:
    """What the includers of ``fid`` see where they include it, from memoised prefixes."""
    seen = seen if seen is not None else set()
    if fid in seen:
        return 0
    seen.add(fid)
    mask = 0
    for includer, pos in vis.includers_for(fid):
        mask |= vis.own_before(includer, pos) | _context_by_prefixes(vis, includer, seen)
    return mask


@pytest.mark.parametrize("fid", [3, 4, 6])
def test_a_header_context_keeps_the_lines_of_none_of_its_includers(fid):
    vis = Visibility(GRAPH)
    got = vis.context(fid)
    assert not vis._prefix  # .c files and headers (6 includes 4): computed for the use only
    assert got == _context_by_prefixes(Visibility(GRAPH), fid)


@pytest.mark.parametrize("held", [[6], [1, 6], [1, 2, 5, 6]])
def test_a_header_context_reads_the_lines_already_held(held):
    vis = Visibility(GRAPH)
    for fid in held:
        vis.prefixes(fid)
    assert vis.context(4) == _context_by_prefixes(Visibility(GRAPH), 4)
    assert set(vis._prefix) == set(held)
