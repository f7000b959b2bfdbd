"""The Linux gate (``bench/linux_gate.py``) on the bundled example tree: it fails when a
threshold is crossed, passes when none is, and under ``--budget`` leaves what does not fit
(a killed index, a check that would not fit) to the next run instead of failing CI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TREE

GATE = Path(__file__).resolve().parent.parent / "bench" / "linux_gate.py"
LENIENT = ["--max-404", "1000", "--max-020-func", "1000", "--max-020-type", "1000",
           "--max-407", "1000", "--max-405-406", "1000"]


def _gate(tree: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GATE), str(tree), "--jobs", "1", *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "linux"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    return root


def test_a_crossed_threshold_fails_and_says_which(tree):
    proc = _gate(tree)  # the example tree is full of deliberate errors
    assert proc.returncode == 1, proc.stderr
    assert "FAIL  404_2 per 1,000 call sites" in proc.stdout
    assert "linux gate: FAILED: 404_2 per 1,000 call sites" in proc.stdout
    assert "top 404_2 symbols" in proc.stdout


def test_no_threshold_crossed_passes(tree):
    proc = _gate(tree, *LENIENT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("linux gate: passed")
    # every .c file of the example is built by some configuration (its options have prompts)
    assert "files no configuration of x86 builds (not checked, not counted): 0" in proc.stdout
    assert json.loads((tree / ".kernel-lsp" / "gate.json").read_text())["check_seconds"] >= 0


def test_what_does_not_fit_the_budget_waits_for_the_next_run(tree):
    proc = _gate(tree, "--budget", "1e-6", *LENIENT)  # the index is killed at once
    assert proc.returncode == 0, proc.stderr
    assert "linux gate: pending: kernel-lsp index did not end within the budget" in proc.stdout
    assert "thresholds:" not in proc.stdout
    # a check that took longer than what the budget leaves is not started
    (tree / ".kernel-lsp").mkdir(exist_ok=True)
    (tree / ".kernel-lsp" / "gate.json").write_text(json.dumps({"check_seconds": 10**6}))
    proc = _gate(tree, "--budget", "120", *LENIENT)
    assert proc.returncode == 0, proc.stderr
    assert "pending: the check (last run: 1000000 s) does not fit" in proc.stdout
    # with room, the next run completes the index, checks and enforces the thresholds
    proc = _gate(tree, "--budget", "600")
    assert proc.returncode == 1 and "linux gate: FAILED" in proc.stdout


def test_another_architecture_has_its_own_tree_and_part(tree):
    sys.path.insert(0, str(GATE.parent))
    from bench import kstats, linux_gate

    assert linux_gate.parse_args([]).tree == linux_gate.DEFAULT_TREE  # x86 stays the default
    assert linux_gate.parse_args([]).arch == "x86"
    arm = linux_gate.parse_args(["--arch", "arm64"])
    assert arm.tree.name == linux_gate.DEFAULT_TREE.name + "-arm64"
    assert kstats.in_arch_tree("arch/arm64/kernel/smp.c", "arm64")
    assert not kstats.in_arch_tree("arch/x86/kernel/smp.c", "arm64")
    assert kstats.in_x86_tree("arch/x86/kernel/smp.c") and kstats.in_arch_tree("mm/slub.c", "arm64")
    assert linux_gate.arch_paths(tree, "x86") == linux_gate.x86_paths(tree)
    assert "arch/x86" in linux_gate.x86_paths(tree)
    proc = _gate(tree, "--arch", "../x86")
    assert proc.returncode == 2 and "not a directory name" in proc.stderr
