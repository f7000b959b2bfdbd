"""Translation units: a ``.c`` file that another ``.c`` file includes (``echo3g.c`` includes
``echo3g_dsp.c`` then ``echoaudio_3g.c``) shares that unit's statics, even those of a sibling
included after it; a file outside the unit does not."""

from __future__ import annotations

from tests.conftest import checked_errors, write_tree

TREE = {
    "Kconfig": "",
    "drivers/ubi/wl.c": 'static int wl_count;\n#include "fastmap-wl.c"\n#include "wl-core.c"\n',
    "drivers/ubi/wl-core.c": (
        "static int find_entry(int a)\n{\n\treturn a + wl_count + fm_entry(a);\n}\n"),
    # its own static prototype; the definition is in a sibling included later (echo3g_dsp.c)
    "drivers/ubi/fastmap-wl.c": (
        "static int find_entry(int a);\n"
        "static int fm_entry(int a)\n{\n\treturn a ? find_entry(a - 1) + wl_count : 0;\n}\n"),
    "drivers/ubi/other.c": (
        "extern int find_entry(int a);\nextern int wl_count;\n"
        "int other(void)\n{\n\treturn find_entry(1) + wl_count;\n}\n"),
}
# (path, 1-based line, code, symbol): only the file outside the unit is wrong
EXPECTED = {
    ("drivers/ubi/other.c", 2, "406_2", "wl_count"),  # an extern of a static
    ("drivers/ubi/other.c", 5, "406_2", "wl_count"),
    ("drivers/ubi/other.c", 5, "405_2", "find_entry"),
}


def test_statics_are_shared_inside_a_unit_only(tmp_path, capsys):
    got = checked_errors(write_tree(tmp_path, TREE), capsys)
    assert got == EXPECTED


HOST_TREE = {
    "Kconfig": "",
    # a host program (it includes the C library) and a header only it includes
    "arch/x86/tools/gen.c": '#include <stdio.h>\n#include "gen.h"\nint main(void)\n{\n'
                            "\treturn emit(stdout);\n}\n",
    "arch/x86/tools/gen.h": "static int emit(FILE *f)\n{\n\treturn fprintf(f, \"x\\n\");\n}\n",
    # the kernel's own header keeps its findings
    "include/linux/k.h": "static inline int k(void)\n{\n\treturn undefined_k();\n}\n",
}


def test_a_header_only_host_programs_include_is_theirs(tmp_path, capsys):
    got = checked_errors(write_tree(tmp_path, HOST_TREE), capsys)
    assert got == {("include/linux/k.h", 3, "020_2", "undefined_k")}


FALLBACK_TREE = {
    "Kconfig": "",
    # acpica: a header that falls back on its own C library header when the build does not
    # define ACPI_USE_SYSTEM_CLIBRARY (Linux does, in a shared header): kernel code all the same
    "include/acpi/platform/aclinux.h": "#define ACPI_USE_SYSTEM_CLIBRARY\n",
    "drivers/acpi/acpica/accommon.h": (
        '#include "aclocal.h"\n#ifndef ACPI_USE_SYSTEM_CLIBRARY\n#include "acclib.h"\n#endif\n'),
    "drivers/acpi/acpica/aclocal.h": (
        "static inline int acpi_x(void)\n{\n\treturn undefined_acpi();\n}\n"),
    "drivers/acpi/acpica/nsconvert.c": '#include "accommon.h"\nint ns(void)\n{\n'
                                       "\treturn acpi_x();\n}\n",
    # the same include with no condition: a host program's, and so is the header only it uses
    "drivers/acpi/tools/dump.c": '#include "dumplib.h"\n#include "dump.h"\n',
    "drivers/acpi/tools/dump.h": "static int dump(void)\n{\n\treturn undefined_dump();\n}\n",
    # a guard no shared header defines (a Makefile's -DISP2401): still a sign of another build
    "drivers/media/isp/isp.h": '#ifndef ISP2401\n#include "isplib.h"\n#endif\n'
                               "static int isp(void)\n{\n\treturn undefined_isp();\n}\n",
    "drivers/media/isp/isp.c": '#include "isp.h"\n',
}


def test_an_unresolved_include_under_an_undecided_if_does_not_make_a_host_program(
        tmp_path, capsys):
    got = checked_errors(write_tree(tmp_path, FALLBACK_TREE), capsys)
    assert got == {("drivers/acpi/acpica/aclocal.h", 3, "020_2", "undefined_acpi")}


# Host programs that Kbuild names (``hostprogs``), whose files include the C library only
# through their own header: nothing of theirs, nor the .c file only they include, is kernel code.
HOSTPROGS_TREE = {
    "Kconfig": "",
    "arch/x86/tools/Makefile": "hostprogs += relocs\nrelocs-objs := relocs_64.o relocs_common.o\n",
    "arch/x86/tools/relocs.h": "#include <stdio.h>\n#include <string.h>\n",
    "arch/x86/tools/relocs_common.c": (
        '#include "relocs.h"\nvoid die(int e)\n{\n\tfputs(strerror(e), stderr);\n}\n'),
    "arch/x86/tools/relocs_64.c": '#include "relocs.h"\n#include "relocs.c"\n',
    "arch/x86/tools/relocs.c": "int walk(int e)\n{\n\treturn lookup_sym(strerror(e));\n}\n",
    "kernel/k.c": "int k(int e)\n{\n\treturn strerror(e) != 0;\n}\n",
}


def test_host_programs_of_kbuild_are_not_kernel_code(tmp_path, capsys):
    got = checked_errors(write_tree(tmp_path, HOSTPROGS_TREE), capsys)
    assert got == {("kernel/k.c", 3, "020_2", "strerror")}
