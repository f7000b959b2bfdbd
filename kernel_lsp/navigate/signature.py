"""Signature help: the function (or function-like macro) whose call's parentheses hold the point,
its declaration as the model or the buffer knows it, and which argument the point is in."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from kernel_lsp.navigate.scope import Point

_NAME_BEFORE = re.compile(rb"([A-Za-z_]\w*)\s*$")
_OPEN, _CLOSE = b"([{", b")]}"
MAX_BACK = 4096  # bytes scanned back from the point for the call's opening parenthesis


@dataclass(frozen=True, slots=True)
class Signature:
    """``label`` (the declaration), the (start, end) character offsets of each parameter in
    it, and the parameter the point is in."""

    label: str
    parameters: list[tuple[int, int]]
    active: int
    where: str | None  # path of the declaration shown


def call_at(source: bytes, offset: int) -> tuple[str, int] | None:
    """(callee name, 0-based argument index) of the innermost unclosed call before ``offset``,
    skipping strings, character literals and nested brackets."""
    depth, commas, i = 0, 0, offset
    low = max(0, offset - MAX_BACK)
    while i > low:
        i -= 1
        ch = source[i:i + 1]
        if ch in (b'"', b"'"):
            j = source.rfind(ch, low, i)
            while j > low and source[j - 1:j] == b"\\":
                j = source.rfind(ch, low, j - 1)
            if j < 0:
                return None
            i = j
        elif ch == b";" or (ch == b"{" and depth == 0):
            return None
        elif ch in (b")", b"]", b"}"):
            depth += 1
        elif ch in (b"(", b"[", b"{"):
            if depth == 0:
                if ch != b"(":
                    return None
                name = _NAME_BEFORE.search(source, max(low, i - 128), i)
                if name is None:
                    return None
                return name.group(1).decode(), commas
            depth -= 1
        elif ch == b"," and depth == 0:
            commas += 1
    return None


def parameter_ranges(label: str, name: str) -> list[tuple[int, int]]:
    """Character ranges of the parameters in a declaration ``label`` of ``name``."""
    at = label.find(name + "(")
    if at < 0:
        m = re.search(rf"\b{re.escape(name)}\s*\(", label)
        if m is None:
            return []
        at = m.start()
    start = label.index("(", at) + 1
    out, depth, begin = [], 0, start
    for i in range(start, len(label)):
        c = label[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                out.append((begin, i))
                break
            depth -= 1
        elif c == "," and depth == 0:
            out.append((begin, i))
            begin = i + 1
    ranges = []
    for s, e in out:
        while s < e and label[s] == " ":
            s += 1
        while e > s and label[e - 1] == " ":
            e -= 1
        if e > s:
            ranges.append((s, e))
    return ranges


def signature_help(point: Point) -> Signature | None:
    """The signature of the call around the point, None outside any call or for unknown names."""
    call = call_at(point.source, point.cursor)
    if call is None:
        return None
    name, index = call
    found = _declaration(point, name)
    if found is None:
        return None
    label, where = found
    params = parameter_ranges(label, name)
    active = min(index, len(params) - 1) if params else 0
    if params and label[params[-1][0]:params[-1][1]] == "..." and index >= len(params):
        active = len(params) - 1
    return Signature(label, params, active, where)


def _declaration(point: Point, name: str) -> tuple[str, str | None] | None:
    """(declaration text, path) of ``name``: the buffer's own above the point, then a visible
    one in the model, then any; function-like macros last."""
    for f in (point.rows or {}).get("functions", ()):
        if f.name == name and f.parent is None and f.start_byte < point.offset and f.signature:
            return _one_line(f.signature), point.path
    model = point.model
    if model is None:
        return None
    mask = point.mask
    rows = sorted((r for r in model.nav_functions(name) if r["signature"]),
                  key=lambda r: (not (mask >> r["file_id"]) & 1, not r["path"].endswith(".h"),
                                 r["path"]))
    if rows:
        return _one_line(rows[0]["signature"]), rows[0]["path"]
    for m in (point.rows or {}).get("macros", ()):
        if m.name == name and m.params is not None and m.start_byte < point.offset:
            return _macro(name, m.params), point.path
    macros = sorted((r for r in model.nav_macros(name) if r["params"] is not None),
                    key=lambda r: (not (mask >> r["file_id"]) & 1, r["path"]))
    if macros:
        return _macro(name, macros[0]["params"]), macros[0]["path"]
    return None


def _one_line(signature: str) -> str:
    return " ".join(signature.split())


def _macro(name: str, params: str) -> str:
    try:
        return f"#define {name}({', '.join(json.loads(params))})"
    except (ValueError, TypeError):
        return f"#define {name}(...)"
