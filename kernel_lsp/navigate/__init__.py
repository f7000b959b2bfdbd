"""Navigation over the kernel model: hover, definitions, references, symbols, call hierarchy.

Pure Python, no LSP types: the language server converts these records. Positions are 0-based
lines and 0-based byte columns; paths are root-relative POSIX. Every function returns None or an
empty list for unknown names, stale positions or an empty model (see docs/navigation.md).
"""

from kernel_lsp.navigate.calls import call_item, incoming_calls, outgoing_calls
from kernel_lsp.navigate.hover import hover
from kernel_lsp.navigate.locate import symbol_at
from kernel_lsp.navigate.queries import declarations, definitions, references, resolve_include
from kernel_lsp.navigate.records import CallItem, DocSymbol, Location, SymbolAt, SymbolInfo
from kernel_lsp.navigate.symbols import document_symbols, workspace_symbols

__all__ = [
    "CallItem", "DocSymbol", "Location", "SymbolAt", "SymbolInfo", "call_item", "declarations",
    "definitions", "document_symbols", "hover", "incoming_calls", "outgoing_calls", "references",
    "resolve_include", "symbol_at", "workspace_symbols",
]
