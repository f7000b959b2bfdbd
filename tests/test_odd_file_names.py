"""File names with a newline, an escape, a quote or a backslash: one line per finding, a diff
that git applies, a demand that reads back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernel_lsp.messages import one_line, quoted_path

REPO = Path(__file__).resolve().parent.parent
NEWLINE = "fs/new\nline.c"
ESCAPE = "fs/e\x1b[31mred.c"
BACKSLASH = "fs/b\\ack.c"
QUOTE = 'fs/"q".c'


def make_tree(root: Path) -> Path:
    (root / "include/linux").mkdir(parents=True)
    (root / "arch/x86").mkdir(parents=True)
    (root / "fs").mkdir()
    (root / "Kconfig").write_text("")
    (root / "include/linux/h.h").write_text("int hidden(int x);\n")
    for i, name in enumerate((NEWLINE, ESCAPE, BACKSLASH, QUOTE)):
        (root / name).write_text(f"static int helper{i}(int x) {{ return x; }}\n"
                                 f"int user{i}(void) {{ return helper{i}(1) + hidden(2); }}\n")
    (root / "fs/blob\n.c").write_bytes(b"int x;\n\0")
    return root


def kernel_lsp(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERNEL_LSP_DEBUG": "", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "kernel_lsp", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_quoting_is_that_of_git():
    assert quoted_path("fs/open.c") == "fs/open.c"
    assert quoted_path("fs/pagé.c") == "fs/pagé.c"
    assert quoted_path(NEWLINE) == '"fs/new\\nline.c"'
    assert quoted_path(ESCAPE) == '"fs/e\\033[31mred.c"'
    assert quoted_path(BACKSLASH) == '"fs/b\\\\ack.c"'
    assert quoted_path(QUOTE) == '"fs/\\"q\\".c"'
    assert quoted_path("a\x85b") == '"a\\302\\205b"'
    assert one_line("x\ny\tz") == "x\\ny\\tz"


def test_check_prints_one_line_per_finding(tmp_path):
    root = make_tree(tmp_path)
    got = kernel_lsp("check", "fs", cwd=root)
    assert got.returncode == 1, got.stderr
    lines = got.stdout.splitlines()
    assert len(lines) == 4 and all(": error: " in line for line in lines)
    assert {line.split(":2:", 1)[0] for line in lines} == {
        '"fs/new\\nline.c"', '"fs/e\\033[31mred.c"', '"fs/b\\\\ack.c"', '"fs/\\"q\\".c"'}
    assert "\x1b" not in got.stdout + got.stderr
    assert all(line.startswith("kernel-lsp: ") for line in got.stderr.splitlines())
    assert "fs/blob\\n.c: binary file" in got.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_diff_of_fix_is_applied_by_git(tmp_path):
    root = make_tree(tmp_path)
    (root / "include/linux/h.h").unlink()  # moved: each use now wants its declaration
    (root / "fs/h.h").write_text("int hidden(int x);\n")
    diff = kernel_lsp("fix", "--dry-run", "fs", cwd=root)
    assert diff.returncode == 0, diff.stderr
    assert '--- "a/fs/new\\nline.c"' in diff.stdout.splitlines()
    got = subprocess.run(["git", "apply", "-"], cwd=root, input=diff.stdout, text=True,
                         capture_output=True, timeout=60)
    assert got.returncode == 0, got.stderr
    for name in (NEWLINE, ESCAPE, BACKSLASH, QUOTE):
        assert (root / name).read_text().startswith("#include \"h.h\"\n")
    assert kernel_lsp("check", "fs", cwd=root).returncode == 0


def test_an_extracted_demand_of_static_functions_reads_back(tmp_path):
    root = make_tree(tmp_path)
    for i in range(4):
        demand = tmp_path / f"u{i}.demand.yaml"
        got = kernel_lsp("demand", "extract", f"user{i}", "--output", str(demand), cwd=root)
        assert got.returncode == 0, got.stderr
        assert all(line.startswith(("#", " ", "id:", "name:", "paths:"))
                   for line in demand.read_text().splitlines())
        verified = kernel_lsp("verify", str(demand), cwd=root)
        assert "400_1 RIGHT" in verified.stdout, verified.stdout + verified.stderr
        assert "1 invocation(s): 1 right" in verified.stdout  # user -> its static helper


def test_output_never_fails_on_the_terminals_encoding(tmp_path):
    # en_US.UTF-8's standard output is strict: a latin-1 comment in a fix's diff (decoded with
    # surrogateescape) was an internal error, exit 2; an ASCII terminal failed on 'pagé.c'
    root = make_tree(tmp_path)
    (root / "include/linux/h.h").unlink()
    (root / "fs/h.h").write_text("int hidden(int x);\n")
    (root / "fs/latin.c").write_bytes(b"/* caf\xe9 */\nint lat(void) { return hidden(1); }\n")
    (root / "fs/pag\u00e9.c").write_text("int pg(void) { return hidden(2); }\n")
    env = {**os.environ, "KERNEL_LSP_DEBUG": "", "PYTHONPATH": str(REPO)}
    for encoding in ("utf-8:strict", "ascii:strict"):
        env["PYTHONIOENCODING"] = encoding

        def run(*argv: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "kernel_lsp", *argv], cwd=root,
                                  env=env, capture_output=True, timeout=120)

        diff = run("fix", "--dry-run", "fs/latin.c")
        assert diff.returncode == 0, diff.stderr
        assert b" /* caf\xe9 */\n" in diff.stdout  # the file's own byte, as patch needs it
        text = run("check", "fs/pag\u00e9.c")
        assert text.returncode == 1 and b"internal error" not in text.stderr
        shown = "fs/pag\u00e9.c" if encoding.startswith("utf-8") else "fs/pag\\xe9.c"
        assert text.stdout.decode("ascii", "surrogateescape").startswith(
            shown.encode().decode("ascii", "surrogateescape") + ":1:")
        report = run("check", "--format", "json", "fs/pag\u00e9.c")  # JSON is UTF-8 always
        assert report.returncode == 1, report.stderr
        assert json.loads(report.stdout.decode("utf-8"))["findings"][0]["path"] == "fs/pag\u00e9.c"
