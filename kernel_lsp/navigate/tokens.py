"""Semantic tokens of a buffer: functions, macros, types, variables (and their kin) by what the
syntax and the model say each name is, and the ``#if`` branches the configuration drops.

Syntax decides where it can (a declarator, a call, a member, a tag, a parameter or local of the
enclosing function); other names ask ``kind_of(name)``, the model's answer (macro, enumerator,
function, variable, typedef). Inactive branches are blanked in the buffer's tree, so they hold
no name token: each of their lines is one ``comment`` token instead, which is how editors grey
them out (clangd-aware clients also get ``textDocument/inactiveRegions``, see lsp/).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Query

from kernel_lsp.parse.cnodes import declarator_name, function_declarator
from kernel_lsp.parse.parser import C_LANGUAGE, query_cursor

TOKEN_TYPES = ("function", "macro", "type", "struct", "enum", "enumMember", "variable",
               "parameter", "property", "comment")
TOKEN_MODIFIERS = ("declaration", "static")
_QUERY = Query(C_LANGUAGE, "(identifier) @i (type_identifier) @t (field_identifier) @f")
_TAGS = {"struct_specifier": "struct", "union_specifier": "struct", "enum_specifier": "enum"}
_MACRO_PARENTS = ("preproc_def", "preproc_function_def", "preproc_ifdef", "preproc_defined")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: 0-based line, byte column and byte length, its type and modifiers."""

    line: int
    col: int
    length: int
    type: str
    modifiers: tuple[str, ...] = ()


def name_tokens(source: bytes, tree, kind_of: Callable[[str], str | None]) -> list[Token]:
    """Tokens of the names in ``tree`` (a tree of ``source``), in document order."""
    scopes = _FunctionScopes(tree)
    out: list[Token] = []
    for capture, nodes in query_cursor(_QUERY).captures(tree.root_node).items():
        for node in nodes:
            kind = _classify(capture, node, scopes, kind_of)
            if kind is not None:
                s = node.start_point
                out.append(Token(s.row, s.column, node.end_byte - node.start_byte, *kind))
    out.sort(key=lambda t: (t.line, t.col))
    return out


def _classify(capture: str, node, scopes, kind_of) -> tuple[str, tuple[str, ...]] | None:
    if node.start_point.row != node.end_point.row:
        return None
    parent = node.parent
    ptype = parent.type if parent is not None else ""
    if capture == "f":
        return "property", ()
    name = node.text.decode("utf-8", "replace")
    if capture == "t":
        if ptype in _TAGS:
            return _TAGS[ptype], ()
        if ptype == "type_definition":
            return "type", ("declaration",)
        return ("macro", ()) if kind_of(name) == "macro" else ("type", ())
    if ptype == "preproc_params":
        return "parameter", ("declaration",)
    if ptype in _MACRO_PARENTS:
        return "macro", ("declaration",) if ptype in ("preproc_def", "preproc_function_def") \
            else ()
    if ptype == "enumerator":
        return "enumMember", ("declaration",)
    if ptype == "function_declarator" and parent.child_by_field_name("declarator") == node \
            and function_declarator(parent) is not None:
        return "function", ("declaration",)
    local = scopes.kind(node, name)
    if local is not None:
        return local, ()
    if ptype == "call_expression" and parent.child_by_field_name("function") == node:
        return ("macro", ()) if kind_of(name) == "macro" else ("function", ())
    if _declares(node):
        return "variable", ("declaration",)
    known = kind_of(name)
    return {"macro": ("macro", ()), "enumerator": ("enumMember", ()),
            "function": ("function", ()), "variable": ("variable", ()),
            "typedef": ("type", ())}.get(known)


def _declares(node) -> bool:
    """Whether identifier ``node`` is the name a file-scope declaration declares."""
    p = node.parent
    for _ in range(6):
        if p is None:
            return False
        if p.type == "declaration":
            return any(declarator_name(d) == node for d in p.children_by_field_name("declarator"))
        if p.type not in ("init_declarator", "pointer_declarator", "array_declarator",
                          "parenthesized_declarator", "attributed_declarator"):
            return False
        p = p.parent
    return False


class _FunctionScopes:
    """Parameters and locals of each function definition, for the names used in its body."""

    def __init__(self, tree):
        self.ranges: list[tuple[int, int]] = []
        self.names: list[tuple[set[str], set[str]]] = []
        cursor = query_cursor(Query(C_LANGUAGE, "(function_definition) @fn"))
        for node in cursor.captures(tree.root_node).get("fn", []):
            self.ranges.append((node.start_byte, node.end_byte))
            self.names.append(_scope_names(node))
        order = sorted(range(len(self.ranges)), key=lambda i: self.ranges[i])
        self.ranges = [self.ranges[i] for i in order]
        self.names = [self.names[i] for i in order]
        self.starts = [r[0] for r in self.ranges]

    def kind(self, node, name: str) -> str | None:
        i = bisect_right(self.starts, node.start_byte) - 1
        if i < 0 or node.start_byte >= self.ranges[i][1]:
            return None
        params, locals_ = self.names[i]
        if name in params:
            return "parameter"
        if name in locals_:
            return "variable"
        return None


def _scope_names(func) -> tuple[set[str], set[str]]:
    params: set[str] = set()
    fdecl = function_declarator(func.child_by_field_name("declarator"))
    plist = fdecl.child_by_field_name("parameters") if fdecl is not None else None
    for p in plist.named_children if plist is not None else ():
        ident = declarator_name(p.child_by_field_name("declarator"))
        if ident is not None and ident.type == "identifier":
            params.add(ident.text.decode("utf-8", "replace"))
    locals_: set[str] = set()
    body = func.child_by_field_name("body")
    stack = [body] if body is not None else []
    while stack:
        node = stack.pop()
        for child in node.named_children:
            if child.type == "declaration":
                for d in child.children_by_field_name("declarator"):
                    if function_declarator(d) is None:
                        ident = declarator_name(d)
                        if ident is not None and ident.type == "identifier":
                            locals_.add(ident.text.decode("utf-8", "replace"))
            elif child.type not in ("expression_statement", "return_statement"):
                stack.append(child)
    return params, locals_


def inactive_tokens(source: bytes, ranges: list[tuple[int, int]]) -> list[Token]:
    """One ``comment`` token per non-blank line of each dropped ``#if`` branch."""
    out: list[Token] = []
    for start, end in ranges:
        line = source.count(b"\n", 0, start)
        pos = start
        while pos < end:
            nl = source.find(b"\n", pos, end)
            stop = end if nl < 0 else nl
            text = source[pos:stop]
            if text.strip():
                lead = len(text) - len(text.lstrip())
                col = pos - (source.rfind(b"\n", 0, pos) + 1) + lead
                out.append(Token(line, col, len(text.rstrip()) - lead, "comment"))
            if nl < 0:
                break
            pos, line = nl + 1, line + 1
    return out


def inactive_lines(source: bytes, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(first line, last line), 0-based and inclusive, of each dropped branch with content."""
    out = []
    for start, end in ranges:
        first = source.count(b"\n", 0, start)
        last = source.count(b"\n", 0, end) - (1 if source[end - 1:end] == b"\n" else 0)
        if end > start and last >= first:
            out.append((first, last))
    return out


def semantic_tokens(source: bytes, tree, ranges: list[tuple[int, int]],
                    kind_of: Callable[[str], str | None]) -> list[Token]:
    """Every token of the buffer, in document order (names, then the inactive lines merged)."""
    tokens = name_tokens(source, tree, kind_of) + inactive_tokens(source, ranges)
    tokens.sort(key=lambda t: (t.line, t.col))
    return tokens
