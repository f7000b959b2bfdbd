"""Integer constant expressions of C sources with BPF programs: names, literals, operators.

:class:`Evaluator` evaluates a tree-sitter-c expression node to a Python int, knowing the
``linux/bpf.h``/``filter.h`` constant names (``BPF_ALU64``, ``BPF_REG_3``, ``BPF_FUNC_*``,
``BPF_PROG_TYPE_*``, ``BPF_PSEUDO_*`` ...), casts to fixed-width types, ``sizeof`` of base types and
object-like macros supplied by the caller. Anything else raises :class:`CEvalError` with a message
meant for the user. ``offsetof``/``sizeof(struct ..)`` are folded before parsing
(:func:`fold_layout_exprs`), because tree-sitter cannot parse a type as a macro argument.
"""

from __future__ import annotations

import re

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.ctxstructs import BASE_SIZES, struct_layout
from kernel_lsp.ebpf.helpers import HELPER_NAMES, PROG_TYPES


class CEvalError(ValueError):
    """An expression the decoder cannot evaluate."""


def _constants() -> dict[str, int]:
    c = {"BPF_LD": isa.LD, "BPF_LDX": isa.LDX, "BPF_ST": isa.ST, "BPF_STX": isa.STX,
         "BPF_ALU": isa.ALU, "BPF_JMP": isa.JMP, "BPF_JMP32": isa.JMP32, "BPF_ALU64": isa.ALU64,
         "BPF_W": 0x00, "BPF_H": 0x08, "BPF_B": 0x10, "BPF_DW": 0x18, "BPF_IMM": isa.MODE_IMM,
         "BPF_ABS": isa.MODE_ABS, "BPF_IND": isa.MODE_IND, "BPF_MEM": isa.MODE_MEM,
         "BPF_MEMSX": isa.MODE_MEMSX, "BPF_ATOMIC": isa.MODE_ATOMIC, "BPF_XADD": isa.MODE_ATOMIC,
         "BPF_K": isa.K, "BPF_X": isa.X, "BPF_TO_LE": 0x00, "BPF_TO_BE": 0x08,
         "BPF_FROM_LE": 0x00, "BPF_FROM_BE": 0x08, "BPF_JA": isa.JA, "BPF_CALL": isa.CALL,
         "BPF_EXIT": isa.EXIT, "BPF_FETCH": isa.FETCH, "BPF_XCHG": isa.XCHG,
         "BPF_TAIL_CALL": isa.TAIL_CALL_INTERNAL,
         "BPF_CMPXCHG": isa.CMPXCHG, "BPF_PSEUDO_CALL": isa.CALL_PSEUDO,
         "BPF_PSEUDO_KFUNC_CALL": isa.CALL_KFUNC, "BPF_MAXINSNS": 4096, "MAX_BPF_STACK": 512,
         "BPF_REG_ARG1": 1, "BPF_REG_ARG2": 2, "BPF_REG_ARG3": 3, "BPF_REG_ARG4": 4,
         "BPF_REG_ARG5": 5, "BPF_REG_CTX": 6, "BPF_REG_FP": 10, "BPF_REG_A": 0,
         "BPF_REG_X": 7, "BPF_REG_TMP": 8, "BPF_REG_AX": 11, "MAX_BPF_REG": 11,
         "BPF_ANY": 0, "BPF_NOEXIST": 1, "BPF_EXIST": 2, "BPF_F_LOCK": 4,
         "F_NEEDS_EFFICIENT_UNALIGNED_ACCESS": 1, "F_LOAD_WITH_STRICT_ALIGNMENT": 2,
         "BPF_F_STRICT_ALIGNMENT": 1, "BPF_F_ANY_ALIGNMENT": 2, "BPF_F_TEST_RND_HI32": 4,
         "BPF_F_TEST_STATE_FREQ": 8, "BPF_F_SLEEPABLE": 16, "BPF_F_XDP_HAS_FRAGS": 32,
         "NULL": 0, "true": 1, "false": 0,
         # <limits.h> and <errno.h> values used by selftests
         "SHRT_MIN": -(1 << 15), "SHRT_MAX": (1 << 15) - 1, "USHRT_MAX": (1 << 16) - 1,
         "INT_MIN": -(1 << 31), "INT_MAX": (1 << 31) - 1, "UINT_MAX": (1 << 32) - 1,
         "LONG_MIN": -(1 << 63), "LONG_MAX": (1 << 63) - 1, "ULONG_MAX": (1 << 64) - 1,
         "LLONG_MIN": -(1 << 63), "LLONG_MAX": (1 << 63) - 1, "ULLONG_MAX": (1 << 64) - 1,
         "EPERM": 1, "ENOENT": 2, "E2BIG": 7, "EFAULT": 14, "EBUSY": 16, "EEXIST": 17,
         "EINVAL": 22, "ENOSPC": 28, "ERANGE": 34, "ENOTSUPP": 524, "EOPNOTSUPP": 95}
    c.update({"BPF_" + name.upper(): code for name, code in isa.ALU_OPS.items()})
    c.update({"BPF_" + name.upper(): code for name, code in isa.JMP_CONDS.items()})
    c.update({f"BPF_REG_{i}": i for i in range(11)})
    c.update({f"BPF_PSEUDO_{name.upper()}": src for src, name in isa.LDDW_PSEUDO.items()
              if src})
    c.update({f"BPF_FUNC_{name}": i for i, name in enumerate(HELPER_NAMES)})
    c["__BPF_FUNC_MAX_ID"] = len(HELPER_NAMES)
    c.update({f"BPF_PROG_TYPE_{name.upper()}": i + 1 for i, name in enumerate(PROG_TYPES)})
    c["BPF_PROG_TYPE_UNSPEC"] = 0
    return c


CONSTANTS = _constants()
_CAST_BITS = {"__u8": (8, False), "__u16": (16, False), "__u32": (32, False), "__u64": (64, False),
              "__s8": (8, True), "__s16": (16, True), "__s32": (32, True), "__s64": (64, True),
              "u8": (8, False), "u16": (16, False), "u32": (32, False), "u64": (64, False),
              "s8": (8, True), "s16": (16, True), "s32": (32, True), "s64": (64, True),
              "int": (32, True), "unsigned int": (32, False), "unsigned": (32, False),
              "long": (64, True), "unsigned long": (64, False), "long long": (64, True),
              "unsigned long long": (64, False), "short": (16, True), "char": (8, True),
              "unsigned char": (8, False), "unsigned short": (16, False)}
_FIELD_MACROS = {"BPF_CLASS": 0x07, "BPF_SIZE": 0x18, "BPF_MODE": 0xE0, "BPF_OP": 0xF0,
                 "BPF_SRC": 0x08}


def wrap(value: int, bits: int, signed: bool) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if signed and value >> (bits - 1) else value


_LAYOUT_RE = re.compile(
    rb"\"(?:[^\"\\\n]|\\.)*\"|"
    rb"\b(offsetofend|offsetof)\s*\(\s*struct\s+(\w+)\s*,\s*([\w.]+)\s*(?:\[\s*(\d+)\s*\])?\s*\)"
    rb"|\bsizeof\s*\(\s*(struct\s+\w+|[A-Za-z_][\w ]*?)\s*\)")


def _layout_value(m: re.Match) -> int | None:
    if m.group(1):
        layout = struct_layout(m.group(2).decode())
        member = m.group(3).decode()
        if layout is None or layout.offsetof(member) is None:
            return None
        off = layout.offsetof(member, int(m.group(4) or 0))
        if m.group(1) == b"offsetofend":
            off += layout.member_size(member) if m.group(4) is None else layout.members[member][2]
        return off
    what = m.group(5).decode().strip()
    if what.startswith("struct"):
        layout = struct_layout(what.split()[1])
        return None if layout is None else layout.size
    return BASE_SIZES.get(what)


def fold_layout_exprs(source: bytes) -> bytes:
    """Replace ``offsetof``/``offsetofend``/``sizeof`` of known layouts by their value, padded
    with spaces to the same length so every byte offset of the source stays where it was.
    Unknown ones become the identifier ``__unknown_layout`` (the evaluator reports it)."""

    def repl(m: re.Match) -> bytes:
        if m.group(0).startswith(b'"'):
            return m.group(0)  # string literals are left alone
        value = _layout_value(m)
        text = b"__unknown_layout" if value is None else str(value).encode()
        width = m.end() - m.start()
        return text.ljust(width) if len(text) <= width else m.group(0)

    return _LAYOUT_RE.sub(repl, source)


class Evaluator:
    """Evaluates expression nodes; ``macros`` maps object-like macro names to body text."""

    def __init__(self, macros: dict[str, str] | None = None, parse_expr=None):
        self.macros = macros or {}
        self._parse_expr = parse_expr  # text -> expression node (for macro bodies)
        self._cache: dict[str, int] = {}
        self._active: set[str] = set()

    def name(self, ident: str) -> int:
        if ident in CONSTANTS:
            return CONSTANTS[ident]
        if ident in self._cache:
            return self._cache[ident]
        body = self.macros.get(ident)
        if body is None or self._parse_expr is None or ident in self._active:
            if ident == "__unknown_layout":
                raise CEvalError("offsetof/sizeof of a struct member not in the layout table")
            raise CEvalError(f"unknown name '{ident}'")
        self._active.add(ident)
        try:
            value = self.eval(self._parse_expr(body))
        finally:
            self._active.discard(ident)
        self._cache[ident] = value
        return value

    def eval(self, node) -> int:
        kind = node.type
        if kind == "number_literal":
            return _number(node.text.decode())
        if kind == "char_literal":
            return _char(node.text.decode())
        if kind == "identifier":
            return self.name(node.text.decode())
        if kind in ("null", "true", "false"):
            return {"null": 0, "true": 1, "false": 0}[kind]
        if kind == "parenthesized_expression":
            return self.eval(node.named_children[0])
        if kind == "unary_expression":
            return _unary(node.children[0].type, self.eval(node.named_children[0]))
        if kind == "binary_expression":
            return self._binary(node)
        if kind == "cast_expression":
            return self._cast(node)
        if kind == "conditional_expression":
            cond, yes, no = node.named_children
            return self.eval(yes) if self.eval(cond) else self.eval(no)
        if kind == "call_expression":
            return self._call(node)
        if kind == "sizeof_expression":
            return self._sizeof(node)
        raise CEvalError(f"cannot evaluate {kind.replace('_', ' ')} '{_short(node)}'")

    def _binary(self, node) -> int:
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        op = node.child_by_field_name("operator").type
        cast = _paren_type(left)
        if cast and op in ("-", "+"):  # ``(__u32)-1`` parses as a subtraction
            return wrap(_unary(op, self.eval(right)), *_CAST_BITS[cast])
        a, b = self.eval(left), self.eval(right)
        ops = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "|": lambda: a | b,
               "&": lambda: a & b, "^": lambda: a ^ b, "<<": lambda: a << b,
               ">>": lambda: a >> b, "==": lambda: int(a == b), "!=": lambda: int(a != b),
               "<": lambda: int(a < b), ">": lambda: int(a > b), "<=": lambda: int(a <= b),
               ">=": lambda: int(a >= b), "&&": lambda: int(bool(a and b)),
               "||": lambda: int(bool(a or b))}
        if op in ("/", "%"):
            if b == 0:
                raise CEvalError("division by zero in a constant expression")
            q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
            return q if op == "/" else a - q * b
        if op not in ops:
            raise CEvalError(f"unsupported operator '{op}'")
        if op == "<<" and b > 128:
            raise CEvalError("shift count too large")
        return ops[op]()

    def _cast(self, node) -> int:
        type_text = " ".join(node.child_by_field_name("type").text.decode().split())
        value = self.eval(node.child_by_field_name("value"))
        if type_text.endswith("*"):
            return wrap(value, 64, False)
        if type_text not in _CAST_BITS:
            raise CEvalError(f"cast to unknown type '{type_text}'")
        return wrap(value, *_CAST_BITS[type_text])

    def _call(self, node) -> int:
        function = node.child_by_field_name("function")
        fname = function.text.decode()
        args = node.child_by_field_name("arguments").named_children
        cast = _paren_type(function)
        if cast and len(args) == 1:  # ``(__u32)(-2)`` parses as a call
            return wrap(self.eval(args[0]), *_CAST_BITS[cast])
        if fname in _FIELD_MACROS and len(args) == 1:
            return self.eval(args[0]) & _FIELD_MACROS[fname]
        raise CEvalError(f"cannot evaluate call to '{fname}'")

    def _sizeof(self, node) -> int:
        text = " ".join(node.text.decode()[6:].strip(" ()").split())
        if text in BASE_SIZES:
            return BASE_SIZES[text]
        raise CEvalError(f"unknown size of '{text}'")


def _paren_type(node) -> str | None:
    """``__u32`` when ``node`` is ``(__u32)`` (a type name in parentheses), else None."""
    if node is None or node.type != "parenthesized_expression" or node.named_child_count != 1:
        return None
    text = " ".join(node.named_children[0].text.decode().split())
    return text if text in _CAST_BITS else None


def _short(node) -> str:
    text = node.text.decode(errors="replace")
    return text if len(text) <= 40 else text[:37] + "..."


def _number(text: str) -> int:
    body = text.rstrip("uUlL")
    try:
        if len(body) > 1 and body[0] == "0" and body[1] in "0123456789":
            return int(body, 8)
        return int(body, 0)
    except ValueError:
        raise CEvalError(f"bad number '{text}'") from None


def _char(text: str) -> int:
    inner = text[1:-1]
    try:
        return ord(inner.encode().decode("unicode_escape"))
    except (UnicodeDecodeError, TypeError):
        raise CEvalError(f"bad character literal {text}") from None


def _unary(op: str, value: int) -> int:
    if op == "-":
        return -value
    if op == "+":
        return value
    if op == "~":
        return ~value
    if op == "!":
        return int(not value)
    raise CEvalError(f"unsupported unary operator '{op}'")
