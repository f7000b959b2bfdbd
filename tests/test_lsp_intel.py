"""C intelligence over a real LSP session: completion (names visible at the point, members after
``->``), signature help, rename across the tree (prepare, edits, refusals), semantic tokens and
the inactive ``#if`` regions (semantic tokens and clangd's notification)."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import (
    SERVER,
    VSCODE,
    apply_text_edits,
    capabilities,
    copy_tree,
    open_doc,
    position,
    start,
    uri,
    wait_published,
    within,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
CONFIG = ClientServerConfig(server_command=SERVER)
OPEN_C = "fs/open.c"
# a new line at the top of alloc_empty_file's body: what is declared above it is visible
ANCHOR = "\tstruct file *f;\n\n\tf = kzalloc"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = copy_tree(tmp_path_factory.mktemp("intel") / "tree", indexed=True)
    # a header nobody includes before the point, and a late include: neither is visible
    (root / "include/linux/unseen.h").write_text("int unseen_helper(int x);\n")
    return root


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tree):
    caps = capabilities(VSCODE)
    lsp_client.init_result = await start(lsp_client, tree, caps)
    yield
    await lsp_client.shutdown_session()


async def _ready(client, tree, rel: str, text: str | None = None, version: int = 1) -> str:
    u = open_doc(client, tree, rel, text, version)
    await wait_published(client, u, version, timeout=30)
    return u


async def _complete(client, u: str, pos: types.Position) -> dict[str, types.CompletionItem]:
    got = await within(client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(u), position=pos)), "completion")
    items = got.items if isinstance(got, types.CompletionList) else got
    return {i.label: i for i in items}


# -- completion ----------------------------------------------------------------------------------
async def test_completion_offers_what_is_visible_at_the_point(client: LanguageClient, tree):
    text = (tree / OPEN_C).read_text()
    typed = text.replace(ANCHOR, "\tstruct file *f;\n\tint local_count = 0;\n\tk\n\n\tf = kzalloc")
    u = await _ready(client, tree, OPEN_C, typed)
    at = position(typed, "\tk\n")
    items = await _complete(client, u, types.Position(at.line, at.character + 2))
    # kzalloc and kfree come from <linux/slab.h>, included above; kmalloc too
    assert {"kzalloc", "kfree"} <= set(items), sorted(items)
    assert items["kzalloc"].kind == types.CompletionItemKind.Function
    assert "kzalloc(" in (items["kzalloc"].detail or "")
    assert "unseen_helper" not in items  # never included
    te = items["kzalloc"].text_edit
    assert (te.range.start.character, te.range.end.character) == (at.character + 1,
                                                                  at.character + 2)

    # an empty prefix at the same point: locals and parameters first, this file's names above
    at2 = position(typed, "\tk\n")
    items = await _complete(client, u, types.Position(at2.line, at2.character + 1))
    assert {"local_count", "f", "flags", "sysctl_nr_open"} <= set(items)
    assert items["flags"].sort_text < items["GFP_KERNEL"].sort_text
    assert "do_dentry_open" not in items, "defined below the point"
    assert "GFP_KERNEL" in items and items["GFP_KERNEL"].kind == types.CompletionItemKind.Constant


async def test_completion_of_members_after_arrow_and_dot(client: LanguageClient, tree):
    text = (tree / OPEN_C).read_text()
    typed = text.replace(ANCHOR, "\tstruct file *f;\n\tf->f_\n\n\tf = kzalloc")
    u = await _ready(client, tree, OPEN_C, typed, version=2)
    at = position(typed, "f->f_\n")
    items = await _complete(client, u, types.Position(at.line, at.character + 5))
    assert set(items) == {"f_inode", "f_op", "f_lock", "f_flags", "f_pos", "f_list"}
    assert items["f_op"].kind == types.CompletionItemKind.Field
    assert items["f_inode"].detail == "struct inode"
    # a chain through a member: f->f_inode-> lists struct inode's members
    typed2 = text.replace(ANCHOR, "\tstruct file *f;\n\tf->f_inode->\n\n\tf = kzalloc")
    change_all(client, u, 3, typed2)
    at = position(typed2, "f->f_inode->\n")
    items = await _complete(client, u, types.Position(at.line, at.character + 12))
    inode = (tree / "include/linux/fs.h").read_text().split("struct inode {", 1)[1].split("};")[0]
    assert items and all(name in inode for name in items), sorted(items)
    # a parameter of the function: do_dentry_open(struct file *f, struct inode *inode)
    typed3 = text.replace("\tint error = 0;\n", "\tint error = 0;\n\tinode->\n", 1)
    change_all(client, u, 4, typed3)
    at = position(typed3, "\tinode->\n")
    items = await _complete(client, u, types.Position(at.line, at.character + 8))
    assert "i_fop" in items and "i_mutex" in items


def change_all(client, u: str, version: int, text: str) -> None:
    from tests.lsp_helpers import replace_all

    replace_all(client, u, version, text)


async def test_no_completion_in_comments_and_strings(client: LanguageClient, tree):
    text = (tree / OPEN_C).read_text()
    u = await _ready(client, tree, OPEN_C, text, version=5)
    at = position(text, "is declared in")
    assert await _complete(client, u, at) == {}


# -- signature help ------------------------------------------------------------------------------
async def test_signature_help_names_the_active_parameter(client: LanguageClient, tree):
    text = (tree / OPEN_C).read_text()
    typed = text.replace(ANCHOR, "\tstruct file *f;\n\tfilp_close(f, \n\n\tf = kzalloc")
    u = await _ready(client, tree, OPEN_C, typed, version=6)
    at = position(typed, "filp_close(f, \n")
    got = await within(client.text_document_signature_help_async(types.SignatureHelpParams(
        text_document=types.TextDocumentIdentifier(u),
        position=types.Position(at.line, at.character + len("filp_close(f, ")))), "signature")
    (sig,) = got.signatures
    assert sig.label == "extern int filp_close(struct file *filp, void *id)", sig.label
    assert sig.documentation == "declared in include/linux/fs.h"
    assert got.active_parameter == 1
    params = [sig.label[s:e] for s, e in (p.label for p in sig.parameters)]
    assert params == ["struct file *filp", "void *id"]


# -- rename ----------------------------------------------------------------------------------------
async def test_rename_a_global_function_across_the_tree(client: LanguageClient, tree):
    rel = "fs/open.c"
    text = (tree / rel).read_text()
    u = await _ready(client, tree, rel, text, version=7)
    at = position(text, "filp_open(const")
    prep = await within(client.text_document_prepare_rename_async(types.PrepareRenameParams(
        text_document=types.TextDocumentIdentifier(u), position=at)), "prepareRename")
    assert prep.placeholder == "filp_open"
    edit = await within(client.text_document_rename_async(types.RenameParams(
        text_document=types.TextDocumentIdentifier(u), position=at,
        new_name="filp_open_renamed")), "rename")
    files = {k.split("/tree/", 1)[1]: v for k, v in edit.changes.items()}
    users = {p.relative_to(tree).as_posix() for p in tree.rglob("*.[ch]")
             if "filp_open(" in p.read_text() or "filp_open)" in p.read_text()}
    assert set(files) == users, (sorted(files), sorted(users))
    for rel_path, edits in files.items():
        before = (tree / rel_path).read_text()
        after = apply_text_edits(before, edits)
        assert "filp_open(" not in after.replace("filp_open_renamed(", "")
        assert after.count("filp_open_renamed") == len(edits)


async def test_rename_a_struct_and_refusals(client: LanguageClient, tree):
    rel = "fs/open.c"
    text = (tree / rel).read_text()
    u = await _ready(client, tree, rel, text, version=8)
    at = position(text, "file *alloc_empty_file")
    edit = await within(client.text_document_rename_async(types.RenameParams(
        text_document=types.TextDocumentIdentifier(u), position=at, new_name="kfile")), "rename")
    for k, edits in edit.changes.items():
        path = tree / k.split("/tree/", 1)[1]
        after = apply_text_edits(path.read_text(), edits)
        assert "struct file " not in after and "struct file*" not in after, path
        assert "struct kfile" in after
    assert any(k.endswith("include/linux/fs.h") for k in edit.changes)
    # a local variable, and a name that already exists, are refused with a message
    local = position(text, "f = kzalloc")
    with pytest.raises(Exception, match="cannot rename"):
        await client.text_document_prepare_rename_async(types.PrepareRenameParams(
            text_document=types.TextDocumentIdentifier(u), position=local))
    with pytest.raises(Exception, match="already names a function"):
        await client.text_document_rename_async(types.RenameParams(
            text_document=types.TextDocumentIdentifier(u), position=position(
                text, "filp_open(const"), new_name="filp_close"))
    # names that are no C identifiers, though Python's \w or $ took them
    for bad in ("filp_open2\n", "filp_opén", "filp_open\u0663", "2filp", "int"):
        with pytest.raises(Exception, match="is not a C identifier"):
            await client.text_document_rename_async(types.RenameParams(
                text_document=types.TextDocumentIdentifier(u), position=position(
                    text, "filp_open(const"), new_name=bad))
    with pytest.raises(Exception, match="the file is not in the tree"):
        await client.text_document_prepare_rename_async(types.PrepareRenameParams(
            text_document=types.TextDocumentIdentifier("untitled:Untitled-1"),
            position=types.Position(0, 0)))
    # each refusal is the client's answer, not an internal error in the log
    assert not [m for m in client.log_messages if "internal error" in m.message]


# -- semantic tokens ---------------------------------------------------------------------------
def _decode(data: list[int], legend: types.SemanticTokensLegend, text: str):
    lines = text.split("\n")
    line = col = 0
    out = []
    for i in range(0, len(data), 5):
        dl, dc, length, kind, mods = data[i:i + 5]
        line += dl
        col = col + dc if dl == 0 else dc
        out.append((lines[line][col:col + length], legend.token_types[kind],
                    {m for b, m in enumerate(legend.token_modifiers) if mods >> b & 1}, line))
    return out


async def test_semantic_tokens_classify_names_and_grey_inactive_branches(client, tree):
    rel = "fs/open.c"
    text = (tree / rel).read_text().replace(
        "unsigned int sysctl_nr_open = 1024;\n",
        "unsigned int sysctl_nr_open = 1024;\n#if 0\n"
        "static int never_built(void) { return 1; }\n#endif\n")
    u = await _ready(client, tree, rel, text, version=9)
    legend = client.init_result.capabilities.semantic_tokens_provider.legend
    got = await within(client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=types.TextDocumentIdentifier(u))), "tokens")
    toks = _decode(got.data, legend, text)
    kinds = {(t, k) for t, k, _, _ in toks}
    assert ("alloc_empty_file", "function") in kinds
    assert ("kzalloc", "function") in kinds
    assert ("GFP_KERNEL", "macro") in kinds and ("unlikely", "macro") in kinds
    assert ("file", "struct") in kinds and ("umode_t", "type") in kinds
    assert ("f_flags", "property") in kinds and ("flags", "parameter") in kinds
    assert ("sysctl_nr_open", "variable") in kinds and ("error", "variable") in kinds
    decl = [m for t, k, m, _ in toks if t == "alloc_empty_file"]
    assert "declaration" in decl[0]
    never = text.split("\n").index("static int never_built(void) { return 1; }")
    assert [(t, k) for t, k, _, ln in toks if ln == never] == [
        ("static int never_built(void) { return 1; }", "comment")]


# -- clangd's inactive regions -------------------------------------------------------------------
async def test_clangd_inactive_regions_notification_for_clients_that_ask(tmp_path):
    """A client advertising clangd's ``inactiveRegionsCapabilities`` gets
    ``textDocument/inactiveRegions`` with the dropped branches as whole lines; others do not."""
    import asyncio

    await asyncio.to_thread(_inactive_regions, tmp_path)


def _inactive_regions(tmp_path):
    from tests.test_lsp_shutdown import Session

    root = copy_tree(tmp_path / "tree", indexed=True)
    rel = "fs/stat.c"
    text = "#if 0\nint dropped_one;\n\nint dropped_two;\n#else\nint kept;\n#endif\n" + (
        root / rel).read_text()
    for asks in (True, False):
        session = Session(root)
        try:
            caps = {"textDocument": {"inactiveRegionsCapabilities": {"inactiveRegions": asks}}}
            session.send(id=1, method="initialize", params={
                "processId": None, "capabilities": caps, "rootUri": root.as_uri()})
            session.until(lambda m: m.get("id") == 1)
            session.send(method="initialized", params={})
            session.send(method="textDocument/didOpen", params={"textDocument": {
                "uri": uri(root, rel), "languageId": "c", "version": 1, "text": text}})
            seen: list = []

            def note(m, seen=seen):
                seen.append(m.get("method"))
                return m
            got = session.until(lambda m, note=note: note(m).get("method") ==
                                "textDocument/publishDiagnostics")
            assert got["params"]["version"] == 1
            if asks:
                note = session.until(lambda m: m.get("method") == "textDocument/inactiveRegions")
                assert note["params"]["textDocument"]["uri"] == uri(root, rel)
                assert note["params"]["regions"] == [{"start": {"line": 1, "character": 0},
                                                      "end": {"line": 3, "character": 16}}]
            else:
                session.send(id=2, method="shutdown")
                session.until(lambda m, note=note: note(m).get("id") == 2)
                assert "textDocument/inactiveRegions" not in seen
        finally:
            session.finish("exit")
