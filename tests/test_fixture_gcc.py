"""GCC accepts the fixture tree's clean files: the corpus is honest C, not just plausible text.

The tree is unbuilt, so the test plays Kbuild's part in a temporary directory
(``tests/gcc_tree.py`` writes the generated headers).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TREE
from tests.fixture_expect import files_with_expectations
from tests.gcc_tree import GCC, generate_headers
from tests.gcc_tree import gcc as compile_tree

CLEAN_C_FILES = (
    "arch/x86/kernel/process.c",
    "drivers/char/misc.c",
    "drivers/misc/blinker/blinker_hw.c",
    "drivers/misc/blinker/blinker_main.c",
    "fs/open.c",
    "fs/ramfs/inode.c",
    "fs/read_write.c",
    "kernel/bpf/helpers.c",
    "kernel/locking/mutex.c",
    "kernel/printk/printk.c",
    "kernel/sched/core.c",
    "kernel/time/timekeeping.c",
    "mm/filemap.c",
    "mm/page_alloc.c",
    "mm/slab_common.c",
)

# Files whose errors are by design: GCC must reject or warn about them as well.
ERROR_C_FILES = ("fs/stat.c", "kernel/sys.c", "mm/vmscan.c", "kernel/sched/stats.c",
                 "kernel/locking/lockstat.c")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    return generate_headers(TREE, tmp_path_factory.mktemp("objtree"))


def gcc(rel: str, gen: Path):
    return compile_tree(TREE, rel, gen)


pytestmark = pytest.mark.skipif(GCC is None, reason="gcc is not installed")


def test_clean_list_matches_the_tree():
    all_c = {p.relative_to(TREE).as_posix() for p in TREE.rglob("*.c")}
    assert set(CLEAN_C_FILES) <= all_c
    assert set(ERROR_C_FILES) <= all_c
    assert not set(CLEAN_C_FILES) & files_with_expectations(TREE)


@pytest.mark.parametrize("rel", CLEAN_C_FILES)
def test_gcc_accepts_clean_file(rel, generated):
    result = gcc(rel, generated)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("rel", ERROR_C_FILES)
def test_gcc_rejects_file_with_designed_errors(rel, generated):
    result = gcc(rel, generated)
    assert result.returncode != 0, f"{rel} compiles cleanly but carries expected findings"
