"""``kernel-lsp index`` / ``check``: exit statuses, error messages, formats end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel_lsp.batch.commands import guarded, progress_bar
from kernel_lsp.cli import main


def make_tree(root: Path, files: dict[str, str]) -> Path:
    (root / "include" / "linux").mkdir(parents=True, exist_ok=True)
    (root / "arch" / "x86" / "include" / "asm").mkdir(parents=True, exist_ok=True)
    (root / "Kconfig").write_text("")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


CLEAN = {
    "include/linux/helper.h": "int helper(int x);\n",
    "lib/helper.c": "#include <linux/helper.h>\nint helper(int x) { return x + 1; }\n",
    "fs/user.c": "#include <linux/helper.h>\nint user(void) { return helper(1); }\n",
}
BROKEN = {**CLEAN, "fs/bad.c": "int bad(void)\n{\n\treturn helper(2);\n}\n"}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERNEL_LSP_DEBUG": ""}
    return subprocess.run([sys.executable, "-m", "kernel_lsp", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


# ---------------------------------------------------------------- errors before indexing


def test_missing_root_exits_2_with_one_line(tmp_path, capsys):
    assert main(["check", "--root", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err == f"kernel-lsp: root {tmp_path / 'nope'} does not exist\n"
    assert main(["index", str(tmp_path / "nope")]) == 2


def test_root_that_is_a_file_exits_2(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    assert main(["index", str(tmp_path / "f")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_unwritable_output_exits_2(tmp_path, capsys):
    make_tree(tmp_path, CLEAN)
    assert main(["check", "--root", str(tmp_path), "-o", str(tmp_path / "no" / "r.json")]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert main(["check", "--root", str(tmp_path), "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["check", "--jobs", "0"]) == 2
    assert main(["check", "--format", "xml"]) == 2
    assert main([]) == 2


def test_only_bad_paths_exit_2_without_indexing(tmp_path, tmp_path_factory, capsys):
    root = make_tree(tmp_path, CLEAN)
    outside = tmp_path_factory.mktemp("outside") / "o.c"
    outside.write_text("int o;\n")
    assert main(["check", "--root", str(root), str(outside), str(root / "missing.c")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"kernel-lsp: {outside}: outside the root {root}; skipped",
                   f"kernel-lsp: {root / 'missing.c'}: no such file or directory"]
    assert not (root / ".kernel-lsp").exists()


def test_paths_with_no_c_file_exit_2_without_indexing(tmp_path, capsys):
    """``check notes.txt`` in a directory of no tree: it made that directory the root, indexed
    it and wrote a model there (``/etc/.kernel-lsp`` for ``check /etc/passwd``)."""
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.c").write_text("int a;\n")
    assert main(["check", str(tmp_path / "notes.txt")]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"kernel-lsp: no C files to check in {tmp_path / 'notes.txt'}")
    assert not (tmp_path / ".kernel-lsp").exists()


def test_unexpected_exception_is_one_line(monkeypatch, capsys):
    def boom(args):
        raise ValueError("bad thing")

    monkeypatch.delenv("KERNEL_LSP_DEBUG", raising=False)
    assert guarded(boom)(None) == 2
    err = capsys.readouterr().err
    assert err == ("kernel-lsp: internal error: ValueError: bad thing "
                   "(run with KERNEL_LSP_DEBUG=1 for a traceback)\n")
    monkeypatch.setenv("KERNEL_LSP_DEBUG", "1")
    assert guarded(boom)(None) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.endswith("traceback)\n")


def test_no_progress_bar_when_not_a_terminal():
    with progress_bar("x") as progress:  # pytest's stderr is not a tty
        assert progress is None


# ---------------------------------------------------------------- end to end


def test_check_clean_tree_exits_0_and_prints_nothing(tmp_path):
    root = make_tree(tmp_path / "k", CLEAN)
    proc = run_cli("check", cwd=root / "fs")
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
    assert "Traceback" not in proc.stderr
    assert (root / ".kernel-lsp" / "model.db").is_file()


def test_check_finds_undeclared_call_in_all_formats(tmp_path):
    root = make_tree(tmp_path / "k", BROKEN)
    proc = run_cli("check", "--root", str(root), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines() == [  # paths relative to the current directory
        line for line in proc.stdout.splitlines() if line.startswith("k/fs/bad.c:3:9: error: ")]
    assert proc.stdout.rstrip().endswith("[404_2]")

    proc = run_cli("check", "--format", "json", str(root / "fs"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["code"], f["path"], f["root_path"], f["line"], f["column"], f["symbol"])
            for f in doc["findings"]] == [("404_2", "k/fs/bad.c", "fs/bad.c", 3, 9, "helper")]
    assert doc["version"] == 2
    assert doc["root"] == str(root)
    assert doc["stats"]["include_paths_source"].startswith("auto-detected Linux-like tree")
    assert doc["stats"]["by_code"] == {"404_2": 1}

    out = tmp_path / "r.sarif"
    proc = run_cli("check", "--format", "sarif", "-o", str(out), "fs/bad.c", cwd=root)
    assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
    results = json.loads(out.read_text())["runs"][0]["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
            for r in results] == [("404_2", "fs/bad.c")]


def test_check_only_the_given_paths(tmp_path):
    root = make_tree(tmp_path / "k", BROKEN)
    proc = run_cli("check", "fs/user.c", "lib", cwd=root)
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr


def test_severity_override_changes_exit_status(tmp_path):
    root = make_tree(tmp_path / "k", BROKEN)
    (root / "kernel-lsp.toml").write_text('[severity]\n"404_2" = "warning"\n')
    proc = run_cli("check", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert ": warning: " in proc.stdout
    (root / "kernel-lsp.toml").write_text('disable = ["404_2"]\n')
    proc = run_cli("check", cwd=root)
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr


def test_bad_files_are_messages_not_failures(tmp_path):
    root = make_tree(tmp_path / "k", CLEAN)
    (root / "fs" / "blob.c").write_bytes(b"\x7fELF\0\0\0")
    (root / "fs" / "latin.c").write_bytes(b"/* caf\xe9 */ int latin;\n")
    proc = run_cli("index", str(root), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "kernel-lsp: fs/blob.c: binary file" in proc.stderr
    assert proc.stdout.startswith(f"indexed {root}: ")
    proc = run_cli("check", cwd=root)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("argv, said", [
    (["explain", "404_2"], "kernel-lsp: cannot write: No space left on device"),
    (["check", "fs/user.c"], "kernel-lsp: cannot write the report: No space left on device")])
def test_a_full_standard_output_is_one_line(tmp_path, argv, said):
    """``> /dev/full``: a traceback (explain), an "internal error" (check); and a closed
    standard output was an AttributeError traceback."""
    root = make_tree(tmp_path, CLEAN)
    command = [sys.executable, "-m", "kernel_lsp", *argv]
    with open("/dev/full", "w") as full:
        got = subprocess.run(command, cwd=root, stdout=full, stderr=subprocess.PIPE, text=True,
                             timeout=120)
    assert got.returncode == 2 and got.stderr.splitlines()[-1] == said
    assert "Traceback" not in got.stderr
    closed = subprocess.run(command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert "Traceback" not in closed.stderr and closed.returncode in (0, 1)


def _file_size_limit(limit: int):
    def set_it():
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # (Python ignores SIGXFSZ)
    return set_it


def test_a_report_that_does_not_fit_leaves_the_last_one_whole(tmp_path):
    """``--output`` on a full disk (here a file size limit below the report's size): the last
    report was cut where the disk ended (12 KiB of a SARIF log, invalid JSON for the CI job
    reading it) and the message said the write failed. The new report now goes to a file
    beside it first; the old one stays as it was, and so do its permission bits."""
    files = {**CLEAN, **{f"drivers/d{i}.c": "int bad(void)\n{\n\treturn helper(2);\n}\n" * 8
                         for i in range(300)}}
    root = make_tree(tmp_path / "tree", files)
    assert run_cli("index", str(root), cwd=tmp_path).returncode == 0
    for fmt in ("text", "json", "sarif"):
        report = tmp_path / fmt / f"report.{fmt}"
        report.parent.mkdir()
        argv = [sys.executable, "-m", "kernel_lsp", "check", "--root", str(root), "--no-index",
                "--format", fmt]
        whole = subprocess.run(argv, cwd=tmp_path, capture_output=True, timeout=300).stdout
        limit = 64 * 1024  # (the model's -shm file needs 32 KiB)
        assert len(whole) > 2 * limit
        report.write_text("the last report\n")
        report.chmod(0o640)
        said = subprocess.run([*argv, "--output", str(report)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300,
                              preexec_fn=_file_size_limit(limit))
        assert said.returncode == 2, said.stderr
        assert f"cannot write {report}: File too large" in said.stderr
        assert report.read_text() == "the last report\n"
        assert os.listdir(report.parent) == [report.name]  # (no temporary file left)
        assert run_cli(*argv[3:], "--output", str(report), cwd=tmp_path).returncode == 1
        assert report.read_bytes() == whole
        assert report.stat().st_mode & 0o777 == 0o640
