"""The recall harness's matching rules (``bench/recall_compare.py``), which decide the recall and
noise numbers reported for issue 9: each case is GCC's new diagnostics, kernel-lsp's new findings
and what must be matched, missed, noise or unjudged."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import recall_compare as cmp  # noqa: E402


def gcc(file, line, message, kind="error"):
    return {"file": file, "line": line, "column": 1, "message": message, "kind": kind,
            "lines": [[file, line]]}


def klsp(path, line, code, symbol, message=""):
    return {"path": path, "line": line, "code": code, "symbol": symbol, "message": message}


CASES = [
    pytest.param(
        [gcc("a.h", 3, "unknown type name 'u32'"), gcc("a.c", 9, "implicit declaration of "
                                                     "function 'f'")],
        [klsp("a.h", 3, "407_2", "u32"), klsp("a.c", 9, "404_2", "f"),
         klsp("a.c", 12, "404_2", "f"), klsp("a.c", 20, "404_2", "g")],
        {"matched": 2, "missed": 0, "noise": [("a.c", 20)], "unjudged": []},
        id="a later call of an implicit function is not noise, another symbol is"),
    pytest.param(
        [gcc("a.h", 3, "unknown type name 'u32'")], [klsp("a.h", 3, "407_2", "u8")],
        {"matched": 0, "missed": 1, "noise": [("a.h", 3)], "unjudged": []},
        id="the symbol must agree"),
    pytest.param(
        [gcc("a.h", 3, "unknown type name 'u32'"),
         gcc("a.h", 7, "acclib.h: No such file or directory", "fatal error")],
        [klsp("a.h", 3, "407_2", "u32"), klsp("b.h", 5, "407_2", "acpi_status")],
        {"matched": 1, "missed": 0, "noise": [], "unjudged": [("b.h", 5)]},
        id="after a fatal error GCC reached nothing more: unjudged, not noise"),
    pytest.param(
        [gcc("g.h", 2, "unknown type name 'the_table'"), gcc("g.h", 3, "unknown type name 'NULL'"),
         gcc("g.h", 4, "unknown type name 'total'")],
        [klsp("g.h", 2, "404_2", "DECLARE", "macro 'DECLARE' is not defined here, so ..."),
         klsp("g.h", 3, "404_2", "DECLARE", "implicit declaration of function 'DECLARE'"),
         klsp("g.h", 9, "404_2", "DECLARE", "macro 'DECLARE' is not defined here, so ...")],
        {"matched": 1, "missed": 2, "noise": [("g.h", 3), ("g.h", 9)], "unjudged": []},
        id="a macro not defined at file scope explains what GCC says at its line, only there"),
]


@pytest.mark.parametrize("gcc_new, klsp_new, want", CASES)
def test_compare(gcc_new, klsp_new, want):
    got = cmp.compare(gcc_new, klsp_new, None)
    assert len(got["matched"]) == want["matched"]
    assert len(got["missed"]) == want["missed"]
    assert [(f["path"], f["line"]) for f in got["noise"]] == want["noise"]
    assert [(f["path"], f["line"]) for f in got["unjudged"]] == want["unjudged"]


def test_a_macro_finding_sits_on_every_line_of_its_invocation():
    data = (b"ACPI_GLOBAL(struct acpi_gpe_block_info *,\n"
            b"\t    acpi_gbl_gpe_fadt_blocks[ACPI_MAX_GPE_BLOCKS]);\n"
            b"ACPI_GLOBAL(u8, acpi_gbl_flag);\n")
    macro = {**klsp("g.h", 1, "404_2", "ACPI_GLOBAL", "macro 'ACPI_GLOBAL' is not defined here"),
             "column": 1}
    wide = cmp.widen_finding(macro, lambda p: data)
    assert wide["also"] == [2]
    assert cmp.widen_finding({**macro, "line": 3}, lambda p: data).get("also") == []
    other = {**klsp("g.h", 1, "404_2", "f", "implicit declaration of function 'f'"), "column": 1}
    assert cmp.widen_finding(other, lambda p: data) is other
    got = cmp.compare([gcc("g.h", 2, "unknown type name 'acpi_gbl_gpe_fadt_blocks'")], [wide], None)
    assert (len(got["matched"]), got["noise"]) == (1, [])
