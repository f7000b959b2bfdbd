"""C intelligence handlers: completion, signature help, rename, semantic tokens, inactive regions.

One plain function per LSP method, as in ``handlers.py`` (registered by ``register`` on the
same server, so that module stays small): convert the request to a ``navigate.scope.Point``
on the model thread, ask ``navigate/``, convert the answer back.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from kernel_lsp.lsp.convert import Lines
from kernel_lsp.navigate import complete, rename, signature, tokens
from kernel_lsp.navigate.locate import symbol_at
from kernel_lsp.navigate.scope import Point, older_offset
from kernel_lsp.parse.conditions import active_text

INACTIVE_REGIONS = "textDocument/inactiveRegions"  # clangd's extension (notification)
REQUEST_FAILED = -32803  # LSP 3.17 RequestFailed: the client shows the message
_KINDS = {
    "function": types.CompletionItemKind.Function, "macro": types.CompletionItemKind.Constant,
    "struct": types.CompletionItemKind.Struct, "union": types.CompletionItemKind.Struct,
    "enum": types.CompletionItemKind.Enum, "typedef": types.CompletionItemKind.TypeParameter,
    "variable": types.CompletionItemKind.Variable, "local": types.CompletionItemKind.Variable,
    "parameter": types.CompletionItemKind.Variable, "field": types.CompletionItemKind.Field,
    "method": types.CompletionItemKind.Method,
    "enumerator": types.CompletionItemKind.EnumMember,
}
LEGEND = types.SemanticTokensLegend(token_types=list(tokens.TOKEN_TYPES),
                                    token_modifiers=list(tokens.TOKEN_MODIFIERS))


def buffer_of(ls, uri: str, current: bool = True):
    """(path, bytes, OpenFile or None) of a document inside the root, on the model thread.
    An open document's buffer is brought up to date (as a check would) when ``current``;
    otherwise the buffer of its last check is given as it is (completion reads the text as it
    is now, and that buffer's tree and rows for the declarations above the point)."""
    rel = ls.relative(uri)
    text = ls.text_of(rel) if rel is not None else None
    if text is None:
        return None
    data = text.encode("utf-8", "surrogatepass")
    if ls.config is not None and len(data) > ls.config.max_file_bytes:
        return None
    ws = ls.ws
    doc = ls.document(uri)
    of = None
    if ws is not None:
        of = ws.buffer_holding(rel, data) or (None if current else ws.open.get(rel))
    if of is None and ws is not None and ws.ready and doc is not None:
        of = ws.set_buffer(rel, data, version=doc.version)
    return rel, data, of


def point_at(ls, uri: str, pos: types.Position) -> tuple[Point, Lines] | None:
    """The ``Point`` of a request: the document as it is now, and what is visible there from
    its last checked buffer (no re-extraction while one types)."""
    got = buffer_of(ls, uri, current=False)
    if got is None:
        return None
    rel, data, of = got
    lines = Lines(data)
    line_start = sum(len(x) + 1 for x in lines.lines[:pos.line])
    cursor = min(line_start + lines.to_bytes(pos.line, pos.character, ls.encoding), len(data))
    ws = ls.ws
    if of is None:  # no model (yet), or a file that is not open: its own text only
        from kernel_lsp.model.rows import fact_rows
        from kernel_lsp.parse.extract import extract
        from kernel_lsp.parse.parser import parse

        env = ws.env if ws is not None else None
        tree = parse(active_text(data, env)[0])
        rows = fact_rows(extract(rel, data, env=env))
        model = ws.model if ws is not None and ws.ready else None
        fid = ws.ids.get(rel) if model is not None else None
        vis = ws.tables.visibility if model is not None else None
        return Point(model, rel, fid, data, cursor, tree, cursor, rows,
                     lambda p: vis.before(fid, p) if vis is not None else 0), lines
    fid, vis = of.file_id, ws.tables.visibility
    offset = older_offset(of.buffer.source, data, cursor)
    return Point(ws.model, rel, fid, data, cursor, of.buffer.tree, offset, of.rows,
                 lambda p: vis.before(fid, p)), lines


# -- completion ------------------------------------------------------------------------------
async def completion(ls, params: types.CompletionParams):
    ls.note_typing()

    def work():
        got = point_at(ls, params.text_document.uri, params.position)
        if got is None:
            return types.CompletionList(is_incomplete=False, items=[])
        point, lines = got
        found = complete.complete(point)
        line = params.position.line
        line_start = sum(len(x) + 1 for x in lines.lines[:line])
        start = lines.to_client(line, found.start - line_start, ls.encoding)
        edit_range = types.Range(types.Position(line, start), params.position)
        return types.CompletionList(is_incomplete=found.incomplete, items=[
            types.CompletionItem(
                label=c.label, kind=_KINDS.get(c.kind), detail=c.detail,
                sort_text=f"{c.rank}{c.label}", filter_text=c.label,
                text_edit=types.TextEdit(range=edit_range, new_text=c.label))
            for c in found.items])
    return await ls.on_model(work)


# -- signature help --------------------------------------------------------------------------
async def signature_help(ls, params: types.SignatureHelpParams):
    ls.note_typing()

    def work():
        got = point_at(ls, params.text_document.uri, params.position)
        if got is None:
            return None
        sig = signature.signature_help(got[0])
        if sig is None:
            return None
        label = sig.label
        info = types.SignatureInformation(
            label=label, documentation=f"declared in {sig.where}" if sig.where else None,
            parameters=[types.ParameterInformation(label=(_units(label, s), _units(label, e)))
                        for s, e in sig.parameters])
        return types.SignatureHelp(signatures=[info], active_signature=0,
                                   active_parameter=sig.active)
    return await ls.on_model(work)


def _units(label: str, index: int) -> int:
    """UTF-16 code units of ``label[:index]`` (parameter offsets count them, like positions)."""
    return len(label[:index].encode("utf-16-le")) // 2


# -- rename ----------------------------------------------------------------------------------
def _target(ls, uri: str, pos: types.Position):
    got = buffer_of(ls, uri)
    model = ls.ws.model if ls.ws is not None and ls.ws.ready else None
    if got is None and ls.relative(uri) is None:
        raise rename.Refused("the file is not in the tree")
    if got is None or model is None:
        raise rename.Refused("the index is not ready")
    rel, data, of = got
    col = Lines(data).to_bytes(pos.line, pos.character, ls.encoding)
    sym = symbol_at(rel, data, of.buffer.tree if of is not None else None, pos.line, col)
    return model, rename.target(model, sym, rel), Lines(data)


async def prepare_rename(ls, params: types.PrepareRenameParams):
    def work():
        try:
            _, t, lines = _target(ls, params.text_document.uri, params.position)
        except rename.Refused as exc:
            raise JsonRpcException(f"kernel-lsp: cannot rename: {exc}", REQUEST_FAILED) from None
        s = t.span
        return types.PrepareRenamePlaceholder(
            range=lines.range(s.line, s.col, s.end_line, s.end_col, ls.encoding),
            placeholder=t.name)
    return await ls.on_model(work)


async def rename_symbol(ls, params: types.RenameParams):
    def work():
        try:
            model, t, _ = _target(ls, params.text_document.uri, params.position)
            rename.check_new_name(model, t, params.new_name)
        except rename.Refused as exc:
            raise JsonRpcException(f"kernel-lsp: cannot rename: {exc}", REQUEST_FAILED) from None
        changes: dict[str, list[types.TextEdit]] = {}
        for path, locs in rename.edits(model, t, _bytes_of(ls)).items():
            lines = Lines(ls.text_of(path))
            changes[ls.uri_for(path)] = [types.TextEdit(
                range=lines.range(x.line, x.col, x.end_line, x.end_col, ls.encoding),
                new_text=params.new_name) for x in locs]
        return types.WorkspaceEdit(changes=changes)
    return await ls.on_model(work)


def _bytes_of(ls):
    def read(path: str) -> bytes | None:
        text = ls.text_of(path)
        return text.encode("utf-8", "surrogatepass") if text is not None else None
    return read


# -- semantic tokens and inactive regions -----------------------------------------------------
def kind_of(ws):
    """What the model says a name is (memoised by the workspace's by-name tables)."""
    syms = ws.tables.symbols if ws is not None and ws.ready else None

    def kind(name: str) -> str | None:
        if syms is None:
            return None
        if name in syms.macros:
            return "macro"
        if name in syms.enumerators:
            return "enumerator"
        if name in syms.functions:
            return "function"
        if name in syms.variables:
            return "variable"
        if name in syms.typedefs:
            return "typedef"
        return None
    return kind


async def semantic_tokens_full(ls, params: types.SemanticTokensParams):
    def work():
        got = buffer_of(ls, params.text_document.uri)
        if got is None:
            return types.SemanticTokens(data=[])
        rel, data, of = got
        env = ls.ws.env if ls.ws is not None else None
        if of is not None:
            tree = of.buffer.tree
        else:
            from kernel_lsp.parse.parser import parse

            tree = parse(active_text(data, env)[0])
        ranges = active_text(data, env)[1]
        found = tokens.semantic_tokens(data, tree, ranges, kind_of(ls.ws))
        return types.SemanticTokens(data=encode_tokens(found, Lines(data), ls.encoding))
    return await ls.on_model(work)


def encode_tokens(found: list[tokens.Token], lines: Lines, enc: str) -> list[int]:
    """LSP's relative encoding: (line delta, start delta, length, type, modifier bits)."""
    out: list[int] = []
    last_line = last_col = 0
    types_ = {t: i for i, t in enumerate(tokens.TOKEN_TYPES)}
    mods = {m: 1 << i for i, m in enumerate(tokens.TOKEN_MODIFIERS)}
    for t in found:
        col = lines.to_client(t.line, t.col, enc)
        length = lines.to_client(t.line, t.col + t.length, enc) - col
        if length <= 0:
            continue
        delta_line = t.line - last_line
        out += [delta_line, col - (last_col if delta_line == 0 else 0), length, types_[t.type],
                sum(mods[m] for m in t.modifiers)]
        last_line, last_col = t.line, col
    return out


def inactive_regions(ls, data: bytes, lines: Lines) -> list[types.Range]:
    """The dropped ``#if`` branches of a buffer as whole-line ranges (clangd's notification)."""
    env = ls.ws.env if ls.ws is not None else None
    out = []
    for first, last in tokens.inactive_lines(data, active_text(data, env)[1]):
        end = len(lines.line(last).decode("utf-8", "replace"))
        out.append(types.Range(types.Position(first, 0),
                               types.Position(last, lines.to_client(last, len(lines.line(last)),
                                                                     ls.encoding) if end else 0)))
    return out


def register(server, guarded) -> None:
    """Register the handlers of this module on ``server`` (``guarded`` as in handlers.py)."""
    server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(
        trigger_characters=[".", ">"]))(guarded(lambda: types.CompletionList(
            is_incomplete=False, items=[]))(completion))
    server.feature(types.TEXT_DOCUMENT_SIGNATURE_HELP, types.SignatureHelpOptions(
        trigger_characters=["(", ","]))(guarded()(signature_help))
    server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)(guarded(passing=JsonRpcException)(
        prepare_rename))
    server.feature(types.TEXT_DOCUMENT_RENAME, types.RenameOptions(prepare_provider=True))(
        guarded(passing=JsonRpcException)(rename_symbol))
    server.feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, LEGEND)(guarded(
        lambda: types.SemanticTokens(data=[]))(semantic_tokens_full))
