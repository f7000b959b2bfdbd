"""Merging realized fixes per file, applying edits bottom-up, atomic writes, unified diffs."""

from __future__ import annotations

import os
import stat

import pytest

from kernel_lsp.findings import Edit, Fix
from kernel_lsp.fixes import apply as apply_mod
from kernel_lsp.fixes.apply import apply_edits, merge, unified_diff, write_atomic


def ins(path, line, col, text):
    return Edit(path, line, col, line, col, text)


INCLUDE_A = ins("a.c", 1, 0, "#include <x.h>\n")
DROP_STATIC = Edit("b.c", 0, 0, 0, 7, "")


def test_identical_edits_are_made_once():
    first = Fix("Include <x.h> for symbol f", (INCLUDE_A,))
    second = Fix("Include <x.h> for symbol g", (INCLUDE_A,))
    accepted, by_path = merge([first, second])
    assert accepted == [first, second]
    assert by_path == {"a.c": [INCLUDE_A]}


def test_a_fix_overlapping_a_taken_edit_is_dropped_whole():
    first = Fix("one", (DROP_STATIC,))
    clash = Fix("two", (Edit("b.c", 0, 3, 0, 10, "x"), ins("a.c", 0, 0, "y\n")))
    inside = Fix("three", (ins("b.c", 0, 4, "z"),))
    touching = Fix("four", (ins("b.c", 0, 7, "w"), ins("b.c", 0, 0, "/* v */\n")))
    accepted, by_path = merge([first, clash, inside, touching])
    assert accepted == [first, touching]
    assert "a.c" not in by_path
    assert by_path["b.c"] == [DROP_STATIC, *touching.edits]


@pytest.mark.parametrize("edits,expected", [
    ([ins("a", 1, 0, "X\n"), ins("a", 1, 0, "Y\n")], "l0\nX\nY\nl1\nl2\n"),
    ([Edit("a", 0, 0, 0, 1, ""), ins("a", 0, 0, "A")], "A0\nl1\nl2\n"),
    ([ins("a", 2, 2, "!"), Edit("a", 0, 0, 1, 0, "")], "l1\nl2!\n"),
    ([ins("a", 3, 0, "end\n")], "l0\nl1\nl2\nend\n"),
])
def test_apply_edits_bottom_up_in_list_order(edits, expected):
    assert apply_edits("l0\nl1\nl2\n", edits) == expected


def test_blocks_inserted_at_one_point_share_one_blank_line():
    text = "int a;\nint g(void);\n"
    edits = [ins("a", 1, 0, "\nextern int x;\n\n"), ins("a", 1, 0, "\nextern int y;\n\n"),
             ins("a", 1, 0, "#include <z.h>\n")]
    assert apply_edits(text, edits) == \
        "int a;\n\nextern int x;\nextern int y;\n#include <z.h>\nint g(void);\n"


def test_apply_edits_counts_bytes():
    text = "/* é */ x;\n"
    col = text.encode().index(b"x")
    assert apply_edits(text, [Edit("a", 0, col, 0, col + 1, "y")]) == "/* é */ y;\n"


def test_apply_edits_rejects_an_edit_outside_the_text():
    with pytest.raises(ValueError):
        apply_edits("one line\n", [ins("a", 5, 0, "x")])


def test_unified_diff_headers():
    diff = unified_diff("mm/a.c", "a\nb\n", "a\nB\n")
    assert diff.splitlines()[:2] == ["--- a/mm/a.c", "+++ b/mm/a.c"]
    assert "-b\n+B\n" in diff
    assert unified_diff("x", "same\n", "same\n") == ""
    assert "\\ No newline at end of file" in unified_diff("x", "a", "b")


def test_write_atomic_keeps_mode_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.c"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    write_atomic(target, "new é\n")
    assert target.read_text(encoding="utf-8") == "new é\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.c"]


def test_write_atomic_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.c"
    target.write_text("old\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(apply_mod.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.c"]
