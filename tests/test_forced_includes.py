"""Kbuild reads include/linux/kconfig.h and compiler_types.h before every unit (``-include``):
what they define is visible everywhere, although few files include them; a header of the
tree that nobody force-includes is not."""

from __future__ import annotations

from kernel_lsp.config import load_config
from kernel_lsp.live.workspace import Workspace
from kernel_lsp.model.indexer import index
from kernel_lsp.model.kbuild import forced_includes
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


# A Kbuild file may force-include a file into one object: the vDSO Makefiles of arm64, riscv and
# others write ``CFLAGS_vgettimeofday.o += -include $(c-gettimeofday-y)``, a variable that the
# ``lib/vdso/Makefile`` they include sets to ``$(addprefix $(GENERIC_VDSO_DIR),
# gettimeofday.c)``. Not read, vgettimeofday.c saw neither clockid_t (407_2) nor the static
# inline __cvdso_gettimeofday of lib/vdso/gettimeofday.c (405_2): 4 false findings on arm64, 3
# on riscv. The file is read before the unit's first line, after every index.
VDSO = {
    "Kconfig": ("config ARM64\n\tdef_bool y\n\tselect GENERIC_GETTIMEOFDAY\n"
                "config GENERIC_GETTIMEOFDAY\n\tbool\n"),
    "kernel-lsp.toml": 'arch = "arm64"\n',
    "include/linux/types.h": "typedef int clockid_t;\n",
    "lib/vdso/Makefile": (
        "GENERIC_VDSO_MK_PATH := $(abspath $(lastword $(MAKEFILE_LIST)))\n"
        "GENERIC_VDSO_DIR := $(dir $(GENERIC_VDSO_MK_PATH))\n"
        "c-gettimeofday-$(CONFIG_GENERIC_GETTIMEOFDAY) := $(addprefix $(GENERIC_VDSO_DIR), "
        "gettimeofday.c)\n"),
    "lib/vdso/gettimeofday.c": ("#include <linux/types.h>\n"
                                "static inline int __cvdso_gettimeofday(clockid_t c)\n"
                                "{\n\treturn c;\n}\n"),
    "arch/arm64/kernel/vdso/Makefile": (
        "include $(srctree)/lib/vdso/Makefile\nobj-vdso := vgettimeofday.o\n"
        "ifneq ($(c-gettimeofday-y),)\n"
        "  CFLAGS_vgettimeofday.o += -fPIC -include $(c-gettimeofday-y)\nendif\n"),
    "arch/arm64/kernel/vdso/vgettimeofday.c": (
        "int __kernel_gettimeofday(clockid_t c)\n{\n"
        "\treturn __cvdso_gettimeofday(c) + vdso_undeclared();\n}\n"),
}


def test_a_file_kbuild_forces_into_one_object_is_read_before_its_first_line(tmp_path, capsys):
    root = write_tree(tmp_path, VDSO)
    assert forced_includes(root, "arm64") == {
        "arch/arm64/kernel/vdso/vgettimeofday.c": ["lib/vdso/gettimeofday.c"]}
    assert forced_includes(root, "riscv") == {}  # another architecture's Makefile
    expected = {("arch/arm64/kernel/vdso/vgettimeofday.c", 3, "020_2", "vdso_undeclared")}
    assert checked_errors(root, capsys) == expected
    unit = root / "arch/arm64/kernel/vdso/vgettimeofday.c"
    unit.write_text("\n" + unit.read_text())  # extracted again: its include rows written anew
    assert checked_errors(root, capsys) == {(p, line + 1, c, s) for p, line, c, s in expected}
    assert checked_errors(root, capsys) == {(p, line + 1, c, s) for p, line, c, s in expected}


def test_an_edited_unit_keeps_what_kbuild_forces_into_it(tmp_path):
    root = write_tree(tmp_path, VDSO)
    config, _ = load_config(root)
    index(config, jobs=1).model.close()
    session = Workspace(config)
    try:
        assert session.load() is None
        unit = "arch/arm64/kernel/vdso/vgettimeofday.c"
        session.set_buffer(unit, b"\n" + VDSO[unit].encode())
        assert {(r.finding.line, r.finding.code, r.finding.symbol)
                for r in session.findings([unit])} == {(3, "020_2", "vdso_undeclared")}  # (0-based)
    finally:
        session.close()
