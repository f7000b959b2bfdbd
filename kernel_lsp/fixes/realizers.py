"""Turn a fix plan into edits against the current texts, re-verifying every anchor.

A plan was made from the model at check time; the texts may have changed since. Each step finds
its place again (the symbol's first use, the include block, the definition that is ``static``)
and either returns edits, returns ``[]`` when its work is already done, or raises
``NotApplicable`` when the text no longer fits the plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kernel_lsp.findings import Edit
from kernel_lsp.fixes import syntax
from kernel_lsp.fixes.text import (
    SourceText,
    existing_includes,
    header_tail_insertion,
    include_insertion,
)

_CONDITIONAL_LINE = re.compile(rb"#\s*(if|ifdef|ifndef|else|elif|elifdef|elifndef)\b")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_INCLUDE_ARG = re.compile(r'<[^<>"\s]+>|"[^<>"\n]+"')
_PATH = re.compile(r"[^\s/][^\n]*")


class NotApplicable(Exception):
    """The plan no longer applies to the current text."""


class Texts:
    """The current texts by root-relative path, each read and parsed at most once."""

    def __init__(self, text_of: Callable[[str], str | None]):
        self._text_of = text_of
        self._sources: dict[str, SourceText] = {}
        self._roots: dict[str, object] = {}

    def source(self, path: str) -> SourceText:
        if path not in self._sources:
            text = self._text_of(path) if isinstance(path, str) and path else None
            if not isinstance(text, str):
                raise NotApplicable(f"{path}: unreadable")
            self._sources[path] = SourceText(text)
        return self._sources[path]

    def root(self, path: str):
        if path not in self._roots:
            self._roots[path] = syntax.tree_of(self.source(path).data).root_node
        return self._roots[path]


def insert(path: str, line: int, col: int, text: str) -> Edit:
    return Edit(path, line, col, line, col, text)


def locate_use(texts: Texts, path: str, symbol: str, anchor, tag: bool) -> int:
    """Byte offset of the symbol's first use: the plan's anchor when it still names the symbol,
    else the first identifier spelled so in the current text."""
    src = texts.source(path)
    if isinstance(anchor, list | tuple) and len(anchor) == 2 and all(
            isinstance(v, int) for v in anchor) and src.word_at(anchor[0], anchor[1], symbol):
        return src.offset(anchor[0], anchor[1])
    found = syntax.first_identifier(texts.root(path), symbol, tag)
    if found is None:
        raise NotApplicable(f"{symbol} is no longer used in {path}")
    return found


# -- steps ------------------------------------------------------------------------------------
def include_edits(texts: Texts, path: str, spelling: str, spellings, use: int) -> list[Edit]:
    """The ``#include`` line after the leading include block ([] when already there)."""
    src = texts.source(path)
    use_line = src.point(use)[0]
    names = set(spellings) if isinstance(spellings, list) and spellings else {spelling}
    includes = existing_includes(src)
    if any(arg in names and line < use_line for line, arg in includes):
        return []
    line, col, prefix, suffix = include_insertion(src)
    if line > use_line:
        if not any(at == use_line for at, _arg in includes):
            raise NotApplicable("the include block comes after the use")
        # the use is an include line (a header it brings in needs the type): just above it
        line, col, prefix, suffix = use_line, 0, "", ""
    return [insert(path, line, col, f"{prefix}#include {spelling}{src.newline}{suffix}")]


def _declared_before(root, plan: dict, use: int) -> bool:
    entity, symbol = plan["entity"], plan["symbol"]
    if plan["kind"] == "define_stub":
        return any(syntax.declares_tag(n, entity, symbol, True)
                   for n in syntax.file_scope_nodes(root))
    if plan["kind"] == "forward_declare":
        return any(n.start_byte < use and syntax.declares_tag(n, entity, symbol, False)
                   for n in syntax.file_scope_nodes(root))
    nodes = syntax.declarations_of(root, symbol, function=entity == "function")
    return any(n.start_byte < use for n in nodes)


def declare_edits(texts: Texts, path: str, plan: dict, use: int) -> list[Edit]:
    """The plan's declaration on its own line before the file-scope node holding the use."""
    src, root = texts.source(path), texts.root(path)
    if _declared_before(root, plan, use):
        return []
    node = syntax.top_level_at(root, use)
    if node is None:
        raise NotApplicable("no file-scope construct holds the use")
    line, col = src.point(node.start_byte)
    nl = src.newline
    text = plan["text"].replace("\n", nl)
    if col:
        return [insert(path, line, col, f"{nl}{text}{nl}")]
    above = src.line(line - 1).strip() if line > 0 else b""
    lead = nl if above and not _CONDITIONAL_LINE.match(above) else ""
    return [insert(path, line, 0, f"{lead}{text}{nl}{nl}")]


def unstatic_edits(texts: Texts, path: str, symbol: str, function: bool) -> list[Edit]:
    """Remove ``static`` (and one following blank) from every file-scope declaration of
    ``symbol`` in its defining file ([] when none is static any more)."""
    src, root = texts.source(path), texts.root(path)
    nodes = syntax.declarations_of(root, symbol, function=function)
    if not nodes:
        raise NotApplicable(f"{symbol} is no longer defined in {path}")
    edits = []
    for node in nodes:
        for start, end in syntax.static_spans(node):
            if src.data[end:end + 1] in (b" ", b"\t"):
                end += 1
            edits.append(Edit(path, *src.point(start), *src.point(end), ""))
    return edits


def header_declaration_edits(texts: Texts, header: str, symbol: str, function: bool,
                             text: str) -> list[Edit]:
    """The declaration at the end of the header (inside its include guard)."""
    src, root = texts.source(header), texts.root(header)
    if syntax.declarations_of(root, symbol, function=function):
        return []
    line, col, prefix = header_tail_insertion(src)
    return [insert(header, line, col, f"{prefix}{text}{src.newline}")]


# -- plans ------------------------------------------------------------------------------------
def _use(texts: Texts, plan: dict) -> int:
    anchor = plan.get("use")
    if plan.get("via_include") is True and isinstance(anchor, list) and len(anchor) == 2:
        src = texts.source(plan["path"])  # the use is the include line of a needy header
        if any(line == anchor[0] for line, _arg in existing_includes(src)):
            return src.offset(anchor[0], 0)
        raise NotApplicable("the include line moved")
    tag = plan.get("entity") in ("struct", "union", "enum")
    return locate_use(texts, plan["path"], plan["symbol"], plan.get("use"), tag)


def _text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _include_arg(value) -> bool:
    return isinstance(value, str) and bool(_INCLUDE_ARG.fullmatch(value))


def _path_or_none(value) -> bool:
    return value is None or (isinstance(value, str) and bool(_PATH.fullmatch(value)))


def _require(plan: dict, **checks: Callable[[object], bool]) -> None:
    """Check the shape of the fields a realizer reads (a malformed plan is not applicable)."""
    if not (isinstance(plan.get("path"), str) and isinstance(plan.get("symbol"), str)
            and _IDENTIFIER.fullmatch(plan["symbol"])):
        raise NotApplicable("malformed plan")
    for key, check in checks.items():
        if not check(plan.get(key)):
            raise NotApplicable(f"malformed {key}")


def realize_include(plan: dict, texts: Texts) -> list[Edit]:
    _require(plan, header=_include_arg)
    return include_edits(texts, plan["path"], plan["header"], plan.get("spellings"),
                         _use(texts, plan))


def realize_declare(plan: dict, texts: Texts) -> list[Edit]:
    _require(plan, text=_text, entity=_text)
    return declare_edits(texts, plan["path"], plan, _use(texts, plan))


def realize_export(plan: dict, texts: Texts) -> list[Edit]:
    _require(plan, text=_text, entity=_text, header=_path_or_none,
             include=lambda v: v is None or _include_arg(v))
    function = plan["entity"] == "function"
    use = _use(texts, plan)
    edits: list[Edit] = []
    definition = plan.get("definition")
    if definition:
        edits += unstatic_edits(texts, definition["path"], plan["symbol"], function)
    header = plan.get("header")
    if header:
        edits += header_declaration_edits(texts, header, plan["symbol"], function, plan["text"])
        if plan.get("include"):
            edits += include_edits(texts, plan["path"], plan["include"], plan.get("spellings"),
                                   use)
    else:
        edits += declare_edits(texts, plan["path"], plan, use)
    return edits


def realize_rename(plan: dict, texts: Texts) -> list[Edit]:
    """``Did you mean X?``: the misspelt name at the use becomes ``to``."""
    _require(plan, to=lambda v: isinstance(v, str) and bool(_IDENTIFIER.fullmatch(v)))
    use = plan.get("use")
    src = texts.source(plan["path"])
    if not (isinstance(use, list) and len(use) == 2 and all(isinstance(v, int) for v in use)
            and src.word_at(use[0], use[1], plan["symbol"])):
        raise NotApplicable(f"{plan['symbol']} is no longer at the use")
    end = use[1] + len(plan["symbol"].encode("utf-8"))
    return [Edit(plan["path"], use[0], use[1], use[0], end, plan["to"])]


REALIZERS: dict[str, Callable[[dict, Texts], list[Edit]]] = {
    "rename": realize_rename,
    "include": realize_include,
    "declare": realize_declare,
    "forward_declare": realize_declare,
    "define_stub": realize_declare,
    "export": realize_export,
}
