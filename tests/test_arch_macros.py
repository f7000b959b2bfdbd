"""The compiler's predefined macros follow the architecture (``parse/macroenv.predefined``):
with ``arch = "arm64"``, GCC defines ``__aarch64__`` and not ``__x86_64__``, so the x86 branch
of ``#if defined(__x86_64__) ... #elif defined(__aarch64__)`` is dropped and the arm64 one is
what is checked (vmwgfx_msg.c, drm_vm.c, lib/zstd's CPU switches)."""

from __future__ import annotations

import json

from kernel_lsp.parse.macroenv import Configuration, predefined
from tests.conftest import checked_errors, write_tree

KCONFIG = """\
source "arch/$(SRCARCH)/Kconfig"
config 64BIT
\tdef_bool y
"""

# a shared header declaring each architecture's part, as <linux/...> headers do
HEADER = """\
#ifdef CONFIG_X86
void x86_helper(void);
#endif
#ifdef CONFIG_ARM64
void arm64_helper(void);
#endif
"""


DRIVER = """\
#include <linux/cpuhelp.h>

#if defined(__x86_64__)
static void pick(void) { x86_helper(); }
#elif defined(__aarch64__)
static void pick(void) { arm64_helper(); }
#endif

void driver_run(void)
{
\tpick();
\tnever_declared();
}
"""


def _tree(root, arch):
    return write_tree(root, {
        "Kconfig": KCONFIG,
        "Makefile": "obj-y += drivers/\n",
        "kernel-lsp.toml": f'arch = "{arch}"\n',
        f"arch/{arch}/configs/defconfig": "CONFIG_64BIT=y\n",
        "arch/arm64/Kconfig": "config ARM64\n\tdef_bool y\n",
        "arch/x86/Kconfig": "config X86\n\tdef_bool y\n",
        "include/linux/cpuhelp.h": HEADER,
        "drivers/Makefile": "obj-y += cpu/\n",
        "drivers/cpu/Makefile": "obj-y += driver.o\nobj-$(CONFIG_X86) += x86.o\n"
                                "obj-$(CONFIG_ARM64) += arm64.o\n",
        "drivers/cpu/driver.c": DRIVER,
        "drivers/cpu/arm64.c": "void arm64_helper(void) {}\n",
        "drivers/cpu/x86.c": "void x86_helper(void) {}\n",
    })


def test_arm64_reads_the_arm64_branches(tmp_path, capsys):
    root = _tree(tmp_path, "arm64")
    assert checked_errors(root, capsys) == {
        ("drivers/cpu/driver.c", 12, "020_2", "never_declared")}


def test_x86_still_reads_the_x86_branches(tmp_path, capsys):
    root = _tree(tmp_path, "x86")
    assert checked_errors(root, capsys) == {
        ("drivers/cpu/driver.c", 12, "020_2", "never_declared")}


def test_predefined_macros_per_architecture():
    arm64, x86 = Configuration(arch="arm64"), Configuration()
    assert arm64.defined("__aarch64__") and not arm64.defined("__x86_64__")
    assert x86.defined("__x86_64__") and not x86.defined("__aarch64__")
    assert arm64.defined("__KERNEL__") and arm64.value("__GNUC__") == 12
    # an architecture without a table: the others' macros undefined, its own unknown
    riscv = predefined("loongarch")
    assert riscv["__x86_64__"] is None and riscv["__aarch64__"] is None
    assert "__loongarch__" not in riscv
    assert Configuration.from_json(arm64.to_json()).arch == "arm64"
    assert arm64.digest() != x86.digest()


# arm64's xor-neon.c calls GCC's NEON intrinsics, declared in <arm_neon.h>, which Kbuild finds
# in the compiler's own include directory; asm/neon-intrinsics.h includes it right inside its
# include guard. A file that sees no such header keeps its finding, and a header that is just
# missing keeps its 504_2.
NEON_GUARD = """\
#ifndef __ASM_NEON_INTRINSICS_H
#define __ASM_NEON_INTRINSICS_H
#ifndef __GENKSYMS__
#include <arm_neon.h>
#endif
#endif
"""
XOR_NEON = """\
#include <asm/neon-intrinsics.h>

void xor2(unsigned long *p1, unsigned long *p2)
{
\tuint64x2_t v0 = veorq_u64(vld1q_u64(p1), vld1q_u64(p2));
\tvst1q_u64(p1, v0);
}
"""
PLAIN = """\
#include <asm/not-there.h>
#include <asm/vdso.h>

void plain(unsigned long *p1)
{
\tvld1q_u64(p1);
}
"""
# a generated header inside a header's own include guard is no sign of anything (asm/vdso.h,
# which most of arm64 reads): what the file sees is still checked
VDSO = """\
#ifndef __ASM_VDSO_H
#define __ASM_VDSO_H
#include <generated/vdso-offsets.h>
#endif
"""


def test_neon_intrinsics_are_the_compilers(tmp_path, capsys):
    root = write_tree(tmp_path, {
        "Kconfig": KCONFIG, "kernel-lsp.toml": 'arch = "arm64"\n',
        "arch/arm64/Kconfig": "config ARM64\n\tdef_bool y\n",
        "arch/arm64/configs/defconfig": "", "include/linux/types.h": "",
        "arch/arm64/include/asm/neon-intrinsics.h": NEON_GUARD,
        "arch/arm64/include/asm/vdso.h": VDSO,
        "arch/arm64/lib/Makefile": "obj-y += xor-neon.o plain.o\n",
        "arch/arm64/lib/xor-neon.c": XOR_NEON,
        "arch/arm64/lib/plain.c": PLAIN,
    })
    assert checked_errors(root, capsys) == {("arch/arm64/lib/plain.c", 6, "020_2", "vld1q_u64")}
    from kernel_lsp.cli import main
    assert main(["check", "--root", str(root), "--format", "json"]) == 1
    warnings = {(f["root_path"], f["symbol"]) for f in json.loads(capsys.readouterr().out)[
        "findings"] if f["code"] == "504_2"}
    assert warnings == {("arch/arm64/lib/plain.c", "asm/not-there.h")}


# Checked with the whole tree, another architecture's unit is not an includer of a shared header
# for this one: arch/x86's file that reads asm-generic/csum.h without the types gives no 407_2
# in the header on arm64, arm64's own such unit does.
def test_another_architectures_unit_is_no_context_of_a_shared_header(tmp_path, capsys):
    root = write_tree(tmp_path, {
        "Kconfig": KCONFIG, "kernel-lsp.toml": 'arch = "arm64"\n',
        "arch/arm64/Kconfig": "config ARM64\n\tdef_bool y\n",
        "arch/arm64/configs/defconfig": "",
        "include/linux/types.h": "typedef unsigned int u32;\n",
        "include/asm-generic/csum.h": "static inline u32 csum_fold(u32 sum) { return sum; }\n",
        "arch/x86/lib/Makefile": "obj-y += x86csum.o\n",
        "arch/x86/lib/x86csum.c": "#include <asm-generic/csum.h>\n",
        "arch/arm64/lib/Makefile": "obj-y += armcsum.o typed.o\n",
        "arch/arm64/lib/typed.c": "#include <linux/types.h>\n#include <asm-generic/csum.h>\n",
    })
    header = {f for f in checked_errors(root, capsys) if f[0] == "include/asm-generic/csum.h"}
    assert header == set()
    (root / "arch/arm64/lib/armcsum.c").write_text("#include <asm-generic/csum.h>\n")
    header = {f for f in checked_errors(root, capsys) if f[0] == "include/asm-generic/csum.h"}
    assert header == {("include/asm-generic/csum.h", 1, "407_2", "u32")}


# arch/riscv/include/asm/sbi.h and kernel/sbi.c: GCC gives a riscv kernel object its word size,
# ``__riscv_xlen`` (64 for rv64), which ``#if __riscv_xlen == 32`` / ``#else`` tests; unknown, the
# first branch was kept and the 64-bit declaration dropped (a false 404_2 on the call below)
RISCV_SBI = """\
#if __riscv_xlen == 32
void sbi_call32(unsigned long a, unsigned long b);
#else
void sbi_call64(unsigned long a);
#endif
"""
RISCV_DRIVER = """\
#include <linux/sbi.h>

void driver_run(void)
{
\tsbi_call64(1);
\tnever_declared();
}
"""


def test_riscv_defines_its_word_size(tmp_path, capsys):
    write_tree(tmp_path, {
        "Kconfig": KCONFIG,
        "Makefile": "obj-y += drivers/ arch/riscv/kernel/\n",
        "kernel-lsp.toml": 'arch = "riscv"\n',
        "arch/riscv/configs/defconfig": "CONFIG_64BIT=y\n",
        "arch/riscv/Kconfig": "config RISCV\n\tdef_bool y\n",
        "include/linux/sbi.h": RISCV_SBI,
        "arch/riscv/kernel/Makefile": "obj-y += sbi.o\n",
        "arch/riscv/kernel/sbi.c": "void sbi_call64(unsigned long a) {}\n",
        "drivers/Makefile": "obj-y += driver.o\n",
        "drivers/driver.c": RISCV_DRIVER,
    })
    assert checked_errors(tmp_path, capsys) == {("drivers/driver.c", 6, "020_2", "never_declared")}
    riscv = Configuration(arch="riscv")
    assert riscv.value("__riscv_xlen") == 64 and riscv.defined("__riscv")
    assert Configuration(arch="arm64").defined("__riscv_xlen") is False



# drivers/video/fbdev/sis/sis_main.c: inside a body, a group on the compiler's own macros opens
# a brace that another such group closes (``#if !defined(__i386__) && !defined(__x86_64__)`` /
# ``if (videoram) {`` ... ``} else {`` / ``#endif`` ... ``#if ...`` / ``}`` / ``#endif``). On
# arm64 the branches are kept, and with their directive lines left for the grammar the rest of
# the file (lines 4202-6867) became an ERROR and sisfb_post_sis300 was lost (a false 020_2 on
# its call; the grammar's recovery depends on the whole file, so the test reads the parser's
# text). The configuration decides these macros as it does options: the lines are blanked,
# as those of ``#ifdef CONFIG_PM`` are; a group on a name nothing decides keeps them.
SIS = b"""\
static int map_memory(int videoram, int base)
{
#if !defined(__i386__) && !defined(__x86_64__)
\tif (videoram) {
\t\tbase = videoram;
\t} else {
#endif
\t\tbase = probe_size(base);
#if !defined(__i386__) && !defined(__x86_64__)
\t}
#endif
\treturn base;
}
"""


def test_a_group_on_predefined_macros_that_opens_a_brace_is_blanked():
    from kernel_lsp.parse.conditions import active_text
    from kernel_lsp.parse.preprocess import parser_text
    arm64, x86 = Configuration({}, "test", True, arch="arm64"), Configuration({}, "test", True)
    out = parser_text(active_text(SIS, arm64)[0])
    assert len(out) == len(SIS) and b"#" not in out
    assert b"if (videoram) {" in out and b"} else {" in out
    # on x86 the branches are dropped, the lines too (a group left with no text)
    out = parser_text(active_text(SIS, x86)[0])
    assert b"#" not in out and b"videoram) {" not in out and b"probe_size(base)" in out
    # under a macro no configuration sets, the text may be what no build reads: the lines stay
    other = SIS.replace(b"!defined(__i386__) && !defined(__x86_64__)", b"!defined(SIS_PCI)")
    assert parser_text(active_text(other, arm64)[0]).count(b"#if !defined(SIS_PCI)") == 2
