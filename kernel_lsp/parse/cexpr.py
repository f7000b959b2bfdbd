"""Evaluate ``#if`` expressions in three values: true, false, or unknown (None).

The preprocessor's arithmetic (C integer operators, ``defined``, the ternary) over what a
``Macros`` lookup knows: a configuration symbol or predefined macro has a value; anything else
is unknown, and so is every expression whose value depends on it (``0 && unknown`` is false,
``1 || unknown`` true). Never raises: a malformed expression is unknown.
"""

from __future__ import annotations

import re
from typing import Protocol

_TOKEN = re.compile(r"\s*(?:(0[xX][0-9A-Fa-f]+|\d+)[uUlL]*|([A-Za-z_]\w*)|('(?:\\.|[^'])')|"
                    r"(<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%<>&|^!~?:(),]))")
_BINARY = [  # precedence, lowest first
    ("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="),
    ("<<", ">>"), ("+", "-"), ("*", "/", "%"),
]


class Macros(Protocol):
    def defined(self, name: str) -> bool | None: ...
    def value(self, name: str) -> int | None: ...
    def call(self, name: str, args: list[str]) -> int | None: ...


class _Unparsable(Exception):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _Unparsable(text[pos:])
        pos = m.end()
        if m.group(1):
            out.append(("num", m.group(1)))
        elif m.group(2):
            out.append(("id", m.group(2)))
        elif m.group(3):
            out.append(("num", str(ord(m.group(3)[1]))))
        else:
            out.append(("op", m.group(4)))
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], macros: Macros):
        self.toks, self.i, self.macros = tokens, 0, macros

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks) or (want is not None and self.toks[self.i][1] != want):
            raise _Unparsable(want or "end")
        self.i += 1
        return self.toks[self.i - 1]

    def expr(self) -> int | None:
        cond = self.binary(0)
        if self.peek() != "?":
            return cond
        self.take("?")
        yes = self.expr()
        self.take(":")
        no = self.expr()
        if cond is None:
            return yes if yes == no else None
        return yes if cond else no

    def binary(self, level: int) -> int | None:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in _BINARY[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            left = _apply(op, left, right)
        return left

    def unary(self) -> int | None:
        tok = self.peek()
        if tok in ("!", "~", "-", "+"):
            self.take()
            v = self.unary()
            if v is None:
                return None
            return {"!": int(not v), "~": ~v, "-": -v, "+": v}[tok]
        return self.primary()

    def primary(self) -> int | None:
        kind, tok = self.take()
        if kind == "num":
            return int(tok, 0) if not (tok.startswith("0") and tok.isdigit() and len(tok) > 1) \
                else int(tok, 8)
        if tok == "(":
            v = self.expr()
            self.take(")")
            return v
        if kind != "id":
            raise _Unparsable(tok)
        if tok == "defined":
            paren = self.peek() == "("
            if paren:
                self.take("(")
            name = self.take()[1]
            if paren:
                self.take(")")
            d = self.macros.defined(name)
            return None if d is None else int(d)
        if self.peek() == "(":
            return self.macros.call(tok, self.arguments())
        return self.macros.value(tok)

    def arguments(self) -> list[str]:
        self.take("(")
        args, depth, current = [], 0, []
        while True:
            kind, tok = self.take()
            if tok == ")" and depth == 0:
                args.append(" ".join(current))
                return args
            if tok == "," and depth == 0:
                args.append(" ".join(current))
                current = []
                continue
            depth += tok == "("
            depth -= tok == ")"
            current.append(tok)


def _apply(op: str, a: int | None, b: int | None) -> int | None:
    if op == "&&":
        if a == 0 or b == 0:
            return 0
        return None if a is None or b is None else 1
    if op == "||":
        if (a is not None and a != 0) or (b is not None and b != 0):
            return 1
        return None if a is None or b is None else 0
    if a is None or b is None:
        return None
    if op in ("/", "%") and b == 0:
        return None
    return {
        "|": lambda: a | b, "^": lambda: a ^ b, "&": lambda: a & b, "==": lambda: int(a == b),
        "!=": lambda: int(a != b), "<": lambda: int(a < b), "<=": lambda: int(a <= b),
        ">": lambda: int(a > b), ">=": lambda: int(a >= b), "<<": lambda: a << min(b, 64),
        ">>": lambda: a >> min(b, 64), "+": lambda: a + b, "-": lambda: a - b,
        "*": lambda: a * b, "/": lambda: int(a / b), "%": lambda: a % b,
    }[op]()


def evaluate(expr: str, macros: Macros) -> bool | None:
    """The truth of ``#if expr`` under ``macros`` (None when it cannot be known)."""
    try:
        parser = _Parser(_tokens(expr), macros)
        value = parser.expr()
        if parser.i != len(parser.toks):
            return None
    except (_Unparsable, ValueError, RecursionError, OverflowError):
        return None
    return None if value is None else value != 0


def all_hold(clauses, macros: Macros) -> bool | None:
    """Whether every clause holds: False as soon as one is false, None if one is unknown."""
    result: bool | None = True
    for clause in clauses:
        v = evaluate(clause, macros)
        if v is False:
            return False
        if v is None:
            result = None
    return result
