"""The first model of a cold tree (``model/first.py``, ``live/first.py``): the open files'
include closures plus the files mentioning their findings' names, in ``first.db``; what it
shows is a subset of what the whole tree's model reports, marked provisional."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kernel_lsp.config import load_config
from kernel_lsp.live.first import NOTE, PROVABLE, Provisional, deep_run, first_run
from kernel_lsp.live.workspace import Workspace
from kernel_lsp.model import first as first_module
from kernel_lsp.model.first import first_db_path, index_closure
from kernel_lsp.model.indexer import index, worker_pool
from kernel_lsp.model.store import Model
from tests.conftest import TREE, write_tree


def _config(root: Path):
    return load_config(root)[0]


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("first") / "tree"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    return root


def _key(r) -> tuple:
    f = r.finding
    return (f.code, f.path, f.line, f.symbol)


def _provisional(config, paths: list[str], buffers: dict[str, bytes] | None = None):
    ws = Workspace(config)
    model = Model(first_db_path(config))
    ws.adopt(model)
    ws.provisional = Provisional.of(model)
    for path, text in (buffers or {}).items():
        ws.set_buffer(path, text)
    try:
        return ws.findings(paths), ws.provisional
    finally:
        ws.close()


def test_each_file_shows_early_only_what_the_whole_tree_reports(tmp_path):
    """Every C file of the fixture tree, opened one after the other on a cold tree: what the
    first model shows is the whole tree's findings of the provable codes, to the line; nothing
    else, and nothing from the root's model.db (which does not exist yet)."""
    root = tmp_path / "tree"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    config = _config(root)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.c"))
    early = {}
    for rel in files:
        first_run(config, [rel])
        shown, _ = _provisional(config, [rel])
        assert all(r.finding.message.endswith(NOTE) for r in shown)
        early[rel] = {_key(r) for r in shown}
    assert not config.db_path.exists()
    whole = Workspace(config)
    whole.adopt(index(config).model)
    compared = 0
    for rel in files:
        final = {_key(r) for r in whole.findings([rel]) if r.finding.code in PROVABLE
                 and r.finding.path == rel}
        assert early[rel] == final, rel
        compared += len(final)
    assert compared >= 15  # the corpus has 18 of them
    whole.close()


def test_a_name_not_scanned_waits_and_is_asked_for(tree):
    config = _config(tree)
    first_run(config, ["fs/stat.c"])
    text = (tree / "fs/stat.c").read_bytes().replace(
        b"\treturn ", b"\tnr_processes();\n\treturn ", 1)
    shown, prov = _provisional(config, ["fs/stat.c"], {"fs/stat.c": text})
    assert "nr_processes" not in {r.finding.symbol for r in shown}
    assert "nr_processes" in prov.wanted
    first_run(config, ["fs/stat.c"], ["nr_processes"])  # the run the server then asks for
    shown, prov = _provisional(config, ["fs/stat.c"], {"fs/stat.c": text})
    assert ("020_2", "nr_processes") in {(r.finding.code, r.finding.symbol) for r in shown}
    assert not prov.wanted


def test_a_file_outside_the_closures_and_a_new_include_line_show_nothing(tree):
    config = _config(tree)
    first_run(config, ["fs/stat.c"])
    shown, prov = _provisional(config, ["kernel/sys.c"])
    assert "kernel/sys.c" not in prov.covered  # only fs/stat.c was asked for
    assert not shown and "kernel/sys.c" in prov.wanted
    text = b'#include <linux/not_indexed_yet.h>\n' + (tree / "fs/stat.c").read_bytes()
    shown, _ = _provisional(config, ["fs/stat.c"], {"fs/stat.c": text})
    assert not shown  # what that header declares is not known yet


def test_a_name_mentioned_by_many_files_waits_for_a_deep_run(tmp_path, monkeypatch):
    import kernel_lsp.live.first as first

    files = {"include/a.h": "int helper(int);\n",
             "main.c": "int run(void) { return helper(1) + missing_fn(2); }\n"}
    files |= {f"lib/u{i}.c": "int helper(int x) { return x; }\n" if i == 0
              else "/* helper */\n" for i in range(4)}
    root = write_tree(tmp_path / "t", files)
    monkeypatch.setattr(first, "MAX_FILES_PER_NAME", 2)
    config = _config(root)
    stats = first_run(config, ["main.c"])
    assert stats["scanned"] == 2 and stats["settled"] == 1  # missing_fn: no file mentions it
    assert stats["deferred"] == 1  # helper: its 4 files after the first answer
    shown, _ = _provisional(config, ["main.c"])
    assert {r.finding.symbol for r in shown} == {"missing_fn"}
    assert deep_run(config) == {"deep": 1, "extra": 5}  # a.h and lib/u*.c
    shown, _ = _provisional(config, ["main.c"])
    assert {(r.finding.code, r.finding.symbol) for r in shown} == {
        ("020_2", "missing_fn"), ("404_2", "helper")}
    assert deep_run(config) == {"deep": 0}


def test_a_name_in_more_files_than_a_deep_run_takes_waits_for_the_whole_tree(tmp_path,
                                                                           monkeypatch):
    import kernel_lsp.live.first as first

    files = {"include/a.h": "int helper(int);\n",
             "main.c": "int run(void) { return helper(1); }\n"}
    files |= {f"lib/u{i}.c": "/* helper */\n" for i in range(5)}
    root = write_tree(tmp_path / "t", files)
    monkeypatch.setattr(first, "MAX_FILES_PER_NAME", 2)
    monkeypatch.setattr(first, "DEEP_FILES_PER_NAME", 4)
    config = _config(root)
    assert first_run(config, ["main.c"])["deferred"] == 0
    assert deep_run(config) == {"deep": 0}
    shown, _ = _provisional(config, ["main.c"])
    assert not shown


def test_the_closure_follows_includes_and_only_them(tmp_path):
    root = write_tree(tmp_path / "t", {
        "include/a.h": '#include "b.h"\nint a(void);\n',
        "include/b.h": "int b(void);\n",
        "include/c.h": "int c(void);\n",
        "main.c": "#include <a.h>\nint main(void) { return a() + b(); }\n",
        "other.c": "#include <c.h>\n"})
    config = _config(root)
    config.include_paths = ["include"]
    result = index_closure(config, ["main.c"])
    assert sorted(result.model.file_paths().values()) == ["include/a.h", "include/b.h",
                                                          "main.c"]
    assert result.stats["closure"] == 3 and result.model.meta("includes_resolved") == "1"
    result.model.close()


CHAIN = {**{f"include/h{i}.h": f'#include "h{i + 1}.h"\nint f{i}(void);\n' for i in range(4)},
         "include/h4.h": "int f4(void);\n",
         "main.c": "#include <h0.h>\nint main(void) { return f0() + f4(); }\n"}


def _functions(result) -> set[tuple]:
    return set(result.model.conn.execute(
        "SELECT fl.path, f.name, f.signature, f.line FROM functions f JOIN files fl "
        "ON fl.id = f.file_id"))


def test_one_set_of_processes_extracts_every_round_of_a_closure(tmp_path, monkeypatch):
    serial = _config(write_tree(tmp_path / "serial", CHAIN))
    serial.include_paths = ["include"]
    alone = index_closure(serial, ["main.c"], jobs=1)
    expected = _functions(alone)
    alone.model.close()
    started = []

    def pool(jobs, env):
        started.append(jobs)
        return worker_pool(jobs, env)

    monkeypatch.setattr(first_module, "SERIAL_BELOW", 1)  # a pool for a round of one file
    monkeypatch.setattr(first_module, "worker_pool", pool)
    config = _config(write_tree(tmp_path / "pool", CHAIN))
    config.include_paths = ["include"]
    result = index_closure(config, ["main.c"], jobs=2)
    assert result.stats["closure"] == 6 and len(expected) == 6  # six rounds of includes ...
    assert started == [2]  # ... one pool
    assert _functions(result) == expected
    result.model.close()


def test_a_c_file_included_by_another_sees_what_its_includer_included(tmp_path):
    """``debug_hw_1x06.c`` is compiled inside ``debug_hw.c``, inside ``host1x06.c``, after the
    headers those include: their closures are indexed too, as the whole model sees them."""
    root = write_tree(tmp_path / "t", {
        "include/m.h": "#define HELPER(x) ((x) + 1)\n",
        "hw/host.c": '#include <m.h>\n#include "debug.c"\n',
        "hw/debug.c": '#include "debug_one.c"\n',
        "hw/debug_one.c": "static int use(int v)\n{\n\treturn HELPER(v) + missing_call(v);\n}\n",
    })
    config = _config(root)
    config.include_paths = ["include"]
    stats = first_run(config, ["hw/debug_one.c"])
    assert stats["includers"] == 2
    shown, _ = _provisional(config, ["hw/debug_one.c"])
    assert {(r.finding.code, r.finding.symbol) for r in shown} == {("020_2", "missing_call")}
    whole = Workspace(config)
    whole.adopt(index(config).model)
    assert {_key(r) for r in whole.findings(["hw/debug_one.c"])} == {_key(r) for r in shown}
    whole.close()


def test_a_name_only_a_dropped_branch_declares_is_looked_up_in_the_tree(tmp_path):
    """``setup_fault_attr`` in ``block/blk-core.c``: its prototype sits under an ``#ifdef`` the
    configuration drops, its definition in a file outside the closure. With the closure alone
    the dropped prototype excuses the call; the file defining it is indexed too, and the first
    model reports what the whole one does."""
    root = write_tree(tmp_path / "t", {
        ".config": "CONFIG_BLOCK=y\n",  # no CONFIG_FAULT_THING: its branch is dropped
        "include/linux/fi.h": "#ifdef CONFIG_FAULT_THING\nint setup_x(int v);\n#endif\n",
        "lib/x.c": "int setup_x(int v)\n{\n\treturn v;\n}\n",
        "block/main.c": "#include <linux/fi.h>\nint run(void)\n{\n\treturn setup_x(1);\n}\n"})
    config = _config(root)
    config.include_paths = ["include"]
    whole = Workspace(config)
    whole.adopt(index(config).model)
    final = {_key(r) for r in whole.findings(["block/main.c"])}
    whole.close()
    assert ("404_2", "block/main.c", 3, "setup_x") in final
    stats = first_run(config, ["block/main.c"])
    assert stats["closure"] == 2 and stats["extra"] == 1  # lib/x.c
    shown, _ = _provisional(config, ["block/main.c"])
    assert {_key(r) for r in shown} == final


def test_a_host_program_stays_one_when_another_file_is_opened(tmp_path):
    """A host tool (``hostprogs``, ``arch/x86/tools/relocs.c``) is a program of its own: a
    function only the kernel defines is no concern of it, in the whole model as in the first
    one, also after a later run for another file."""
    root = write_tree(tmp_path / "t", {
        "drivers/gen/Makefile": "hostprogs := tool\n",
        "drivers/gen/tool.c": "int main(void)\n{\n\treturn kernel_fn(1);\n}\n",
        "lib/k.c": "int kernel_fn(int v)\n{\n\treturn v;\n}\n",
        "lib/x.c": "int run(void)\n{\n\treturn missing_fn(1);\n}\n"})
    config = _config(root)
    whole = Workspace(config)
    whole.adopt(index(config).model)
    assert not whole.findings(["drivers/gen/tool.c"])
    whole.close()
    first_run(config, ["drivers/gen/tool.c"])
    first_run(config, ["lib/x.c"])
    shown, _ = _provisional(config, ["drivers/gen/tool.c", "lib/x.c"])
    assert {(r.finding.path, r.finding.symbol) for r in shown} == {("lib/x.c", "missing_fn")}


GENERATING = {
    "include/gen.h": "#define MAKE(n) int get_##n(void) { return 0; }\n"
                     "#define MAKE2(n) int put_##n(int v) { return v; }\n",
    "fs/a.c": "#include <gen.h>\nMAKE(foo)\nMAKE2(bar)\nMAKE(baz)\n"
              "int a(void) { return get_foo() + put_bar(1) + nothere(); }\n"}


def _first_run_paused_at_its_expansion(root: str) -> None:
    """A first run (in a forked process) that stops where its macro expansion stores its rows
    until ``go`` exists beside the tree (``paused`` says it got there)."""
    import os
    import time

    add = Model.add_expansions
    here = os.path.dirname(root)

    def paused_add(self, *args):
        open(os.path.join(here, "paused"), "w").close()
        for _ in range(2400):
            if os.path.exists(os.path.join(here, "go")):
                break
            time.sleep(0.05)
        return add(self, *args)

    Model.add_expansions = paused_add
    config = _config(Path(root))
    config.include_paths = ["include"]
    first_run(config, ["fs/a.c"])
    os._exit(0)


def test_two_first_runs_at_once_expand_once(tmp_path):
    """Two servers starting on one cold tree each run a first index into ``first.db``; the
    second one, started while the first expanded macros, stored the generated functions
    again (7 function rows instead of 4, for good). It waits for the first now, and the
    model is the one a single run makes."""
    import multiprocessing
    import subprocess
    import sys
    import time

    reference = _config(write_tree(tmp_path / "ref", GENERATING))
    reference.include_paths = ["include"]
    first_run(reference, ["fs/a.c"])
    root = write_tree(tmp_path / "twice" / "tree", GENERATING)
    a = multiprocessing.get_context("fork").Process(target=_first_run_paused_at_its_expansion,
                                                     args=(str(root),))
    a.start()
    for _ in range(1200):
        if (root.parent / "paused").exists() or not a.is_alive():
            break
        time.sleep(0.05)
    assert (root.parent / "paused").exists(), "the first run did not reach its expansion"
    code = ("import sys\nfrom pathlib import Path\nfrom kernel_lsp.config import load_config\n"
            "from kernel_lsp.live.first import first_run\n"
            "config = load_config(Path(sys.argv[1]))[0]\nconfig.include_paths = ['include']\n"
            "first_run(config, ['fs/a.c'])\n")
    b = subprocess.Popen([sys.executable, "-c", code, str(root)])
    try:
        b.wait(timeout=3)
    except subprocess.TimeoutExpired:
        pass
    waited = b.returncode is None
    (root.parent / "go").touch()
    a.join(120)
    assert b.wait(timeout=120) == 0 and a.exitcode == 0

    def rows(config):
        model = Model(first_db_path(config))
        try:
            return sorted(model.conn.execute(
                "SELECT fl.path, f.name, f.line FROM functions f JOIN files fl "
                "ON fl.id = f.file_id"))
        finally:
            model.close()

    expected = rows(reference)
    assert len(expected) == 4  # a and the three the macros generate
    assert rows(_config(root)) == expected
    assert waited, "the second run did not wait for the first"


def test_first_db_is_not_deleted_under_a_run(tmp_path):
    """A server starting on a cold tree deletes the ``first.db`` an earlier session left, and
    one whose model is complete deletes its own: not the one another server's run is writing
    (held by its lock), which that run goes on with."""
    from kernel_lsp.model.first import remove_first_db
    from kernel_lsp.model.runlock import one_run_at_a_time

    config = _config(write_tree(tmp_path / "t", GENERATING))
    config.include_paths = ["include"]
    first_run(config, ["fs/a.c"])
    db = first_db_path(config)
    with one_run_at_a_time(db):
        remove_first_db(config)
        assert db.exists()
    remove_first_db(config)
    assert not db.exists()
