"""The editor's checks (``Workspace``: symbols and visibility read by name and by file) report
on each stored file what the batch check (the whole model at once) reports, on the small trees
whose findings depend on dropped ``#if`` branches, shared units and unbuilt files."""

from __future__ import annotations

import pytest

from kernel_lsp.config import load_config
from kernel_lsp.live.workspace import Workspace, open_workspace
from kernel_lsp.model.indexer import index
from tests import (
    test_buildable,
    test_dropped_branches,
    test_forced_includes,
    test_precision_idioms,
    test_units,
)
from tests.conftest import write_tree

TREES = {
    "dropped-declarations": test_dropped_branches.ELSEWHERE,
    "dropped-declarations-dot-config": {**test_dropped_branches.ELSEWHERE,
                                        ".config": "# CONFIG_DEBUG_THING is not set\n"},
    "dropped-unit": test_precision_idioms.DROPPED_UNIT,
    "shared-unit": test_units.TREE,
    "host-programs": test_units.HOSTPROGS_TREE,
    "unread-header": test_dropped_branches.UNREAD,
    "dead-branches": {**test_precision_idioms.KCONFIG, **test_precision_idioms.DEAD_BRANCHES},
    "kbuild-units": test_buildable.SHARED_UNIT,
    "generated-include": test_buildable.GENERATED_INCLUDE,
    "other-architectures": test_buildable.OTHER_ARCHES,
    "forced-includes": test_forced_includes.VDSO,
    "unbuilt": {**test_buildable.TREE, "Kconfig": "config LED\n\ttristate \"LED\"\n"
                "\tdepends on ARCH_PXA\n", "arch/x86/configs/x86_64_defconfig": "CONFIG_LED=y\n"},
}


def _key(f):
    return (f.code, f.path, f.line, f.col, f.end_col, f.symbol, f.message)


@pytest.mark.parametrize("files", TREES.values(), ids=TREES.keys())
def test_editor_and_batch_agree(tmp_path, files):
    root = write_tree(tmp_path, files)
    config, _ = load_config(root)
    result = index(config, jobs=1)
    batch = [r.finding for r in open_workspace(config, result.model, None).findings()]
    result.model.close()
    session = Workspace(config)
    try:
        assert session.load() is None
        paths = sorted(p for p in files if p.endswith((".c", ".h")))
        live = [r.finding for p in paths for r in session.findings([p])]
    finally:
        session.close()
    assert sorted(map(_key, live)) == sorted(map(_key, batch))
