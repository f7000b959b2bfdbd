"""The live session (model + editor buffers) finds exactly what the batch checker finds, and
follows buffer edits: a fix typed into a buffer clears its finding without touching the disk."""

from __future__ import annotations

import shutil

import pytest

from kernel_lsp.config import load_config
from kernel_lsp.live.workspace import Workspace, open_workspace
from kernel_lsp.model.indexer import index
from tests.conftest import TREE
from tests.fixture_expect import SOURCE_SUFFIXES


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("live") / "tree"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    config, _ = load_config(root)
    result = index(config, jobs=1)
    batch = [r.finding for r in open_workspace(config, result.model, None).findings()]
    result.model.close()
    session = Workspace(config)
    assert session.load() is None
    yield root, config, session, batch
    session.close()


def _check(ws, path):
    return [r.finding for r in ws.findings([path])]


def _key(f):
    return (f.code, f.path, f.line, f.col, f.end_col, f.symbol, f.message)


def test_stored_files_match_batch(indexed):
    root, _config, session, batch = indexed
    paths = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                   if p.suffix in SOURCE_SUFFIXES and ".kernel-lsp" not in p.parts)
    live = [f for p in paths for f in _check(session, p)]
    assert sorted(map(_key, live)) == sorted(map(_key, batch))
    assert batch, "the fixture tree has findings"


def test_buffers_match_batch_and_edits_are_followed(indexed):
    root, _config, session, batch = indexed
    for path in sorted({f.path for f in batch if f.code == "404_2"}):
        source = (root / path).read_bytes()
        session.set_buffer(path, source)
        assert sorted(map(_key, _check(session, path))) == sorted(
            _key(f) for f in batch if f.path == path)
        finding = next(f for f in batch if f.path == path and f.code == "404_2")
        lines = source.split(b"\n")
        # declare the function at the top of the buffer: the finding goes, the disk is unchanged
        edited = b"int %s();\n" % finding.symbol.encode() + source
        session.set_buffer(path, edited)
        after = _check(session, path)
        assert not [f for f in after if f.code == "404_2" and f.symbol == finding.symbol]
        assert (root / path).read_bytes() == source and len(lines) > 1
        session.drop_buffer(path)
        assert sorted(map(_key, _check(session, path))) == sorted(
            _key(f) for f in batch if f.path == path)


def test_buffer_with_a_new_call_reports_it(indexed):
    root, _config, session, _batch = indexed
    path = "fs/open.c"
    source = (root / path).read_bytes()
    body_end = source.rindex(b"}")
    edited = source[:body_end] + b"\tnowhere_defined_fn(1);\n" + source[body_end:]
    session.set_buffer(path, edited)
    codes = {(f.code, f.symbol) for f in _check(session, path)}
    assert ("020_2", "nowhere_defined_fn") in codes
    session.drop_buffer(path)


def test_includers_of_a_header_are_the_open_files_that_reach_it(indexed):
    root, _config, session, batch = indexed
    session.set_buffer("fs/open.c", (root / "fs/open.c").read_bytes())
    session.set_buffer("mm/filemap.c", (root / "mm/filemap.c").read_bytes())
    opened = {p for p in ("fs/open.c", "mm/filemap.c")
              if b"linux/fs.h" in (root / p).read_bytes()}
    assert opened and session.includers_of("include/linux/fs.h") >= opened
    # linux/types.h is reached through other headers only
    assert session.includers_of("include/linux/types.h") == {"fs/open.c", "mm/filemap.c"}
    session.drop_buffer("fs/open.c")
    session.drop_buffer("mm/filemap.c")
    assert session.includers_of("include/linux/fs.h") == set()


def test_no_model_means_no_findings(tmp_path):
    config, _ = load_config(tmp_path)
    session = Workspace(config)
    assert session.load() is None and not session.ready
    session.set_buffer("a.c", b"int main(void) { return undefined_fn(); }\n")
    assert _check(session, "a.c") == []
