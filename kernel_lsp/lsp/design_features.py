"""Demand and policy files in the language server: diagnostics, the symbol under the cursor for
definition and hover, the "Verify demand" code lens and its command.

The analysis is ``kernel_lsp.design.live``; this module only converts. ``handlers.py`` routes
its diagnostics, hover and definition requests for ``*.demand.yaml`` / ``*.layers.yaml`` here.
"""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from kernel_lsp.config import relative_posix
from kernel_lsp.design import is_demand_file, is_design_file, is_policy_file
from kernel_lsp.design.live import hover_markdown, spec_notes, token_at, write_html_report
from kernel_lsp.findings import CODES
from kernel_lsp.lsp.convert import SOURCE, Lines, uri_of
from kernel_lsp.navigate.records import Location, SymbolAt

log = logging.getLogger("kernel_lsp.lsp")
VERIFY_DEMAND = "kernel-lsp.verifyDemand"
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
             "note": types.DiagnosticSeverity.Information}

__all__ = ["VERIFY_DEMAND", "design_check", "design_symbol", "design_hover", "is_design_file"]


def _runs(ls) -> dict:
    return ls.__dict__.setdefault("design_runs", {})


def design_check(ls, rel: str, text: str | None) -> list[types.Diagnostic]:
    """Diagnostics of a demand or policy file (on the model thread)."""
    if text is None:
        text = ls.text_of(rel) or ""
    ws = ls.ws if ls.ws is not None and ls.ws.ready else None
    notes, got = spec_notes(ws, rel, text)
    if is_demand_file(rel):
        _runs(ls)[rel] = got
    elif is_policy_file(rel) and got is not None and ls.config is not None:
        _adopt_policy(ls, rel, got)
    lines, enc = Lines(text), ls.encoding
    out = []
    docs_url = ls.config.docs_url if ls.config is not None else None
    for n in notes:
        code = CODES.get(n.code) if n.code else None
        href = code.docs_url(docs_url) if code is not None else None
        out.append(types.Diagnostic(
            range=lines.range(n.line, n.col, n.line, n.end_col, enc), message=n.message,
            severity=_SEVERITY[n.severity], code=n.code, source=SOURCE,
            code_description=types.CodeDescription(href=href) if href else None))
    return out


def _adopt_policy(ls, rel: str, policy) -> None:
    """A configured policy file edited in the editor: its buffer is the policy from now on, and
    the open C files are checked again against it."""
    policies = ls.config.policies
    for i, old in enumerate(policies):
        if old.origin == rel:
            if (old.domains.keys(), [d.paths for d in old.domains.values()]) == \
                    (policy.domains.keys(), [d.paths for d in policy.domains.values()]) and \
                    _same(old, policy):
                return
            policies[i] = policy
            loop = ls.loop
            if loop is not None:
                loop.call_soon_threadsafe(_recheck_c_files, ls)
            return


def _same(a, b) -> bool:
    return all((x.may_call, x.interface, x.allow) == (y.may_call, y.interface, y.allow)
               for x, y in zip(a.domains.values(), b.domains.values(), strict=True)) and \
        (a.order, a.strict) == (b.order, b.strict)


def _recheck_c_files(ls) -> None:
    for uri in ls.open_uris():
        rel = ls.relative(uri)
        if rel is not None and not is_design_file(rel):
            ls.schedule(uri)


def design_symbol(ls, rel: str, pos: types.Position) -> tuple[str, SymbolAt | None]:
    """(the path to rank definitions from, the function under the cursor) in a spec file."""
    text = ls.text_of(rel)
    if text is None:
        return rel, None
    byte_col = Lines(text).to_bytes(pos.line, pos.character, ls.encoding)
    got = token_at(text, pos.line, byte_col)
    if got is None:
        return rel, None
    name, file, struct = got
    span = Location(rel, pos.line, byte_col, pos.line, byte_col)
    if struct:
        return rel, SymbolAt(struct, "type:struct", span)
    return (file or rel), SymbolAt(name, "call", span)


def design_hover(ls, rel: str, pos: types.Position) -> str | None:
    """The verdict of the invocation demanded at the cursor's line (the last verification)."""
    return hover_markdown(_runs(ls).get(rel), rel, pos.line)


def register(server) -> None:
    """The code lens and the command (handlers.py calls this once)."""

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    async def code_lens(ls, params: types.CodeLensParams):
        try:
            rel = ls.relative(params.text_document.uri)
            if rel is None or not is_demand_file(rel):
                return []
            return [types.CodeLens(
                range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                command=types.Command(title="Verify demand", command=VERIFY_DEMAND,
                                      arguments=[params.text_document.uri]))]
        except Exception:  # noqa: BLE001 - a code lens is never worth a crash
            log.exception("code lens failed")
            return []

    @server.command(VERIFY_DEMAND)
    async def verify_demand(ls, *args):
        uri = _uri_argument(args)
        rel = ls.relative(uri) if uri else None
        if rel is None or not is_demand_file(rel):
            ls.show("kernel-lsp: Verify demand needs a *.demand.yaml file of the workspace")
            return None
        if ls.ws is None or not ls.ws.ready:
            ls.show("kernel-lsp: the model is not ready yet; try again when indexing is done")
            return None
        text = ls.text_of(rel)
        if text is None:
            ls.show(f"kernel-lsp: Verify demand: cannot read {rel}")
            return None
        try:
            path, code = await ls.on_model(write_html_report, ls.ws, rel, text)
        except Exception as exc:  # noqa: BLE001 - the reports directory, the disk: a message
            log.exception("verify demand failed")
            ls.show(f"kernel-lsp: Verify demand: cannot write the report: {exc}")
            return None
        report_uri = uri_of(ls.root, relative_posix(ls.root, path) or str(path))
        if not await _show(ls, report_uri):
            ls.log_message(f"kernel-lsp: report written to {path}")
        return {"report": str(path), "uri": report_uri, "code": code}


SHOW_WITHIN = 5.0  # seconds a client has to answer window/showDocument


async def _show(ls, uri: str) -> bool:
    """Ask the client to open ``uri`` in a browser, when it says it can; whether it did. A
    client that never answers (or answers nothing) holds the command no longer than
    ``SHOW_WITHIN``."""
    window = getattr(ls.client_capabilities, "window", None)
    show = getattr(window, "show_document", None)
    if not getattr(show, "support", False):
        return False
    try:
        got = await asyncio.wait_for(ls.window_show_document_async(
            types.ShowDocumentParams(uri=uri, external=True)), SHOW_WITHIN)
    except Exception:  # noqa: BLE001 - no answer, an error, a malformed one: the path is logged
        return False
    return bool(getattr(got, "success", False))


def _uri_argument(args) -> str | None:
    """The document URI of the command's arguments (clients wrap them differently)."""
    for a in args:
        if isinstance(a, str):
            return a
        if isinstance(a, list | tuple):
            got = _uri_argument(a)
            if got:
                return got
        if isinstance(a, dict) and isinstance(a.get("uri"), str):
            return a["uri"]
    return None
