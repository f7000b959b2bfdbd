"""A prototype derived from a call: the argument types as the caller spells them.

For a function that exists nowhere (020_2), the call ``x = frob(inode, "name", 4)`` gives
``int frob(struct inode *inode, const char *arg1, int arg2);`` when every argument's type is
known: a literal, a local, a parameter or a file-scope variable of the calling file, ``&v``, a
cast, ``sizeof``. The return type is what the call's value is assigned to, returned as, or
``void`` for a call statement. No prototype when an argument's type cannot be told (a guess
would compile and be wrong).
"""

from __future__ import annotations

import re

from kernel_lsp.fixes import syntax
from kernel_lsp.fixes.text import SourceText, decode, encode

_DECLS = ("declaration", "parameter_declaration", "field_declaration")


def _text(node, data: bytes) -> str:
    return " ".join(decode(data[node.start_byte:node.end_byte]).split())


def _find_call(root, offset: int):
    node = root.descendant_for_byte_range(offset, offset + 1)
    while node is not None and node.type != "call_expression":
        node = node.parent
    return node


def _declared_type(decl, name: str, data: bytes) -> str | None:
    """The type ``decl`` (a declaration) gives ``name``: its specifiers plus the pointers and
    arrays of the declarator that names it."""
    type_node = decl.child_by_field_name("type")
    if type_node is None:
        return None
    quals = [_text(c, data) for c in decl.children if c.type == "type_qualifier"]
    for d in decl.children_by_field_name("declarator"):
        stars, node = 0, d
        while node is not None:
            if node.type == "identifier":
                if _text(node, data) == name:
                    base = " ".join([*quals, _text(type_node, data)])
                    return base + (" " + "*" * stars if stars else "")
                break
            if node.type in ("pointer_declarator", "array_declarator"):
                stars += 1
            node = node.child_by_field_name("declarator")
    return None


def _lookup(name: str, at, data: bytes) -> str | None:
    """The type of identifier ``name`` as declared before ``at`` in the enclosing scopes."""
    node = at
    while node is not None:
        scope = node.parent
        if scope is None:
            return None
        for sib in scope.children:
            if sib.start_byte >= at.start_byte:
                break
            if sib.type in _DECLS:
                got = _declared_type(sib, name, data)
                if got:
                    return got
        if scope.type == "function_definition":
            declarator = scope.child_by_field_name("declarator")
            while declarator is not None and declarator.type != "function_declarator":
                declarator = declarator.child_by_field_name("declarator")
            params = declarator.child_by_field_name("parameters") if declarator else None
            for p in params.children if params else ():
                if p.type == "parameter_declaration":
                    got = _declared_type(p, name, data)
                    if got:
                        return got
        node = scope
    return None


def _number(text: str) -> str:
    t = text.lower()
    hexa = t.startswith("0x")
    if not hexa and ("." in t or "e" in t):
        return "double"
    suffix = re.search(r"[ul]*$", t).group(0)
    longs = suffix.count("l")
    base = "long long" if longs >= 2 else "long" if longs == 1 else "int"
    return f"unsigned {base}" if "u" in suffix else base


def argument_type(arg, data: bytes) -> str | None:
    t = arg.type
    if t == "number_literal":
        return _number(_text(arg, data))
    if t in ("string_literal", "concatenated_string"):
        return "const char *"
    if t == "char_literal":
        return "char"
    if t in ("true", "false"):
        return "bool"
    if t == "null" or (t == "identifier" and _text(arg, data) == "NULL"):
        return "void *"
    if t == "identifier":
        return _lookup(_text(arg, data), arg, data)
    if t == "pointer_expression" and arg.child_by_field_name("operator") is not None and \
            _text(arg.child_by_field_name("operator"), data) == "&":
        inner = arg.child_by_field_name("argument")
        got = argument_type(inner, data) if inner is not None else None
        return f"{got} *" if got else None
    if t == "cast_expression":
        return _text(arg.child_by_field_name("type"), data)
    if t == "sizeof_expression":
        return "size_t"
    if t == "parenthesized_expression" and arg.named_child_count == 1:
        return argument_type(arg.named_children[0], data)
    return None


def _param_name(arg, data: bytes, i: int) -> str:
    if arg.type == "pointer_expression":
        arg = arg.child_by_field_name("argument") or arg
    return _text(arg, data) if arg.type == "identifier" and _text(arg, data) != "NULL" \
        else f"arg{i}"


def _return_type(call, data: bytes) -> str:
    parent = call.parent
    while parent is not None and parent.type == "parenthesized_expression":
        parent = parent.parent
    if parent is None or parent.type == "expression_statement":
        return "void"
    if parent.type == "init_declarator":
        decl = parent.parent
        name = parent.child_by_field_name("declarator")
        while name is not None and name.type != "identifier":
            name = name.child_by_field_name("declarator")
        got = _declared_type(decl, _text(name, data), data) if name is not None else None
        return got or "int"
    if parent.type == "assignment_expression":
        left = parent.child_by_field_name("left")
        if left is not None and left.type == "identifier":
            return _lookup(_text(left, data), left, data) or "int"
    if parent.type == "return_statement":
        fn = parent
        while fn is not None and fn.type != "function_definition":
            fn = fn.parent
        if fn is not None:
            ret = fn.child_by_field_name("type")
            decl = fn.child_by_field_name("declarator")
            stars = 1 if decl is not None and decl.type == "pointer_declarator" else 0
            if ret is not None:
                return _text(ret, data) + (" *" if stars else "")
    return "int"


def derived_prototype(source: str, line: int, col: int, name: str) -> str | None:
    """The prototype of ``name`` derived from its call at (line, byte col), or None."""
    src = SourceText(source)
    offset = src.offset(line, col)
    if offset is None:
        return None
    data = encode(source)
    call = _find_call(syntax.tree_of(data).root_node, offset)
    if call is None or _text(call.child_by_field_name("function"), data) != name:
        return None
    args = call.child_by_field_name("arguments")
    params = []
    for i, arg in enumerate(a for a in (args.named_children if args else ())
                            if a.type != "comment"):
        ty = argument_type(arg, data)
        if ty is None:
            return None
        sep = "" if ty.endswith("*") else " "
        params.append(f"{ty}{sep}{_param_name(arg, data, i)}")
    ret = _return_type(call, data)
    sep = "" if ret.endswith("*") else " "
    return f"{ret}{sep}{name}({', '.join(params) or 'void'});"
