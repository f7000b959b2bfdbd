"""Incremental indexing, bad inputs, and recovery from a killed run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from kernel_lsp.config import load_config
from kernel_lsp.model.indexer import index
from kernel_lsp.model.store import Model

C_FILE = "#include <linux/x.h>\nint f{n}(void) {{ return g(); }}\n"


def make_tree(root, n=3):
    (root / "Kconfig").write_text("")
    (root / "include/linux").mkdir(parents=True)
    (root / "include/linux/x.h").write_text("int g(void);\n")
    (root / "fs").mkdir()
    for i in range(n):
        (root / f"fs/f{i}.c").write_text(C_FILE.format(n=i))


def run(root, **kw):
    config, _ = load_config(root)
    result = index(config, jobs=kw.get("jobs", 1))
    result.model.close()
    return result


def test_warm_run_reads_nothing_and_changes_are_seen(tmp_path):
    make_tree(tmp_path)
    first = run(tmp_path)
    assert first.stats["parsed"] == 4 and first.stats["unchanged"] == 0
    assert run(tmp_path).stats["parsed"] == 0
    # same content, new mtime: hashed, found equal, only touched
    os.utime(tmp_path / "fs/f0.c", ns=(1, 1))
    assert run(tmp_path).stats["parsed"] == 1
    assert run(tmp_path).stats["parsed"] == 0
    (tmp_path / "fs/f1.c").write_text("int h(void) { return 0; }\n")
    (tmp_path / "fs/f2.c").unlink()
    result = run(tmp_path)
    assert result.stats["parsed"] == 1 and result.stats["removed"] == 1
    conn = sqlite3.connect(tmp_path / ".kernel-lsp/model.db")
    names = {r[0] for r in conn.execute("SELECT name FROM functions")}
    assert names == {"g", "f0", "h"}


def test_a_run_that_wrote_most_files_compacts_the_model(tmp_path):
    make_tree(tmp_path, n=5)
    cold = run(tmp_path)
    assert "compact_seconds" in cold.stats  # written from scratch: compacted
    conn = sqlite3.connect(tmp_path / ".kernel-lsp/model.db")
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    conn.close()
    assert "compact_seconds" not in run(tmp_path).stats  # nothing written
    (tmp_path / "fs/f1.c").write_text("int h(void) { return 0; }\n")
    assert "compact_seconds" not in run(tmp_path).stats  # one file of six


def test_bad_files_give_messages_and_the_run_goes_on(tmp_path):
    make_tree(tmp_path, 1)
    (tmp_path / "fs/binary.c").write_bytes(b"\x7fELF\x00\x00\x01" * 100)
    (tmp_path / "fs/latin1.c").write_bytes(b"/* caf\xe9 */ int latin(void) { return 0; }\n")
    result = run(tmp_path)
    assert any("binary.c" in p for p in result.problems)
    conn = sqlite3.connect(tmp_path / ".kernel-lsp/model.db")
    names = {r[0] for r in conn.execute("SELECT name FROM functions")}
    assert {"latin", "f0", "g"} <= names


def test_corrupt_database_is_rebuilt_with_a_message(tmp_path):
    make_tree(tmp_path, 1)
    (tmp_path / ".kernel-lsp").mkdir()
    (tmp_path / ".kernel-lsp/model.db").write_bytes(b"garbage" * 1000)
    result = run(tmp_path)
    assert any("rebuilding" in p for p in result.problems)
    assert result.stats["parsed"] == 2
    assert (tmp_path / ".kernel-lsp/model.db.corrupt").exists()


def test_a_corrupt_model_is_set_aside_past_what_is_in_the_way(tmp_path):
    """A ``model.db.corrupt`` a rename cannot replace (a directory: a model path once made a
    directory, set aside before) sends the next corrupt model to ``.corrupt.1``; the CLI says
    why when nothing frees a name (exit 2, no "internal error")."""
    make_tree(tmp_path, 1)
    store = tmp_path / ".kernel-lsp"
    (store / "model.db.corrupt").mkdir(parents=True)
    (store / "model.db").write_bytes(b"garbage" * 1000)
    result = run(tmp_path)
    assert any("rebuilding" in p for p in result.problems)
    assert result.stats["parsed"] == 2
    assert (store / "model.db.corrupt").is_dir()
    assert (store / "model.db.corrupt.1").read_bytes() == b"garbage" * 1000

    (store / "model.db").unlink()
    (store / "model.db").write_bytes(b"garbage" * 1000)
    (store / "model.db.corrupt.1").unlink()
    for n in range(1, 100):
        (store / f"model.db.corrupt.{n}").mkdir()
    got = subprocess.run([sys.executable, "-m", "kernel_lsp", "check", "--root", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 2, got.stderr
    assert "cannot set the unusable model aside" in got.stderr
    assert "internal error" not in got.stderr and "Traceback" not in got.stderr
    assert (store / "model.db").read_bytes() == b"garbage" * 1000  # left where it was


def _indexes(conn) -> set[tuple[str, str]]:
    """(name, SQL) of the secondary indexes of a model."""
    return set(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                            "AND name LIKE 'idx_%'"))


def test_killed_run_leaves_a_consistent_database_that_the_next_run_completes(tmp_path):
    make_tree(tmp_path, 0)
    body = "".join(f"static int s{j}(int a) {{ return a + {j}; }}\n" for j in range(300))
    for i in range(120):
        (tmp_path / f"fs/big{i}.c").write_text(f"int big{i}(void) {{ return 0; }}\n" + body)
    proc = subprocess.Popen([sys.executable, "-m", "kernel_lsp", "index", str(tmp_path),
                             "--jobs", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "KERNEL_LSP_COMMIT_SECONDS": "0.05"})
    db = tmp_path / ".kernel-lsp/model.db"
    deadline = time.time() + 60
    while time.time() < deadline:  # kill once some, but not all, files are stored
        try:
            n = sqlite3.connect(db).execute("SELECT count(*) FROM files").fetchone()[0]
        except sqlite3.Error:
            n = 0
        if n >= 10:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = conn.execute("SELECT count(*) FROM files").fetchone()[0]
    assert 0 < stored < 121, "the kill did not land mid-run"
    # every stored file is whole: its definition row is there
    partial = conn.execute("SELECT count(*) FROM files f WHERE f.path LIKE 'fs/big%' AND NOT "
                           "EXISTS (SELECT 1 FROM functions WHERE file_id = f.id)").fetchone()[0]
    assert partial == 0
    # a cold index loads without its secondary indexes, and says so
    assert conn.execute("SELECT value FROM meta WHERE key='bulk_load'").fetchone()[0] == "1"
    assert _indexes(conn) == set()
    conn.close()
    result = run(tmp_path)
    assert result.stats["files"] == 121
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(DISTINCT file_id) FROM functions").fetchone()[0] == 121
    assert conn.execute("SELECT value FROM meta WHERE key='includes_resolved'").fetchone()[0] == "1"
    assert conn.execute("SELECT value FROM meta WHERE key='bulk_load'").fetchone()[0] == "0"
    fresh = tmp_path / "fresh.db"
    Model(fresh).close()
    assert _indexes(conn) == _indexes(sqlite3.connect(fresh)) != set()


def test_a_bulk_load_has_a_larger_page_cache_and_gives_it_back(tmp_path):
    from kernel_lsp.model.store import BULK_CACHE_KIB
    model = Model(tmp_path / "m.db")
    cache = model.conn.execute("PRAGMA cache_size").fetchone()[0]
    with model.bulk_load():
        assert model.conn.execute("PRAGMA cache_size").fetchone()[0] == -BULK_CACHE_KIB
    assert model.conn.execute("PRAGMA cache_size").fetchone()[0] == cache != -BULK_CACHE_KIB
    # a model that holds files already is not loaded in bulk: its cache stays
    model.replace_file("a.c", {}, size=1, mtime_ns=1, sha1="x")
    with model.bulk_load():
        assert model.conn.execute("PRAGMA cache_size").fetchone()[0] == cache
    model.close()


def test_a_file_where_the_model_directory_goes_is_reported(tmp_path):
    make_tree(tmp_path, 1)
    (tmp_path / ".kernel-lsp").write_text("not a directory\n")
    got = subprocess.run([sys.executable, "-m", "kernel_lsp", "check", "--root", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 2, got.stderr
    assert ".kernel-lsp: cannot hold the model (not a directory)" in got.stderr
    assert "internal error" not in got.stderr and "Traceback" not in got.stderr
    assert (tmp_path / ".kernel-lsp").read_text() == "not a directory\n"


def test_a_model_that_cannot_be_written_now_is_kept(tmp_path):
    """The disk full (here a file size limit, ``ulimit -f``) or the model locked past the
    busy timeout by another writer: the good model was set aside as corrupt and rebuilt from
    nothing (on Linux, six minutes, under a writer still using it). It is kept, and the CLI
    says why (exit 2); the next run without the limit uses it."""
    import resource

    make_tree(tmp_path, 3)
    run(tmp_path).model.close()
    store = tmp_path / ".kernel-lsp"
    for side in store.glob("model.db-*"):
        side.unlink()
    before = (store / "model.db").read_bytes()

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, resource.RLIM_INFINITY))

    got = subprocess.run([sys.executable, "-m", "kernel_lsp", "index", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, preexec_fn=small_files)
    assert got.returncode == 2, got.stderr
    assert "cannot use the model now (disk I/O error)" in got.stderr
    assert "Traceback" not in got.stderr and "internal error" not in got.stderr
    assert not list(store.glob("*.corrupt*"))
    assert (store / "model.db").read_bytes() == before
    again = run(tmp_path)
    assert again.stats["parsed"] == 0 and not again.problems


def test_a_write_the_disk_refuses_is_said_and_the_model_kept(tmp_path):
    """The model opens but a write fails (the disk full mid-run): SQLite rolls the whole
    transaction back itself, and the rollback to the file's savepoint raised "no such
    savepoint" (an "internal error" that hid the disk's); the CLI says what the disk said,
    and the next run extracts only the changed file."""
    import resource
    import shutil

    from tests.conftest import TREE

    root = tmp_path / "tree"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    cli = [sys.executable, "-m", "kernel_lsp", "index", str(root)]
    subprocess.run(cli, capture_output=True, timeout=120, check=True)
    with open(root / "fs/stat.c", "a") as f:
        f.write("void added_later(void) {}\n")

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (40 * 1024, resource.RLIM_INFINITY))

    got = subprocess.run(cli, capture_output=True, text=True, timeout=120,
                         preexec_fn=small_files)
    assert got.returncode == 2, got.stderr
    assert got.stderr.startswith("kernel-lsp: cannot use the model: disk I/O error"), got.stderr
    assert "internal error" not in got.stderr and "savepoint" not in got.stderr
    again = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert "(1 parsed, 60 unchanged, 0 removed)" in again.stdout, again.stdout
