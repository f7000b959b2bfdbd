"""Derive a demand from the model's call graph (what the method did with cflow).

From a function's definition, the direct calls are followed breadth-first to a depth, each
function expanded once; a callee counts when the model has a C definition the call reaches (the
caller's own file, a non-static definition, or a header's ``static inline``). The spanning tree
is cut into chains (one demanding invocation per edge), written as a demand file the user then
edits. ``SYSCALL_DEFINEn`` entries (``sys_open``) continue into their body (``__do_sys_open``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from kernel_lsp.messages import one_line
from kernel_lsp.model.store import Model
from kernel_lsp.model.symbols import is_foreign

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./@+-]*$")


class ExtractError(Exception):
    """The start function cannot be resolved (unknown, or ambiguous: use name@file)."""


@dataclass(slots=True)
class Node:
    label: str  # ``name`` or ``name@file`` (a static function)
    name: str
    row: dict
    children: list[Node] = field(default_factory=list)


def _rank(arch: str, from_path: str | None):
    def key(row: dict) -> tuple:
        return (row["path"] != from_path, is_foreign(row["path"], arch),
                row["storage"] == "static", row["path"])
    return key


class Extractor:
    def __init__(self, model: Model, arch: str, limit: int | None = None):
        self.model, self.arch, self.limit = model, arch, limit
        self.edges = 0

    def definitions(self, name: str) -> list[dict]:
        return [r for r in self.model.design_functions(name) if r["is_definition"]]

    def start(self, spec: str) -> Node:
        name, _, file = spec.partition("@")
        defs = [r for r in self.definitions(name) if not file or r["path"] == file]
        if not defs:
            raise ExtractError(f"no definition of {spec} in the model")
        native = [r for r in defs if not is_foreign(r["path"], self.arch)] or defs
        if not file and len({r["path"] for r in native}) > 1 and \
                sum(r["storage"] != "static" for r in native) != 1:
            where = ", ".join(f"{name}@{r['path']}" for r in native[:8])
            raise ExtractError(f"{name} is defined in several files; name one: {where}")
        native.sort(key=_rank(self.arch, None))
        return self._node(native[0])

    def _node(self, row: dict) -> Node:
        static = row["storage"] == "static"
        label = f"{row['name']}@{row['path']}" if static and not row["path"].endswith(".h") \
            else row["name"]
        return Node(label, row["name"], row)

    def callee(self, caller: dict, name: str) -> dict | None:
        """The definition a call of ``name`` in ``caller``'s file reaches, if the model has one."""
        if self.model.design_is_macro(name) and not self.definitions(name):
            return None
        defs = [r for r in self.definitions(name)
                if r["path"] == caller["path"] or r["storage"] != "static"
                or r["path"].endswith(".h")]
        if not defs:
            return None
        defs.sort(key=_rank(self.arch, caller["path"]))
        return defs[0]

    def tree(self, root: Node, depth: int) -> Node:
        seen = {(root.row["path"], root.name)}
        level = [root]
        for _ in range(depth):
            nxt = []
            for node in level:
                for child in self._children(node):
                    key = (child["path"], child["name"])
                    if key in seen:
                        continue
                    if self.limit is not None and self.edges >= self.limit:
                        return root
                    seen.add(key)
                    self.edges += 1
                    sub = self._node(child)
                    node.children.append(sub)
                    nxt.append(sub)
            level = nxt
        return root

    def _children(self, node: Node) -> list[dict]:
        row = node.row
        out = []
        if row["generated_by"]:  # SYSCALL_DEFINE3 writes sys_open calling __do_sys_open
            for r in self.model.design_functions(f"__do_{row['name']}"):
                if r["is_definition"] and r["file_id"] == row["file_id"] and \
                        r["start_byte"] == row["start_byte"]:
                    out.append(r)
        for callee, kind, _line, _col in self.model.design_callees(row["file_id"], row["name"]):
            if kind != "direct" or callee == row["name"]:
                continue
            got = self.callee(row, callee)
            if got is not None:
                out.append(got)
        return out


def chains(root: Node) -> list[list[Node]]:
    """Cut a call tree into chains: the first child continues a chain, every other child
    starts a new one at its parent. One demanding invocation per tree edge."""
    out: list[list[Node]] = []
    todo = [[root]]
    while todo:
        chain = todo.pop(0)
        node = chain[-1]
        while node.children:
            first, *rest = node.children
            todo += [[node, c] for c in rest]
            chain.append(first)
            node = first
        if len(chain) > 1:
            out.append(chain)
    return out


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain, or double-quoted with JSON's escapes, which YAML's
    double-quoted style reads (a static function of ``fs/b\\ack.c``: its ``\\a`` was a bell)."""
    return text if _PLAIN.match(text) else json.dumps(text)


def extract_demand(model: Model, arch: str, spec: str, depth: int,
                   limit: int | None = None) -> tuple[str, int]:
    """(demand file text, number of invocations) derived from ``spec``'s call tree."""
    ex = Extractor(model, arch, limit)
    root = ex.tree(ex.start(spec), depth)
    paths = chains(root)
    ident = re.sub(r"[^A-Za-z0-9_.-]", "-", root.name)
    where = f"{one_line(root.row['path'])}:{root.row['name_line'] + 1}"  # (comments: one line)
    lines = [f"# Extracted by kernel-lsp demand extract {one_line(spec)} --depth {depth}"
             + (f" --limit {limit}" if limit is not None else ""),
             f"# from {where}: one demanding invocation per call-tree edge ({ex.edges}).",
             "# Edit it: drop what the design does not require, mark what is only designed",
             "# (require: designed), then run kernel-lsp verify on it.",
             f"id: {ident}", f"name: {_scalar(root.label + ' and what it calls')}", "paths:"]
    for i, chain in enumerate(paths, start=1):
        lines += [f"  - id: p{i}", "    chain:"]
        for node in chain:
            lines.append(f"      - {_scalar(node.label).ljust(40)}  "
                         f"# {one_line(node.row['path'])}:{node.row['name_line'] + 1}")
    if not paths:
        lines.append(f"  []  # {one_line(root.label)} calls no function the model defines")
    return "\n".join(lines) + "\n", ex.edges
