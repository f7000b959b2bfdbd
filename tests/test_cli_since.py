"""``check --since REV``: only what the working tree introduces against a git revision, matched
by symbol and context (moved code keeps its old findings), in every format; clear refusals."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TREE
from tests.test_cli_paths import run

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="git is not installed")
# What the patch below introduces: (path, line, code, symbol)
INTRODUCED = {
    ("fs/open.c", 22, "404_2", "kzalloc"),  # <linux/slab.h> (its static inline) no longer included
    ("fs/open.c", 69, "404_2", "kfree"),
    ("fs/open.c", 82, "404_2", "kfree"),
    ("fs/open.c", 42, "404_2", "mutex_lock"),  # its prototype left <linux/mutex.h>
    ("drivers/char/misc.c", 30, "404_2", "mutex_lock"),  # untouched files that include it
    ("drivers/char/misc.c", 62, "404_2", "mutex_lock"),
    ("drivers/char/misc.c", 92, "404_2", "mutex_lock"),
    ("drivers/misc/blinker/blinker_main.c", 72, "404_2", "mutex_lock"),
    ("drivers/misc/blinker/blinker_main.c", 84, "404_2", "mutex_lock"),
    ("drivers/misc/new.c", 5, "020_2", "undefined_thing"),  # a new, untracked file
}


def git(root: Path, *args: str) -> str:
    return subprocess.run([GIT, "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "linux"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    (root / ".gitignore").write_text(".kernel-lsp/\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def patch(root: Path) -> None:
    """Remove an include, remove a prototype from a header, move code with an old finding, add
    a file; commit part of it, leave the rest in the working tree."""
    def edit(rel: str, old: str, new: str) -> None:
        text = (root / rel).read_text()
        assert old in text, (rel, old)
        (root / rel).write_text(text.replace(old, new, 1))
    edit("include/linux/mutex.h", "extern void mutex_lock(struct mutex *lock);\n", "")
    git(root, "commit", "-qam", "mutex: drop the prototype")
    edit("fs/open.c", "#include <linux/slab.h>\n", "")
    # fs/stat.c keeps its old 404_2 (do_sys_open), three lines lower and re-indented
    edit("fs/stat.c", "#include", "/* moved */\n/* down */\n/* three lines */\n#include")
    edit("fs/stat.c", "\tfd = do_sys_open(", "        fd = do_sys_open(")
    (root / "drivers/misc/new.c").write_text(
        "#include <linux/kernel.h>\n\nint newfn(void)\n{\n\treturn undefined_thing();\n}\n")


def test_only_what_the_patch_introduces(repo):
    base = git(repo, "rev-parse", "HEAD").strip()
    patch(repo)
    proc = run("check", "--since", "HEAD~1", "--format", "json", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    got = {(f["root_path"], f["line"], f["code"], f["symbol"]) for f in doc["findings"]}
    assert got == INTRODUCED
    since = doc["stats"]["since"]
    assert since["rev"] == base and since["introduced"] == len(INTRODUCED)
    assert since["findings_at_rev"] == 1, "fs/stat.c's do_sys_open, matched though it moved"
    assert "kernel-lsp: 10 errors introduced since HEAD~1 in 4 of" in proc.stderr

    # the same in text (paths relative to the current directory) and SARIF for a CI bot
    proc = run("check", "--since", "HEAD~1", cwd=repo / "fs")
    assert sorted(proc.stdout.splitlines())[0].startswith("../drivers/char/misc.c:30:2: error:")
    proc = run("check", "--since", "HEAD~1", "--format", "sarif", "-o", "out.sarif", cwd=repo)
    results = json.loads((repo / "out.sarif").read_text())["runs"][0]["results"]
    assert {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"], r["ruleId"])
            for r in results} == {(p, ln, c) for p, ln, c, _ in INTRODUCED}


def test_paths_limit_the_report_and_a_clean_patch_reports_nothing(repo):
    patch(repo)
    proc = run("check", "--since", "HEAD~1", "fs", cwd=repo)
    assert {line.split(":")[0] for line in proc.stdout.splitlines()} == {"fs/open.c"}
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the rest")
    proc = run("check", "--since", "HEAD", cwd=repo)
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
    assert "0 errors introduced since HEAD" in proc.stderr


def test_refusals(repo, tmp_path):
    proc = run("check", "--since", "no-such-rev", cwd=repo)
    assert proc.returncode == 2
    assert f"kernel-lsp: --since no-such-rev: not a commit of {repo}" in proc.stderr
    plain = tmp_path / "plain"
    shutil.copytree(TREE, plain, ignore=shutil.ignore_patterns(".kernel-lsp"))
    proc = run("check", "--since", "HEAD", "--root", str(plain), cwd=tmp_path)
    assert proc.returncode == 2 and "--since needs a git work tree" in proc.stderr
    proc = run("check", "--since", "HEAD", "--no-index", cwd=repo)
    assert proc.returncode == 2 and "exclude each other" in proc.stderr


def test_an_empty_revision_is_refused(repo):
    """``--since "$BASE"`` with BASE unset: the whole tree was checked, every old finding
    reported as if the patch brought it."""
    proc = run("check", "--since", "", cwd=repo)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert "kernel-lsp: --since needs a revision, got an empty one" in proc.stderr


def _hooks(text: str) -> list[dict]:
    """The hooks of a block-style .pre-commit-hooks.yaml (scalars, flow lists, folded text)."""
    hooks: list[dict] = []
    key = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            hooks.append({})
            line = "  " + line[2:]
        if line.startswith("    ") and key:  # continuation of a folded scalar
            hooks[-1][key] = (hooks[-1][key] + " " + line.strip()).strip()
            continue
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            hooks[-1][key] = [v.strip() for v in value[1:-1].split(",")]
        else:
            hooks[-1][key] = "" if value == ">-" else value.strip('"')
    return hooks


def test_the_pre_commit_hook_runs_a_real_command():
    from kernel_lsp.cli import build_parser
    from tests.conftest import REPO

    (hook,) = _hooks((REPO / ".pre-commit-hooks.yaml").read_text())
    assert {"id", "name", "entry", "language"} <= set(hook)
    assert hook["language"] == "python" and hook["pass_filenames"] == "false"
    assert hook["types_or"] == ["c"] and "introduce" in hook["description"]
    words = hook["entry"].split()
    assert words[:3] == ["kernel-lsp", "check", "--since"]
    args = build_parser().parse_args(words[1:])
    assert args.since == "HEAD" and args.func is not None
    docs = (REPO / "docs" / "batch.md").read_text()
    assert "id: kernel-lsp-introduced" in docs, "docs/batch.md shows how to use the hook"
