"""Pure arithmetic of the eBPF ISA: ALU operations, byte swaps and jump conditions on integers.

Inputs are unsigned register values (64-bit, or anything for 32-bit operations, which look only
at the low 32 bits); results are unsigned and already zero-extended for 32-bit operations.
These functions are the written specification (RFC 9669 §4) that the interpreter executes.
"""

from __future__ import annotations

MASK64 = (1 << 64) - 1
MASK32 = 0xFFFFFFFF


def sext(value: int, bits: int) -> int:
    """Interpret the low ``bits`` bits of ``value`` as a signed integer."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _sdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _smod(a: int, b: int) -> int:
    return a - _sdiv(a, b) * b  # sign follows the dividend (C semantics)


def alu(op: str, width: int, dst: int, src: int) -> int:
    """``dst op src`` at ``width`` bits (32 or 64); unsigned, zero-extended result."""
    mask = MASK64 if width == 64 else MASK32
    a, b = dst & mask, src & mask
    if op == "add":
        r = a + b
    elif op == "sub":
        r = a - b
    elif op == "mul":
        r = a * b
    elif op == "div":
        r = a // b if b else 0
    elif op == "mod":
        r = a % b if b else a
    elif op == "sdiv":
        r = _sdiv(sext(a, width), sext(b, width)) if b else 0
    elif op == "smod":
        r = _smod(sext(a, width), sext(b, width)) if b else a
    elif op == "or":
        r = a | b
    elif op == "and":
        r = a & b
    elif op == "xor":
        r = a ^ b
    elif op == "lsh":
        r = a << (b & (width - 1))
    elif op == "rsh":
        r = a >> (b & (width - 1))
    elif op == "arsh":
        r = sext(a, width) >> (b & (width - 1))
    elif op == "neg":
        r = -a
    elif op == "mov":
        r = b
    else:
        raise ValueError(f"unknown ALU operation {op!r}")
    return r & mask


def byteswap(op: str, bits: int, value: int) -> int:
    """``le``/``be``/``bswap`` of the low ``bits`` bits on a little-endian machine."""
    if bits not in (16, 32, 64):
        raise ValueError(f"invalid byte-swap width {bits}")
    low = value & ((1 << bits) - 1)
    if op == "le":
        return low
    return int.from_bytes(low.to_bytes(bits // 8, "little"), "big")


def jump_taken(op: str, width: int, dst: int, src: int) -> bool:
    """Whether the conditional jump ``op`` compares true on ``width``-bit operands."""
    mask = MASK64 if width == 64 else MASK32
    a, b = dst & mask, src & mask
    if op == "jeq":
        return a == b
    if op == "jne":
        return a != b
    if op == "jset":
        return bool(a & b)
    if op == "jgt":
        return a > b
    if op == "jge":
        return a >= b
    if op == "jlt":
        return a < b
    if op == "jle":
        return a <= b
    sa, sb = sext(a, width), sext(b, width)
    if op == "jsgt":
        return sa > sb
    if op == "jsge":
        return sa >= sb
    if op == "jslt":
        return sa < sb
    if op == "jsle":
        return sa <= sb
    raise ValueError(f"unknown jump condition {op!r}")
