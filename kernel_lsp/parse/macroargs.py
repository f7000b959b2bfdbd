"""Which arguments of a function-like macro need their struct complete, read from its body.

An iterator such as ``list_for_each_entry(pos, head, member)`` expands to ``(pos)->member``
and ``container_of(ptr, type, member)`` to ``offsetof(type, member)``: the compiler then needs
the struct that ``pos`` points to, or the struct ``type`` names, complete at the invocation
("invalid use of undefined type"). ``ArgNeeds.of(name)`` answers, for the macro ``name``:

- ``pointers``: the parameters dereferenced as a pointer to a struct (``p->``, ``(p)->``), or
  handed as ``typeof(*p)`` to a parameter that needs its type complete;
- ``types``: the parameters used as a type that must be complete (``offsetof(T, m)``,
  ``sizeof(T)``, ``((T *)0)->m``);

each also when the parameter is passed on, whole, to such a parameter of another macro
(``list_next_entry(pos, member)`` -> ``list_entry((pos)->member.next, ...)``). A macro with
several definitions needs what every one of them needs. Text analysis only: no expansion.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from kernel_lsp.parse.macros import matching_paren, split_args

BODY_LIMIT = 4000  # longer bodies (generated functions, tracepoints) are not read: no needs
DEPTH_LIMIT = 8  # macros passed on through more levels than this count as needing nothing

_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_TYPEOF_DEREF = re.compile(r"^(?:typeof|__typeof__|__typeof)\s*\(\s*\*\s*(?:\(\s*(\w+)\s*\)|(\w+))"
                           r"\s*\)$")


@dataclass(frozen=True)
class Needs:
    pointers: frozenset[int] = frozenset()
    types: frozenset[int] = frozenset()


NOTHING = Needs()

# (params, body) of each definition of a name
Definitions = Callable[[str], Iterable[tuple[Sequence[str], str]]]


class ArgNeeds:
    """``of(name)``: the ``Needs`` of the function-like macro ``name`` (memoized)."""

    def __init__(self, definitions: Definitions, memo: dict[str, Needs] | None = None):
        self.definitions = definitions
        self.memo: dict[str, Needs] = memo if memo is not None else {}
        self.active: set[str] = set()

    def of(self, name: str, depth: int = 0) -> Needs:
        if name in self.memo:
            return self.memo[name]
        if name in self.active or depth > DEPTH_LIMIT:
            return NOTHING  # a cycle, or too deep: claim nothing
        self.active.add(name)
        try:
            found = None
            for params, body in self.definitions(name):
                one = self._one(list(params), body or "", depth)
                found = one if found is None else Needs(found.pointers & one.pointers,
                                                        found.types & one.types)
        finally:
            self.active.discard(name)
        self.memo[name] = out = found or NOTHING
        return out

    def _one(self, params: list[str], body: str, depth: int) -> Needs:
        if len(body) > BODY_LIMIT or not params:
            return NOTHING
        pointers, types = set(), set()
        index = {p: i for i, p in enumerate(params) if p.isidentifier()}
        for p, i in index.items():
            if _derefs(p, body):
                pointers.add(i)
            if _sizes(p, body):
                types.add(i)
        for callee, args in _calls(body):
            if callee in index or callee in ("typeof", "__typeof__", "sizeof", "offsetof"):
                continue
            inner = None
            for j, arg in enumerate(args):
                whole = _whole(arg)
                typeof = _TYPEOF_DEREF.match(arg)
                target = whole if whole in index else (
                    (typeof.group(1) or typeof.group(2)) if typeof else None)
                if target not in index:
                    continue
                inner = inner or self.of(callee, depth + 1)
                if whole in index and j in inner.pointers:
                    pointers.add(index[whole])
                if j in inner.types:
                    (types if whole in index else pointers).add(index[target])
        return Needs(frozenset(pointers), frozenset(types))


def _derefs(p: str, body: str) -> bool:
    """``p->`` or ``(p)->`` (not ``x->p->``, where ``p`` is a member name)."""
    return re.search(rf"(?<![\w.>])(?:{p}|\(\s*{p}\s*\))\s*->", body) is not None


def _sizes(p: str, body: str) -> bool:
    """``offsetof(p, ...)``, ``sizeof(p)``, ``((p *)0)->``: ``p`` as a type that must be
    complete."""
    return re.search(rf"\b(?:__builtin_offsetof|offsetof)\s*\(\s*{p}\s*,"
                     rf"|\bsizeof\s*\(\s*{p}\s*\)"
                     rf"|\(\s*{p}\s*\*\s*\)\s*0\s*\)\s*->", body) is not None


def _whole(arg: str) -> str:
    """``arg`` without the parentheses around it."""
    arg = arg.strip()
    while arg.startswith("(") and arg.endswith(")") and _balanced(arg[1:-1]):
        arg = arg[1:-1].strip()
    return arg


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return False
    return depth == 0


def _calls(body: str) -> Iterable[tuple[str, list[str]]]:
    """(name, argument texts) of each ``name(...)`` in ``body`` (nested ones too)."""
    for m in _CALL.finditer(body):
        close = matching_paren(body, m.end() - 1)
        if close >= 0:
            yield m.group(1), [a.strip() for a in split_args(body[m.end():close])]
