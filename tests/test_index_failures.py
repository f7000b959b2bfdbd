"""Files an index could not read or extract: tried again, never recorded as done; an
installation without its queries stores nothing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from kernel_lsp.config import load_config
from kernel_lsp.model.indexer import index

REPO = Path(__file__).resolve().parent.parent


def make_tree(root: Path) -> None:
    (root / "include/linux").mkdir(parents=True)
    (root / "arch/x86").mkdir(parents=True)
    (root / "Kconfig").write_text("")
    (root / "include/linux/x.h").write_text("int g(void);\n")
    (root / "fs").mkdir()
    (root / "fs/a.c").write_text("#include <linux/x.h>\nint a(void) { return g(); }\n")
    (root / "fs/big.c").write_text("int big(void) { return 1; }\n" + "/* padding */\n" * 400)


def run(root: Path):
    config, _ = load_config(root)
    result = index(config, jobs=1)
    result.model.close()
    return result


def functions(root: Path) -> set[str]:
    conn = sqlite3.connect(root / ".kernel-lsp/model.db")
    try:
        return {r[0] for r in conn.execute("SELECT name FROM functions")}
    finally:
        conn.close()


def test_a_skipped_file_is_read_once_max_file_bytes_lets_it(tmp_path):
    make_tree(tmp_path)
    (tmp_path / "kernel-lsp.toml").write_text("max_file_bytes = 1000\n")
    first = run(tmp_path)
    assert any("big.c" in p and "larger than max_file_bytes" in p for p in first.problems)
    assert "big" not in functions(tmp_path)
    # failing the same way again: said again, but nothing in the model changes
    again = run(tmp_path)
    assert again.stats["parsed"] == 0 and "includes_resolved" not in again.stats
    assert any("big.c" in p for p in again.problems)
    (tmp_path / "kernel-lsp.toml").write_text("max_file_bytes = 100000\n")  # file untouched
    mended = run(tmp_path)
    assert mended.stats["parsed"] == 1 and not mended.problems
    assert {"a", "big", "g"} <= functions(tmp_path)
    assert run(tmp_path).stats["parsed"] == 0


def test_a_binary_file_does_not_change_the_model_on_every_run(tmp_path):
    make_tree(tmp_path)
    (tmp_path / "fs/blob.c").write_bytes(b"int x;\n\0\0\0")
    run(tmp_path)
    warm = run(tmp_path)
    assert warm.stats["parsed"] == 0 and "includes_resolved" not in warm.stats
    assert any("blob.c: binary file" in p for p in warm.problems)


def test_an_installation_without_its_queries_stores_nothing(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    make_tree(tree)
    install = tmp_path / "install"  # the package without the queries beside it
    shutil.copytree(REPO / "kernel_lsp", install / "kernel_lsp",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(install), "KERNEL_LSP_DEBUG": ""}
    for argv in (["index", str(tree)], ["check", "--root", str(tree)]):
        got = subprocess.run([sys.executable, "-m", "kernel_lsp", *argv], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=120)
        assert got.returncode == 2, got.stderr
        assert "cannot read the query file" in got.stderr and "reinstall kernel-lsp" in got.stderr
        assert "Traceback" not in got.stderr and len(got.stderr.splitlines()) == 1
    assert not (tree / ".kernel-lsp/model.db").exists()
    env["PYTHONPATH"] = str(REPO)  # installed again: indexed as if nothing had happened
    got = subprocess.run([sys.executable, "-m", "kernel_lsp", "index", str(tree)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    assert {"a", "big", "g"} <= functions(tree)


def test_skipped_large_files_are_counted_on_every_run(tmp_path):
    # tried again by every run, each was one more line of every check (Linux: 29 of them)
    make_tree(tmp_path)
    (tmp_path / "kernel-lsp.toml").write_text("max_file_bytes = 1000\n")
    for i in range(5):
        (tmp_path / f"fs/regs{i}.h").write_text("#define R 1\n" * 200)
    env = {**os.environ, "PYTHONPATH": str(REPO), "KERNEL_LSP_DEBUG": ""}
    for argv in (["index"], ["index"], ["check"]):
        got = subprocess.run([sys.executable, "-m", "kernel_lsp", *argv], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=120)
        assert got.returncode in (0, 1), got.stderr
        assert "kernel-lsp: 6 files larger than max_file_bytes skipped (-v lists them)" in \
            got.stderr.splitlines(), got.stderr
    listed = subprocess.run([sys.executable, "-m", "kernel_lsp", "index", "-v"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120).stderr
    assert sum("is larger than max_file_bytes" in line for line in listed.splitlines()) == 6


def test_a_model_file_that_is_a_fifo_or_a_device_is_set_aside(tmp_path):
    # SQLite read them as a disk failing: 'cannot use the model now (disk I/O error)', exit 2,
    # on every run, the thing kept as it was
    make_tree(tmp_path)
    (tmp_path / ".kernel-lsp").mkdir()
    model = tmp_path / ".kernel-lsp/model.db"
    env = {**os.environ, "PYTHONPATH": str(REPO), "KERNEL_LSP_DEBUG": ""}
    for make in (os.mkfifo, lambda p: p.symlink_to("/dev/zero")):
        make(model)
        got = subprocess.run([sys.executable, "-m", "kernel_lsp", "index"], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=120)
        assert got.returncode == 0, got.stderr
        assert "not a regular file" in got.stderr and "rebuilding the model" in got.stderr
        assert model.is_file() and not model.is_symlink()
        assert {"a", "big", "g"} <= functions(tmp_path)
        for p in tmp_path.glob(".kernel-lsp/model.db*"):
            p.unlink()
