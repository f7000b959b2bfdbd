"""The types a member-run macro brings where a struct body invokes it.

acpica writes the common members of its structs once, as a macro whose body is a run of
members (``#define ACPI_STATE_COMMON union acpi_generic_state *next; u8 flags; u16 value;``),
and invokes it first in each struct (``struct acpi_common_state { ACPI_STATE_COMMON };``). The
parser never sees those members (``preprocess.blank_in_braces`` blanks the name), yet the
compiler needs their types at the invocation: without ``u16`` visible, GCC reports
``unknown type name 'u16'`` on every line that invokes the macro. ``MemberRuns.types(name,
args)`` reads the macro's body (with its arguments, and member-run macros it invokes written
out) as a member list and gives its (type name, kind, need). A run may end in invocations of
function-like macros that add members only in some configurations (``ACPI_PARSE_COMMON`` ends
in ``ACPI_DISASM_ONLY_MEMBERS(...)``): those are left out, as if they brought nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kernel_lsp.parse import cnodes
from kernel_lsp.parse.facts import NEED_NAME, NEED_SIZE, TYPEDEF, Macro
from kernel_lsp.parse.macros import is_member_run, members_of, split_args
from kernel_lsp.parse.parser import parse
from kernel_lsp.parse.preprocess import close_paren

_WORD = re.compile(r"[A-Za-z_]\w*")
DEPTH = 3  # member-run macros written out inside one another


class MemberRuns:
    """The member-run macros a file defines, and the types each brings."""

    def __init__(self, macros: Iterable[Macro]):
        self.macros: dict[str, Macro] = {}
        for m in macros:
            if is_member_run(m.body):
                self.macros.setdefault(m.name, m)
        self.memo: dict[tuple, list[tuple[str, str, int]]] = {}
        self._pattern: re.Pattern | None = None

    def types(self, name: str, args: tuple[str, ...] = ()) -> list[tuple[str, str, int]]:
        """(type name, kind, need) of each type the members of ``name(args)`` use by name or
        by value, in order, each once."""
        key = (name, args)
        if key not in self.memo:
            self.memo[key] = self._types(self._text(name, args, DEPTH))
        return self.memo[key]

    def _text(self, name: str, args: tuple[str, ...], depth: int) -> str:
        m = self.macros[name]
        body = members_of(m.body)
        if m.params:
            values = dict(zip(m.params, args, strict=False))
            body = _WORD.sub(lambda w: values.get(w.group(), w.group()), body)
        if depth > 0:
            body = _WORD.sub(lambda w: self._text(w.group(), (), depth - 1)
                             if w.group() in self.macros and self.macros[w.group()].params is None
                             else w.group(), body)
        return body

    @staticmethod
    def _types(members: str) -> list[tuple[str, str, int]]:
        src = f"struct __member_run {{\n{members}\n}};\n".encode()
        out: dict[tuple[str, str], int] = {}
        stack = [parse(src).root_node]
        while stack:
            node = stack.pop()
            if node.type == "field_declaration":
                spec = node.child_by_field_name("type")
                kind = cnodes.record_kind(spec.type) if spec is not None else None
                if spec is not None and spec.type == "type_identifier":
                    out.setdefault((cnodes.text(spec), TYPEDEF), NEED_NAME)
                elif kind is not None and spec.child_by_field_name("body") is None and any(
                        cnodes.declares_object(d)
                        for d in node.children_by_field_name("declarator")):
                    tag = spec.child_by_field_name("name")
                    if tag is not None:
                        out.setdefault((cnodes.text(tag), kind), NEED_SIZE)
            stack.extend(reversed(node.named_children))
        return [(name, kind, need) for (name, kind), need in out.items()]

    def invocations(self, src: bytes, start: int, end: int
                    ) -> list[tuple[str, tuple[str, ...], int, int]]:
        """(name, arguments, start, end of the name) of the member-run macros invoked in
        ``src[start:end]`` (a struct body) after their definition: each first on its line, or
        after ``{``, ``;`` or another such invocation."""
        if not self.macros:
            return []
        if self._pattern is None:
            names = sorted(self.macros, key=len, reverse=True)
            self._pattern = re.compile(rb"\b(" + b"|".join(re.escape(n.encode()) for n in names)
                                       + rb")\b")
        out: list[tuple[str, tuple[str, ...], int, int]] = []
        chained = -1  # where the last invocation ended
        for m in self._pattern.finditer(src, start, end):
            name = m.group(1).decode()
            macro = self.macros[name]
            line_start = src.rfind(b"\n", 0, m.start()) + 1
            before = src[max(line_start, chained):m.start()].strip()
            if macro.span.start_byte > m.start() or (before and before[-1:] not in b"{;"):
                continue
            after, args = m.end(), ()
            if macro.params is not None:
                opening = m.end() + len(src[m.end():end]) - len(src[m.end():end].lstrip(b" \t"))
                close = close_paren(src, opening, 4096) if src[opening:opening + 1] == b"(" else -1
                if close < 0 or close > end:
                    continue
                args = tuple(a.strip() for a in split_args(
                    src[opening + 1:close].decode("utf-8", "replace")))
                after = close + 1
            out.append((name, args, m.start(), m.end()))
            chained = after
        return out

