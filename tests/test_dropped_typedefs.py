"""A function-pointer typedef whose return type the unit does not know is dropped by the
compiler, so its later uses are "unknown type name" too; a plain typedef of an unknown type is
declared anyway (GCC says nothing more). The fix includes the return type's header before the
include that brings the typedef in."""

from __future__ import annotations

import subprocess

import pytest

from kernel_lsp.cli import main
from tests.conftest import checked_errors, write_tree
from tests.gcc_tree import GCC

TREE = {
    "Kconfig": "",
    "include/linux/actypes.h": "typedef int acpi_status;\n",
    "drivers/acpi/aclocal.h": ("typedef acpi_status (*acpi_converter)(int x);\n"  # 1
                               "struct repair {\n"
                               "\tacpi_converter conv;\n"                         # 3 dropped
                               "};\n"
                               "typedef acpi_status status_alias;\n"              # 5
                               "struct other {\n"
                               "\tstatus_alias s;\n"                              # 7 declared
                               "};\n"),
    "drivers/acpi/acstruct.h": "struct walk {\n\tacpi_converter down;\n};\n",     # 2 dropped
    "drivers/acpi/accommon.h": '#include "aclocal.h"\n#include "acstruct.h"\n',
    "drivers/acpi/good.c": '#include <linux/actypes.h>\n#include "accommon.h"\n',
    "drivers/acpi/bad.c": ('#include "accommon.h"\n#include <linux/actypes.h>\n'
                           "static acpi_converter conv_of(void)\n{\n\treturn 0;\n}\n"),  # 3
}
EXPECTED = {("drivers/acpi/aclocal.h", 1, "407_2", "acpi_status"),
            ("drivers/acpi/aclocal.h", 3, "407_2", "acpi_converter"),
            ("drivers/acpi/aclocal.h", 5, "407_2", "acpi_status"),
            ("drivers/acpi/acstruct.h", 2, "407_2", "acpi_converter"),
            ("drivers/acpi/bad.c", 3, "407_2", "acpi_converter")}


def test_the_uses_of_a_dropped_function_pointer_typedef_are_reported(tmp_path, capsys):
    assert checked_errors(write_tree(tmp_path, TREE), capsys) == EXPECTED


def test_the_fix_includes_the_return_type_before_the_include_that_drops_it(tmp_path, capsys):
    root = write_tree(tmp_path, TREE)
    assert main(["fix", "--root", str(root)]) in (0, 1)
    assert (root / "drivers/acpi/bad.c").read_text().startswith(
        '#include <linux/actypes.h>\n#include "accommon.h"\n')
    assert checked_errors(root, capsys) == set()


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
def test_gcc_reports_the_dropped_typedef_at_the_same_lines(tmp_path):
    root = write_tree(tmp_path, TREE)
    proc = subprocess.run([GCC, "-fsyntax-only", "-Iinclude", "drivers/acpi/bad.c"], cwd=root,
                          capture_output=True, text=True)
    errs = {(line.split(":")[0], int(line.split(":")[1])) for line in proc.stderr.splitlines()
            if ": error: " in line}
    # line 1: "expected declaration specifiers or '...' before '*' token"
    assert errs == {(path, line) for path, line, _code, _name in EXPECTED}
