"""Typing inside a function body over stdio (pytest-lsp): keystrokes are served from the edited
body alone, and the published diagnostics are those of the text: the typed call's finding
appears at its place, a finding further down moves with the new line, and deleting the line
again gives back the findings from before."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from kernel_lsp.lsp.server import TIMINGS_ENV
from tests.lsp_helpers import SERVER, change, copy_tree, open_doc, record_versions, wait_until

pytestmark = pytest.mark.e2e
PATH = "fs/open.c"
TYPED = "\n\tnot_declared_here(f);"
NAME = "not_declared_here"


@pytest.fixture(scope="module")
def warm_tree(tmp_path_factory):
    return copy_tree(tmp_path_factory.mktemp("keys") / "tree", indexed=True)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER,
                                              server_env={TIMINGS_ENV: "1"}))
async def client(lsp_client: LanguageClient, warm_tree):
    lsp_client.published = record_versions(lsp_client)
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("neovim@v0.7.0"),
        root_uri=warm_tree.as_uri(), initialization_options={"debounceMs": 0}))
    yield
    await lsp_client.shutdown_session()


def _found(client, u: str, version: int) -> set[tuple[str, str, int, int]]:
    last = client.published[u][-1]
    assert last.version == version
    return {(d.code, d.data["symbol"], d.range.start.line, d.range.start.character)
            for d in last.diagnostics}


async def _published(client, u: str, version: int) -> None:
    await wait_until(lambda: client.published.get(u) and client.published[u][-1].version
                     == version)


async def test_typing_in_a_body_then_deleting_it(client: LanguageClient, warm_tree):
    text = (warm_tree / PATH).read_text()
    lines = text.split("\n")
    u = open_doc(client, warm_tree, PATH, text)
    await _published(client, u, 1)
    # a finding further down, in another function (one edit)
    below = lines.index("int filp_close(struct file *filp, void *id)") + 2
    change(client, u, 2, "\tlater_undefined(0);\n", (below, 0), (below, 0))
    await _published(client, u, 2)
    before = _found(client, u, 2)
    assert ("020_2", "later_undefined", below, 1) in before
    line = lines.index("\tstruct file *f;")  # in alloc_empty_file
    end = len(lines[line])
    version = 2
    for n, ch in enumerate(TYPED):  # one keystroke at a time, waiting for each check
        version += 1
        at = (line, end) if n == 0 else (line + 1, n - 1)
        change(client, u, version, ch, at, at)
        await _published(client, u, version)
    typed = _found(client, u, version)
    moved = {(c, s, ln + 1 if ln > line else ln, col) for c, s, ln, col in before}
    assert typed == moved | {("020_2", NAME, line + 1, 1)}
    for n in range(len(TYPED) - 1, -1, -1):  # and backspace it away
        version += 1
        at = (line, end) if n == 0 else (line + 1, n - 1)
        change(client, u, version, "", at, (line + 1, 0) if n == 0 else (line + 1, n))
        await _published(client, u, version)
    assert _found(client, u, version) == before
    served = [m.message for m in client.log_messages if "timings" in m.message
              and " local=" in m.message and " extract=" not in m.message]
    # the name's keystrokes, typed and deleted, at least (inside the parentheses the text is
    # not balanced: those go through the full update)
    assert len(served) >= 2 * len(NAME)


async def test_a_syntax_error_in_a_body_is_checked_again_at_a_pause(client: LanguageClient,
                                                                    warm_tree):
    text = (warm_tree / PATH).read_text()
    u = open_doc(client, warm_tree, PATH, text)
    await _published(client, u, 1)
    line = text.split("\n").index("\tstruct file *f;")
    change(client, u, 2, "x", (line, 1), (line, 1))  # "xstruct file *f;": a syntax error
    exact = f"timings {PATH} v=2 exact"
    await wait_until(lambda: any(exact in m.message for m in client.log_messages))
    await wait_until(lambda: [p.version for p in client.published[u]].count(2) == 2)
    _first, again = [p for p in client.published[u] if p.version == 2]
    served = [m.message for m in client.log_messages if f"{PATH} v=2 " in m.message]
    assert " local=" in served[0] and " extract=" not in served[0]  # from the body alone
    assert " extract=" in served[1]  # then the whole file
    assert {d.data["symbol"] for d in again.diagnostics} >= {"xstruct"}
