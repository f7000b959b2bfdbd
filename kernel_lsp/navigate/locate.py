"""Which symbol is under the cursor: a name node of the buffer's syntax tree, with its kind."""

from __future__ import annotations

import re

from kernel_lsp.navigate.records import Location, SymbolAt
from kernel_lsp.parse.cnodes import declarator_name, function_declarator, record_kind
from kernel_lsp.parse.parser import parse
from kernel_lsp.parse.varuse import KEYWORDS

_INCLUDE = re.compile(rb'[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]')
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
MACRO_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_NAMES = {"identifier", "type_identifier", "field_identifier", "primitive_type"}
_NO_SYMBOL = {"comment", "string_literal", "string_content", "char_literal", "system_lib_string",
              "number_literal", "escape_sequence", "statement_identifier"}
_SCOPES = {"compound_statement", "for_statement"}


def _line_bounds(source: bytes, line: int) -> tuple[int, int] | None:
    """(start, end) byte offsets of 0-based ``line`` (end excludes the newline)."""
    if line < 0:
        return None
    start = 0
    for _ in range(line):
        nl = source.find(b"\n", start)
        if nl < 0:
            return None
        start = nl + 1
    end = source.find(b"\n", start)
    return start, len(source) if end < 0 else end


def symbol_at(path: str, source: bytes, tree, line: int, col: int) -> SymbolAt | None:
    """The symbol at 0-based ``line`` and byte column ``col`` of ``source`` (or just before it).

    ``tree`` is the tree-sitter tree of ``source`` (parsed here when None). Returns None on
    whitespace, comments, strings, numbers and positions outside the text.
    """
    bounds = _line_bounds(source, line) if col >= 0 else None
    if bounds is None:
        return None
    start, end = bounds
    inc = _INCLUDE.match(source, start, end)
    if inc is not None:
        return SymbolAt(inc.group(2).decode("utf-8", "replace"), "include",
                        Location(path, line, inc.start(1) - start, line, inc.end() - start))
    offset = min(start + col, end)
    if tree is None:
        tree = parse(source)
    for pos in (offset, offset - 1):
        if start <= pos < end:
            found = _symbol_from_tree(path, source, tree.root_node, pos)
            if found is not None:
                return found if found is not False else None
    return None


def _symbol_from_tree(path: str, source: bytes, root, pos: int):
    """The symbol of the token at byte ``pos``; False when the token cannot be one."""
    node = root.descendant_for_byte_range(pos, pos + 1)
    if node is None:
        return None
    if node.type in _NO_SYMBOL or (node.parent is not None and node.parent.type in _NO_SYMBOL):
        return False
    if node.type in ("struct", "union", "enum") and node.parent is not None:
        name = node.parent.child_by_field_name("name")  # the keyword of a tag: the tag
        return _classify(path, source, name) if name is not None else False
    if node.type in _NAMES and node.start_byte <= pos < node.end_byte:
        return _classify(path, source, node)
    return _word_at(path, source, pos)


def _word_at(path: str, source: bytes, pos: int) -> SymbolAt | None:
    """A word of text the grammar did not read as a name (macro bodies, blanked annotations),
    unless it is inside a string or after ``//`` on its line."""
    before = source[source.rfind(b"\n", 0, pos) + 1:pos]
    if b"//" in before or len(re.findall(rb'(?<!\\)"', before)) % 2:
        return None
    lo = pos
    while lo > 0 and (source[lo - 1:lo].isalnum() or source[lo - 1:lo] == b"_"):
        lo -= 1
    m = _WORD.match(source, lo)
    if m is None or not m.start() <= pos < m.end() or source[lo:lo + 1].isdigit() or (
            m.group() in KEYWORDS):
        return None
    name = m.group().decode()
    return SymbolAt(name, "macro" if MACRO_NAME.match(name) else "var", _loc(path, source, m))


def _loc(path: str, source: bytes, m: re.Match) -> Location:
    line = source.count(b"\n", 0, m.start())
    col = m.start() - (source.rfind(b"\n", 0, m.start()) + 1)
    return Location(path, line, col, line, col + m.end() - m.start())


def _node_loc(path: str, node) -> Location:
    s, e = node.start_point, node.end_point
    return Location(path, s.row, s.column, e.row, e.column)


def _classify(path: str, source: bytes, node) -> SymbolAt:
    name = node.text.decode("utf-8", "replace")
    here = _node_loc(path, node)
    parent = node.parent
    ptype = parent.type if parent is not None else ""
    if node.type == "primitive_type":
        return SymbolAt(name, "type:base", here)
    if node.type == "field_identifier":
        return SymbolAt(name, "field", here)
    if node.type == "type_identifier":
        if MACRO_NAME.match(name) and source[node.end_byte:node.end_byte + 64].lstrip()[:1] == b"(":
            return SymbolAt(name, "macro", here)  # DEFINE_MUTEX(m); read as a declaration
        kind = record_kind(ptype)
        return SymbolAt(name, f"type:{kind or 'typedef'}", here)
    local = _local_declaration(node, name)
    if local is not None:
        return SymbolAt(name, "local", here, _node_loc(path, local))
    if ptype == "call_expression" and parent.child_by_field_name("function") == node:
        return SymbolAt(name, "call", here)
    if ptype in ("preproc_def", "preproc_function_def", "preproc_ifdef", "preproc_defined"):
        return SymbolAt(name, "macro", here)
    if ptype == "enumerator":
        return SymbolAt(name, "enumerator", here)
    if ptype == "function_declarator" and parent.child_by_field_name("declarator") == node:
        if function_declarator(parent) is not None and not _in_body(node):
            return SymbolAt(name, "func", here)
    return SymbolAt(name, "macro" if MACRO_NAME.match(name) else "var", here)


def _in_body(node) -> bool:
    """Whether ``node`` is inside a function body."""
    p = node.parent
    while p is not None:
        if p.type == "compound_statement" and p.parent is not None and (
                p.parent.type == "function_definition"):
            return True
        p = p.parent
    return False


def _declares(decl, name: str):
    """The name node among ``decl``'s declarators that declares ``name``, or None."""
    for d in decl.children_by_field_name("declarator"):
        if function_declarator(d) is not None:
            continue  # a block-scope prototype declares a function, not a local
        ident = declarator_name(d)
        if ident is not None and ident.type == "identifier" and ident.text.decode() == name:
            return ident
    return None


def _local_declaration(node, name: str):
    """The declarator of the local variable or parameter ``node`` names, in its scope."""
    scope = node.parent
    while scope is not None:
        if scope.type == "function_definition":
            fdecl = function_declarator(scope.child_by_field_name("declarator"))
            params = fdecl.child_by_field_name("parameters") if fdecl is not None else None
            for p in params.named_children if params is not None else ():
                if p.type == "parameter_declaration":
                    found = _declares(p, name)
                    if found is not None:
                        return found
            return None
        if scope.type in _SCOPES:
            for stmt in scope.named_children:
                if stmt.start_byte > node.start_byte:
                    break
                if stmt.type == "declaration":
                    found = _declares(stmt, name)
                    if found is not None:
                        return found
        scope = scope.parent
    return None
