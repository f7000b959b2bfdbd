"""Rename a global function, or a struct/union/enum tag, across the tree.

The model names the candidate files (declarations, calls, uses, exports, macro invocations and
function-like macro bodies: ``nav_files_naming``); each candidate's text (the open buffer, or
the file on disk) is then read token by token, comments, strings and ``#include`` lines
skipped, and every occurrence of the name in the right namespace is an edit: for a function
every identifier that is not a member (after ``.``/``->``) or a tag (after ``struct``...); for a
tag every name after its keyword. A ``static`` function of a ``.c`` file is renamed in that file
only, and other ``.c`` files that define a static namesake keep theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kernel_lsp.navigate.records import Location, SymbolAt
from kernel_lsp.parse.varuse import KEYWORDS

_TOKEN = re.compile(
    rb"(?P<skip>//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'"
    rb"|^[ \t]*#[ \t]*include[^\n]*)"
    rb"|(?P<ident>[A-Za-z_]\w*)|(?P<arrow>->)|(?P<other>[^\sA-Za-z_])", re.S | re.M)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # C's (``\w`` takes é, ``$`` a newline)
_TAGS = ("struct", "union", "enum")


class Refused(Exception):
    """This symbol cannot be renamed (the message says why)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What a rename renames: a function (``tag`` None) or a tag of kind ``tag``; ``only`` the
    one file a static function lives in."""

    name: str
    tag: str | None
    only: str | None
    span: Location


def target(model, sym: SymbolAt | None, from_path: str) -> Target:
    """The rename target of the symbol under the cursor, or Refused."""
    if sym is None or not sym.name:
        raise Refused("no symbol here")
    kind = sym.kind
    if kind in ("type:struct", "type:union", "type:enum"):
        tag = kind.split(":", 1)[1]
        if not any(r["kind"] == tag for r in model.nav_types(sym.name)):
            raise Refused(f"{tag} {sym.name} is not in the model")
        return Target(sym.name, tag, None, sym.span)
    if kind in ("call", "func", "var"):
        rows = model.nav_functions(sym.name)
        if not rows:
            if kind == "var":
                raise Refused(f"'{sym.name}' is not a function; kernel-lsp renames global "
                              "functions and struct/union/enum tags")
            raise Refused(f"function '{sym.name}' is not in the model")
        mine = [r for r in rows if r["path"] == from_path]
        if mine and all(r["storage"] == "static" for r in mine) and from_path.endswith(".c"):
            return Target(sym.name, None, from_path, sym.span)
        return Target(sym.name, None, None, sym.span)
    raise Refused("kernel-lsp renames global functions and struct/union/enum tags, "
                  f"not a {kind.replace('type:', '')}")


def check_new_name(model, t: Target, new: str) -> None:
    """Refused when ``new`` is no identifier, a keyword, or already names something that would
    collide (a function, variable or macro; a tag of the same kind)."""
    if not _IDENT.fullmatch(new) or new.encode() in KEYWORDS:
        raise Refused(f"'{new}' is not a C identifier")
    if new == t.name:
        raise Refused("the new name is the old one")
    if t.tag is not None:
        clash = [r for r in model.nav_types(new) if r["kind"] == t.tag]
        if clash:
            raise Refused(f"{t.tag} {new} already exists in {clash[0]['path']}")
        return
    clash = model.nav_symbols_named(new, with_macros=True)
    if clash:
        raise Refused(f"'{new}' already names a {clash[0][1]} in {clash[0][2]}")


def occurrences(source: bytes, name: str, tag: str | None) -> list[tuple[int, int, int]]:
    """(line, byte column, end column) of every occurrence of ``name`` to rename in ``source``.
    A function's name is never a member: not after ``.``/``->``, not inside the braces of a
    struct/union/enum body (where a tag's name, after its keyword, still is one)."""
    wanted = name.encode()
    keywords = {t.encode() for t in _TAGS}
    out = []
    prev: bytes = b""
    before_prev: bytes = b""
    records: list[bool] = []  # per open brace: is it a struct/union/enum body?
    for m in _TOKEN.finditer(source):
        if m.lastgroup == "skip":
            continue
        token = m.group()
        if token == b"{":
            records.append(prev in keywords or before_prev in keywords)
        elif token == b"}" and records:
            records.pop()
        elif m.lastgroup == "ident" and token == wanted:
            if tag:
                hit = prev == tag.encode()
            else:
                hit = prev not in (b".", b"->", *keywords) and not any(records)
            if hit:
                start = m.start()
                line = source.count(b"\n", 0, start)
                col = start - (source.rfind(b"\n", 0, start) + 1)
                out.append((line, col, col + len(wanted)))
        before_prev, prev = prev, token
    return out


def edits(model, t: Target, text_of: Callable[[str], bytes | None]) -> dict[str, list[Location]]:
    """Root-relative path -> the name's occurrences to replace there."""
    paths = [t.only] if t.only else model.nav_files_naming(t.name, t.tag)
    if t.span.path not in paths:
        paths.append(t.span.path)
    keep_static = set()
    if t.tag is None and t.only is None:  # other .c files' static namesakes are theirs
        keep_static = {r["path"] for r in model.nav_functions(t.name)
                       if r["storage"] == "static" and r["path"].endswith(".c")}
        keep_static.discard(t.span.path)
    out: dict[str, list[Location]] = {}
    for path in sorted(set(paths) - keep_static):
        source = text_of(path)
        if source is None:
            continue
        found = [Location(path, ln, c, ln, e) for ln, c, e in occurrences(source, t.name, t.tag)]
        if found:
            out[path] = found
    return out
