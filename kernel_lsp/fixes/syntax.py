"""Tree-sitter reading of the current text for fixes: file-scope nodes, declarations, ``static``.

The tree comes from ``kernel_lsp.parse.parser.parse`` (annotation macros blanked, offsets kept),
so node byte ranges index the original text. "File scope" descends into preprocessor
conditionals (``#ifdef`` blocks, include guards): a declaration inserted before a definition
inside ``#ifdef CONFIG_X`` stays inside it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from kernel_lsp.parse.cnodes import declarator_name, function_declarator
from kernel_lsp.parse.parser import parse

_CONDITIONALS = frozenset({"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
                           "preproc_elifdef"})
_TAGS = {"struct": "struct_specifier", "union": "union_specifier", "enum": "enum_specifier"}
# A function body read as a statement: ``SYSCALL_DEFINE1(x, ...)`` + ``{ ... }``.
_HEADERS_OF_BODY = frozenset({"expression_statement", "ERROR", "declaration", "macro_invocation"})


@functools.lru_cache(maxsize=4)
def tree_of(data: bytes):
    """The parse of ``data``, the last few remembered: planning the fixes of a document's
    findings reads the same text once per finding (a file with hundreds of calls of an
    unknown header's functions was parsed hundreds of times per check). Trees are only read."""
    return parse(data)


def file_scope_nodes(root) -> Iterator:
    """Nodes at file scope in document order (descending into preprocessor conditionals)."""
    for child in root.children:
        if child.type in _CONDITIONALS:
            yield from file_scope_nodes(child)
        else:
            yield child


def top_level_at(root, offset: int):
    """The file-scope node that contains byte ``offset`` (None when none does)."""
    node = root
    while True:
        kids = node.children
        index = next((i for i, c in enumerate(kids) if c.start_byte <= offset < c.end_byte), None)
        if index is None:
            return None
        child = kids[index]
        if child.type in _CONDITIONALS:
            node = child
            continue
        while (child.type == "compound_statement" and index > 0
               and kids[index - 1].type in _HEADERS_OF_BODY
               and kids[index - 1].end_point.row >= child.start_point.row - 1):
            index -= 1
            child = kids[index]
        return _with_leading_comments(kids, index)


def _with_leading_comments(kids, index: int):
    """The node at ``index``, or the first of the comments glued above it (a kernel-doc)."""
    node = kids[index]
    start_row = node.start_point.row
    while index > 0:
        prev = kids[index - 1]
        if prev.type != "comment" or prev.end_point.row != start_row - 1 \
                or prev.start_point.column != 0:
            break
        index -= 1
        start_row = prev.start_point.row
        node = prev
    return node


def first_identifier(root, name: str, tag: bool = False) -> int | None:
    """Byte offset of the first identifier (or struct/union/enum tag) spelled ``name``."""
    wanted = {"type_identifier"} if tag else {"identifier", "field_identifier"}
    encoded = name.encode()
    stack = [root]
    best = None
    while stack:
        node = stack.pop()
        if best is not None and node.start_byte >= best:
            continue
        if node.type in wanted and node.text == encoded:
            best = node.start_byte
            continue
        stack.extend(reversed(node.children))
    return best


def _declared_names(node) -> list[tuple[str, bool, object]]:
    """(name, is_function, declarator) of what a file-scope declaration/definition declares."""
    if node.type == "function_definition":
        fdecl = function_declarator(node.child_by_field_name("declarator"))
        ident = fdecl.child_by_field_name("declarator") if fdecl is not None else None
        return [(ident.text.decode(), True, fdecl)] if ident is not None else []
    if node.type != "declaration":
        return []
    out = []
    for d in node.children_by_field_name("declarator"):
        fdecl = function_declarator(d)
        ident = fdecl.child_by_field_name("declarator") if fdecl is not None else declarator_name(d)
        if ident is not None and ident.text:
            out.append((ident.text.decode(), fdecl is not None, d))
    return out


def declarations_of(root, name: str, function: bool | None = None) -> list:
    """File-scope declarations/definitions of ``name`` (a function when ``function``)."""
    out = []
    for node in file_scope_nodes(root):
        for declared, is_function, _ in _declared_names(node):
            if declared == name and (function is None or is_function == function):
                out.append(node)
                break
    return out


def declares_tag(node, kind: str, name: str, with_body: bool) -> bool:
    """Whether file-scope ``node`` declares ``kind name`` (defines it when ``with_body``)."""
    spec_type = _TAGS.get(kind)
    if spec_type is None:
        return False
    spec = node if node.type == spec_type else None
    if spec is None and node.type in ("declaration", "type_definition"):
        t = node.child_by_field_name("type")
        spec = t if t is not None and t.type == spec_type else None
    if spec is None:
        return False
    tag = spec.child_by_field_name("name")
    if tag is None or tag.text != name.encode():
        return False
    has_body = spec.child_by_field_name("body") is not None
    if with_body:
        return has_body
    return has_body or node is spec or not node.children_by_field_name("declarator")


def static_spans(node) -> list[tuple[int, int]]:
    """Byte ranges of the ``static`` storage-class keywords of a file-scope declaration."""
    return [(c.start_byte, c.end_byte) for c in node.children
            if c.type == "storage_class_specifier" and c.text == b"static"]
