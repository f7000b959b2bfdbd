"""``kernel-lsp fix`` end to end on copies of the fixture trees: findings, GCC, diff, idempotence."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernel_lsp.cli import main
from kernel_lsp.fixes import FIXABLE_CODES
from tests.conftest import GADGET_TREE, REPO
from tests.conftest import TREE as LINUX_TREE
from tests.gcc_tree import GCC, gcc, generate_headers
from tests.test_fixture_gcc import CLEAN_C_FILES, ERROR_C_FILES

GADGET_EXPECTED = REPO / "fixtures" / "fixes" / "gadget-expected"
FIXABLE = set(FIXABLE_CODES)
# What no fix can repair in fixtures/linux-tree (docs/fixes.md): functions and a typedef name
# that exist nowhere.
LINUX_UNFIXABLE = {("020_2", "drivers/misc/blinker/ledctl.c", "led_set_brightness"),
                   ("020_2", "drivers/misc/blinker/ledctl.c", "led_brightness_t")}

needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc is not installed")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a tree by relative path (the model directory left out)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".kernel-lsp" not in p.parts}


def findings(root: Path, capsys) -> list[dict]:
    capsys.readouterr()
    main(["check", "--root", str(root), "--format", "json"])
    return json.loads(capsys.readouterr().out)["findings"]


def keys(items: list[dict], codes=FIXABLE) -> set[tuple[str, str, str]]:
    return {(f["code"], f["root_path"], f["symbol"]) for f in items if f["code"] in codes}


def fix(root: Path, capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["fix", "--root", str(root), *args])
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.fixture(scope="module")
def objtree(tmp_path_factory) -> Path:
    return generate_headers(LINUX_TREE, tmp_path_factory.mktemp("objtree"))


@pytest.fixture
def linux(tmp_path) -> Path:
    root = tmp_path / "linux"
    shutil.copytree(LINUX_TREE, root)
    return root


# ---------------------------------------------------------------- the bundled tree


def test_fix_removes_every_fixable_finding(linux, capsys):
    before = findings(linux, capsys)
    status, out, _ = fix(linux, capsys)
    after = findings(linux, capsys)
    assert keys(after) == LINUX_UNFIXABLE
    assert keys(before) - keys(after) == keys(before) - LINUX_UNFIXABLE
    fixed = len([f for f in before if f["code"] in FIXABLE]) - len(LINUX_UNFIXABLE)
    assert out.splitlines()[-1] == (f"fixed {fixed} of {fixed + len(LINUX_UNFIXABLE)} findings "
                                    f"in 8 files; {len(LINUX_UNFIXABLE)} remain")
    assert status == 1  # some remain
    # the structure findings that only came from the stubbed types are gone as well
    assert keys(after, {"502_2"}) == set()


@needs_gcc
def test_gcc_accepts_the_fixed_tree(linux, objtree, capsys):
    before = {rel: gcc(linux, rel, objtree).returncode == 0 for rel in CLEAN_C_FILES + ERROR_C_FILES}
    had = findings(linux, capsys)
    fix(linux, capsys)
    remaining = findings(linux, capsys)
    for rel, accepted in before.items():
        result = gcc(linux, rel, objtree)
        if accepted:
            assert result.returncode == 0, f"{rel} no longer compiles:\n{result.stderr}"
        fixed = {f["symbol"] for f in had if f["root_path"] == rel and f["code"] == "404_2"}
        for symbol in fixed:
            assert f"function '{symbol}'" not in result.stderr, result.stderr
        if fixed and not [f for f in remaining if f["root_path"] == rel]:
            # the undeclared calls were the only problems of the file
            assert result.returncode == 0, f"{rel}:\n{result.stderr}"


def test_dry_run_prints_a_diff_and_writes_nothing(linux, tmp_path, capsys):
    files = snapshot(linux)
    status, out, err = fix(linux, capsys, "--dry-run")
    assert snapshot(linux) == files
    assert status == 1 and "would fix 21 of 23 findings in 8 files" in err
    headers = [line for line in out.splitlines() if line.startswith(("--- ", "+++ "))]
    assert headers[:2] == ["--- a/drivers/misc/blinker/ledctl.c",
                           "+++ b/drivers/misc/blinker/ledctl.c"]
    assert len(headers) == 16
    # the diff is the fix: applied to a copy, it gives what `fix` writes
    copy = tmp_path / "patched"
    shutil.copytree(linux, copy)
    subprocess.run(["patch", "-s", "-p1", "-d", str(copy)], input=out, text=True, check=True)
    fix(linux, capsys)
    assert snapshot(copy) == snapshot(linux)


def test_a_file_that_cannot_be_written_leaves_every_file_as_it_was(linux, capsys):
    """A read-only file among those a run fixes: the files written before it stayed changed,
    the ones after it not (and a read-only file in a writable directory was replaced by the
    rename all the same, as root); now every new text is staged first and nothing changes."""
    before = snapshot(linux)
    (linux / "mm/vmscan.c").chmod(0o444)
    status, out, err = fix(linux, capsys)
    assert status == 2 and out == ""
    assert err == ("kernel-lsp: cannot write mm/vmscan.c: read-only file (mode 0444); no file "
                   "was changed\n")
    assert snapshot(linux) == before
    assert not [p for p in linux.rglob("*.kernel-lsp-fix")]
    (linux / "mm/vmscan.c").chmod(0o644)
    status, _, _ = fix(linux, capsys)
    assert snapshot(linux) != before


def test_a_fixed_file_that_is_a_symbolic_link_stays_one(linux, capsys, tmp_path):
    """A source file that is a symbolic link (to a file kept elsewhere, as a tree assembled
    with links is): ``fix`` renamed its new text over the link, which became a regular file,
    the file it led to unchanged. The new text goes to the file the link leads to."""
    shared = tmp_path / "shared" / "stat.c"
    shared.parent.mkdir()
    shutil.move(linux / "fs/stat.c", shared)
    (linux / "fs/stat.c").symlink_to(os.path.relpath(shared, linux / "fs"))
    before = shared.read_text()
    status, _, err = fix(linux, capsys)
    assert status == 1, err
    assert (linux / "fs/stat.c").is_symlink()
    assert (linux / "fs/stat.c").resolve() == shared.resolve()
    assert shared.read_text() != before and '#include "internal.h"' in shared.read_text()
    assert not list(shared.parent.glob("*.kernel-lsp-fix")) and not list(
        (linux / "fs").glob("*.kernel-lsp-fix"))


def test_second_run_changes_nothing(linux, capsys):
    fix(linux, capsys)
    files = snapshot(linux)
    status, out, _ = fix(linux, capsys)
    assert snapshot(linux) == files
    assert out.splitlines()[-1] == "fixed 0 of 2 findings in 0 files; 2 remain"
    assert status == 1
    assert fix(linux, capsys, "--dry-run")[1] == ""


def test_code_filter(linux, capsys):
    before = findings(linux, capsys)
    status, out, _ = fix(linux, capsys, "--code", "404_2")
    after = findings(linux, capsys)
    assert keys(after, {"404_2"}) == set()
    assert keys(after, FIXABLE - {"404_2"}) == keys(before, FIXABLE - {"404_2"})
    assert status == 0 and out.splitlines()[-1] == "fixed 6 of 6 findings in 4 files; 0 remain"


def test_paths_limit_the_fix(linux, capsys):
    files = snapshot(linux)
    status, out, _ = fix(linux, capsys, str(linux / "fs"))
    changed = {p for p, data in snapshot(linux).items() if files.get(p) != data}
    assert changed == {"fs/stat.c"}
    assert status == 0 and "fixed 1 of 1 findings in 1 files; 0 remain" in out


@pytest.mark.parametrize("codes,message", [
    ("404_2,999_9", "unknown code 999_9"),
    (" , ", "--code needs at least one code"),
])
def test_bad_code_is_a_usage_error(linux, capsys, codes, message):
    files = snapshot(linux)
    status, out, err = fix(linux, capsys, "--code", codes)
    assert status == 2 and message in err and "Traceback" not in err and out == ""
    assert snapshot(linux) == files


def test_missing_path_is_a_usage_error(linux, capsys):
    status, _, err = fix(linux, capsys, str(linux / "no" / "such.c"))
    assert status == 2 and "no such file" in err


def test_clean_tree_exits_0(tmp_path, capsys):
    root = tmp_path / "clean"
    (root / "include" / "linux").mkdir(parents=True)
    (root / "Kconfig").write_text("")
    (root / "include" / "linux" / "a.h").write_text("int a(void);\n")
    (root / "b.c").write_text("#include <linux/a.h>\nint b(void) { return a(); }\n")
    status, out, _ = fix(root, capsys)
    assert status == 0 and out == "fixed 0 of 0 findings in 0 files; 0 remain\n"


def test_real_process_exit_status(linux):
    env = {**os.environ, "KERNEL_LSP_DEBUG": ""}
    run = subprocess.run([sys.executable, "-m", "kernel_lsp", "fix", "--root", str(linux),
                          "--code", "405_2,406_2"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "mm/vmscan.c:43:3: 405_2 __free_one_page: Make __free_one_page non-static" in run.stdout


# ---------------------------------------------------------------- the fix fixture


def test_gadget_tree_matches_its_expected_result(tmp_path, capsys):
    root = tmp_path / "gadget"
    shutil.copytree(GADGET_TREE, root)
    status, out, _ = fix(root, capsys)
    expected = snapshot(GADGET_TREE) | snapshot(GADGET_EXPECTED)
    assert snapshot(root) == expected
    assert status == 0 and out.splitlines()[-1] == "fixed 11 of 11 findings in 6 files; 0 remain"
    assert findings(root, capsys) == []


@needs_gcc
@pytest.mark.parametrize("tree,accepted", [(GADGET_TREE, False), (GADGET_EXPECTED, True)])
def test_gcc_on_the_gadget_tree(tmp_path, tree, accepted):
    root = tmp_path / "gadget"
    shutil.copytree(GADGET_TREE, root)
    shutil.copytree(tree, root, dirs_exist_ok=True)
    gen = generate_headers(root, tmp_path / "objtree")
    results = {rel: gcc(root, rel, gen) for rel in sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*.c"))}
    failing = {rel for rel, r in results.items() if r.returncode != 0}
    if accepted:
        assert not failing, {rel: results[rel].stderr for rel in failing}
    else:
        # clock.c includes clock.h, whose inline function calls an undeclared function
        assert failing == {"drivers/gadget/user.c", "drivers/gadget/legacy.c",
                           "drivers/gadget/clock.c"}


def test_bytes_that_are_not_utf8_survive(tmp_path, capsys):
    root = tmp_path / "latin"
    (root / "include" / "linux").mkdir(parents=True)
    (root / "Kconfig").write_text("")
    (root / "include" / "linux" / "a.h").write_text("int a(void);\n")
    (root / "lib").mkdir()
    (root / "lib" / "a.c").write_text("#include <linux/a.h>\nint a(void) { return 0; }\n")
    source = b"/* Copyright (c) J\xf6rg */\n#include <linux/types.h>\n\nint b(void)\n{\n" \
             b"\treturn a(); /* \xe9 */\n}\n"
    (root / "include" / "linux" / "types.h").write_text("")
    (root / "b.c").write_bytes(source)
    status, out, _ = fix(root, capsys)
    assert status == 0, out
    assert (root / "b.c").read_bytes() == source.replace(
        b"<linux/types.h>\n", b"<linux/types.h>\n#include <linux/a.h>\n")
