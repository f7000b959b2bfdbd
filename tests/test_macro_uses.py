"""A file-scope macro invocation where no definition of the macro is visible is 404_2 naming
the macro and its header (GCC reads the line as an old-style declaration and reports its
arguments: "unknown type name 'the_table'"); in a header, as each unit includes it."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import checked_errors, write_tree
from tests.gcc_tree import GCC

TREE = {
    "Kconfig": "",
    "include/linux/glob.h": ("#define DECLARE_GLOBAL(type, name) extern type name\n"
                             "#define DECLARE_INIT(type, name, value) type name = value\n"),
    # relies on its includers for DECLARE_GLOBAL
    "drivers/g/vars.h": ("struct table { int n; };\n"
                         "DECLARE_GLOBAL(struct table, the_table);\n"       # 2
                         "DECLARE_GLOBAL(struct table *, table_ptr);\n"),   # 3
    "drivers/g/good.c": ('#include <linux/glob.h>\n#include "vars.h"\n'
                         "int good(void)\n{\n\treturn the_table.n;\n}\n"),
    # includes vars.h before the header that defines its macro
    "drivers/g/bad.c": ('#include "vars.h"\n#include <linux/glob.h>\n'
                        "DECLARE_INIT(int, counter, 0);\n"                  # fine: included above
                        "int bad(void)\n{\n\treturn counter;\n}\n"),
    "drivers/g/direct.c": ("DECLARE_GLOBAL(long, total);\n"                 # 1: not yet included
                           "#include <linux/glob.h>\n"
                           "DECLARE_GLOBAL(long, later);\n"),
    # a name no header defines may come from a generated header: not reported
    "drivers/g/generated.c": "GENERATED_TABLE(int, rows);\n",
    # a header included only where the configuration keeps a branch: its macros may be
    # visible in the configuration that builds the user (CONFIG_DYNAMIC_DEBUG is not set)
    "include/linux/printk.h": "#ifdef CONFIG_DYNAMIC_DEBUG\n#include <linux/dyndbg.h>\n#endif\n",
    "include/linux/dyndbg.h": "#define DECLARE_CLASSMAP(name) int name\n",
    "lib/test_dyndbg.c": "#include <linux/printk.h>\nDECLARE_CLASSMAP(classes);\n",
    # a header only a dropped branch includes is not built in this configuration
    "drivers/g/vars_32.h": "DECLARE_GLOBAL(int, narrow);\n",
    "drivers/g/vars_all.h": ('#include <linux/glob.h>\n#ifdef CONFIG_X86_32\n#include "vars_32.h"\n'
                             "#endif\n"),
    "drivers/g/all.c": '#include "vars_all.h"\n',
}
EXPECTED = {("drivers/g/vars.h", 2, "404_2", "DECLARE_GLOBAL"),
            ("drivers/g/vars.h", 3, "404_2", "DECLARE_GLOBAL"),
            ("drivers/g/direct.c", 1, "404_2", "DECLARE_GLOBAL")}


def test_a_macro_invoked_at_file_scope_where_it_is_not_visible_is_reported(tmp_path, capsys):
    assert checked_errors(write_tree(tmp_path, TREE), capsys) == EXPECTED


def test_with_the_macro_included_first_nothing_is_reported(tmp_path, capsys):
    tree = {**TREE, "drivers/g/bad.c": TREE["drivers/g/bad.c"].replace(
        '#include "vars.h"\n#include <linux/glob.h>\n', '#include <linux/glob.h>\n#include "vars.h"\n'),
        "drivers/g/direct.c": TREE["drivers/g/direct.c"].split("\n", 1)[1]}
    assert checked_errors(write_tree(tmp_path, tree), capsys) == set()


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
@pytest.mark.parametrize("unit", ["drivers/g/good.c", "drivers/g/bad.c", "drivers/g/direct.c"])
def test_gcc_errs_at_the_lines_reported_and_nowhere_else(tmp_path, unit):
    root = write_tree(tmp_path, TREE)
    proc = subprocess.run([GCC, "-fsyntax-only", "-Iinclude", unit], cwd=root,
                          capture_output=True, text=True)
    errs = {(line.split(":")[0], int(line.split(":")[1])) for line in proc.stderr.splitlines()
            if ": error: " in line}
    want = {"drivers/g/good.c": set(),
            "drivers/g/bad.c": {("drivers/g/vars.h", 2), ("drivers/g/vars.h", 3)},
            "drivers/g/direct.c": {("drivers/g/direct.c", 1)}}[unit]
    assert errs == want
