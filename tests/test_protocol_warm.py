"""``Protocol.warm`` (run at ``initialized``): the converter builds the code of typing's messages
before the first keystroke needs it, and nothing is dispatched, opened or sent."""

from __future__ import annotations

from lsprotocol import types

from kernel_lsp.lsp.handlers import server


def test_warming_dispatches_opens_and_sends_nothing(monkeypatch):
    proto = server.protocol
    sent, handled = [], []
    monkeypatch.setattr(proto, "_send_data", sent.append)
    monkeypatch.setattr(proto, "_handle_notification", lambda *a: handled.append(a))
    workspace = proto._workspace
    proto.warm()
    proto.warm()  # again: the same
    assert sent == [] and handled == []
    assert proto._workspace is workspace  # no session started, no document opened
    message = proto.structure_message({
        "jsonrpc": "2.0", "method": types.TEXT_DOCUMENT_DID_CHANGE,
        "params": {"textDocument": {"uri": "file:///a.c", "version": 3},
                   "contentChanges": [{"text": "int x;"}]}})
    assert isinstance(message, types.DidChangeTextDocumentNotification)
    assert message.params.text_document.version == 3 and handled == []
