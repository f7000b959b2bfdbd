"""Paths like a compiler's and a CLI that says what happened: PATHS relative to the current
directory or to the root, printed paths relative to the current directory (absolute on request),
one summary line on stderr, the root and why it was chosen, symlinks counted in one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli_batch import BROKEN, make_tree

FINDING = "3:9: error: implicit declaration of function 'helper'"
SUMMARY = re.compile(r"^kernel-lsp: 1 error in 1 of (\d+) files checked \((\d+\.\d) s\)$", re.M)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERNEL_LSP_DEBUG": ""}
    return subprocess.run([sys.executable, "-m", "kernel_lsp", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


@pytest.fixture
def tree(tmp_path) -> Path:
    root = make_tree(tmp_path / "src" / "linux", BROKEN)
    (tmp_path / "elsewhere").mkdir()
    return root


# (directory to run in, relative to the tmp dir; PATH as typed there; what the line starts with)
PLACES = [
    ("src/linux", "fs/bad.c", "fs/bad.c"),  # the root itself
    ("src/linux/fs", "bad.c", "bad.c"),  # a subdirectory: relative to it
    ("src/linux/fs", "fs/bad.c", "bad.c"),  # ... or relative to the root, when nothing is here
    ("elsewhere", "fs/bad.c", "../src/linux/fs/bad.c"),  # outside, with --root
]


@pytest.mark.parametrize("where, given, printed", PLACES)
def test_paths_from_three_directories(tree, where, given, printed):
    base = tree.parent.parent
    extra = ["--root", str(tree)] if where == "elsewhere" else []
    proc = run("check", given, *extra, cwd=base / where)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == proc.stdout.splitlines()[0] + "\n", "one finding"
    assert proc.stdout.startswith(f"{printed}:{FINDING}"), proc.stdout
    # the printed path opens from where the command ran (terminal links, :cfile, $gcc)
    assert (base / where / printed).resolve() == (tree / "fs/bad.c").resolve()
    assert SUMMARY.search(proc.stderr), proc.stderr  # piped: the summary still goes to stderr
    assert "root" not in proc.stderr, "a kernel tree found by walking up needs no word"

    proc = run("check", given, *extra, "--absolute-paths", "--format", "json", cwd=base / where)
    (f,) = json.loads(proc.stdout)["findings"]
    assert (f["path"], f["root_path"]) == (str(tree / "fs/bad.c"), "fs/bad.c")


def test_whole_tree_from_a_subdirectory_prints_paths_from_there(tree):
    proc = run("check", cwd=tree / "lib")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith(f"../fs/bad.c:{FINDING}")
    m = SUMMARY.search(proc.stderr)
    assert m and m.group(1) == "4", proc.stderr


def test_a_path_nowhere_is_named_as_typed(tree):
    proc = run("check", "fs/nothing.c", cwd=tree / "lib")
    assert proc.returncode == 2
    assert "kernel-lsp: fs/nothing.c: no such file or directory" in proc.stderr


def test_outside_a_kernel_tree_the_root_and_why_are_said(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.c").write_text("int f(void) { return g(); }\n")
    proc = run("check", "a.c", cwd=plain)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("a.c:1:22: error: function 'g' is called but defined")
    said = [line for line in proc.stderr.splitlines() if "root" in line]
    assert said == [f"kernel-lsp: no kernel tree (Kconfig or Kbuild beside include/linux/) and "
                    f"no kernel-lsp.toml in {plain} or above: using {plain} as the root, with its "
                    f"model in {plain / '.kernel-lsp'} (choose the root with --root or a "
                    "kernel-lsp.toml)"]

    (plain / "kernel-lsp.toml").write_text("")
    (plain / "sub").mkdir()
    proc = run("check", cwd=plain / "sub")
    assert f"kernel-lsp: root {plain} (chosen for its kernel-lsp.toml)" in proc.stderr


def test_symlinks_to_visited_directories_are_one_line_unless_verbose(tree):
    for i in range(3):
        (tree / f"loop{i}").symlink_to(tree / "include", target_is_directory=True)
    proc = run("check", "fs/bad.c", cwd=tree)
    lines = [line for line in proc.stderr.splitlines() if "symbolic link" in line]
    assert lines == ["kernel-lsp: 3 symbolic links to already visited directories not followed "
                     "(-v lists them)"]
    proc = run("check", "-v", "fs/bad.c", cwd=tree)
    lines = [line for line in proc.stderr.splitlines() if "symbolic link" in line]
    assert sorted(line.split(":")[1].strip() for line in lines) == ["loop0", "loop1", "loop2"]
    assert f"kernel-lsp: root {tree} (kernel tree)" in proc.stderr


def test_index_counts_symlinks_too(tree):
    (tree / "again").symlink_to(tree / "fs", target_is_directory=True)
    proc = run("index", cwd=tree)
    assert proc.returncode == 0, proc.stderr
    assert ("kernel-lsp: 1 symbolic link to already visited directories not followed "
            "(-v lists them)") in proc.stderr.splitlines()


def test_no_index_checks_the_named_files_as_on_disk_against_the_stored_model(tree):
    proc = run("check", "--no-index", "fs/bad.c", cwd=tree)
    assert proc.returncode == 2 and "no model at" in proc.stderr
    assert run("index", cwd=tree).returncode == 0
    db = tree / ".kernel-lsp" / "model.db"

    def stored() -> tuple:
        import sqlite3

        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT size, mtime_ns, sha1 FROM files WHERE path = "
                                "'fs/bad.c'").fetchone()
    stamp = stored()
    (tree / "fs/bad.c").write_text("#include <linux/helper.h>\nint bad(void)\n{\n"
                                   "\treturn helper(2) + missing(1);\n}\n")
    proc = run("check", "--no-index", "fs/bad.c", cwd=tree)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines() == [
        "fs/bad.c:4:21: error: function 'missing' is called but defined and declared nowhere "
        "in the model [020_2]"], "the file as it is now; helper is declared by its include"
    assert stored() == stamp, "the model was not written"
    proc = run("check", "fs/bad.c", cwd=tree)  # the default brings the model up to date
    assert proc.returncode == 1 and "missing" in proc.stdout


@pytest.mark.parametrize("line_end", ["\r", "\r\n"], ids=["cr", "crlf"])
def test_a_file_whose_lines_end_in_cr_is_checked_as_gcc_reads_it(tmp_path, line_end):
    """A lone ``\\r`` ends a line for GCC (and LSP): the file was read as one line, a
    directive on it swallowed the rest, and the call below was not checked at all."""
    text = "#if 0\nint gone(void);\n#endif\nint bad(void)\n{\n\treturn helper(2);\n}\n"
    root = make_tree(tmp_path / "linux", {**BROKEN,
                                          "fs/bad.c": text.replace("\n", line_end)})
    proc = run("check", "fs/bad.c", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("fs/bad.c:6:9: error: implicit declaration of function "
                                  "'helper'"), proc.stdout


def test_fix_keeps_a_files_lone_cr_line_ends(tmp_path):
    """The include goes where the finding says, ended as the file's lines are (``\\r``), and the
    diff shows each line as one."""
    text = "#if 0\rint gone(void);\r#endif\rint bad(void)\r{\r\treturn helper(2);\r}\r"
    root = make_tree(tmp_path / "linux", {**BROKEN, "fs/bad.c": text})
    diff = run("fix", "fs/bad.c", "--dry-run", cwd=root).stdout
    assert "+#include <linux/helper.h>\n+\n #if 0\n" in diff  # (text mode: \r\n read as \n)
    assert "No newline" not in diff
    assert run("fix", "fs/bad.c", cwd=root).returncode == 0
    assert (root / "fs/bad.c").read_bytes() == b"#include <linux/helper.h>\r\r" + text.encode()
    assert run("check", "fs/bad.c", cwd=root).returncode == 0


@pytest.mark.parametrize("argv", [["check", ""], ["check", "--root", "", "fs"], ["fix", ""],
                                  ["index", ""], ["selfcheck", "--root", ""]])
def test_an_empty_path_is_refused(tree, argv):
    """``check "$FILE"`` with FILE unset: the empty PATH was the current directory, and the
    whole tree was checked (or, with ``fix``, fixed). It is a usage error, said in one line,
    and nothing is indexed or written."""
    proc = run(*argv, cwd=tree)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1].endswith(": an empty path (an unset variable?)")
    assert not (tree / ".kernel-lsp").exists()
