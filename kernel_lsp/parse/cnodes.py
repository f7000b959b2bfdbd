"""Reading tree-sitter-c nodes: names inside declarators, type references, storage classes, spans."""

from __future__ import annotations

from kernel_lsp.parse.facts import (
    BASE,
    ENUM,
    EXTERN,
    GLOBAL,
    STATIC,
    STRUCT,
    TYPEDEF,
    UNION,
    Span,
    TypeRef,
)

_WRAPPERS = {
    "pointer_declarator", "parenthesized_declarator", "attributed_declarator", "init_declarator",
    "array_declarator", "abstract_pointer_declarator", "abstract_array_declarator",
    "abstract_parenthesized_declarator",
}
_NAMES = {"identifier", "type_identifier", "field_identifier", "primitive_type"}
_RECORDS = {"struct_specifier": STRUCT, "union_specifier": UNION, "enum_specifier": ENUM}


def span(node) -> Span:
    s, e = node.start_point, node.end_point
    return Span(node.start_byte, node.end_byte, s.row, s.column, e.row, e.column)


def text(node) -> str:
    return node.text.decode("utf-8", "replace")


def declarator_name(node):
    """The identifier node a declarator declares (descending pointers, arrays, parentheses)."""
    for _ in range(16):
        if node is None or node.type in _NAMES:
            return node
        if node.type in _WRAPPERS or node.type == "function_declarator":
            inner = node.child_by_field_name("declarator")
            if inner is None:
                inner = next((c for c in node.named_children if c.type != "parameter_list"), None)
            node = inner
            continue
        return None
    return None


def parenthesized_name(declarator):
    """The name ``fn`` of the parameter ``void (fn)(struct x *)``, which the grammar reads as a
    function type whose one parameter is the type ``fn`` and which returns a function (C has
    none), or None. ``declarator``: the parameter's declarator."""
    if declarator is None or declarator.type != "abstract_function_declarator":
        return None
    inner = declarator.child_by_field_name("declarator")
    if inner is None or inner.type != "abstract_function_declarator" or (
            inner.child_by_field_name("declarator") is not None):
        return None
    params = inner.child_by_field_name("parameters")
    if params is None or params.named_child_count != 1:
        return None
    only = params.named_children[0]
    name = only.child_by_field_name("type") if only.type == "parameter_declaration" else None
    return name if name is not None and name.type == "type_identifier" and (
        only.named_child_count == 1) else None


def indirection(node) -> int | None:
    """How many pointer and array levels a declarator puts between its name and its type
    (``*p``: 1, ``**pp``, ``*v[4]``: 2); None for a function or a function pointer."""
    depth = 0
    for _ in range(16):
        if node is None or node.type in _NAMES:
            return depth
        if node.type == "function_declarator":
            return None
        if node.type not in _WRAPPERS:
            return None
        if node.type in ("pointer_declarator", "array_declarator"):
            depth += 1
        inner = node.child_by_field_name("declarator")
        if inner is None:
            inner = next((c for c in node.named_children if c.type in _NAMES or
                          c.type in _WRAPPERS), None)
        node = inner
    return None


def object_depth(node) -> int | None:
    """``indirection`` of a declarator that declares an object, with an array of values
    (``struct foo v[4]``) at 0: like an object by value, its declaration needs the type
    complete, and its uses add nothing (the compiler reports the declaration only)."""
    depth = indirection(node)
    inner = node.child_by_field_name("declarator") if node.type == "init_declarator" else node
    return 0 if depth == 1 and inner is not None and inner.type == "array_declarator" else depth


def in_definition(param) -> bool:
    """Whether the ``parameter_declaration`` ``param`` is one of a function definition's own
    parameters (not a prototype's, nor a function pointer parameter's)."""
    fdecl = param.parent.parent if param.parent is not None else None
    node = fdecl.parent if fdecl is not None and fdecl.type == "function_declarator" else None
    while node is not None and node.type in ("pointer_declarator", "attributed_declarator"):
        node = node.parent
    return node is not None and node.type == "function_definition"


def function_declarator(node):
    """The ``function_declarator`` that makes ``node`` declare a function (not a pointer), or None.

    ``f(int)`` and ``*f(int)`` declare functions; ``(*f)(int)`` declares a pointer to one.
    """
    for _ in range(16):
        if node is None:
            return None
        t = node.type
        if t == "function_declarator":
            inner = node.child_by_field_name("declarator")
            if inner is not None and inner.type == "identifier":
                return node
            # int (*f(int))(char): f returns a function pointer; still a function if the
            # parenthesised part holds a function declarator.
            found = function_declarator(inner)
            return found
        if t == "parenthesized_declarator":
            inner = node.named_children[0] if node.named_children else None
            if inner is not None and inner.type == "pointer_declarator":
                # (*f)(...) is a pointer, unless it is (*f(args))(...)
                return function_declarator(inner.child_by_field_name("declarator"))
            node = inner
            continue
        if t in ("pointer_declarator", "attributed_declarator", "init_declarator"):
            node = node.child_by_field_name("declarator")
            continue
        return None
    return None


def declares_array(node) -> bool:
    """Whether declarator ``node`` declares an array of values of the declaration's type
    (``v[4]``, ``v[] = {...}``), not of pointers to it."""
    while node is not None and node.type in ("init_declarator", "attributed_declarator",
                                             "parenthesized_declarator"):
        node = (node.child_by_field_name("declarator") if node.type == "init_declarator"
                else node.named_children[0] if node.named_children else None)
    return node is not None and node.type == "array_declarator" and declares_object(node)


def declares_object(node) -> bool:
    """Whether declarator ``node`` declares an object of the declaration's type itself (``x``,
    ``x = 1``, ``x[4]``), not a pointer to it or a function returning it."""
    for _ in range(16):
        if node is None:
            return False
        if node.type == "identifier" or node.type == "field_identifier":
            return True
        if node.type in ("init_declarator", "array_declarator", "attributed_declarator"):
            node = node.child_by_field_name("declarator")
            continue
        if node.type == "parenthesized_declarator":
            node = node.named_children[0] if node.named_children else None
            continue
        return False
    return False


def is_function_pointer(node) -> bool:
    """Whether declarator ``node`` declares a pointer to function (a member function slot)."""
    for _ in range(16):
        if node is None:
            return False
        if node.type == "function_declarator":
            return True
        if node.type in _WRAPPERS:
            node = node.child_by_field_name("declarator") or (
                node.named_children[0] if node.named_children else None)
            continue
        return False
    return False


def type_ref(type_node) -> TypeRef | None:
    """(name, kind) of a ``type`` field node; None for anonymous records and macro types."""
    if type_node is None:
        return None
    t = type_node.type
    if t == "primitive_type":
        return TypeRef(text(type_node), BASE)
    if t == "sized_type_specifier":
        return TypeRef(" ".join(text(type_node).split()), BASE)
    if t == "type_identifier":
        return TypeRef(text(type_node), TYPEDEF)
    if t in _RECORDS:
        name = type_node.child_by_field_name("name")
        return TypeRef(text(name), _RECORDS[t]) if name is not None else None
    return None


def record_kind(node_type: str) -> str | None:
    return _RECORDS.get(node_type)


def storage(node) -> tuple[str, bool]:
    """(STATIC/EXTERN/GLOBAL, inline?) from the storage-class specifiers of a declaration."""
    result, inline = GLOBAL, False
    for child in node.children:
        if child.type == "storage_class_specifier":
            word = text(child)
            if word == "static":
                result = STATIC
            elif word == "extern":
                result = EXTERN if result != STATIC else STATIC
            elif "inline" in word:
                inline = True
        elif child.type == "type_qualifier" and "inline" in text(child):
            inline = True
    return result, inline
