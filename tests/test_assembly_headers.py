"""Headers only the assembler reads (``model/programs.assembly_headers``): in what the
configuration keeps of a header that no file includes, a line that starts with an assembler
directive (``.macro``), or an ``#error`` under ``#ifndef __ASSEMBLY__``. Read as C, their
assembly gave findings (``arch/x86/entry/calling.h``: type 'macro' used but defined nowhere;
arm64's ``asm-uaccess.h``, ``fpsimdmacros.h``, ``assembler.h``, ``el2_setup.h``). A header
whose assembly sits in a dropped ``#ifdef __ASSEMBLY__`` branch is C and keeps its findings."""

from __future__ import annotations

from kernel_lsp.model.programs import assembly_headers
from kernel_lsp.parse.macroenv import Configuration
from tests.conftest import checked_errors, write_tree

CALLING = """\
/* SPDX-License-Identifier: GPL-2.0 */
#include <linux/linkage.h>

.macro PUSH_REGS rdx=%rdx rax=%rax save_ret=0
\tpushq\t%rdi
\tpushq\t%rsi
\tCLEAR_REGS
.endm

.macro CLEAR_REGS
\txorl\t%esi, %esi
.endm
"""
ASSEMBLER = """\
#ifndef __ASM_ASSEMBLER_H
#define __ASM_ASSEMBLER_H

#ifndef __ASSEMBLY__
#error "Only include this from assembly code"
#endif

#include <linux/linkage.h>

\t.irp\tn,0,1,2,3
\twx\\n\t.req\tw\\n
\t.endr

\tadr_l\tx0, sym
\tmsr\tdaifset, #0xf
#endif
"""
# uses assembler.h's macros: only ever included by assembly files
UACCESS = """\
#include <asm/assembler.h>

\tuser_ldst(x0, x1, 8)
"""
MIXED = """\
#ifdef __ASSEMBLY__
.macro get_thread_info, rd
\tmrs\t\\rd, sp_el0
.endm
#else
void thread_info_dump(struct thread_snapshot *snap);
#endif
"""
# a C file whose #error guards a configuration: C, its findings stay
GUARDED = """\
#ifndef CONFIG_GOOD
#error "needs CONFIG_GOOD"
#endif
void guarded(struct guard_missing *g);
"""


def _tree(root):
    return write_tree(root, {
        "Kconfig": "config X86\n\tdef_bool y\n",
        "include/linux/linkage.h": "#define ENTRY(name) name:\n",
        "arch/x86/entry/calling.h": CALLING,
        "arch/x86/include/asm/assembler.h": ASSEMBLER,
        "arch/x86/include/asm/asm-uaccess.h": UACCESS,
        "arch/x86/include/asm/thread.h": MIXED,
        "include/linux/guarded.h": GUARDED,
    })


def test_assembly_headers_are_not_checked_as_c(tmp_path, capsys):
    root = _tree(tmp_path)
    assert {(f[0], f[2], f[3]) for f in checked_errors(root, capsys)} == {
        ("arch/x86/include/asm/thread.h", "020_2", "thread_snapshot"),
        ("arch/x86/include/asm/thread.h", "502_2", "thread_info_dump"),
        ("include/linux/guarded.h", "020_2", "guard_missing"),
        ("include/linux/guarded.h", "502_2", "guarded")}


def test_which_headers_only_the_assembler_reads(tmp_path):
    root = _tree(tmp_path)
    paths = ["arch/x86/entry/calling.h", "arch/x86/include/asm/assembler.h",
             "arch/x86/include/asm/asm-uaccess.h", "arch/x86/include/asm/thread.h",
             "include/linux/guarded.h", "include/linux/linkage.h"]
    env = Configuration({}, "test", True)
    assert assembly_headers(root, paths, env) == {"arch/x86/entry/calling.h",
                                                  "arch/x86/include/asm/assembler.h"}
    # a directive in a comment, or in a macro's body, is no assembly line
    write_tree(root, {"include/linux/doc.h": "/* use as:\n.macro foo\n */\n#define ASM \\\n"
                                             "\t.macro bar\nint doc(void);\n"})
    assert assembly_headers(root, ["include/linux/doc.h"], env) == set()
