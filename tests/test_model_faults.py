"""The stored model under faults the machine or other processes cause: a run of another
kernel-lsp under way, a read-only model directory, a damaged or foreign model file. Each is
said in one line; nothing stored is lost."""

from __future__ import annotations

import json
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


def _read_only_prefix(directory: Path) -> list[str]:
    """A command prefix that runs a program with ``directory`` bind-mounted read-only over
    itself, in a mount namespace of its own (a user namespace too when not root); skips the
    test where that is not allowed."""
    import shutil

    import pytest

    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    flags = "-m" if os.geteuid() == 0 else "-rm"
    prefix = ["unshare", flags, "sh", "-c",
              'mount --bind -o ro "$0" "$0" && exec "$@"', str(directory)]
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {probe.stderr.strip()}")
    return prefix


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_a_model_on_a_read_only_file_system_is_read_as_it_is(tmp_path):
    """``.kernel-lsp`` on a read-only file system: every command said 'cannot use the model
    now (unable to open database file)', exit 2 (SQLite opens a WAL database only where it can
    make its -shm file). The commands that read the model read it as it is (immutable), and
    say so; ``index`` says it cannot write it; nothing in the directory changes."""
    make_tree(tmp_path)
    run(tmp_path)
    (tmp_path / "fs/a.c").write_text(  # changed since
        "#include <linux/x.h>\nint a(void) { return g() + gone(); }\n")
    index_dir = tmp_path / ".kernel-lsp"
    before = {p.name: _sha(p) for p in index_dir.iterdir()}
    ro = _read_only_prefix(index_dir)

    def kernel_lsp_ro(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([*ro, sys.executable, "-m", "kernel_lsp", *argv], cwd=tmp_path,
                              env=ENV, capture_output=True, text=True, timeout=300)

    said = f"kernel-lsp: {index_dir} is on a read-only file system"

    def findings(out: str) -> list:
        return json.loads(out)["findings"]

    for paths in ([], ["fs/a.c"]):
        got = kernel_lsp_ro("check", "--format", "json", *paths)
        expected = kernel_lsp("check", "--no-index", "--format", "json", *paths, cwd=tmp_path)
        assert got.returncode == expected.returncode, got.stderr
        assert got.stderr.splitlines()[0] == (f"{said}: the model in it is used as it is, not "
                                              "brought up to date")
        assert findings(got.stdout) == findings(expected.stdout)
        got = kernel_lsp_ro("check", "--no-index", "--format", "json", *paths)
        assert got.returncode == expected.returncode
        assert findings(got.stdout) == findings(expected.stdout)
    assert [f["symbol"] for f in findings(got.stdout)] == ["gone"]  # fs/a.c as it is now
    got = kernel_lsp_ro("index")
    assert got.returncode == 2
    assert got.stderr == f"{said}: the model in it cannot be brought up to date\n"
    assert {p.name: _sha(p) for p in index_dir.iterdir()} == before


def test_a_read_only_model_with_a_write_ahead_log(tmp_path):
    """A model a killed writer left with its last commit in ``model.db-wal``, then on a
    read-only file system: with the ``-shm`` file there, the commit is read; without it SQLite
    cannot read the log, and the message says why (not 'unable to open database file')."""
    make_tree(tmp_path)
    run(tmp_path)
    db = tmp_path / ".kernel-lsp/model.db"
    code = ("import os, sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('PRAGMA wal_autocheckpoint=0')\n"
            "c.execute(\"DELETE FROM meta WHERE key = 'includes_resolved'\")\n"
            "os._exit(9)\n")
    subprocess.run([sys.executable, "-c", code, str(db)], check=False)
    assert db.with_name("model.db-wal").stat().st_size > 0
    ro = _read_only_prefix(db.parent)
    argv = [*ro, sys.executable, "-m", "kernel_lsp", "check", "--no-index"]
    got = subprocess.run(argv, cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert got.returncode == 2
    assert "the model is incomplete (an index run was interrupted)" in got.stderr, got.stderr
    db.with_name("model.db-shm").unlink()
    got = subprocess.run(argv, cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert got.returncode == 2
    assert got.stderr == (f"kernel-lsp: {db}: {db.parent} is on a read-only file system, and "
                          "its last commits are in model.db-wal, which SQLite cannot read "
                          "without writing model.db-shm beside it\n")


def _damage(db: Path, table: str) -> None:
    """Overwrite the root page of ``table`` (a b-tree page header that cannot be, then
    garbage), as a torn write or a bad sector does; opening the file does not read it."""
    conn = sqlite3.connect(db)
    root, size = (conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                               (table,)).fetchone()[0],
                  conn.execute("PRAGMA page_size").fetchone()[0])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every commit in the file itself
    conn.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\x0d\x00\x00\xff\xff\x00" + b"\xde\xad\xbe\xef" * 200)


def _fixture_copy(tmp_path: Path) -> Path:
    import shutil

    from tests.conftest import TREE

    root = tmp_path / "tree"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    assert kernel_lsp("index", cwd=root).returncode == 0
    return root


def test_a_model_damaged_deep_inside_is_rebuilt(tmp_path):
    """A page of the model torn (deep in the file: opening it reads only the schema): every
    command said 'internal error: DatabaseError: database disk image is malformed', run after
    run, the damaged model kept. Found by an index run, the model is set aside and rebuilt
    in the same run; found by a check reading it, it is set aside and the next run rebuilds
    it. Each time one line, no traceback."""
    root = _fixture_copy(tmp_path)
    expected = kernel_lsp("check", "--format", "json", cwd=root)
    db = root / ".kernel-lsp/model.db"
    for table in ("files", "function_rows"):
        _damage(db, table)
        got = kernel_lsp("check", "--format", "json", cwd=root)
        if table == "files":  # what every index run reads
            assert got.returncode == expected.returncode, got.stderr
            assert got.stderr.splitlines()[0] == (
                f"kernel-lsp: {db}: the model is damaged (database disk image is malformed); "
                "rebuilding the model")
        else:  # what only the checks read
            assert got.returncode == 2
            assert got.stderr == (
                f"kernel-lsp: {db}: the model is damaged (database disk image is malformed); "
                "it is set aside as model.db.corrupt, and the next run rebuilds it\n")
            got = kernel_lsp("check", "--format", "json", cwd=root)
        assert json.loads(got.stdout)["findings"] == json.loads(expected.stdout)["findings"]
        assert db.with_name("model.db.corrupt").is_file()
        db.with_name("model.db.corrupt").unlink()


def test_a_model_of_a_newer_kernel_lsp_is_kept(tmp_path):
    """A model a newer kernel-lsp wrote (a later schema): every command of an older one set it
    aside as model.db.corrupt and rebuilt it (``selfcheck`` too), and the newer one, finding an
    older schema, would migrate or rebuild it in turn. It is refused, in one line, and kept."""
    from kernel_lsp.model import schema

    make_tree(tmp_path)
    run(tmp_path)
    db = tmp_path / ".kernel-lsp/model.db"
    newer = schema.SCHEMA_VERSION + 1
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(newer),))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = _sha(db)
    said = (f"kernel-lsp: {db}: written by a newer kernel-lsp (schema {newer}; this one reads "
            f"up to {schema.SCHEMA_VERSION}): kept as it is; use that kernel-lsp, or delete "
            "the file to index the tree with this one\n")
    for argv in (["index"], ["check"], ["check", "--no-index"], ["selfcheck"]):
        got = kernel_lsp(*argv, cwd=tmp_path)
        assert (got.returncode, got.stderr) == (2, said), argv
    assert sorted(p.name for p in db.parent.iterdir()) == ["model.db", "model.db.lock"]
    assert _sha(db) == before


def test_check_no_index_on_an_empty_model_file(tmp_path):
    """``check --no-index`` where ``model.db`` is an empty file (a copy cut short, a ``touch``):
    it gave the file the schema and said 'the model is incomplete (an index run was
    interrupted)'. It says there is no model, and leaves the file as it was."""
    make_tree(tmp_path)
    db = tmp_path / ".kernel-lsp/model.db"
    db.parent.mkdir()
    db.touch()
    got = kernel_lsp("check", "--no-index", cwd=tmp_path)
    assert got.returncode == 2
    assert got.stderr == (f"kernel-lsp: no model at {db}: run `kernel-lsp index` first, or "
                          "check without --no-index\n")
    assert db.stat().st_size == 0


def test_the_index_summary_is_one_line_whatever_the_root_is_named(tmp_path):
    root = tmp_path / "a\nb"
    make_tree(root)
    got = kernel_lsp("index", str(root), cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert got.stdout.startswith(f"indexed {tmp_path}/a\\nb: 3 files") and got.stdout.count("\n") == 1


def test_an_index_of_a_tree_deleted_meanwhile_makes_nothing(tmp_path):
    """A tree deleted while a server runs on it: the server's next index run made the tree's
    directory and ``.kernel-lsp`` again, with a model of 0 files. It says the tree is gone."""
    import shutil

    import pytest

    from kernel_lsp.config import load_config
    from kernel_lsp.live.first import first_run
    from kernel_lsp.model.indexer import index
    from kernel_lsp.model.store import ModelUnavailable

    make_tree(tmp_path / "tree")
    config, _ = load_config(tmp_path / "tree")
    shutil.rmtree(tmp_path / "tree")
    for run_once in (lambda: index(config, jobs=1), lambda: first_run(config, ["fs/a.c"])):
        with pytest.raises(ModelUnavailable, match="no such directory"):
            run_once()
        assert not (tmp_path / "tree").exists()


def test_a_model_path_that_is_a_directory_or_a_dangling_link(tmp_path):
    """``model.db`` made a directory (by hand, by a tool): every run said 'cannot use the
    model now (unable to open database file)', SQLite's word taken for a passing trouble, and
    kept it for ever; it is set aside (with what it holds) and the model rebuilt. A
    ``.kernel-lsp`` that is a dangling symbolic link said 'cannot hold the model (File
    exists)'; it says where the link leads."""
    make_tree(tmp_path)
    db = tmp_path / ".kernel-lsp/model.db"
    db.mkdir(parents=True)
    (db / "kept").write_text("x")
    got = kernel_lsp("check", cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert got.stderr.splitlines()[0] == (f"kernel-lsp: {db}: a directory, not a model file; "
                                          "rebuilding the model")
    assert db.is_file() and (db.with_name("model.db.corrupt") / "kept").read_text() == "x"
    other = tmp_path / "other"
    make_tree(other)
    (other / ".kernel-lsp").symlink_to(tmp_path / "nowhere")
    got = kernel_lsp("check", cwd=other)
    assert got.returncode == 2
    assert got.stderr == (f"kernel-lsp: {other / '.kernel-lsp'}: cannot hold the model (a "
                          f"symbolic link to {tmp_path / 'nowhere'}, which does not exist)\n")


def test_a_report_never_replaces_the_model_or_a_source_file(tmp_path):
    """``check -o .kernel-lsp/model.db`` replaced the model by the report (the next run
    rebuilt it from nothing), ``check -o fs/a.c`` the file it checked. Both are refused, in one
    line, and nothing is written; the same for ``selfcheck`` and a link leading there."""
    make_tree(tmp_path)
    run(tmp_path)
    db = tmp_path / ".kernel-lsp/model.db"
    source = tmp_path / "fs/a.c"
    (tmp_path / "report.c").symlink_to(source)
    before = source.read_bytes()
    for argv, said in (
            (["check", "-o", ".kernel-lsp/model.db"],
             f"cannot write .kernel-lsp/model.db: it is in {db.parent}, where kernel-lsp keeps "
             "the model"),
            (["check", "--format", "sarif", "-o", "fs/a.c"],
             "cannot write fs/a.c: it is a source file of the tree (fs/a.c)"),
            (["selfcheck", "-o", "report.c"],
             "cannot write report.c: it is a source file of the tree (fs/a.c)")):
        got = kernel_lsp(*argv, cwd=tmp_path)
        assert got.returncode == 2, argv
        assert got.stderr.splitlines()[-1] == f"kernel-lsp: {said}", (argv, got.stderr)
        assert source.read_bytes() == before
        assert db.read_bytes()[:16] == b"SQLite format 3\x00"  # (a run may write it: no hash)
    got = kernel_lsp("check", "-o", "report.txt", cwd=tmp_path)
    assert got.returncode == 0 and (tmp_path / "report.txt").is_file()
