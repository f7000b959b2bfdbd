"""Configuration-aware preprocessing: #if expressions in three values, the branches a
configuration drops, the configuration derived from Kconfig and a defconfig, Kbuild flags and
the programs built apart from the kernel."""

from __future__ import annotations

import textwrap

import pytest

from kernel_lsp.model.configuration import load_configuration
from kernel_lsp.model.kbuild import kbuild_defines, kbuild_include_dirs, read_makefile
from kernel_lsp.model.programs import KERNEL, host_sources, program_of
from kernel_lsp.parse.cexpr import evaluate
from kernel_lsp.parse.conditions import active_text, active_text_unsure, inactive_ranges
from kernel_lsp.parse.macroenv import Configuration

ENV = Configuration({"SMP": "y", "E1000": "m", "HZ": "250", "NR_CPUS": "64"}, "test", True,
                    frozenset({"MEMCG", "DEBUG_FOO"}))

EXPRESSIONS = [
    ("defined(CONFIG_SMP)", True),
    ("!defined(CONFIG_SMP)", False),
    ("defined CONFIG_SMP && CONFIG_HZ == 250", True),
    ("CONFIG_NR_CPUS > 32 && CONFIG_NR_CPUS <= 0x40", True),
    ("defined(CONFIG_E1000)", False),  # a module: only CONFIG_E1000_MODULE is defined
    ("defined(CONFIG_E1000_MODULE)", True),
    ("IS_ENABLED(CONFIG_E1000)", True),
    ("IS_BUILTIN(CONFIG_E1000)", False),
    ("IS_MODULE(CONFIG_E1000)", True),
    ("defined(CONFIG_ARM64)", False),  # off and not undecided
    ("defined(CONFIG_MEMCG)", None),  # a user could turn it on
    ("defined(CONFIG_MEMCG) && 0", False),
    ("defined(CONFIG_MEMCG) || 1", True),
    ("defined(__KERNEL__) && !defined(__ASSEMBLY__)", True),
    ("defined(MODULE)", False),
    ("defined(ACPI_APPLICATION) || defined(ACPI_ASL_COMPILER)", False),  # ACPICA's tools only
    ("BITS_PER_LONG == 64", None),  # a header's macro: unknown
    ("__GNUC__ >= 5 ? 1 : UNKNOWN", True),
    ("KERNEL_VERSION(6, 1, 0) > KERNEL_VERSION(5, 19, 0)", True),
    ("(1 << 3) + 010 == 16", True),
    ("1 / 0", None),
    ("defined(", None),  # malformed: unknown, never an exception
    ("'A' == 65", True),
]


@pytest.mark.parametrize("expr, expected", EXPRESSIONS)
def test_if_expressions_in_three_values(expr, expected):
    assert evaluate(expr, ENV) is expected


SOURCE = b"""#ifndef _X_H
#define _X_H
struct box {
#ifdef CONFIG_SMP
	int per_cpu;
#else
	int single;
#endif
};
#if defined(CONFIG_MEMCG)
int memcg_kept;
#else
int memcg_stub;
#endif
#ifdef CONFIG_DEBUG_FOO
int debug_variant;
#else
int plain_variant;
#endif
#ifdef CONFIG_ARM64
int arm;
#elif IS_ENABLED(CONFIG_E1000)
int e1000;
#ifdef __ASSEMBLY__
asm;
#endif
#else
int neither;
#endif
#define LOCAL_FLAG
#ifdef LOCAL_FLAG
int local_kept;
#endif
#ifdef CREATE_TRACE_POINTS
int trace_instances;
#endif
#endif
"""


def test_one_branch_of_each_group_is_kept():
    text, ranges = active_text(SOURCE, ENV)
    assert len(text) == len(SOURCE) and text.count(b"\n") == SOURCE.count(b"\n")
    kept = {w.decode() for w in text.split() if w.endswith(b";")}
    assert kept == {"per_cpu;", "memcg_kept;", "plain_variant;", "e1000;", "local_kept;", "};"}
    dropped = b"".join(SOURCE[s:e] for s, e in ranges)
    for name in (b"single", b"memcg_stub", b"debug_variant", b"arm", b"asm", b"neither",
                 b"trace_instances"):
        assert name in dropped
    assert b"#else" in text and b"#endif" in text  # directive lines stay


def test_no_configuration_keeps_first_branches_but_not_debug_variants():
    ranges = inactive_ranges(b"#ifdef CONFIG_DEBUG_X\nint d;\n#else\nint n;\n#endif\n"
                             b"#ifdef CONFIG_FOO\nint f;\n#else\nint g;\n#endif\n",
                             Configuration(), known=False)
    assert len(ranges) == 2
    assert active_text(b"int x;\n", None) == (b"int x;\n", [])


def _kept(src: bytes, env) -> set[str]:
    text, _ = active_text(src, env)
    return {w.decode().rstrip(";") for w in text.split() if w.endswith(b";") and w != b"};"}


def test_a_name_defined_nowhere_takes_the_alternative():
    """``#ifdef __ECOS`` / ``#else``: the compiler takes the #else; a name Kbuild passes with
    -D, one the file defines above, or a group with no alternative keep the first branch."""
    src = (b"#ifdef __ECOS\nint ecos;\n#else\nint linux_os;\n#endif\n"
           b"#if defined(PCI)\nint pci;\n#else\nint isa;\n#endif\n"
           b"#define LOCAL_FLAG\n#ifdef LOCAL_FLAG\nint local;\n#else\nint not_local;\n#endif\n"
           b"#ifdef HASH_MIX\nint arch_mix;\n#elif defined(CONFIG_SMP)\nint smp_mix;\n#endif\n"
           b"#ifdef HAVE_THING\nint only_branch;\n#endif\n"
           b"#if defined(_TEST_HARNESS) || defined(FPGA_USB4)\nint harness;\n#else\nint kernel;\n"
           b"#endif\n#if defined(SOC_SIM) || defined(PCI)\nint sim_or_pci;\n#else\nint neither;\n"
           b"#endif\n")
    env = Configuration({"SMP": "y"}, "test", True, command_line=frozenset({"PCI"}))
    assert _kept(src, env) == {"linux_os", "pci", "local", "smp_mix", "only_branch", "kernel",
                               "sim_or_pci"}
    # the alternative taken so is kept unsure, guarded by the name: a file that includes this
    # one may define it (``au8820.c`` defines ``CHIP_AU8820``, then includes au88x0_core.c)
    _text, _ranges, unsure = active_text_unsure(src, env)
    at = src.index(b"int linux_os;")
    assert [(u[2], u[3]) for u in unsure if u[0] <= at < u[1]] == [("__ECOS", None)]
    assert not [u for u in unsure if u[0] <= src.index(b"int isa;") < u[1]]


KCONFIG = {
    "Kconfig": """
        source "arch/$(SRCARCH)/Kconfig"
        source "mm/Kconfig"
        """,
    "arch/x86/Kconfig": """
        config X86
        \tdef_bool y
        \tselect HAVE_THING
        config 64BIT
        \tbool "64-bit kernel"
        \tdefault y
        config X86_32
        \tdef_bool y
        \tdepends on !64BIT
        config HAVE_THING
        \tbool
        """,
    "mm/Kconfig": """
        menu "Memory"
        config MMU
        \tdef_bool y
        config MEMCG
        \tbool "Memory controller"
        \tdepends on MMU && !X86_32
        \thelp
        \t  config INSIDE_HELP is only text
        config ARM_ONLY
        \tbool "Only on arm"
        \tdepends on ARM
        config IPMI_LIKE
        \ttristate 'a prompt in single quotes'
        \tdepends on MMU
        config NETFS_LIKE
        \ttristate
        config 9P_LIKE
        \ttristate "a name that starts with a digit"
        \tdefault y
        \tselect NETFS_LIKE
        config CUBIC_LIKE
        \ttristate "defined twice"
        \tdepends on ARM_ONLY
        \tdefault m
        config CUBIC_LIKE
        \ttristate
        \tdepends on !ARM_ONLY
        \tdefault y
        config HZ
        \tint "Timer frequency"
        \tdefault 250
        choice
        \tprompt "Allocator"
        \tdefault SLUB
        config SLAB
        \tbool "SLAB"
        config SLUB
        \tbool "SLUB"
        endchoice
        config NEEDS_THING
        \tbool "Needs thing"
        \tdepends on HAVE_THING
        endmenu
        """,
    "arch/x86/configs/x86_64_defconfig": "CONFIG_NEEDS_THING=y\n# CONFIG_HZ is not set\n",
}


def _tree(root, files: dict[str, str]):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_configuration_from_defconfig_and_kconfig(tmp_path):
    env, files = load_configuration(_tree(tmp_path, KCONFIG), "x86")
    assert env.known and "x86_64_defconfig" in env.source
    assert set(files) == {"Kconfig", "arch/x86/Kconfig", "mm/Kconfig"}
    assert env.values["X86"] == "y" and env.values["64BIT"] == "y" and env.values["MMU"] == "y"
    assert "X86_32" not in env.values  # its dependency fails
    assert env.values["HAVE_THING"] == "y" and env.values["NEEDS_THING"] == "y"  # select, set
    assert env.values["SLUB"] == "y" and "SLAB" not in env.values  # the choice's default
    assert env.defined("CONFIG_MEMCG") is None  # undecided: a user could turn it on
    assert env.defined("CONFIG_IPMI_LIKE") is None  # so could they this one
    assert env.values["NETFS_LIKE"] == "y"  # selected by 9P_LIKE, defined after it
    assert env.values["CUBIC_LIKE"] == "y"  # its second definition's dependencies and default
    assert env.defined("CONFIG_ARM_ONLY") is False and env.defined("CONFIG_INSIDE_HELP") is False
    assert env.value("CONFIG_HZ") == 250


def test_a_symbol_only_sanitizers_turn_on_is_a_debug_variant(tmp_path):
    # arch/x86/Kconfig's GENERIC_CSUM (``default y if KMSAN || KASAN``) swaps asm/checksum.h's
    # x86 code for asm-generic/checksum.h: only in sanitizer builds
    files = {**KCONFIG, "lib/Kconfig": """
        config KASAN
        \tbool "KASAN: dynamic memory safety error detector"
        config GENERIC_CSUM
        \tbool
        \tdefault y if KASAN
        config ZONE_LIKE
        \tbool
        \tdefault y if MEMCG || KASAN
        """}
    files["Kconfig"] += 'source "lib/Kconfig"\n'
    env, _ = load_configuration(_tree(tmp_path, files), "x86")
    assert env.variants == {"GENERIC_CSUM"}  # ZONE_LIKE: MEMCG too turns it on
    src = (b"#ifdef CONFIG_GENERIC_CSUM\nint generic;\n#else\nint x86;\n#endif\n"
           b"#ifdef CONFIG_ZONE_LIKE\nint zone;\n#else\nint no_zone;\n#endif\n")
    assert _kept(src, env) == {"x86", "zone"}
    assert type(env).from_json(env.to_json()) == env


def test_dot_config_and_autoconf_win(tmp_path):
    root = _tree(tmp_path, {**KCONFIG, ".config": "CONFIG_SLAB=y\n# CONFIG_SLUB is not set\n"})
    env, _ = load_configuration(root, "x86")
    assert env.source == ".config" and env.defined("CONFIG_SLAB") and not env.defined(
        "CONFIG_SLUB") and env.defined("CONFIG_MEMCG") is False
    (root / ".config").unlink()
    _tree(root, {"include/generated/autoconf.h": "#define CONFIG_E1000_MODULE 1\n"
                                                 "#define CONFIG_HZ 100\n"})
    env, _ = load_configuration(root, "x86")
    assert env.source.endswith("autoconf.h") and env.call("IS_MODULE", ["CONFIG_E1000"]) == 1
    assert env.value("CONFIG_HZ") == 100
    assert load_configuration(tmp_path / "nowhere", "x86")[0].known is False


MAKEFILES = [
    ("NOUVEAU_PATH ?= $(srctree)\nccflags-y += -I $(NOUVEAU_PATH)/$(src)/include\n"
     "include $(src)/nvkm/Kbuild\n", "drivers/gpu/drm/nouveau",
     ([], ["drivers/gpu/drm/nouveau/include"])),
    ("ccflags-y += -I $(srctree)/$(src)/libxfs\nxfs-y += libxfs/xfs_ag.o\n", "fs/xfs",
     ([], ["fs/xfs/libxfs"])),
    ("ccflags-y := -I$(src)/inc\nobj-y += a.o\n", "drivers/x", (["drivers/x/inc"], [])),
    ("subdir-ccflags-y += -I $(srctree)/include/x\n", "drivers/y", ([], ["include/x"])),
    ("ccflags-y += -I/usr/include -I$(UNKNOWN)/x\n", "drivers/z", ([], [])),
    # atomisp: the -I options gathered in a list variable that ccflags names
    ("top = $(srctree)/drivers/w/\nINCLUDES += -I$(top)/include/ \\\n\t-I$(top)/pci/\n"
     "INCLUDES += -I$(top)/more\nDEFINES += -DDEBUG\n"
     "ccflags-y += $(INCLUDES) $(DEFINES) -fno-common\nobj-y += a.o\n", "drivers/w",
     (["drivers/w/include", "drivers/w/pci", "drivers/w/more"], [])),
]


@pytest.mark.parametrize("text, directory, expected", MAKEFILES)
def test_kbuild_include_dirs(text, directory, expected):
    assert read_makefile(text, directory) == expected


def test_a_makefile_included_from_another_directory_gets_the_includers_flags(tmp_path):
    """amdgpu/Makefile sets FULL_AMD_DISPLAY_PATH and includes ../display/Makefile, whose
    subdir-ccflags use it; display/'s files are built by amdgpu with both sets of flags."""
    _tree(tmp_path, {
        "drm/amd/amdgpu/Makefile": "FULL_AMD_PATH=$(srctree)/$(src)/..\nDISPLAY=display\n"
                                   "FULL_DISPLAY = $(FULL_AMD_PATH)/$(DISPLAY)\n"
                                   "ccflags-y := -I$(FULL_AMD_PATH)/include -I$(FULL_DISPLAY)/dc\n"
                                   "include $(FULL_DISPLAY)/Makefile\n",
        "drm/amd/display/Makefile": "subdir-ccflags-y += -I$(FULL_DISPLAY)/dc/inc/\n",
        "drm/amd/display/dc/calcs/x.c": ""})
    local, subdir = kbuild_include_dirs(tmp_path, ["drm/amd/amdgpu", "drm/amd/display/dc/calcs"])
    assert local["drm/amd/amdgpu"] == ["drm/amd/include", "drm/amd/display/dc"]
    assert subdir["drm/amd/display"] == ["drm/amd/include", "drm/amd/display/dc",
                                         "drm/amd/display/dc/inc"]
    assert "drm/amd/display/dc/inc" in subdir["drm/amd/amdgpu"]


def test_kbuild_command_line_defines(tmp_path):
    _tree(tmp_path, {"drivers/skfp/Makefile": "ccflags-y := -DPCI -DMEM_MAPPED_IO -Wno-x\n",
                     "fs/Kbuild": "CFLAGS_a.o += -D FOO=1 -I$(src)\n",
                     "tools/Makefile": "CFLAGS += -DTOOLS_ONLY\n"})
    names, files = kbuild_defines(tmp_path)
    assert names == {"PCI", "MEM_MAPPED_IO", "FOO"}
    assert files == ["drivers/skfp/Makefile", "fs/Kbuild"]


def test_other_architectures_define_nothing_here(tmp_path):
    # arm64's compat vDSO passes -DENABLE_COMPAT_VDSO=1; include/vdso/datapage.h tests it, and
    # on x86 its #else branch (the x86 vDSO's own header) is what builds
    _tree(tmp_path, {"arch/arm64/kernel/vdso32/Makefile": "VDSO_CFLAGS += -DENABLE_COMPAT_VDSO=1\n",
                     "arch/x86/entry/vdso/Makefile": "CFLAGS_vclock.o += -DBUILD_VDSO\n",
                     "arch/Makefile.extra": "X += -DIN_ARCH_TOP\n"})
    assert kbuild_defines(tmp_path)[0] == {"ENABLE_COMPAT_VDSO", "BUILD_VDSO", "IN_ARCH_TOP"}
    assert kbuild_defines(tmp_path, "x86")[0] == {"BUILD_VDSO", "IN_ARCH_TOP"}


def test_programs_built_apart_from_the_kernel(tmp_path):
    _tree(tmp_path, {"arch/x86/tools/Makefile": "hostprogs += relocs\n"
                                                "relocs-objs := relocs_32.o relocs_64.o\n",
                     "lib/Makefile": "hostprogs := gen_crc32table\n"})
    host = host_sources(tmp_path, ["arch/x86/tools", "lib"])
    assert host == {"arch/x86/tools/relocs_32.c", "arch/x86/tools/relocs_64.c",
                    "lib/gen_crc32table.c"}
    assert program_of("lib/gen_crc32table.c", host).startswith("host program")
    assert program_of("arch/x86/boot/compressed/misc.c") == "x86 decompressor"
    assert program_of("arch/x86/boot/main.c") == "x86 setup"
    assert program_of("arch/x86/boot/boot.h") == KERNEL  # headers belong to every program
    assert program_of("fs/open.c", host) == KERNEL


FALLBACK = b"""#include <a.h>
#if !defined(ACPI_USE_SYSTEM_CLIBRARY)
#include "acclib.h"
#else
#include "never.h"
#endif
#ifdef CONFIG_SMP
#include "smp.h"
#endif
#ifdef CONFIG_MEMCG
# include "memcg.h"
#endif
"""


def test_an_include_under_an_undecided_ifndef_names_its_guard():
    from kernel_lsp.parse.extract import extract

    got = {i.target: i.guard for i in extract("x.h", FALLBACK, env=ENV).includes}
    # never.h: dropped (the first undecided branch is kept); smp.h: decided by the
    # configuration; memcg.h: undecided, but not a fallback for builds that lack a name
    assert got == {"a.h": None, "acclib.h": "ACPI_USE_SYSTEM_CLIBRARY", "smp.h": None,
                   "memcg.h": None}


def test_fault_injection_capabilities_are_debug_variants():
    """``#ifdef CONFIG_FAIL_MAKE_REQUEST`` around a ``should_fail`` call, whose declaration
    ``fault-inject.h`` keeps under ``#ifdef CONFIG_FAULT_INJECTION`` (a debug variant,
    dropped): both go when the configuration does not decide them (derived: no ``.config``);
    ``CONFIG_FAILOVER`` is a network feature and stays."""
    src = (b"#ifdef CONFIG_FAIL_MAKE_REQUEST\nint make_request;\n#endif\n"
           b"#if IS_ENABLED(CONFIG_FAIL_SUNRPC)\nint sunrpc;\n#endif\n"
           b"#ifdef CONFIG_FAILSLAB\nint slab;\n#endif\n"
           b"#ifdef CONFIG_FAILOVER\nint failover;\n#endif\n")
    assert _kept(src, Configuration({}, "test", False)) == {"failover"}


@pytest.mark.parametrize("text", [b"int x;\n#if A \\", b"int x;\n#if A \\\r",
                                  b"#ifdef B\\", b"#if A\n#elif B \\"])
def test_a_directive_continued_at_the_end_of_the_text_ends_there(text):
    # an editor's buffer while the last line is typed: the continuation loop never ended
    # (the extraction, the index worker and the server's model thread hung for good)
    import threading

    from kernel_lsp.parse.buffer import Buffer
    from kernel_lsp.parse.extract import extract

    done = []
    worker = threading.Thread(target=lambda: done.append(
        (active_text_unsure(text, ENV), extract("a.c", text, env=ENV), Buffer(text, env=ENV))),
        daemon=True)
    worker.start()
    worker.join(20)
    assert done, "still running after 20 s"


def test_deep_nesting_costs_what_as_many_groups_in_a_row_cost():
    # each directive asked every enclosing group whether it was kept: 20,000 nested #if took
    # 6 s, the square of the depth
    import time

    n = 20000
    nested = b"#if 1\n" * n + b"#define INNER 1\nint x;\n" + b"#endif\n" * n
    in_a_row = b"#if 1\n#endif\n" * n + b"#define INNER 1\nint x;\n"
    timed = []
    for src in (in_a_row, nested):
        start = time.perf_counter()
        ranges = inactive_ranges(src, Configuration())
        timed.append(time.perf_counter() - start)
        assert ranges == []
    assert timed[1] < 5 * timed[0] + 0.05, timed
    deep_zero = b"#if 1\n" * 300 + b"#if 0\nint dropped;\n#endif\n" + b"#endif\n" * 300
    (start, end), = inactive_ranges(deep_zero, Configuration())
    assert deep_zero[start:end] == b"int dropped;\n"
