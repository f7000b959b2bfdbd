"""Many buffers opened at once (pytest-lsp over stdio): a request that comes after them is
answered after the checks of the buffers opened while it came, not after all of them (it waited
half a minute behind 2,000: all of them here went first), and every buffer still gets its
diagnostics."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import SERVER, copy_tree, open_doc, start, uri, wait_until, within

pytestmark = pytest.mark.e2e
MANY = 100
LONGER = 20  # each a file of the tree 20 times over: a check takes longer than reading it


@pytest.fixture(scope="module")
def many_tree(tmp_path_factory):
    root = copy_tree(tmp_path_factory.mktemp("turns") / "tree", indexed=True)
    sources = sorted(p for p in (root / "fs").glob("*.c"))
    (root / "many").mkdir()
    for i in range(MANY):  # in a directory the model lacks
        (root / "many" / f"m{i}.c").write_text(sources[i % len(sources)].read_text() * LONGER)
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, many_tree):
    await start(lsp_client, many_tree)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_a_request_after_many_opened_buffers_waits_for_one_check(client: LanguageClient,
                                                                         many_tree):
    root = many_tree
    first = open_doc(client, root, "fs/open.c")  # the model loaded
    await wait_until(lambda: client.published.get(first), timeout=60)
    opened = [open_doc(client, root, f"many/m{i}.c") for i in range(MANY)]
    symbols = await within(client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(uri(root, "fs/open.c")))),
        "documentSymbol", timeout=60)
    before = sum(1 for u in opened if client.published.get(u))
    assert symbols and before < MANY // 2, f"{before} of {MANY} checks went before the request"
    await wait_until(lambda: all(client.published.get(u) for u in opened), timeout=120)
