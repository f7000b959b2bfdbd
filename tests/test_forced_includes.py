"""Kbuild reads include/linux/kconfig.h and compiler_types.h before every unit (``-include``):
what they define is visible everywhere, although few files include them; a header of the
tree that nobody force-includes is not."""

from __future__ import annotations

from tests.conftest import checked_errors, write_tree

TREE = {
    "Kconfig": "",
    "include/linux/kconfig.h": "#define IS_ENABLED(option) 0\n",
    "include/linux/compiler_types.h": "#define __force\nstruct ftrace_likely_data { int n; };\n",
    "include/linux/other.h": "#define IS_OTHER(option) 0\n",
    "kernel/a.c": ("int a(void)\n{\n\tstruct ftrace_likely_data d = { 0 };\n"
                   "\treturn IS_ENABLED(CONFIG_A) + IS_OTHER(CONFIG_A) + d.n;\n}\n"),
}


def test_what_kbuild_reads_first_is_visible_in_every_unit(tmp_path, capsys):
    assert checked_errors(write_tree(tmp_path, TREE), capsys) == {
        ("kernel/a.c", 4, "404_2", "IS_OTHER")}
