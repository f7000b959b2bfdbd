"""Files that no configuration of the architecture builds (``model/buildable.py``): which options
may be on, which Kbuild listings can build a file, and that such a file gives no finding while
the same file under an option that may be on still does."""

from __future__ import annotations

import json

import pytest

from kernel_lsp.live.tables import Tables
from kernel_lsp.model.buildable import (
    kbuild_judgement,
    kbuild_status,
    possible_symbols,
    unbuilt_sources,
)
from kernel_lsp.model.kconfig import read_kconfig
from kernel_lsp.model.store import Model
from tests.conftest import checked_errors, write_tree

# Kconfig of "x86": ARCH_PXA and ARM are defined by no Kconfig file read for x86.
KCONFIG = """\
config X86
\tdef_bool y
config X86_32
\tdef_bool y
\tdepends on !64BIT
config 64BIT
\tbool "64-bit kernel"
config COMPILE_TEST
\tbool "Compile also drivers which will not load"
config GOOD
\ttristate "a driver x86 builds"
config PXA_LED
\ttristate "an LED driver of a PXA board"
\tdepends on ARCH_PXA
config PXA_OR_TEST
\ttristate "built anywhere for compile testing"
\tdepends on ARCH_PXA || COMPILE_TEST
config QUOTED
\ttristate 'a prompt in single quotes'
\tdepends on GOOD
config SELECTED
\tbool
\tdepends on ARCH_PXA
config SELECTOR
\tbool "selects what it needs, whatever that depends on"
\tselect SELECTED
config IMPLIED
\ttristate
config IMPLIER
\tbool "implies a codec"
\timply IMPLIED
config PXA_HELPER
\tbool
\tselect ARM_HELPER
\tdepends on ARCH_PXA
config ARM_HELPER
\tbool
config NOT_32
\tbool "only on 64-bit"
\tdepends on !X86_32
config ARM_DEFAULT
\tdef_bool y
\tdepends on ARM
choice
\tprompt "allocator"
config SLUB
\tbool "SLUB"
config SLAB
\tbool "SLAB"
endchoice
"""


def test_possible_options(tmp_path):
    write_tree(tmp_path, {"Kconfig": KCONFIG})
    possible = possible_symbols(read_kconfig(tmp_path, "x86"))
    may = {"X86", "X86_32", "64BIT", "COMPILE_TEST", "GOOD", "PXA_OR_TEST", "QUOTED", "SELECTED",
           "SELECTOR", "IMPLIED", "IMPLIER", "NOT_32", "SLUB", "SLAB"}
    never = {"PXA_LED", "PXA_HELPER", "ARM_HELPER", "ARM_DEFAULT", "ARCH_PXA", "ARM"}
    assert may <= possible
    assert not never & possible


def test_a_kconfig_read_again_is_the_same_parse_until_a_file_it_read_changes(tmp_path):
    write_tree(tmp_path, {"Kconfig": 'source "sub/Kconfig"\n', "sub/Kconfig": KCONFIG})
    first = read_kconfig(tmp_path, "x86")
    assert read_kconfig(tmp_path, "x86") is first  # the configuration, then Kbuild's judgement
    assert read_kconfig(tmp_path, "arm") is not first  # another architecture reads other files
    sub = tmp_path / "sub" / "Kconfig"
    sub.write_text(KCONFIG + "config LATER\n\tbool \"later\"\n")  # a sourced file changed
    again = read_kconfig(tmp_path, "x86")
    assert again is not first and "LATER" in possible_symbols(again)
    assert "LATER" not in possible_symbols(first)
    sub.unlink()  # gone: read again, without it
    assert "GOOD" not in possible_symbols(read_kconfig(tmp_path, "x86"))


MAKEFILES = {
    "Kconfig": KCONFIG,
    "drivers/Makefile": (
        "obj-$(CONFIG_GOOD)\t\t+= good.o\n"
        "obj-$(CONFIG_PXA_LED)\t\t+= pxa-led.o\n"
        "obj-$(CONFIG_PXA_LED)\t\t+= pxa/\n"
        "obj-$(CONFIG_PXA_OR_TEST)\t+= tested.o\n"
        "obj-$(CONFIG_PXA_LED)\t\t+= twice.o\n"
        "obj-$(CONFIG_GOOD)\t\t+= twice.o\n"
        "obj-$(CONFIG_PXA_LED)\t\t+= board.o\n"
        "board-y\t\t\t:= board_main.o \\\n\t\t\t   board_io.o\n"
        "obj-$(CONFIG_ARM_HELPER)\t+= helper.o\n"
        "obj-y\t\t\t\t+= computed/\n"
        "obj-$(CONFIG_GOOD)\t\t+= deep/inner/\n"
        "obj-y\t\t\t\t+= parts/\n"),
    # a composite's parts listed through its variable, as mm/Makefile lists memory_hotplug.o
    "drivers/parts/Makefile": ("parts-$(CONFIG_PXA_LED) += pxa_part.o\n"
                               "parts-$(CONFIG_GOOD) += good_part.o\nobj-y += $(parts-y)\n"),
    "drivers/pxa/Makefile": "obj-y += pxa-core.o\n",
    "drivers/computed/Makefile": "obj-$(CONFIG_PXA_LED) += $(PXA_OBJS) thing.o\n",
    "drivers/deep/inner/Makefile": "obj-$(CONFIG_PXA_LED) += inner.o\n",
}
SOURCES = ["drivers/good.c", "drivers/pxa-led.c", "drivers/pxa/pxa-core.c", "drivers/tested.c",
           "drivers/twice.c", "drivers/board_main.c", "drivers/board_io.c", "drivers/helper.c",
           "drivers/fragment.c", "drivers/computed/thing.c", "drivers/deep/inner/inner.c",
           "drivers/pxa/pxa.h", "drivers/unlisted/any.c", "drivers/parts/pxa_part.c",
           "drivers/parts/good_part.c"]


def test_unbuilt_files(tmp_path):
    write_tree(tmp_path, MAKEFILES)
    assert unbuilt_sources(tmp_path, "x86", SOURCES) == {
        "drivers/pxa-led.c",  # its option depends on what x86 never defines
        "drivers/pxa/pxa-core.c",  # always built in a directory no configuration enters
        "drivers/board_main.c", "drivers/board_io.c",  # parts of an object never built
        "drivers/helper.c",  # an option only an impossible one selects
        "drivers/deep/inner/inner.c",
        "drivers/parts/pxa_part.c",
    }


# fs/proc/Makefile: ``:=`` under an option empties the list when the option is built in
RESETS = {
    "Kconfig": "config MMU\n\tbool \"MMU\"\n",
    "fs/Makefile": "obj-y += proc/\n",
    "fs/proc/Makefile": ("proc-y := nommu.o task_nommu.o\nproc-$(CONFIG_MMU) := task_mmu.o\n"
                         "proc-y += generic.o\nobj-y += proc.o\n"
                         # another variable: ``-objs :=`` does not empty ``-y``
                         "helper-y := helper_main.o\nhelper-objs := $(helper-y)\n"
                         "obj-y += helper.o\n"),
}
RESET_SOURCES = ["fs/proc/nommu.c", "fs/proc/task_nommu.c", "fs/proc/task_mmu.c",
                 "fs/proc/generic.c", "fs/proc/helper_main.c"]


@pytest.mark.parametrize("on, off", [
    ({"MMU"}, {"fs/proc/nommu.c", "fs/proc/task_nommu.c"}),
    (set(), {"fs/proc/task_mmu.c"}),
])
def test_an_assignment_under_an_option_empties_the_list(tmp_path, on, off):
    write_tree(tmp_path, RESETS)
    assert kbuild_status(tmp_path, "x86", RESET_SOURCES, on) == (set(), off)


# drivers/char/ipmi/Makefile, kernel/Makefile, arch/x86/lib/Makefile: conditional blocks
BLOCKS = {
    "Kconfig": KCONFIG + "config SMP\n\tbool \"SMP\"\n",
    "drivers/Makefile": (
        "ipmi-y := intf.o\nifdef CONFIG_GOOD\nipmi-y += good_part.o\nendif\n"
        "ifdef CONFIG_ARM\nipmi-y += arm_part.o\nelse\nipmi-y += other_part.o\nendif\n"
        "obj-y += ipmi.o\n"
        "ifneq ($(CONFIG_SMP),y)\nobj-y += up.o\nendif\n"
        "ifeq ($(CONFIG_SMP), y)\nobj-y += smp.o\n"
        "else ifeq ($(CONFIG_ARM_HELPER),y)\nobj-y += helped.o\nendif\n"
        "ifeq ($(ARCH),x86)\nifndef CONFIG_GOOD\nobj-y += no_good.o\nendif\nendif\n"
        "ifeq ($(CONFIG_PXA_LED),)\nobj-y += no_pxa.o\nelse\nobj-y += pxa_only.o\nendif\n"),
}
BLOCK_SOURCES = ["drivers/intf.c", "drivers/good_part.c", "drivers/arm_part.c",
                 "drivers/other_part.c", "drivers/up.c", "drivers/smp.c", "drivers/helped.c",
                 "drivers/no_good.c", "drivers/no_pxa.c", "drivers/pxa_only.c"]


@pytest.mark.parametrize("on, off", [
    ({"SMP", "GOOD"}, {"drivers/up.c", "drivers/no_good.c"}),
    (set(), {"drivers/good_part.c", "drivers/smp.c"}),
])
def test_conditional_blocks_of_a_kbuild_file(tmp_path, on, off):
    """What an ``ifdef CONFIG_X`` / ``ifeq ($(CONFIG_X),y)`` block lists needs X on (never
    built when X never is); ``ifndef`` and ``ifneq (...,y)`` need it off, which only the
    derived configuration's own judgement reads (an option off may always be)."""
    write_tree(tmp_path, BLOCKS)
    unbuilt = {"drivers/arm_part.c", "drivers/helped.c", "drivers/pxa_only.c"}
    assert kbuild_status(tmp_path, "x86", BLOCK_SOURCES, on) == (unbuilt, off)


# arch/x86/mm/Makefile: ``$(BITS)`` is 64 with CONFIG_64BIT and 32 without it
SIZES = {
    "Kconfig": KCONFIG,
    "arch/x86/mm/Makefile": (
        "obj-y += init.o init_$(BITS).o\nobj-$(CONFIG_GOOD) += good_init_$(BITS).o\n"
        "obj-$(CONFIG_PXA_LED) += pxa_$(BITS).o\n"),
}
SIZE_SOURCES = ["arch/x86/mm/init.c", "arch/x86/mm/init_64.c", "arch/x86/mm/init_32.c",
                "arch/x86/mm/good_init_64.c", "arch/x86/mm/good_init_32.c",
                "arch/x86/mm/pxa_64.c", "arch/x86/mm/pxa_32.c"]


@pytest.mark.parametrize("on, off", [
    ({"64BIT", "GOOD"}, {"arch/x86/mm/init_32.c", "arch/x86/mm/good_init_32.c"}),
    ({"GOOD"}, {"arch/x86/mm/init_64.c", "arch/x86/mm/good_init_64.c"}),
    ({"64BIT"}, {"arch/x86/mm/init_32.c", "arch/x86/mm/good_init_32.c",
                 "arch/x86/mm/good_init_64.c"}),
])
def test_an_object_named_by_the_word_size(tmp_path, on, off):
    """``init_$(BITS).o`` lists ``init_64.o`` under ``CONFIG_64BIT`` and ``init_32.o`` without
    it: both may be built, the derived configuration builds one; the directory is judged."""
    write_tree(tmp_path, SIZES)
    unbuilt = {"arch/x86/mm/pxa_64.c", "arch/x86/mm/pxa_32.c"}
    assert kbuild_status(tmp_path, "x86", SIZE_SOURCES, on) == (unbuilt, off)


# fs/xfs/Makefile: ``xfs-y += $(addprefix scrub/, \ ...)`` in ``ifeq ($(CONFIG_X),y)`` blocks
PREFIXED = {
    "Kconfig": KCONFIG,
    "fs/xfs/Makefile": (
        "obj-y += xfs.o\nxfs-y += super.o\nifeq ($(CONFIG_GOOD),y)\n"
        "xfs-y += $(addprefix scrub/, \\\n\t\tscrub.o \\\n\t\tagheader.o \\\n\t\t)\n"
        "ifeq ($(CONFIG_QUOTED),y)\nxfs-y += $(addprefix scrub/, repair.o)\nendif\nendif\n"
        "xfs-$(CONFIG_PXA_LED) += $(addprefix pxa/, pxa.o)\n"),
}
PREFIXED_SOURCES = ["fs/xfs/super.c", "fs/xfs/scrub/scrub.c", "fs/xfs/scrub/agheader.c",
                    "fs/xfs/scrub/repair.c", "fs/xfs/pxa/pxa.c"]


@pytest.mark.parametrize("on, off", [
    ({"GOOD", "QUOTED"}, set()),
    ({"GOOD"}, {"fs/xfs/scrub/repair.c"}),
    (set(), {"fs/xfs/scrub/scrub.c", "fs/xfs/scrub/agheader.c", "fs/xfs/scrub/repair.c"}),
])
def test_objects_listed_with_a_prefix(tmp_path, on, off):
    """``$(addprefix scrub/, a.o b.o)`` lists ``scrub/a.o`` and ``scrub/b.o`` under the blocks
    around it (a .config without XFS_ONLINE_REPAIR does not build ``agheader_repair.c``); it
    was read as ``a.o`` beside the Makefile, and the directory as computed."""
    write_tree(tmp_path, PREFIXED)
    assert kbuild_status(tmp_path, "x86", PREFIXED_SOURCES, on) == ({"fs/xfs/pxa/pxa.c"}, off)


def test_user_mode_linux_code_of_the_architecture_is_unbuilt(tmp_path):
    """``arch/x86/um/`` is entered only by ``arch/um``'s Makefile (ARCH=um), whatever its own
    Makefile lists (with a variable: ``obj-y = bugs_$(BITS).o``)."""
    write_tree(tmp_path, {"Kconfig": KCONFIG, "arch/x86/um/Makefile": "obj-y = bugs_$(BITS).o\n",
                          "arch/x86/Kbuild": "obj-y += kernel/\n"})
    paths = ["arch/x86/um/bugs_64.c", "arch/x86/um/os-Linux/registers.c",
             "arch/x86/um/asm/processor.h", "arch/x86/kernel/a.c", "arch/x86/include/asm/a.h"]
    assert unbuilt_sources(tmp_path, "x86", iter(paths)) == set(paths[:3])


def test_units_are_the_listed_files_some_configuration_builds(tmp_path):
    """``units``: what Kbuild lists and may build; not an unlisted file nor one no
    configuration builds (``drivers/computed/thing.o``, under an option x86 lacks)."""
    write_tree(tmp_path, MAKEFILES)
    assert kbuild_judgement(tmp_path, "x86", SOURCES).units == {
        "drivers/good.c", "drivers/tested.c", "drivers/twice.c", "drivers/parts/good_part.c"}


def test_no_kconfig_nothing_is_unbuilt(tmp_path):
    write_tree(tmp_path, {k: v for k, v in MAKEFILES.items() if k != "Kconfig"})
    assert unbuilt_sources(tmp_path, "x86", SOURCES) == set()


# A driver's unit with an undeclared call, an unknown type and an include of an ARM header:
# three findings when x86 may build it, none when no configuration of x86 does.
DRIVER = """\
#include <asm/arch-pxa/regs.h>
#include "led.h"

int led_probe(void)
{
\tstruct pxa_regs r;
\treturn pxa_led_enable(r.base);
}
"""
TREE = {
    "include/linux/types.h": "#ifndef TYPES_H\n#define TYPES_H\ntypedef int s32;\n#endif\n",
    "drivers/led/led.h": "#include <linux/types.h>\nvoid led_off(s32 which);\n",
    "drivers/led/led.c": DRIVER,
    "drivers/Makefile": "obj-$(CONFIG_LED) += led/\n",
    "drivers/led/Makefile": "obj-$(CONFIG_LED) += led.o\n",
}


@pytest.mark.parametrize("depends, expected", [
    ("COMPILE_TEST", {("drivers/led/led.c", 1, "504_2", "asm/arch-pxa/regs.h"),
                      ("drivers/led/led.c", 6, "020_2", "pxa_regs"),
                      ("drivers/led/led.c", 7, "020_2", "pxa_led_enable")}),
    ("ARCH_PXA", set()),
    ("ARCH_PXA || COMPILE_TEST", {("drivers/led/led.c", 1, "504_2", "asm/arch-pxa/regs.h"),
                                  ("drivers/led/led.c", 6, "020_2", "pxa_regs"),
                                  ("drivers/led/led.c", 7, "020_2", "pxa_led_enable")}),
])
def test_unbuilt_driver_gives_no_findings(tmp_path, capsys, depends, expected):
    kconfig = (f"config COMPILE_TEST\n\tbool \"compile test\"\n"
               f"config LED\n\ttristate \"LED\"\n\tdepends on {depends}\n")
    write_tree(tmp_path, {**TREE, "Kconfig": kconfig,
                          "arch/x86/configs/x86_64_defconfig": "CONFIG_LED=y\n"})
    found = {f for f in checked_errors(tmp_path, capsys) if f[2] != "504_2"}
    assert found == {f for f in expected if f[2] != "504_2"}
    capsys.readouterr()
    from kernel_lsp.cli import main
    assert main(["check", "--root", str(tmp_path), "--format", "json"]) in (0, 1)
    warnings = {(f["root_path"], f["line"], f["code"], f["symbol"])
                for f in json.loads(capsys.readouterr().out)["findings"] if f["code"] == "504_2"}
    assert warnings == {f for f in expected if f[2] == "504_2"}
    model = Model(tmp_path / ".kernel-lsp" / "model.db")
    try:
        stored = json.loads(model.meta("unbuilt_sources"))
        led = next(fid for fid, p in model.file_paths().items() if p == "drivers/led/led.c")
        # the editor's tables (by name and by file) agree with the whole-tree ones
        hosted = {kind: led in getattr(Tables, kind)(model, "x86").hosted
                  for kind in ("eager", "lazy_for")}
    finally:
        model.close()
    assert stored["paths"] == ([] if expected else ["drivers/led/led.c"])
    assert hosted == {"eager": not expected, "lazy_for": not expected}


# ``lib/tree.c`` is kernel code (``lib/Makefile`` lists it, beside objects it computes, which
# leave the directory unjudged for unbuilt files) that a test program under ``tools/``
# also includes; the test program is a host program (it includes ``<stdio.h>``), and so would be
# a file only it included, but not a unit Kbuild builds: its findings stay.
SHARED_UNIT = {
    "Kconfig": "config X86\n\tdef_bool y\n",
    "Makefile": "obj-y += lib/\n",
    "lib/Makefile": "obj-y += tree.o $(EXTRA_OBJS)\n",
    "lib/tree.c": "int tree_insert(struct tree_node *n)\n{\n\treturn n->key;\n}\n",
    "tools/testing/tree/main.c": ('#include <stdio.h>\n#include "../../../lib/tree.c"\n'
                                  "int main(void) { return 0; }\n"),
    "tools/testing/tree/only_here.c": "int only(struct nowhere *p) { return p->x; }\n",
    "tools/testing/tree/user.c": '#include <stdio.h>\n#include "only_here.c"\n',
}


def test_a_unit_kbuild_builds_is_not_hosted_by_a_test_program_that_includes_it(tmp_path, capsys):
    write_tree(tmp_path, SHARED_UNIT)
    found = {(f[0], f[2], f[3]) for f in checked_errors(tmp_path, capsys)}
    assert found == {("lib/tree.c", "020_2", "tree_node"), ("lib/tree.c", "502_2", "tree_insert")}
    model = Model(tmp_path / ".kernel-lsp" / "model.db")
    try:
        ids = {p: fid for fid, p in model.file_paths().items()}
        hosted = {kind: {p for p in ("lib/tree.c", "tools/testing/tree/only_here.c")
                         if ids[p] in getattr(Tables, kind)(model, "x86").hosted}
                  for kind in ("eager", "lazy_for")}
    finally:
        model.close()
    assert hosted == {"eager": {"tools/testing/tree/only_here.c"},
                      "lazy_for": {"tools/testing/tree/only_here.c"}}


# A unit Kbuild builds that includes a header its build writes (``lib/Makefile`` names
# ``crctable.h``) and one that is just missing: quoted includes that resolve to nothing make no
# host program of it (a C library header is written ``<stdio.h>``). Its findings stay, but
# none that the generated header may answer (020_2 in a file that includes one; 404_2 below
# its include line: it may declare the function, or include the header that does; not 405_2:
# no header makes another file's static function callable), and no 504_2 for it;
# ``tools/user.c``, which includes ``<stdio.h>``, stays a host program.
GENERATED_INCLUDE = {
    "Kconfig": "config X86\n\tdef_bool y\n",
    "Makefile": "obj-y += lib/\n",
    "lib/Makefile": ("obj-y += crc.o other.o\n$(obj)/crc.o: $(obj)/crctable.h\n"
                     "$(obj)/crctable.h: $(obj)/gen_crctable\n"),
    "lib/other.c": ("int helper_elsewhere(void) { return 1; }\n"
                    "int helper_before(void) { return 2; }\n"
                    "static int helper_static(void) { return 3; }\n"),
    "lib/crc.c": ("int early(struct missing_early *p)\n{\n\treturn helper_before() + p->x;\n}\n"
                  '#include "crctable.h"\n#include "stale.h"\n'
                  "int crc(struct from_table *t)\n{\n\treturn helper_elsewhere() + t->x;\n}\n"
                  "int crc_static(void)\n{\n\treturn helper_static();\n}\n"),
    "tools/user.c": '#include <stdio.h>\nint user(struct nowhere_u *p) { return p->x; }\n',
}


def test_a_unit_with_a_quoted_include_that_resolves_to_nothing_is_kernel_code(tmp_path, capsys):
    write_tree(tmp_path, GENERATED_INCLUDE)
    found = {(f[0], f[1], f[2], f[3]) for f in checked_errors(tmp_path, capsys)}
    assert found == {("lib/crc.c", 3, "404_2", "helper_before"),
                     ("lib/crc.c", 13, "405_2", "helper_static")}
    from kernel_lsp.cli import main
    assert main(["check", "--root", str(tmp_path), "--format", "json"]) in (0, 1)
    warnings = {(f["root_path"], f["line"], f["code"], f["symbol"])
                for f in json.loads(capsys.readouterr().out)["findings"] if f["code"] == "504_2"}
    assert warnings == {("lib/crc.c", 6, "504_2", "stale.h")}


def _stamp(root) -> dict:
    model = Model(root / ".kernel-lsp" / "model.db")
    try:
        return {k: model.meta(k) for k in ("configuration_inputs", "unbuilt_sources")}
    finally:
        model.close()


def test_a_tree_moved_with_its_times_keeps_its_configuration(tmp_path):
    """The configuration's stamp names its inputs by their paths under the root: after ``mv``
    (or ``cp -a``) the re-index takes the cached configuration and Kbuild judgement, and a
    changed input is still seen."""
    import os
    import shutil

    from kernel_lsp.config import load_config
    from kernel_lsp.model.indexer import index

    first = write_tree(tmp_path / "a" / "linux", {
        **TREE, "Kconfig": "config LED\n\ttristate \"LED\"\n",
        "arch/x86/configs/x86_64_defconfig": "CONFIG_LED=y\n"})
    index(load_config(first)[0], jobs=1).model.close()
    before = _stamp(first)
    assert "Kconfig" in json.loads(before["configuration_inputs"])["kconfig"]
    moved = tmp_path / "b" / "elsewhere"
    moved.parent.mkdir()
    shutil.move(first, moved)
    index(load_config(moved)[0], jobs=1).model.close()
    assert _stamp(moved) == before
    defconfig = moved / "arch/x86/configs/x86_64_defconfig"
    defconfig.write_text("CONFIG_LED=m\n")
    os.utime(defconfig, ns=(1, 1))
    index(load_config(moved)[0], jobs=1).model.close()
    assert json.loads(_stamp(moved)["configuration_inputs"])["fingerprint"] != json.loads(
        before["configuration_inputs"])["fingerprint"]


# i915 on arm64: the driver depends on X86, so no configuration builds i915_gem_object.c, and
# the selftest it includes under an option that depends on the driver (a dropped branch) is no
# Kbuild object of its own. Its findings go with its includer's; a .c file that a built unit
# includes in a dropped branch (``#if 0``) keeps its finding, as does the built unit.
DROPPED_UNITS = {
    "Kconfig": ("config X86\n\tdef_bool y\n"
                "config GEM\n\ttristate \"a PXA driver\"\n\tdepends on ARCH_PXA\n"
                "config GEM_SELFTEST\n\tbool \"its selftests\"\n\tdepends on GEM\n"),
    "arch/x86/configs/x86_64_defconfig": "",
    "include/linux/types.h": "typedef int s32;\n",
    "drivers/Makefile": "obj-y += gem/ built/\n",
    "drivers/gem/Makefile": "obj-$(CONFIG_GEM) += gemdrv.o\ngemdrv-y := gem.o gt/gtt.o\n",
    "drivers/gem/gem.c": ("#include <linux/types.h>\nint gem_init(void) { return 0; }\n"
                          "#ifdef CONFIG_GEM_SELFTEST\n#include \"selftests/gem_st.c\"\n#endif\n"),
    "drivers/gem/selftests/gem_st.c": "int gem_st(void) { return st_subtest(1); }\n",
    # included from a subdirectory by the driver's path (``ccflags-y += -I $(src)``)
    "drivers/gem/gt/gtt.c": ("#ifdef CONFIG_GEM_SELFTEST\n#include \"selftests/mock_gtt.c\"\n"
                             "#endif\n"),
    "drivers/gem/selftests/mock_gtt.c": "int mock_gtt(void) { return st_mock(1); }\n",
    "drivers/built/Makefile": "obj-y += built.o\n",
    "drivers/built/built.c": ("#include <linux/types.h>\nint built(void) { return undeclared(); }\n"
                              "#if 0\n#include \"old.c\"\n#endif\n"),
    "drivers/built/old.c": "int old(void) { return old_helper(); }\n",
}


def test_a_c_file_only_unbuilt_files_include_in_dropped_lines_gives_no_findings(tmp_path,
                                                                               capsys):
    write_tree(tmp_path, DROPPED_UNITS)
    found = {(f[0], f[2], f[3]) for f in checked_errors(tmp_path, capsys)}
    assert found == {("drivers/built/built.c", "020_2", "undeclared"),
                     ("drivers/built/old.c", "020_2", "old_helper")}
    model = Model(tmp_path / ".kernel-lsp" / "model.db")
    try:
        ids = {p: fid for fid, p in model.file_paths().items()}
        hosted = {kind: {p for p in ("drivers/gem/selftests/gem_st.c", "drivers/built/old.c",
                                     "drivers/gem/selftests/mock_gtt.c")
                         if ids[p] in getattr(Tables, kind)(model, "x86").hosted}
                  for kind in ("eager", "lazy_for")}
    finally:
        model.close()
    selftests = {"drivers/gem/selftests/gem_st.c", "drivers/gem/selftests/mock_gtt.c"}
    assert hosted == {"eager": selftests, "lazy_for": selftests}


# A directory whose objects a Kbuild file computes (``fs_enet-objs := fs_enet-main.o
# $(fs_enet-m)``) is not judged file by file, but still as a whole: entered only under an option
# that is never on (FS_ENET needs powerpc's CPM), its files are unbuilt; one entered under an
# option that may be on keeps its findings.
COMPUTED_DIRS = {
    "Kconfig": ("config X86\n\tdef_bool y\n"
                "config ENET\n\ttristate \"a CPM ethernet\"\n\tdepends on CPM1\n"
                "config GOOD\n\ttristate \"an ethernet x86 has\"\n"),
    "arch/x86/configs/x86_64_defconfig": "",
    "drivers/Makefile": "obj-y += net/\n",
    "drivers/net/Makefile": "obj-$(CONFIG_ENET) += enet/\nobj-$(CONFIG_GOOD) += good/\n",
    "drivers/net/enet/Makefile": ("obj-$(CONFIG_ENET) += enet.o\n"
                                  "enet-objs := enet-main.o $(enet-m)\n"),
    "drivers/net/enet/enet-main.c": "int enet(void) { return cpm_command(1); }\n",
    "drivers/net/good/Makefile": ("obj-$(CONFIG_GOOD) += good.o\n"
                                  "good-objs := good-main.o $(good-m)\n"),
    "drivers/net/good/good-main.c": "int good(void) { return undeclared_good(1); }\n",
}


def test_a_computed_directory_only_never_on_options_enter_is_unbuilt(tmp_path, capsys):
    write_tree(tmp_path, COMPUTED_DIRS)
    assert {(f[0], f[2], f[3]) for f in checked_errors(tmp_path, capsys)} == {
        ("drivers/net/good/good-main.c", "020_2", "undeclared_good")}
    assert kbuild_judgement(tmp_path, "x86", ["drivers/net/enet/enet-main.c",
                                              "drivers/net/good/good-main.c"]).unbuilt == {
        "drivers/net/enet/enet-main.c"}


# lib/Makefile names some objects with variables (``$(libfdt_files)``), libstub renames its
# whole list (``lib-y := $(patsubst %.o,%.stub.o,$(lib-y))``): a file listed on its own under
# an option the configuration leaves off is still judged off there, unless an assignment
# empties its list.
COMPUTED_OFF = {
    "Kconfig": ("config X86\n\tdef_bool y\nconfig TEST_TREE\n\ttristate \"tree tests\"\n"
                "config STUB\n\tbool \"stub\"\n"),
    "Makefile": "obj-y += lib/\n",
    "lib/Makefile": ("obj-y += tree.o $(fdt_files)\nfdt_files = fdt.o\n"
                     "obj-$(CONFIG_TEST_TREE) += test_tree.o\nobj-$(CONFIG_STUB) += stub/\n"),
    "lib/stub/Makefile": ("lib-y := helper.o\nlib-$(CONFIG_TEST_TREE) += extra.o\n"
                          "lib-y := $(patsubst %.o,%.stub.o,$(lib-y))\n"),
}
COMPUTED_OFF_SOURCES = ["lib/tree.c", "lib/fdt.c", "lib/test_tree.c", "lib/stub/helper.c",
                        "lib/stub/extra.c"]


@pytest.mark.parametrize("on, off", [
    ({"X86", "STUB"}, {"lib/test_tree.c", "lib/stub/extra.c"}),
    ({"X86", "STUB", "TEST_TREE"}, set()),
])
def test_a_file_of_a_computed_directory_is_judged_off_on_its_own_listings(tmp_path, on, off):
    write_tree(tmp_path, COMPUTED_OFF)
    assert kbuild_judgement(tmp_path, "x86", COMPUTED_OFF_SOURCES, on).off == off


# drivers/gpu/drm/amd/display/dc/dml/Makefile: the objects a Make variable holds (``DML +=
# dcn20/dcn20_fpu.o`` in ``ifdef CONFIG_DRM_AMD_DC_DCN``), which reach a Kbuild list through
# other variables (``amdgpu-y += $(AMD_DISPLAY_FILES)``). One under an option that is never
# on is unbuilt and gives no finding; one under an option that may be on keeps its finding. A
# Make variable only makes unlisted objects unbuilt: an object a Kbuild list names is judged
# by that list (``pxa_listed.o`` stays unbuilt although ``OTHER`` holds it unconditionally).
VARIABLE_LISTS = {
    "Kconfig": KCONFIG,
    "arch/x86/configs/x86_64_defconfig": "CONFIG_GOOD=y\n",
    "drivers/Makefile": "obj-y += gpu/ other/\n",
    "drivers/gpu/Makefile": ("DISPLAY = display\ninclude $(src)/display/Makefile\n"
                             "gpu-y := main.o $(DISPLAY_FILES)\nobj-y += gpu.o\n"),
    "drivers/gpu/main.c": "int main_init(void) { return 0; }\n",
    "drivers/other/Makefile": "obj-$(CONFIG_PXA_LED) += pxa_listed.o\nOTHER = pxa_listed.o\n",
    "drivers/other/pxa_listed.c": "int pxa_listed(void) { return pxa_undeclared(); }\n",
    "drivers/gpu/display/Makefile": (
        "DML = calcs/bw.o\n"
        "ifdef CONFIG_PXA_LED\nDML += fpu/pxa_fpu.o\nendif\n"
        "ifdef CONFIG_GOOD\nDML += fpu/good_fpu.o\nendif\n"
        "DISPLAY_FILES += $(addprefix $(DISPLAY)/,$(DML))\n"),
    "drivers/gpu/display/calcs/bw.c": "int bw(void) { return bw_undeclared(); }\n",
    "drivers/gpu/display/fpu/pxa_fpu.c": "int pxa_fpu(void) { return fpu_assert(); }\n",
    "drivers/gpu/display/fpu/good_fpu.c": "int good_fpu(void) { return good_assert(); }\n",
}


def test_objects_a_make_variable_holds_under_a_never_on_option_are_unbuilt(tmp_path, capsys):
    write_tree(tmp_path, VARIABLE_LISTS)
    sources = [p for p in VARIABLE_LISTS if p.endswith(".c")]
    assert unbuilt_sources(tmp_path, "x86", sources) == {
        "drivers/gpu/display/fpu/pxa_fpu.c", "drivers/other/pxa_listed.c"}
    assert {(f[0], f[2], f[3]) for f in checked_errors(tmp_path, capsys)} == {
        ("drivers/gpu/display/calcs/bw.c", "020_2", "bw_undeclared"),
        ("drivers/gpu/display/fpu/good_fpu.c", "020_2", "good_assert")}


# drivers/thunderbolt/Makefile: ``obj-${CONFIG_USB4} := thunderbolt.o`` and
# ``thunderbolt-${CONFIG_ACPI} += acpi.o``, Make's other spelling of ``$(CONFIG_X)``: the
# lines were not read, so acpi.c, built only with ACPI (which riscv 6.1 never has), was
# checked (10 false 404_2 on riscv). One under an option that may be on keeps its finding.
BRACES = {
    "Kconfig": KCONFIG,
    "arch/x86/configs/x86_64_defconfig": "CONFIG_GOOD=y\n",
    "drivers/Makefile": "obj-${CONFIG_GOOD} += tb/\n",
    "drivers/tb/Makefile": ("obj-${CONFIG_GOOD} := tb.o\ntb-objs := nhi.o\n"
                            "tb-${CONFIG_PXA_LED} += pxa_acpi.o\ntb-${CONFIG_GOOD} += good_acpi.o\n"),
    "drivers/tb/nhi.c": "int nhi(void) { return 0; }\n",
    "drivers/tb/pxa_acpi.c": "int tb_acpi(void) { return acpi_fetch(); }\n",
    "drivers/tb/good_acpi.c": "int tb_good(void) { return good_fetch(); }\n",
}


def test_options_written_with_braces_are_read(tmp_path, capsys):
    write_tree(tmp_path, BRACES)
    sources = [p for p in BRACES if p.endswith(".c")]
    assert unbuilt_sources(tmp_path, "x86", sources) == {"drivers/tb/pxa_acpi.c"}
    assert {(f[0], f[2], f[3]) for f in checked_errors(tmp_path, capsys)} == {
        ("drivers/tb/good_acpi.c", "020_2", "good_fetch")}


# net/9p/Makefile: ``obj-$(CONFIG_NET_9P_XEN) += 9pnet_xen.o`` and ``9pnet_xen-objs :=
# trans_xen.o``; Make names may start with a digit (``8250-y``, ``6lowpan-y``, 23 lines in
# 6.1), but the listing's name was read only from a letter on: trans_xen.c was listed nowhere,
# so never unbuilt, and on riscv (no XEN) it checked the Xen headers (57 false findings). The
# part of one that may be built keeps its finding.
DIGITS = {
    "Kconfig": KCONFIG,
    "arch/x86/configs/x86_64_defconfig": "CONFIG_GOOD=y\n",
    "net/Makefile": "obj-$(CONFIG_GOOD) += 9p/\n",
    "net/9p/Makefile": ("obj-$(CONFIG_GOOD) := 9pnet.o\nobj-$(CONFIG_PXA_LED) += 9pnet_pxa.o\n"
                        "9pnet-objs := \\\n\tclient.o \\\n\n9pnet_pxa-objs := \\\n\ttrans_pxa.o \\\n"),
    "net/9p/client.c": "int client(void) { return good_fetch(); }\n",
    "net/9p/trans_pxa.c": "int trans_pxa(void) { return pxa_fetch(); }\n",
}


def test_names_of_composite_objects_may_start_with_a_digit(tmp_path, capsys):
    write_tree(tmp_path, DIGITS)
    sources = [p for p in DIGITS if p.endswith(".c")]
    assert unbuilt_sources(tmp_path, "x86", sources) == {"net/9p/trans_pxa.c"}
    assert {(f[0], f[2], f[3]) for f in checked_errors(tmp_path, capsys)} == {
        ("net/9p/client.c", "020_2", "good_fetch")}


# amdgpu/Makefile: ``ifneq ($(CONFIG_HSA_AMD),)`` / ``AMDKFD_PATH := ../amdkfd`` / ``include
# $(FULL_AMD_PATH)/amdkfd/Makefile`` / ``amdgpu-y += $(AMDKFD_FILES)``, and amdkfd/Makefile's
# ``AMDKFD_FILES += $(AMDKFD_PATH)/kfd_svm.o``: words with a path variable of the includer were
# not read, nor was the includer's guard, so amdkfd (HSA_AMD: x86, arm64, ppc64) was checked on
# riscv (27 false findings, 22 x 404_2 on svm_*). Objects under a path variable are found below
# the Makefile's directory or an ancestor; an included Makefile's objects need the includer's
# guards (transitively) besides their own.
INCLUDED_LISTS = {
    "Kconfig": KCONFIG,
    "arch/x86/configs/x86_64_defconfig": "CONFIG_GOOD=y\n",
    "drivers/Makefile": "obj-y += gpu/amdgpu/\n",
    "drivers/gpu/amdgpu/Makefile": (
        "FULL_PATH = $(srctree)/$(src)/..\n"
        "ifneq ($(CONFIG_PXA_LED),)\nKFD_PATH := ../kfd\ninclude $(FULL_PATH)/kfd/Makefile\n"
        "amdgpu-y += $(KFD_FILES)\nendif\n"
        "ifeq ($(CONFIG_GOOD),y)\ninclude $(FULL_PATH)/display/Makefile\n"
        "amdgpu-y += $(DISPLAY_FILES)\nendif\nobj-y += amdgpu.o\n"),
    "drivers/gpu/kfd/Makefile": "KFD_FILES := $(KFD_PATH)/kfd_module.o\n",
    "drivers/gpu/kfd/kfd_module.c": "int kfd(void) { return kfd_undeclared(); }\n",
    "drivers/gpu/display/Makefile": (
        "DISPLAY_FILES := $(DAL)/display/dc/core.o\ninclude $(FULL_PATH)/display/dc/Makefile\n"),
    "drivers/gpu/display/dc/Makefile": (
        "ifdef CONFIG_PXA_LED\nDISPLAY_FILES += $(DAL)/dc/pxa/pxa_dc.o\nendif\n"),
    "drivers/gpu/display/dc/core.c": "int core(void) { return core_undeclared(); }\n",
    "drivers/gpu/display/dc/pxa/pxa_dc.c": "int pxa_dc(void) { return dc_undeclared(); }\n",
}


def test_objects_of_an_included_makefile_need_its_includers_guards(tmp_path, capsys):
    write_tree(tmp_path, INCLUDED_LISTS)
    sources = [p for p in INCLUDED_LISTS if p.endswith(".c")]
    assert unbuilt_sources(tmp_path, "x86", sources) == {
        "drivers/gpu/kfd/kfd_module.c", "drivers/gpu/display/dc/pxa/pxa_dc.c"}
    assert {(f[0], f[2], f[3]) for f in checked_errors(tmp_path, capsys)} == {
        ("drivers/gpu/display/dc/core.c", "020_2", "core_undeclared")}


# A configuration that does not build them: an object only a Make variable holds is off when a
# block around its lines needs an option that is off (Debian's amd64 .config: amdkfd's
# ``ifneq ($(CONFIG_HSA_AMD_SVM),)`` / ``AMDKFD_FILES += $(AMDKFD_PATH)/kfd_svm.o``).
@pytest.mark.parametrize("on, off", [
    ({"GOOD"}, set()),
    (set(), {"drivers/gpu/display/dc/core.c"}),
])
def test_objects_only_a_make_variable_holds_are_judged_on_its_blocks(tmp_path, on, off):
    write_tree(tmp_path, INCLUDED_LISTS)
    sources = [p for p in INCLUDED_LISTS if p.endswith(".c")]
    assert kbuild_status(tmp_path, "x86", sources, on)[1] == off


# sound/soc/fsl/Kconfig: SND_SOC_EUKREA_TLV320 ``depends on ARCH_MXC && !ARM64``; a negation was
# taken as always possible, so arm64 checked eukrea-tlv320.c (5 false 020_2 on the arm32
# machine_is_*()), and the cpuidle drivers of arm32 boards, tiny RCU (``depends on !SMP``, and
# arm64's SMP is ``def_bool y``)... An option with no prompt, ``def_bool y`` and no dependency
# but such options is on in every configuration: its negation never holds.
ALWAYS = {
    "Kconfig": ("config ARM64\n\tdef_bool y\nconfig SMP\n\tdef_bool y\n\tdepends on ARM64\n"
                "config 64BIT\n\tbool \"64-bit\"\n\tdefault y\n"
                "config MXC\n\tbool \"an i.MX board\"\n"
                "config EUKREA\n\ttristate \"an arm32 board's codec\"\n\tdepends on MXC && !ARM64\n"
                "config TINY\n\tbool\n\tdefault y\n\tdepends on !SMP\n"
                "config NOT64\n\ttristate \"not on 64-bit\"\n\tdepends on !64BIT\n"),
    "arch/arm64/configs/defconfig": "CONFIG_MXC=y\n",
    "sound/Makefile": "obj-$(CONFIG_EUKREA) += eukrea.o\nobj-$(CONFIG_NOT64) += not64.o\n",
    "kernel/Makefile": "obj-$(CONFIG_TINY) += tiny.o\n",
    "Makefile": "obj-y += sound/ kernel/\n",
    "sound/eukrea.c": "int eukrea(void) { return machine_is_eukrea(); }\n",
    "sound/not64.c": "int not64(void) { return not64_helper(); }\n",
    "kernel/tiny.c": "int tiny(void) { return tiny_helper(); }\n",
}


def test_the_negation_of_an_option_always_on_never_holds(tmp_path, capsys):
    write_tree(tmp_path, ALWAYS)
    sources = [p for p in ALWAYS if p.endswith(".c")]
    assert unbuilt_sources(tmp_path, "arm64", sources) == {"sound/eukrea.c", "kernel/tiny.c"}


# drivers/gpu/drm/i915/Makefile: ``include $(src)/gvt/Makefile``, whose ``kvmgt-$(CONFIG_X) +=
# gvt/kvmgt.o ...`` name objects of i915's directory (Make reads it there, ``$(src)`` being
# i915's), then ``obj-$(CONFIG_DRM_I915_GVT_KVMGT) += kvmgt.o``: read in its own directory,
# the listings named gvt/gvt/*.o, so gvt's 22 files were listed nowhere and never unbuilt
# (arm64 and riscv checked them: 3 false 404_2 in kvmgt.c). An included Makefile's listings
# are read in its includer's directory (as well as its own).
INCLUDED_KBUILD = {
    "Kconfig": KCONFIG,
    "arch/x86/configs/x86_64_defconfig": "CONFIG_GOOD=y\n",
    "drivers/Makefile": "obj-y += gpu/\n",
    "drivers/gpu/Makefile": ("include $(src)/virt/Makefile\nobj-$(CONFIG_PXA_LED) += kvmgt.o\n"
                             "obj-$(CONFIG_GOOD) += good.o\n"),
    "drivers/gpu/virt/Makefile": "kvmgt-y += virt/kvm.o\ngood-y += virt/good_part.o\n",
    "drivers/gpu/virt/kvm.c": "int kvm(void) { return kvm_undeclared(); }\n",
    "drivers/gpu/virt/good_part.c": "int good_part(void) { return good_undeclared(); }\n",
}


def test_listings_of_an_included_makefile_are_its_includers(tmp_path, capsys):
    write_tree(tmp_path, INCLUDED_KBUILD)
    sources = [p for p in INCLUDED_KBUILD if p.endswith(".c")]
    assert unbuilt_sources(tmp_path, "x86", sources) == {"drivers/gpu/virt/kvm.c"}
    assert {(f[0], f[2], f[3]) for f in checked_errors(tmp_path, capsys)} == {
        ("drivers/gpu/virt/good_part.c", "020_2", "good_undeclared")}


# Kbuild enters arch/$(SRCARCH)/ alone, but the other architectures' Makefiles were not read, so
# their .c files were listed nowhere and taken as built: on riscv, arch/x86/xen/ and arch/arm/xen/
# were kernel code, and include/xen/, which only they include, was checked (49 false findings).
# Another architecture's file is built only where this one's Kbuild files name it (arm64's
# ``xen-arm-y += $(addprefix ../../arm/xen/, enlighten.o ...)``); a .c file a Make variable of a
# computed directory holds stays a unit of its own (lib/Makefile's ``libfdt_files = fdt.o ...``,
# which only other architectures' boot code includes). A header of another architecture's
# directory that no file includes is not this architecture's either (arm's and arm64's
# asm/xen/page.h on riscv, through which include/xen/interface/grant_table.h was checked).
OTHER_ARCHES = {
    "Kconfig": "config ARM64\n\tdef_bool y\nconfig GOOD\n\tbool \"good\"\n\tdefault y\n",
    "kernel-lsp.toml": 'arch = "arm64"\n',
    "arch/arm64/Makefile": "core-y += arch/arm64/xen/\n",
    "arch/arm64/xen/Makefile": ("xen-arm-y += $(addprefix ../../arm/xen/, enlighten.o)\n"
                                "obj-y := xen-arm.o\n"),
    "arch/arm/xen/enlighten.c": ('#include "../include/asm/used.h"\n'
                                 "int arm_xen(void) { return arm_undeclared() + used(); }\n"),
    "arch/arm/include/asm/used.h": "static inline int used(void) { return used_undeclared(); }\n",
    # another architecture's header nothing includes, and one only it includes
    "arch/arm/include/asm/xen/page.h": "#include <xen/arm/page.h>\n",
    "include/xen/arm/page.h": "static inline int page(void) { return page_undeclared(); }\n",
    "arch/arm64/include/asm/own.h": "static inline int own(void) { return own_undeclared(); }\n",
    "arch/x86/xen/enlighten.c": ("#include <xen/x86only.h>\n"
                                 "int x86_xen(void) { return x86only() + x86_undeclared(); }\n"),
    "include/xen/x86only.h": "static inline int x86only(void) { return x86only_undeclared(); }\n",
    "include/linux/types.h": "typedef int clockid_t;\n",
    "lib/Makefile": "libfdt_files = fdt.o\nlib-$(CONFIG_GOOD) += $(libfdt_files)\n",
    "lib/fdt.c": "int fdt(void) { return fdt_undeclared(); }\n",
    "arch/x86/boot/fdt.c": '#include "../../../lib/fdt.c"\n',
}


def test_other_architectures_files_are_built_only_where_named(tmp_path, capsys):
    write_tree(tmp_path, OTHER_ARCHES)
    sources = [p for p in OTHER_ARCHES if p.endswith(".c")]
    status = kbuild_judgement(tmp_path, "arm64", sources)
    assert status.unbuilt == {"arch/x86/xen/enlighten.c", "arch/x86/boot/fdt.c"}
    assert "lib/fdt.c" in status.units
    assert {(f[0], f[2], f[3]) for f in checked_errors(tmp_path, capsys)} == {
        ("arch/arm/xen/enlighten.c", "020_2", "arm_undeclared"),
        ("arch/arm/include/asm/used.h", "020_2", "used_undeclared"),
        ("arch/arm64/include/asm/own.h", "020_2", "own_undeclared"),
        ("lib/fdt.c", "020_2", "fdt_undeclared")}
