"""The stored model under faults the machine or other processes cause: a run of another
kernel-lsp under way, a read-only model directory, a damaged or foreign model file. Each is
said in one line; nothing stored is lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from kernel_lsp.model.runlock import one_run_at_a_time
from tests.test_index_failures import REPO, make_tree, run

ENV = {**os.environ, "PYTHONPATH": str(REPO), "KERNEL_LSP_DEBUG": ""}


def kernel_lsp(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kernel_lsp", *argv], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=300)


def test_check_no_index_during_a_run_says_a_run_is_under_way(tmp_path):
    """``check --no-index`` while ``kernel-lsp index`` writes the model said it was
    incomplete because 'an index run was interrupted'. It says one is under way (and, once no
    run holds the model, that one was interrupted, as before)."""
    make_tree(tmp_path)
    run(tmp_path)
    db = tmp_path / ".kernel-lsp/model.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'includes_resolved'")
    conn.close()
    with one_run_at_a_time(db):
        got = kernel_lsp("check", "--no-index", cwd=tmp_path)
    assert got.returncode == 2
    assert got.stderr == (f"kernel-lsp: {db}: the model is incomplete (another kernel-lsp is "
                          "indexing this tree now): check without --no-index\n")
    got = kernel_lsp("check", "--no-index", cwd=tmp_path)
    assert got.returncode == 2
    assert "(an index run was interrupted)" in got.stderr, got.stderr
