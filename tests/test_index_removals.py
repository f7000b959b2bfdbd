"""Files and directories deleted between two runs: the model then holds what a run from scratch
would, nothing of them left in other files' rows or among the directories."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from kernel_lsp.config import load_config
from kernel_lsp.model.indexer import index
from tests.test_index_determinism import _index_then_die

FILES = {
    "Kconfig": "",
    "include/linux/counter.h": "#define DEFINE_COUNTER(n) int counter_##n(void) { return 0; }\n"
                               "#define COUNTED 1\n",
    "fs/a.c": "#include <linux/counter.h>\nDEFINE_COUNTER(reads)\n"
              "int a(void) { return counter_reads(); }\n",
    "fs/sub/deeper/b.c": "int b(void) { return 1; }\n",
    "fs/sub-other/c.c": "int c(void) { return 2; }\n",
}


def make_tree(root: Path) -> Path:
    (root / "arch/x86").mkdir(parents=True)
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def snapshot(root: Path) -> dict:
    config, _ = load_config(root)
    result = index(config, jobs=1)
    model = result.model
    try:
        generated = {path: model.generated_rows(fid) for fid, path in model.file_paths().items()}
    finally:
        model.close()
    conn = sqlite3.connect(root / ".kernel-lsp/model.db")
    try:
        levels = sorted(conn.execute("SELECT level, name, father FROM level_types "
                                     "WHERE level IN ('dentry', 'subsys', 'func')"))
        functions = sorted(conn.execute("SELECT f.name, fl.path FROM functions f "
                                        "JOIN files fl ON fl.id = f.file_id"))
    finally:
        conn.close()
    return {"generated": generated, "levels": levels, "functions": functions}


def test_what_deleted_files_generated_or_held_goes_with_them(tmp_path):
    root = make_tree(tmp_path / "tree")
    before = snapshot(root)
    assert ("counter_reads", "fs/a.c") in before["functions"]  # DEFINE_COUNTER's
    assert ("dentry", "fs/sub/deeper", "fs/sub") in before["levels"]
    (root / "include/linux/counter.h").unlink()
    shutil.rmtree(root / "fs/sub")
    after = snapshot(root)
    fresh = tmp_path / "fresh"
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns(".kernel-lsp"))
    assert after == snapshot(fresh)
    assert ("counter_reads", "fs/a.c") not in after["functions"]
    assert not any(name.startswith("fs/sub/") or name == "fs/sub" for _, name, _ in
                   after["levels"])
    assert ("dentry", "fs/sub-other", "fs") in after["levels"]


def test_a_run_killed_between_a_macro_and_its_invokers_is_completed(tmp_path):
    import multiprocessing

    root = make_tree(tmp_path / "tree")
    snapshot(root)
    header = root / "include/linux/counter.h"
    header.write_text(header.read_text().replace("counter_##n", "counter2_##n"))
    # round 1 stores the header (committed at its end), round 2 extracts fs/a.c again: killed
    child = multiprocessing.get_context("fork").Process(target=_index_then_die,
                                                        args=(str(root), 1, 2))
    child.start()
    child.join(120)
    assert child.exitcode == 137
    after = snapshot(root)
    fresh = tmp_path / "fresh"
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns(".kernel-lsp"))
    assert after == snapshot(fresh)
