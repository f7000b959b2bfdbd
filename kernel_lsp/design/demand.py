"""Demand files (``*.demand.yaml``): what the kernel must do, as required call chains.

A demand (``id``, ``name``) is a list of demanding paths; a path is a call chain of functions
and every consecutive pair is a demanding invocation. A chain item names a function
(``do_sys_open``), a static function of one file (``do_dentry_open@fs/open.c``) or a member
function of a struct (``file_operations.open``: a call through that function-pointer member).
An invocation is required to be ``implemented`` (the caller's body calls the callee) or only
``designed`` (the call is allowed by scope). Schema: docs/design.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kernel_lsp.design.yamlsrc import Node, Problem, load, string_list, unknown_keys

REQUIRES = ("implemented", "designed")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# (the file: whatever follows the first @, a name of the tree may hold a space or a newline)
_REF = re.compile(rf"^(?:(?P<struct>{_IDENT})\.)?(?P<name>{_IDENT})(?:@(?P<file>.+))?\Z", re.S)
_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_DEMAND_KEYS = ("id", "name", "description", "require", "paths")
_PATH_KEYS = ("id", "name", "description", "require", "chain")
_ITEM_KEYS = ("function", "file", "require")


@dataclass(frozen=True, slots=True)
class Ref:
    """A function named in a demand: ``name``, ``name@file`` or ``struct.member``."""

    name: str
    file: str | None = None
    struct: str | None = None  # a member function: the struct whose member it is
    line: int = 0
    col: int = 0
    end_col: int = 0

    @property
    def label(self) -> str:
        if self.struct:
            return f"{self.struct}.{self.name}"
        return f"{self.name}@{self.file}" if self.file else self.name


@dataclass(frozen=True, slots=True)
class DemandInvocation:
    """One demanding invocation: ``caller`` must invoke ``callee``."""

    index: int  # 1-based within its path
    caller: Ref
    callee: Ref
    require: str  # "implemented" | "designed"

    @property
    def line(self) -> int:
        return self.callee.line


@dataclass(slots=True)
class DemandPath:
    id: str
    name: str
    line: int
    col: int
    chain: list[Ref] = field(default_factory=list)
    invocations: list[DemandInvocation] = field(default_factory=list)


@dataclass(slots=True)
class Demand:
    id: str
    name: str
    path: str  # the demand file (root-relative when inside the root)
    line: int = 0
    col: int = 0
    paths: list[DemandPath] = field(default_factory=list)

    @property
    def invocation_count(self) -> int:
        return sum(len(p.invocations) for p in self.paths)


def parse_demand(text: str, path: str) -> tuple[Demand | None, list[Problem]]:
    """The demand of one file and every schema problem found (None when unusable)."""
    root, problems = load(text)
    if root is None:
        return None, problems
    if root.kind != "map":
        return None, [root.problem("a demand file is a mapping with 'id', 'name' and 'paths'")]
    problems += unknown_keys(root, _DEMAND_KEYS, "demand")
    ident = _identifier(root, "id", "demand", problems)
    name = _text(root, "name", problems) or ident or path
    default = _require(root.get("require"), "implemented", problems)
    demand = Demand(ident or path, name, path, root.line, root.col)
    paths = root.get("paths")
    if paths is None:
        problems.append(root.problem("demand: 'paths' is missing (a list of call chains)"))
    elif paths.kind != "seq" or not paths.value:
        problems.append(paths.problem("demand: 'paths' must be a non-empty list of paths"))
    else:
        seen: set[str] = set()
        for i, node in enumerate(paths.value, start=1):
            got = _path(node, i, default, problems)
            if got is None:
                continue
            if got.id in seen:
                problems.append(Problem(got.line, got.col, f"path id '{got.id}' is used twice"))
            seen.add(got.id)
            demand.paths.append(got)
    return demand, problems


def _text(node: Node, key: str, problems: list[Problem]) -> str | None:
    value = node.get(key)
    if value is None:
        return None
    if value.text is None:
        problems.append(value.problem(f"'{key}' must be a string"))
        return None
    return value.text


def _identifier(node: Node, key: str, where: str, problems: list[Problem]) -> str | None:
    value = _text(node, key, problems)
    if value is not None and not _ID.match(value):
        problems.append(node.get(key).problem(
            f"{where}: '{key}' must be letters, digits, '_', '.' or '-' (got {value!r})"))
        return None
    return value


def _require(node: Node | None, default: str, problems: list[Problem]) -> str:
    if node is None:
        return default
    if node.text not in REQUIRES:
        problems.append(node.problem(f"'require' must be one of: {', '.join(REQUIRES)}"))
        return default
    return node.text


def _path(node: Node, index: int, default: str, problems: list[Problem]) -> DemandPath | None:
    if node.kind == "seq":  # a bare chain
        chain_node, ident, name, require = node, f"p{index}", None, default
    elif node.kind == "map":
        problems.extend(unknown_keys(node, _PATH_KEYS, f"path {index}"))
        chain_node = node.get("chain")
        ident = _identifier(node, "id", f"path {index}", problems) or f"p{index}"
        name = _text(node, "name", problems)
        require = _require(node.get("require"), default, problems)
        if chain_node is None:
            problems.append(node.problem(f"path {index}: 'chain' is missing (a list of functions)"))
            return None
    else:
        problems.append(node.problem(f"path {index} must be a mapping with a 'chain' or a list"))
        return None
    if chain_node.kind != "seq" or len(chain_node.value) < 2:
        problems.append(chain_node.problem(
            f"path {index}: 'chain' must list at least two functions (caller, callee)"))
        return None
    refs, requires = [], []
    for item in chain_node.value:
        ref, req = _ref(item, require, problems)
        if ref is None:
            return None
        refs.append(ref)
        requires.append(req)
    out = DemandPath(ident, name or " -> ".join(r.label for r in refs), node.line, node.col, refs)
    out.invocations = [DemandInvocation(i, refs[i - 1], refs[i], requires[i])
                       for i in range(1, len(refs))]
    return out


def _ref(item: Node, require: str, problems: list[Problem]) -> tuple[Ref | None, str]:
    """A chain item: ``name``, ``name@file``, ``struct.member`` or a mapping."""
    if item.kind == "map":
        problems.extend(unknown_keys(item, _ITEM_KEYS, "chain item"))
        fn = item.get("function")
        if fn is None or fn.text is None:
            problems.append(item.problem("chain item: 'function' is missing"))
            return None, require
        spelled, at = fn.text, fn
        file_node = item.get("file")
        if file_node is not None:
            if file_node.text is None:
                problems.append(file_node.problem("chain item: 'file' must be a path"))
            else:
                spelled = f"{spelled}@{file_node.text}"
        require = _require(item.get("require"), require, problems)
    elif item.text is not None:
        spelled, at = item.text, item
    else:
        problems.append(item.problem("a chain item is a function name or a mapping"))
        return None, require
    m = _REF.match(spelled.strip())
    if not m:
        problems.append(at.problem(f"'{spelled}' is not a function name (name, name@path/file.c "
                                   "or struct.member)"))
        return None, require
    file = m["file"].strip("/") if m["file"] else None
    if m["struct"] and file:
        problems.append(at.problem(f"'{spelled}': a member function has no file"))
        return None, require
    return Ref(m["name"], file, m["struct"], at.line, at.col, at.end_col), require


def load_demand_file(path, rel: str) -> tuple[Demand | None, list[Problem]]:
    """Read and parse a demand file; an unreadable file is one problem at line 1."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(0, 0, f"cannot read the demand file: {exc}")]
    return parse_demand(text, rel)


__all__ = ["Demand", "DemandInvocation", "DemandPath", "Problem", "Ref", "parse_demand",
           "load_demand_file", "string_list"]
