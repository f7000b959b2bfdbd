"""Transfer functions of ALU operations on two scalars (``adjust_scalar_min_max_vals``).

``scalar_op(dst, src, op, alu32)`` updates ``dst`` in place to over-approximate ``dst op src``
for every pair of concrete values, tracking 32- and 64-bit bounds separately for add, sub, mul,
and, or, xor and the shifts, and giving up (unknown scalar) on the rest, as Linux 6.1 does.
A 32-bit operation zero-extends its result into the 64-bit register.
"""

from __future__ import annotations

from kernel_lsp.ebpf.alu import alu
from kernel_lsp.ebpf.verify.dataflow import bounds, tnum
from kernel_lsp.ebpf.verify.dataflow.regs import (
    S32_MAX,
    S32_MIN,
    S64_MAX,
    S64_MIN,
    SCALAR,
    Reg,
    set_known,
    set_unbounded32,
    set_unbounded64,
)
from kernel_lsp.ebpf.verify.dataflow.tnum import M32, M64


def _reset_unknown(r: Reg) -> None:
    """``__mark_reg_unknown`` in place."""
    fresh = Reg(SCALAR)
    for name in Reg.__slots__:
        setattr(r, name, getattr(fresh, name))


def _add32(d: Reg, s: Reg) -> None:
    lo, hi = d.s32min + s.s32min, d.s32max + s.s32max
    if S32_MIN <= lo <= S32_MAX and S32_MIN <= hi <= S32_MAX:
        d.s32min, d.s32max = lo, hi
    else:
        d.s32min, d.s32max = S32_MIN, S32_MAX
    if d.u32min + s.u32min > M32 or d.u32max + s.u32max > M32:
        d.u32min, d.u32max = 0, M32
    else:
        d.u32min, d.u32max = d.u32min + s.u32min, d.u32max + s.u32max


def _add64(d: Reg, s: Reg) -> None:
    lo, hi = d.smin + s.smin, d.smax + s.smax
    if S64_MIN <= lo <= S64_MAX and S64_MIN <= hi <= S64_MAX:
        d.smin, d.smax = lo, hi
    else:
        d.smin, d.smax = S64_MIN, S64_MAX
    if d.umin + s.umin > M64 or d.umax + s.umax > M64:
        d.umin, d.umax = 0, M64
    else:
        d.umin, d.umax = d.umin + s.umin, d.umax + s.umax


def _sub32(d: Reg, s: Reg) -> None:
    lo, hi = d.s32min - s.s32max, d.s32max - s.s32min
    if S32_MIN <= lo <= S32_MAX and S32_MIN <= hi <= S32_MAX:
        d.s32min, d.s32max = lo, hi
    else:
        d.s32min, d.s32max = S32_MIN, S32_MAX
    if d.u32min < s.u32max:
        d.u32min, d.u32max = 0, M32
    else:
        d.u32min, d.u32max = d.u32min - s.u32max, d.u32max - s.u32min


def _sub64(d: Reg, s: Reg) -> None:
    lo, hi = d.smin - s.smax, d.smax - s.smin
    if S64_MIN <= lo <= S64_MAX and S64_MIN <= hi <= S64_MAX:
        d.smin, d.smax = lo, hi
    else:
        d.smin, d.smax = S64_MIN, S64_MAX
    if d.umin < s.umax:
        d.umin, d.umax = 0, M64
    else:
        d.umin, d.umax = d.umin - s.umax, d.umax - s.umin


def _mul32(d: Reg, s: Reg) -> None:
    if s.s32min < 0 or d.s32min < 0 or s.u32max > 0xFFFF or d.u32max > 0xFFFF:
        set_unbounded32(d)
        return
    d.u32min, d.u32max = d.u32min * s.u32min, d.u32max * s.u32max
    if d.u32max > S32_MAX:
        d.s32min, d.s32max = S32_MIN, S32_MAX
    else:
        d.s32min, d.s32max = d.u32min, d.u32max


def _mul64(d: Reg, s: Reg) -> None:
    if s.smin < 0 or d.smin < 0 or s.umax > M32 or d.umax > M32:
        set_unbounded64(d)
        return
    d.umin, d.umax = d.umin * s.umin, d.umax * s.umax
    if d.umax > S64_MAX:
        d.smin, d.smax = S64_MIN, S64_MAX
    else:
        d.smin, d.smax = d.umin, d.umax


def _bitwise32(d: Reg, s: Reg, op: str) -> None:
    v = d.var.subreg()
    if s.var.subreg().is_const and v.is_const:
        _set32_known(d, v.value)
        return
    if op == "and":
        d.u32min, d.u32max = v.value, min(d.u32max, s.u32max)
    elif op == "or":
        d.u32min, d.u32max = max(d.u32min, s.u32min), v.value | v.mask
    else:
        d.u32min, d.u32max = v.value, v.value | v.mask
    if d.s32min < 0 or s.s32min < 0:
        d.s32min, d.s32max = S32_MIN, S32_MAX
    else:
        d.s32min, d.s32max = d.u32min, d.u32max


def _bitwise64(d: Reg, s: Reg, op: str) -> None:
    if s.var.is_const and d.var.is_const:
        value = d.var.value
        set_known(d, value)
        d.id = d.ref_obj_id = d.off = 0
        return
    v = d.var
    if op == "and":
        d.umin, d.umax = v.value, min(d.umax, s.umax)
    elif op == "or":
        d.umin, d.umax = max(d.umin, s.umin), v.value | v.mask
    else:
        d.umin, d.umax = v.value, v.value | v.mask
    if d.smin < 0 or s.smin < 0:
        d.smin, d.smax = S64_MIN, S64_MAX
    else:
        d.smin, d.smax = d.umin, d.umax
    bounds.update_bounds(d)


def _set32_known(d: Reg, value: int) -> None:
    d.var = d.var.with_subreg(tnum.const(value))
    d.u32min = d.u32max = value & M32
    d.s32min = d.s32max = value - (1 << 32) if value & 0x80000000 else value


def _lsh32_bounds(d: Reg, umin: int, umax: int) -> None:
    d.s32min, d.s32max = S32_MIN, S32_MAX
    if umax > 31 or d.u32max > 1 << (31 - umax):
        d.u32min, d.u32max = 0, M32
    else:
        d.u32min, d.u32max = d.u32min << umin, d.u32max << umax


def _lsh(d: Reg, s: Reg, alu32: bool) -> None:
    if alu32:
        sub = d.var.subreg()
        _lsh32_bounds(d, s.u32min, s.u32max)
        d.var = tnum.lshift(sub, s.u32min).subreg()
        set_unbounded64(d)
        bounds.update_bounds32(d)
        return
    umin, umax = s.umin, s.umax
    if umin == 32 and umax == 32:
        d.smax, d.smin = d.s32max << 32, d.s32min << 32
    else:
        d.smax, d.smin = S64_MAX, S64_MIN
    if d.umax > 1 << (63 - umax):
        d.umin, d.umax = 0, M64
    else:
        d.umin, d.umax = d.umin << umin, d.umax << umax
    _lsh32_bounds(d, umin, umax)
    d.var = tnum.lshift(d.var, umin)
    bounds.update_bounds(d)


def _rsh(d: Reg, s: Reg, alu32: bool) -> None:
    if alu32:
        sub = d.var.subreg()
        d.s32min, d.s32max = S32_MIN, S32_MAX
        d.var = tnum.rshift(sub, s.u32min)
        d.u32min, d.u32max = d.u32min >> s.u32max, d.u32max >> s.u32min
        set_unbounded64(d)
        bounds.update_bounds32(d)
        return
    d.smin, d.smax = S64_MIN, S64_MAX
    d.var = tnum.rshift(d.var, s.umin)
    d.umin, d.umax = d.umin >> s.umax, d.umax >> s.umin
    set_unbounded32(d)
    bounds.update_bounds(d)


def _arsh(d: Reg, s: Reg, alu32: bool) -> None:
    if alu32:
        n = s.u32min
        d.s32min, d.s32max = d.s32min >> n, d.s32max >> n
        d.var = tnum.arshift(d.var.subreg(), n, 32)
        d.u32min, d.u32max = 0, M32
        set_unbounded64(d)
        bounds.update_bounds32(d)
        return
    n = s.umin
    d.smin, d.smax = d.smin >> n, d.smax >> n
    d.var = tnum.arshift(d.var, n, 64)
    d.umin, d.umax = 0, M64
    set_unbounded32(d)
    bounds.update_bounds(d)


_TNUM_OPS = {"add": tnum.add, "sub": tnum.sub, "mul": tnum.mul, "and": tnum.t_and,
             "or": tnum.t_or, "xor": tnum.xor}


_CONST_OPS = frozenset({"add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh"})


def scalar_op(d: Reg, s: Reg, op: str, alu32: bool) -> None:
    """``d = d op s`` on scalars, in place (``s`` is not modified)."""
    if (op in _CONST_OPS and d.var.mask == 0 and s.var.mask == 0
            and not bounds.is_inconsistent(s, alu32) and not bounds.is_inconsistent(d, alu32)):
        # Both operands known: the tnum operations are exact and the bounds sync down to the
        # same constant, so compute it directly (a fast path, same result).
        width = 32 if alu32 else 64
        b = s.var.value & (M32 if alu32 else M64)
        if op not in ("lsh", "rsh", "arsh") or b < width:
            set_known(d, alu(op, width, d.var.value, b))
            return
    if bounds.is_inconsistent(s, alu32):
        _reset_unknown(d)
        return
    known = s.var.subreg().is_const if alu32 else s.var.is_const
    if not known and op not in ("add", "sub", "and"):
        _reset_unknown(d)
        return
    width = 32 if alu32 else 64
    if op in ("add", "sub"):
        (_add32 if op == "add" else _sub32)(d, s)
        (_add64 if op == "add" else _sub64)(d, s)
        d.var = _TNUM_OPS[op](d.var, s.var)
    elif op == "mul":
        d.var = tnum.mul(d.var, s.var)
        _mul32(d, s)
        _mul64(d, s)
    elif op in ("and", "or", "xor"):
        d.var = _TNUM_OPS[op](d.var, s.var)
        _bitwise32(d, s, op)
        _bitwise64(d, s, op)
    elif op in ("lsh", "rsh", "arsh"):
        if s.umax >= width:
            _reset_unknown(d)
        else:
            {"lsh": _lsh, "rsh": _rsh, "arsh": _arsh}[op](d, s, alu32)
    else:
        _reset_unknown(d)
    if alu32:
        bounds.zext_32_to_64(d)
    bounds.sync(d)


def known_scalar(value: int) -> Reg:
    """A scalar register holding the constant ``value`` (an immediate operand)."""
    r = Reg(SCALAR)
    set_known(r, value)
    return r


def make_unknown(r: Reg) -> None:
    """Make ``r`` an unknown scalar in place (``__mark_reg_unknown``)."""
    _reset_unknown(r)
