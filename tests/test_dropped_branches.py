"""Names defined only in ``#if`` branches the configuration drops are not "defined nowhere":
the code using them may be built only where that branch is kept. A name defined nowhere at all
is still 020_2."""

from __future__ import annotations

import json

import pytest

from kernel_lsp.cli import main
from kernel_lsp.parse.hidden import hidden_names
from tests.conftest import checked_errors, write_tree

HEADER = (
    "#ifdef CONFIG_DEBUG_THING\n"
    "#define DBG_LEVEL(x) ((x) + 1)\n"
    "struct dbg_state {\n\tint depth;\n};\n"
    "typedef struct {\n\tint n;\n} dbg_count_t;\n"
    "void dbg_dump(struct dbg_state *s);\n"
    "#endif\n")

TREE = {
    "Kconfig": "config DEBUG_THING\n\tbool \"debug\"\n",
    "include/linux/thing.h": HEADER,
    "drivers/thing/thing.c": (
        "#include <linux/thing.h>\n"
        "#ifdef CONFIG_DEBUG_THING\n#endif\n"
        "int thing(void)\n{\n\tstruct dbg_state s;\n\tdbg_count_t c;\n"
        "\tdbg_dump(&s);\n\treturn DBG_LEVEL(1) + thing_typo();\n}\n"),
}


def test_what_a_dropped_branch_defines():
    start = HEADER.index("#define")
    got = {(n, k, s.line) for n, k, s in hidden_names(HEADER.encode(), [(start, len(HEADER) - 7)])}
    assert got == {("DBG_LEVEL", "macro", 1), ("dbg_state", "struct", 2),
                   ("dbg_count_t", "typedef", 7), ("dbg_dump", "function", 8)}


def test_a_name_of_a_dropped_branch_is_no_020_2(tmp_path, capsys):
    got = checked_errors(write_tree(tmp_path, TREE), capsys)
    assert got == {("drivers/thing/thing.c", 9, "020_2", "thing_typo")}


def test_with_the_users_config_a_dropped_definition_is_missing(tmp_path, capsys):
    """A ``.config`` is not a guess: what it drops is not compiled, so the uses are reported."""
    got = checked_errors(write_tree(tmp_path, {**TREE, ".config": "# CONFIG_DEBUG_THING is not set\n"}),
                         capsys)
    assert {(code, sym) for _p, _l, code, sym in got} >= {
        ("020_2", "dbg_state"), ("020_2", "dbg_count_t"), ("020_2", "dbg_dump"),
        ("020_2", "thing_typo")}


# The names are also declared in a header the file does not include: without the dropped
# branches of the header it does include (a declaration, an #include), each call would be a
# 404_2 pointing there. The file is built only with the option that keeps them.
ELSEWHERE = {
    **TREE,
    "arch/x86/configs/x86_64_defconfig": "# CONFIG_DEBUG_THING is not set\n",
    "include/linux/thing.h": HEADER + "#ifdef CONFIG_DEBUG_THING\n#include <linux/dbgfs.h>\n#endif\n",
    "include/linux/dbgfs.h": "#include <linux/seqf.h>\nvoid dbgfs_create(void);\n",
    "include/linux/seqf.h": "struct seqf_buf {\n\tint n;\n};\nint seqf_printf(const char *fmt, ...);\n",
    "include/linux/other.h": (
        "#define DBG_LEVEL(x) (x)\nvoid dbg_dump(struct dbg_state *s);\nint other_only(void);\n"),
    "drivers/Makefile": "obj-y += thing/\n",
    "drivers/thing/Makefile": "obj-$(CONFIG_DEBUG_THING) += thing.o\n",
    "drivers/thing/thing.c": (
        "#include <linux/thing.h>\n"
        "int thing(void)\n{\n\tstruct dbg_state s;\n\tstruct seqf_buf b;\n"
        "\tdbg_dump(&s);\n\tdbgfs_create();\n\tseqf_printf(\"x\");\n"
        "\treturn DBG_LEVEL(1) + other_only() + b.n;\n}\n"),
}
SEEN_ELSEWHERE = {(5, "407_2", "seqf_buf"), (6, "404_2", "dbg_dump"),
                  (7, "404_2", "dbgfs_create"), (8, "404_2", "seqf_printf"),
                  (9, "404_2", "DBG_LEVEL"), (9, "404_2", "other_only")}


def test_a_dropped_declaration_in_an_included_header_is_no_404_2(tmp_path, capsys):
    """The configuration that builds the file keeps the branch: only the call that no
    included header declares, in any branch, is reported."""
    got = checked_errors(write_tree(tmp_path, ELSEWHERE), capsys)
    assert {(line, code, sym) for _p, line, code, sym in got} == {(9, "404_2", "other_only")}


def test_a_file_this_configuration_builds_sees_what_it_keeps(tmp_path, capsys):
    got = checked_errors(write_tree(tmp_path, {**ELSEWHERE,
                                               "drivers/thing/Makefile": "obj-y += thing.o\n"}),
                         capsys)
    assert {(line, code, sym) for _p, line, code, sym in got
            if code in ("404_2", "407_2")} == SEEN_ELSEWHERE


def test_with_the_users_config_a_file_it_builds_sees_what_it_keeps(tmp_path, capsys):
    """A ``.config`` is not a guess: a file it builds is read as it drops the branch."""
    got = checked_errors(write_tree(tmp_path, {**ELSEWHERE,
                                               "drivers/thing/Makefile": "obj-y += thing.o\n",
                                               ".config": "# CONFIG_DEBUG_THING is not set\n"}),
                         capsys)
    assert {(line, code, sym) for _p, line, code, sym in got
            if code in ("404_2", "407_2")} == SEEN_ELSEWHERE


def test_with_the_users_config_a_file_it_does_not_build_is_read_as_its_options_would(
        tmp_path, capsys):
    """A file the user's ``.config`` does not build (``obj-$(CONFIG_DEBUG_THING)``, not set)
    is compiled only by a configuration that keeps the branch, as with a derived one: Debian's
    amd64 config drops ``kernel/locking/lockdep.c`` (``struct lock_class`` is under
    ``CONFIG_LOCKDEP``) and 8,485 other listed files of 6.1."""
    tree = {**ELSEWHERE, ".config": "# CONFIG_DEBUG_THING is not set\n",
            "drivers/thing/thing.c": ELSEWHERE["drivers/thing/thing.c"].replace(
                "\tstruct seqf_buf b;\n", "\tstruct seqf_buf b;\n\tdbg_count_t c;\n\tstruct nowhere *n;\n")}
    got = checked_errors(write_tree(tmp_path, tree), capsys)
    assert {(line, code, sym) for path, line, code, sym in got if path.endswith("thing.c")} == {
        (7, "020_2", "nowhere"), (11, "404_2", "other_only")}


def test_with_the_users_config_a_header_only_files_it_does_not_build_read_is_read_so_too(
        tmp_path, capsys):
    """A private header of a file the ``.config`` does not build is read by no file it
    builds: with ``struct dbg_state`` dropped, its use is no finding (Debian's amd64 config:
    ``lockdep_internals.h``, only ``CONFIG_LOCKDEP``'s files include it, 13 findings); its
    typo still is. A header a file it builds includes too is read strictly."""
    private = ("static inline int thing_depth(struct dbg_state *s)\n{\n\treturn s->depth + "
               "thing_typo();\n}\n")
    tree = {**ELSEWHERE, ".config": "# CONFIG_DEBUG_THING is not set\n",
            "drivers/thing/thing_priv.h": private, "drivers/thing/thing_shared.h": private,
            "drivers/thing/thing.c": '#include "thing_priv.h"\n#include "thing_shared.h"\n'
                                     + ELSEWHERE["drivers/thing/thing.c"],
            "drivers/thing/Makefile": "obj-$(CONFIG_DEBUG_THING) += thing.o\nobj-y += other.o\n",
            "drivers/thing/other.c": '#include <linux/thing.h>\n#include "thing_shared.h"\n'}
    got = checked_errors(write_tree(tmp_path, tree), capsys)
    assert {(path, line, code, sym) for path, line, code, sym in got if path.endswith(".h")
            and path.startswith("drivers/")} == {
        ("drivers/thing/thing_priv.h", 3, "020_2", "thing_typo"),
        ("drivers/thing/thing_shared.h", 1, "020_2", "dbg_state"),
        ("drivers/thing/thing_shared.h", 1, "502_2", "thing_depth"),
        ("drivers/thing/thing_shared.h", 3, "020_2", "dbg_state"),
        ("drivers/thing/thing_shared.h", 3, "020_2", "thing_typo")}


def test_a_dropped_include_found_through_a_drivers_own_include_path(tmp_path, capsys):
    """A header of a file the ``.config`` does not build includes, in a dropped branch, a
    header named from the driver's top directory (its Makefile's ``-I``: mlx5's
    ``en_accel/ktls_txrx.h`` includes ``en/txrx.h`` under ``CONFIG_MLX5_EN_TLS``, 10 404_2 in
    ``ktls_tx.c``): the configuration that builds the file keeps it."""
    tree = {**TREE, ".config": "# CONFIG_DEBUG_THING is not set\n",
            "drivers/Makefile": "obj-y += mlx/\n",
            "drivers/mlx/Makefile": ("ccflags-y += -I$(srctree)/drivers/mlx\nobj-y += en/txrx.o\n"
                                     "obj-$(CONFIG_DEBUG_THING) += acc/tls.o\n"),
            "drivers/mlx/en/txrx.h": "int txrx_room(void);\n",
            "drivers/mlx/en/txrx.c": '#include "txrx.h"\nint txrx_room(void)\n{\n\treturn 0;\n}\n',
            "drivers/mlx/acc/tls_txrx.h": '#ifdef CONFIG_DEBUG_THING\n#include "en/txrx.h"\n#endif\n',
            "drivers/mlx/acc/tls.c": ('#include "tls_txrx.h"\n'
                                      "int tls(void)\n{\n\treturn txrx_room() + tls_typo();\n}\n")}
    got = checked_errors(write_tree(tmp_path, tree), capsys)
    assert {(path, line, code, sym) for path, line, code, sym in got
            if path.startswith("drivers/mlx/")} == {("drivers/mlx/acc/tls.c", 4, "020_2", "tls_typo")}


# A .c file that only a dropped ``#include "x.c"`` of a built file names is built by no
# configuration that drops the line (i915's selftests, under CONFIG_DRM_I915_SELFTEST); it
# sees what its includer sees (``SUBTEST``, which i915_selftest.h defines under that option,
# not the one of dma-buf's selftest.h).
SELFTEST = {
    "Kconfig": "config SELFTEST\n\tbool \"selftests\"\n",
    "include/linux/st.h": ("#ifdef CONFIG_SELFTEST\nstruct st_case {\n\tint n;\n};\n"
                           "int st_run(struct st_case *c);\n#define SUBTEST(x) st_run(x)\n"
                           "#endif\n"),
    "include/linux/other_st.h": "#define SUBTEST(x) (x)\n",
    "drivers/Makefile": "obj-y += gem/\n",
    "drivers/gem/Makefile": "obj-y += gem.o\n",
    "drivers/gem/gem.c": ("#include <linux/st.h>\nint gem(void)\n{\n\treturn 0;\n}\n"
                          "#ifdef CONFIG_SELFTEST\n#include \"selftests/mock_ctx.c\"\n"
                          "#include \"selftests/gem_st.c\"\n#endif\n"),
    # a helper .c file included before it: what its own header declares is seen there too
    "drivers/gem/selftests/mock_ctx.h": "int mock_ctx_close(int n);\n",
    "drivers/gem/selftests/mock_ctx.c": ('#include "mock_ctx.h"\n'
                                         "int mock_ctx_close(int n)\n{\n\treturn n;\n}\n"),
    "drivers/gem/selftests/gem_st.c": ("static int gem_st(void)\n{\n\tstruct st_case c;\n"
                                       "\treturn st_run(&c) + st_typo(&c) + SUBTEST(&c)\n"
                                       "\t\t+ mock_ctx_close(1);\n}\n"),
}


@pytest.mark.parametrize("config", ["# CONFIG_SELFTEST is not set\n", None])
def test_a_c_file_only_a_dropped_include_names_is_read_as_its_options_would(
        tmp_path, capsys, config):
    tree = {**SELFTEST, **({".config": config} if config else {
        "arch/x86/configs/x86_64_defconfig": "# CONFIG_SELFTEST is not set\n"})}
    got = checked_errors(write_tree(tmp_path, tree), capsys)
    assert got == {("drivers/gem/selftests/gem_st.c", 4, "020_2", "st_typo")}


# A header that only an #include of a dropped branch names is read by no file of this
# configuration: nothing in it is reported. A header that nothing includes at all is checked
# on its own.
RT_BODY = ("#include <asm/rt-only.h>\n"
           "static inline int rt_val(rt_base_t b)\n{\n\treturn b.v;\n}\n")
UNREAD = {
    "Kconfig": "config RT\n\tbool \"real time\"\n\tdepends on ARCH_RT\n",
    "arch/x86/configs/x86_64_defconfig": "",
    "include/linux/rt_types.h": "typedef struct {\n\tint v;\n} rt_base_t;\n",
    "include/linux/lock.h": "#ifdef CONFIG_RT\n#include <linux/lock_rt.h>\n#endif\n",
    "include/linux/lock_rt.h": RT_BODY,
    "include/linux/orphan.h": RT_BODY,
    "drivers/x/x.c": "#include <linux/lock.h>\nint x(void)\n{\n\treturn 0;\n}\n",
}


def test_a_header_no_file_of_this_configuration_reads_gives_nothing(tmp_path, capsys):
    write_tree(tmp_path, UNREAD)
    capsys.readouterr()
    assert main(["check", "--root", str(tmp_path), "--format", "json"]) == 1
    got = {(f["root_path"], f["line"], f["code"], f["symbol"])
           for f in json.loads(capsys.readouterr().out)["findings"]}
    assert got == {("include/linux/orphan.h", 1, "504_2", "asm/rt-only.h"),
                   ("include/linux/orphan.h", 2, "407_2", "rt_base_t")}
