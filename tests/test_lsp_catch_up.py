"""The index run a server starts after loading a model (catching up with the disk): when it
changes nothing, the loaded model stays and the open files are not checked again; when it
changes something, the model is reloaded and they are."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import (
    NEOVIM,
    SERVER,
    capabilities,
    copy_tree,
    keys,
    open_doc,
    start,
    wait_indexed,
    wait_published,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="function")]
CONFIG = ClientServerConfig(server_command=SERVER)
REL = "kernel/sys.c"
MISSING = "ktime_get_real_ns"  # called in kernel/sys.c, declared where kernel.h can say


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, tmp_path):
    lsp_client.root = copy_tree(tmp_path / "tree", indexed=True)
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_nothing_changed_on_disk_keeps_the_model_and_its_diagnostics(client):
    await start(client, client.root, capabilities(NEOVIM))
    u = open_doc(client, client.root, REL)
    await wait_published(client, u, 1, lambda p: any(s == MISSING for _c, s, _l in keys(
        p.diagnostics)))
    await wait_indexed(client)
    await asyncio.sleep(1.5)  # what a reload would publish comes within a few hundred ms
    assert len(client.published[u]) == 1


async def test_a_file_changed_before_the_start_is_reloaded_and_checked_again(client):
    root = client.root
    kernel_h = root / "include/linux/kernel.h"
    decl = next(line for line in (root / "include/linux/timekeeping.h").read_text().splitlines()
                if f"{MISSING}(" in line and line.rstrip().endswith(";"))
    kernel_h.write_text(kernel_h.read_text() + "\n" + decl + "\n")  # while no server runs
    await start(client, root, capabilities(NEOVIM))
    u = open_doc(client, root, REL)
    await wait_indexed(client)
    got = await wait_published(client, u, 1, lambda p: not any(
        s == MISSING for _c, s, _l in keys(p.diagnostics)))
    assert got.version == 1
