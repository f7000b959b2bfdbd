"""Symbols: the outline of one buffer (from its facts) and the workspace symbol search (model)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel_lsp.model.navsql import ASCII_LOWER
from kernel_lsp.navigate.records import DocSymbol, Location, SymbolInfo
from kernel_lsp.parse.cnodes import declarator_name
from kernel_lsp.parse.facts import FileFacts, Span, TypeDecl, TypeRef
from kernel_lsp.parse.parser import parse


@dataclass
class _Node:
    name: str
    kind: str
    detail: str
    range: Location
    selection: Location
    start: int
    end: int
    children: list[_Node] = field(default_factory=list)

    def freeze(self) -> DocSymbol:
        kids = sorted(self.children, key=lambda c: (c.range.line, c.range.col))
        return DocSymbol(self.name, self.kind, self.detail, self.range, self.selection,
                         tuple(c.freeze() for c in kids))


def _loc(path: str, s: Span) -> Location:
    return Location(path, s.line, s.col, s.end_line, s.end_col)


def _type_text(t: TypeRef | None) -> str:
    if t is None:
        return ""
    return f"{t.kind} {t.name}" if t.kind in ("struct", "union", "enum") else t.name


def document_symbols(facts: FileFacts, source: bytes | None = None, tree=None) -> list[DocSymbol]:
    """The outline of one file, in file order: functions, types, file-scope variables and macros;
    members and enumerators nested under their type, and anything defined inside another
    symbol's range (a struct inside a typedef, a macro inside a function) nested under it.

    With the buffer's ``source`` (and its tree-sitter ``tree``, parsed here when None), members
    get their own positions; without it they point at their type's name.
    """
    path = facts.path
    nodes: list[_Node] = []
    for f in facts.functions:
        if f.parent is None:
            nodes.append(_Node(f.name, "function", f.signature, _loc(path, f.span),
                               _loc(path, f.name_span), f.span.start_byte, f.span.end_byte))
    members = _member_spans(facts, source, tree)
    for t in facts.types:
        if not t.is_definition:
            continue
        node = _Node(t.name, t.kind, _type_detail(t), _loc(path, t.span),
                     _loc(path, t.name_span), t.span.start_byte, t.span.end_byte)
        node.children = _members(path, t, node, members.get(id(t), {}))
        nodes.append(node)
    for v in facts.variables:
        detail = " ".join(x for x in (v.storage if v.storage != "global" else "",
                                      _type_text(v.type)) if x)
        nodes.append(_Node(v.name, "variable", detail, _loc(path, v.span),
                           _loc(path, v.name_span), v.span.start_byte, v.span.end_byte))
    for m in facts.macros:
        detail = f"({', '.join(m.params)})" if m.params is not None else ""
        nodes.append(_Node(m.name, "macro", detail, _loc(path, m.span), _loc(path, m.span),
                           m.span.start_byte, m.span.end_byte))
    return [n.freeze() for n in _nest(nodes)]


def _type_detail(t: TypeDecl) -> str:
    if t.kind == "typedef":
        return _type_text(t.underlying)
    noun = "enumerator" if t.kind == "enum" else "member"
    return f"{len(t.members)} {noun}{'' if len(t.members) == 1 else 's'}"


def _nest(nodes: list[_Node]) -> list[_Node]:
    """Put every node under the innermost node whose byte range strictly holds it."""
    roots: list[_Node] = []
    stack: list[_Node] = []
    for n in sorted(nodes, key=lambda n: (n.start, -n.end)):
        while stack and not (stack[-1].start <= n.start and n.end <= stack[-1].end
                             and (stack[-1].start, stack[-1].end) != (n.start, n.end)):
            stack.pop()
        (stack[-1].children if stack else roots).append(n)
        stack.append(n)
    return roots


def _members(path: str, t: TypeDecl, parent: _Node, spans: dict) -> list[_Node]:
    out = []
    used: dict[str, int] = {}
    for m in t.members:
        found = spans.get(m.name, [])
        i = used.get(m.name, 0)
        used[m.name] = i + 1
        if i < len(found):
            whole, name = found[i]
            rng, sel = _loc(path, whole), _loc(path, name)
        else:
            rng = sel = parent.selection
        kind = "enumerator" if t.kind == "enum" else "field"
        detail = "function pointer" if m.is_function else _type_text(m.type)
        out.append(_Node(m.name, kind, detail, rng, sel, 0, 0))
    return out


def _member_spans(facts: FileFacts, source: bytes | None, tree) -> dict[int, dict]:
    """id(type) -> {member name: [(declaration span, name span), ...]} read from the buffer."""
    records = [t for t in facts.types if t.is_definition and t.members and t.kind != "typedef"]
    if source is None or not records:
        return {}
    root = (tree if tree is not None else parse(source)).root_node
    out: dict[int, dict] = {}
    for t in records:
        node = root.descendant_for_byte_range(t.span.start_byte, t.span.end_byte)
        while node is not None and node.type not in ("struct_specifier", "union_specifier",
                                                     "enum_specifier"):
            node = node.parent
        body = node.child_by_field_name("body") if node is not None else None
        if body is None or node.start_byte != t.span.start_byte:
            continue  # generated by a macro: no text of its own
        spans: dict[str, list] = {}
        for child in body.named_children:
            for whole, ident in _declared(child):
                spans.setdefault(ident.text.decode("utf-8", "replace"), []).append(
                    (_span(whole), _span(ident)))
        out[id(t)] = spans
    return out


def _declared(child):
    """(declaration node, name node) pairs a member list entry declares."""
    if child.type == "enumerator":
        name = child.child_by_field_name("name")
        return [(child, name)] if name is not None else []
    if child.type != "field_declaration":
        return []
    names = (declarator_name(d) for d in child.children_by_field_name("declarator"))
    return [(child, n) for n in names if n is not None]


def _span(node) -> Span:
    s, e = node.start_point, node.end_point
    return Span(node.start_byte, node.end_byte, s.row, s.column, e.row, e.column)


# -- workspace symbols -----------------------------------------------------------------------
def workspace_symbols(model, query: str, limit: int = 200) -> list[SymbolInfo]:
    """Definitions whose name starts with ``query`` (case-sensitive, from the name indexes; also
    upper-cased, for macros), then names containing it in any case (functions, types,
    variables); at most ``limit``. An empty query gives nothing."""
    query = (query or "").strip()
    if not query or limit <= 0:
        return []
    rows = model.nav_symbols_prefix(query, limit)
    if query.upper() != query and len(rows) < limit:
        rows += [r for r in model.nav_symbols_prefix(query.upper(), limit - len(rows))
                 if r[1] == "macro"]
    seen = {r[0] for r in rows}
    if len(rows) < limit:
        for name in _substring_names(model, query, seen, 4 * limit):
            rows += model.nav_symbols_named(name)
            if len(rows) >= limit:
                break
    return [SymbolInfo(name, kind, Location(path, line, col, end_line, max(end_col, col + 1)), path)
            for name, kind, path, line, col, end_line, end_col in rows[:limit]]


def _substring_names(model, query: str, seen: set[str], cap: int) -> list[str]:
    """Names holding ``query`` in any case, those starting with it first, then shortest first."""
    names, lower = model.nav_name_list()
    needle = query.translate(ASCII_LOWER)
    if "\n" in needle:
        return []
    found: list[str] = []
    pos = 0
    while len(found) < cap:
        i = lower.find(needle, pos)
        if i < 0:
            break
        start = lower.rfind("\n", 0, i) + 1
        end = lower.find("\n", i)
        end = len(lower) if end < 0 else end
        name = names[start:end]
        if name not in seen:
            found.append(name)
        pos = end
    found.sort(key=lambda n: (not n.translate(ASCII_LOWER).startswith(needle), len(n), n))
    return found
