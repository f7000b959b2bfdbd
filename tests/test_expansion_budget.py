"""A macro that expands into tens of thousands of definitions (nested ``X10(X100(X1000(...)))``,
as Linux 6.12's ``tools/testing/selftests/bpf/uprobe_multi.c``) is left unexpanded once one
top-level expansion has made ``MAX_STEPS`` expansions; one of a thousand definitions, and the
rest of the file, are read as ever."""

from __future__ import annotations

from kernel_lsp.parse.extract import extract
from kernel_lsp.parse.macros import MAX_STEPS, Expander

_NESTED = b"""
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MAKE(p, i) int CAT(p, i)(void) { return 0; }
#define X10(m, p, i) m(CAT(p, i), 0) m(CAT(p, i), 1) m(CAT(p, i), 2) m(CAT(p, i), 3) \\
	m(CAT(p, i), 4) m(CAT(p, i), 5) m(CAT(p, i), 6) m(CAT(p, i), 7) m(CAT(p, i), 8) \\
	m(CAT(p, i), 9)
#define X100(m, p, i) X10(m, CAT(p, i), 0) X10(m, CAT(p, i), 1) X10(m, CAT(p, i), 2) \\
	X10(m, CAT(p, i), 3) X10(m, CAT(p, i), 4) X10(m, CAT(p, i), 5) X10(m, CAT(p, i), 6) \\
	X10(m, CAT(p, i), 7) X10(m, CAT(p, i), 8) X10(m, CAT(p, i), 9)
#define X1000(m, p, i) X100(m, CAT(p, i), 0) X100(m, CAT(p, i), 1) X100(m, CAT(p, i), 2) \\
	X100(m, CAT(p, i), 3) X100(m, CAT(p, i), 4) X100(m, CAT(p, i), 5) \\
	X100(m, CAT(p, i), 6) X100(m, CAT(p, i), 7) X100(m, CAT(p, i), 8) X100(m, CAT(p, i), 9)
#define X10000(m, p, i) X1000(m, CAT(p, i), 0) X1000(m, CAT(p, i), 1) \\
	X1000(m, CAT(p, i), 2) X1000(m, CAT(p, i), 3) X1000(m, CAT(p, i), 4) \\
	X1000(m, CAT(p, i), 5) X1000(m, CAT(p, i), 6) X1000(m, CAT(p, i), 7) \\
	X1000(m, CAT(p, i), 8) X1000(m, CAT(p, i), 9)
"""

_AFTER = b"\nint after(void)\n{\n\treturn 1;\n}\n"


def _names(source: bytes) -> set[str]:
    return {f.name for f in extract("lib/gen.c", source).functions}


def test_a_thousand_generated_definitions_are_all_read():
    names = _names(_NESTED + b"X1000(MAKE, gen_, 0)\n" + _AFTER)
    assert {n for n in names if n.startswith("gen_")} == {f"gen_0{i:03d}" for i in range(1000)}
    assert "after" in names


def test_ten_thousand_are_left_unexpanded_and_the_rest_of_the_file_is_read():
    names = _names(_NESTED + b"X10000(MAKE, gen_, 0)\n" + _AFTER)
    assert not {n for n in names if n.startswith("gen_")}
    assert "after" in names


def test_the_expander_stops_at_its_budget():
    table = {}
    for line in _NESTED.decode().replace("\\\n", " ").splitlines():
        if line.startswith("#define "):
            head, body = line[len("#define "):].split(")", 1)
            name, params = head.split("(")
            table[name] = (tuple(p.strip() for p in params.split(",")), body)
    expander = Expander(table)
    assert expander.expand("X10000", ["MAKE", "gen_", "0"]) is None
    assert expander.steps == MAX_STEPS + 1  # no expansion after the one over budget
    one = expander.expand("X1000", ["MAKE", "gen_", "0"])
    assert one is not None and one.count("(void)") == 1000 and expander.steps <= MAX_STEPS
