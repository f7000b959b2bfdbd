"""One handler per LSP method: convert the request, ask the findings workspace or navigation, convert back.

Every handler is guarded: an exception becomes a logged message and an empty answer, never a
dead server or an error the editor shows as a crash.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import asdict

from lsprotocol import types

from kernel_lsp import __version__, navigate
from kernel_lsp.fixes import realize
from kernel_lsp.live.workspace import facts_of
from kernel_lsp.lsp import design_features, intel
from kernel_lsp.lsp.convert import SOURCE, Lines, code_action
from kernel_lsp.lsp.design_features import design_hover, design_symbol, is_design_file
from kernel_lsp.lsp.plumbing import end_within, use_lsp_lines
from kernel_lsp.lsp.server import KernelLanguageServer
from kernel_lsp.navigate.records import CallItem, Location

log = logging.getLogger("kernel_lsp.lsp")
server = KernelLanguageServer()
design_features.register(server)  # demand files: the "Verify demand" code lens and command
REINDEX = "kernel-lsp.reindex"
_KINDS = {"function": types.SymbolKind.Function, "struct": types.SymbolKind.Struct,
          "union": types.SymbolKind.Struct, "enum": types.SymbolKind.Enum,
          "typedef": types.SymbolKind.TypeParameter, "variable": types.SymbolKind.Variable,
          "macro": types.SymbolKind.Constant, "field": types.SymbolKind.Field,
          "enumerator": types.SymbolKind.EnumMember}


def guarded(default=None, needs_model: bool = True, passing: type | tuple = ()):
    """Wrap an async handler: log any exception and answer ``default``. A handler that
    ``needs_model`` answers ``default`` at once while a load is stuck on the model thread (a
    locked model.db), rather than queue behind it. Exceptions of the ``passing`` types are
    meant for the client (an error response whose message it shows)."""
    def wrap(fn):
        @functools.wraps(fn)
        async def run(ls: KernelLanguageServer, params):
            if needs_model and ls.loading:
                return default() if callable(default) else default
            try:
                return await fn(ls, params)
            except passing:
                raise
            except Exception as exc:  # noqa: BLE001 - the server must survive any request
                log.exception("%s failed", fn.__name__)
                ls.log_message(f"kernel-lsp: {fn.__name__} failed: {exc!r}",
                               types.MessageType.Error)
                return default() if callable(default) else default
        return run
    return wrap


# -- lifecycle -----------------------------------------------------------------------------------
@server.feature(types.INITIALIZE)
def initialize(ls: KernelLanguageServer, params: types.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()  # threads hand their results over to it from now on
    use_lsp_lines(ls.workspace)
    ls.root = ls.choose_root(params)
    ls.init_options = params.initialization_options
    caps = params.capabilities
    td = caps.text_document
    ls.pull = td is not None and td.diagnostic is not None
    ls.refresh = bool(caps.workspace and caps.workspace.diagnostics
                      and caps.workspace.diagnostics.refresh_support)
    ls.progress_ok = bool(caps.window and caps.window.work_done_progress)
    ls.startup_messages = ls.configure()


@server.feature(types.INITIALIZED)
def initialized(ls: KernelLanguageServer, _params) -> None:
    ls.protocol.warm()  # before the first document: the first keystroke pays nothing for it
    # the start-up (settings, the stored model, the first index) runs as a task of its own, so
    # a session that ends during it (an editor quitting in the first seconds) cancels only that
    ls.startup_task = asyncio.ensure_future(_startup(ls))


async def _startup(ls: KernelLanguageServer) -> None:
    try:
        await ls.fetch_editor_settings()
        messages = getattr(ls, "startup_messages", []) + (ls.configure() if ls.editor_table
                                                          else [])
        for text in dict.fromkeys(messages):
            ls.show(f"kernel-lsp: {text}")
        ls.log_message(f"kernel-lsp {__version__}: root {ls.root} "
                       f"({ls.config.source}); {'pull' if ls.pull else 'push'} diagnostics, "
                       f"{ls.encoding} positions")
        await ls.startup()
    except Exception as exc:  # noqa: BLE001
        if ls.closing:
            return
        log.exception("startup failed")
        ls.show(f"kernel-lsp: startup failed: {exc}", types.MessageType.Error)


@server.feature(types.SHUTDOWN)
def shutdown(ls: KernelLanguageServer, _params) -> None:
    ls.stop()


@server.feature(types.EXIT)
def exit_(ls: KernelLanguageServer, _params) -> None:
    ls.exit_code = 0 if ls.protocol._shutdown else 1  # LSP: 1 without a shutdown first
    end_within()
    ls.stop()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: KernelLanguageServer, params) -> None:
    try:
        await ls.fetch_editor_settings()
        settings = params.settings if params is not None else None
        if not ls.editor_table and isinstance(settings, dict):
            ls.editor_table = settings
        for text in ls.configure():
            ls.show(f"kernel-lsp: {text}")
        ls.recheck_all()
    except Exception as exc:  # noqa: BLE001
        ls.log_message(f"kernel-lsp: configuration change failed: {exc!r}")


# -- documents -----------------------------------------------------------------------------------
@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: KernelLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: KernelLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    if ls.document(params.text_document.uri) is not None:
        ls.changed_document(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
async def did_close(ls: KernelLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.last.pop(uri, None)
    ls.waiting.discard(uri)
    ls.warmed.discard(uri)
    rel = ls.relative(uri)
    try:
        if rel is not None and ls.ws is not None:
            await ls.on_model(ls.ws.drop_buffer, rel)
            if rel.endswith(".h"):
                for dep in await ls.on_model(ls.ws.includers_of, rel):
                    ls.schedule(ls.uri_for(dep))
    finally:
        if not ls.pull:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri,
                                                                                diagnostics=[]))


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: KernelLanguageServer, _params) -> None:
    # the disk changed: bring the stored model up to date (during the first index too: a run
    # already under way may have read the file before the save, so it runs once more)
    ls.start_index()


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: KernelLanguageServer, _params) -> None:
    ls.start_index()


@server.command(REINDEX)
def reindex(ls: KernelLanguageServer, *args) -> str:
    ls.start_index()
    return "reindexing"


# -- diagnostics (pull) --------------------------------------------------------------------------
@server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, types.DiagnosticOptions(
    identifier=SOURCE, inter_file_dependencies=True, workspace_diagnostics=False))
@guarded(lambda: types.RelatedFullDocumentDiagnosticReport(items=[]), needs_model=False)
async def document_diagnostic(ls: KernelLanguageServer, params: types.DocumentDiagnosticParams):
    uri = params.text_document.uri
    doc = ls.document(uri)
    version = doc.version if doc is not None else None
    got = ls.last.get(uri)
    pending = ls.pending.get(uri)
    if pending is not None and not pending.done():
        ls.pending.pop(uri, None)
        pending.cancel()
        got = None
    if got is None or got[0] != version:
        await ls.check(uri, publish=False)
        got = ls.last.get(uri, (version, []))
    result_id = ls.result_id(uri)
    if params.previous_result_id == result_id:
        return types.UnchangedDocumentDiagnosticReport(result_id=result_id)
    return types.RelatedFullDocumentDiagnosticReport(items=list(got[1]), result_id=result_id)


# -- code actions --------------------------------------------------------------------------------
@server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix]))
@guarded(list)
async def code_actions(ls: KernelLanguageServer, params: types.CodeActionParams):
    uri = params.text_document.uri
    ours = [d for d in params.context.diagnostics if d.source == SOURCE]
    stored = {(d.range.start.line, d.range.start.character, str(d.code)): d
              for d in ls.last.get(uri, (None, []))[1]}
    work = []
    for d in ours:
        data = d.data if isinstance(d.data, dict) else None
        if data is None:  # a client that does not echo data: use what was published
            known = stored.get((d.range.start.line, d.range.start.character, str(d.code)))
            data = known.data if known is not None else None
        plans = data.get("fixes") if isinstance(data, dict) else None
        if isinstance(plans, list):
            work.append((d, [p for p in plans if isinstance(p, dict)]))
    if not work or ls.root is None:
        return []

    def build():
        enc, out = ls.encoding, []
        for d, plans in work:
            for plan in plans:
                fix = realize(plan, ls.text_of)
                if fix is not None:
                    out.append(code_action(fix, d, ls.uri_for, ls.text_of, enc))
        return out
    return await ls.on_model(build)


# -- navigation ----------------------------------------------------------------------------------
def _symbol(ls: KernelLanguageServer, uri: str, pos: types.Position):
    """(root-relative path, symbol under the cursor) for a request, on the model thread."""
    rel = ls.relative(uri)
    if rel is None:
        return None, None
    if is_design_file(rel):
        return design_symbol(ls, rel, pos)
    text = ls.text_of(rel)
    if text is None:
        return rel, None
    data = text.encode("utf-8", "surrogatepass")
    if _too_big(ls, data):
        return rel, None
    of = ls.ws.buffer_holding(rel, data) if ls.ws is not None else None
    tree = of.buffer.tree if of is not None else None
    byte_col = Lines(data).to_bytes(pos.line, pos.character, ls.encoding)
    return rel, navigate.symbol_at(rel, data, tree, pos.line, byte_col)


def _too_big(ls: KernelLanguageServer, data: bytes) -> bool:
    """Over ``max_file_bytes``: not parsed for navigation either (the check logged it)."""
    return ls.config is not None and len(data) > ls.config.max_file_bytes


def _location(ls: KernelLanguageServer, loc: Location, cache: dict) -> types.Location:
    lines = cache.get(loc.path)
    if lines is None:
        lines = cache[loc.path] = Lines(ls.text_of(loc.path))
    return types.Location(uri=ls.uri_for(loc.path), range=lines.range(
        loc.line, loc.col, loc.end_line, loc.end_col, ls.encoding))


def _model(ls: KernelLanguageServer):
    return ls.ws.model if ls.ws is not None else None


@server.feature(types.TEXT_DOCUMENT_HOVER)
@guarded()
async def hover(ls: KernelLanguageServer, params: types.HoverParams):
    def work():
        rel, sym = _symbol(ls, params.text_document.uri, params.position)
        spec = ls.relative(params.text_document.uri)
        verdict = design_hover(ls, spec, params.position) if spec and is_design_file(spec) \
            else None
        if sym is None and verdict is None:
            return None
        model = _model(ls)
        text = navigate.hover(model, sym, rel) if model is not None and sym else None
        if verdict:
            text = f"{verdict}\n\n---\n\n{text}" if text else verdict
        if ls.phase != "ready":
            note = f"*kernel-lsp: the index is not ready ({ls.phase}); this answer may be partial.*"
            text = f"{text}\n\n{note}" if text else note
        if not text:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                        value=text))
    return await ls.on_model(work)


def _at_cursor(finder, convert=None):
    """A handler answering ``finder(model, symbol under the cursor, path, params)``, each
    result converted by ``convert(ls, result, cache)`` (default: an LSP Location)."""
    async def handler(ls: KernelLanguageServer, params):
        def work():
            rel, sym = _symbol(ls, params.text_document.uri, params.position)
            model = _model(ls)
            if sym is None or model is None:
                return []
            cache: dict = {}
            return [(convert or _location)(ls, x, cache) for x in finder(model, sym, rel, params)]
        return await ls.on_model(work)
    handler.__name__ = finder.__name__
    return handler


def _definitions(model, sym, rel, _params):
    return navigate.definitions(model, sym, rel)


def _declarations(model, sym, rel, _params):
    return navigate.declarations(model, sym, rel)


def _references(model, sym, _rel, params):
    return navigate.references(model, sym, bool(params.context and
                                                params.context.include_declaration))


server.feature(types.TEXT_DOCUMENT_DEFINITION)(guarded(list)(_at_cursor(_definitions)))
server.feature(types.TEXT_DOCUMENT_DECLARATION)(guarded(list)(_at_cursor(_declarations)))
server.feature(types.TEXT_DOCUMENT_REFERENCES)(guarded(list)(_at_cursor(_references)))


def _doc_symbol(ls, s, lines: Lines) -> types.DocumentSymbol:
    enc = ls.encoding
    return types.DocumentSymbol(
        name=s.name or "(anonymous)", kind=_KINDS.get(s.kind, types.SymbolKind.Variable),
        detail=s.detail or None,
        range=lines.range(s.range.line, s.range.col, s.range.end_line, s.range.end_col, enc),
        selection_range=lines.range(s.selection.line, s.selection.col, s.selection.end_line,
                                    s.selection.end_col, enc),
        children=[_doc_symbol(ls, c, lines) for c in s.children] or None)


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded(list, needs_model=False)
async def document_symbol(ls: KernelLanguageServer, params: types.DocumentSymbolParams):
    rel = ls.relative(params.text_document.uri)
    text = ls.text_of(rel) if rel is not None else None
    if text is None:
        return []
    data = text.encode("utf-8", "surrogatepass")
    if _too_big(ls, data):
        return []

    def work(ws):
        facts = facts_of(ws, rel, data)
        lines = Lines(data)
        return [_doc_symbol(ls, s, lines) for s in navigate.document_symbols(facts, data)]
    if ls.loading:  # the outline needs only the text: do not wait for the model thread
        return await asyncio.to_thread(work, None)
    return await ls.on_model(work, ls.ws)


@server.feature(types.WORKSPACE_SYMBOL)
@guarded(list)
async def workspace_symbol(ls: KernelLanguageServer, params: types.WorkspaceSymbolParams):
    def work():
        model = _model(ls)
        if model is None:
            return []
        cache: dict = {}
        return [types.SymbolInformation(name=s.name, kind=_KINDS.get(s.kind,
                                                                     types.SymbolKind.Variable),
                                        location=_location(ls, s.location, cache),
                                        container_name=s.container)
                for s in navigate.workspace_symbols(model, params.query)]
    return await ls.on_model(work)


def _call_item(ls, item: CallItem, cache: dict) -> types.CallHierarchyItem:
    loc = _location(ls, item.range, cache)
    sel = _location(ls, item.selection, cache)
    return types.CallHierarchyItem(name=item.name, kind=types.SymbolKind.Function,
                                   uri=loc.uri, range=loc.range, selection_range=sel.range,
                                   detail=item.detail or None, data=asdict(item))


def _item_of(data) -> CallItem | None:
    try:
        return CallItem(data["name"], data["kind"], data["path"], Location(**data["range"]),
                        Location(**data["selection"]), data.get("detail") or "")
    except (KeyError, TypeError):
        return None


def _call_items(model, sym, rel, _params):
    return navigate.call_item(model, sym, rel)


server.feature(types.TEXT_DOCUMENT_PREPARE_CALL_HIERARCHY)(
    guarded(list)(_at_cursor(_call_items, _call_item)))


def _calls(direction: str):
    async def handler(ls: KernelLanguageServer, params):
        def work():
            item, model = _item_of(params.item.data), _model(ls)
            if item is None or model is None:
                return []
            cache: dict = {}
            find = navigate.incoming_calls if direction == "in" else navigate.outgoing_calls
            out = []
            for other, sites in find(model, item):
                ranges = [_location(ls, s, cache).range for s in sites]
                if direction == "in":
                    out.append(types.CallHierarchyIncomingCall(
                        from_=_call_item(ls, other, cache), from_ranges=ranges))
                else:
                    out.append(types.CallHierarchyOutgoingCall(
                        to=_call_item(ls, other, cache), from_ranges=ranges))
            return out
        return await ls.on_model(work)
    handler.__name__ = f"{direction}coming_calls" if direction == "in" else "outgoing_calls"
    return handler


server.feature(types.CALL_HIERARCHY_INCOMING_CALLS)(guarded(list)(_calls("in")))
server.feature(types.CALL_HIERARCHY_OUTGOING_CALLS)(guarded(list)(_calls("out")))


# completion, signature help, rename, semantic tokens (``lsp/intel.py``)
intel.register(server, guarded)
