"""Deterministic, crash-consistent models: the findings of a tree do not depend on how it was
indexed — with one or two worker processes, or by a run killed at any point (extraction,
include resolution, macro expansion) and completed by the next one."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time

import pytest

from kernel_lsp.cli import main
from kernel_lsp.config import load_config
from kernel_lsp.model.indexer import index
from tests.conftest import TREE


def _findings(root, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["check", "--root", str(root), "--format", "json"]) in (0, 1)
    # "path" is relative to the current directory (each copy lives elsewhere); "root_path" is not
    return [{k: v for k, v in f.items() if k != "path"}
            for f in json.loads(capsys.readouterr().out)["findings"]]


def _copy(tmp_path, name: str):
    root = tmp_path / name
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    return root


def _index_then_die(root: str, jobs: int, kill_at: int) -> None:
    """Child process: index, and die like ``kill -9`` at the ``kill_at``-th progress step."""
    steps = [0]

    def progress(_done, _total, _path):
        steps[0] += 1
        if steps[0] == kill_at:
            os._exit(137)  # no cleanup: an open SQLite transaction is simply lost

    config, _ = load_config(root)
    index(config, jobs=jobs, progress=progress).model.close()
    os._exit(0)


def _steps(root) -> int:
    """How many progress steps a cold index of ``root`` takes (extraction plus expansion)."""
    calls = []
    config, _ = load_config(root)
    index(config, jobs=1, progress=lambda *a: calls.append(a)).model.close()
    shutil.rmtree(root / ".kernel-lsp")
    return len(calls)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The findings of a cold single-process index of the fixture tree."""
    root = _copy(tmp_path_factory.mktemp("ref"), "tree")
    config, _ = load_config(root)
    index(config, jobs=1).model.close()
    return root


def test_one_or_two_workers_give_identical_findings(reference, tmp_path, capsys):
    expected = _findings(reference, capsys)
    assert expected, "the fixture tree has findings"
    root = _copy(tmp_path, "two")
    config, _ = load_config(root)
    result = index(config, jobs=2)
    result.model.close()
    assert result.stats["parsed"] == len(list(TREE.rglob("*.[ch]")))
    assert _findings(root, capsys) == expected


def _generated(model) -> dict[str, dict]:
    """Every file's macro-generated rows, by path."""
    return {path: model.generated_rows(fid) for fid, path in model.file_paths().items()}


def test_expansion_in_two_processes_stores_the_rows_of_one(reference, tmp_path, capsys,
                                                            monkeypatch):
    import kernel_lsp.model.expand as expand

    monkeypatch.setattr(expand, "BATCH", 3)  # several batches, in both workers, on a small tree
    monkeypatch.setattr(expand, "PARALLEL_FROM", 1)
    root = _copy(tmp_path, "two")
    config, _ = load_config(root)
    steps = []
    result = index(config, jobs=2, progress=lambda *a: steps.append(a))
    assert result.stats["expand_processes"] == 2
    got = _generated(result.model)
    result.model.close()
    config, _ = load_config(reference)
    serial = index(config, jobs=1)  # warm: nothing to expand again
    assert serial.stats["expand_processes"] == 0
    expected = _generated(serial.model)
    serial.model.close()
    assert sum(len(v) for rows in expected.values() for v in rows.values()) > 10
    assert got == expected
    assert [s[:2] for s in steps[-3:]] == [(n, steps[-1][1]) for n in range(
        steps[-1][1] - 2, steps[-1][1] + 1)], "expansion progress counts every file in order"
    assert _findings(root, capsys) == _findings(reference, capsys)


@pytest.mark.parametrize("where", [0.05, 0.5, 0.95, 1.02, 1.5])
def test_a_run_killed_anywhere_is_completed_by_the_next(reference, tmp_path, capsys, where):
    """``where``: the fraction of the extraction steps done at the kill (> 1: into expansion)."""
    expected = _findings(reference, capsys)
    root = _copy(tmp_path, "killed")
    files = len(list(TREE.rglob("*.[ch]")))
    total = _steps(root)
    kill_at = max(1, min(total, round(files * where)))
    child = multiprocessing.get_context("fork").Process(
        target=_index_then_die, args=(str(root), 1, kill_at))
    child.start()
    child.join(120)
    assert child.exitcode == 137, "the index was not killed mid-run"
    assert _findings(root, capsys) == expected


def _restamp_then_die(root: str, kill_at: int) -> None:
    """Child process: a new extractor version re-indexes a complete model; die at ``kill_at``."""
    import kernel_lsp.model.indexer as indexer

    indexer.EXTRACTOR_VERSION = "next"
    _index_then_die(root, 1, kill_at)


@pytest.mark.parametrize("where", [0.5, 1.0])
def test_a_killed_reindex_under_a_new_extractor_is_completed(reference, tmp_path, capsys,
                                                              monkeypatch, where):
    """A complete model, then a new extractor version whose re-index is killed: the next run
    re-extracts every file the killed run did not (it cannot trust the old facts by size and
    mtime) and resolves the includes of those it did (the old "resolved" mark is stale)."""
    expected = _findings(reference, capsys)
    root = _copy(tmp_path, "restamped")
    config, _ = load_config(root)
    index(config, jobs=1).model.close()
    files = len(list(TREE.rglob("*.[ch]")))
    child = multiprocessing.get_context("fork").Process(
        target=_restamp_then_die, args=(str(root), max(1, round(files * where))))
    child.start()
    child.join(120)
    assert child.exitcode == 137, "the re-index was not killed mid-run"
    monkeypatch.setattr("kernel_lsp.model.indexer.EXTRACTOR_VERSION", "next")
    index(config, jobs=1).model.close()
    assert _findings(root, capsys) == expected


def _index_paused(root: str, pause_at: int) -> None:
    """Child process: index; at the ``pause_at``-th progress step, make ``paused`` and wait
    for ``go`` (both beside ``root``)."""
    import kernel_lsp.model.expand as expand

    expand.BATCH = 1  # (this process only) the first expansion batch stored before the pause
    steps = [0]
    here = os.path.dirname(root)

    def progress(_done, _total, _path):
        steps[0] += 1
        if steps[0] == pause_at:
            open(os.path.join(here, "paused"), "w").close()
            for _ in range(12000):  # (at most 10 minutes: a test that failed elsewhere)
                if os.path.exists(os.path.join(here, "go")):
                    break
                time.sleep(0.05)

    config, _ = load_config(root)
    index(config, jobs=1, progress=progress).model.close()
    os._exit(0)


def test_a_second_index_run_waits_for_the_first(reference, tmp_path, capsys):
    """Two `kernel-lsp index` of one tree at once each expanded the macros of the files the
    other had stored: the model kept those generated rows twice (2 of each `idtentry.h`
    function on a Linux tree), for good. The first run is held inside its expansion here, the
    second started then: it now says it waits, and goes on when the first has ended."""
    root = _copy(tmp_path, "twice")
    files = len(list(TREE.rglob("*.[ch]")))
    child = multiprocessing.get_context("fork").Process(
        target=_index_paused, args=(str(root), files + 2))
    child.start()
    for _ in range(2400):
        if (tmp_path / "paused").exists() or not child.is_alive():
            break
        time.sleep(0.05)
    assert (tmp_path / "paused").exists(), "the first run did not reach its expansion"
    second = subprocess.Popen([sys.executable, "-m", "kernel_lsp", "index", str(root)],
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    said = second.stderr.readline()  # (the run's end when it does not wait)
    (tmp_path / "go").touch()
    child.join(300)
    said += second.communicate(timeout=300)[1]
    assert child.exitcode == 0 and second.returncode == 0, said
    assert "another kernel-lsp is indexing this tree; waiting for it" in said, said
    config, _ = load_config(root)
    got = index(config, jobs=1)
    assert got.stats["parsed"] == 0
    generated = _generated(got.model)
    got.model.close()
    config, _ = load_config(reference)
    serial = index(config, jobs=1)
    expected = _generated(serial.model)
    serial.model.close()
    assert generated == expected
    assert _findings(root, capsys) == _findings(reference, capsys)
