"""Quick fixes end to end: each code action's edits, applied as an editor would (the buffer of an open
file, a new buffer for a file that is not open), make the finding go away, or not, as documented."""

from __future__ import annotations

import re

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import (
    SERVER,
    VSCODE,
    apply_text_edits,
    capabilities,
    close_doc,
    copy_tree,
    expected,
    keys,
    open_doc,
    replace_all,
    spelled,
    start,
    uri,
    wait_published,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    return copy_tree(tmp_path_factory.mktemp("fixes") / "tree", indexed=True)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module")
async def client(lsp_client: LanguageClient, warm):
    await start(lsp_client, warm, capabilities(VSCODE))
    yield
    await lsp_client.shutdown_session()


def _key(root, rel: str, symbol: str, code: str | None = None) -> tuple[str, str, int]:
    (key,) = [k for k in expected(root, rel) if k[1] == symbol and code in (None, k[0])]
    return key


async def _open(client, root, rel: str, text: str | None = None, spell=None):
    """Open ``rel`` and wait for its diagnostics; (uri, text, diagnostics)."""
    text = (root / rel).read_text() if text is None else text
    u = open_doc(client, root, rel, text, spell=spell)
    want = expected(root, rel, text)
    got = await wait_published(client, u, 1, lambda p: keys(p.diagnostics) == want)
    return u, text, got.diagnostics


async def _actions(client, u: str, diag, strip_data: bool = False) -> list[types.CodeAction]:
    if strip_data:  # a client that does not echo ``data``
        diag = types.Diagnostic(range=diag.range, message=diag.message, severity=diag.severity,
                                code=diag.code, source=diag.source)
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(u), range=diag.range,
        context=types.CodeActionContext(diagnostics=[diag])))


def _diag(diags, key):
    return next(d for d in diags if keys([d]) == {key})


async def _edit(client, u: str, text: str, version: int, edits) -> str:
    new = apply_text_edits(text, edits)
    assert new != text
    replace_all(client, u, version, new)
    return new


# -- 404_2 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("title, strip, spell", [
    ("Include ", False, None), ("Declare ", False, None), ("Include ", True, None),
    ("Declare ", False, spelled)])
async def test_404_2_include_or_declare_clears_it(client: LanguageClient, warm, title, strip,
                                                  spell):
    """The edit is keyed by the URI the client opened the file under, however it spells it."""
    rel, missing = "fs/stat.c", _key(warm, "fs/stat.c", "do_sys_open")
    u, text, diags = await _open(client, warm, rel, spell=spell)
    actions = await _actions(client, u, _diag(diags, missing), strip_data=strip)
    assert [a.title.split(" ")[0] for a in actions] == ["Include", "Declare"]
    assert actions[0].is_preferred and all(a.kind == types.CodeActionKind.QuickFix for a in actions)
    action = next(a for a in actions if a.title.startswith(title))
    assert list(action.edit.changes) == [u]
    new = await _edit(client, u, text, 2, action.edit.changes[u])
    if title == "Include ":
        header = re.search(r'"[^"]+"|<[^>]+>', action.title).group(0)
        assert f"#include {header}\n" in new
        assert action.title.endswith("for symbol do_sys_open")
    else:
        assert re.search(r"\bdo_sys_open\([^;]*\);", new[:new.index("SYSCALL_DEFINE3")])
    got = await wait_published(client, u, 2)
    assert keys(got.diagnostics) == expected(warm, rel) - {missing}
    await close_doc(client, u)


async def test_404_2_late_include_gets_an_include_at_the_top(client: LanguageClient, warm):
    rel, missing = "kernel/sys.c", _key(warm, "kernel/sys.c", "kfree")
    u, text, diags = await _open(client, warm, rel)
    actions = await _actions(client, u, _diag(diags, missing))
    include = actions[0]
    assert include.title == "Include <linux/slab.h> for symbol kfree"
    (edit,) = include.edit.changes[u]
    assert edit.range.start.line < missing[2] - 1 and edit.new_text == "#include <linux/slab.h>\n"
    await _edit(client, u, text, 2, [edit])
    got = await wait_published(client, u, 2)
    assert keys(got.diagnostics) == {(c, s, line + 1 if line > edit.range.start.line else line)
                                     for c, s, line in expected(warm, rel) - {missing}}
    await close_doc(client, u)


async def test_404_2_declare_in_the_defining_files_header(client: LanguageClient, warm):
    rel, missing = "mm/vmscan.c", _key(warm, "mm/vmscan.c", "activate_page", "404_2")
    u, _text, diags = await _open(client, warm, rel)
    actions = await _actions(client, u, _diag(diags, missing))
    other = next(a for a in actions if a.title == "Declare activate_page in mm/internal.h")
    header = uri(warm, "mm/internal.h")
    assert list(other.edit.changes) == [header], "only the header changes"
    header_text = apply_text_edits((warm / "mm/internal.h").read_text(),
                                   other.edit.changes[header])
    h = open_doc(client, warm, "mm/internal.h", header_text)  # the editor opens what it edits
    got = await wait_published(client, u, 1, lambda p: missing not in keys(p.diagnostics))
    assert keys(got.diagnostics) == expected(warm, rel) - {missing}
    await close_doc(client, h)
    await wait_published(client, u, 1, lambda p: missing in keys(p.diagnostics))
    await close_doc(client, u)


# -- 020_2 ---------------------------------------------------------------------------------------
LEDCTL = "drivers/misc/blinker/ledctl.c"


@pytest.mark.parametrize("symbol, title", [
    ("led_trigger", "Define stub struct led_trigger"),
    ("led_hw_state", "Define stub union led_hw_state"),
    ("led_default_state", "Define stub enum led_default_state"),
    # only pointed to: a forward declaration makes it an opaque handle (as C, and Linux's
    # struct dm_block, have it), so the finding and the 503_2 it caused go as well
    ("led_trigger", "Declare struct led_trigger"),
])
async def test_020_2_stub_and_forward_declaration(client: LanguageClient, warm, symbol, title):
    missing = _key(warm, LEDCTL, symbol)
    u, text, diags = await _open(client, warm, LEDCTL)
    actions = await _actions(client, u, _diag(diags, missing))
    assert actions[0].title.startswith("Define stub ") and actions[0].is_preferred
    action = next(a for a in actions if a.title == title)
    (edit,) = action.edit.changes[u]
    assert edit.range.start.line < missing[2] - 1
    await _edit(client, u, text, 2, [edit])
    added = edit.new_text.count("\n")
    shifted = {(c, s, line + added if line > edit.range.start.line else line)
               for c, s, line in expected(warm, LEDCTL)}
    moved = (missing[0], missing[1], missing[2] + added)
    got = await wait_published(client, u, 2)
    # findings caused by the missing type (503_2 on a struct using it) go too
    assert moved not in keys(got.diagnostics) and keys(got.diagnostics) < shifted
    await close_doc(client, u)


async def test_020_2_function_and_typedef_get_no_fix(client: LanguageClient, warm):
    u, _text, diags = await _open(client, warm, LEDCTL)
    for symbol in ("led_set_brightness", "led_brightness_t"):
        assert not await _actions(client, u, _diag(diags, _key(warm, LEDCTL, symbol)))
    await close_doc(client, u)


async def test_020_2_type_defined_in_a_header_offers_the_include(client: LanguageClient, warm):
    rel = "include/linux/miscdevice.h"
    header = (warm / rel).read_text()
    stripped = re.sub(r"struct miscdevice \{.*?\n\};\n", "", header, flags=re.S)
    assert stripped != header
    h = open_doc(client, warm, rel, stripped)
    src = "#include <linux/kernel.h>\n\nint probe_it(struct miscdevice *m)\n{\n\treturn 0;\n}\n"
    u = open_doc(client, warm, "drivers/char/newdev.c", src)
    try:
        got = await wait_published(client, u, 1, lambda p: bool(p.diagnostics), timeout=5)
        diag = next(d for d in got.diagnostics if d.code == "020_2")
        actions = await _actions(client, u, diag)
        assert actions[0].title == "Include <linux/miscdevice.h> for symbol miscdevice"
    finally:
        await close_doc(client, u)
        await close_doc(client, h)


# -- 405_2 / 406_2: one edit over two files ------------------------------------------------------
# Once public, the symbol is reached from outside the page allocator's interface (the tree's
# mm.layers.yaml): the layer check reports the uses that were inaccessible before (408_2).
@pytest.mark.parametrize("symbol, layered", [("__free_one_page", {43}),
                                             ("nr_reserved_pages", {51})])
async def test_export_fix_spans_two_files(client: LanguageClient, warm, symbol, layered):
    rel = "mm/vmscan.c"
    findings = {k for k in expected(warm, rel) if k[1] == symbol}
    u, _text, diags = await _open(client, warm, rel)
    for key in findings:  # every finding of the symbol offers the same fix
        (action,) = await _actions(client, u, _diag(diags, key))
        assert action.title == f"Make {symbol} non-static and declare it in mm/internal.h"
        assert action.is_preferred
    defining, header = uri(warm, "mm/page_alloc.c"), uri(warm, "mm/internal.h")
    assert set(action.edit.changes) == {defining, header}
    texts = {}
    for target, rel_target in ((defining, "mm/page_alloc.c"), (header, "mm/internal.h")):
        texts[target] = apply_text_edits((warm / rel_target).read_text(),
                                         action.edit.changes[target])
    definition = re.compile(r"^static\b[^;(=]*\b" + symbol + r"\b", re.M)
    assert definition.search((warm / "mm/page_alloc.c").read_text())
    assert not definition.search(texts[defining]), "the definition is no longer static"
    assert re.search(r"\b" + symbol + r"\b[^;]*;", texts[header])
    opened = [open_doc(client, warm, "mm/page_alloc.c", texts[defining])]
    await wait_published(client, opened[0], 1)
    opened.append(open_doc(client, warm, "mm/internal.h", texts[header]))
    got = await wait_published(client, u, 1, lambda p: not findings & keys(p.diagnostics))
    assert keys(got.diagnostics) == expected(warm, rel) - findings | {
        ("408_2", symbol, line) for line in layered}
    for other in opened:
        await close_doc(client, other)
    await wait_published(client, u, 1, lambda p: findings <= keys(p.diagnostics))
    await close_doc(client, u)


async def test_406_2_declare_extern(client: LanguageClient, warm):
    rel, missing = "mm/vmscan.c", _key(warm, "mm/vmscan.c", "watermark_scale_factor", "406_2")
    u, text, diags = await _open(client, warm, rel)
    actions = await _actions(client, u, _diag(diags, missing))
    assert actions[0].title == "Declare watermark_scale_factor"
    (edit,) = actions[0].edit.changes[u]
    assert edit.new_text.startswith("extern ") and "watermark_scale_factor;" in edit.new_text
    await _edit(client, u, text, 2, [edit])
    added = edit.new_text.count("\n")
    want = {(c, s, line + added if line > edit.range.start.line else line)
            for c, s, line in expected(warm, rel) - {missing}}
    got = await wait_published(client, u, 2)
    assert keys(got.diagnostics) == want
    await close_doc(client, u)
