"""YAML with positions: every value of a demand or policy file knows its line and column.

PyYAML's composer gives nodes with marks; ``load`` turns them into ``Node`` values (mappings,
sequences, scalars) that keep the 0-based line and column of their first character, so a schema
error is reported at the right line. Only the safe subset of YAML is read (no tags, no objects).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml


@dataclass(frozen=True, slots=True)
class Problem:
    """A schema or syntax error in a specification file, at a 0-based line and column."""

    line: int
    col: int
    message: str
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.line + 1}:{self.col + 1}: {self.message}"


@dataclass(slots=True)
class Node:
    """A YAML value with its position: ``kind`` is ``map``, ``seq`` or ``scalar``."""

    kind: str
    line: int
    col: int
    end_col: int
    value: object = None  # str for a scalar; list[Node] for a seq; dict[str, (Node, Node)] for a map
    items: list = field(default_factory=list)  # (key Node, value Node) pairs of a map, in order

    def get(self, key: str) -> Node | None:
        """The value under ``key`` of a mapping (None when absent or not a mapping)."""
        if self.kind != "map":
            return None
        for k, v in self.items:
            if k.value == key:
                return v
        return None

    def keys(self) -> list[Node]:
        return [k for k, _ in self.items]

    @property
    def text(self) -> str | None:
        """The scalar's text (None for a mapping, a sequence or a null)."""
        return self.value if self.kind == "scalar" and isinstance(self.value, str) else None

    def problem(self, message: str) -> Problem:
        return Problem(self.line, self.col, message, self.end_col)


def _convert(node: yaml.Node, seen: dict[int, Node] | None = None) -> Node:
    """A ``Node`` of a composed YAML node; an alias is converted once (``seen``), so anchors
    neither multiply the work nor recurse forever."""
    seen = {} if seen is None else seen
    if id(node) in seen:
        return seen[id(node)]
    start, end = node.start_mark, node.end_mark
    end_col = end.column if end.line == start.line else start.column + 1
    if isinstance(node, yaml.MappingNode):
        out = seen[id(node)] = Node("map", start.line, start.column, end_col)
        out.items = [(_convert(k, seen), _convert(v, seen)) for k, v in node.value]
        return out
    if isinstance(node, yaml.SequenceNode):
        out = seen[id(node)] = Node("seq", start.line, start.column, end_col, [])
        out.value = [_convert(v, seen) for v in node.value]
        return out
    value = node.value
    if node.tag == "tag:yaml.org,2002:null" or (node.style is None and value in ("", "~", "null")):
        value = None
    out = seen[id(node)] = Node("scalar", start.line, start.column, end_col, value)
    return out


def load(text: str) -> tuple[Node | None, list[Problem]]:
    """The document's root node, or None and the syntax error (never raises)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line, mark.column) if mark is not None else (0, 0)
        what = exc.problem or exc.context or "invalid YAML"
        return None, [Problem(line, col, f"YAML syntax error: {what}")]
    except yaml.YAMLError as exc:
        return None, [Problem(0, 0, f"YAML syntax error: {exc}")]
    except RecursionError:
        return None, [Problem(0, 0, _TOO_DEEP)]
    if root is None:
        return None, [Problem(0, 0, "the file is empty")]
    try:
        return _convert(root), []
    except RecursionError:
        return None, [Problem(0, 0, _TOO_DEEP)]


_TOO_DEEP = "the YAML is nested too deeply to read"


def unknown_keys(node: Node, allowed: tuple[str, ...], where: str) -> list[Problem]:
    """A problem for each key of mapping ``node`` that is not in ``allowed``."""
    return [k.problem(f"{where}: unknown key '{k.value}' (expected one of: {', '.join(allowed)})")
            for k in node.keys() if k.value not in allowed]


def string_list(node: Node | None, where: str, problems: list[Problem]) -> list[Node]:
    """The scalar items of a sequence (a lone scalar counts as a list of one)."""
    if node is None:
        return []
    if node.kind == "scalar" and node.text:
        return [node]
    if node.kind != "seq":
        problems.append(node.problem(f"{where} must be a list of strings"))
        return []
    out = []
    for item in node.value:
        if item.text:
            out.append(item)
        else:
            problems.append(item.problem(f"{where}: every item must be a non-empty string"))
    return out
