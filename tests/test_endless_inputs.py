"""Inputs that never end or never come: a FIFO or a link to /dev/zero where a Makefile, a
Kconfig file or an eBPF program is read. Each run ends, with a message where one is due."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MEMORY = 3 << 30  # address space a run may take: /dev/zero read whole takes it all


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def kernel_lsp(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERNEL_LSP_DEBUG": "", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "kernel_lsp", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=_limited)


def make_tree(root: Path) -> Path:
    files = {
        "Kconfig": 'source "mm/Kconfig"\nsource "fs/Kconfig"\nconfig FS_X\n\tbool "x"\n',
        "Makefile": "obj-y += fs/ mm/\n",
        "arch/x86/configs/x86_64_defconfig": "CONFIG_FS_X=y\n",
        "include/linux/x.h": "int x(void);\n",
        "fs/a.c": "#include <linux/x.h>\nint a(void) { return x(); }\n",
        "mm/b.c": "int b(void) { return x(); }\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_build_files_that_never_end_are_not_read(tmp_path):
    root = make_tree(tmp_path)
    os.mkfifo(root / "fs/Makefile")  # nobody ever writes to it
    os.mkfifo(root / "mm/Kconfig")
    (root / "mm/Makefile").symlink_to("/dev/zero")
    (root / "fs/Kconfig").symlink_to("/dev/zero")
    got = kernel_lsp("check", "--root", str(root), "-j", "1", cwd=root)
    assert got.returncode == 1, got.stderr  # mm/b.c's undeclared x()
    assert "internal error" not in got.stderr
    assert "mm/b.c:1:22: error:" in got.stdout


def test_an_endless_ebpf_input_is_refused(tmp_path):
    program = REPO / "fixtures/ebpf/run/alu32_wrap.s"
    for argv in (["bpf", "check", "/dev/zero"], ["bpf", "dis", "/dev/zero"],
                 ["bpf", "run", str(program), "--mem-file", "/dev/zero"]):
        got = kernel_lsp(*argv, cwd=tmp_path)
        assert got.returncode == 2, got.stderr
        assert "cannot read /dev/zero: larger than 64 MiB" in got.stderr
    (tmp_path / "big.bin").write_bytes(bytes(8 * 1_000_001))  # the kernel loads at most 1M
    got = kernel_lsp("bpf", "check", "big.bin", cwd=tmp_path)
    assert got.returncode == 2
    assert "1,000,001 instruction slots, more than a program may have" in got.stderr
    fifo = tmp_path / "prog.o"  # a shell's <(...): read as it comes
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat {REPO}/fixtures/ebpf/elf/loop.o > {fifo}"])
    got = kernel_lsp("bpf", "check", str(fifo), cwd=tmp_path)
    writer.wait(timeout=60)
    assert got.returncode in (0, 1) and "program(s) checked" in got.stderr, got.stderr


def test_a_source_made_a_fifo_after_the_index_is_not_waited_for(tmp_path):
    # check --no-index reads PATHS changed since the index, SARIF reads the lines it
    # fingerprints: both waited for a writer for ever
    root = make_tree(tmp_path)
    assert kernel_lsp("index", str(root), cwd=root).returncode == 0
    (root / "mm/b.c").unlink()
    os.mkfifo(root / "mm/b.c")
    for argv in (["check", "--no-index", "mm/b.c"], ["check", "--no-index", "--format", "sarif"],
                 ["check", "--no-index", "--format", "json"]):
        got = kernel_lsp(*argv, cwd=root)
        assert got.returncode == 1, got.stderr  # the stored facts: x() undeclared
        assert "internal error" not in got.stderr
    said = kernel_lsp("check", "--no-index", "mm/b.c", cwd=root).stderr
    assert "mm/b.c: cannot read (not a regular file); its stored facts are used" in said, said
