"""Include resolution: quoted/angled forms, ``..``, asm-generic fallback, generated headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel_lsp.config import Config, linux_include_paths, load_config
from kernel_lsp.model.resolve import IncludeResolver, is_generated, kbuild_named
from kernel_lsp.model.store import Model
from tests.conftest import checked_errors, write_tree

LINUX_FILES = {
    "include/linux/ktime.h",
    "include/linux/fs.h",
    "include/uapi/linux/fs.h",
    "include/uapi/linux/types.h",
    "include/asm-generic/mcs_spinlock.h",
    "include/asm-generic/bitops/le.h",
    "include/uapi/asm-generic/ioctl.h",
    "arch/x86/include/asm/processor.h",
    "arch/arm64/include/asm/processor.h",
    "arch/arm64/kernel/setup.c",
    "fs/internal.h",
    "fs/ext4/ext4.h",
    "fs/ext4/inode.c",
    "fs/ext4/sub/deep.c",
    "drivers/gpu/drm/i915/i915_drv.h",
    "drivers/gpu/drm/i915/display/intel_display.c",
    "ktime.h",
}


def linux_resolver(files=LINUX_FILES) -> IncludeResolver:
    config = Config(root=Path("/nowhere"), include_paths=linux_include_paths("x86"),
                    linux_like=True)
    return IncludeResolver(config, set(files))


@pytest.fixture
def r() -> IncludeResolver:
    return linux_resolver()


def test_angled_through_include_paths_in_order(r):
    assert r.resolve("fs/ext4/inode.c", "linux/ktime.h", True) == "include/linux/ktime.h"
    # include/ comes before include/uapi/: the kernel header shadows the uapi one
    assert r.resolve("fs/ext4/inode.c", "linux/fs.h", True) == "include/linux/fs.h"
    assert r.resolve("fs/ext4/inode.c", "linux/types.h", True) == "include/uapi/linux/types.h"
    assert r.resolve("fs/ext4/inode.c", "uapi/linux/fs.h", True) == "include/uapi/linux/fs.h"


def test_angled_never_looks_beside_the_file(r):
    assert r.resolve("fs/ext4/inode.c", "ext4.h", True) is None
    assert r.resolve("fs/ext4/inode.c", "ext4.h", False) == "fs/ext4/ext4.h"


def test_quoted_beside_first_then_include_paths(r):
    assert r.resolve("fs/ext4/inode.c", "linux/ktime.h", False) == "include/linux/ktime.h"
    # a root-level ktime.h is beside a root-level file, but not beside fs/ext4/inode.c
    assert r.resolve("main.c", "ktime.h", False) == "ktime.h"
    assert r.resolve("fs/ext4/inode.c", "ktime.h", False) is None


def test_quoted_dotdot_is_normalised(r):
    assert r.resolve("fs/ext4/inode.c", "../internal.h", False) == "fs/internal.h"
    assert r.resolve("fs/ext4/inode.c", "./../ext4/ext4.h", False) == "fs/ext4/ext4.h"
    assert r.resolve("fs/ext4/inode.c", "../../include/linux/fs.h", False) == "include/linux/fs.h"
    assert r.resolve("fs/ext4/inode.c", "../../../etc/passwd", False) is None
    assert r.resolve("fs/ext4/inode.c", "/usr/include/stdio.h", True) is None


def test_asm_generic_fallback(r):
    assert r.resolve("fs/a.c", "asm/processor.h", True) == "arch/x86/include/asm/processor.h"
    assert r.resolve("fs/a.c", "asm/mcs_spinlock.h", True) == "include/asm-generic/mcs_spinlock.h"
    assert r.resolve("fs/a.c", "asm/ioctl.h", True) == "include/uapi/asm-generic/ioctl.h"
    assert r.resolve("fs/a.c", "uapi/asm/ioctl.h", True) == "include/uapi/asm-generic/ioctl.h"
    # Kbuild only wraps top-level asm headers
    assert r.resolve("fs/a.c", "asm/bitops/le.h", True) is None
    assert r.resolve("fs/a.c", "asm/nonexistent.h", True) is None


def test_files_under_another_arch_use_that_arch(r):
    got = r.resolve("arch/arm64/kernel/setup.c", "asm/processor.h", True)
    assert got == "arch/arm64/include/asm/processor.h"
    assert r.resolve("fs/a.c", "asm/processor.h", True) == "arch/x86/include/asm/processor.h"


def test_kbuild_src_dir_fallback_for_quoted(r):
    got = r.resolve("drivers/gpu/drm/i915/display/intel_display.c", "i915_drv.h", False)
    assert got == "drivers/gpu/drm/i915/i915_drv.h"
    assert r.resolve("drivers/gpu/drm/i915/display/intel_display.c", "i915_drv.h", True) is None
    # never up to the root: top-level files are not found by a bare name from a subsystem
    assert r.resolve("fs/ext4/sub/deep.c", "ktime.h", False) is None


def test_memo_keeps_answers_per_directory(r):
    assert r.resolve("fs/ext4/inode.c", "ext4.h", False) == "fs/ext4/ext4.h"
    assert r.resolve("mm/x.c", "ext4.h", False) is None
    assert r.resolve("fs/ext4/other.c", "ext4.h", False) == "fs/ext4/ext4.h"


def test_add_and_discard_invalidate_memo(r):
    assert r.resolve("mm/x.c", "slab.h", False) is None
    r.add("mm/slab.h")
    assert r.resolve("mm/x.c", "slab.h", False) == "mm/slab.h"
    r.discard("mm/slab.h")
    assert r.resolve("mm/x.c", "slab.h", False) is None


def test_quote_paths_only_for_quoted():
    config = Config(root=Path("/x"), include_paths=["inc"], quote_paths=["q"])
    r = IncludeResolver(config, {"q/a.h", "inc/a.h", "inc/b.h"})
    assert r.resolve("src/m.c", "a.h", False) == "q/a.h"
    assert r.resolve("src/m.c", "a.h", True) == "inc/a.h"
    assert r.resolve("src/m.c", "b.h", False) == "inc/b.h"


def test_root_and_outside_include_paths():
    config = Config(root=Path("/x"), include_paths=[".", "/usr/include", "../sibling"])
    r = IncludeResolver(config, {"top.h"})
    assert r.include_paths == [""]
    assert r.resolve("a/b.c", "top.h", True) == "top.h"


@pytest.mark.parametrize("target", [
    "generated/autoconf.h", "generated/asm-offsets.h", "asm/asm-offsets.h",
    "generated/uapi/linux/version.h", "linux/version.h", "generated/utsrelease.h",
    "generated/compile.h", "generated/bounds.h", "asm/unistd_64.h", "asm/syscalls_64.h",
    "rsapubkey.asn1.h", "parser.tab.h", "lexer.lex.c", "r600_reg_safe.h", "vmlinux.h",
    "crc32table.h", "inat-tables.c", "config/foo.h",
])
def test_generated_headers(target):
    assert is_generated(target)


@pytest.mark.parametrize("target", [
    "linux/fs.h", "asm/processor.h", "stdio.h", "linux/ktime.h", "ext4.h", "uapi/linux/fs.h",
])
def test_not_generated(target):
    assert not is_generated(target)


def test_header_candidates(r):
    assert r.header_candidates("include/linux/ktime.h", "fs/ext4/inode.c") == ["<linux/ktime.h>"]
    # <linux/fs.h> would reach include/linux/fs.h, so the uapi header needs the uapi/ prefix
    assert r.header_candidates("include/uapi/linux/fs.h", "fs/a.c") == ["<uapi/linux/fs.h>"]
    assert r.header_candidates("include/uapi/linux/types.h", "fs/a.c")[0] == "<linux/types.h>"
    assert r.header_candidates("include/asm-generic/mcs_spinlock.h", "fs/a.c") == [
        "<asm/mcs_spinlock.h>", "<asm-generic/mcs_spinlock.h>"]
    assert r.header_candidates("fs/ext4/ext4.h", "fs/ext4/inode.c") == ['"ext4.h"']
    assert r.header_candidates("fs/internal.h", "fs/ext4/inode.c") == ['"../internal.h"']
    assert r.header_candidates("fs/ext4/ext4.h") == []


def test_resolves_a_large_tree_quickly():
    import time

    files = {f"drivers/d{i}/f{j}.c" for i in range(500) for j in range(20)}
    files |= {f"include/linux/h{i}.h" for i in range(2000)}
    r = linux_resolver(files)
    lines = [(f"drivers/d{i % 500}/f{i % 20}.c", f"linux/h{i % 3000}.h", True)
             for i in range(200_000)]
    start = time.perf_counter()
    hits = sum(r.resolve(*line) is not None for line in lines)
    elapsed = time.perf_counter() - start
    assert hits == sum(1 for _, t, _ in lines if int(t[7:-2]) < 2000)
    assert elapsed < 2.0, f"200k resolutions took {elapsed:.2f} s"


@pytest.mark.parametrize("name, generated, named", [
    ("a5xx.xml.h", {"%.xml.h"}, True),  # a pattern rule's target
    ("drivers/gpu/a.xml.h", {"%.xml.h"}, True),  # a stem of one character, in a directory
    (".xml.h", {"%.xml.h"}, False),  # no stem: no target of the rule
    ("a5xx.h", {"%.xml.h"}, False),
    ("crc32table.h", {"crc32table.h", "%.xml.h"}, True),  # a file name
    ("crc32table.h", set(), False),
])
def test_kbuild_named_reads_file_names_and_pattern_targets(name, generated, named):
    assert kbuild_named(name, frozenset(generated)) is named


KBUILD_TREE = {
    "Kconfig": "",
    "include/linux/types.h": "typedef unsigned int u32;\n",
    "drivers/foo/Makefile": "ccflags-y += -I$(srctree)/$(src)/inc\nobj-y += a.o\n",
    "drivers/foo/inc/foo_regs.h": "#define FOO_REG 1\n",
    "drivers/foo/a.c": "#include <foo_regs.h>\nint a(void) { return FOO_REG; }\n",
}


def test_the_editor_resolves_with_the_kbuild_dirs_the_index_stored(tmp_path):
    """An editor's resolver takes the Kbuild ``-I`` directories from the model (the index
    stored those it resolved with) instead of reading every Makefile of the tree again; a
    model with none stored has them read from the Makefiles."""
    from kernel_lsp.live.workspace import Workspace
    from kernel_lsp.model.indexer import index
    from kernel_lsp.model.resolve import KBUILD_DIRS_META

    root = write_tree(tmp_path, KBUILD_TREE)
    config, _ = load_config(root)
    index(config, jobs=1).model.close()
    (root / "drivers/foo/Makefile").unlink()  # from here only the model knows the -I

    def editor_resolves() -> str | None:
        ws = Workspace(config)
        assert ws.load() is None
        try:
            return ws.resolver.resolve("drivers/foo/b.c", "foo_regs.h", True)
        finally:
            ws.close()

    assert editor_resolves() == "drivers/foo/inc/foo_regs.h"
    for stored in ("", "[1, 2]", "{not json"):  # none, or damaged: the Makefiles are read
        model = Model(config.db_path)
        model.set_meta(KBUILD_DIRS_META, stored)
        model.close()
        assert editor_resolves() is None


def test_a_makefiles_new_include_dir_is_resolved_by_the_next_index(tmp_path):
    """A Makefile that gains ``-I`` (no C file changed) changes the configuration's inputs:
    the next index resolves the include lines again, and stores the directories it used."""
    from kernel_lsp.model.indexer import index

    root = write_tree(tmp_path, {**KBUILD_TREE, "drivers/foo/Makefile": "obj-y += a.o\n"})
    config, _ = load_config(root)

    def unresolved() -> set[str]:
        model = index(config, jobs=1).model
        try:
            return {target for _fid, target, _angled, _guard in model.unresolved_includes()}
        finally:
            model.close()

    assert unresolved() == {"foo_regs.h"}
    (root / "drivers/foo/Makefile").write_text(KBUILD_TREE["drivers/foo/Makefile"])
    assert unresolved() == set()


# scripts/Makefile.asm-generic writes the same wrapper for asm/X.h and uapi/asm/X.h:
# ``#include <asm-generic/X.h>``, which the include path finds in include/asm-generic/ before
# include/uapi/asm-generic/. riscv's asm/signal.h includes <uapi/asm/signal.h>: read as
# uapi/asm-generic/signal.h it missed include/asm-generic/signal.h's <asm/sigcontext.h>, and
# signal.c's struct sigcontext was a 407_2 (2, and 1 in uapi/asm/ucontext.h).
def test_the_wrapper_of_a_uapi_asm_header_includes_the_kernel_asm_generic_one():
    r = linux_resolver(LINUX_FILES | {"include/asm-generic/signal.h",
                                      "include/uapi/asm-generic/signal.h"})
    assert r.resolve("fs/a.c", "uapi/asm/signal.h", True) == "include/asm-generic/signal.h"
    assert r.resolve("fs/a.c", "asm/signal.h", True) == "include/asm-generic/signal.h"
    assert r.resolve("include/asm-generic/signal.h", "uapi/asm-generic/signal.h", True) == (
        "include/uapi/asm-generic/signal.h")


SIGNALS = {
    "Kconfig": "config RISCV\n\tdef_bool y\n",
    "kernel-lsp.toml": 'arch = "riscv"\n',
    "include/linux/types.h": "typedef int u32;\n",
    "arch/riscv/include/asm/signal.h": "#include <uapi/asm/signal.h>\n",
    "include/asm-generic/signal.h": ("#include <uapi/asm-generic/signal.h>\n"
                                     "#include <asm/sigcontext.h>\n"),
    "include/uapi/asm-generic/signal.h": "typedef unsigned long sigset_t;\n",
    "arch/riscv/include/uapi/asm/sigcontext.h": "struct sigcontext { unsigned long pc; };\n",
    "arch/riscv/kernel/signal.c": ("#include <asm/signal.h>\n"
                                   "unsigned long pc_of(struct sigcontext *sc)\n{\n"
                                   "\treturn sc->pc;\n}\n"),
}


def test_a_model_resolved_by_an_older_resolver_is_resolved_again(tmp_path, capsys):
    root = write_tree(tmp_path, SIGNALS)
    assert checked_errors(root, capsys) == set()
    config, _ = load_config(root)
    model = Model(str(config.db_path))
    model.set_meta("resolver_version", "1")  # what an older resolver left
    model.conn.execute("UPDATE includes SET resolved_id = NULL WHERE target = ?",
                       ("uapi/asm/signal.h",))
    model.conn.commit()
    model.close()
    assert checked_errors(root, capsys) == set()
