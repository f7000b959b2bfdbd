"""Tristate numbers: the known bits of a 64-bit value (the Linux verifier's ``tnum`` domain).

A ``Tnum(value, mask)`` stands for every 64-bit value ``x`` with ``x & ~mask == value``: bits set
in ``mask`` are unknown, the others are those of ``value`` (so ``value & mask == 0``). All
operations are sound over-approximations of the corresponding machine operation on every pair of
concrete members; they follow the semantics of ``kernel/bpf/tnum.c`` (facts, own code).
"""

from __future__ import annotations

from typing import NamedTuple

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1


class Tnum(NamedTuple):
    value: int
    mask: int

    # ---- queries ---------------------------------------------------------------------------
    @property
    def is_const(self) -> bool:
        return self.mask == 0

    @property
    def is_unknown(self) -> bool:
        return self.mask == M64

    def equals_const(self, v: int) -> bool:
        return self.mask == 0 and self.value == (v & M64)

    def contains(self, other: Tnum) -> bool:
        """``tnum_in(self, other)``: every member of ``other`` is a member of ``self``."""
        if other.mask & ~self.mask & M64:
            return False
        return self.value == other.value & ~self.mask & M64

    def is_aligned(self, size: int) -> bool:
        if not size:
            return True
        return not (self.value | self.mask) & (size - 1)

    def text(self) -> str:
        """The kernel's ``tnum_strn`` form: ``(0x0; 0xff)``."""
        return f"({_hex(self.value)}; {_hex(self.mask)})"

    # ---- sub-registers ------------------------------------------------------------------------
    def subreg(self) -> Tnum:
        return Tnum(self.value & M32, self.mask & M32)

    def clear_subreg(self) -> Tnum:
        return Tnum(self.value & ~M32 & M64, self.mask & ~M32 & M64)

    def with_subreg(self, low: Tnum) -> Tnum:
        """Upper 32 bits of ``self``, lower 32 bits of ``low``."""
        return t_or(self.clear_subreg(), low.subreg())

    def cast(self, size: int) -> Tnum:
        m = (1 << (8 * size)) - 1
        return Tnum(self.value & m, self.mask & m)


def _hex(v: int) -> str:
    return "0x0" if v == 0 else f"{v:#x}"


UNKNOWN = Tnum(0, M64)
ZERO = Tnum(0, 0)


def const(v: int) -> Tnum:
    return Tnum(v & M64, 0)


def trange(lo: int, hi: int) -> Tnum:
    """The smallest tnum holding every value of ``[lo, hi]`` (unsigned 64-bit)."""
    chi = (lo ^ hi) & M64
    bits = chi.bit_length()
    if bits > 63:
        return UNKNOWN
    delta = (1 << bits) - 1
    return Tnum(lo & ~delta & M64, delta)


def lshift(a: Tnum, n: int) -> Tnum:
    return Tnum((a.value << n) & M64, (a.mask << n) & M64)


def rshift(a: Tnum, n: int) -> Tnum:
    return Tnum(a.value >> n, a.mask >> n)


def arshift(a: Tnum, n: int, bits: int) -> Tnum:
    """Arithmetic right shift of the low ``bits`` (32 or 64) bits, zero-extended result."""
    m = M32 if bits == 32 else M64

    def sar(x: int) -> int:
        x &= m
        if x >> (bits - 1):
            x -= 1 << bits
        return (x >> n) & m

    return Tnum(sar(a.value), sar(a.mask))


def add(a: Tnum, b: Tnum) -> Tnum:
    sm = (a.mask + b.mask) & M64
    sv = (a.value + b.value) & M64
    sigma = (sm + sv) & M64
    chi = sigma ^ sv
    mu = chi | a.mask | b.mask
    return Tnum(sv & ~mu & M64, mu)


def sub(a: Tnum, b: Tnum) -> Tnum:
    dv = (a.value - b.value) & M64
    alpha = (dv + a.mask) & M64
    beta = (dv - b.mask) & M64
    chi = alpha ^ beta
    mu = chi | a.mask | b.mask
    return Tnum(dv & ~mu & M64, mu)


def t_and(a: Tnum, b: Tnum) -> Tnum:
    alpha = a.value | a.mask
    beta = b.value | b.mask
    v = a.value & b.value
    return Tnum(v, alpha & beta & ~v & M64)


def t_or(a: Tnum, b: Tnum) -> Tnum:
    v = a.value | b.value
    mu = a.mask | b.mask
    return Tnum(v, mu & ~v & M64)


def xor(a: Tnum, b: Tnum) -> Tnum:
    v = a.value ^ b.value
    mu = a.mask | b.mask
    return Tnum(v & ~mu & M64, mu)


def mul(a: Tnum, b: Tnum) -> Tnum:
    acc_v = (a.value * b.value) & M64
    acc_m = ZERO
    while a.value or a.mask:
        if a.value & 1:
            acc_m = add(acc_m, Tnum(0, b.mask))
        elif a.mask & 1:
            acc_m = add(acc_m, Tnum(0, b.value | b.mask))
        a = rshift(a, 1)
        b = lshift(b, 1)
    return add(Tnum(acc_v, 0), acc_m)


def intersect(a: Tnum, b: Tnum) -> Tnum:
    v = a.value | b.value
    mu = a.mask & b.mask
    return Tnum(v & ~mu & M64, mu)
